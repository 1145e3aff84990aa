"""SciPy-compatible optimisation (mirrors :mod:`scipy.optimize`).

Every function runs under ``jax.jit`` and ``jax.vmap``, and ``jax.grad`` of a solution with
respect to ``args`` uses the implicit function theorem rather than unrolled iterations.
"""

from .._userfn import NotTraceableError as NotTraceableError
from .._userfn import NotTraceableWarning as NotTraceableWarning
from ._assignment import linear_sum_assignment as linear_sum_assignment
from ._basinhopping import basinhopping as basinhopping
from ._brute import brute as brute
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
from ._differential_evolution import differential_evolution as differential_evolution
from ._direct import direct as direct
from ._dual_annealing import dual_annealing as dual_annealing
from ._fixed_point import fixed_point as fixed_point
from ._hessian_update import BFGS as BFGS
from ._hessian_update import SR1 as SR1
from ._hessian_update import HessianUpdateStrategy as HessianUpdateStrategy
from ._isotonic import isotonic_regression as isotonic_regression
from ._jacobians import BroydenFirst as BroydenFirst
from ._jacobians import InverseJacobian as InverseJacobian
from ._jacobians import KrylovJacobian as KrylovJacobian
from ._lbfgs_hess import LbfgsInvHessProduct as LbfgsInvHessProduct
from ._least_squares import least_squares as least_squares
from ._legacy import bracket as bracket
from ._legacy import brent as brent
from ._legacy import fmin as fmin
from ._legacy import fmin_bfgs as fmin_bfgs
from ._legacy import fmin_cg as fmin_cg
from ._legacy import fmin_l_bfgs_b as fmin_l_bfgs_b
from ._legacy import fmin_ncg as fmin_ncg
from ._legacy import fmin_powell as fmin_powell
from ._legacy import fmin_slsqp as fmin_slsqp
from ._legacy import fminbound as fminbound
from ._legacy import golden as golden
from ._legacy_minpack import fsolve as fsolve
from ._legacy_minpack import leastsq as leastsq
from ._legacy_tnc_cobyla import fmin_cobyla as fmin_cobyla
from ._legacy_tnc_cobyla import fmin_tnc as fmin_tnc
from ._line_search import line_search as line_search
from ._linprog import linprog as linprog
from ._lsq_linear import lsq_linear as lsq_linear
from ._lsq_linear import nnls as nnls
from ._milp import milp as milp
from ._minimize import minimize as minimize
from ._minimize_scalar import minimize_scalar as minimize_scalar
from ._nonlin import NoConvergence as NoConvergence
from ._nonlin import anderson as anderson
from ._nonlin import broyden1 as broyden1
from ._nonlin import broyden2 as broyden2
from ._nonlin import diagbroyden as diagbroyden
from ._nonlin import excitingmixing as excitingmixing
from ._nonlin import linearmixing as linearmixing
from ._nonlin import newton_krylov as newton_krylov
from ._options import linprog_verbose_callback as linprog_verbose_callback
from ._options import show_options as show_options
from ._qap import quadratic_assignment as quadratic_assignment
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
from ._root_scalar import (
    toms748 as toms748,
)
from ._shgo import shgo as shgo
from ._testfuncs import approx_fprime as approx_fprime
from ._testfuncs import check_grad as check_grad
from ._testfuncs import rosen as rosen
from ._testfuncs import rosen_der as rosen_der
from ._testfuncs import rosen_hess as rosen_hess
from ._testfuncs import rosen_hess_prod as rosen_hess_prod

__all__ = [
    "BFGS",
    "Bounds",
    "BroydenFirst",
    "HessianUpdateStrategy",
    "InverseJacobian",
    "KrylovJacobian",
    "LbfgsInvHessProduct",
    "LinearConstraint",
    "NonlinearConstraint",
    "NoConvergence",
    "NotTraceableError",
    "NotTraceableWarning",
    "OptimizeResult",
    "OptimizeWarning",
    "RootResults",
    "SR1",
    "approx_fprime",
    "anderson",
    "basinhopping",
    "bisect",
    "bracket",
    "brent",
    "brenth",
    "brute",
    "broyden1",
    "broyden2",
    "brentq",
    "check_grad",
    "curve_fit",
    "diagbroyden",
    "differential_evolution",
    "direct",
    "dual_annealing",
    "excitingmixing",
    "fixed_point",
    "fmin",
    "fmin_bfgs",
    "fmin_cg",
    "fmin_cobyla",
    "fmin_l_bfgs_b",
    "fmin_ncg",
    "fmin_powell",
    "fmin_slsqp",
    "fmin_tnc",
    "fminbound",
    "fsolve",
    "golden",
    "isotonic_regression",
    "least_squares",
    "leastsq",
    "line_search",
    "linear_sum_assignment",
    "linearmixing",
    "linprog",
    "linprog_verbose_callback",
    "lsq_linear",
    "milp",
    "minimize",
    "minimize_scalar",
    "newton",
    "newton_krylov",
    "nnls",
    "quadratic_assignment",
    "ridder",
    "root",
    "root_scalar",
    "rosen",
    "rosen_der",
    "rosen_hess",
    "rosen_hess_prod",
    "shgo",
    "show_options",
    "toms748",
]

# Eager calls return NumPy arrays and Python scalars, as SciPy does; traced calls stay JAX (scijax/_eager.py).
from ..._eager import wrap_public as _wrap_public  # noqa: E402 (wraps the names imported above)

_wrap_public(globals(), __all__, exclude=("rosen", "rosen_der", "rosen_hess", "rosen_hess_prod", "approx_fprime"),
             python_float=("brentq", "brenth", "ridder", "bisect", "toms748"))
