"""SciPy-compatible optimisation (mirrors :mod:`scipy.optimize`).

Every function runs under ``jax.jit`` and ``jax.vmap``, and ``jax.grad`` of a solution with
respect to ``args`` uses the implicit function theorem rather than unrolled iterations.
"""

from ._minimize import minimize as minimize
from ._result import OptimizeResult as OptimizeResult

__all__ = ["OptimizeResult", "minimize"]
