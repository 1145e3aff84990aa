"""Preconditioners for the Krylov solvers: Jacobi and a Chebyshev polynomial.

Both return a :class:`LinearOperator` to pass as ``M``. SciPy has no such helpers (it leaves ``M``
to the user, or offers ``spilu``); incomplete factorisations are sequential and do not suit JAX, so
the stronger preconditioner here is a polynomial in ``A``, which costs only matvecs.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

from ..._typing import Array
from ._operator import LinearOperator, aslinearoperator

__all__ = ["jacobi_preconditioner", "chebyshev_preconditioner"]


def _diagonal(A: Any) -> Array:
    if sp.issparse(A):
        return jnp.asarray(A.diagonal())
    if isinstance(A, jsparse.BCSR):
        A = A.to_bcoo()
    if isinstance(A, jsparse.BCOO):
        rows, cols = A.indices[:, 0], A.indices[:, 1]
        on_diag = jnp.where(rows == cols, A.data, 0)
        return jnp.zeros(min(A.shape), A.dtype).at[rows].add(jnp.where(rows < min(A.shape), on_diag, 0))
    if isinstance(A, LinearOperator) or callable(A):
        raise TypeError("`A`: the Jacobi preconditioner needs the diagonal of the matrix; for a "
                        "matrix-free operator pass the diagonal itself as a 1-D array")
    a = jnp.asarray(A)
    if a.ndim == 1:
        return a
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"`A` must be a square matrix or a 1-D diagonal, got shape {a.shape}")
    return jnp.diagonal(a)


class _Scale(eqx.Module):
    d: Array

    def __call__(self, x: Array) -> Array:
        return self.d * x


def jacobi_preconditioner(A: Any) -> LinearOperator:
    """The Jacobi (diagonal) preconditioner ``M = diag(A)^{-1}``.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, or 1-D array
        The matrix, or its diagonal.

    Returns
    -------
    LinearOperator
        Applies ``x / diag(A)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cg, jacobi_preconditioner
    >>> A = jnp.array([[10.0, 1.0], [1.0, 0.2]])
    >>> x, info = cg(A, jnp.ones(2), M=jacobi_preconditioner(A))
    >>> int(info)
    0
    """
    d = _diagonal(A)
    if not jnp.issubdtype(d.dtype, jnp.inexact):
        d = d.astype(jnp.result_type(float))
    inv = 1.0 / d
    n = d.shape[0]
    return LinearOperator((n, n), _Scale(inv), _Scale(jnp.conj(inv)), dtype=inv.dtype)


def _largest_eigenvalue(op: LinearOperator, iters: int = 30) -> Array:
    """Power iteration for the largest eigenvalue of a Hermitian positive definite operator."""
    n = op.shape[0]
    v = jnp.cos(jnp.arange(1, n + 1, dtype=jnp.finfo(op.dtype).dtype) * 0.7).astype(op.dtype) + 1.0
    v = v / jnp.linalg.norm(v)

    def body(_, carry):
        v, _ = carry
        w = op.matvec(v)
        lam = jnp.real(jnp.vdot(v, w))
        return w / jnp.linalg.norm(w), lam

    _, lam = jax.lax.fori_loop(0, iters, body, (v, jnp.zeros((), jnp.finfo(op.dtype).dtype)))
    return lam


class _Chebyshev(eqx.Module):
    op: LinearOperator
    lmin: Array
    lmax: Array
    degree: int = eqx.field(static=True)

    def __call__(self, r: Array) -> Array:
        # Chebyshev iteration for A z = r from z = 0 (Saad, Iterative Methods, Alg. 12.1).
        theta = (self.lmax + self.lmin) / 2
        delta = (self.lmax - self.lmin) / 2
        sigma = theta / delta
        rho = 1 / sigma
        d = r / theta
        z, res = jnp.zeros_like(r), r
        for _ in range(self.degree):
            z = z + d
            res = res - self.op.matvec(d)
            rho_new = 1 / (2 * sigma - rho)
            d = rho_new * rho * d + (2 * rho_new / delta) * res
            rho = rho_new
        return z


def chebyshev_preconditioner(
    A: Any, degree: int = 8, lmin: Any = None, lmax: Any = None, ratio: float = 30.0
) -> LinearOperator:
    """A Chebyshev polynomial preconditioner ``M = p(A) ~ inv(A)`` for Hermitian positive definite ``A``.

    ``p`` is the polynomial of the Chebyshev iteration on ``[lmin, lmax]``; it is positive on that
    interval, so ``M`` is Hermitian positive definite and can precondition :func:`cg` and
    :func:`minres`. Applying ``M`` costs ``degree`` matvecs with ``A``.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        The matrix or operator.
    degree : int
        Number of Chebyshev steps (polynomial degree + 1).
    lmin, lmax : float, optional
        Spectral interval. ``lmax`` defaults to 1.1 times a 30-step power-iteration estimate;
        ``lmin`` to ``lmax / ratio`` (the polynomial then damps the upper part of the spectrum,
        which is what hurts CG on discretised elliptic operators).
    ratio : float
        ``lmax / lmin`` when ``lmin`` is not given.

    Returns
    -------
    LinearOperator

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cg, chebyshev_preconditioner
    >>> n = 50
    >>> A = 2 * jnp.eye(n) - jnp.eye(n, k=1) - jnp.eye(n, k=-1)
    >>> x, info = cg(A, jnp.ones(n), M=chebyshev_preconditioner(A))
    >>> int(info)
    0
    """
    if not isinstance(degree, int | np.integer) or degree < 1:
        raise ValueError(f"`degree` must be a positive integer, got {degree!r}")
    op = aslinearoperator(A)
    if op.shape[0] != op.shape[1]:
        raise ValueError(f"`A` must be square, got shape {op.shape}")
    real = jnp.finfo(op.dtype).dtype
    lmax = 1.1 * _largest_eigenvalue(op) if lmax is None else jnp.asarray(lmax, real)
    lmin = lmax / ratio if lmin is None else jnp.asarray(lmin, real)
    apply = _Chebyshev(op, jnp.asarray(lmin, real), jnp.asarray(lmax, real), int(degree))
    return LinearOperator(op.shape, apply, apply, dtype=op.dtype)
