"""Preconditioned conjugate gradients, :func:`scipy.sparse.linalg.cg`."""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm, restarted, vdot

__all__ = ["cg"]

def _cg_core(matvec, psolve, b, x0, tol, maxiter, callback):
    """Plain PCG, restarted from the true residual until that meets ``tol``."""
    precond = (lambda r: r) if psolve is None else psolve

    def run(x, k):
        r = b - matvec(x)
        z = precond(r)
        rho = vdot(r, z)

        def cond(state):
            _, r, _, _, k, broke = state
            return (norm(r) >= tol) & (k < maxiter) & ~broke

        def body(state):
            x, r, p, rho, k, _ = state
            q = matvec(p)
            pq = vdot(p, q)
            broke = (pq == 0) | ~jnp.isfinite(pq) | (rho == 0) | ~jnp.isfinite(rho)
            alpha = jnp.where(broke, 0, rho / jnp.where(broke, 1, pq))
            x = x + alpha * p
            r = r - alpha * q
            z = precond(r)
            rho_new = vdot(r, z)
            p = z + (rho_new / jnp.where(broke, 1, rho)) * p
            emit(callback, x)
            return x, r, p, rho_new, k + 1, broke

        x, _, _, _, k, broke = jax.lax.while_loop(cond, body, (x, r, z, rho, k, jnp.array(False)))
        return x, k, jnp.where(broke, -10, 0)

    return restarted(run, matvec, b, x0, tol, maxiter)


CG = KrylovSpec("cg", _cg_core, symmetric=True, default_maxiter=lambda n: 10 * n)


def cg(
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
    """Solve ``A x = b`` for Hermitian positive definite ``A`` by conjugate gradients.

    Mirrors :func:`scipy.sparse.linalg.cg`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator. A plain callable ``A(x)`` is taken as the matvec.
    b : array, shape (N,) or (N, 1)
        Right-hand side.
    x0 : array, shape (N,), optional
        Starting guess (zeros by default); ``'Mb'`` starts from ``M @ b``.
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int, optional
        Maximum number of iterations (default ``10 * N``).
    M : same types as `A`, optional
        Preconditioner approximating ``inv(A)``, e.g. :func:`jacobi_preconditioner` or
        :func:`chebyshev_preconditioner`.
    callback : callable, optional
        ``callback(xk)`` after each iteration, through ``jax.debug.callback``.

    Returns
    -------
    x : array, shape (N,)
        The solution.
    info : int array
        ``0``: converged (checked on the true residual); ``> 0``: not converged (``maxiter``);
        ``< 0``: breakdown (``p^H A p`` or ``r^H M r`` zero or non-finite: ``A`` or ``M`` is not
        positive definite).

    Differences from SciPy
    ----------------------
    - ``info == 0`` is reported only if the *true* residual meets the tolerance; when the
      recurrence residual drifts, CG restarts from the true residual (up to 4 times).
    - A breakdown returns ``info = -10`` rather than iterating on with non-finite numbers.
    - ``info`` is a JAX integer array; ``maxiter`` must be a Python integer (a new
      value does not recompile).
    - Gradients with respect to ``b``, the matrix, or arrays the operator closes over come from
      one more CG solve (``jax.lax.custom_linear_solve``); ``x0`` and ``M`` get no gradient.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cg
    >>> A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x, info = cg(A, jnp.array([1.0, 2.0]))
    >>> int(info), bool(jnp.allclose(A @ x, jnp.array([1.0, 2.0]), atol=1e-4))
    (0, True)
    """
    return krylov_solve(CG, A, b, x0, rtol, atol, maxiter, M, callback)
