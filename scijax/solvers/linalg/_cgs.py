"""Transpose-free Lanczos-type methods: CGS (Sonneveld 1989) and TFQMR (Freund 1993).

Both square the BiCG polynomial so that no product with ``A^H`` is needed, and both are
right-preconditioned here: they iterate on ``A M y = r`` and update ``x`` by ``M`` times the
direction, so their residual is the true residual of ``A x = b``.

References
----------
P. Sonneveld, "CGS, a fast Lanczos-type solver for nonsymmetric linear systems", SIAM J. Sci. Stat.
Comput. 10 (1989) 36-52. R. W. Freund, "A transpose-free quasi-minimal residual algorithm for
non-Hermitian linear systems", SIAM J. Sci. Comput. 14 (1993) 470-482; Y. Saad, *Iterative Methods
for Sparse Linear Systems*, 2nd ed., Algorithms 7.6 (CGS) and 7.8 (TFQMR).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm, restarted, vdot

__all__ = ["cgs", "tfqmr"]


def _identity(r: Array) -> Array:
    return r


def _cgs_core(matvec, psolve, b, x0, tol, maxiter, callback):
    precond = _identity if psolve is None else psolve
    rhotol = jnp.finfo(b.dtype).eps ** 2

    def run(x, k):
        r = b - matvec(x)
        rtilde = r
        k_start = k

        def cond(state):
            _, r, *_, k, code = state
            return (norm(r) > tol) & (k < maxiter) & (code == 0)

        def body(state):
            x, r, p, q, rho_prev, k, _ = state
            first = k == k_start
            rho = vdot(rtilde, r)
            code = jnp.where(jnp.abs(rho) < rhotol, -10, 0)
            beta = rho / jnp.where(first | (rho_prev == 0), 1, rho_prev)
            u = jnp.where(first, r, r + beta * q)
            p = jnp.where(first, u, u + beta * (q + beta * p))
            phat = precond(p)
            vhat = matvec(phat)
            rv = vdot(rtilde, vhat)
            code = jnp.where((code == 0) & (rv == 0), -11, code).astype(jnp.int32)
            alpha = rho / jnp.where(rv == 0, 1, rv)
            q = u - alpha * vhat
            uhat = precond(u + q)
            ok = code == 0
            x = jnp.where(ok, x + alpha * uhat, x)
            r = jnp.where(ok, r - alpha * matvec(uhat), r)
            emit(callback, x)
            return x, r, p, q, rho, k + 1, code

        zero = jnp.zeros_like(r)
        init = (x, r, zero, zero, jnp.ones((), b.dtype), k, jnp.array(0, jnp.int32))
        x, *_, k, code = jax.lax.while_loop(cond, body, init)
        return x, k, code

    return restarted(run, matvec, b, x0, tol, maxiter)


def _tfqmr_core(matvec, psolve, b, x0, tol, maxiter, callback):
    precond = _identity if psolve is None else psolve
    real = jnp.finfo(b.dtype).dtype

    def run(x, k):
        r = b - matvec(x)
        rtilde = r
        Mu = precond(r)
        Au = matvec(Mu)
        zero_r = jnp.zeros((), real)
        k_start = k
        # (x, w, u, Mu, Au, v, Md, theta, eta, tau, rho, alpha, k, code)
        init = (x, r, r, Mu, Au, Au, jnp.zeros_like(r), zero_r, jnp.zeros((), b.dtype), norm(r),
                vdot(rtilde, r), jnp.ones((), b.dtype), k, jnp.array(0, jnp.int32))

        def cond(s):
            tau, k, code = s[9], s[12], s[13]
            m = k - k_start
            return (tau * jnp.sqrt(m + 1.0) > tol) & (k < maxiter) & (code == 0)

        def body(s):
            x, w, u, Mu, Au, v, Md, theta, eta, tau, rho, alpha, k, _ = s
            even = (k - k_start) % 2 == 0
            vr = vdot(rtilde, v)
            alpha = jnp.where(even, rho / jnp.where(vr == 0, 1, vr), alpha)
            code = jnp.where(even & (vr == 0), -1, 0)
            w = w - alpha * Au
            Md = Mu + (theta**2 / alpha) * eta * Md  # M d, d = u + (theta^2 / alpha) eta d
            theta = norm(w) / jnp.where(tau == 0, 1, tau)
            c = 1 / jnp.sqrt(1 + theta**2)
            tau = tau * theta * c
            eta = c**2 * alpha
            x_new = x + eta * Md
            rho_new = vdot(rtilde, w)
            code = jnp.where(~even & (rho == 0), -1, code).astype(jnp.int32)
            beta = rho_new / jnp.where(rho == 0, 1, rho)
            u_new = jnp.where(even, u - alpha * v, w + beta * u)
            Mu_new = precond(u_new)
            Au_new = matvec(Mu_new)
            v = jnp.where(even, v, Au_new + beta * (Au + beta * v))
            rho = jnp.where(even, rho, rho_new)
            ok = code == 0
            x = jnp.where(ok, x_new, x)
            emit(callback, x)
            return x, w, u_new, Mu_new, Au_new, v, Md, theta, eta, tau, rho, alpha, k + 1, code

        s = jax.lax.while_loop(cond, body, init)
        return s[0], s[12], s[13]

    return restarted(run, matvec, b, x0, tol, maxiter)


CGS = KrylovSpec("cgs", _cgs_core, symmetric=False, default_maxiter=lambda n: 10 * n)
TFQMR = KrylovSpec("tfqmr", _tfqmr_core, symmetric=False, default_maxiter=lambda n: min(10000, 10 * n))


def cgs(
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
    """Solve ``A x = b`` by Conjugate Gradient Squared; mirrors :func:`scipy.sparse.linalg.cgs`.

    Sonneveld's method (Saad, Alg. 7.6), right-preconditioned with ``M``.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator; a plain callable ``A(x)`` is taken as the matvec.
    b : array, shape (N,) or (N, 1)
        Right-hand side.
    x0 : array, shape (N,), optional
        Starting guess (zeros by default); ``'Mb'`` starts from ``M @ b``.
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int, optional
        Maximum number of iterations (default ``10 * N``).
    M : same types as `A`, optional
        Preconditioner approximating ``inv(A)``.
    callback : callable, optional
        ``callback(xk)`` after each iteration.

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` not converged, ``-10`` breakdown
        (``rtilde^H r`` vanished), ``-11`` breakdown (``rtilde^H A p`` vanished).

    Differences from SciPy
    ----------------------
    - ``info == 0`` is decided on the true residual; when the recurrence residual drifts the
      iteration restarts from the true residual (at most 4 times), so a drifting recurrence never
      passes for success. ``info`` is a JAX integer array; ``maxiter`` must be a Python int
      (a new value does not recompile).
    - Gradients with respect to ``b``, the matrix or arrays the operator closes over come from one
      more solve with the same method and ``A^T`` (``jax.lax.custom_linear_solve``); ``x0`` and
      ``M`` get no gradient.
    - ``callback(xk)`` runs through ``jax.debug.callback`` (for debugging; it costs a host trip).
    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cgs
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = cgs(A, jnp.ones(3), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, 1.0))
    (0, True)
    """
    return krylov_solve(CGS, A, b, x0, rtol, atol, maxiter, M, callback)


def tfqmr(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable | None = None,
    show: bool = False,
) -> tuple[Array, Array]:
    """Solve ``A x = b`` by Transpose-Free QMR; mirrors :func:`scipy.sparse.linalg.tfqmr`.

    Freund's algorithm (Saad, Alg. 7.8), right-preconditioned with ``M``. Each iteration is one of
    Freund's half steps (one matvec), as SciPy counts them; the quasi-residual bound
    ``tau * sqrt(m + 1)`` decides when to check the true residual.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator.
    b : array, shape (N,) or (N, 1)
    x0 : array, shape (N,), optional
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int, optional
        Maximum number of iterations (default ``min(10000, 10 * N)``, SciPy's).
    M : same types as `A`, optional
        Preconditioner approximating ``inv(A)``.
    callback : callable, optional
        ``callback(xk)`` after each iteration.
    show : bool
        Must be False (no printing from traced code).

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` not converged, ``-1`` breakdown.

    Differences from SciPy
    ----------------------
    - ``info == 0`` is decided on the true residual; when the recurrence residual drifts the
      iteration restarts from the true residual (at most 4 times), so a drifting recurrence never
      passes for success. ``info`` is a JAX integer array; ``maxiter`` must be a Python int
      (a new value does not recompile).
    - Gradients with respect to ``b``, the matrix or arrays the operator closes over come from one
      more solve with the same method and ``A^T`` (``jax.lax.custom_linear_solve``); ``x0`` and
      ``M`` get no gradient.
    - ``callback(xk)`` runs through ``jax.debug.callback`` (for debugging; it costs a host trip).
    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import tfqmr
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = tfqmr(A, jnp.ones(3), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, 1.0))
    (0, True)
    """
    if show:
        raise NotImplementedError("`show=True` is not supported by scijax's tfqmr")
    return krylov_solve(TFQMR, A, b, x0, rtol, atol, maxiter, M, callback)
