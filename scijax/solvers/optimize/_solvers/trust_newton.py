"""SciPy's trust-region Newton minimisers (``_minimize_trust_region``): 'trust-ncg', 'trust-exact',
'trust-krylov' and 'dogleg', as one optimistix minimiser with a pluggable subproblem solver.

- :func:`steihaug_cg` (trust-ncg): Steihaug's truncated CG on Hessian-vector products; the
  Hessian is never formed.
- :func:`exact_subproblem`: the exact step from the Hessian's eigendecomposition and the secular
  equation, including the "hard case" (on trust-krylov's tridiagonal matrix, in trust-constr,
  and as trust-exact's fallback; trust-exact itself is :mod:`.trust_exact`'s Cholesky iteration).
- :func:`dogleg_subproblem` (dogleg): Powell's dogleg; needs a positive definite Hessian.

The outer loop follows SciPy's rule for rule: accept when the reduction ratio exceeds ``eta``,
shrink the radius by 4 below 1/4, double it (up to ``max_trust_radius``) above 3/4 when the step
reached the boundary, stop on ``|g| < gtol``. One difference: a non-positive predicted reduction
of a non-zero step (rounding in ``g.p + p.Hp/2`` on badly scaled problems) rejects the step and
shrinks the radius; SciPy stops there with "precision loss", and so does this loop once the step
is too short to change ``x``.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .stopping import scipy_stats, scipy_terminate
from .trust_region import (
    hvp,
    reduction_ratio,
    solve_secular,
    sphere_intersections,
    truncated_cg,
    update_radius,
)

__all__ = ["TrustRegion", "steihaug_cg", "exact_subproblem", "dogleg_subproblem"]


def _to_boundary(z, d, radius):
    """The ``tau >= 0`` with ``|z + tau d| = radius`` (``z`` inside the region)."""
    return sphere_intersections(z, d, radius)[1]


def steihaug_cg(grad_fn: Callable, x: Array, g: Array, radius: Array) -> tuple[Array, Array]:
    """Steihaug's truncated CG for ``min g.p + p.Hp/2, |p| <= radius`` (SciPy's trust-ncg)."""
    gnorm = jnp.linalg.norm(g)
    tol = jnp.minimum(0.5, jnp.sqrt(gnorm)) * gnorm

    def truncate(z, d, dhd, z_next, rr, i):
        # Negative curvature, or the next iterate leaves the region: stop on the boundary.
        stop = (dhd <= 0) | (jnp.linalg.norm(z_next) >= radius)
        return stop, z + _to_boundary(z, d, radius) * d

    return truncated_cg(hvp(grad_fn, x), g, maxiter=2 * x.shape[0] + 10, truncate=truncate,
                        converged=lambda r: jnp.linalg.norm(r) < tol)


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
    # The shift s > max(0, -lam_min) with |p(s)| = radius: |p(s)| <= |g| / (lam_min + s), so
    # the root lies below lo + |g| / radius.
    lo = jnp.maximum(0.0, -lam_min) + tiny
    hi = lo + jnp.linalg.norm(g) / radius
    s, lower, upper = solve_secular(gq, lam, radius, hi, lo, hi, max_iter=60, rtol=0.0)
    s = jnp.clip(s, lower, upper)
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
    """SciPy's trust-region loop with a pluggable subproblem solver
    ``subproblem(grad_fn, x, g, radius) -> (step, hits_boundary)``."""

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
        predicted = -(jnp.dot(state.g, p) + 0.5 * jnp.dot(p, hvp(grad_fn, y)(p)))
        f_new, g_new = jax.value_and_grad(value)(y + p)
        rho = reduction_ratio(state.f - f_new, predicted)
        radius = update_radius(state.radius, rho, hits_boundary, max_radius=self.max_trust_radius)
        accept = (rho > self.eta) & jnp.isfinite(f_new) & (predicted > 0)
        y_new = jnp.where(accept, y + p, y)
        f = jnp.where(accept, f_new, state.f)
        g = jnp.where(accept, g_new, state.g)
        # A non-positive predicted reduction for a non-zero step is rounding in the model (its
        # minimiser on the ball decreases it in exact arithmetic): badly scaled Hessians make
        # ``p.Hp`` cancel against ``g.p``. The step is rejected and the radius shrinks, which
        # makes the linear term dominate again; stop ("precision loss") only when the step is
        # zero or too short to change ``y``.
        stuck = jnp.linalg.norm(p) <= jnp.finfo(f.dtype).eps * jnp.linalg.norm(y)
        new_state = _TrustState(f, g, radius, state.nit + 1, state.nfev + 1,
                                jnp.linalg.norm(g) < self.gtol, (predicted <= 0) & stuck)
        return y_new, new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        return scipy_terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, scipy_stats(state)
