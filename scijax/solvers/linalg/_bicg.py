"""Two-sided Lanczos methods, which apply ``A^H``: BiCG (Fletcher 1976) and QMR (Freund and Nachtigal 1991).

The products with ``A^H`` and ``M^H`` come from ``jax.linear_transpose`` of the operator's own
``matvec`` (so a ``LinearOperator``'s ``rmatvec`` is not called; any JAX matvec can be transposed).

References
----------
R. Fletcher, "Conjugate gradient methods for indefinite systems", Lecture Notes in Math. 506 (1976)
73-89. R. W. Freund and N. M. Nachtigal, "QMR: a quasi-minimal residual method for non-Hermitian
linear systems", Numer. Math. 60 (1991) 315-339. R. Barrett et al., *Templates for the Solution of
Linear Systems*, SIAM 1994, Figs. 2.8 (BiCG) and 2.9 (QMR without look-ahead).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm, restarted, vdot

__all__ = ["bicg", "qmr"]


def _identity(r: Array) -> Array:
    return r


def _adjoint(f: Callable | None, like: Array) -> Callable:
    """``y -> F^H y`` for a linear ``f`` (the identity when ``f`` is None)."""
    if f is None:
        return _identity
    transpose = jax.linear_transpose(f, like)
    return lambda y: jnp.conj(transpose(jnp.conj(y))[0])


def _bicg_core(matvec, psolve, b, x0, tol, maxiter, callback):
    precond = _identity if psolve is None else psolve
    rmatvec, rprecond = _adjoint(matvec, b), _adjoint(psolve, b)
    rhotol = jnp.finfo(b.dtype).eps ** 2

    def run(x, k):
        r = b - matvec(x)
        k_start = k

        def cond(s):
            _, r, *_, k, code = s
            return (norm(r) > tol) & (k < maxiter) & (code == 0)

        def body(s):
            x, r, rt, p, pt, rho_prev, k, _ = s
            first = k == k_start
            z, zt = precond(r), rprecond(rt)
            rho = vdot(rt, z)
            code = jnp.where(jnp.abs(rho) < rhotol, -10, 0)
            beta = rho / jnp.where(first | (rho_prev == 0), 1, rho_prev)
            p = jnp.where(first, z, z + beta * p)
            pt = jnp.where(first, zt, zt + jnp.conj(beta) * pt)
            q, qt = matvec(p), rmatvec(pt)
            pq = vdot(pt, q)
            code = jnp.where((code == 0) & (pq == 0), -11, code).astype(jnp.int32)
            alpha = jnp.where(code == 0, rho / jnp.where(pq == 0, 1, pq), 0)
            x = x + alpha * p
            r = r - alpha * q
            rt = rt - jnp.conj(alpha) * qt
            emit(callback, x)
            return x, r, rt, p, pt, rho, k + 1, code

        zero = jnp.zeros_like(r)
        init = (x, r, r, zero, zero, jnp.ones((), b.dtype), k, jnp.array(0, jnp.int32))
        x, *_, k, code = jax.lax.while_loop(cond, body, init)
        return x, k, code

    return restarted(run, matvec, b, x0, tol, maxiter)


def _qmr_core(matvec, psolve, b, x0, tol, maxiter, callback):
    left, right = psolve if isinstance(psolve, tuple) else (psolve, None)
    M1, M2 = (_identity if left is None else left), (_identity if right is None else right)
    M1h, M2h = _adjoint(left, b), _adjoint(right, b)
    rmatvec = _adjoint(matvec, b)
    dtype = b.dtype
    real = jnp.finfo(dtype).dtype
    tiny = jnp.finfo(dtype).eps ** 2

    def run(x, k):
        r = b - matvec(x)
        vt, wt = r, r
        y, z = M1(vt), M2h(wt)
        rho, xi = norm(y), norm(z)
        one = jnp.ones((), dtype)
        k_start = k
        init = dict(x=x, r=r, vt=vt, wt=wt, y=y, z=z, rho=rho, xi=xi, p=jnp.zeros_like(r),
                    q=jnp.zeros_like(r), d=jnp.zeros_like(r), s=jnp.zeros_like(r), gamma=jnp.ones((), real),
                    eta=-one, theta=jnp.zeros((), real), eps=one, k=k, code=jnp.array(0, jnp.int32))

        def cond(st):
            return (norm(st["r"]) > tol) & (st["k"] < maxiter) & (st["code"] == 0)

        def body(st):
            first = st["k"] == k_start
            rho, xi = st["rho"], st["xi"]
            code = jnp.where(rho < tiny, -10, jnp.where(xi < tiny, -15, 0))
            safe_rho, safe_xi = jnp.where(rho == 0, 1, rho), jnp.where(xi == 0, 1, xi)
            v, y = st["vt"] / safe_rho, st["y"] / safe_rho
            w, z = st["wt"] / safe_xi, st["z"] / safe_xi
            delta = vdot(z, y)
            code = jnp.where((code == 0) & (jnp.abs(delta) < tiny), -13, code)
            safe_delta = jnp.where(delta == 0, 1, delta)
            yt, zt = M2(y), M1h(z)
            safe_eps = jnp.where(st["eps"] == 0, 1, st["eps"])
            p = jnp.where(first, yt, yt - (xi * delta / safe_eps) * st["p"])
            q = jnp.where(first, zt, zt - jnp.conj(rho * delta / safe_eps) * st["q"])
            pt = matvec(p)
            eps = vdot(q, pt)
            code = jnp.where((code == 0) & (jnp.abs(eps) < tiny), -14, code)
            beta = eps / safe_delta
            code = jnp.where((code == 0) & (jnp.abs(beta) < tiny), -11, code)
            safe_beta = jnp.where(beta == 0, 1, beta)
            vt = pt - beta * v
            y = M1(vt)
            rho_new = norm(y)
            wt = rmatvec(q) - jnp.conj(beta) * w
            z = M2h(wt)
            xi_new = norm(z)
            gamma_prev, theta_prev = st["gamma"], st["theta"]
            theta = rho_new / (gamma_prev * jnp.abs(safe_beta))
            gamma = 1 / jnp.sqrt(1 + theta**2)
            code = jnp.where((code == 0) & (gamma == 0), -12, code).astype(jnp.int32)
            eta = -st["eta"] * rho * gamma**2 / (safe_beta * gamma_prev**2)
            c = (theta_prev * gamma) ** 2
            d = jnp.where(first, eta * p, eta * p + c * st["d"])
            s = jnp.where(first, eta * pt, eta * pt + c * st["s"])
            ok = code == 0
            x = jnp.where(ok, st["x"] + d, st["x"])
            r = jnp.where(ok, st["r"] - s, st["r"])
            emit(callback, x)
            return dict(x=x, r=r, vt=vt, wt=wt, y=y, z=z, rho=rho_new, xi=xi_new, p=p, q=q, d=d, s=s,
                        gamma=gamma, eta=eta, theta=theta, eps=eps, k=st["k"] + 1, code=code)

        st = jax.lax.while_loop(cond, body, init)
        return st["x"], st["k"], st["code"]

    return restarted(run, matvec, b, x0, tol, maxiter)


BICG = KrylovSpec("bicg", _bicg_core, symmetric=False, default_maxiter=lambda n: 10 * n)
QMR = KrylovSpec("qmr", _qmr_core, symmetric=False, default_maxiter=lambda n: 10 * n)


def bicg(
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
    """Solve ``A x = b`` by BiConjugate Gradients; mirrors :func:`scipy.sparse.linalg.bicg`.

    Fletcher's method with preconditioner ``M`` (Templates, Fig. 2.8); it applies ``A^H`` and
    ``M^H`` once per iteration.

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
        (``rtilde^H M r`` vanished), ``-11`` breakdown (``ptilde^H A p`` vanished).

    Differences from SciPy
    ----------------------
    - ``A^H`` and ``M^H`` are applied as ``jax.linear_transpose`` of their ``matvec`` (an
      operator's own ``rmatvec`` is not used).
    - ``info == 0`` is decided on the true residual; when the recurrence residual drifts the
      iteration restarts from the true residual (at most 4 times). ``info`` is a JAX integer
      array; ``maxiter`` must be a Python int (a new value does not recompile).
    - Gradients with respect to ``b``, the matrix or arrays the operator closes over come from one
      more BiCG solve with ``A^T`` (``jax.lax.custom_linear_solve``); ``x0`` and ``M`` get none.
    - ``callback(xk)`` runs through ``jax.debug.callback``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import bicg
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = bicg(A, jnp.ones(3), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, 1.0))
    (0, True)
    """
    return krylov_solve(BICG, A, b, x0, rtol, atol, maxiter, M, callback)


def qmr(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    M1: Any = None,
    M2: Any = None,
    callback: Callable | None = None,
) -> tuple[Array, Array]:
    """Solve ``A x = b`` by the Quasi-Minimal Residual method; mirrors :func:`scipy.sparse.linalg.qmr`.

    Freund and Nachtigal's QMR **without look-ahead** (Templates, Fig. 2.9), with left
    preconditioner ``M1`` and right preconditioner ``M2`` (both approximate inverses, applied by
    their ``matvec``). Without look-ahead a serious breakdown of the underlying Lanczos process
    stops the iteration with a negative ``info`` (as SciPy's QMR, which has no look-ahead either).

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator.
    b : array, shape (N,) or (N, 1)
    x0 : array, shape (N,), optional
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int, optional
        Maximum number of iterations (default ``10 * N``).
    M1, M2 : same types as `A`, optional
        Left and right preconditioners (identity by default).
    callback : callable, optional
        ``callback(xk)`` after each iteration.

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` not converged, ``-10`` ... ``-15`` breakdown
        (``rho``, ``beta``, ``gamma``, ``delta``, ``epsilon``, ``xi`` vanished: SciPy's codes).

    Differences from SciPy
    ----------------------
    - When only ``A`` carries a preconditioner (SciPy's ``A.psolve``) nothing is split from it:
      pass ``M1``/``M2`` explicitly.
    - ``A^H``, ``M1^H`` and ``M2^H`` are applied as ``jax.linear_transpose`` of their ``matvec``.
    - ``info == 0`` is decided on the true residual (restarts from it when the recurrence drifts,
      at most 4 times). Gradients come from one more QMR solve with ``A^T`` (preconditioners
      ``M2^T``, ``M1^T``); ``x0``, ``M1`` and ``M2`` get none.
    - ``callback(xk)`` runs through ``jax.debug.callback``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import qmr
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = qmr(A, jnp.ones(3), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, 1.0))
    (0, True)
    """
    return krylov_solve(QMR, A, b, x0, rtol, atol, maxiter, (M1, M2), callback)
