"""SciPy-compatible integration (mirrors :mod:`scipy.integrate`).

ODE initial value problems: :func:`solve_ivp` and :func:`odeint`, on diffrax
steppers, pure and differentiable.
"""

from ._ivp import solve_ivp as solve_ivp
from ._ivp_result import OdeResult as OdeResult
from ._ivp_result import OdeSolution as OdeSolution
from ._odeint import odeint as odeint

__all__ = ["solve_ivp", "odeint", "OdeResult", "OdeSolution"]
