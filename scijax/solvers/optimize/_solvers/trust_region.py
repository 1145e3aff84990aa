"""The trust-region toolkit shared by the minimisers (trust-ncg, trust-exact, dogleg, Newton-CG's
inner CG) and the least-squares engines (TRF, dogbox, 'lm').

- :func:`reduction_ratio` and :func:`update_radius`: the actual-to-predicted reduction ratio and
  the radius rule (shrink by 4 below 1/4, double above 3/4 when the step reached the boundary).
- :func:`sphere_intersections`: the two ``t`` with ``|z + t d| = radius``.
- :func:`secular_norm` and :func:`solve_secular`: the secular equation ``|p(a)| = radius`` with
  ``p(a) = -c / (d + a)`` in a spectral basis (eigenvalues of a Hessian, or squared singular
  values of a Jacobian), solved by Newton's method on ``1/|p| - 1/radius`` with Moré and
  Sorensen's safeguards.
- :func:`truncated_cg`: conjugate gradients on ``H p = -g`` from ``p = 0``, with a stopping hook
  that decides when to truncate (negative curvature, leaving the trust region) and what to
  return then.
- :func:`hvp`: Hessian-vector products by forward-over-reverse autodiff.

Optimistix has trust-region *searches* (``ClassicalTrustRegion``) and descents, but they run one
trial per outer step with optimistix's own ratio and radius constants, while SciPy's
trust-region methods and ``_lsq`` engines step, count and stop their own way; these functions
are the pieces that those SciPy algorithms share.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["hvp", "reduction_ratio", "update_radius", "sphere_intersections", "secular_norm",
           "solve_secular", "truncated_cg"]


def hvp(grad_fn: Callable[[Array], Array], x: Array) -> Callable[[Array], Array]:
    """``v -> H(x) v`` for the Hessian of the function whose gradient is ``grad_fn``."""
    _, lin = jax.linearize(grad_fn, x)
    return lin


def reduction_ratio(actual: Array, predicted: Array) -> Array:
    """``actual / predicted``; 1 when both are zero, 0 for any other non-positive prediction."""
    return jnp.where(predicted > 0, actual / jnp.where(predicted > 0, predicted, 1.0),
                     jnp.where((predicted == 0) & (actual == 0), 1.0, 0.0))


def update_radius(radius: Array, ratio: Array, hits_boundary: Array, step_norm: Array | None = None,
                  max_radius: float = jnp.inf) -> Array:
    """The classical radius rule: ``radius / 4`` (or ``step_norm / 4``) when ``ratio < 1/4``,
    ``min(2 radius, max_radius)`` when ``ratio > 3/4`` and the step hit the boundary, else
    unchanged."""
    shrunk = 0.25 * (radius if step_norm is None else step_norm)
    grown = jnp.minimum(2.0 * radius, max_radius)
    return jnp.where(ratio < 0.25, shrunk, jnp.where((ratio > 0.75) & hits_boundary, grown, radius))


def sphere_intersections(z: Array, d: Array, radius: Array) -> tuple[Array, Array]:
    """The roots ``t_lo <= t_hi`` of ``|z + t d| = radius`` (0, 0 for ``d = 0``), by the
    cancellation-free form of the quadratic formula."""
    a = jnp.dot(d, d)
    b = jnp.dot(z, d)
    c = jnp.dot(z, z) - radius**2
    disc = jnp.sqrt(jnp.maximum(b * b - a * c, 0.0))
    q = -(b + jnp.where(b >= 0, disc, -disc))
    q = jnp.where(q == 0, -jnp.finfo(z.dtype).tiny, q)
    t1, t2 = q / jnp.where(a == 0, 1.0, a), c / q
    nonzero = a > 0
    return (jnp.where(nonzero, jnp.minimum(t1, t2), 0.0),
            jnp.where(nonzero, jnp.maximum(t1, t2), 0.0))


def secular_norm(c: Array, d: Array, a: Array) -> tuple[Array, Array]:
    """``|p(a)|`` and its derivative in ``a``, for ``p(a) = -c / (d + a)``."""
    denom = d + a
    p_norm = jnp.linalg.norm(c / denom)
    return p_norm, -jnp.sum(c**2 / denom**3) / p_norm


def _safeguard_default(lower, upper):
    return jnp.maximum(0.001 * upper, jnp.sqrt(lower * upper))


def solve_secular(c: Array, d: Array, radius: Array, a: Array, lower: Array, upper: Array, *,
                  max_iter: int, rtol: float) -> tuple[Array, Array, Array]:
    """Solve ``|c / (d + a)| = radius`` for ``a`` in ``[lower, upper]``, with ``d + lower > 0``.

    Newton's method on ``1/|p(a)| - 1/radius``. Each iterate outside the current bracket is reset
    to ``max(upper/1000, sqrt(lower upper))``; the bracket tightens with every iterate, and the
    iteration stops once ``||p| - radius| < rtol * radius`` (``rtol = 0``: after ``max_iter``
    iterations).

    Returns
    -------
    a, lower, upper
        The last Newton iterate (as SciPy's ``solve_lsq_trust_region`` returns it; it may lie
        outside the bracket) and the final bracket. A caller that needs a root right of the
        pole ``-min(d)`` (the trust-region step in an eigenbasis with negative eigenvalues)
        clips ``a`` to the bracket.
    """

    def body(_, carry):
        a, lower, upper, done = carry
        a_fix = jnp.where((a < lower) | (a > upper), _safeguard_default(lower, upper), a)
        p_norm, dp = secular_norm(c, d, a_fix)
        phi = p_norm - radius
        ratio = phi / dp
        new = (a_fix - (phi + radius) * ratio / radius, jnp.maximum(lower, a_fix - ratio),
               jnp.where(phi < 0, a_fix, upper))
        a, lower, upper = (jnp.where(done, old, nw) for old, nw in zip((a, lower, upper), new,
                                                                       strict=True))
        return a, lower, upper, done | (jnp.abs(phi) < rtol * radius)

    a, lower, upper, _ = jax.lax.fori_loop(0, max_iter, body, (a, lower, upper, jnp.array(False)))
    return a, lower, upper


def truncated_cg(
    hvp_fn: Callable[[Array], Array],
    g: Array,
    *,
    maxiter: int,
    converged: Callable[[Array], Array],
    truncate: Callable[..., tuple[Array, Array]],
) -> tuple[Array, Array]:
    """Conjugate gradients on ``H p = -g`` from ``p = 0``, truncated by a hook.

    Parameters
    ----------
    hvp_fn
        ``v -> H v``.
    g
        The gradient (the right-hand side is ``-g``).
    maxiter
        The most CG iterations; the last iterate is returned when they run out.
    converged
        ``converged(r) -> bool`` on the residual ``r = H p + g``; checked at the start and after
        every iteration, and then the current iterate is returned.
    truncate
        ``truncate(z, d, dhd, z_next, rr, i) -> (stop, p)``, called every iteration with the
        iterate ``z``, the direction ``d``, its curvature ``d.Hd``, the next CG iterate,
        ``r.r`` and the iteration index: when ``stop``, CG ends and returns ``p``.

    Returns
    -------
    p, truncated
        The step, and whether the hook stopped CG.
    """

    def cond(carry):
        *_, i, done, _ = carry
        return jnp.invert(done) & (i < maxiter)

    def body(carry):
        z, r, d, rr, p_out, i, _, _ = carry
        hd = hvp_fn(d)
        dhd = jnp.dot(d, hd)
        alpha = rr / jnp.where(dhd > 0, dhd, 1.0)
        z_next = z + alpha * d
        r_next = r + alpha * hd
        rr_next = jnp.dot(r_next, r_next)
        d_next = -r_next + rr_next / rr * d
        stop, p_stop = truncate(z, d, dhd, z_next, rr, i)
        small = jnp.invert(stop) & converged(r_next)
        done = stop | small
        p_out = jnp.where(stop, p_stop, jnp.where(small, z_next, p_out))
        return z_next, r_next, d_next, rr_next, p_out, i + 1, done, stop

    z0 = jnp.zeros_like(g)
    init = (z0, g, -g, jnp.dot(g, g), z0, jnp.array(0), converged(g), jnp.array(False))
    z, _, _, _, p, _, done, truncated = jax.lax.while_loop(cond, body, init)
    return jnp.where(done, p, z), truncated
