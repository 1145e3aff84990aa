"""Small decompositions and transforms of :mod:`scipy.linalg`: ``rq``, ``cdf2rdf`` and
``matrix_balance``.

- ``rq`` runs a QR factorisation of the row-reversed transpose: if ``(P A)^T = Q1 R1`` with ``P``
  the exchange matrix, then ``A = (P R1^T P)(P Q1^T)`` and ``P R1^T P`` is upper triangular.
- ``matrix_balance`` follows LAPACK's ``gebal``: permutations isolating eigenvalues (host side),
  then the Parlett-Reinsch diagonal scaling by powers of two of the remaining block, swept in a
  ``lax.while_loop`` until no row/column pair changes.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, is_concrete, square

__all__ = ["rq", "cdf2rdf", "matrix_balance"]


def rq(a: ArrayLike, overwrite_a: bool = False, lwork: Any = None, mode: str = "full",
       check_finite: bool = True) -> Array | tuple[Array, Array]:
    """RQ decomposition ``A = R Q``; mirrors :func:`scipy.linalg.rq`.

    Parameters
    ----------
    a : array, shape (..., M, N)
    overwrite_a, lwork : ignored
    mode : {'full', 'r', 'economic'}
        ``'full'``: ``R`` (M, N) and ``Q`` (N, N); ``'r'``: only ``R``; ``'economic'``: ``R`` (M, K)
        and ``Q`` (K, N) with ``K = min(M, N)``.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.

    Returns
    -------
    R : array
        Upper trapezoidal (the triangle sits in the last columns when ``M < N``).
    Q : array
        Orthogonal (unitary) rows; not returned for ``mode='r'``.

    Differences from SciPy
    ----------------------
    Built on ``jnp.linalg.qr`` of the reversed transpose (SciPy calls LAPACK ``gerqf``), so rows of
    ``Q`` and columns of ``R`` may differ from SciPy's by a sign (``R Q`` is the same). Batched over
    leading axes and differentiable wherever ``jnp.linalg.qr`` is.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import rq
    >>> a = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    >>> r, q = rq(a)
    >>> bool(jnp.allclose(r @ q, a)), float(r[1, 0])
    (True, 0.0)
    """
    if mode not in ("full", "r", "economic"):
        raise ValueError(f"`mode` argument must be one of ['full', 'r', 'economic'], got {mode!r}")
    a = jnp.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"`a` must be at least 2-D, got shape {a.shape}")
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    flipped = jnp.swapaxes(a[..., ::-1, :], -1, -2)  # (P A)^T, shape (..., N, M)
    q1, r1 = jnp.linalg.qr(flipped, mode="reduced" if mode == "economic" else "complete")
    r = jnp.swapaxes(r1, -1, -2)[..., ::-1, ::-1]
    if mode == "r":
        return r
    return r, jnp.swapaxes(q1, -1, -2)[..., ::-1, :]


def _pair_starts(w: Array) -> Array:
    """True at the first entry of each adjacent complex-conjugate pair."""
    def step(prev_started, wi):
        start = (wi.imag != 0) & ~prev_started
        return start, start

    return jax.lax.scan(step, jnp.zeros((), bool), w)[1]


@jax.jit
def _cdf2rdf(w: Array, v: Array) -> tuple[Array, Array]:
    starts = jax.vmap(_pair_starts)(w.reshape(-1, w.shape[-1])).reshape(w.shape)
    seconds = jnp.concatenate([jnp.zeros_like(starts[..., :1]), starts[..., :-1]], axis=-1)
    im = jnp.where(starts, w.imag, 0)[..., :-1]
    wr = jax.vmap(jnp.diag)(w.real.reshape(-1, w.shape[-1])).reshape(v.shape)
    wr = wr + jax.vmap(lambda x: jnp.diag(x, 1) - jnp.diag(x, -1))(im.reshape(-1, im.shape[-1])).reshape(v.shape)
    prev = jnp.concatenate([v[..., :, :1], v[..., :, :-1]], axis=-1)  # column i-1 next to column i
    vr = jnp.where(starts[..., None, :], -v.imag, jnp.where(seconds[..., None, :], prev.real, v.real))
    return wr, vr


def cdf2rdf(w: ArrayLike, v: ArrayLike) -> tuple[Array, Array]:
    """Complex diagonal form to real block-diagonal form; mirrors :func:`scipy.linalg.cdf2rdf`.

    Each adjacent pair ``a +- ib`` of ``w`` becomes the block ``[[a, b], [-b, a]]`` of ``wr``, and its
    eigenvector ``x + iy`` the columns ``-y, x`` of ``vr``, so that ``A vr = vr wr``.

    Parameters
    ----------
    w : array, shape (..., M)
        Eigenvalues, complex-conjugate pairs adjacent (as ``eig`` of a real matrix returns them).
    v : array, shape (..., M, M)
        Eigenvectors as columns.

    Returns
    -------
    wr : array, shape (..., M, M)
    vr : array, shape (..., M, M)

    Differences from SciPy
    ----------------------
    The pairing checks (``w`` holds conjugate pairs, ``v`` their conjugate vectors) run only on
    concrete inputs; traced, an unpaired complex entry is treated as the first of a pair.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cdf2rdf
    >>> wr, vr = cdf2rdf(jnp.array([1 + 2j, 1 - 2j]), jnp.array([[1j, -1j], [1, 1]]) / 2**0.5)
    >>> wr
    array([[ 1.,  2.],
           [-2.,  1.]])
    """
    w, v = jnp.asarray(w), jnp.asarray(v)
    if w.ndim < 1:
        raise ValueError(f"expected `w` to be at least 1-D, got shape {w.shape}")
    if v.ndim < 2 or v.shape[-1] != v.shape[-2]:
        raise ValueError(f"expected `v` to be a square matrix (at least 2-D), got shape {v.shape}")
    if v.shape[-1] != w.shape[-1] or v.shape[:-2] != w.shape[:-1]:
        raise ValueError(f"expected `v` of shape {w.shape[:-1] + (w.shape[-1],) * 2} to match `w`, got {v.shape}")
    dtype = jnp.result_type(w, v, jnp.complex64)
    w, v = w.astype(dtype), v.astype(dtype)
    if is_concrete(w, v):
        wn, vn = np.asarray(w).reshape(-1, w.shape[-1]), np.asarray(v).reshape(-1, *v.shape[-2:])
        starts = np.asarray(jax.vmap(_pair_starts)(jnp.asarray(wn)))
        for row, vrow, st in zip(wn, vn, starts, strict=True):
            idx = np.nonzero(st)[0]
            if idx.size and (idx[-1] + 1 >= row.size or np.any(row[idx + 1] != row[idx].conj())):
                raise ValueError("expected complex-conjugate pairs in `w` to be adjacent")
            if idx.size and np.any(vrow[:, idx + 1] != vrow[:, idx].conj()):
                raise ValueError("expected the columns of `v` for conjugate eigenvalues to be conjugate")
    return _cdf2rdf(w, v)


def _balance_pair(c: Array, r: Array) -> Array:
    """The power of two ``f`` that balances column norm ``c`` and row norm ``r`` (``gebal``'s rule)."""
    def up(s):
        f, c, r = s
        return f * 2, c * 2, r / 2

    def down(s):
        f, c, r = s
        return f / 2, c / 2, r * 2

    one = jnp.ones_like(c)
    f, c1, r1 = jax.lax.while_loop(lambda s: (s[1] < s[2] / 2) & (s[0] < 2.0**100), up, (one, c, r))
    f, c1, r1 = jax.lax.while_loop(lambda s: (s[1] / 2 >= s[2]) & (s[0] > 2.0**-100), down, (f, c1, r1))
    keep = (c == 0) | (r == 0) | (c1 + r1 >= 0.95 * (c + r))
    return jnp.where(keep, one, f)


def _isolate(a: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The permutation half of ``gebal`` on the host: rows whose off-diagonal part (within the
    active block) is zero are swapped to the bottom, then such columns to the left; returns the
    permutation ``p`` (``B = A[p][:, p]``) and the active block ``lo..hi``."""
    a, n = a.copy(), a.shape[0]
    p = np.arange(n)

    def swap(i: int, j: int, lo: int, hi: int) -> None:
        a[:hi + 1, [i, j]] = a[:hi + 1, [j, i]]
        a[[i, j], lo:] = a[[j, i], lo:]
        p[[i, j]] = p[[j, i]]

    lo, hi, moved = 0, n - 1, True
    while moved and hi > 0:  # rows isolating an eigenvalue, to the bottom
        moved = False
        for i in range(hi, -1, -1):
            if i <= hi and hi > 0 and not np.any(np.delete(a[i, :hi + 1], i)):
                swap(i, hi, lo, hi)
                moved, hi = True, hi - 1
    moved = hi > 0
    while moved:  # columns isolating an eigenvalue, to the left
        moved = False
        for j in range(lo, hi + 1):
            if j >= lo and not np.any(np.delete(a[lo:hi + 1, j], j - lo)):
                swap(j, lo, lo, hi)
                moved, lo = True, lo + 1
    return p, lo, hi


@jax.jit
def _balance(a: Array, lo: Array, hi: Array) -> tuple[Array, Array]:
    n = a.shape[-1]
    idx = jnp.arange(n)
    active = (idx >= lo) & (idx <= hi)

    def one_index(i, state):
        b, scale, changed = state
        c = jnp.linalg.norm(jnp.where(active, b[:, i], 0))
        r = jnp.linalg.norm(jnp.where(active, b[i, :], 0))
        f = jnp.where(active[i], _balance_pair(c, r), 1)
        b = b.at[i, :].divide(f).at[:, i].multiply(f)
        return b, scale.at[i].multiply(f), changed | (f != 1)

    def sweep(state):
        b, scale, _, k = state
        b, scale, changed = jax.lax.fori_loop(0, n, one_index, (b, scale, False))
        return b, scale, changed, k + 1

    real = jnp.finfo(a.dtype).dtype
    start = (a, jnp.ones(n, real), jnp.asarray(True), 0)
    b, scale, _, _ = jax.lax.while_loop(lambda s: s[2] & (s[3] < 100), sweep, start)
    return b, scale


def matrix_balance(A: ArrayLike, permute: bool = True, scale: bool = True, separate: bool = False,
                   overwrite_a: bool = False) -> tuple[Array, Any]:
    """Balance a square matrix by a diagonal similarity; mirrors :func:`scipy.linalg.matrix_balance`.

    Returns ``B = T^-1 A T`` with ``T`` diagonal (powers of two), rows and columns of ``B`` having
    comparable 2-norms, which improves the accuracy of eigenvalue computations.

    Parameters
    ----------
    A : array, shape (..., N, N)
        Leading axes are a batch (as in SciPy 1.17).
    permute : bool
        Isolate eigenvalues by permutations first (on concrete input; see below).
    scale : bool
        If False, ``B = A`` and ``T = I``.
    separate : bool
        Return ``(scale, perm)`` vectors instead of the matrix ``T``.
    overwrite_a : ignored

    Returns
    -------
    B : array, shape (..., N, N)
    T : array, shape (..., N, N), or ``(scale, perm)`` when ``separate``
        ``B = A[perm][:, perm]`` scaled by ``scale``; ``T[perm[j], j] = scale[j]``.

    Differences from SciPy
    ----------------------
    The LAPACK ``gebal`` steps written in JAX/NumPy: the permutation step runs on the host for
    concrete input (``permute`` and the active block are then fixed); under ``jit``/``vmap`` no
    permutation is done (as ``permute=False``). The scaling (Parlett-Reinsch by powers of two, row
    and column 2-norms, the 0.95 improvement test) runs in a ``lax.while_loop``. The scaling
    factors are piecewise constant, so gradients flow through ``B = T^-1 A T`` with ``T`` fixed.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import matrix_balance
    >>> b, t = matrix_balance(jnp.array([[1.0, 100.0], [0.01, 1.0]]))
    >>> jnp.diag(t).tolist()
    [16.0, 0.25]
    """
    del overwrite_a
    a = square("A", A)
    a = a.astype(inexact(a))
    check_finite_arg("A", a, True)
    n, lead = a.shape[-1], a.shape[:-2]
    flat = a.reshape(-1, n, n)
    count = flat.shape[0]
    if permute and is_concrete(a):
        found = [_isolate(np.asarray(x)) for x in flat]
        perm = jnp.asarray(np.stack([f[0] for f in found]).reshape(count, n))
        lo = jnp.asarray([f[1] for f in found])
        hi = jnp.asarray([f[2] for f in found])
        flat = jax.vmap(lambda x, q: x[q][:, q])(flat, perm)
    else:
        perm = jnp.broadcast_to(jnp.arange(n), (count, n))
        lo, hi = jnp.zeros(count, int), jnp.full(count, n - 1)
    if scale:
        s = jax.lax.stop_gradient(jax.vmap(_balance)(flat, lo, hi)[1])
        b = flat * (s[..., None, :] / s[..., :, None]).astype(a.dtype)
    else:
        b, s = flat, jnp.ones((count, n), jnp.finfo(a.dtype).dtype)
    b, s, perm = b.reshape(a.shape), s.reshape(*lead, n), perm.reshape(*lead, n)
    if separate:
        return b, (s, perm)
    t = jax.vmap(lambda q, d: jnp.zeros((n, n), d.dtype).at[q, jnp.arange(n)].set(d))(
        perm.reshape(-1, n), s.reshape(-1, n))
    return b, t.reshape(*lead, n, n)
