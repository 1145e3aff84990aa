"""The integrate family's internal surface, for scijax's own packages (``parallel``, ``ml``, ``physics``).

These names are not SciPy's and not part of the public API, but they are the
documented way for another scijax package to reuse the machinery behind
``solve_ivp`` (as optimistix's ``internal`` module does): import them from
here, never from an underscore module of :mod:`scijax.solvers.integrate`.
They may change between releases together with their callers.

Argument checks (run before tracing, with SciPy's messages)
    :func:`is_concrete`, :func:`check_t_span`, :func:`check_t_eval`
Method registry
    :data:`METHODS` (``solve_ivp``'s method name -> :class:`MethodSpec`, diffrax stepper);
    :data:`ADJOINTS` (names of the ``adjoint`` option)
Status vocabulary of an IVP solve
    :data:`FAILURE_MESSAGES`, indexed by the ``flag`` codes :data:`FLAG_SUCCESS`,
    :data:`FLAG_EVENT`, :data:`FLAG_MAX_STEPS`, :data:`FLAG_DTMIN`, :data:`FLAG_NONFINITE`,
    :data:`FLAG_NONLINEAR`, :data:`FLAG_OTHER`; :func:`status_message` turns concrete flags into text.
The explicit Runge-Kutta core (:mod:`._rk`, :mod:`._rk_tableaus`)
    :class:`Tableau` and the registry :data:`TABLEAUS`; :func:`rk_stages`, :func:`rk_step`,
    :func:`combine`, :func:`scaled_error`, :func:`step_factors`, :func:`initial_step`,
    :func:`dense_eval`, :func:`evals_per_step`.
The structure-of-arrays ensemble loop (:mod:`._rk_ensemble`; ``solve_ivp`` runs it under ``vmap``)
    :class:`StepOptions`, :func:`integrate`.
"""

from ..._concrete import is_concrete as is_concrete
from ._ivp_checks import check_t_eval as check_t_eval
from ._ivp_checks import check_t_span as check_t_span
from ._ivp_methods import ADJOINTS as ADJOINTS
from ._ivp_methods import METHODS as METHODS
from ._ivp_methods import MethodSpec as MethodSpec
from ._ivp_result import FAILURE_MESSAGES as FAILURE_MESSAGES
from ._ivp_result import FLAG_DTMIN as FLAG_DTMIN
from ._ivp_result import FLAG_EVENT as FLAG_EVENT
from ._ivp_result import FLAG_MAX_STEPS as FLAG_MAX_STEPS
from ._ivp_result import FLAG_NONFINITE as FLAG_NONFINITE
from ._ivp_result import FLAG_NONLINEAR as FLAG_NONLINEAR
from ._ivp_result import FLAG_OTHER as FLAG_OTHER
from ._ivp_result import FLAG_SUCCESS as FLAG_SUCCESS
from ._ivp_result import status_message as status_message
from ._rk import combine as combine
from ._rk import dense_eval as dense_eval
from ._rk import initial_step as initial_step
from ._rk import rk_stages as rk_stages
from ._rk import rk_step as rk_step
from ._rk import scaled_error as scaled_error
from ._rk import step_factors as step_factors
from ._rk_ensemble import StepOptions as StepOptions
from ._rk_ensemble import integrate as integrate
from ._rk_tableaus import TABLEAUS as TABLEAUS
from ._rk_tableaus import Tableau as Tableau
from ._rk_tableaus import evals_per_step as evals_per_step

__all__ = [
    "is_concrete",
    "check_t_span",
    "check_t_eval",
    "METHODS",
    "MethodSpec",
    "ADJOINTS",
    "FAILURE_MESSAGES",
    "FLAG_SUCCESS",
    "FLAG_EVENT",
    "FLAG_MAX_STEPS",
    "FLAG_DTMIN",
    "FLAG_NONFINITE",
    "FLAG_NONLINEAR",
    "FLAG_OTHER",
    "status_message",
    "Tableau",
    "TABLEAUS",
    "evals_per_step",
    "rk_stages",
    "rk_step",
    "combine",
    "scaled_error",
    "step_factors",
    "initial_step",
    "dense_eval",
    "StepOptions",
    "integrate",
]
