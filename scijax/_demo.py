"""The flagship demo: a hybrid Lotka-Volterra model learns its missing interaction term.

Run it with ``python -m scijax demo`` (or the ``scijax-demo`` console script). Everything it needs
is generated here: noisy observations of a Lotka-Volterra system, a model that knows only prey
growth and predator death (``alpha``, ``gamma``), and a small network that must learn the
predator-prey interaction ``(-beta x y, delta x y)`` from the data. The model is fitted through
:func:`scijax.solvers.integrate.solve_ivp` (adaptive ``Tsit5``, gradients by the solver's adjoint),
first with Adam, then with ``minimize(method='L-BFGS-B')``.

It prints a results table (fitted physical parameters against the truth, the error on a held-out
trajectory, the time taken) and writes three plots to ``--out`` (default ``./scijax-demo/``).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "run_demo"]

TRUTH = {"alpha": 1.3, "beta": 0.9, "gamma": 0.8, "delta": 1.8}
Y0 = (0.44, 4.6)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scijax demo",
        description="Fit a hybrid Lotka-Volterra model (known physics + a neural network) to noisy data "
        "through scijax's solve_ivp, then compare it with the truth.",
    )
    p.add_argument("--steps", type=int, default=400, help="Adam steps (default 400)")
    p.add_argument("--lbfgs-steps", type=int, default=100, help="L-BFGS-B iterations after Adam (default 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed for data and network (default 0)")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("scijax-demo"),
                   help="folder for the plots (default ./scijax-demo)")
    p.add_argument("--no-plots", action="store_true", help="skip the plots (matplotlib not needed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run_demo(steps: int = 400, lbfgs_steps: int = 100, seed: int = 0, out: pathlib.Path | None = None,
             plots: bool = True, progress: bool = True) -> dict[str, Any]:
    """Run the hybrid Lotka-Volterra fit and return its figures.

    Parameters
    ----------
    steps : int
        Adam steps.
    lbfgs_steps : int
        L-BFGS-B iterations that finish the fit (0 skips them).
    seed : int
        Seed for the synthetic data and the network's initial weights.
    out : pathlib.Path or None
        Folder for the plots; None or ``plots=False`` writes none.
    plots : bool
        Whether to write the plots (needs matplotlib).
    progress : bool
        Whether to show the training progress bar (on stderr).

    Returns
    -------
    dict
        ``alpha``, ``gamma`` (fitted), ``train_rmse``, ``heldout_rmse``, ``heldout_rmse_physics_only``
        (the known physics without the network), ``interaction_rmse`` (learned against true
        interaction term on the data's range), ``loss_history``, ``seconds`` and ``plots`` (paths).

    Examples
    --------
    >>> from scijax._demo import run_demo
    >>> r = run_demo(steps=2, lbfgs_steps=0, plots=False, progress=False)  # doctest: +SKIP
    >>> sorted(r)[:3]  # doctest: +SKIP
    ['alpha', 'gamma', 'heldout_rmse']
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    import optax

    from scijax.ml import MLP, fit, noisy_trajectories
    from scijax.physics import LotkaVolterra
    from scijax.solvers.integrate import solve_ivp

    start = time.perf_counter()
    key_data, key_net, key_test = jax.random.split(jax.random.key(seed), 3)
    truth = LotkaVolterra(**TRUTH, y0=np.asarray(Y0))
    t = np.linspace(0.0, 6.0, 31)
    data = noisy_trajectories(truth, t, key=key_data, n_trajectories=4, noise=0.02, y0_spread=0.2)
    test = noisy_trajectories(truth, np.linspace(0.0, 9.0, 46), key=key_test, n_trajectories=1, noise=0.0,
                              y0_spread=0.3)

    net = MLP(2, 2, width=16, depth=1)

    def vector_field(t, y, p):
        # Known physics (prey growth, predator death) plus x*y times a learned function of the state:
        # the factor x*y keeps the network from absorbing the linear terms, so alpha and gamma stay
        # identifiable.
        x, z = y[0], y[1]
        known = jnp.stack([p["alpha"] * x, -p["gamma"] * z])
        return known + x * z * net(p["network"], y)

    def predict(p, y0, t_eval):
        return solve_ivp(vector_field, (t_eval[0], t_eval[-1]), y0, method="Tsit5", t_eval=t_eval, args=(p,),
                         rtol=1e-6, atol=1e-8).y

    params0 = {"alpha": jnp.asarray(1.0), "gamma": jnp.asarray(1.0),
               "network": net.init(key_net, final_scale=0.1)}
    loss = lambda p, y: jnp.mean((jax.vmap(lambda y0: predict(p, y0, t))(y[:, :, 0]) - y) ** 2)
    res = fit(loss, params0, data.y, optimizer=optax.adam(1e-2), steps=steps, lbfgs_steps=lbfgs_steps,
              progress=progress)
    params = res.params

    def rmse(a, b) -> float:
        return float(jnp.sqrt(jnp.mean((jnp.asarray(a) - jnp.asarray(b)) ** 2)))

    fitted = jax.vmap(lambda y0: predict(params, y0, t))(data.y[:, :, 0])
    pred = predict(params, test.y0[0], test.t)
    no_net = {**params, "network": jax.tree_util.tree_map(jnp.zeros_like, params["network"])}
    pred_phys = predict(no_net, test.y0[0], test.t)

    # Learned interaction against the true one, on the states the data visit.
    states = jnp.moveaxis(data.y_true, 1, -1).reshape(-1, 2)
    xy = states[:, 0] * states[:, 1]
    learned = xy[:, None] * jax.vmap(lambda y: net(params["network"], y))(states)
    true_term = jnp.stack([-TRUTH["beta"] * xy, TRUTH["delta"] * xy], axis=-1)

    out_figs: list[str] = []
    if plots and out is not None:
        out_figs = _plots(pathlib.Path(out), t, data, fitted, test, pred, pred_phys, states, learned, true_term,
                          res.loss_history)
    return {
        "alpha": float(params["alpha"]),
        "gamma": float(params["gamma"]),
        "train_rmse": rmse(fitted, data.y_true),
        "heldout_rmse": rmse(pred, test.y_true[0]),
        "heldout_rmse_physics_only": rmse(pred_phys, test.y_true[0]),
        "interaction_rmse": rmse(learned, true_term),
        "interaction_scale": float(jnp.sqrt(jnp.mean(true_term**2))),
        "loss_history": np.asarray(res.loss_history),
        "seconds": time.perf_counter() - start,
        "plots": out_figs,
    }


def _plots(out, t, data, fitted, test, pred, pred_phys, states, learned, true_term, history) -> list[str]:
    import matplotlib  # pyright: ignore[reportMissingImports] (optional: the examples extra)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pyright: ignore[reportMissingImports] (optional)
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, name in enumerate(("prey", "predator")):
        ax = axes[i]
        for k in range(data.y.shape[0]):
            ax.plot(t, data.y[k, i], "o", ms=3, alpha=0.6, color=f"C{k}")
            ax.plot(t, fitted[k, i], "-", color=f"C{k}")
        ax.plot(test.t, test.y_true[0, i], "k--", lw=1, label="held-out truth")
        ax.plot(test.t, pred[i], "k-", lw=1.5, label="hybrid model")
        ax.plot(test.t, pred_phys[i], ":", color="grey", label="physics alone (no network)")
        top = 1.1 * max(float(np.max(test.y_true[0, i])), float(np.max(data.y[:, i])))
        ax.set_ylim(-0.05 * top, top)
        ax.set_title(f"{name}: data (dots) and fit (lines)")
        ax.set_xlabel("t")
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(str(out / "fit.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, name in enumerate(("prey term  -beta*x*y", "predator term  +delta*x*y")):
        axes[i].scatter(np.asarray(true_term[:, i]), np.asarray(learned[:, i]), s=6)
        lo, hi = float(np.min(true_term[:, i])), float(np.max(true_term[:, i]))
        axes[i].plot([lo, hi], [lo, hi], "k--", lw=1)
        axes[i].set_xlabel("true interaction")
        axes[i].set_ylabel("learned by the network")
        axes[i].set_title(name)
    fig.tight_layout()
    paths.append(str(out / "learned_term.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.semilogy(np.asarray(history))
    ax.set_xlabel("step (Adam, then L-BFGS-B)")
    ax.set_ylabel("trajectory MSE")
    ax.set_title("training loss")
    fig.tight_layout()
    paths.append(str(out / "loss.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def _table(r: dict[str, Any]) -> str:
    rows = [
        ("alpha (prey growth)", f"{TRUTH['alpha']:.3f}", f"{r['alpha']:.3f}"),
        ("gamma (predator death)", f"{TRUTH['gamma']:.3f}", f"{r['gamma']:.3f}"),
        ("RMSE on training data", "-", f"{r['train_rmse']:.4f}"),
        ("RMSE, held-out trajectory", "-", f"{r['heldout_rmse']:.4f}"),
        ("  same, physics alone", "-", f"{r['heldout_rmse_physics_only']:.4f}"),
        ("learned term RMSE", f"(scale {r['interaction_scale']:.2f})", f"{r['interaction_rmse']:.4f}"),
        ("time taken", "-", f"{r['seconds']:.1f} s"),
    ]
    w = [max(len(row[i]) for row in rows + [("quantity", "truth", "fitted")]) for i in range(3)]
    line = lambda a, b, c: f"{a:<{w[0]}}  {b:>{w[1]}}  {c:>{w[2]}}"
    return "\n".join([line("quantity", "truth", "fitted"), "-" * (sum(w) + 4)] + [line(*row) for row in rows])


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``python -m scijax demo`` and ``scijax-demo``."""
    args = _parser().parse_args(argv)
    if args.steps < 0 or args.lbfgs_steps < 0:
        print("scijax demo: --steps and --lbfgs-steps must be >= 0", file=sys.stderr)
        return 2
    plots = not args.no_plots
    if plots:
        try:
            import matplotlib  # noqa: F401  # pyright: ignore[reportMissingImports] (optional)
        except ImportError:
            print("matplotlib is not installed: skipping plots (pip install 'scijax[examples]').", file=sys.stderr)
            plots = False
    print("scijax demo: a hybrid Lotka-Volterra model learns its predator-prey interaction from noisy data,\n"
          "fitted through solve_ivp (Tsit5, adaptive steps, gradients through the solver).")
    r = run_demo(args.steps, args.lbfgs_steps, args.seed, args.out, plots, not args.no_progress)
    print()
    print(_table(r))
    if not all(math.isfinite(v) for v in (r["alpha"], r["gamma"], r["heldout_rmse"])):
        print("training produced non-finite values", file=sys.stderr)
        return 1
    for p in r["plots"]:
        print("wrote", p)
    return 0
