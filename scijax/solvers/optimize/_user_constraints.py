"""Constraint functions written with NumPy: wrapped for the host path like any user function.

``minimize`` hands its ``constraints`` here before it parses them: the ``fun`` of each constraint
dict (called as ``fun(x, *args)``) and of each ``NonlinearConstraint`` (``fun(x)``) goes through
:func:`scijax.solvers._userfn.prepare`. A given constraint ``jac`` is not called by our SLSQP
(autodiff, or forward differences on the host path, gives constraint Jacobians).
"""

import copy
from typing import Any

from .._userfn import prepare
from ._constraints import NonlinearConstraint
from ._objective import prepare_args

__all__ = ["prepare_constraints"]


def _one(con: Any, x: Any) -> Any:
    if isinstance(con, NonlinearConstraint) and callable(con.fun):
        fun = prepare(con.fun, (x,), solver="minimize", role="constraints.fun", closures=False)
        if fun is con.fun:  # traceable: keep the user's object, the compiled solve's cache key
            return con
        out = copy.copy(con)
        out.fun = fun
        return out
    if isinstance(con, dict) and callable(con.get("fun")):
        args = prepare_args(con.get("args", ()))
        return {**con, "fun": prepare(con["fun"], (x, *args), solver="minimize", role="constraints.fun",
                                      closures=False)}
    return con


def prepare_constraints(constraints: Any, x: Any) -> Any:
    """``constraints`` with each user function prepared for the call at ``x`` (the user's ``x0``)."""
    if isinstance(constraints, list | tuple):
        return type(constraints)(_one(c, x) for c in constraints)
    return _one(constraints, x)
