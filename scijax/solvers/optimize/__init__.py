"""SciPy-compatible optimisation (mirrors :mod:`scipy.optimize`).

Every function runs under ``jax.jit`` and ``jax.vmap``, and ``jax.grad`` of a solution with
respect to ``args`` uses the implicit function theorem rather than unrolled iterations.
"""

from ._constraints import (
    Bounds as Bounds,
)
from ._constraints import (
    LinearConstraint as LinearConstraint,
)
from ._constraints import (
    NonlinearConstraint as NonlinearConstraint,
)
from ._constraints import (
    OptimizeWarning as OptimizeWarning,
)
from ._curve_fit import curve_fit as curve_fit
from ._fixed_point import fixed_point as fixed_point
from ._least_squares import least_squares as least_squares
from ._linprog import linprog as linprog
from ._lsq_linear import lsq_linear as lsq_linear
from ._lsq_linear import nnls as nnls
from ._milp import milp as milp
from ._minimize import minimize as minimize
from ._minimize_scalar import minimize_scalar as minimize_scalar
from ._result import OptimizeResult as OptimizeResult
from ._root import root as root
from ._root_scalar import (
    RootResults as RootResults,
)
from ._root_scalar import (
    bisect as bisect,
)
from ._root_scalar import (
    brenth as brenth,
)
from ._root_scalar import (
    brentq as brentq,
)
from ._root_scalar import (
    newton as newton,
)
from ._root_scalar import (
    ridder as ridder,
)
from ._root_scalar import (
    root_scalar as root_scalar,
)

__all__ = [
    "Bounds",
    "LinearConstraint",
    "NonlinearConstraint",
    "OptimizeWarning",
    "OptimizeResult",
    "RootResults",
    "bisect",
    "brenth",
    "brentq",
    "curve_fit",
    "fixed_point",
    "least_squares",
    "linprog",
    "lsq_linear",
    "milp",
    "minimize",
    "minimize_scalar",
    "newton",
    "nnls",
    "ridder",
    "root",
    "root_scalar",
]
