"""``milp``: SciPy's mixed-integer linear programming facade, by best-first branch and bound
over LP relaxations solved with the interior-point engine of ``linprog``."""

import heapq
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from ._lp_form import check_lp_inputs, lp_solve
from ._lp_result import MILP_MESSAGES, LinprogResult

__all__ = ["milp", "milp_from_arrays"]

_OPTIONS = {"disp", "presolve", "time_limit", "node_limit", "mip_rel_gap"}
_INT_TOL = 1e-6


def _constraint_rows(constraints: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack SciPy's ``constraints`` (a ``LinearConstraint``, a ``(A, lb, ub)`` tuple, or a
    sequence of them) into ``A, lb, ub`` arrays."""
    if constraints is None:
        return np.zeros((0, n)), np.zeros(0), np.zeros(0)
    if hasattr(constraints, "A") or (
        isinstance(constraints, tuple) and len(constraints) == 3 and np.ndim(constraints[0]) >= 1
        and not hasattr(constraints[0], "A")
    ):  # fmt: skip
        constraints = [constraints]
    As, lbs, ubs = [], [], []
    for con in constraints:
        A, lb, ub = (con.A, con.lb, con.ub) if hasattr(con, "A") else con
        A = np.atleast_2d(np.asarray(A.toarray() if hasattr(A, "toarray") else A, float))
        if A.shape[1] != n:
            raise ValueError(f"`constraints`: each matrix must have {n} columns; got {A.shape}.")
        As.append(A)
        lbs.append(np.broadcast_to(np.asarray(lb, float), A.shape[:1]))
        ubs.append(np.broadcast_to(np.asarray(ub, float), A.shape[:1]))
    return np.concatenate(As), np.concatenate(lbs), np.concatenate(ubs)


def milp(
    c: ArrayLike,
    *,
    integrality: ArrayLike | None = None,
    bounds: Any = None,
    constraints: Any = None,
    options: dict | None = None,
) -> LinprogResult:
    """Mixed-integer linear programming.

    Mirrors :func:`scipy.optimize.milp`::

        min c @ x  such that  b_l <= A @ x <= b_u,  l <= x <= u,  x[i] integer where
        integrality[i] == 1.

    Parameters
    ----------
    c : array_like, shape (n,)
        Objective coefficients (finite).
    integrality : array_like of int, shape (n,), optional
        1 for an integer variable, 0 for a continuous one (default all 0). SciPy's
        semi-continuous codes 2 and 3 are not supported (``ValueError``).
    bounds : Bounds or 2-tuple, optional
        Variable bounds; default ``l = 0``, ``u = inf``.
    constraints : LinearConstraint, (A, b_l, b_u) tuple, or a sequence of them, optional
        Two-sided linear constraints; a row with ``b_l == b_u`` is an equality.
    options : dict, optional
        ``node_limit`` (default 10000), ``mip_rel_gap`` (default 1e-4, as HiGHS), ``disp``,
        ``presolve`` and ``time_limit`` (accepted, ignored). Unknown keys raise ``ValueError``.

    Returns
    -------
    LinprogResult
        ``x``, ``fun``, ``status`` (0 optimal, 1 node limit, 2 infeasible, 3 unbounded,
        4 other), ``success``, ``message``, ``mip_node_count``, ``mip_dual_bound`` and
        ``mip_gap``.

    Differences from SciPy
    ----------------------
    - Branch and bound runs eagerly, as a Python loop over nodes (the tree is data
      dependent): best-first on the relaxation bound, branching on the most fractional
      variable, with each LP relaxation solved by :func:`linprog`'s compiled interior-point
      engine (one compilation for all nodes). No presolve, cuts or heuristics, so it is meant
      for small problems (tens of integer variables, up to a few thousand nodes); it does not
      run under ``jit``/``vmap``/``grad``.
    - Integer variables of the returned ``x`` are rounded to the nearest integer.
    - ``x`` and ``fun`` are ``nan`` when no integer-feasible point was found.

    Example
    -------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import numpy as np
    >>> from scijax.solvers.optimize import milp, LinearConstraint
    >>> res = milp(c=[0.0, -1.0], integrality=[1, 1],
    ...            constraints=LinearConstraint([[-1, 1], [3, 2], [2, 3]],
    ...                                         [-np.inf, -np.inf, -np.inf], [1, 12, 12]))
    >>> res.x.tolist(), float(res.fun)
    ([1.0, 2.0], -2.0)
    """
    c_arr = np.atleast_1d(np.asarray(c, float))
    n = c_arr.shape[0]
    A, bl, bu = _constraint_rows(constraints, n)
    finite = np.isfinite
    eq = finite(bl) & finite(bu) & (bl == bu)
    up = finite(bu) & ~eq
    lo = finite(bl) & ~eq
    A_ub = np.concatenate([A[up], -A[lo]])
    b_ub = np.concatenate([bu[up], -bl[lo]])
    if bounds is None:
        lb, ub = np.zeros(n), np.full(n, np.inf)
    elif hasattr(bounds, "lb"):
        lb, ub = bounds.lb, bounds.ub
    else:
        lb, ub = bounds
    lb = np.broadcast_to(np.asarray(-np.inf if lb is None else lb, float), (n,))
    ub = np.broadcast_to(np.asarray(np.inf if ub is None else ub, float), (n,))
    return milp_from_arrays(c_arr, A_ub, b_ub, A[eq], bl[eq], lb, ub, integrality, options)


def milp_from_arrays(c, A_ub, b_ub, A_eq, b_eq, lb, ub, integrality, options) -> LinprogResult:
    """Branch and bound on ``linprog``-form arrays (also ``linprog(integrality=...)``)."""
    c, A_ub, b_ub, A_eq, b_eq = check_lp_inputs(c, A_ub, b_ub, A_eq, b_eq)
    n = c.shape[0]
    options = dict(options or {})
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ValueError(f"`options`: unrecognized option(s) {sorted(unknown)}.")
    node_limit = int(options.get("node_limit", 10_000))
    rel_gap = float(options.get("mip_rel_gap", 1e-4))
    integ = np.zeros(n, int) if integrality is None else np.broadcast_to(np.asarray(integrality), (n,))
    if np.any((integ != 0) & (integ != 1)):
        raise ValueError("`integrality`: only 0 (continuous) and 1 (integer) are supported.")
    is_int = integ == 1
    lb = np.asarray(lb, float)
    ub = np.asarray(ub, float)
    if np.any(lb > ub):
        raise ValueError("`bounds`: a lower bound is greater than the upper bound.")
    lb = np.where(is_int, np.ceil(lb - _INT_TOL), lb)
    ub = np.where(is_int, np.floor(ub + _INT_TOL), ub)
    tol = 1e-9 if c.dtype == jnp.float64 else 1e-5
    c_np = np.asarray(c)

    def relax(lo, hi):
        if np.any(lo > hi):
            return 2, np.inf, None
        x, *_, status, _ = lp_solve(c, A_ub, b_ub, A_eq, b_eq, jnp.asarray(lo), jnp.asarray(hi), tol, 200)
        x = np.asarray(x)
        return int(status), float(c_np @ x) if int(status) == 0 else np.inf, x

    best_x, best_f = None, np.inf
    status0, f0, x0 = relax(lb, ub)
    nodes, counter = 1, 1
    status = 0 if status0 == 0 else (status0 if status0 in (2, 3) else 4)
    heap = [(f0, 0, lb, ub, x0)] if status0 == 0 else []
    dual_bound = None  # None: the tree was exhausted, so the bound is the incumbent
    while heap and status == 0:
        f, _, lo, hi, x = heapq.heappop(heap)
        x = np.asarray(x, float)
        if f >= best_f - rel_gap * max(1.0, abs(best_f)):
            dual_bound = min(f, best_f)  # best-first: no open node is better than f
            break
        frac = np.where(is_int, np.abs(x - np.round(x)), 0.0)
        j = int(np.argmax(frac))
        if frac[j] <= _INT_TOL:
            best_x, best_f = x, f
            continue
        if nodes >= node_limit:
            status, dual_bound = 1, f
            break
        at_j = np.arange(n) == j
        for child_lo, child_hi in ((lo, np.where(at_j, np.floor(x[j]), hi)),
                                   (np.where(at_j, np.ceil(x[j]), lo), hi)):  # fmt: skip
            nodes += 1
            st, fc, xc = relax(child_lo, child_hi)
            if st == 3:
                status = 3
            elif st == 0 and fc < best_f:
                counter += 1
                heapq.heappush(heap, (fc, counter, child_lo, child_hi, xc))
    if status == 0 and best_x is None:
        status = 2
    if best_x is not None and status != 3:
        best_x = np.where(is_int, np.round(best_x), best_x)
        best_f = float(c_np @ best_x)
    else:
        best_x = None
    if dual_bound is None:
        dual_bound = best_f if best_x is not None else np.nan
    x = jnp.asarray(best_x if best_x is not None else np.full(n, np.nan), c.dtype)
    fun = jnp.asarray(best_f if best_x is not None else np.nan, c.dtype)
    gap = abs(best_f - dual_bound) / max(abs(best_f), 1e-300) if best_x is not None else np.inf
    return LinprogResult(
        x=x,
        fun=fun,
        status=jnp.asarray(status, jnp.int32),
        success=jnp.asarray(status == 0),
        slack=b_ub - A_ub @ x,
        con=b_eq - A_eq @ x,
        mip_node_count=jnp.asarray(nodes, jnp.int32),
        mip_dual_bound=jnp.asarray(dual_bound, c.dtype),
        mip_gap=jnp.asarray(gap, c.dtype),
        messages=MILP_MESSAGES,
    )
