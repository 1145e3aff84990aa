"""Success parity with SciPy on the Moré-Garbow-Hillstrom problems (issue #15, "false failures").

    python benchmarks/mgh_parity.py                          # every method on every problem
    python benchmarks/mgh_parity.py --methods BFGS CG --problems meyer gulf

Runs each problem of ``tests/problems/optimize_problems.py`` from its standard starting point
with SciPy and with scijax, for the unconstrained ``minimize`` methods (with the exact gradient,
and the exact Hessian where the method takes one: ``jax.grad``/``jax.hessian`` of the same
objective, handed to SciPy as NumPy arrays) and for ``root`` 'hybr'/'lm' on the square residual
systems. Prints ``success``/``nit``/``nfev``/``f`` for both, then per method the counts of
SciPy successes, scijax successes, the target cases (SciPy succeeds, scijax fails) and false
successes (scijax reports success at an ``f`` worse than SciPy's by more than
``1e-4 (1 + |f_scipy|)``, or, for ``root``, at a residual norm above ``sqrt(tol)``).
This is a parity table, not a timing benchmark.
"""

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize as so  # noqa: E402

from scijax.solvers.optimize import minimize, root  # noqa: E402
from tests.problems.optimize_problems import PROBLEMS  # noqa: E402

MINIMIZE = ("BFGS", "CG", "Newton-CG", "trust-exact", "trust-ncg", "trust-krylov", "dogleg", "L-BFGS-B",
            "TNC", "Nelder-Mead", "Powell")
NEEDS_HESS = {"Newton-CG", "trust-exact", "trust-ncg", "trust-krylov", "dogleg"}
ROOT = ("hybr", "lm")


def _square(p) -> bool:
    return len(p.x0) == int(np.asarray(p.residuals(np)(np.asarray(p.x0))).shape[0])


def _row(res, f):
    def count(name):
        value = getattr(res, name, None)
        return -1 if value is None else int(value)

    return dict(success=bool(res.success), nit=count("nit"), nfev=count("nfev"), f=float(f))


def run_minimize(method: str, p) -> tuple[dict, dict]:
    x0 = np.asarray(p.x0, float)
    fj = p.objective(jnp)
    grad = jax.jit(jax.grad(fj))
    hess = jax.jit(jax.hessian(fj))
    kw = {}
    if method not in ("Nelder-Mead", "Powell"):
        kw["jac"] = lambda x: np.asarray(grad(x))
    if method in NEEDS_HESS:
        kw["hess"] = lambda x: np.asarray(hess(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref = so.minimize(p.objective(np), x0, method=method, **kw)
            sp = _row(ref, ref.fun)
        except Exception as e:  # dogleg: LinAlgError on an indefinite Hessian
            sp = dict(success=False, nit=-1, nfev=-1, f=float("nan"), error=type(e).__name__)
        ours = minimize(fj, jnp.asarray(x0), method=method)
    return sp, _row(ours, ours.fun)


def run_root(method: str, p) -> tuple[dict, dict]:
    x0 = np.asarray(p.x0, float)
    rj = p.residuals(jnp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = so.root(p.residuals(np), x0, method=method)
        ours = root(rj, jnp.asarray(x0), method=method)
    return (_row(ref, np.sum(np.asarray(ref.fun) ** 2)), _row(ours, np.sum(np.asarray(ours.fun) ** 2)))


def _false_success(kind: str, sp: dict, us: dict) -> bool:
    if not us["success"]:
        return False
    if kind == "root":
        return not us["f"] <= 1.49012e-08
    return bool(np.isfinite(sp["f"])) and not us["f"] <= sp["f"] + 1e-4 * (1 + abs(sp["f"]))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="*", default=list(MINIMIZE) + ["root-" + m for m in ROOT])
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    a = parser.parse_args(argv)
    summary = {}
    print(f"{'method':13s} {'problem':20s} | {'scipy ok':8s} {'nit':>5s} {'nfev':>6s} {'f':>12s} | "
          f"{'ours ok':8s} {'nit':>5s} {'nfev':>6s} {'f':>12s}  flag")
    for method in a.methods:
        kind = "root" if method.startswith("root-") else "min"
        counts = dict(scipy=0, ours=0, target=0, false=0, n=0)
        for name in a.problems:
            p = PROBLEMS[name]
            if kind == "root":
                if not _square(p):
                    continue
                sp, us = run_root(method[5:], p)
            else:
                sp, us = run_minimize(method, p)
            target = sp["success"] and not us["success"]
            false = _false_success(kind, sp, us)
            counts["n"] += 1
            counts["scipy"] += sp["success"]
            counts["ours"] += us["success"]
            counts["target"] += target
            counts["false"] += false
            flag = "TARGET" if target else ("FALSE-SUCCESS" if false else "")
            print(f"{method:13s} {name:20s} | {sp['success']!s:8s} {sp['nit']:5d} {sp['nfev']:6d} {sp['f']:12.5g} | "
                  f"{us['success']!s:8s} {us['nit']:5d} {us['nfev']:6d} {us['f']:12.5g}  {flag}", flush=True)
        summary[method] = counts
    print("\nmethod        problems  scipy-successes  scijax-successes  target(scipy ok, ours not)  false-successes")
    for method, c in summary.items():
        print(f"{method:13s} {c['n']:8d}  {c['scipy']:15d}  {c['ours']:16d}  {c['target']:26d}  {c['false']:15d}")
    return summary


if __name__ == "__main__":
    main()
