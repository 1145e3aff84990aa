"""A truncated Newton method with bounds (SciPy's ``method='TNC'``) as an optimistix minimiser.

Nash's truncated Newton method (S. G. Nash, "Newton-type minimization via the Lanczos method",
SIAM J. Numer. Anal. 21, 1984; the TN/TNBC codes that SciPy's C ``tnc`` descends from):

- variables at a bound whose gradient points out of the box are held fixed (the active set,
  re-chosen every iteration from the signs of the gradient);
- the Newton equations ``H p = -g`` on the free variables are solved approximately by
  preconditioned conjugate gradients from ``p = 0`` with exact Hessian-vector products (the
  preconditioner: a memoryless BFGS update of a scaled identity with the last step, as in
  Nash's TN; TNC also updates a diagonal and keeps an accumulated pair), for at most ``maxCGit``
  products, stopped by Nash's quadratic-model test ``k (1 - q_{k-1} / q_k) <= 1/2`` (the model
  ``q`` no longer decreases usefully), on negative or vanishing curvature (the first iteration
  then gives the steepest-descent direction), or when ``g . p`` turns non-negative;
- the step ``t`` along ``p`` starts from TNC's ``min(1, 2 |f - minfev| / -g.p)`` and may grow up
  to ``stepmx / |p|`` or the first bound met (:func:`step_search`: sufficient decrease and
  ``|phi'(t)| <= eta |phi'(0)|``, by expansion then safeguarded quadratic interpolation; TNC
  uses Gill and Murray's safeguarded cubic search for the same test); ``stepmx`` grows a
  hundredfold whenever a step reaches 90% of it, as in TNC. A variable that reaches its bound
  joins the active set at the next iteration if its gradient points outwards.

It stops, as TNC, when the 2-norm of the projected gradient times TNC's variable scale is at
most ``gtol`` (SciPy's status 0), when ``|f_k - f_{k-1}| <= ftol`` (1; TNC's default ``ftol``
is ``accuracy``, not 0 as SciPy's documentation says), when the scaled step
``|(x_k - x_{k-1}) / scale|`` is at most ``xtol`` (2), or after ``maxfun`` evaluations (each
Hessian-vector product counted as one, as TNC counts its finite differences). TNC's scale is
``upper - lower`` for a variable with two finite bounds and ``1 + |x0|`` otherwise; TNC also
iterates in the scaled variables, this engine does not. Bounds come in
``options['lower']``/``options['upper']``.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .powell import line_for_search
from .trust_region import hvp

__all__ = ["TNC", "truncated_newton_direction", "memoryless_bfgs", "step_search"]


def memoryless_bfgs(s: Array, y: Array, free: Array) -> Callable[[Array], Array]:
    """``r -> M^{-1} r``: one BFGS update of the scaled identity ``(s.y / y.y) I`` with the last
    step ``s`` and gradient change ``y`` (Shanno's memoryless quasi-Newton preconditioner), on the
    free variables; the identity when ``s.y <= 0``."""
    s, y = s * free, y * free
    sy, yy = jnp.dot(s, y), jnp.dot(y, y)
    ok = (sy > 0) & (yy > 0)
    gamma = jnp.where(ok, sy / jnp.where(ok, yy, 1.0), 1.0)
    rho = jnp.where(ok, 1.0 / jnp.where(ok, sy, 1.0), 0.0)

    def apply(r):
        a = rho * jnp.dot(s, r)
        q = gamma * (r - a * y)
        return (q + (a - rho * jnp.dot(y, q)) * s) * free

    return apply


def truncated_newton_direction(hvp_fn: Callable[[Array], Array], precondition: Callable[[Array], Array],
                               g: Array, free: Array, maxcg: int) -> tuple[Array, Array]:
    """Nash's preconditioned truncated CG on ``H p = -g`` restricted to ``free``.

    Returns ``(p, n_products)``. CG stops after ``maxcg`` products, on Nash's quadratic-model
    test, on negative or vanishing curvature, or when ``g.p`` turns non-negative; when the
    first iteration gives nothing usable, ``p = -M^{-1} g``.
    """
    g = g * free
    gnorm = jnp.linalg.norm(g)
    tiny = 1e-12 * gnorm

    def cond(c):
        k, *_, done = c
        return (k < maxcg) & jnp.invert(done)

    def body(c):
        k, p, r, d, rz, q_old, _ = c
        hd = hvp_fn(d) * free
        dhd = jnp.dot(d, hd)
        flat = dhd <= tiny  # negative or vanishing curvature: keep what we have
        alpha = rz / jnp.where(flat, 1.0, dhd)
        p_new = p + alpha * d
        r_new = r - alpha * hd
        q_new = 0.5 * jnp.dot(p_new, g - r_new)  # g.p + p.Hp / 2
        uphill = jnp.dot(g, p_new) > 0
        small_gain = (k + 1) * (1.0 - q_old / jnp.where(q_new == 0, 1.0, q_new)) <= 0.5
        p = jnp.where(flat | uphill, p, p_new)
        z = precondition(r_new)
        rz_new = jnp.dot(r_new, z)
        d_new = z + rz_new / jnp.where(rz != 0, rz, 1.0) * d
        return k + 1, p, r_new, d_new, rz_new, q_new, flat | uphill | small_gain | (rz_new <= tiny * gnorm)

    z0 = precondition(-g)
    rz0 = jnp.dot(-g, z0)
    init = (jnp.array(0), jnp.zeros_like(g), -g, z0, rz0, jnp.zeros((), g.dtype), rz0 <= tiny * gnorm)
    k, p, *_ = jax.lax.while_loop(cond, body, init)
    fallback = jnp.where(jnp.dot(z0, g) < 0, z0, -g)
    return jnp.where(jnp.any(p != 0), p, fallback), k


def step_search(value_and_grad: Callable, p: Array, f0: Array, g0: Array, t0: Array, t_max: Array,
                eta: float, c1: float = 1e-4, maxls: int = 30) -> tuple[Array, Array, Array, Array]:
    """A step along ``p`` with sufficient decrease and ``|phi'(t)| <= eta |phi'(0)|``.

    ``phi(t) = f(x + t p)``, ``value_and_grad(t) -> (f, grad f)`` at ``x + t p``. From ``t0``
    the step grows fourfold (up to ``t_max``) while ``phi`` still descends, then a bracket is
    narrowed by safeguarded quadratic interpolation. Returns ``(t, f, grad, evals)`` for the
    best point with sufficient decrease found (``t = 0`` when there is none). ``eta`` is TNC's
    "severity of the line search".
    """
    d0 = jnp.dot(g0, p)
    zero = jnp.zeros((), f0.dtype)

    def cond(c):
        return (c[0] < maxls) & jnp.invert(c[-1])

    def body(c):
        k, t, lo, f_lo, d_lo, hi, f_hi, bracketed, best, _ = c
        f_t, g_t = value_and_grad(t)
        d_t = jnp.dot(g_t, p)
        decrease = jnp.isfinite(f_t) & (f_t <= f0 + c1 * t * d0)
        better = decrease & (f_t <= best[1])
        best = jax.tree_util.tree_map(lambda new, old: jnp.where(better, new, old), (t, f_t, g_t), best)
        accept = better & ((jnp.abs(d_t) <= eta * jnp.abs(d0)) | ((t >= t_max) & (d_t < 0)))
        advance = better & jnp.invert(accept) & (d_t < 0)  # still going down: a new lower end
        shrink = jnp.invert(accept | advance)  # past the minimum, or no decrease: a new upper end
        lo, f_lo, d_lo = (jnp.where(advance, new, old) for new, old in ((t, lo), (f_t, f_lo), (d_t, d_lo)))
        hi = jnp.where(shrink, t, hi)
        f_hi = jnp.where(shrink, jnp.where(jnp.isfinite(f_t), f_t, jnp.inf), f_hi)
        bracketed = bracketed | shrink
        width = hi - lo
        curve = f_hi - f_lo - d_lo * width
        quadratic = lo - 0.5 * d_lo * width**2 / jnp.where(curve > 0, curve, 1.0)
        inside = jnp.where(jnp.isfinite(f_hi) & (curve > 0), quadratic, lo + 0.5 * width)
        inside = jnp.clip(inside, lo + 0.1 * width, hi - 0.1 * width)
        t_next = jnp.where(bracketed, inside, jnp.minimum(4.0 * t, t_max))
        return k + 1, t_next, lo, f_lo, d_lo, hi, f_hi, bracketed, best, accept

    init = (jnp.array(0), t0, zero, f0, d0, t_max, jnp.asarray(jnp.inf, f0.dtype), jnp.array(False),
            (zero, f0, g0), d0 >= 0)
    k, *_, (t, f, g), _ = jax.lax.while_loop(cond, body, init)
    return t, f, g, k


class _TNCState(eqx.Module):
    f: Array
    g: Array
    s: Array  # the last step and gradient change, for the preconditioner
    y: Array
    xscale: Array  # TNC's variable scale for its stopping tests
    stepmx: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array
    reason: Array  # TNC's code: 0 |pg| small, 1 f converged, 2 x converged, 3 maxfun, 4 search failed


class TNC(optx.AbstractMinimiser):
    """Truncated Newton with bounds; see the module docstring."""

    maxfun: int = 100
    maxcg: int = 1
    eta: float = 0.25
    stepmx: float = 10.0
    minfev: float = 0.0
    ftol: float = 0.0
    xtol: float = 1.4901161193847656e-08
    gtol: float = 1.2e-6
    maxiter: int = 2**31 - 1
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _pg_norm(self, x, g, xscale, options):
        lower, upper = options["lower"], options["upper"]
        fixed = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
        return jnp.linalg.norm(jnp.where(fixed, 0.0, g * xscale)), jnp.invert(fixed)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f, g = jax.value_and_grad(lambda x: fn(x, args)[0])(y)
        lower, upper = options["lower"], options["upper"]
        xscale = jnp.where(jnp.isfinite(lower) & jnp.isfinite(upper), upper - lower, 1.0 + jnp.abs(y))
        small = self._pg_norm(y, g, xscale, options)[0] <= self.gtol
        zero = jnp.zeros_like(y)
        return _TNCState(f, g, zero, zero, xscale, jnp.asarray(self.stepmx, f.dtype), jnp.array(0), jnp.array(1), small,
                         jnp.array(False), jnp.array(0))

    def step(self, fn, y, args, options, state, tags):
        lower, upper = options["lower"], options["upper"]
        value = lambda z: fn(z, args)[0]  # noqa: E731
        x, g = y, state.g
        _, free = self._pg_norm(x, g, state.xscale, options)
        p, n_products = truncated_newton_direction(hvp(jax.grad(value), x), memoryless_bfgs(state.s, state.y, free),
                                                   g, free, self.maxcg)
        # A free variable on its bound that the direction would push out stays where it is.
        p = jnp.where(((x <= lower) & (p < 0)) | ((x >= upper) & (p > 0)), 0.0, p)
        gtp = jnp.dot(g, p)
        eps = jnp.finfo(x.dtype).eps
        t_free = state.stepmx / (jnp.linalg.norm(p) + eps)
        t_max = jnp.minimum(t_free, line_for_search(x, p, lower, upper)[1])  # up to the first bound
        distance = jnp.abs(state.f - self.minfev)
        t0 = jnp.where((2.0 * distance <= -gtp) & (distance >= eps), -2.0 * distance / gtp, 1.0)
        t0 = jnp.minimum(t0, t_max)
        along = lambda t: jnp.clip(x + t * p, lower, upper)  # noqa: E731 (clip: round-off only)
        t, f_new, g_new, evals = step_search(lambda t: jax.value_and_grad(value)(along(t)), p, state.f, g, t0,
                                             t_max, self.eta)
        ok = (t > 0) & (gtp < 0)
        x_new = jnp.where(ok, along(t), x)
        f_new = jnp.where(ok, f_new, state.f)
        g_new = jnp.where(ok, g_new, g)
        stepmx = jnp.where(ok & (t >= 0.9 * t_free), 100.0 * state.stepmx, state.stepmx)
        nfev = state.nfev + n_products + evals  # (f and g together count once, as in TNC)
        reason = jnp.where(self._pg_norm(x_new, g_new, state.xscale, options)[0] <= self.gtol, 0,
                           jnp.where(jnp.abs(state.f - f_new) <= self.ftol, 1,
                                     jnp.where(jnp.linalg.norm((x_new - x) / state.xscale) <= self.xtol, 2, 4)))
        converged = ok & (reason < 4)
        reason = jnp.where(converged, reason, jnp.where(ok, 3, 4))
        new = _TNCState(f_new, g_new, x_new - x, g_new - g, state.xscale, stepmx, state.nit + 1, nfev, converged,
                        jnp.invert(ok), reason)
        return x_new, new, None

    def terminate(self, fn, y, args, options, state, tags):
        out = ((state.nfev >= self.maxfun) | (state.nit >= self.maxiter)) & jnp.invert(state.converged)
        nonfinite = jnp.invert(jnp.isfinite(state.f))
        result = optx.RESULTS.where(out, optx.RESULTS.nonlinear_max_steps_reached, optx.RESULTS.successful)
        result = optx.RESULTS.where(state.stalled & jnp.invert(state.converged),
                                    optx.RESULTS.nonlinear_divergence, result)
        result = optx.RESULTS.where(nonfinite, optx.RESULTS.nonfinite, result)
        return state.converged | out | state.stalled | nonfinite, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"nit": state.nit, "nfev": state.nfev, "converged": state.converged,
                        "reason": state.reason}
