"""Ensemble ODE benchmark: scijax's lean/fused backends against their peers, on one process.

Workload (issue 7): Lorenz, sigma=10, beta=8/3, rho = linspace(0, 21, N), y0 = (1, 0, 0),
t in [0, 1], float32, the final state saved.

- fixed:    Tsit5, dt = 1e-3 (1000 steps); torchdiffeq runs rk4 (it has no tsit5).
- adaptive: rtol = atol = 1e-6, each member with its own step size (RK45 = Dormand-Prince 5(4));
            torchdiffeq's dopri5 solves the batch as one system (one shared step size).

Peers: raw diffrax under ``jit(vmap(diffeqsolve))``, torchdiffeq (if installed, GPU only) and,
on CPU, a SciPy ``solve_ivp`` loop over a few members (time per member times N).
Every time is the median of ``--repeats`` runs after one warm-up (compile) run.

Usage::

    python benchmarks/bench_ensemble.py --small        # CPU, N = 1e3 (and the SciPy loop)
    python benchmarks/bench_ensemble.py                # CPU, N = 1e3 and 1e5
    python benchmarks/bench_ensemble.py --gpu          # GPU, N = 2^10, 2^17, 2^20, 2^23
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

SIGMA, BETA = 10.0, 8.0 / 3.0


def lorenz(t, y, rho):
    x, v, z = y[0], y[1], y[2]
    return jnp.stack([SIGMA * (v - x), x * (rho - z) - v, x * v - BETA * z])


def problem(n, dtype=jnp.float32):
    rho = jnp.linspace(0.0, 21.0, n, dtype=dtype)
    y0s = jnp.broadcast_to(jnp.array([1.0, 0.0, 0.0], dtype), (n, 3))
    return y0s, rho


def timeit(fn, repeats):
    out = fn()  # warm-up / compile
    jax.block_until_ready(out)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# --- scijax -------------------------------------------------------------------------------------

def scijax_runner(backend, workload, n, **extra):
    from scijax.parallel import ensemble_solve_ivp

    y0s, rho = problem(n)
    if workload == "fixed":
        opts = dict(method="Tsit5", dt=1e-3, max_steps=2000)
    else:
        opts = dict(method="RK45", rtol=1e-6, atol=1e-6, max_steps=100_000)
    run = jax.jit(lambda y0s, rho: ensemble_solve_ivp(lorenz, (0.0, 1.0), y0s, (rho,), backend=backend,
                                                      **opts, **extra).y[:, :, -1])
    return lambda: run(y0s, rho)


# --- raw diffrax --------------------------------------------------------------------------------

def diffrax_runner(workload, n):
    import diffrax

    y0s, rho = problem(n)
    term = diffrax.ODETerm(lambda t, y, rho: lorenz(t, y, rho))
    if workload == "fixed":
        solver, ctrl, dt0 = diffrax.Tsit5(), diffrax.ConstantStepSize(), 1e-3
    else:
        solver, ctrl, dt0 = diffrax.Dopri5(), diffrax.PIDController(rtol=1e-6, atol=1e-6), None

    @jax.jit
    def solve(y0s, rho):
        def one(y0, r):
            sol = diffrax.diffeqsolve(term, solver, 0.0, 1.0, dt0, y0, args=r, stepsize_controller=ctrl,
                                      saveat=diffrax.SaveAt(t1=True), max_steps=100_000)
            return sol.ys[-1]

        return jax.vmap(one)(y0s, rho)

    return lambda: solve(y0s, rho)


# --- torchdiffeq (batch as one system) -----------------------------------------------------------

def torch_runner(workload, n):
    import torch
    import torchdiffeq

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rho = torch.linspace(0.0, 21.0, n, device=dev)
    y0 = torch.zeros(n, 3, device=dev)
    y0[:, 0] = 1.0

    def f(t, y):
        x, v, z = y[:, 0], y[:, 1], y[:, 2]
        return torch.stack([SIGMA * (v - x), x * (rho - z) - v, x * v - BETA * z], dim=1)

    ts = torch.tensor([0.0, 1.0], device=dev)
    if workload == "fixed":
        kw = dict(method="rk4", options=dict(step_size=1e-3))
    else:
        kw = dict(method="dopri5", rtol=1e-6, atol=1e-6)

    def run():
        with torch.no_grad():
            torchdiffeq.odeint(f, y0, ts, **kw)
        if dev == "cuda":
            torch.cuda.synchronize()
        return np.zeros(())

    return run


# --- SciPy loop ---------------------------------------------------------------------------------

def scipy_per_member(workload, members=8):
    from scipy.integrate import solve_ivp

    rhos = np.linspace(0.0, 21.0, members)

    def f(t, y, r):
        return np.array([SIGMA * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - BETA * y[2]])

    kw = dict(method="RK45", rtol=1e-6, atol=1e-6) if workload == "adaptive" else dict(
        method="RK45", first_step=1e-3, max_step=1e-3, rtol=1e3, atol=1e3)  # ~fixed 1000 steps
    t = time.perf_counter()
    for r in rhos:
        solve_ivp(f, (0.0, 1.0), np.array([1.0, 0.0, 0.0]), args=(r,), **kw)
    return (time.perf_counter() - t) / members


def row(label, seconds, ref):
    ratio = "" if ref is None or seconds is None else f"{seconds / ref:9.1f}x"
    ms = "   n/a" if seconds is None else f"{seconds * 1e3:10.3f}"
    print(f"  {label:<38s}{ms} ms {ratio}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="CPU: N = 1e3 only")
    ap.add_argument("--gpu", action="store_true", help="GPU sizes and peers (fused, lean, diffrax, torchdiffeq)")
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated N (overrides the defaults)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workloads", type=str, default="fixed,adaptive")
    ap.add_argument("--skip", type=str, default="", help="comma-separated peers to skip")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    if a.sizes:
        sizes = [int(float(s)) for s in a.sizes.split(",")]
    elif a.gpu:
        sizes = [2**10, 2**17, 2**20, 2**23]
    else:
        sizes = [1000] if a.small else [1000, 100_000]
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
    for workload in a.workloads.split(","):
        print(f"\n== Lorenz, {workload}, float32 ==")
        sp = None
        if not a.gpu and "scipy" not in skip:
            sp = scipy_per_member(workload)
        for n in sizes:
            print(f"N = {n}")
            ours, finals = {}, {}
            for backend in (["fused", "lean"] if a.gpu else ["lean"]):
                if backend in skip:
                    continue
                ours[backend], finals[backend] = timeit(scijax_runner(backend, workload, n), a.repeats)
            best = min(ours.values()) if ours else None
            peers, ref = {}, None
            if "diffrax" not in skip and not (n > 2**20 and "bigdiffrax" in skip):
                try:
                    peers["diffrax jit(vmap)"], ref = timeit(diffrax_runner(workload, n), max(1, a.repeats // 2))
                except Exception as e:  # out of memory at the largest sizes
                    print(f"  diffrax failed: {type(e).__name__}: {str(e)[:100]}")
            for backend, sec in ours.items():
                agree = "" if ref is None else (
                    f"  (max |diff| to diffrax / max |y|: "
                    f"{float(jnp.max(jnp.abs(finals[backend] - ref)) / jnp.max(jnp.abs(ref))):.1e})")
                row(f"scijax {backend}", sec, None)
                if agree:
                    print(f"  {agree}")
            if a.gpu and "torch" not in skip:
                try:
                    label = "torchdiffeq " + ("rk4" if workload == "fixed" else "dopri5")
                    peers[label], _ = timeit(torch_runner(workload, n), max(1, a.repeats // 2))
                except Exception as e:
                    print(f"  torchdiffeq failed: {type(e).__name__}: {str(e)[:100]}")
            if sp is not None:
                peers["SciPy loop (per member x N)"] = sp * n
            for label, sec in peers.items():
                row(label, sec, best)
            if best is not None:
                print(f"  (ratio = peer time / fastest scijax backend {min(ours, key=ours.get)})")


if __name__ == "__main__":
    main()
