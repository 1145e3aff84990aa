"""BiCGSTAB, :func:`scipy.sparse.linalg.bicgstab`."""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm, restarted, vdot

__all__ = ["bicgstab"]


def _bicgstab_core(matvec, psolve, b, x0, tol, maxiter, callback):
    precond = (lambda r: r) if psolve is None else psolve
    rhotol = jnp.finfo(b.dtype).eps ** 2  # SciPy's (Fortran-inherited) breakdown thresholds

    def run(x, k):
        r = b - matvec(x)
        rtilde = r
        k_start = k

        def cond(state):
            _, r, _, _, _, _, _, k, code = state
            return (norm(r) >= tol) & (k < maxiter) & (code == 0)

        def body(state):
            x, r, p, v, rho_prev, omega, alpha, k, _ = state
            first = k == k_start
            rho = vdot(rtilde, r)
            code = jnp.where(jnp.abs(rho) < rhotol, -10, 0).astype(jnp.int32)
            code = jnp.where((code == 0) & ~first & (jnp.abs(omega) < rhotol), -11, code).astype(jnp.int32)
            beta = (rho / jnp.where(first, 1, rho_prev)) * (alpha / jnp.where(first | (omega == 0), 1, omega))
            p = jnp.where(first, r, r + beta * (p - omega * v))
            phat = precond(p)
            v = matvec(phat)
            rv = vdot(rtilde, v)
            code = jnp.where((code == 0) & (rv == 0), -11, code).astype(jnp.int32)
            alpha = rho / jnp.where(rv == 0, 1, rv)
            s = r - alpha * v
            half = norm(s) < tol
            shat = precond(s)
            t = matvec(shat)
            tt = vdot(t, t)
            omega = jnp.where(half | (tt == 0), 0, vdot(t, s) / jnp.where(tt == 0, 1, tt))
            x_new = x + alpha * phat + omega * shat
            r_new = s - omega * t
            ok = code == 0
            x = jnp.where(ok, x_new, x)
            r = jnp.where(ok, r_new, r)
            emit(callback, x)
            return x, r, p, v, rho, omega, alpha, k + 1, code

        zero = jnp.zeros((), b.dtype)
        init = (x, r, r, jnp.zeros_like(r), zero + 1, zero + 1, zero + 1, k, jnp.array(0, jnp.int32))
        x, *_, k, code = jax.lax.while_loop(cond, body, init)
        return x, k, code

    return restarted(run, matvec, b, x0, tol, maxiter)


BICGSTAB = KrylovSpec("bicgstab", _bicgstab_core, symmetric=False, default_maxiter=lambda n: 10 * n)


def bicgstab(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable | None = None,
) -> tuple[Array, Array]:
    """Solve ``A x = b`` by BiConjugate Gradient STABilized; mirrors :func:`scipy.sparse.linalg.bicgstab`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator.
    b : array, shape (N,) or (N, 1)
    x0 : array, optional
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int, optional
        Maximum number of iterations (default ``10 * N``).
    M : same types as `A`, optional
        Preconditioner approximating ``inv(A)``.
    callback : callable, optional
        ``callback(xk)`` after each iteration, through ``jax.debug.callback``.

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` not converged, ``-10`` rho breakdown,
        ``-11`` omega breakdown (SciPy's codes).

    Differences from SciPy
    ----------------------
    - The iteration restarts from the true residual when the recurrence residual has drifted, so
      ``info == 0`` means the true residual meets the tolerance.
    - Gradients come from a BiCGSTAB solve with ``A^T`` (and ``M^T``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import bicgstab
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = bicgstab(A, jnp.ones(3))
    >>> int(info)
    0
    """
    return krylov_solve(BICGSTAB, A, b, x0, rtol, atol, maxiter, M, callback)
