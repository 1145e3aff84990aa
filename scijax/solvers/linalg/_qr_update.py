"""Updating a QR factorisation by Givens rotations (Golub and Van Loan, *Matrix Computations*, 4th ed.,
section 6.5): ``qr_update`` (rank-k change), ``qr_insert`` and ``qr_delete`` (rows or columns).

Every update is a sequence of plane rotations ``G`` applied to rows of ``R`` (``R <- G R``) and,
conjugate-transposed, to columns of ``Q`` (``Q <- Q G^H``), so ``Q R`` is preserved:

- rank-1 ``A + u v^H``: ``w = Q^H u``; rotations from the bottom reduce ``w`` to a multiple of
  ``e_1`` (``R`` becomes upper Hessenberg), ``R[0] += w[0] v^H``, and rotations from the top
  restore the triangle;
- insert a row: the row on top of ``R`` (Hessenberg), ``Q`` bordered by a unit row, rotations
  from the top, then the new row of ``Q`` moved to place ``k``;
- insert a column: ``Q^H u`` placed in ``R`` as column ``k``, zeroed below the diagonal from the
  bottom;
- delete a row: that row moved to the top of ``Q``, rotations from the bottom reduce it to
  ``e_1^T``, then the first row and column of ``Q`` and the first row of ``R`` are dropped;
- delete columns: the columns dropped from ``R`` and the subdiagonals zeroed left to right.

An economic ``Q`` (``M x N``) is first bordered by the unit vector along the part of the new data
outside its range (any unit vector orthogonal to ``Q`` when there is none), for ``qr_update`` and
``qr_insert``.
"""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact

__all__ = ["qr_update", "qr_insert", "qr_delete"]


def _givens(a: Array, b: Array) -> tuple[Array, Array]:
    """``c`` (real) and ``s`` with ``[[c, s], [-conj(s), c]] @ [a, b] = [r, 0]``."""
    na, nb = jnp.abs(a), jnp.abs(b)
    nrm = jnp.hypot(na, nb)
    safe = jnp.where(nrm > 0, nrm, 1)
    phase = jnp.where(na > 0, a / jnp.where(na > 0, na, 1), 1)
    c = jnp.where(nrm > 0, na / safe, 1)
    s = jnp.where(nrm > 0, phase * jnp.conj(b) / safe, 0)
    return c.astype(a.dtype), s.astype(a.dtype)


def _rotate(q: Array, r: Array, i: Any, c: Array, s: Array) -> tuple[Array, Array]:
    """Rows ``i, i+1`` of ``r`` by ``G``; columns ``i, i+1`` of ``q`` by ``G^H``."""
    ri, rj = r[i], r[i + 1]
    r = r.at[i].set(c * ri + s * rj).at[i + 1].set(-jnp.conj(s) * ri + c * rj)
    qi, qj = q[:, i], q[:, i + 1]
    q = q.at[:, i].set(c * qi + jnp.conj(s) * qj).at[:, i + 1].set(-s * qi + c * qj)
    return q, r


def _retriangulate(q: Array, r: Array, start: Any) -> tuple[Array, Array]:
    """Zero the first subdiagonal of an upper Hessenberg ``r`` from column ``start`` on."""
    def body(j, qr):
        q, r = qr
        c, s = _givens(r[j, j], r[j + 1, j])
        return _rotate(q, r, j, c, s)

    return jax.lax.fori_loop(start, min(r.shape[0] - 1, r.shape[1]), body, (q, r))


def _zero_column_below(q: Array, r: Array, col: Any) -> tuple[Array, Array]:
    """Zero ``r[col+1:, col]`` by rotations from the bottom."""
    k = r.shape[0]

    def body(t, qr):
        q, r = qr
        i = k - 1 - t
        c, s = _givens(r[i - 1, col], r[i, col])
        active = i > col  # static trip count (reverse-mode differentiable); rotations above `col` are skipped
        c, s = jnp.where(active, c, 1).astype(r.dtype), jnp.where(active, s, 0).astype(r.dtype)
        return _rotate(q, r, i - 1, c, s)

    return jax.lax.fori_loop(0, k - 1, body, (q, r))


@jax.jit
def _rank1(q: Array, r: Array, w: Array, v: Array) -> tuple[Array, Array]:
    r = jnp.concatenate([w[:, None], r], axis=1)  # w rides along as column 0
    q, r = _zero_column_below(q, r, 0)
    r = r[:, 1:].at[0].add(r[0, 0] * jnp.conj(v))
    return _retriangulate(q, r, 0)


def _border(q: Array, u: Array) -> tuple[Array, Array, Array]:
    """``[Q, p]`` with ``p`` the unit vector along ``u - Q Q^H u`` (zero if there is none), and the
    coordinates ``[Q^H u, ||u - Q Q^H u||]``."""
    w = jnp.conj(q.T) @ u
    rest = u - q @ w
    rest = rest - q @ (jnp.conj(q.T) @ rest)  # reorthogonalise once
    nr = jnp.linalg.norm(rest)
    tiny = jnp.sqrt(jnp.finfo(q.dtype).eps) * (1 + jnp.linalg.norm(u))
    # u (nearly) in range(Q): complete Q by the largest column of I - Q Q^H instead
    comp = jnp.eye(q.shape[0], dtype=q.dtype) - q @ jnp.conj(q.T)
    spare = comp[:, jnp.argmax(jnp.linalg.norm(comp, axis=0))]
    spare = spare - q @ (jnp.conj(q.T) @ spare)
    p = jnp.where(nr > tiny, rest / jnp.where(nr > 0, nr, 1), spare / jnp.linalg.norm(spare))
    return jnp.concatenate([q, p[:, None]], axis=1), w, jnp.conj(p) @ u


@jax.jit
def _update(q: Array, r: Array, u: Array, v: Array) -> tuple[Array, Array]:
    economic = q.shape[1] < q.shape[0]
    for i in range(u.shape[1]):
        if economic:
            qb, w, nr = _border(q, u[:, i])
            rb = jnp.concatenate([r, jnp.zeros((1, r.shape[1]), r.dtype)])
            qb, rb = _rank1(qb, rb, jnp.append(w, nr), v[:, i])
            q, r = qb[:, :-1], rb[:-1]
        else:
            q, r = _rank1(q, r, jnp.conj(q.T) @ u[:, i], v[:, i])
    return q, r


def _operands(named: list[tuple[str, ArrayLike]], check_finite: bool) -> list[Array]:
    arrays = [jnp.asarray(x) for _, x in named]
    dtype = inexact(*arrays)
    arrays = [x.astype(dtype) for x in arrays]
    for (name, _), x in zip(named, arrays, strict=True):
        check_finite_arg(name, x, check_finite)
    return arrays


def _check_qr(q: Array, r: Array) -> tuple[int, int, bool]:
    if q.ndim != 2 or r.ndim != 2:
        raise ValueError(f"`Q` and `R` must be 2-D, got shapes {q.shape} and {r.shape}")
    m, n = q.shape[0], r.shape[1]
    if q.shape[1] != r.shape[0]:
        raise ValueError(f"`Q` ({q.shape}) and `R` ({r.shape}) do not multiply")
    full = q.shape == (m, m)
    if not full and not (q.shape == (m, n) and r.shape == (n, n) and m > n):
        raise ValueError(f"`Q` must be (M, M) or, economic, (M, N) with `R` (N, N); got {q.shape} and {r.shape}")
    return m, n, full


def qr_update(Q: ArrayLike, R: ArrayLike, u: ArrayLike, v: ArrayLike, overwrite_qruv: bool = False,
              check_finite: bool = True) -> tuple[Array, Array]:
    """QR factorisation of ``A + u v^T`` (``u v^H`` if complex) from that of ``A``; mirrors
    :func:`scipy.linalg.qr_update`.

    Parameters
    ----------
    Q : array, shape (M, M) or (M, N)
        Full or economic ``Q`` of ``A``.
    R : array, shape (M, N) or (N, N)
    u : array, shape (M,) or (M, k)
    v : array, shape (N,) or (N, k)
        A rank-k update is ``k`` rank-1 updates.
    overwrite_qruv : ignored
    check_finite : bool
        Raise ``ValueError`` if concrete inputs hold inf or NaN.

    Returns
    -------
    Q1, R1 : arrays of the shapes of ``Q`` and ``R``

    Differences from SciPy
    ----------------------
    ``Q1`` columns and ``R1`` rows may differ from SciPy's by signs (``Q1 R1`` agrees). Runs under
    jit/vmap and is differentiable (rotations are smooth away from zero pivots).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import qr, qr_update
    >>> a = jnp.array([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])
    >>> q, r = qr(a)
    >>> q1, r1 = qr_update(q, r, jnp.array([1.0, 0.0, 1.0]), jnp.array([0.0, 1.0]))
    >>> bool(jnp.allclose(q1 @ r1, a + jnp.outer(jnp.array([1.0, 0.0, 1.0]), jnp.array([0.0, 1.0]))))
    True
    """
    q, r, u, v = _operands([("Q", Q), ("R", R), ("u", u), ("v", v)], check_finite)
    m, n, _ = _check_qr(q, r)
    if u.ndim != v.ndim or u.ndim not in (1, 2):
        raise ValueError(f"`u` and `v` must both be 1-D or both 2-D, got shapes {u.shape} and {v.shape}")
    u2, v2 = (u[:, None], v[:, None]) if u.ndim == 1 else (u, v)
    if u2.shape[0] != m or v2.shape[0] != n or u2.shape[1] != v2.shape[1]:
        raise ValueError(f"`u` must be ({m},) or ({m}, k) and `v` ({n},) or ({n}, k); got {u.shape} and {v.shape}")
    return _update(q, r, u2, v2)


@jax.jit
def _insert_rows(q: Array, r: Array, u: Array, k: Array) -> tuple[Array, Array]:
    n = r.shape[1]
    economic = q.shape[1] < q.shape[0]
    for i in range(u.shape[0]):
        m = q.shape[0]
        qb = jnp.zeros((m + 1, q.shape[1] + 1), q.dtype).at[0, 0].set(1).at[1:, 1:].set(q)
        rb = jnp.concatenate([u[i][None, :], r])
        qb, rb = _retriangulate(qb, rb, 0)
        rows = jnp.arange(m + 1)
        order = jnp.where(rows < k + i, rows + 1, jnp.where(rows == k + i, 0, rows))  # row 0 to k + i
        q, r = qb[order], rb
        if economic:
            q, r = q[:, :n], r[:n]
    return q, r


@jax.jit
def _insert_cols(q: Array, r: Array, u: Array, k: Array) -> tuple[Array, Array]:
    economic = q.shape[1] < q.shape[0]
    for i in range(u.shape[1]):
        if economic:
            q, w, nr = _border(q, u[:, i])
            w = jnp.append(w, nr)
            r = jnp.concatenate([r, jnp.zeros((1, r.shape[1]), r.dtype)])
        else:
            w = jnp.conj(q.T) @ u[:, i]
        cols = jnp.arange(r.shape[1] + 1)
        src = jnp.where(cols < k + i, cols, cols - 1)
        r = jnp.where(cols[None, :] == k + i, w[:, None], r[:, jnp.clip(src, 0, r.shape[1] - 1)])
        q, r = _zero_column_below(q, r, k + i)
    return q, r


def qr_insert(Q: ArrayLike, R: ArrayLike, u: ArrayLike, k: int, which: str = "row", rcond: float | None = None,
              overwrite_qru: bool = False, check_finite: bool = True) -> tuple[Array, Array]:
    """QR factorisation of ``A`` with rows or columns inserted before row/column ``k``; mirrors
    :func:`scipy.linalg.qr_insert`.

    Parameters
    ----------
    Q : array, shape (M, M) or (M, N)
    R : array, shape (M, N) or (N, N)
    u : array
        ``which='row'``: shape (N,) or (p, N); ``which='col'``: shape (M,) or (M, p).
    k : int
        Index before which ``u`` is inserted (``0 <= k <= M`` for rows, ``<= N`` for columns).
    which : {'row', 'col'}
    rcond : float, optional
        Ignored (see below).
    overwrite_qru : ignored
    check_finite : bool

    Returns
    -------
    Q1, R1 : arrays

    Differences from SciPy
    ----------------------
    ``rcond`` is not used: for an economic ``Q`` and a column ``u`` (nearly) in its range ``Q`` is
    completed by any orthonormal vector and ``R1`` gets a (nearly) zero diagonal entry, where SciPy
    may raise ``LinAlgError``. Signs of ``Q1`` columns / ``R1`` rows may differ from SciPy's. Runs under jit
    (``k`` may be traced); differentiable.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import qr, qr_insert
    >>> a = jnp.array([[2.0, 1.0], [1.0, 3.0]])
    >>> q1, r1 = qr_insert(*qr(a), jnp.array([5.0, 6.0]), 1)
    >>> q1 @ r1
    array([[2., 1.],
           [5., 6.],
           [1., 3.]])
    """
    if which not in ("row", "col"):
        raise ValueError(f"`which` must be either 'row' or 'col', got {which!r}")
    del rcond, overwrite_qru
    q, r, u = _operands([("Q", Q), ("R", R), ("u", u)], check_finite)
    m, n, _ = _check_qr(q, r)
    limit = m if which == "row" else n
    if isinstance(k, (int, np.integer)) and not 0 <= int(k) <= limit:
        raise ValueError(f"`k` is out of bounds: {k} not in [0, {limit}]")
    if which == "row":
        u2 = u[None, :] if u.ndim == 1 else u
        if u2.ndim != 2 or u2.shape[1] != n:
            raise ValueError(f"`u` should be either ({n},) or (p, {n}) when inserting rows, got {u.shape}")
        return _insert_rows(q, r, u2, jnp.asarray(k))
    u2 = u[:, None] if u.ndim == 1 else u
    if u2.ndim != 2 or u2.shape[0] != m:
        raise ValueError(f"`u` should be either ({m},) or ({m}, p) when inserting columns, got {u.shape}")
    return _insert_cols(q, r, u2, jnp.asarray(k))


@jax.jit
def _delete_row(q: Array, r: Array, k: Array) -> tuple[Array, Array]:
    m = q.shape[0]
    rows = jnp.arange(m)
    order = jnp.where(rows == 0, k, jnp.where(rows <= k, rows - 1, rows))  # row k to the top
    q = q[order]

    def body(t, qr):
        q, r = qr
        i = m - 1 - t
        c, s = _givens(jnp.conj(q[0, i - 1]), jnp.conj(q[0, i]))
        return _rotate(q, r, i - 1, c, s)

    q, r = jax.lax.fori_loop(0, m - 1, body, (q, r))
    return q[1:, 1:], r[1:]


@partial(jax.jit, static_argnums=(3, 4))
def _delete_cols(q: Array, r: Array, keep: Array, k: int, p: int) -> tuple[Array, Array]:
    r = r[:, keep]
    rows, cols = r.shape

    def column(j, qr):
        for d in range(p, 0, -1):  # zero r[j + d, j] from the bottom
            q, r = qr
            i = jnp.minimum(j + d, rows - 1)
            c, s = _givens(r[i - 1, j], r[i, j])
            ok = (j + d <= rows - 1) & (i - 1 >= j)
            c, s = jnp.where(ok, c, 1).astype(r.dtype), jnp.where(ok, s, 0).astype(r.dtype)
            qr = _rotate(q, r, i - 1, c, s)
        return qr

    return jax.lax.fori_loop(k, min(cols, rows - 1), column, (q, r))


def qr_delete(Q: ArrayLike, R: ArrayLike, k: int, p: int = 1, which: str = "row", overwrite_qr: bool = False,
              check_finite: bool = True) -> tuple[Array, Array]:
    """QR factorisation of ``A`` with ``p`` rows or columns deleted from index ``k``; mirrors
    :func:`scipy.linalg.qr_delete`.

    Parameters
    ----------
    Q : array, shape (M, M) or (M, N)
    R : array, shape (M, N) or (N, N)
    k : int
        First deleted row/column.
    p : int
        How many to delete.
    which : {'row', 'col'}
    overwrite_qr : ignored
    check_finite : bool

    Returns
    -------
    Q1, R1 : arrays

    Differences from SciPy
    ----------------------
    Deleting rows needs the full ``Q`` (``M x M``); an economic ``Q`` raises ``ValueError``
    (SciPy supports it). Signs may differ from SciPy's. ``k`` must be a Python int; ``p`` is static.
    Runs under jit/vmap; differentiable.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import qr, qr_delete
    >>> a = jnp.array([[2.0, 1.0], [5.0, 6.0], [1.0, 3.0]])
    >>> q1, r1 = qr_delete(*qr(a), 1)
    >>> q1 @ r1
    array([[2., 1.],
           [1., 3.]])
    """
    if which not in ("row", "col"):
        raise ValueError(f"`which` must be either 'row' or 'col', got {which!r}")
    q, r = _operands([("Q", Q), ("R", R)], check_finite)
    m, n, full = _check_qr(q, r)
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"`p` must be a positive integer, got {p!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"`k` must be a Python integer, got {k!r}")
    k, p = int(k), int(p)
    limit = m if which == "row" else n
    if not 0 <= k or k + p > limit:
        raise ValueError(f"`k` is out of bounds: rows/columns {k}..{k}+{p} of {limit}")
    if which == "row":
        if not full:
            raise ValueError("`Q`: deleting rows needs the full (M, M) Q; economic Q is not supported")
        for _ in range(p):
            q, r = _delete_row(q, r, jnp.asarray(k))
        return q, r
    keep = jnp.asarray([j for j in range(n) if not k <= j < k + p])
    q, r = _delete_cols(q, r, keep, k, p)
    if not full:
        q, r = q[:, :n - p], r[:n - p]
    return q, r
