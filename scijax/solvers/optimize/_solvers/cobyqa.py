"""COBYQA's derivative-free trust-region engine (unconstrained and bound-constrained problems).

Written from the published description (Ragonneau, "Model-Based Derivative-Free Optimization
Methods and Software", PhD thesis, 2022; Powell's NEWUOA/BOBYQA papers for the model updates):

* ``npt = 2n + 1`` interpolation points, initially ``x0`` and ``x0 ± r e_i`` (moved to one side of
  ``x0`` where a bound is closer than ``r``, so that every point is feasible).
* The quadratic model interpolates ``f`` on the points; its Hessian changes least in the Frobenius
  norm from the previous model's (the underdetermined interpolation of NEWUOA). Here the KKT system
  of that problem is formed and solved (in coordinates scaled by the points' spread) at every
  iteration instead of updating its inverse: ``O(npt^3)`` per iteration, meant for small ``n``.
* The trust-region step minimises the model in the ball and the box by truncated conjugate
  gradients that fix a variable when it reaches its bound and restart (as BOBYQA's TRSBOX does).
* Radii: ``delta`` (trust region) and ``rho`` (resolution, its lower bound) from
  ``initial_tr_radius`` down to ``final_tr_radius``; a poor step with a far point triggers a
  geometry step that moves the farthest point to where its Lagrange function is large.

Every point the engine evaluates lies inside the bounds. A non-finite ``f`` is replaced in the
model by a value worse than every finite one, so the method retreats from it.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["COBYQA", "COBYQA_STATUS"]

COBYQA_STATUS = {"radius": 0, "target": 1, "fixed": 2, "maxfev": 5, "maxiter": 6, "linalg": -2}


class _State(eqx.Module):
    pts: Array  # (npt, n)
    fval: Array  # (npt,) as the model sees them (non-finite values replaced)
    kopt: Array
    base: Array  # the previous model: q(x) = c + g.(x - base) + (x - base) H (x - base) / 2
    g: Array
    h: Array
    rho: Array
    delta: Array
    geo_next: Array
    reduce_next: Array
    nit: Array
    nfev: Array
    info: Array
    done: Array


def _model_value(c, g, h, base, x):
    d = x - base
    return c + g @ d + 0.5 * d @ h @ d


def _fit(pts, fval, kopt, base, g_prev, h_prev):
    """Least-Frobenius-change model about ``pts[kopt]`` and the inverse KKT matrix (scaled)."""
    npt, n = pts.shape
    xo = pts[kopt]
    d = pts - xo
    s = jnp.maximum(jnp.max(jnp.linalg.norm(d, axis=1)), jnp.finfo(pts.dtype).tiny)
    u = d / s
    a = 0.5 * (u @ u.T) ** 2
    z = jnp.concatenate([jnp.ones((npt, 1), pts.dtype), u], 1)
    w = jnp.block([[a, z], [z.T, jnp.zeros((n + 1, n + 1), pts.dtype)]])
    w_inv = jnp.linalg.pinv(w, hermitian=True)
    prev = jax.vmap(lambda p: _model_value(0.0, g_prev, h_prev, base, p))(pts)
    r = fval - prev
    r = r - r[kopt]
    coef = w_inv[:, :npt] @ r
    lam, cu, gu = coef[:npt], coef[npt], coef[npt + 1:]
    g = g_prev + h_prev @ (xo - base) + gu / s
    h = h_prev + (u.T * lam) @ u / s**2
    return fval[kopt] + 0.0 * cu, g, h, w_inv, s


def _lagrange(w_inv, pts, kopt, s, x):
    """Values at ``x`` of the ``npt`` Lagrange functions of the least-Frobenius interpolation."""
    npt = pts.shape[0]
    u = (pts - pts[kopt]) / s
    v = (x - pts[kopt]) / s
    wv = jnp.concatenate([0.5 * (u @ v) ** 2, jnp.ones((1,), x.dtype), v])
    return w_inv[:npt] @ wv


def _trsbox(g, h, delta, xo, lower, upper):
    """Truncated CG on the model in ``||s|| <= delta`` and ``lower <= xo + s <= upper``."""
    n = g.shape[0]
    lo, hi = lower - xo, upper - xo
    big = jnp.asarray(jnp.inf, g.dtype)

    def free_mask(s, gs):
        return jnp.invert(((s <= lo) & (gs > 0)) | ((s >= hi) & (gs < 0)))

    s0 = jnp.zeros_like(g)
    free0 = free_mask(s0, g)
    d0 = -g * free0
    tol = 1e-2 * jnp.linalg.norm(d0)

    def cond(c):
        _, _, d, _, it, done = c
        return jnp.invert(done) & (it < 2 * n + 2) & (jnp.linalg.norm(d) > 0)

    def body(c):
        s, gs, d, free, it, _ = c
        r = -gs * free
        hd = h @ d
        curv = d @ hd
        rr = r @ r
        a_cg = jnp.where(curv > 0, rr / jnp.where(curv > 0, curv, 1.0), big)
        sd, dd, ss = s @ d, d @ d, s @ s
        a_tr = (-sd + jnp.sqrt(jnp.maximum(sd**2 + dd * (delta**2 - ss), 0.0))) / jnp.maximum(dd, 1e-300)
        per = jnp.where(d > 0, (hi - s) / jnp.where(d > 0, d, 1.0),
                        jnp.where(d < 0, (lo - s) / jnp.where(d < 0, d, -1.0), big))
        per = jnp.maximum(per, 0.0)
        i_bd = jnp.argmin(per)
        a_bd = per[i_bd]
        alpha = jnp.minimum(jnp.minimum(a_cg, a_tr), a_bd)
        s_new = jnp.clip(s + alpha * d, lo, hi)
        gs_new = gs + alpha * hd
        hit_tr = alpha >= a_tr
        hit_bd = (alpha >= a_bd) & jnp.invert(hit_tr)
        free_new = jnp.where(hit_bd, free.at[i_bd].set(False), free)
        r_new = -gs_new * free_new
        beta = (r_new @ r_new) / jnp.maximum(rr, 1e-300)
        d_new = jnp.where(hit_bd, r_new, (r_new + beta * d) * free_new)
        done = hit_tr | (jnp.linalg.norm(r_new) <= tol)
        return s_new, gs_new, d_new, free_new, it + 1, done

    s, *_ = jax.lax.while_loop(cond, body, (s0, g, d0, free0, jnp.array(0), jnp.array(False)))
    return s


class COBYQA(optx.AbstractMinimiser):
    """COBYQA on a box; see the module docstring. Bounds come in ``options`` (``lower``, ``upper``)."""

    radius_init: float = 1.0
    radius_final: float = 1e-6
    maxfev: int = 1000
    maxiter: int = 2000
    target: float = -float("inf")
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _bounds(self, y, options):
        lower = options.get("lower", jnp.full_like(y, -jnp.inf)) if options else jnp.full_like(y, -jnp.inf)
        upper = options.get("upper", jnp.full_like(y, jnp.inf)) if options else jnp.full_like(y, jnp.inf)
        return jnp.asarray(lower, y.dtype), jnp.asarray(upper, y.dtype)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        n = y.shape[0]
        dtype = y.dtype
        lower, upper = self._bounds(y, options)
        width = jnp.where(upper > lower, upper - lower, jnp.inf)
        r = jnp.minimum(jnp.asarray(self.radius_init, dtype), 0.25 * jnp.min(width, initial=jnp.inf))
        up_ok, dn_ok = y + r <= upper, y - r >= lower
        p1 = jnp.where(up_ok, y + r, y - r)
        p2 = jnp.where(dn_ok & up_ok, y - r, jnp.where(up_ok, y + 2 * r, y - 2 * r))
        fixed = upper <= lower  # (no displacement along a fixed variable; the model ignores it)
        p1, p2 = jnp.where(fixed, y, p1), jnp.where(fixed, y, p2)
        eye = jnp.eye(n, dtype=dtype)
        pts = jnp.concatenate([y[None], y + eye * (p1 - y), y + eye * (p2 - y)], 0)
        fval = jax.lax.map(lambda p: fn(p, args)[0], pts).astype(dtype)
        fval = _sanitize(fval)
        kopt = jnp.argmin(fval)
        zero = jnp.zeros((), dtype)
        false = jnp.array(False)
        at_target = fval[kopt] <= self.target
        all_fixed = jnp.all(fixed)
        bad_x = jnp.invert(jnp.all(jnp.isfinite(y)))  # SciPy's COBYQA: a linear algebra error
        return _State(pts, fval, kopt, pts[kopt], jnp.zeros((n,), dtype), jnp.zeros((n, n), dtype), r + zero,
                      r + zero, false, false, jnp.array(0), jnp.array(2 * n + 1),
                      jnp.where(bad_x, COBYQA_STATUS["linalg"], jnp.where(
                          all_fixed, COBYQA_STATUS["fixed"], jnp.where(at_target, COBYQA_STATUS["target"], 0))),
                      at_target | all_fixed | bad_x)

    def step(self, fn, y, args, options, state, tags):
        dtype = y.dtype
        lower, upper = self._bounds(y, options)
        pts, fval, kopt = state.pts, state.fval, state.kopt
        rho, delta = state.rho, state.delta
        xo, fo = pts[kopt], fval[kopt]
        c, g, h, w_inv, s = _fit(pts, fval, kopt, state.base, state.g, state.h)
        g = jnp.where(jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(h)), g, jnp.zeros_like(g))
        h = jnp.where(jnp.all(jnp.isfinite(h)), h, jnp.zeros_like(h))
        dist = jnp.linalg.norm(pts - xo, axis=1)
        kfar = jnp.argmax(dist)
        step = _trsbox(g, h, delta, xo, lower, upper)
        snorm = jnp.linalg.norm(step)
        short = snorm < 0.5 * rho
        far = dist[kfar] > 2.0 * delta
        # 0: trust-region step, 1: geometry step, 2: reduce rho
        mode = jnp.where(state.reduce_next, 2, jnp.where(state.geo_next & far, 1,
                         jnp.where(jnp.invert(short), 0, jnp.where(far, 1, 2))))
        delta_short = jnp.where(0.5 * delta <= 1.4 * rho, rho, 0.5 * delta)
        delta = jnp.where(short & (mode != 0), delta_short, delta)

        def geometry_point():
            lag_g = w_inv[kfar, npt + 1:] / s
            delbar = jnp.maximum(jnp.minimum(0.1 * dist[kfar], delta), rho)
            dirs = jnp.stack([lag_g, -lag_g, pts[kfar] - xo, xo - pts[kfar]])
            dirs = dirs / jnp.maximum(jnp.linalg.norm(dirs, axis=1, keepdims=True), jnp.finfo(dtype).tiny)
            cands = jnp.clip(xo + delbar * dirs, lower, upper)
            vals = jax.vmap(lambda x: jnp.abs(_lagrange(w_inv, pts, kopt, s, x)[kfar]))(cands)
            return cands[jnp.argmax(jnp.where(jnp.isfinite(vals), vals, -1.0))]

        npt = pts.shape[0]
        x_new = jnp.where(mode == 0, jnp.clip(xo + step, lower, upper), geometry_point())
        evaluate = mode != 2
        f_new = jax.lax.cond(evaluate, lambda x: fn(x, args)[0].astype(dtype), lambda x: fo, x_new)
        f_fin = jnp.isfinite(f_new)
        f_model = jnp.where(f_fin, f_new, jnp.max(fval) + 1.0 + jnp.abs(jnp.max(fval)))
        qred = -(g @ step + 0.5 * step @ h @ step)
        ratio = jnp.where(qred > 0, (fo - f_model) / jnp.where(qred > 0, qred, 1.0), -1.0)
        d_trust = jnp.where(ratio <= 0.1, 0.5 * delta,
                            jnp.where(ratio <= 0.7, jnp.maximum(0.5 * delta, snorm),
                                      jnp.maximum(delta, 2.0 * snorm)))
        d_trust = jnp.where(d_trust <= 1.4 * rho, rho, d_trust)
        # The point to replace: a trust step's by the Lagrange values (weighted by distance).
        lag = jnp.abs(_lagrange(w_inv, pts, kopt, s, x_new))
        weight = jnp.maximum(1.0, (dist / jnp.maximum(0.1 * d_trust, rho)) ** 2)
        score = jnp.where((jnp.arange(npt) == kopt) & (f_model >= fo), -1.0, lag * weight)
        score = jnp.where(jnp.isfinite(score), score, -1.0)
        k_new = jnp.where(mode == 0, jnp.argmax(score), kfar)
        pts2 = jnp.where(evaluate, pts.at[k_new].set(x_new), pts)
        fval2 = jnp.where(evaluate, fval.at[k_new].set(f_model), fval)
        kopt2 = jnp.where(evaluate & (f_model < fo), k_new, kopt)
        delta2 = jnp.where(mode == 0, d_trust, delta)
        dist2 = jnp.linalg.norm(pts2 - pts2[kopt2], axis=1)
        poor = (mode == 0) & (ratio <= 0.1)
        geo_next = poor & (jnp.max(dist2) > 2.0 * delta2)
        reduce_next = poor & jnp.invert(geo_next) & (delta <= rho)
        # Reducing rho (or finishing).
        final = jnp.asarray(self.radius_final, dtype)
        q = rho / final
        rho_red = jnp.where(q <= 16.0, final, jnp.where(q <= 250.0, jnp.sqrt(q) * final, 0.1 * rho))
        finished = (mode == 2) & (rho <= final)
        rho2 = jnp.where((mode == 2) & jnp.invert(finished), rho_red, rho)
        delta2 = jnp.where((mode == 2) & jnp.invert(finished), jnp.maximum(0.5 * delta, rho_red), delta2)
        nit = state.nit + evaluate.astype(state.nit.dtype)
        nfev = state.nfev + evaluate.astype(state.nfev.dtype)
        at_target = evaluate & (f_model <= self.target)
        info = jnp.where(finished, COBYQA_STATUS["radius"],
                         jnp.where(at_target, COBYQA_STATUS["target"],
                                   jnp.where(nfev >= self.maxfev, COBYQA_STATUS["maxfev"],
                                             jnp.where(nit >= self.maxiter, COBYQA_STATUS["maxiter"], 0))))
        done = finished | at_target | (nfev >= self.maxfev) | (nit >= self.maxiter)
        new = _State(pts2, fval2, kopt2, xo, g, h, rho2, delta2, geo_next, reduce_next, nit, nfev, info, done)
        return pts2[kopt2], new, None

    def terminate(self, fn, y, args, options, state, tags):
        return state.done, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.pts[state.kopt], aux, {"nit": state.nit, "nfev": state.nfev, "info": state.info,
                                            "converged": state.info <= 2}


def _sanitize(fval):
    finite = jnp.isfinite(fval)
    worst = jnp.max(jnp.where(finite, fval, -jnp.inf))
    worst = jnp.where(jnp.isfinite(worst), worst, 0.0)
    return jnp.where(finite, fval, worst + 1.0 + jnp.abs(worst))
