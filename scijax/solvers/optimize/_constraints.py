"""SciPy's constraint forms -> two functions ``eq(x) = 0`` and ``ineq(x) >= 0``.

Accepted: dicts ``{'type': 'eq'|'ineq', 'fun': f, 'jac': j, 'args': a}``,
``scipy.optimize.LinearConstraint`` and ``NonlinearConstraint`` (or a list of any of these).
Which rows are equalities comes from ``lb == ub`` and must be concrete (it fixes shapes).
A given constraint ``jac`` is not called: constraint Jacobians come from autodiff.
"""

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, NonlinearConstraint, OptimizeWarning

from ._objective import prepare_args

__all__ = [
    "parse_constraints", "Bounds", "LinearConstraint", "NonlinearConstraint", "OptimizeWarning",
]
# SciPy's own classes are the inputs we accept, re-exported so that one import line suffices.


def _rows(fun: Callable, lb: Any, ub: Any) -> tuple[list[Callable], list[Callable]]:
    lb = np.atleast_1d(np.asarray(lb, dtype=float))
    ub = np.atleast_1d(np.asarray(ub, dtype=float))
    if np.any(lb > ub):
        raise ValueError("`constraints`: a lower bound is greater than its upper bound.")
    is_eq = lb == ub
    lo = (~is_eq) & np.isfinite(lb)
    hi = (~is_eq) & np.isfinite(ub)
    eqs, ineqs = [], []

    def pick(mask, sign, bound):
        idx = np.flatnonzero(mask)
        return lambda x: sign * (jnp.broadcast_to(jnp.atleast_1d(fun(x)), is_eq.shape)[idx] - bound[idx])

    if is_eq.any():
        eqs.append(pick(is_eq, 1.0, lb))
    if lo.any():
        ineqs.append(pick(lo, 1.0, lb))
    if hi.any():
        ineqs.append(pick(hi, -1.0, ub))
    return eqs, ineqs


def _one(con: Any) -> tuple[list[Callable], list[Callable]]:
    if isinstance(con, LinearConstraint):
        a = jnp.asarray(con.A.toarray() if hasattr(con.A, "toarray") else con.A)  # pyright: ignore[reportAttributeAccessIssue] (scipy.sparse A)
        return _rows(lambda x: a @ jnp.ravel(x), con.lb, con.ub)
    if isinstance(con, NonlinearConstraint):
        return _rows(con.fun, con.lb, con.ub)
    if isinstance(con, dict):
        kind = con.get("type")
        if kind not in ("eq", "ineq"):
            raise ValueError(f"`constraints`: unknown constraint type {kind!r}; use 'eq' or 'ineq'.")
        fun = con.get("fun")
        if not callable(fun):
            raise ValueError("`constraints`: constraint has no callable 'fun'.")
        extra = set(con) - {"type", "fun", "jac", "args"}
        if extra:
            raise ValueError(f"`constraints`: unknown keys {sorted(extra)} in a constraint dict.")
        args = prepare_args(con.get("args", ()))
        row = lambda x: jnp.atleast_1d(fun(x, *args)).ravel()  # noqa: E731  # pyright: ignore[reportArgumentType]
        return ([row], []) if kind == "eq" else ([], [row])
    raise TypeError("`constraints` must be dicts, LinearConstraint or NonlinearConstraint objects.")


def parse_constraints(constraints: Any) -> tuple[Callable | None, Callable | None]:
    """Return ``(eq, ineq)``: functions of the user's ``x`` giving 1-D arrays, or ``None``."""
    if isinstance(constraints, (dict, LinearConstraint, NonlinearConstraint)):
        constraints = [constraints]
    eqs, ineqs = [], []
    for con in constraints:
        e, i = _one(con)
        eqs += e
        ineqs += i

    def stack(fns):
        if not fns:
            return None
        return lambda x: jnp.concatenate([jnp.ravel(f(x)) for f in fns])

    return stack(eqs), stack(ineqs)
