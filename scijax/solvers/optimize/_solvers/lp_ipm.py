"""Homogeneous self-dual interior-point method for linear programs in standard form.

Solves

    minimise    c @ x
    subject to  A @ x = b,   0 <= x,   x[j] <= u[j] where umask[j]

by the homogeneous and self-dual embedding of Xu, Hung and Ye (1996) with the upper-bound
handling of Andersen and Andersen (2000), "The MOSEK interior point optimizer for linear
programming: an implementation of the homogeneous algorithm". Each iteration takes one
Mehrotra predictor-corrector step; the Newton system is reduced to normal equations
``A D^-1 A^T dy = r`` solved by a regularised Cholesky factorisation (two right-hand sides per
factorisation: the embedding adds the scalar ``tau``). The loop is one ``lax.while_loop`` with
a fixed iteration cap, so the whole solve is a single traced program (``jit``/``vmap`` safe).

Infeasibility is read off the embedding: when ``tau`` vanishes relative to ``kappa`` while the
complementarity ``mu`` has been reduced, the iterate is a certificate -- a dual ray
(``b @ y - u @ v > 0``) proves primal infeasibility, a primal ray (``c @ x < 0``) proves
unboundedness.

Status codes are SciPy's ``linprog`` codes: 0 optimal, 1 iteration limit, 2 infeasible,
3 unbounded, 4 numerical difficulties.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["IPMSolution", "hsd_ipm", "ruiz_scale"]


class IPMSolution(NamedTuple):
    """Iterate of the embedding; divide ``x, w, y, s, v`` by ``tau`` for the LP solution."""

    x: Array
    w: Array
    y: Array
    s: Array
    v: Array
    tau: Array
    kappa: Array
    status: Array
    nit: Array


def ruiz_scale(A: Array, iters: int = 8) -> tuple[Array, Array]:
    """Row and column scalings ``r, q`` such that ``r[:, None] * A * q`` has rows and columns
    of unit infinity norm (Ruiz equilibration); zero rows/columns keep scale 1."""
    m, n = A.shape
    r = jnp.ones(m, A.dtype)
    q = jnp.ones(n, A.dtype)

    def body(_, rq):
        r, q = rq
        B = jnp.abs(r[:, None] * A * q[None, :])
        rn = jnp.max(B, axis=1, initial=0.0)
        cn = jnp.max(B, axis=0, initial=0.0)
        r = r / jnp.where(rn > 0, jnp.sqrt(rn), 1.0)
        q = q / jnp.where(cn > 0, jnp.sqrt(cn), 1.0)
        return r, q

    return jax.lax.fori_loop(0, iters, body, (r, q))


def _max_step(z: Array, dz: Array) -> Array:
    ratio = jnp.where(dz < 0, -z / jnp.where(dz < 0, dz, -1.0), jnp.inf)
    return jnp.min(ratio, initial=jnp.inf)


def hsd_ipm(A: Array, b: Array, c: Array, umask: Array, u: Array, tol: float, maxiter: int) -> IPMSolution:
    """Run the homogeneous interior-point method; see the module docstring.

    ``umask`` is a 0/1 float array; ``u`` must be finite (0 where ``umask`` is 0).
    """
    m, N = A.shape
    dt = A.dtype
    eps = jnp.finfo(dt).eps
    um = umask.astype(dt)
    u = u * um
    nu = jnp.sum(um)
    denom = N + nu + 1.0
    reg_p = jnp.sqrt(eps) * 1e-2
    reg_d = jnp.sqrt(eps) * 1e-2
    bnorm = 1.0 + jnp.linalg.norm(b) + jnp.linalg.norm(u)
    cnorm = 1.0 + jnp.linalg.norm(c)

    def residuals(z):
        x, w, y, s, v, tau, kap = z
        f1 = A @ x - b * tau
        f2 = um * (x + w - u * tau)
        f3 = A.T @ y + s - um * v - c * tau
        f4 = c @ x - b @ y + u @ v + kap
        return f1, f2, f3, f4

    def mu_of(z):
        x, w, y, s, v, tau, kap = z
        return (x @ s + (um * w) @ v + tau * kap) / denom

    def direction(z, fs, chol, Dinv, eta, rxs, rwv, rtk):
        x, w, y, s, v, tau, kap = z
        f1, f2, f3, f4 = fs
        vw = um * v / w
        chat = c - vw * u
        h3 = -eta * f3 - rxs / x + um * (rwv / w) + vw * eta * f2
        rhs = jnp.stack([-eta * f1 + A @ (Dinv * h3), b + A @ (Dinv * chat)], axis=1)
        pq = jax.scipy.linalg.cho_solve((chol, True), rhs)
        p, q = pq[:, 0], pq[:, 1]
        xp = Dinv * (A.T @ p - h3)
        xq = Dinv * (A.T @ q - chat)
        dv0 = um * (rwv / w + vw * eta * f2 + vw * xp)
        dv1 = um * (vw * xq - vw * u)
        const = c @ xp - b @ p + u @ dv0 + rtk / tau
        coef = c @ xq - b @ q + u @ dv1 - kap / tau
        dtau = (-eta * f4 - const) / coef
        dx = xp + xq * dtau
        dy = p + q * dtau
        dv = dv0 + dv1 * dtau
        dw = um * (-eta * f2 - dx + u * dtau)
        ds = (rxs - s * dx) / x
        dkap = (rtk - kap * dtau) / tau
        return dx, dw, dy, ds, dv, dtau, dkap

    def step_length(z, d):
        x, w, y, s, v, tau, kap = z
        dx, dw, dy, ds, dv, dtau, dkap = d
        big = jnp.asarray(jnp.inf, dt)
        a = jnp.minimum(_max_step(x, dx), _max_step(s, ds))
        a = jnp.minimum(a, _max_step(jnp.where(um > 0, w, big), dw))
        a = jnp.minimum(a, _max_step(jnp.where(um > 0, v, big), dv))
        a = jnp.minimum(a, _max_step(tau[None], dtau[None]))
        return jnp.minimum(a, _max_step(kap[None], dkap[None]))

    def move(z, d, a):
        return tuple(zi + a * di for zi, di in zip(z, d, strict=True))

    def classify(z, mu0):
        x, w, y, s, v, tau, kap = z
        f1, f2, f3, f4 = residuals(z)
        mu = mu_of(z)
        pres = (jnp.linalg.norm(f1) + jnp.linalg.norm(f2)) / (tau * bnorm)
        dres = jnp.linalg.norm(f3) / (tau * cnorm)
        pobj = c @ x / tau
        dobj = (b @ y - u @ v) / tau
        gap = jnp.abs(pobj - dobj) / (1.0 + jnp.abs(pobj))
        optimal = (pres < tol) & (dres < tol) & (gap < tol)
        infeas = (tau < tol * jnp.maximum(1.0, kap)) & (mu < tol * mu0)
        by = b @ y - u @ v
        cx = c @ x
        inf_code = jnp.where(by > jnp.maximum(0.0, -cx), 2, jnp.where(cx < 0, 3, 4))
        finite = jnp.all(jnp.isfinite(jnp.concatenate([x, y, s, w, v, jnp.stack([tau, kap])])))
        status = jnp.where(optimal, 0, jnp.where(infeas, inf_code, -1))
        return jnp.where(finite, status, 4).astype(jnp.int32)

    def body(carry):
        z, k, _, mu0 = carry
        x, w, y, s, v, tau, kap = z
        fs = residuals(z)
        mu = mu_of(z)
        D = s / x + um * v / w + reg_p
        Dinv = 1.0 / D
        M = (A * Dinv[None, :]) @ A.T
        # relative dual regularisation keeps the factorisation alive for dependent rows
        M = M + (reg_d + eps * jnp.max(jnp.diag(M))) * jnp.eye(m, dtype=dt)
        chol = jnp.linalg.cholesky(M)

        # Mehrotra: phase 0 is the affine (predictor) direction and picks sigma; phase 1 the
        # centred corrector. One loop of two phases keeps a single traced copy of the solve.
        def phase(i, carry):
            d_prev, sigma = carry
            corr = i == 1
            dx, dw, _, ds, dv, dtau, dkap = d_prev
            sm = jnp.where(corr, sigma * mu, 0.0)
            rxs = sm - x * s - dx * ds
            rwv = um * (sm - w * v - dw * dv)
            rtk = sm - tau * kap - dtau * dkap
            eta = jnp.where(corr, 1.0 - sigma, 1.0)
            d = direction(z, fs, chol, Dinv, eta, rxs, rwv, rtk)
            a_aff = jnp.minimum(1.0, step_length(z, d))
            sigma_aff = jnp.clip((mu_of(move(z, d, a_aff)) / mu) ** 3, 0.0, 1.0)
            return d, jnp.where(corr, sigma, sigma_aff)

        zero_d = jax.tree_util.tree_map(jnp.zeros_like, z)
        d, _ = jax.lax.fori_loop(0, 2, phase, (zero_d, jnp.asarray(0.0, dt)))
        a = jnp.minimum(1.0, 0.995 * step_length(z, d))
        z = move(z, d, a)
        # keep the unbounded-above components inert
        x, w, y, s, v, tau, kap = z
        z = (x, jnp.where(um > 0, w, 1.0), y, s, um * v, tau, kap)
        return z, k + 1, classify(z, mu0), mu0

    def cond(carry):
        _, k, status, _ = carry
        return (status < 0) & (k < maxiter)

    one = jnp.ones(N, dt)
    z0 = (one, one, jnp.zeros(m, dt), one, um, jnp.asarray(1.0, dt), jnp.asarray(1.0, dt))
    mu0 = mu_of(z0)
    init = (z0, jnp.asarray(0, jnp.int32), classify(z0, mu0), mu0)
    z, k, status, _ = jax.lax.while_loop(cond, body, init)
    status = jnp.where(status < 0, 1, status)
    return IPMSolution(*z, status=status, nit=k)
