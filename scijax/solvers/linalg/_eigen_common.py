"""Shared parts of ``eigsh``/``eigs``/``svds``: argument checks, operator conversion, the spectral
transformation (generalized and shift-invert problems) and the derivative rules."""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax.experimental import sparse as jsparse
from scipy.sparse.linalg import ArpackNoConvergence

from ..._concrete import is_concrete
from ..._typing import Array
from ._krylov import canonical_leaves
from ._operator import LinearOperator, _Matrix, aslinearoperator

__all__ = ["to_operator", "dense_of", "stop", "check_k_ncv", "start_vector", "Transform", "frozen",
           "eigenvalue_surrogate", "no_convergence", "iteration_args", "left_weighted"]


def to_operator(A: Any, name: str) -> LinearOperator:
    """``A`` (dense, ``scipy.sparse``, BCOO/BCSR, ``LinearOperator``) as a square operator."""
    try:
        op = aslinearoperator(A)
    except (TypeError, ValueError) as err:
        raise type(err)(f"`{name}`: {err}") from None
    if op.shape[0] != op.shape[1]:
        raise ValueError(f"`{name}` must be square, got shape {op.shape}")
    if not jnp.issubdtype(op.dtype, jnp.inexact):  # an integer operator (LaplacianNd's int8): as float
        op = LinearOperator(op.shape, op.matvec, op.rmatvec, dtype=jnp.result_type(float))
    return canonical_leaves(op)


def dense_of(op: LinearOperator) -> Array:
    """The operator as a dense array: the matrix it holds, else ``A @ I``."""
    inner = op._mv
    if isinstance(inner, _Matrix) and not inner.adjoint:
        a = inner.a
        return (a.todense() if isinstance(a, jsparse.JAXSparse) else a).astype(op.dtype)
    return op.matmat(jnp.eye(op.shape[1], dtype=op.dtype))


def stop(tree: Any) -> Any:
    """``tree`` with every array leaf behind ``stop_gradient`` (the iteration is never differentiated)."""
    return jax.tree_util.tree_map(lambda x: jax.lax.stop_gradient(x) if eqx.is_array(x) else x, tree)


def check_k_ncv(k: Any, ncv: Any, n: int, gap: int) -> tuple[int, int]:
    """SciPy's checks: ``0 < k``; ``k + gap <= ncv <= n`` (``gap`` 1 for eigsh, 2 for eigs)."""
    if not isinstance(k, int | np.integer) or isinstance(k, bool):
        raise TypeError(f"`k` must be a positive integer, got {k!r}")
    if k <= 0:
        raise ValueError("k must be greater than 0.")
    if ncv is None:
        ncv = min(n, max(2 * int(k) + 1, 20))
    if not isinstance(ncv, int | np.integer) or isinstance(ncv, bool):
        raise TypeError(f"`ncv` must be an integer, got {ncv!r}")
    ncv = min(int(ncv), n)
    if ncv > n or ncv < k + gap:
        raise ValueError(f"ncv must be k{'+1' if gap == 2 else ''}<ncv<=n, ncv={ncv}")
    return int(k), ncv


def start_vector(v0: Any, n: int, dtype: Any, rng: Any) -> Array:
    """``v0`` checked, or a pseudo-random start from NumPy's ``rng`` (a seed or a ``Generator``;
    default seed 0, so results are reproducible)."""
    if v0 is not None:
        v0 = np.asarray(v0) if is_concrete(v0) else v0  # converted on the host: nothing compiles
        if v0.shape != (n,):
            raise ValueError(f"`v0` must have shape ({n},), got {v0.shape}")
        return jnp.asarray(v0, dtype)
    try:
        gen = np.random.default_rng(0 if rng is None else rng)
    except (TypeError, ValueError):
        raise TypeError(f"`rng` must be None, an integer seed or a numpy Generator, got {rng!r}") from None
    return jnp.asarray(gen.uniform(-1.0, 1.0, n), dtype)


def iteration_args(tol: Any, maxiter: Any, n: int, dtype: Any) -> tuple[Array, Array]:
    """``tol`` (>= 0; 0 means machine precision) and ``maxiter`` (default ``10 n``) as arrays."""
    if is_concrete(tol):
        t = np.asarray(tol)
        if t.ndim != 0 or np.iscomplexobj(t) or not np.isfinite(t) or t < 0:
            raise ValueError(f"`tol` must be a real, non-negative number, got {tol!r}")
    if maxiter is None:
        maxiter = 10 * n
    if not isinstance(maxiter, int | np.integer) or isinstance(maxiter, bool) or maxiter <= 0:
        raise ValueError(f"`maxiter` must be a positive integer, got {maxiter!r}")
    real = jnp.finfo(dtype).dtype
    return jnp.asarray(tol, real), jnp.asarray(int(maxiter), jnp.int32)


class Transform(eqx.Module):
    """``A x = lambda M x`` with ``M = L L^H`` as the standard problem ``C y = lambda y``,
    ``C = L^{-1} A L^{-H}``, ``x = L^{-H} y``; with a shift ``sigma``, the operator iterated is
    ``(C - sigma I)^{-1} = L^H (A - sigma M)^{-1} L`` (ARPACK's shift-invert mode 3)."""

    op: LinearOperator
    L: Array | None
    lu: Any
    opinv: LinearOperator | None
    sigma: Array | None

    def __init__(self, op: LinearOperator, M: Array | None, sigma: Array | None, opinv: LinearOperator | None,
                 dtype: Any):
        self.op, self.sigma, self.opinv = op, sigma, opinv
        self.L = None if M is None else jnp.linalg.cholesky(M.astype(dtype))
        self.lu = None
        if sigma is not None and opinv is None:
            shifted = dense_of(op).astype(dtype) - sigma.astype(dtype) * (
                jnp.eye(op.shape[0], dtype=dtype) if M is None else M.astype(dtype))
            self.lu = jsl.lu_factor(shifted)

    def _solve(self, x: Array) -> Array:
        if self.opinv is not None:
            return self.opinv.matvec(x)
        return jsl.lu_solve(self.lu, x)

    def matvec(self, y: Array) -> Array:
        L = self.L
        if self.sigma is None:
            if L is None:
                return self.op.matvec(y)
            x = jsl.solve_triangular(L.conj().T, y, lower=False)
            return jsl.solve_triangular(L, self.op.matvec(x), lower=True)
        if L is None:
            return self._solve(y)
        return L.conj().T @ self._solve(L @ y)

    def to_standard(self, x: Array) -> Array:
        return x if self.L is None else self.L.conj().T @ x

    def from_standard(self, y: Array) -> Array:
        return y if self.L is None else jsl.solve_triangular(self.L.conj().T, y, lower=False)

    def eigenvalues(self, theta: Array) -> Array:
        return theta if self.sigma is None else self.sigma + 1 / theta


@jax.custom_jvp
def frozen(v: Array, q: Array) -> Array:
    """``v``, whose derivative is NaN wherever ``q`` (a function of the matrix) has a tangent:
    derivatives we do not provide come out NaN, never a plausible zero."""
    return v


@frozen.defjvp
def _frozen_jvp(primals: tuple, tangents: tuple) -> tuple:
    v, _ = primals
    _, qdot = tangents
    return v, jnp.full(v.shape, jnp.nan, v.dtype) * jnp.sum(qdot).astype(v.dtype)


def eigenvalue_surrogate(lam: Array, q: Array) -> Array:
    """``lam`` with the derivative of ``q`` (``q == lam`` in value; Hellmann-Feynman)."""
    return jax.lax.stop_gradient(lam) + (q - jax.lax.stop_gradient(q)).astype(lam.dtype)


def no_convergence(fname: str, values: Array, vectors: Array | None, ok: Array, it: Array, k: int) -> None:
    """Eager failure: SciPy's ``ArpackNoConvergence`` carrying the converged pairs."""
    ok_host = np.asarray(ok)
    nconv = int(ok_host.sum())
    if nconv == k:
        return
    vals = np.asarray(values)[ok_host]
    vecs = None if vectors is None else np.asarray(vectors)[:, ok_host]
    raise ArpackNoConvergence(f"No convergence ({int(it)} iterations, {nconv}/{k} "
                              f"eigenvectors converged) [{fname}]", vals, vecs)



def _left_vector(A: Array, lam: Array) -> Array:
    """A left eigenvector of ``A`` for the (converged) eigenvalue ``lam``: two steps of inverse
    iteration with ``(A - lam I)^H``, shifted by a few ulps so that the LU never divides by 0."""
    n = A.shape[0]
    eps = jnp.finfo(A.dtype).eps
    shift = jnp.conj(lam) + 10 * eps * jnp.maximum(1, jnp.abs(lam)) * (1 + 1j)
    Mh = A.conj().T - shift * jnp.eye(n, dtype=A.dtype)
    u = jnp.cos(jnp.arange(n) * 0.7 + 0.3).astype(A.dtype)
    for _ in range(2):
        u = jnp.linalg.solve(Mh, u)
        u = u / jnp.linalg.norm(u)
    return u


@eqx.filter_custom_jvp
def left_weighted(op: LinearOperator, X: Array, lam: Array) -> Array:
    """Zero, with derivative ``u^H dA x / (u^H x)`` for each Ritz pair ``(lam, x)`` (``u`` the left
    eigenvector): the first-order change of a simple eigenvalue of a non-normal matrix. The left
    eigenvectors are computed (densely, ``O(k N^3)``) only when differentiating."""
    return jnp.zeros(lam.shape, lam.dtype)


@left_weighted.def_jvp
def _left_weighted_jvp(primals: tuple, tangents: tuple) -> tuple:
    op, X, lam = primals
    t_op = tangents[0]
    zero = jnp.zeros(lam.shape, lam.dtype)
    if t_op is None:
        return zero, zero

    def apply(o):
        if jnp.issubdtype(o.dtype, jnp.complexfloating):
            return o.matmat(X)
        return o.matmat(X.real) + 1j * o.matmat(X.imag)

    _, dAX = eqx.filter_jvp(apply, (op,), (t_op,))
    A = dense_of(op).astype(lam.dtype)
    U = jax.vmap(lambda mu: _left_vector(A, mu), out_axes=1)(lam)
    return zero, jnp.sum(U.conj() * dAX, axis=0) / jnp.sum(U.conj() * X, axis=0)
