"""LGMRES, :func:`scipy.sparse.linalg.lgmres` (Baker, Jessup and Manteuffel 2005).

Restarted GMRES whose search space in each cycle is augmented by the error approximations
``z = x_j - x_{j-1}`` of the last ``outer_k`` cycles, which damps the alternating behaviour that
makes restarted GMRES stall. Each cycle is one flexible-GMRES (right-preconditioned) Arnoldi process
over the directions ``M v_1, ..., M v_m`` (the Krylov part) and the stored ``z`` vectors, with
Givens rotations for the residual estimate; the products ``A z`` of the augmentation vectors are
kept (``A z = V H y``), so they cost no matvec.

Reference: A. H. Baker, E. R. Jessup and T. Manteuffel, "A technique for accelerating the
convergence of restarted GMRES", SIAM J. Matrix Anal. Appl. 26 (2005) 962-984.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

from ..._typing import Array, ArrayLike
from ._gmres import _givens
from ._krylov import KrylovSpec, emit, krylov_solve, norm

__all__ = ["lgmres"]


def flexible_cycle(matvec: Callable, direction: Callable, r: Array, n_dirs: Array, dim: int, tol: Array):
    """One flexible-GMRES cycle: minimise ``||r - A Z y||`` over ``Z = [direction(0, v_0), ...]``.

    ``direction(j, v_j) -> (z_j, A z_j or None)`` gives the ``j``-th search direction (``n_dirs`` of
    them, at most ``dim``); it stops early when the Givens estimate of the residual meets ``tol``
    or the Arnoldi process breaks down. Returns ``(Z y, A Z y, residual estimate)``.
    """
    n, dtype = r.shape[0], r.dtype
    eps = jnp.finfo(dtype).eps
    beta = norm(r)
    V = jnp.zeros((dim + 1, n), dtype).at[0].set(r / jnp.where(beta == 0, 1, beta))
    Z = jnp.zeros((dim, n), dtype)
    H = jnp.zeros((dim + 1, dim), dtype)  # unrotated Hessenberg matrix: A Z = V H
    # The product of the Givens rotations so far, as a dense (dim+1)^2 matrix: the new column is
    # rotated by one small matvec (no inner loop over the previous rotations), R = Q H.
    Q = jnp.eye(dim + 1, dtype=dtype)
    rows = jnp.arange(dim + 1)

    def cond(st):
        j, *_, presid, broke = st
        return (j < n_dirs) & (presid > tol) & ~broke

    def body(st):
        j, V, Z, H, Q, _, _ = st
        z, w = direction(j, V[j])
        w = matvec(z) if w is None else w
        h0 = norm(w)
        mask = rows <= j
        h = jnp.where(mask, V.conj() @ w, 0)  # classical Gram-Schmidt, twice
        w = w - V.T @ h
        h2 = jnp.where(mask, V.conj() @ w, 0)
        w = w - V.T @ h2
        h1 = norm(w)
        broke = h1 <= eps * h0
        col = (h + h2).at[j + 1].set(jnp.where(broke, 0, h1))
        V = V.at[j + 1].set(jnp.where(broke, 0, w / jnp.where(broke, 1, h1)))
        H = H.at[:, j].set(col)
        Z = Z.at[j].set(z)
        rcol = Q @ col
        c, s, _ = _givens(rcol[j], rcol[j + 1])
        qj, qj1 = Q[j], Q[j + 1]
        Q = Q.at[j].set(c * qj + s * qj1).at[j + 1].set(-jnp.conj(s) * qj + c * qj1)
        return j + 1, V, Z, H, Q, beta * jnp.abs(Q[j + 1, 0]), broke

    init = (jnp.array(0), V, Z, H, Q, beta, jnp.array(False))
    ncol, V, Z, H, Q, presid, _ = jax.lax.while_loop(cond, body, init)
    used = jnp.arange(dim) < ncol
    R = (Q @ H)[:dim]
    S = beta * Q[:dim, 0]
    R = jnp.where(used[None, :] & used[:, None], R, 0)
    diag_zero = jnp.diagonal(R) == 0
    R = jnp.where(jnp.eye(dim, dtype=bool) & (~used | diag_zero), jnp.ones((), dtype), R)
    y = solve_triangular(R, jnp.where(used & ~diag_zero, S, 0), lower=False)
    return Z.T @ y, V.T @ (H @ y), presid


def _lgmres_core(matvec, psolve, b, x0, tol, maxiter, callback, inner_m, outer_k, prepend_outer_v):
    precond = (lambda r: r) if psolve is None else psolve
    n, dtype = b.shape[0], b.dtype
    dim = inner_m + outer_k

    def cond(st):
        _, rnorm, *_, k, stalled = st
        return (rnorm > tol) & (k < maxiter) & ~stalled

    def body(st):
        x, _, OZ, OAZ, count, k, _ = st

        def direction(j, v):
            if outer_k == 0:
                return precond(v), None
            is_outer = (j < count) if prepend_outer_v else (j >= inner_m)
            i = jnp.clip(j if prepend_outer_v else j - inner_m, 0, outer_k - 1)  # augmentation index

            def krylov():
                z = precond(v)
                return z, matvec(z)

            return jax.lax.cond(is_outer, lambda: (OZ[i], OAZ[i]), krylov)

        r = b - matvec(x)
        dx, Adx, _ = flexible_cycle(matvec, direction, r, inner_m + count, dim, tol)
        x = x + dx
        emit(callback, x)
        rnorm = norm(b - matvec(x))
        nz = norm(dx)
        if outer_k:
            keep = nz > 0
            scale = 1 / jnp.where(keep, nz, 1)
            OZ = jnp.where(keep, jnp.roll(OZ, 1, axis=0).at[0].set(dx * scale), OZ)
            OAZ = jnp.where(keep, jnp.roll(OAZ, 1, axis=0).at[0].set(Adx * scale), OAZ)
            count = jnp.where(keep, jnp.minimum(count + 1, outer_k), count)
        return x, rnorm, OZ, OAZ, count, k + 1, nz == 0

    store = jnp.zeros((max(outer_k, 1), n), dtype)
    init = (x0, norm(b - matvec(x0)), store, store, jnp.array(0), jnp.array(0), jnp.array(False))
    x, *_ = jax.lax.while_loop(cond, body, init)
    return x, jnp.array(0)


LGMRES = KrylovSpec("lgmres", _lgmres_core, symmetric=False, default_maxiter=lambda n: 1000)


def lgmres(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int = 1000,
    M: Any = None,
    callback: Callable | None = None,
    inner_m: int = 30,
    outer_k: int = 3,
    outer_v: Any = None,
    store_outer_Av: bool = True,
    prepend_outer_v: bool = False,
) -> tuple[Array, Array]:
    """Solve ``A x = b`` by LGMRES; mirrors :func:`scipy.sparse.linalg.lgmres`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator.
    b : array, shape (N,) or (N, 1)
    x0 : array, shape (N,), optional
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int
        Maximum number of outer iterations (cycles).
    M : same types as `A`, optional
        Preconditioner approximating ``inv(A)`` (applied on the right, flexibly).
    callback : callable, optional
        ``callback(xk)`` after each cycle.
    inner_m : int
        Krylov directions per cycle.
    outer_k : int
        Error approximations carried between cycles.
    outer_v : None
        Only ``None``: a list that the solver would fill in place cannot be returned from traced code.
    store_outer_Av : bool
        Accepted; ``A z`` is always kept (it costs no matvec here).
    prepend_outer_v : bool
        Put the augmentation vectors before the Krylov directions.

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` not converged.

    Differences from SciPy
    ----------------------
    - ``outer_v`` (SciPy's in/out list of augmentation vectors) is not supported.
    - Gram-Schmidt is classical with one reorthogonalisation; SciPy's inner solver is an
      LAPACK-QR-updated flexible GMRES. Both minimise the same residual over the same space.
    - ``info == 0`` is decided on the true residual. A non-finite ``b`` gives NaN with
      ``info = maxiter`` (SciPy raises ``ValueError``). Gradients come from one more LGMRES solve
      with ``A^T`` (``jax.lax.custom_linear_solve``); ``x0`` and ``M`` get none.
    - ``callback(xk)`` runs through ``jax.debug.callback``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import lgmres
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = lgmres(A, jnp.ones(3), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, 1.0))
    (0, True)
    """
    if outer_v is not None:
        raise NotImplementedError("`outer_v` is not supported by scijax's lgmres (it is filled in place)")
    for name, val in (("inner_m", inner_m), ("outer_k", outer_k)):
        if not isinstance(val, int) or isinstance(val, bool) or val < (1 if name == "inner_m" else 0):
            raise ValueError(f"`{name}` must be a {'positive' if name == 'inner_m' else 'non-negative'} "
                             f"integer, got {val!r}")
    n = jnp.shape(b)[0] if jnp.ndim(b) else 1
    inner_m = min(inner_m, max(n, 1))
    return krylov_solve(LGMRES, A, b, x0, rtol, atol, maxiter, M, callback, inner_m=inner_m, outer_k=outer_k,
                        prepend_outer_v=bool(prepend_outer_v))
