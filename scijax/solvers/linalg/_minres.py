"""MINRES for symmetric (possibly indefinite) systems, :func:`scipy.sparse.linalg.minres`.

A transcription of Paige and Saunders' algorithm as SciPy has it, run in a ``lax.while_loop``.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm, restarted, vdot
from ._operator import LinearOperator, as_operator

__all__ = ["minres"]


def _minres_core(matvec, psolve, b, x0, tol, maxiter, callback):
    precond = (lambda r: r) if psolve is None else psolve
    real = jnp.finfo(b.dtype).dtype
    eps = jnp.finfo(real).eps

    def run(x, k):
        r1 = b - matvec(x)
        y = precond(r1)
        beta1sq = jnp.real(vdot(r1, y))
        code0 = jnp.where(beta1sq < 0, -9, 0).astype(jnp.int32)  # M is not positive definite
        beta1 = jnp.sqrt(jnp.maximum(beta1sq, 0))
        zero = jnp.zeros((), real)
        state = dict(x=x, r1=r1, r2=r1, y=y, w=jnp.zeros_like(x), w2=jnp.zeros_like(x), oldb=zero,
                     beta=beta1, dbar=zero, epsln=zero, phibar=beta1, tnorm2=zero, gmax=zero,
                     gmin=jnp.asarray(jnp.finfo(real).max), cs=-jnp.ones((), real), sn=zero, k=k,
                     itn=jnp.array(0), stop=(beta1 == 0), code=code0)

        def cond(s):
            return ~s["stop"] & (s["k"] < maxiter) & (s["code"] == 0)

        def body(s):
            beta, oldb = s["beta"], s["oldb"]
            v = s["y"] / beta
            y = matvec(v)
            y = jnp.where(s["itn"] >= 1, y - (beta / jnp.where(oldb == 0, 1, oldb)) * s["r1"], y)
            alfa = jnp.real(vdot(v, y))
            y = y - (alfa / beta) * s["r2"]
            r1, r2 = s["r2"], y
            y = precond(r2)
            oldb = beta
            betasq = jnp.real(vdot(r2, y))
            code = jnp.where(betasq < 0, -9, 0).astype(jnp.int32)
            beta = jnp.sqrt(jnp.maximum(betasq, 0))
            tnorm2 = s["tnorm2"] + alfa**2 + oldb**2 + beta**2
            oldeps = s["epsln"]
            cs, sn, dbar = s["cs"], s["sn"], s["dbar"]
            delta = cs * dbar + sn * alfa
            gbar = sn * dbar - cs * alfa
            epsln = sn * beta
            dbar = -cs * beta
            gamma = jnp.maximum(jnp.sqrt(gbar**2 + beta**2), eps)
            cs, sn = gbar / gamma, beta / gamma
            phi = cs * s["phibar"]
            phibar = sn * s["phibar"]
            w1, w2 = s["w2"], s["w"]
            w = (v - oldeps * w1 - delta * w2) / gamma
            x = s["x"] + phi * w
            gmax, gmin = jnp.maximum(s["gmax"], gamma), jnp.minimum(s["gmin"], gamma)
            anorm = jnp.sqrt(tnorm2)
            # Stop on the residual estimate, on reaching the eps-level accuracy SciPy stops at, or on
            # an (estimated) singular matrix; the caller then checks the true residual.
            stop = (phibar <= tol) | (beta == 0) | (gmax / gmin >= 0.1 / eps)
            stop = stop | (anorm * norm(x) * eps >= beta1)
            emit(callback, x)
            return dict(x=x, r1=r1, r2=r2, y=y, w=w, w2=w2, oldb=oldb, beta=beta, dbar=dbar, epsln=epsln,
                        phibar=phibar, tnorm2=tnorm2, gmax=gmax, gmin=gmin, cs=cs, sn=sn, k=s["k"] + 1,
                        itn=s["itn"] + 1, stop=stop, code=code)

        s = jax.lax.while_loop(cond, body, state)
        return s["x"], s["k"], s["code"]

    return restarted(run, matvec, b, x0, tol, maxiter)


MINRES = KrylovSpec("minres", _minres_core, symmetric=True, default_maxiter=lambda n: 5 * n)


def minres(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    shift: float = 0.0,
    maxiter: int | None = None,
    M: Any = None,
    callback: Callable | None = None,
    show: bool = False,
    check: bool = False,
) -> tuple[Array, Array]:
    """Solve ``(A - shift I) x = b``, ``A`` symmetric, by MINRES; mirrors :func:`scipy.sparse.linalg.minres`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        A real symmetric (or Hermitian) ``(N, N)`` operator; it may be indefinite.
    b : array, shape (N,) or (N, 1)
    x0 : array, optional
    rtol : float
        Converged when ``norm(b - (A - shift I) @ x) <= rtol * norm(b)``.
    shift : float
        Solve with ``A - shift * I``.
    maxiter : int, optional
        Maximum number of iterations (default ``5 * N``).
    M : same types as `A`, optional
        Symmetric positive definite preconditioner approximating ``inv(A)``.
    callback : callable, optional
        ``callback(xk)`` after each iteration, through ``jax.debug.callback``.
    show, check : bool
        Accepted for compatibility; ``show=True`` and ``check=True`` are not supported.

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged, ``maxiter`` not converged, ``-9`` ``M`` is not positive definite.

    Differences from SciPy
    ----------------------
    - SciPy stops when the *backward error* ``||r|| / (||A|| ||x||)`` is below ``rtol`` and then
      reports ``info = 0`` even for a least-squares (singular) exit; we stop on
      ``||r|| <= rtol ||b||`` and report ``info = 0`` only when the true residual meets it.
    - An indefinite preconditioner gives ``info = -9`` instead of raising ``ValueError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import minres
    >>> A = jnp.array([[1.0, 2.0], [2.0, -1.0]])
    >>> x, info = minres(A, jnp.array([1.0, 0.0]), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, jnp.array([1.0, 0.0])))
    (0, True)
    """
    if show or check:
        raise NotImplementedError("`show=True` and `check=True` are not supported by scijax's minres")
    b_arr = jnp.asarray(b)
    if b_arr.ndim in (1, 2):
        n = b_arr.shape[0]
        dtype = b_arr.dtype if jnp.issubdtype(b_arr.dtype, jnp.inexact) else jnp.result_type(float)
        op = as_operator(A, n, dtype, "A")
        if op.shape[0] == op.shape[1] and not (isinstance(shift, int | float) and shift == 0):
            identity = LinearOperator(op.shape, lambda v: v, lambda v: v, dtype=op.dtype)
            A = op - shift * identity
    return krylov_solve(MINRES, A, b, x0, rtol, 0.0, maxiter, M, callback)
