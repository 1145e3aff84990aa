"""LSMR for sparse least squares, :func:`scipy.sparse.linalg.lsmr` (Fong and Saunders 2011).

LSMR is MINRES applied to the normal equations ``(A^T A + damp^2 I) x = A^T b``, built on the same
Golub-Kahan bidiagonalisation as LSQR; ``||A^T r||`` decreases monotonically. The iteration
(with the paper's estimates of ``||r||``, ``||A^T r||``, ``||A||`` and ``cond(A)``) runs in a
``lax.while_loop``. Derivatives of ``x`` come from the normal equations by the implicit function
theorem (one CG solve through ``jax.lax.custom_linear_solve``), as for :func:`lsqr`.

Reference: D. C.-L. Fong and M. A. Saunders, "LSMR: an iterative algorithm for sparse
least-squares problems", SIAM J. Sci. Comput. 33 (2011) 2950-2971, Section 2 and Algorithm 1.
"""

import functools
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from ..._concrete import is_concrete
from ..._typing import Array, ArrayLike
from ._cg import CG
from ._krylov import canonical_leaves, check_maxiter, check_tolerance, norm
from ._lsqr import _sym_ortho, _transpose
from ._operator import aslinearoperator

__all__ = ["lsmr", "LsmrResult"]


class LsmrResult(NamedTuple):
    """SciPy's 8-tuple, with names: unpack it exactly as SciPy's result."""

    x: Array
    istop: Array
    itn: Array
    normr: Array
    normar: Array
    norma: Array
    conda: Array
    normx: Array


def _unit(v: Array, n: Array) -> Array:
    return jnp.where(n > 0, v / jnp.where(n > 0, n, 1), v)


def _lsmr_loop(matvec, rmatvec, b, x0, damp, tols, maxiter):
    real = b.dtype
    one, zero = jnp.ones((), real), jnp.zeros((), real)
    atol, btol, conlim = tols[0], tols[1], tols[2]
    ctol = jnp.where(conlim > 0, 1 / jnp.where(conlim > 0, conlim, 1), 0)
    normb = norm(b)
    safe_normb = jnp.where(normb == 0, 1, normb)
    u = b - matvec(x0)
    beta = norm(u)
    u = _unit(u, beta)
    v = jnp.where(beta > 0, rmatvec(u), jnp.zeros_like(x0))
    alpha = norm(v)
    v = _unit(v, alpha)
    s0 = dict(x=x0, u=u, v=v, h=v, hbar=jnp.zeros_like(x0), alpha=alpha, alphabar=alpha, zetabar=alpha * beta,
              rho=one, rhobar=one, cbar=one, sbar=zero, zeta=zero, betadd=beta, betad=zero, rhodold=one,
              tautildeold=zero, thetatilde=zero, d=zero, normA2=alpha**2, maxrbar=zero,
              minrbar=jnp.asarray(jnp.finfo(real).max, real), normA=alpha, condA=one, normx=norm(x0), normr=beta,
              normar=alpha * beta, itn=jnp.array(0), istop=jnp.array(0))

    def cond(s):
        return (s["istop"] == 0) & (s["itn"] < maxiter) & (s["normar"] != 0)

    def body(s):
        itn = s["itn"] + 1
        alpha = s["alpha"]
        # Golub-Kahan bidiagonalisation: beta u = A v - alpha u, alpha v = A^T u - beta v.
        u = matvec(s["v"]) - alpha * s["u"]
        beta = norm(u)
        pos = beta > 0
        u = _unit(u, beta)
        v_new = rmatvec(u) - beta * s["v"]
        alpha_new = norm(v_new)
        v = jnp.where(pos, _unit(v_new, alpha_new), s["v"])
        alpha = jnp.where(pos, alpha_new, alpha)
        # Rotation P (damping), then Q (the bidiagonal), then Qbar (the second QR).
        chat, shat, alphahat = _sym_ortho(s["alphabar"], damp)
        rhoold = s["rho"]
        c, sn, rho = _sym_ortho(alphahat, beta)
        thetanew = sn * alpha
        alphabar = c * alpha
        rhobarold, zetaold = s["rhobar"], s["zeta"]
        thetabar = s["sbar"] * rho
        rhotemp = s["cbar"] * rho
        cbar, sbar, rhobar = _sym_ortho(s["cbar"] * rho, thetanew)
        zeta = cbar * s["zetabar"]
        zetabar = -sbar * s["zetabar"]
        hbar = s["h"] - (thetabar * rho / (rhoold * rhobarold)) * s["hbar"]
        x = s["x"] + (zeta / (rho * rhobar)) * hbar
        h = v - (thetanew / rho) * s["h"]
        # ||r|| estimate (Section 2.6 of the paper).
        betaacute = chat * s["betadd"]
        betacheck = -shat * s["betadd"]
        betahat = c * betaacute
        betadd = -sn * betaacute
        thetatildeold = s["thetatilde"]
        ctildeold, stildeold, rhotildeold = _sym_ortho(s["rhodold"], thetabar)
        thetatilde = stildeold * rhobar
        rhodold = ctildeold * rhobar
        betad = -stildeold * s["betad"] + ctildeold * betahat
        tautildeold = (zetaold - thetatildeold * s["tautildeold"]) / rhotildeold
        taud = (zeta - thetatilde * tautildeold) / rhodold
        d = s["d"] + betacheck**2
        normr = jnp.sqrt(d + (betad - taud) ** 2 + betadd**2)
        # ||A|| and cond(A) estimates.
        normA = jnp.sqrt(s["normA2"] + beta**2)
        normA2 = normA**2 + alpha**2
        maxrbar = jnp.maximum(s["maxrbar"], rhobarold)
        minrbar = jnp.where(itn > 1, jnp.minimum(s["minrbar"], rhobarold), s["minrbar"])
        condA = jnp.maximum(maxrbar, rhotemp) / jnp.minimum(minrbar, rhotemp)
        normar = jnp.abs(zetabar)
        normx = norm(x)
        test1 = normr / safe_normb
        test2 = normar / (normA * normr)
        test3 = 1 / condA
        t1 = test1 / (1 + normA * normx / safe_normb)
        rtol = btol + atol * normA * normx / safe_normb
        istop = jnp.array(0)  # the last matching test wins, as in the paper's code
        for flag, code in ((itn >= maxiter, 7), (1 + test3 <= 1, 6), (1 + test2 <= 1, 5), (1 + t1 <= 1, 4),
                           (test3 <= ctol, 3), (test2 <= atol, 2), (test1 <= rtol, 1)):
            istop = jnp.where(flag, code, istop)
        return dict(x=x, u=u, v=v, h=h, hbar=hbar, alpha=alpha, alphabar=alphabar, zetabar=zetabar, rho=rho,
                    rhobar=rhobar, cbar=cbar, sbar=sbar, zeta=zeta, betadd=betadd, betad=betad, rhodold=rhodold,
                    tautildeold=tautildeold, thetatilde=thetatilde, d=d, normA2=normA2, maxrbar=maxrbar,
                    minrbar=minrbar, normA=normA, condA=condA, normx=normx, normr=normr, normar=normar, itn=itn,
                    istop=istop)

    s = jax.lax.while_loop(cond, body, s0)
    stats = jnp.stack([s[k].astype(real) for k in ("istop", "itn", "normr", "normar", "normA", "condA", "normx")])
    return s["x"], stats


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _lsmr_diff(fn, consts, b, damp, x0, tols, maxiter):
    matvec = lambda x: fn(x, *consts)  # noqa: E731
    return _lsmr_loop(matvec, _transpose(fn, consts, x0), b, x0, damp, tols, maxiter)


@_lsmr_diff.defjvp
def _lsmr_jvp(fn, primals, tangents):
    consts, b, damp, x0, tols, maxiter = primals
    dconsts, db, ddamp, *_ = tangents
    x, stats = _lsmr_diff(fn, consts, b, damp, x0, tols, maxiter)
    matvec = lambda v: fn(v, *consts)  # noqa: E731
    rmatvec = _transpose(fn, consts, x)
    r = b - matvec(x)
    # d/dt of A^T (b - A x) - damp^2 x = 0 gives (A^T A + damp^2) dx = dA^T r + A^T (db - dA x) - 2 damp ddamp x.
    dAx = jax.jvp(lambda *c: fn(x, *c), tuple(consts), tuple(dconsts))[1]
    dATr = jax.jvp(lambda *c: _transpose(fn, c, x)(r), tuple(consts), tuple(dconsts))[1]
    rhs = dATr + rmatvec(db - dAx) - 2 * damp * ddamp * x
    normal = lambda v: rmatvec(matvec(v)) + damp**2 * v  # noqa: E731

    def solve(mv, rhs):
        bn = norm(rhs)
        tol = jnp.finfo(rhs.dtype).eps ** 0.75 * bn
        sol, _ = CG.core(mv, None, rhs, jnp.zeros_like(rhs), tol, 10 * rhs.shape[0], None)
        return jnp.where(bn == 0, rhs, sol)

    dx = jax.lax.custom_linear_solve(normal, rhs, solve, symmetric=True)
    return (x, stats), (dx, jnp.zeros_like(stats))


def _run(op: Any, b: Array, damp: Array, x0: Array, tols: Array, maxiter: Array) -> tuple[Array, Array]:
    fn, consts = jax.closure_convert(lambda v: op.matvec(v), x0)
    return _lsmr_diff(fn, tuple(consts), b, damp, x0, jax.lax.stop_gradient(tols), maxiter)


_run_jitted = eqx.filter_jit(_run)  # eager calls: one compilation per operator structure and shapes


def lsmr(
    A: Any,
    b: ArrayLike,
    damp: float = 0.0,
    atol: float = 1e-6,
    btol: float = 1e-6,
    conlim: float = 1e8,
    maxiter: int | None = None,
    show: bool = False,
    x0: ArrayLike | None = None,
) -> LsmrResult:
    """Least squares ``min ||A x - b||^2 + damp^2 ||x||^2`` by LSMR; mirrors :func:`scipy.sparse.linalg.lsmr`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        The ``(M, N)`` matrix or operator (real).
    b : array, shape (M,)
    damp : float
        Damping (Tikhonov) coefficient.
    atol, btol : float
        Stopping tolerances, as in SciPy.
    conlim : float
        Stop when the estimated ``cond(A)`` exceeds it.
    maxiter : int, optional
        Maximum number of iterations (default ``min(M, N)``, SciPy's).
    show : bool
        Must be False (no printing from traced code).
    x0 : array, shape (N,), optional
        Starting guess.

    Returns
    -------
    LsmrResult
        ``(x, istop, itn, normr, normar, norma, conda, normx)``, SciPy's tuple.

    Differences from SciPy
    ----------------------
    - ``istop`` and ``itn`` are JAX integer arrays; the result is a NamedTuple (unpacks the same).
    - Only real problems are supported.
    - ``A^T`` is applied as ``jax.linear_transpose`` of ``A``'s matvec.
    - Gradients of ``x`` (with respect to ``b``, ``damp``, the matrix or arrays the operator closes
      over) come from the normal equations, solved by CG; the other outputs get no gradient.
      They are the gradients of the exact least-squares solution, so they are right only where
      LSMR converged (``istop`` 1 or 2).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import lsmr
    >>> A = jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> res = lsmr(A, jnp.array([1.0, 0.0, -1.0]), atol=1e-10, btol=1e-10)
    >>> [round(float(v), 6) for v in res.x]
    [1.0, -1.0]
    """
    if show:
        raise NotImplementedError("`show=True` is not supported by scijax's lsmr")
    for name, val in (("atol", atol), ("btol", btol), ("conlim", conlim), ("damp", damp)):
        check_tolerance(name, val)
    maxiter = check_maxiter(maxiter)
    if callable(A) and not hasattr(A, "shape"):
        raise TypeError("`A` must be a matrix or LinearOperator for lsmr (its shape is needed)")
    try:
        op = aslinearoperator(A)
    except (TypeError, ValueError) as err:
        raise type(err)(f"`A`: {err}") from None
    m, n = op.shape
    b = jnp.asarray(b)
    if b.ndim > 1:
        b = b.squeeze()
    if b.shape != (m,):
        raise ValueError(f"shapes of `A` {op.shape} and `b` {b.shape} are incompatible")
    dtype = jnp.result_type(op.dtype, b.dtype, float)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise NotImplementedError("complex `A` or `b` is not supported by scijax's lsmr")
    b = b.astype(dtype)
    if x0 is None:
        x0 = jnp.zeros(n, dtype)
    else:
        x0 = jnp.asarray(x0, dtype)
        if x0.shape != (n,):
            raise ValueError(f"shapes of `A` {op.shape} and `x0` {x0.shape} are incompatible")
    maxiter = min(m, n) if maxiter is None else maxiter
    tols = jnp.stack([jnp.asarray(t, dtype) for t in (atol, btol, conlim)])
    op = canonical_leaves(op)
    damp_arr = jnp.asarray(damp, dtype)
    x0 = jax.lax.stop_gradient(x0)
    run = _run_jitted if is_concrete(op, b, damp_arr, x0, tols) else _run
    x, stats = run(op, b, damp_arr, x0, tols, jnp.asarray(maxiter, jnp.int32))
    ints = stats[:2].astype(jnp.int32)
    return LsmrResult(x, ints[0], ints[1], *stats[2:])
