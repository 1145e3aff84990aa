"""SciPy's ``disp`` convergence summary, printed after an eager solve.

SciPy prints it from inside its loop; ours is one compiled program, so the summary is printed from
the finished result (the same lines: the outcome, the function value, iterations and evaluation
counts). Under ``jit``/``vmap`` (traced ``status``) nothing is printed.
"""

from typing import Any

import jax
from jax.core import Tracer

__all__ = ["print_summary"]


def _concrete(x: Any) -> bool:
    return not any(isinstance(v, Tracer) for v in jax.tree_util.tree_leaves(x))


def print_summary(res: Any, gradients: bool = True, hessians: Any = None) -> None:
    """Print SciPy's summary of a concrete, scalar ``OptimizeResult``."""
    if not _concrete(res.status) or getattr(res.status, "ndim", 0):
        return
    # `success`, not status 0: trust-constr succeeds with status 1 or 2.
    print("Optimization terminated successfully." if bool(res.success) else f"Warning: {res.message}")
    print(f"         Current function value: {float(res.fun):f}")
    if res.nit is not None:
        print(f"         Iterations: {int(res.nit)}")
    print(f"         Function evaluations: {int(res.nfev)}")
    if gradients and res.njev is not None:
        print(f"         Gradient evaluations: {int(res.njev)}")
    if hessians is not None:
        print(f"         Hessian evaluations: {int(hessians)}")
