"""``scipy.optimize.linear_sum_assignment``: shortest augmenting paths (Jonker-Volgenant, Crouse 2016).

The solver keeps dual prices ``u`` (rows) and ``v`` (columns) and assigns one row at a time: from
the new row it grows a Dijkstra tree of alternating paths over the reduced costs
``c[i, j] - u[i] - v[j]`` until it reaches an unassigned column, updates the duals so reduced
costs stay non-negative, and flips the assignment along the path (Crouse, "On implementing 2D
rectangular assignment algorithms", IEEE TAES 52(4), 2016, Algorithm 1 and section IV). Every
loop is a ``lax`` loop over fixed-size arrays, so the whole solve runs under ``jit`` and ``vmap``.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete

__all__ = ["linear_sum_assignment", "assign_rows"]


def _augment_one(cost: Array, carry: tuple, cur_row: Array) -> tuple:
    """Assign ``cur_row`` by one shortest augmenting path; returns the new carry."""
    u, v, col4row, row4col, feasible = carry
    nr, nc = cost.shape
    inf = jnp.asarray(jnp.inf, cost.dtype)

    def grow_cond(s):
        return (s[6] < 0) & s[7]

    def grow(s):
        spc, path, in_sr, in_sc, min_val, i, sink, ok = s
        in_sr = in_sr.at[i].set(True)
        reduced = min_val + cost[i] - u[i] - v
        better = (~in_sc) & (reduced < spc)
        path = jnp.where(better, i, path)
        spc = jnp.where(better, reduced, spc)
        open_spc = jnp.where(in_sc, inf, spc)
        lowest = jnp.min(open_spc)
        ok = lowest < inf
        # Among the cheapest open columns prefer an unassigned one (it ends the path now).
        tie = (open_spc == lowest) & (~in_sc)
        j = jnp.argmax(tie & (row4col < 0))
        j = jnp.where(jnp.any(tie & (row4col < 0)), j, jnp.argmax(tie))
        in_sc = in_sc.at[j].set(ok | in_sc[j])
        sink = jnp.where(ok & (row4col[j] < 0), j, -1)
        i = jnp.where(ok, row4col[j], i)
        return spc, path, in_sr, in_sc, jnp.where(ok, lowest, min_val), i, sink, ok

    init = (jnp.full((nc,), inf), jnp.full((nc,), -1, col4row.dtype), jnp.zeros((nr,), bool),
            jnp.zeros((nc,), bool), jnp.zeros((), cost.dtype), cur_row, jnp.asarray(-1, col4row.dtype),
            feasible)
    spc, path, in_sr, in_sc, min_val, _, sink, ok = lax.while_loop(grow_cond, grow, init)

    # Dual update keeps every reduced cost non-negative and the tree's edges tight.
    rows = jnp.arange(nr)
    spc_of_row = spc[jnp.clip(col4row, 0, nc - 1)]
    du = jnp.where(in_sr & (rows != cur_row), min_val - spc_of_row, 0.0)
    du = du.at[cur_row].add(min_val)
    u_new = u + du
    v_new = v - jnp.where(in_sc, min_val - spc, 0.0)

    def flip_cond(s):
        return s[2]

    def flip(s):
        c4r, r4c, _, j = s
        i = path[j]
        r4c = r4c.at[j].set(i)
        nxt = c4r[i]
        c4r = c4r.at[i].set(j)
        return c4r, r4c, i != cur_row, nxt

    c4r, r4c, _, _ = lax.while_loop(flip_cond, flip, (col4row, row4col, ok, sink))
    keep = lambda new, old: jnp.where(ok, new, old)  # noqa: E731
    return (keep(u_new, u), keep(v_new, v), keep(c4r, col4row), keep(r4c, row4col), ok)


def assign_rows(cost: Array) -> tuple[Array, Array]:
    """Column of each row for a ``(nr, nc)`` cost matrix with ``nr <= nc``, minimising the total.

    Returns ``(col4row, feasible)``; when no finite-cost assignment exists ``feasible`` is
    False and ``col4row`` is all ``-1``. Traceable (``jit``/``vmap``); gradients are stopped.
    """
    cost = lax.stop_gradient(cost)
    nr, nc = cost.shape
    itype = jnp.asarray(np.intp(0)).dtype
    carry = (jnp.zeros((nr,), cost.dtype), jnp.zeros((nc,), cost.dtype), jnp.full((nr,), -1, itype),
             jnp.full((nc,), -1, itype), jnp.asarray(True))

    def body(k, carry):
        return _augment_one(cost, carry, jnp.asarray(k, itype))

    _, _, col4row, _, feasible = lax.fori_loop(0, nr, body, carry)
    return jnp.where(feasible, col4row, -1), feasible


_assign_rows_jit = jax.jit(assign_rows)


def _check(cost_matrix: ArrayLike, maximize: bool) -> Array:
    if not isinstance(cost_matrix, jax.Array):
        raw = np.asarray(cost_matrix)
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"Cannot cast array data from {raw.dtype!r} to a float (`cost_matrix` must be "
                            "real numbers).")
    cost = jnp.asarray(cost_matrix)
    if cost.ndim != 2:
        raise ValueError(f"expected a matrix (2-D array), got a {cost.ndim}-D array: `cost_matrix`")
    if jnp.issubdtype(cost.dtype, jnp.complexfloating):
        raise TypeError("`cost_matrix` must be real.")
    if not jnp.issubdtype(cost.dtype, jnp.floating):
        cost = cost.astype(jnp.asarray(0.0).dtype)
    if maximize:
        cost = -cost
    if is_concrete(cost) and bool(jnp.any(jnp.isnan(cost) | jnp.isneginf(cost))):
        raise ValueError("matrix contains invalid numeric entries (`cost_matrix` has NaN, or -inf "
                         "when minimising / +inf when maximising)")
    return cost


def linear_sum_assignment(cost_matrix: ArrayLike, maximize: bool = False) -> tuple[Array, Array]:
    """Solve the linear sum assignment problem.

    Mirrors :func:`scipy.optimize.linear_sum_assignment`: choose one column for each row (or one
    row for each column when there are more rows than columns), each column at most once, so that
    the total cost ``cost_matrix[row_ind, col_ind].sum()`` is least (or greatest with
    ``maximize=True``). Runs the same family of algorithm as SciPy, the shortest augmenting path
    method of Jonker and Volgenant as described by Crouse (2016), written with ``lax`` loops.

    Parameters
    ----------
    cost_matrix : array_like, shape (nr, nc)
        The cost of assigning row ``i`` to column ``j``. ``+inf`` (``-inf`` with ``maximize``)
        marks a forbidden pair.
    maximize : bool, optional
        Maximise the total instead of minimising it.

    Returns
    -------
    row_ind, col_ind : Array of int, shape (min(nr, nc),)
        The optimal assignment; ``row_ind`` is sorted, so for a square matrix it is
        ``arange(nr)``.

    Raises
    ------
    ValueError
        ``cost_matrix`` is not 2-D, contains NaN (or ``-inf`` when minimising), or, in an eager
        call, admits no assignment of finite cost ("cost matrix is infeasible").

    Differences from SciPy
    ----------------------
    - Runs under ``jax.jit`` and ``jax.vmap`` (batched assignment problems of one shape solve
      as one compiled program). Under a transformation an infeasible problem cannot raise:
      ``col_ind`` is then all ``-1`` (and ``row_ind`` is ``arange``); eager calls raise as SciPy.
      The NaN check runs only on concrete inputs.
    - The assignment is piecewise constant in the costs, so it has no useful derivative (the
      solve runs on stopped gradients). The optimal cost ``cost_matrix[row_ind, col_ind].sum()``
      *is* differentiable: its gradient with respect to ``cost_matrix`` is the 0/1 assignment
      matrix, exactly what the indexing gives.
    - Among several optimal assignments the one returned may differ from SciPy's (same cost).
    - Eager calls return NumPy arrays, as SciPy; traced calls return JAX arrays.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import linear_sum_assignment
    >>> cost = jnp.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])
    >>> row_ind, col_ind = linear_sum_assignment(cost)
    >>> col_ind.tolist(), cost[row_ind, col_ind].sum().item()
    ([1, 0, 2], 5.0)
    """
    cost = _check(cost_matrix, maximize)
    nr, nc = cost.shape
    itype = jnp.asarray(np.intp(0)).dtype
    if nr == 0 or nc == 0:
        empty = np.zeros((0,), itype)
        return empty, empty  # pyright: ignore[reportReturnType]
    transpose = nc < nr
    work = cost.T if transpose else cost
    col4row, feasible = _assign_rows_jit(lax.stop_gradient(work))  # eager grad reuses the compile
    if is_concrete(feasible) and not bool(feasible):
        raise ValueError("cost matrix is infeasible")
    rows = jnp.arange(work.shape[0], dtype=itype)
    if transpose:
        order = jnp.argsort(jnp.where(col4row < 0, rows, col4row))
        rows, col4row = jnp.where(feasible, col4row[order], rows), jnp.where(feasible, order.astype(itype), -1)
    if is_concrete(cost):  # eager: NumPy index arrays, as SciPy
        return np.asarray(rows), np.asarray(col4row)  # pyright: ignore[reportReturnType]
    return rows, col4row
