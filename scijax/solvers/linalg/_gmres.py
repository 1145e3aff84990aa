"""Restarted GMRES, :func:`scipy.sparse.linalg.gmres` (left preconditioning, Givens rotations)."""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm

__all__ = ["gmres"]

_CALLBACK_TYPES = ("x", "pr_norm", "legacy")


def _givens(f: Array, g: Array) -> tuple[Array, Array, Array]:
    """LAPACK's ``lartg``: ``c`` real, ``[c, s; -conj(s), c] @ [f, g] = [r, 0]``."""
    af, ag = jnp.abs(f), jnp.abs(g)
    nrm = jnp.sqrt(af**2 + ag**2)
    safe_nrm = jnp.where(nrm == 0, 1, nrm)
    phase = jnp.where(af == 0, 1, f / jnp.where(af == 0, 1, af))
    c = jnp.where(af == 0, 0.0, af / safe_nrm)
    s = jnp.where(af == 0, jnp.conj(g) / jnp.where(ag == 0, 1, ag), phase * jnp.conj(g) / safe_nrm)
    s = jnp.where(nrm == 0, 0, s)
    c = jnp.where(nrm == 0, 1.0, c)
    r = jnp.where(af == 0, ag, phase * nrm)
    return c.astype(f.dtype), s.astype(f.dtype), r.astype(f.dtype)


def _arnoldi_cycle(matvec, precond, r, restart, ptol, eps, pr_callback):
    """One GMRES cycle from the preconditioned residual ``M r``; returns the update and its estimate."""
    n, dtype = r.shape[0], r.dtype
    v0 = precond(r)
    beta = norm(v0)
    V = jnp.zeros((restart + 1, n), dtype).at[0].set(v0 / beta)
    H = jnp.zeros((restart + 1, restart), dtype)
    rots = jnp.zeros((restart, 2), dtype)
    S = jnp.zeros(restart + 1, dtype).at[0].set(beta)
    rows = jnp.arange(restart + 1)

    def rotate(k, col, rots):
        c, s = rots[k, 0], rots[k, 1]
        n0, n1 = col[k], col[(k + 1) % (restart + 1)]
        return col.at[k].set(c * n0 + s * n1).at[k + 1].set(-jnp.conj(s) * n0 + c * n1)

    def cond(state):
        j, _, _, _, _, presid, broke = state
        return (j < restart) & ((j == 0) | ((presid > ptol) & ~broke))

    def body(state):
        j, V, H, rots, S, _, _ = state
        w = precond(matvec(V[j]))
        h0 = norm(w)
        mask = rows <= j
        h = jnp.where(mask, V.conj() @ w, 0)  # classical Gram-Schmidt, twice
        w = w - V.T @ h
        h2 = jnp.where(mask, V.conj() @ w, 0)
        w = w - V.T @ h2
        h = h + h2
        h1 = norm(w)
        broke = h1 <= eps * h0
        V = V.at[j + 1].set(jnp.where(broke, 0, w / jnp.where(broke, 1, h1)))
        col = h.at[j + 1].set(jnp.where(broke, 0, h1))
        col = jax.lax.fori_loop(0, restart, lambda k, c: jnp.where(k < j, rotate(k, c, rots), c), col)
        c, s, mag = _givens(col[j], col[j + 1])
        col = col.at[j].set(mag).at[j + 1].set(0)
        H = H.at[:, j].set(col)
        rots = rots.at[j].set(jnp.stack([c, s]))
        tmp = -jnp.conj(s) * S[j]
        S = S.at[j].set(c * S[j]).at[j + 1].set(tmp)
        presid = jnp.abs(tmp)
        if pr_callback is not None:
            pr_callback(presid)
        return j + 1, V, H, rots, S, presid, broke

    init = (jnp.array(0), V, H, rots, S, beta, jnp.array(False))
    ncol, V, H, _, S, presid, broke = jax.lax.while_loop(cond, body, init)
    used = jnp.arange(restart) < ncol
    Hm = H[:restart]
    diag_zero = jnp.diagonal(Hm) == 0
    Hm = jnp.where(jnp.eye(restart, dtype=bool) & (~used | diag_zero), jnp.ones((), dtype), Hm)
    y = solve_triangular(Hm, jnp.where(used & ~diag_zero, S[:restart], 0), lower=False)
    return V[:restart].T @ y, presid, broke


def _gmres_core(matvec, psolve, b, x0, tol, maxiter, callback, restart, callback_type):
    precond = (lambda r: r) if psolve is None else psolve
    eps = jnp.finfo(b.dtype).eps
    bnorm = norm(b)
    safe_bnorm = jnp.where(bnorm == 0, 1, bnorm)
    x_callback = callback if callback_type == "x" else None
    pr_callback = None
    if callback is not None and callback_type != "x":
        pr_callback = lambda presid: emit(callback, presid / safe_bnorm)  # noqa: E731

    ptol0 = norm(precond(b)) * jnp.minimum(1.0, tol / safe_bnorm)

    def cond(state):
        x, rnorm, _, _, k, broke = state
        return (rnorm > tol) & (k < maxiter) & ~broke

    def body(state):
        x, rnorm, ptol, factor, k, _ = state
        r = b - matvec(x)
        dx, presid, broke = _arnoldi_cycle(matvec, precond, r, restart, ptol, eps, pr_callback)
        x = x + dx
        emit(x_callback, x)
        rnorm = norm(b - matvec(x))
        factor = jnp.where(presid <= ptol, jnp.maximum(eps, 0.25 * factor), jnp.minimum(1.0, 1.5 * factor))
        ptol = presid * jnp.minimum(factor, tol / jnp.where(rnorm == 0, 1, rnorm))
        return x, rnorm, ptol, factor, k + 1, broke

    rnorm0 = norm(b - matvec(x0))
    one = jnp.ones((), rnorm0.dtype)
    x, *_ = jax.lax.while_loop(cond, body, (x0, rnorm0, ptol0, one, jnp.array(0), jnp.array(False)))
    return x, jnp.array(0)


GMRES = KrylovSpec("gmres", _gmres_core, symmetric=False, default_maxiter=lambda n: 10 * n)


def gmres(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    restart: int | None = None,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable | None = None,
    callback_type: str | None = None,
) -> tuple[Array, Array]:
    """Solve ``A x = b`` by restarted GMRES; mirrors :func:`scipy.sparse.linalg.gmres`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator.
    b : array, shape (N,) or (N, 1)
        Right-hand side.
    x0 : array, optional
        Starting guess.
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    restart : int, optional
        Krylov dimension between restarts (default 20, at most ``N``).
    maxiter : int, optional
        Maximum number of restart cycles (default ``10 * N``).
    M : same types as `A`, optional
        Left preconditioner approximating ``inv(A)``.
    callback : callable, optional
        Called through ``jax.debug.callback``: with ``x`` after each cycle
        (``callback_type='x'``) or with the relative preconditioned residual after each inner
        iteration (``'pr_norm'``, also used for ``'legacy'`` and ``None``).
    callback_type : {'x', 'pr_norm', 'legacy'}, optional

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` otherwise.

    Differences from SciPy
    ----------------------
    - Gram-Schmidt is classical with one reorthogonalisation (vectorised) instead of modified.
    - ``callback_type='legacy'`` does not switch ``maxiter`` to counting inner iterations.
    - ``info == 0`` is decided on the true residual, so a breakdown or a stagnating restart never
      passes for success (``jax.scipy.sparse.linalg.gmres`` can report success silently).
    - Gradients come from a GMRES solve with ``A^T`` (and ``M^T``), not from unrolled iterations.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import gmres
    >>> A = jnp.array([[3.0, 2.0, 0.0], [1.0, -1.0, 0.0], [0.0, 5.0, 1.0]])
    >>> x, info = gmres(A, jnp.array([2.0, 4.0, -1.0]), atol=1e-5)
    >>> int(info), bool(jnp.allclose(A @ x, jnp.array([2.0, 4.0, -1.0]), atol=1e-4))
    (0, True)
    """
    if callback_type is not None and callback_type not in _CALLBACK_TYPES:
        raise ValueError(f"Unknown callback_type: {callback_type!r}")
    if restart is not None and (not isinstance(restart, int) or restart <= 0):
        raise ValueError(f"`restart` must be a positive integer, got {restart!r}")
    n = jnp.shape(b)[0] if jnp.ndim(b) else 1
    restart = min(20 if restart is None else restart, n)
    return krylov_solve(GMRES, A, b, x0, rtol, atol, maxiter, M, callback, restart=max(restart, 1),
                        callback_type=callback_type)
