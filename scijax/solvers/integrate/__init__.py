"""SciPy-compatible integration (mirrors :mod:`scipy.integrate`).

ODE initial value problems (:func:`solve_ivp`, :func:`odeint`) on diffrax
steppers, boundary value problems (:func:`solve_bvp`), and quadrature (:func:`quad`,
:func:`quad_vec`, :func:`fixed_quad`,
:func:`trapezoid`, :func:`simpson`, :func:`cumulative_trapezoid`, :func:`cumulative_simpson`,
:func:`romb`, :func:`newton_cotes`, :func:`qmc_quad`);
all pure and differentiable.
"""

from scipy.integrate import IntegrationWarning as IntegrationWarning  # the warning classes SciPy code filters
from scipy.integrate import ODEintWarning as ODEintWarning

from .._userfn import NotTraceableError as NotTraceableError
from .._userfn import NotTraceableWarning as NotTraceableWarning
from ._bvp import solve_bvp as solve_bvp
from ._cubature import CubatureResult as CubatureResult
from ._cubature import cubature as cubature
from ._cumulative import cumulative_simpson as cumulative_simpson
from ._ivp import solve_ivp as solve_ivp
from ._ivp_result import OdeResult as OdeResult
from ._ivp_result import OdeSolution as OdeSolution
from ._newton_cotes import newton_cotes as newton_cotes
from ._nsum import NsumResult as NsumResult
from ._nsum import nsum as nsum
from ._ode_class import complex_ode as complex_ode
from ._ode_class import ode as ode
from ._ode_solver import BDF as BDF
from ._ode_solver import DOP853 as DOP853
from ._ode_solver import LSODA as LSODA
from ._ode_solver import RK23 as RK23
from ._ode_solver import RK45 as RK45
from ._ode_solver import DenseOutput as DenseOutput
from ._ode_solver import OdeSolver as OdeSolver
from ._ode_solver import Radau as Radau
from ._odeint import odeint as odeint
from ._qmc_quad import QMCQuadResult as QMCQuadResult
from ._qmc_quad import qmc_quad as qmc_quad
from ._quad import quad as quad
from ._quad import quad_vec as quad_vec
from ._quad_fixed import cumulative_trapezoid as cumulative_trapezoid
from ._quad_fixed import fixed_quad as fixed_quad
from ._quad_fixed import romb as romb
from ._quad_fixed import simpson as simpson
from ._quad_fixed import trapezoid as trapezoid
from ._quad_multi import dblquad as dblquad
from ._quad_multi import nquad as nquad
from ._quad_multi import tplquad as tplquad
from ._tanhsinh import TanhSinhResult as TanhSinhResult
from ._tanhsinh import tanhsinh as tanhsinh

__all__ = [
    "IntegrationWarning",
    "ODEintWarning",
    "NotTraceableError",
    "NotTraceableWarning",
    "solve_ivp",
    "odeint",
    "ode",
    "complex_ode",
    "solve_bvp",
    "OdeResult",
    "OdeSolution",
    "OdeSolver",
    "DenseOutput",
    "RK45",
    "RK23",
    "DOP853",
    "Radau",
    "BDF",
    "LSODA",
    "quad",
    "quad_vec",
    "dblquad",
    "tplquad",
    "nquad",
    "fixed_quad",
    "trapezoid",
    "simpson",
    "cumulative_trapezoid",
    "cumulative_simpson",
    "newton_cotes",
    "qmc_quad",
    "QMCQuadResult",
    "romb",
    "tanhsinh",
    "TanhSinhResult",
    "nsum",
    "NsumResult",
    "cubature",
    "CubatureResult",
]

# Eager calls return NumPy arrays and Python scalars, as SciPy does; traced calls stay JAX (scijax/_eager.py).
from ..._eager import wrap_public as _wrap_public  # noqa: E402 (wraps the names imported above)

_wrap_public(globals(), __all__, python_float=("quad", "quad_vec", "dblquad", "tplquad", "nquad"))
