"""Result containers of ``linprog`` and ``milp`` (SciPy's field names, as pytrees)."""

from typing import Any

import equinox as eqx
from jaxtyping import Array

from ._result import ResultFields

__all__ = ["LinprogResult", "LPMarginals", "LINPROG_MESSAGES", "MILP_MESSAGES"]

LINPROG_MESSAGES: tuple[str, ...] = (
    "Optimization terminated successfully.",
    "Iteration limit reached.",
    "The problem is infeasible.",
    "The problem is unbounded.",
    "Numerical difficulties encountered.",
)
"""``linprog`` messages indexed by ``status`` (SciPy's codes)."""

MILP_MESSAGES: tuple[str, ...] = (
    "Optimization terminated successfully.",
    "Iteration or node limit reached.",
    "The problem is infeasible.",
    "The problem is unbounded.",
    "Numerical difficulties encountered.",
)
"""``milp`` messages indexed by ``status`` (SciPy's codes)."""


class LPMarginals(ResultFields):
    """SciPy's ``ineqlin``/``eqlin``/``lower``/``upper`` entries: ``residual`` and
    ``marginals`` (the sensitivity of ``fun`` to the right-hand side or bound)."""

    residual: Array
    marginals: Array


class LinprogResult(ResultFields):
    """Result of ``linprog`` and ``milp`` with SciPy's field names; a pytree.

    ``message`` is derived from ``status`` outside traced code (a list under ``vmap``).
    Fields a routine does not produce are ``None``.
    """

    x: Array
    fun: Array
    status: Array
    success: Array
    nit: Any = None
    slack: Any = None
    con: Any = None
    ineqlin: Any = None
    eqlin: Any = None
    lower: Any = None
    upper: Any = None
    crossover_nit: Any = None
    mip_node_count: Any = None
    mip_dual_bound: Any = None
    mip_gap: Any = None
    messages: tuple[str, ...] = eqx.field(static=True, default=LINPROG_MESSAGES)
