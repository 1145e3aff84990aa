"""``ldl``: the symmetric indefinite factorisation ``A = lu @ d @ lu^T`` (or ``^H``) with
Bunch-Kaufman pivoting.

The unblocked Bunch-Kaufman algorithm (Bunch and Kaufman 1977; Golub and Van Loan, *Matrix
Computations*, 4th ed., section 4.4.4) runs in a ``lax.while_loop`` that takes a 1x1 or a 2x2
pivot per step. The working matrix stays ``n x n``: columns left of the current step hold the
computed multipliers, the trailing block holds the Schur complement, and symmetric row/column
swaps act on whole rows, so every step is a fixed-shape masked update (O(n^2); O(n^3) in all).
The upper factorisation is the lower one of the matrix with its rows and columns reversed.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, square

__all__ = ["ldl"]

_ALPHA = (1 + np.sqrt(17.0)) / 8  # Bunch-Kaufman's growth-minimising threshold


def _swap(w: Array, i: Array, j: Array) -> Array:
    """Symmetric swap of rows and columns ``i`` and ``j``."""
    idx = jnp.arange(w.shape[0])
    p = jnp.where(idx == i, j, jnp.where(idx == j, i, idx))
    return w[p][:, p]


def _bunch_kaufman_lower(a: Array, hermitian: bool) -> tuple[Array, Array, Array]:
    n = a.shape[0]
    if n < 2:  # no 2x2 pivot fits; d = a
        return jnp.eye(n, dtype=a.dtype), a, jnp.arange(n)
    cj = jnp.conj if hermitian else (lambda x: x)
    idx = jnp.arange(n)

    # LAPACK's pivot test measures complex entries by |re| + |im| (and a Hermitian diagonal by |re|)
    size = (lambda x: jnp.abs(x.real) + jnp.abs(x.imag)) if jnp.iscomplexobj(a) else jnp.abs
    size_diag = (lambda x: jnp.abs(x.real)) if hermitian else size

    def choose(w, k):
        col = jnp.where(idx > k, size(w[:, k]), 0)
        colmax, imax = jnp.max(col), jnp.argmax(col)
        absakk = size_diag(w[k, k])
        row = jnp.where((idx >= k) & (idx != imax), size(w[imax]), 0)
        rowmax = jnp.max(row)
        one_here = (absakk >= _ALPHA * colmax) | (absakk * rowmax >= _ALPHA * colmax ** 2)
        one_there = size_diag(w[imax, imax]) >= _ALPHA * rowmax
        trivial = jnp.maximum(absakk, colmax) == 0
        kp = jnp.where(one_here | trivial, k, imax)
        step = jnp.where(one_here | trivial | one_there, 1, 2)
        step = jnp.where(k == n - 1, 1, step)
        return kp, step

    def body(state):
        w, d, order, k = state
        kp, step = choose(w, k)
        kk = k + step - 1
        w = _swap(w, kk, kp)
        order = order.at[kk].set(order[kp]).at[kp].set(order[kk])
        below1, below2 = idx > k, idx > k + 1

        def one(w, d):
            piv = w[k, k]
            piv_safe = jnp.where(piv == 0, 1, piv)
            mult = jnp.where(below1, w[:, k] / piv_safe, 0)
            upd = piv * jnp.outer(mult, cj(mult))
            mask = below1[:, None] & below1[None, :]
            w = jnp.where(mask, w - upd, w)
            w = w.at[:, k].set(jnp.where(below1, mult, w[:, k]))
            d = d.at[k, k].set(piv)
            return w, d

        def two(w, d):
            blk = jax.lax.dynamic_slice(w, (k, k), (2, 2))
            cols = jnp.where(below2[:, None], jax.lax.dynamic_slice(w, (0, k), (n, 2)), 0)
            mult = jnp.linalg.solve(blk.T, cols.T).T  # cols @ blk^{-1}
            upd = mult @ blk @ cj(mult).T
            mask = below2[:, None] & below2[None, :]
            w = jnp.where(mask, w - upd, w)
            old = jax.lax.dynamic_slice(w, (0, k), (n, 2))
            w = jax.lax.dynamic_update_slice(w, jnp.where(below2[:, None], mult, old), (0, k))
            d = jax.lax.dynamic_update_slice(d, blk, (k, k))
            return w, d

        w, d = jax.lax.cond(step == 1, one, two, w, d)
        return w, d, order, k + step

    init = (a, jnp.zeros_like(a), jnp.arange(n), jnp.array(0))
    w, d, order, _ = jax.lax.while_loop(lambda s: s[3] < n, body, init)
    lower = jnp.tril(w, -1) + jnp.eye(n, dtype=a.dtype)
    # multipliers of a 2x2 step sit below the block; the block's own sub-diagonal entry is in d
    blocks = jnp.abs(jnp.diagonal(d, -1)) > 0
    lower = lower.at[idx[1:], idx[:-1]].set(jnp.where(blocks, 0, jnp.diagonal(lower, -1)))
    inv = jnp.argsort(order)
    return lower[inv], d, order


def ldl(A: ArrayLike, lower: bool = True, hermitian: bool = True, overwrite_a: bool = False,
        check_finite: bool = True) -> tuple[Array, Array, Array]:
    """Symmetric/Hermitian indefinite factorisation ``A = lu @ d @ lu^H``; mirrors
    :func:`scipy.linalg.ldl`.

    Parameters
    ----------
    A : array, shape (N, N)
        Symmetric or Hermitian matrix; only the ``lower`` (else upper) triangle is read.
    lower : bool
        Factor as ``L D L^H`` (else ``U D U^H``).
    hermitian : bool
        For complex ``A``: Hermitian (``^H``) or complex symmetric (``^T``) factorisation.
    overwrite_a : ignored
    check_finite : bool
        Raise ``ValueError`` if a concrete ``A`` holds inf or NaN.

    Returns
    -------
    lu : array, shape (N, N)
        The (row-permuted) unit triangular factor.
    d : array, shape (N, N)
        Block diagonal with 1x1 and 2x2 blocks.
    perm : int array, shape (N,)
        Row order that makes ``lu[perm]`` triangular.

    Differences from SciPy
    ----------------------
    - The unblocked Bunch-Kaufman algorithm with LAPACK's pivot test, in a ``lax.while_loop``
      (SciPy calls LAPACK ``?sytrf``/``?hetrf``). On the tested matrices ``lu``, ``d`` and
      ``perm`` equal SciPy's; where rounding tips a pivot choice the other way they may differ,
      while ``lu @ d @ lu^H`` still reproduces ``A`` and ``d`` has the same inertia.
    - Forward-mode differentiable only (the pivoting loop is a ``while_loop``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import ldl
    >>> a = jnp.array([[2.0, -1.0, 3.0], [-1.0, 2.0, 0.0], [3.0, 0.0, 1.0]])
    >>> lu, d, perm = ldl(a)
    >>> bool(jnp.allclose(lu @ d @ lu.T, a)), bool(jnp.allclose(jnp.triu(lu[perm], 1), 0))
    (True, True)
    """
    A = square("A", A, ndim=2)
    A = A.astype(inexact(A))
    check_finite_arg("A", A, check_finite)
    herm = hermitian and jnp.iscomplexobj(A)
    cj = jnp.conj if herm else (lambda x: x)
    tri = jnp.tril(A) if lower else jnp.triu(A)
    strict = jnp.tril(A, -1) if lower else jnp.triu(A, 1)
    full = tri + cj(strict).T
    if herm:
        full = full - 1j * jnp.diag(jnp.diagonal(full).imag)
    return _ldl_jit(full, lower, herm)


@partial(jax.jit, static_argnums=(1, 2))
def _ldl_jit(full: Array, lower: bool, herm: bool) -> tuple[Array, Array, Array]:
    if lower:
        return _bunch_kaufman_lower(full, herm)
    n = full.shape[0]
    rev = jnp.arange(n)[::-1]
    lu, d, order = _bunch_kaufman_lower(full[rev][:, rev], herm)
    # J A J = P L D L^H P^T  =>  A = (J P L J)(J D J)(J P L J)^H
    return lu[rev][:, rev], d[rev][:, rev], (n - 1 - order)[::-1]
