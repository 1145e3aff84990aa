"""Second-order minimisers as optimistix solvers: line-search Newton-CG and trust regions.

Hessians are never formed for Newton-CG and trust-ncg: both use Hessian-vector products
(forward-over-reverse autodiff). trust-exact forms the Hessian and solves the trust-region
subproblem exactly through its eigendecomposition (including the "hard case"). The outer
iterations follow SciPy's ``_minimize_newtoncg`` and ``_minimize_trust_region`` rule for rule.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["NewtonCG", "TrustRegion", "steihaug_cg", "exact_subproblem", "dogleg_subproblem"]


def _hvp(grad_fn: Callable, x: Array) -> Callable[[Array], Array]:
    _, lin = jax.linearize(grad_fn, x)
    return lin


def _truncated_cg(hvp, g, maxiter):
    """SciPy's inner CG for Newton-CG: solve H p = -g until ``|r|_1 <= min(.5, sqrt|g|_1)|g|_1``;
    on negative curvature return the current iterate (or steepest descent at the start)."""
    b = -g
    maggrad = jnp.sum(jnp.abs(b))
    termcond = jnp.minimum(0.5, jnp.sqrt(maggrad)) * maggrad
    eps = jnp.finfo(g.dtype).eps

    def cond(carry):
        _, r, _, _, i, done = carry
        return jnp.invert(done) & (i < maxiter) & (jnp.sum(jnp.abs(r)) > termcond)

    def body(carry):
        x, r, p, rr, i, _ = carry
        ap = hvp(p)
        curv = jnp.dot(p, ap)
        flat = (curv >= 0) & (curv <= 3 * eps)
        negative = curv < 0
        stop = flat | negative
        x_descent = jnp.where((i == 0) & negative, rr / jnp.where(negative, -curv, 1.0) * b, x)
        alpha = rr / jnp.where(stop, 1.0, curv)
        x_new = x + alpha * p
        r_new = r + alpha * ap
        rr_new = jnp.dot(r_new, r_new)
        p_new = -r_new + rr_new / rr * p
        return (jnp.where(stop, x_descent, x_new), jnp.where(stop, r, r_new),
                jnp.where(stop, p, p_new), jnp.where(stop, rr, rr_new), i + 1, stop)

    init = (jnp.zeros_like(g), g, b, jnp.dot(g, g), jnp.array(0), jnp.array(False))
    x, *_ = jax.lax.while_loop(cond, body, init)
    return x


class _NewtonCGState(eqx.Module):
    f: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array


class NewtonCG(optx.AbstractMinimiser):
    """Line-search Newton with a truncated-CG direction (SciPy's 'Newton-CG')."""

    xtol: float = 1e-5
    maxiter: int = 200
    maxls: int = 40
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f = fn(y, args)[0]
        zero = jnp.array(0)
        return _NewtonCGState(f, zero, jnp.array(1), jnp.array(False), jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        value = lambda z: fn(z, args)[0]  # noqa: E731
        grad_fn = jax.grad(value)
        g = grad_fn(y)
        p = _truncated_cg(_hvp(grad_fn, y), g, 20 * y.shape[0])
        slope = jnp.dot(g, p)

        def cond(carry):
            t, f_new, k = carry
            ok = jnp.isfinite(f_new) & (f_new <= state.f + 1e-4 * t * slope)
            return jnp.invert(ok) & (k < self.maxls)

        def body(carry):
            t, _, k = carry
            return 0.5 * t, value(y + 0.5 * t * p), k + 1

        t, f_new, k = jax.lax.while_loop(cond, body, (jnp.ones_like(state.f), value(y + p), jnp.array(0)))
        ok = (k < self.maxls) & jnp.isfinite(f_new) & (slope < 0)
        update = jnp.where(ok, t * p, 0.0)
        converged = ok & (jnp.sum(jnp.abs(update)) <= self.xtol * y.shape[0]) | jnp.all(g == 0)
        new_state = _NewtonCGState(jnp.where(ok, f_new, state.f), state.nit + ok, state.nfev + k + 1,
                                   converged, jnp.invert(ok) & jnp.invert(converged))
        return y + update, new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        return _terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"nit": state.nit, "nfev": state.nfev, "converged": state.converged}


def _terminate(state, maxiter):
    out_of_iters = (state.nit >= maxiter) & jnp.invert(state.converged)
    result = optx.RESULTS.where(out_of_iters, optx.RESULTS.nonlinear_max_steps_reached,
                                optx.RESULTS.successful)
    result = optx.RESULTS.where(state.stalled, optx.RESULTS.nonlinear_divergence, result)
    result = optx.RESULTS.where(jnp.isfinite(state.f), result, optx.RESULTS.nonfinite)
    return state.converged | out_of_iters | state.stalled | jnp.invert(jnp.isfinite(state.f)), result


def _to_boundary(z, d, radius):
    """The ``tau >= 0`` with ``|z + tau d| = radius``."""
    a, b, c = jnp.dot(d, d), 2 * jnp.dot(z, d), jnp.dot(z, z) - radius**2
    return (-b + jnp.sqrt(jnp.maximum(b * b - 4 * a * c, 0.0))) / (2 * jnp.where(a > 0, a, 1.0))


def steihaug_cg(grad_fn: Callable, x: Array, g: Array, radius: Array) -> tuple[Array, Array]:
    """Steihaug's truncated CG for ``min g.p + p.Hp/2, |p| <= radius`` (SciPy's trust-ncg)."""
    hvp = _hvp(grad_fn, x)
    gnorm = jnp.linalg.norm(g)
    tol = jnp.minimum(0.5, jnp.sqrt(gnorm)) * gnorm

    def cond(carry):
        *_, i, done = carry
        return jnp.invert(done) & (i < 2 * x.shape[0] + 10)

    def body(carry):
        z, r, d, p_out, hit, i, _ = carry
        bd = hvp(d)
        dbd = jnp.dot(d, bd)
        rr = jnp.dot(r, r)
        alpha = rr / jnp.where(dbd > 0, dbd, 1.0)
        z_next = z + alpha * d
        boundary_neg = z + _to_boundary(z, d, radius) * d
        outside = jnp.linalg.norm(z_next) >= radius
        r_next = r + alpha * bd
        small = jnp.linalg.norm(r_next) < tol
        d_next = -r_next + jnp.dot(r_next, r_next) / rr * d
        stop_neg = dbd <= 0
        stop_out = jnp.invert(stop_neg) & outside
        stop_small = jnp.invert(stop_neg | stop_out) & small
        p = jnp.where(stop_neg | stop_out, boundary_neg, z_next)
        done = stop_neg | stop_out | stop_small
        return (z_next, r_next, d_next, jnp.where(done, p, p_out), stop_neg | stop_out, i + 1, done)

    z0 = jnp.zeros_like(g)
    start_done = gnorm < tol
    init = (z0, g, -g, z0, jnp.array(False), jnp.array(0), start_done)
    z, _, _, p, hit, _, done = jax.lax.while_loop(cond, body, init)
    return jnp.where(done, p, z), hit


def dogleg_subproblem(grad_fn: Callable, x: Array, g: Array, radius: Array) -> tuple[Array, Array]:
    """Powell's dogleg between the Cauchy and Newton points (SciPy's 'dogleg'); needs a positive
    definite Hessian. Otherwise the step is zero, so the trust-region loop reports no progress
    (SciPy raises ``LinAlgError``)."""
    h = jax.jacfwd(grad_fn)(x)
    chol = jnp.linalg.cholesky((h + h.T) / 2)
    pd = jnp.all(jnp.isfinite(chol))
    newton = -jax.scipy.linalg.cho_solve((jnp.where(pd, chol, jnp.eye(x.shape[0], dtype=x.dtype)), True), g)
    gg, ghg = jnp.dot(g, g), jnp.dot(g, h @ g)
    cauchy = -(gg / jnp.where(ghg > 0, ghg, 1.0)) * g
    cn = jnp.linalg.norm(cauchy)
    along = cauchy * radius / jnp.where(cn > 0, cn, 1.0)
    bent = cauchy + _to_boundary(cauchy, newton - cauchy, radius) * (newton - cauchy)
    inside = jnp.linalg.norm(newton) < radius
    p = jnp.where(inside, newton, jnp.where(cn >= radius, along, bent))
    return jnp.where(pd, p, 0.0), jnp.invert(inside)


def exact_subproblem(grad_fn: Callable, x: Array, g: Array, radius: Array) -> tuple[Array, Array]:
    """Exact trust-region step from the eigendecomposition of the Hessian (Moré-Sorensen)."""
    h = jax.jacfwd(grad_fn)(x)
    lam, q = jnp.linalg.eigh((h + h.T) / 2)
    gq = q.T @ g
    tiny = jnp.finfo(g.dtype).eps * jnp.maximum(jnp.max(jnp.abs(lam)), 1.0)

    def step(shift):
        denom = lam + shift
        return -(q @ (gq / jnp.where(jnp.abs(denom) > tiny, denom, jnp.inf)))

    lam_min = lam[0]
    newton = step(0.0)
    interior = (lam_min > tiny) & (jnp.linalg.norm(newton) <= radius)
    # Solve 1/|p(s)| = 1/radius for s > max(0, -lam_min) by safeguarded Newton on the secular equation.
    lo = jnp.maximum(0.0, -lam_min) + tiny

    def newton_iter(_, s):
        p = step(s)
        pn = jnp.linalg.norm(p)
        dp = jnp.sum(gq**2 / (lam + s) ** 3)
        phi = 1.0 / pn - 1.0 / radius
        dphi = dp / pn**3
        s_new = s - phi / jnp.where(dphi > 0, dphi, 1.0)
        return jnp.maximum(s_new, lo)

    s0 = lo + jnp.linalg.norm(g) / radius
    s = jax.lax.fori_loop(0, 60, newton_iter, s0)
    p_boundary = step(s)
    # Hard case: g has (almost) no component along the lowest eigenvector, so |p| < radius even
    # as s -> -lam_min; move along that eigenvector to the boundary.
    p_hard = step(jnp.maximum(0.0, -lam_min))
    hard = jnp.linalg.norm(p_boundary) < radius * (1 - 1e-6)
    p_hard = p_hard + _to_boundary(p_hard, q[:, 0], radius) * q[:, 0]
    p = jnp.where(interior, newton, jnp.where(hard, p_hard, p_boundary))
    return p, jnp.invert(interior)


class _TrustState(eqx.Module):
    f: Array
    g: Array
    radius: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array


class TrustRegion(optx.AbstractMinimiser):
    """SciPy's trust-region loop with a pluggable subproblem solver."""

    subproblem: Callable = eqx.field(static=True)
    gtol: float = 1e-4
    initial_trust_radius: float = 1.0
    max_trust_radius: float = 1000.0
    eta: float = 0.15
    maxiter: int = 200
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f, g = jax.value_and_grad(lambda z: fn(z, args)[0])(y)
        return _TrustState(f, g, jnp.asarray(self.initial_trust_radius, f.dtype), jnp.array(0),
                           jnp.array(1), jnp.linalg.norm(g) < self.gtol, jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        value = lambda z: fn(z, args)[0]  # noqa: E731
        grad_fn = jax.grad(value)
        p, hits_boundary = self.subproblem(grad_fn, y, state.g, state.radius)
        predicted = -(jnp.dot(state.g, p) + 0.5 * jnp.dot(p, _hvp(grad_fn, y)(p)))
        f_new, g_new = jax.value_and_grad(value)(y + p)
        actual = state.f - f_new
        rho = actual / jnp.where(predicted > 0, predicted, 1.0)
        radius = jnp.where(rho < 0.25, 0.25 * state.radius, state.radius)
        radius = jnp.where((rho > 0.75) & hits_boundary,
                           jnp.minimum(2 * state.radius, self.max_trust_radius), radius)
        accept = (rho > self.eta) & jnp.isfinite(f_new) & (predicted > 0)
        y_new = jnp.where(accept, y + p, y)
        f = jnp.where(accept, f_new, state.f)
        g = jnp.where(accept, g_new, state.g)
        new_state = _TrustState(f, g, radius, state.nit + 1, state.nfev + 1,
                                jnp.linalg.norm(g) < self.gtol, predicted <= 0)
        return y_new, new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        return _terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"nit": state.nit, "nfev": state.nfev, "converged": state.converged}
