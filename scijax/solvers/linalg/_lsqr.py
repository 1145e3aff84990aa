"""LSQR for sparse least squares, :func:`scipy.sparse.linalg.lsqr` (Paige and Saunders).

The iteration is SciPy's, in a ``lax.while_loop``. Derivatives come from the normal equations
``(A^T A + damp^2 I) x = A^T b`` (implicit function theorem), solved by CG through
``jax.lax.custom_linear_solve``; iterations are never unrolled.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._cg import CG
from ._krylov import check_maxiter, check_tolerance, norm
from ._operator import aslinearoperator

__all__ = ["lsqr", "LsqrResult"]


class LsqrResult(NamedTuple):
    """SciPy's 10-tuple, with names: unpack it exactly as SciPy's result."""

    x: Array
    istop: Array
    itn: Array
    r1norm: Array
    r2norm: Array
    anorm: Array
    acond: Array
    arnorm: Array
    xnorm: Array
    var: Array


def _sym_ortho(a, b):
    """Stable Givens rotation (SciPy's ``_sym_ortho``), branch-free."""
    aa, ab = jnp.abs(a), jnp.abs(b)
    big_b = ab > aa
    tau_b = a / jnp.where(b == 0, 1, b)
    s_b = jnp.sign(b) / jnp.sqrt(1 + tau_b**2)
    tau_a = b / jnp.where(a == 0, 1, a)
    c_a = jnp.sign(a) / jnp.sqrt(1 + tau_a**2)
    c = jnp.where(big_b, s_b * tau_b, c_a)
    s = jnp.where(big_b, s_b, c_a * tau_a)
    r = jnp.where(big_b, b / jnp.where(s_b == 0, 1, s_b), a / jnp.where(c_a == 0, 1, c_a))
    c = jnp.where(b == 0, jnp.sign(a), jnp.where(a == 0, 0, c))
    s = jnp.where(b == 0, 0, jnp.where(a == 0, jnp.sign(b), s))
    r = jnp.where(b == 0, aa, jnp.where(a == 0, ab, r))
    return c, s, r


def _lsqr_loop(matvec, rmatvec, b, x0, damp, atol, btol, conlim, iter_lim, calc_var):
    real = b.dtype
    eps = jnp.finfo(real).eps
    ctol = jnp.where(conlim > 0, 1 / jnp.where(conlim > 0, conlim, 1), 0)
    dampsq = damp**2
    bnorm = norm(b)
    u = b - matvec(x0)
    beta = norm(u)
    u = jnp.where(beta > 0, u / jnp.where(beta > 0, beta, 1), u)
    v = jnp.where(beta > 0, rmatvec(u), x0)
    alfa = jnp.where(beta > 0, norm(v), 0)
    v = jnp.where(alfa > 0, v / jnp.where(alfa > 0, alfa, 1), v)
    z0 = jnp.zeros((), real)
    s0 = dict(x=x0, u=u, v=v, w=v, alfa=alfa, rhobar=alfa, phibar=beta, anorm=z0, acond=z0, ddnorm=z0,
              res2=z0, xnorm=z0, xxnorm=z0, z=z0, cs2=-jnp.ones((), real), sn2=z0, r1norm=beta, r2norm=beta,
              arnorm=alfa * beta, var=jnp.zeros_like(x0), itn=jnp.array(0), istop=jnp.array(0))
    safe_bnorm = jnp.where(bnorm == 0, 1, bnorm)

    def cond(s):
        return (s["istop"] == 0) & (s["itn"] < iter_lim) & (s["arnorm"] != 0)

    def body(s):
        itn = s["itn"] + 1
        alfa = s["alfa"]
        u = matvec(s["v"]) - alfa * s["u"]
        beta = norm(u)
        pos = beta > 0
        u = jnp.where(pos, u / jnp.where(pos, beta, 1), u)
        anorm = jnp.where(pos, jnp.sqrt(s["anorm"] ** 2 + alfa**2 + beta**2 + dampsq), s["anorm"])
        v = jnp.where(pos, rmatvec(u) - beta * s["v"], s["v"])
        alfa = jnp.where(pos, norm(v), alfa)
        v = jnp.where(pos & (alfa > 0), v / jnp.where(alfa > 0, alfa, 1), v)
        rhobar1 = jnp.sqrt(s["rhobar"] ** 2 + dampsq)
        cs1 = s["rhobar"] / rhobar1
        sn1 = damp / rhobar1
        psi = sn1 * s["phibar"]
        phibar = cs1 * s["phibar"]
        cs, sn, rho = _sym_ortho(rhobar1, beta)
        theta = sn * alfa
        rhobar = -cs * alfa
        phi = cs * phibar
        phibar = sn * phibar
        tau = sn * phi
        w = s["w"]
        dk = w / rho
        x = s["x"] + (phi / rho) * w
        w = v - (theta / rho) * w
        ddnorm = s["ddnorm"] + norm(dk) ** 2
        var = s["var"] + dk**2 if calc_var else s["var"]
        delta = s["sn2"] * rho
        gambar = -s["cs2"] * rho
        rhs = phi - delta * s["z"]
        zbar = rhs / gambar
        xnorm = jnp.sqrt(s["xxnorm"] + zbar**2)
        gamma = jnp.sqrt(gambar**2 + theta**2)
        cs2, sn2 = gambar / gamma, theta / gamma
        z = rhs / gamma
        xxnorm = s["xxnorm"] + z**2
        acond = anorm * jnp.sqrt(ddnorm)
        res2 = s["res2"] + psi**2
        rnorm = jnp.sqrt(phibar**2 + res2)
        arnorm = alfa * jnp.abs(tau)
        r1sq = rnorm**2 - dampsq * xxnorm
        r1norm = jnp.where(damp > 0, jnp.sign(r1sq) * jnp.sqrt(jnp.abs(r1sq)), rnorm)
        test1 = rnorm / safe_bnorm
        test2 = arnorm / (anorm * rnorm + eps)
        test3 = 1 / (acond + eps)
        t1 = test1 / (1 + anorm * xnorm / safe_bnorm)
        rtol = btol + atol * anorm * xnorm / safe_bnorm
        # SciPy's priority: the last matching test wins.
        istop = jnp.array(0)
        for flag, code in ((itn >= iter_lim, 7), (1 + test3 <= 1, 6), (1 + test2 <= 1, 5), (1 + t1 <= 1, 4),
                           (test3 <= ctol, 3), (test2 <= atol, 2), (test1 <= rtol, 1)):
            istop = jnp.where(flag, code, istop)
        return dict(x=x, u=u, v=v, w=w, alfa=alfa, rhobar=rhobar, phibar=phibar, anorm=anorm, acond=acond,
                    ddnorm=ddnorm, res2=res2, xnorm=xnorm, xxnorm=xxnorm, z=z, cs2=cs2, sn2=sn2,
                    r1norm=r1norm, r2norm=rnorm, arnorm=arnorm, var=var, itn=itn, istop=istop)

    s = jax.lax.while_loop(cond, body, s0)
    stats = jnp.stack([s[k].astype(real) for k in ("istop", "itn", "r1norm", "r2norm", "anorm", "acond",
                                                    "arnorm", "xnorm")])
    return s["x"], stats, s["var"]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _lsqr_diff(fn, options, consts, b, damp, x0):
    matvec = lambda x: fn(x, *consts)  # noqa: E731
    rmatvec = _transpose(fn, consts, x0)
    return _lsqr_loop(matvec, rmatvec, b, x0, damp, *options)


def _transpose(fn, consts, x_like):
    t = jax.linear_transpose(lambda x: fn(x, *consts), x_like)
    return lambda y: t(y)[0]


@_lsqr_diff.defjvp
def _lsqr_jvp(fn, options, primals, tangents):
    consts, b, damp, x0 = primals
    dconsts, db, ddamp, _ = tangents
    x, stats, var = _lsqr_diff(fn, options, consts, b, damp, x0)
    matvec = lambda v: fn(v, *consts)  # noqa: E731
    rmatvec = _transpose(fn, consts, x)
    r = b - matvec(x)
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
    return (x, stats, var), (dx, jnp.zeros_like(stats), jnp.zeros_like(var))


def lsqr(
    A: Any,
    b: ArrayLike,
    damp: float = 0.0,
    atol: float = 1e-6,
    btol: float = 1e-6,
    conlim: float = 1e8,
    iter_lim: int | None = None,
    show: bool = False,
    calc_var: bool = False,
    x0: ArrayLike | None = None,
) -> LsqrResult:
    """Least squares ``min ||A x - b||^2 + damp^2 ||x||^2`` by LSQR; mirrors :func:`scipy.sparse.linalg.lsqr`.

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
    iter_lim : int, optional
        Maximum number of iterations (default ``2 * N``).
    show : bool
        Must be False (no printing from traced code).
    calc_var : bool
        Whether to estimate the diagonal of ``(A^T A + damp^2 I)^{-1}``.
    x0 : array, shape (N,), optional
        Starting guess.

    Returns
    -------
    LsqrResult
        ``(x, istop, itn, r1norm, r2norm, anorm, acond, arnorm, xnorm, var)``, SciPy's tuple.

    Differences from SciPy
    ----------------------
    - ``istop`` and ``itn`` are JAX integer arrays; the result is a NamedTuple (unpacks the same).
    - Only real problems are supported.
    - Gradients of ``x`` (with respect to ``b``, ``damp``, the matrix or arrays the operator closes
      over) come from the normal equations, solved by CG; the other outputs get no gradient.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import lsqr
    >>> A = jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> res = lsqr(A, jnp.array([1.0, 0.0, -1.0]), atol=1e-10, btol=1e-10)
    >>> [round(float(v), 6) for v in res.x]
    [1.0, -1.0]
    """
    if show:
        raise NotImplementedError("`show=True` is not supported by scijax's lsqr")
    for name, val in (("atol", atol), ("btol", btol), ("conlim", conlim), ("damp", damp)):
        check_tolerance(name, val)
    iter_lim = check_maxiter(iter_lim) if iter_lim is not None else None
    if callable(A) and not hasattr(A, "shape"):
        raise TypeError("`A` must be a matrix or LinearOperator for lsqr (its shape is needed)")
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
        raise NotImplementedError("complex `A` or `b` is not supported by scijax's lsqr")
    b = b.astype(dtype)
    if x0 is None:
        x0 = jnp.zeros(n, dtype)
    else:
        x0 = jnp.asarray(x0, dtype)
        if x0.shape != (n,):
            raise ValueError(f"shapes of `A` {op.shape} and `x0` {x0.shape} are incompatible")
    iter_lim = 2 * n if iter_lim is None else iter_lim
    fn, consts = jax.closure_convert(lambda v: op.matvec(v), x0)
    options = (np.float64(atol), np.float64(btol), np.float64(conlim), int(iter_lim), bool(calc_var))
    x, stats, var = _lsqr_diff(fn, options, tuple(consts), b, jnp.asarray(damp, dtype),
                               jax.lax.stop_gradient(x0))
    ints = stats[:2].astype(jnp.int32)
    return LsqrResult(x, ints[0], ints[1], *stats[2:], var)
