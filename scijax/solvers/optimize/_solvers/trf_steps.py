"""Building blocks of SciPy's Trust Region Reflective least squares (``scipy/optimize/_lsq``),
in pure JAX: Coleman-Li scaling, the exact trust-region subproblem through an SVD (on the
secular-equation solver of :mod:`.trust_region`), the reflective step selection and SciPy's
robust losses. ``_trf.py`` composes them into a solver."""

from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array

from .trust_region import secular_norm, solve_secular, sphere_intersections

__all__ = ["LOSSES", "loss_rho", "cl_scaling", "solve_tr_svd", "select_step", "check_termination",
           "strictly_feasible", "active_constraints"]


def _huber(z):
    small = z <= 1
    sz = jnp.sqrt(jnp.where(small, 1.0, z))
    return (jnp.where(small, z, 2 * sz - 1), jnp.where(small, 1.0, 1 / sz),
            jnp.where(small, 0.0, -0.5 / sz**3))


def _soft_l1(z):
    t = 1 + z
    return 2 * (jnp.sqrt(t) - 1), t**-0.5, -0.5 * t**-1.5


def _cauchy(z):
    t = 1 + z
    return jnp.log1p(z), 1 / t, -1 / t**2


def _arctan(z):
    t = 1 + z**2
    return jnp.arctan(z), 1 / t, -2 * z / t**2


LOSSES: dict[str, Callable | None] = {"linear": None, "huber": _huber, "soft_l1": _soft_l1,
                                      "cauchy": _cauchy, "arctan": _arctan}
"""SciPy's robust losses: ``rho(z)`` and its first two derivatives, ``z = (f / f_scale)**2``."""


def loss_rho(loss: Callable, f: Array, f_scale) -> tuple[Array, Array, Array]:
    """``rho`` scaled as SciPy's ``construct_loss_function`` does."""
    z = (f / f_scale) ** 2
    r0, r1, r2 = (jnp.asarray(r) for r in loss(z))
    return r0 * f_scale**2, r1, r2 / f_scale**2


def scale_for_loss(jac, f, rho):
    eps = jnp.finfo(f.dtype).eps
    j_scale = jnp.sqrt(jnp.maximum(rho[1] + 2 * rho[2] * f**2, eps))
    return jac * j_scale[:, None], f * rho[1] / j_scale


def cl_scaling(x, g, lb, ub):
    """Coleman-Li scaling vector ``v`` and its derivative sign ``dv``."""
    up = (g < 0) & jnp.isfinite(ub)
    lo = (g > 0) & jnp.isfinite(lb)
    v = jnp.where(lo, x - lb, jnp.where(up, ub - x, 1.0))
    dv = jnp.where(lo, 1.0, jnp.where(up, -1.0, 0.0))
    return v, dv


def solve_tr_svd(m, uf, s, vt, delta, alpha, rtol=0.01, max_iter=10):
    """SciPy's ``solve_lsq_trust_region``: the step and the new Levenberg-Marquardt parameter.

    The secular equation is in the SVD basis: ``|p(a)| = |s uf / (s^2 + a)|``.
    """
    n = s.shape[0]
    eps = jnp.finfo(s.dtype).eps
    suf = s * uf
    full_rank = (s[-1] > eps * m * s[0]) if m >= n else jnp.array(False)
    safe_s = jnp.where(s > 0, s, 1.0)
    p_gn = -vt.T @ jnp.where(s > 0, uf / safe_s, 0.0)
    inside = full_rank & (jnp.linalg.norm(p_gn) <= delta)
    s2 = s**2
    alpha_upper = jnp.linalg.norm(suf) / delta
    p_norm0, dp0 = secular_norm(suf, s2, jnp.where(full_rank, 0.0, 1.0))
    alpha_lower = jnp.where(full_rank, -(p_norm0 - delta) / dp0, 0.0)
    restart = (alpha == 0) & jnp.invert(full_rank)
    default = jnp.maximum(0.001 * alpha_upper, jnp.sqrt(alpha_lower * alpha_upper))
    a = jnp.where(restart, default, alpha)
    a, _, _ = solve_secular(suf, s2, delta, a, alpha_lower, alpha_upper, max_iter=max_iter, rtol=rtol)
    p = -vt.T @ (suf / (s2 + a))
    p = p * delta / jnp.linalg.norm(p)
    return jnp.where(inside, p_gn, p), jnp.where(inside, 0.0, a)


def _quadratic(j_h, g_h, s, diag):
    js = j_h @ s
    return 0.5 * (jnp.dot(js, js) + jnp.dot(s * diag, s)) + jnp.dot(s, g_h)


def _quadratic_1d(j_h, g_h, s, diag, s0=None):
    v = j_h @ s
    a = 0.5 * (jnp.dot(v, v) + jnp.dot(s * diag, s))
    b = jnp.dot(g_h, s)
    c = 0.0
    if s0 is not None:
        u = j_h @ s0
        b = b + jnp.dot(u, v) + jnp.dot(s0 * diag, s)
        c = 0.5 * jnp.dot(u, u) + jnp.dot(g_h, s0) + 0.5 * jnp.dot(s0 * diag, s0)
    return a, b, c


def _minimize_1d(a, b, c, lo, hi):
    ext = -0.5 * b / jnp.where(a != 0, a, 1.0)
    use_ext = (a != 0) & (lo < ext) & (ext < hi)
    ts = jnp.stack([lo, hi, jnp.where(use_ext, ext, hi)])
    ys = ts * (a * ts + b) + c
    i = jnp.argmin(ys)
    return ts[i], ys[i]


def _step_to_bound(x, s, lb, ub):
    nz = s != 0
    safe = jnp.where(nz, s, 1.0)
    steps = jnp.where(nz, jnp.maximum((lb - x) / safe, (ub - x) / safe), jnp.inf)
    t = jnp.min(steps)
    return t, jnp.where(steps == t, jnp.sign(s), 0.0)


def select_step(x, j_h, diag_h, g_h, p, p_h, d, delta, lb, ub, theta):
    """SciPy's TRF step choice: the TR step, its reflection, or a scaled gradient step."""
    inside = jnp.all((x + p >= lb) & (x + p <= ub))
    p_value_full = _quadratic(j_h, g_h, p_h, diag_h)
    p_stride, hits = _step_to_bound(x, p, lb, ub)
    r_h = jnp.where(hits != 0, -p_h, p_h)
    r = d * r_h
    p_b, p_hb = p * p_stride, p_h * p_stride
    _, to_tr = sphere_intersections(p_hb, r_h, delta)
    to_bound, _ = _step_to_bound(x + p_b, r, lb, ub)
    r_stride = jnp.minimum(to_bound, to_tr)
    pos = r_stride > 0
    r_lo = jnp.where(pos, (1 - theta) * p_stride / jnp.where(pos, r_stride, 1.0), 0.0)
    r_hi = jnp.where(pos, jnp.where(r_stride == to_bound, theta * to_bound, to_tr), -1.0)
    a, b, c = _quadratic_1d(j_h, g_h, r_h, diag_h, s0=p_hb)
    r_t, r_value = _minimize_1d(a, b, c, r_lo, r_hi)
    r_value = jnp.where(r_lo <= r_hi, r_value, jnp.inf)
    r_h = r_h * r_t + p_hb
    r = r_h * d
    p_t, p_ht = p_b * theta, p_hb * theta
    p_value = _quadratic(j_h, g_h, p_ht, diag_h)
    ag_h = -g_h
    ag = d * ag_h
    to_tr = delta / jnp.linalg.norm(ag_h)
    to_bound, _ = _step_to_bound(x, ag, lb, ub)
    ag_stride = jnp.where(to_bound < to_tr, theta * to_bound, to_tr)
    a, b, _ = _quadratic_1d(j_h, g_h, ag_h, diag_h)
    ag_t, ag_value = _minimize_1d(a, b, 0.0, jnp.zeros_like(ag_stride), ag_stride)
    ag_h, ag = ag_h * ag_t, ag * ag_t
    pick_p = (p_value < r_value) & (p_value < ag_value)
    pick_r = jnp.invert(pick_p) & (r_value < p_value) & (r_value < ag_value)
    step = jnp.where(pick_p, p_t, jnp.where(pick_r, r, ag))
    step_h = jnp.where(pick_p, p_ht, jnp.where(pick_r, r_h, ag_h))
    value = jnp.where(pick_p, p_value, jnp.where(pick_r, r_value, ag_value))
    return (jnp.where(inside, p, step), jnp.where(inside, p_h, step_h),
            -jnp.where(inside, p_value_full, value))


def check_termination(d_cost, cost, dx_norm, x_norm, ratio, ftol, xtol):
    """SciPy's codes: 4 both, 2 ftol, 3 xtol, 0 none (caller's "running")."""
    f_ok = (d_cost < ftol * cost) & (ratio > 0.25)
    x_ok = dx_norm < xtol * (xtol + x_norm)
    return jnp.where(f_ok & x_ok, 4, jnp.where(f_ok, 2, jnp.where(x_ok, 3, 0)))


def active_constraints(x, lb, ub, rtol):
    lower_dist, upper_dist = x - lb, ub - x
    lo_thr = rtol * jnp.maximum(1, jnp.abs(lb))
    hi_thr = rtol * jnp.maximum(1, jnp.abs(ub))
    lower = jnp.isfinite(lb) & (lower_dist <= jnp.minimum(upper_dist, lo_thr))
    upper = jnp.isfinite(ub) & (upper_dist <= jnp.minimum(lower_dist, hi_thr))
    if rtol == 0:
        lower, upper = x <= lb, x >= ub
    return jnp.where(upper, 1, jnp.where(lower, -1, 0))


def strictly_feasible(x, lb, ub, rstep=1e-10):
    active = active_constraints(x, lb, ub, rstep)
    if rstep == 0:
        lo_val, hi_val = jnp.nextafter(lb, ub), jnp.nextafter(ub, lb)
    else:
        lo_val = lb + rstep * jnp.maximum(1, jnp.abs(lb))
        hi_val = ub - rstep * jnp.maximum(1, jnp.abs(ub))
    x_new = jnp.where(active == -1, lo_val, jnp.where(active == 1, hi_val, x))
    tight = (x_new < lb) | (x_new > ub)
    return jnp.where(tight, 0.5 * (lb + ub), x_new)
