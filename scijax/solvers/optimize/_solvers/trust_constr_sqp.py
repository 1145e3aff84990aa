"""The Byrd-Omojokun trust-region SQP step for ``min f  s.t.  c(x) = 0`` (dense).

One step of the equality-constrained SQP behind SciPy's 'trust-constr' (Conn, Gould & Toint,
*Trust-Region Methods*, 2000, §15.4; Nocedal & Wright, *Numerical Optimization*, §18.5):

- the **normal step** ``v`` reduces the linearised infeasibility ``|c + A v|`` within
  ``|v| <= zeta * radius``, by a dogleg between the Cauchy point and the minimum-norm
  Gauss-Newton step; both lie in the range of ``A^T``;
- the **tangential step** ``t = Z w`` (``Z`` an orthonormal basis of the null space of ``A``, so
  ``A t = 0`` and ``|v + t|^2 = |v|^2 + |w|^2``) minimises the quadratic model
  ``(g + H v).t + t.H t / 2`` within the rest of the region. This is the projected-CG subproblem
  solved exactly, in the null space, by the Moré-Sorensen method (SciPy runs projected CG);
- the merit function is ``f + nu |c|``; ``nu`` grows so that the predicted reduction is at least
  ``rho`` times ``nu`` times the predicted decrease of the infeasibility (N&W (18.36)).

Everything is dense: ``A`` is ``m x N`` with ``m <= N``; the null-space basis comes from a full
SVD, ``O(N^3)`` per step, so it is meant for up to a few hundred variables.
"""

import jax.numpy as jnp
from jaxtyping import Array

from .trust_newton import exact_subproblem

__all__ = ["sqp_step", "least_squares_multipliers", "penalty_update", "ZETA"]

ZETA = 0.8
"""The normal step uses at most ``ZETA`` of the trust radius."""


def _pinv_solve(a: Array, c: Array) -> Array:
    """The minimum-norm least-squares ``z`` with ``a z ~ c`` (SVD, rank-revealing)."""
    return jnp.linalg.pinv(a, rtol=jnp.finfo(a.dtype).eps * max(a.shape)) @ c


def normal_step(c: Array, a: Array, radius: Array) -> Array:
    """Dogleg for ``min |c + a v|`` with ``|v| <= radius``."""
    if c.shape[0] == 0:
        return jnp.zeros((a.shape[1],), a.dtype)
    newton = -_pinv_solve(a, c)
    grad = a.T @ c
    ag = a @ grad
    cauchy = -(jnp.dot(grad, grad) / jnp.where(jnp.dot(ag, ag) > 0, jnp.dot(ag, ag), 1.0)) * grad
    n_norm, c_norm = jnp.linalg.norm(newton), jnp.linalg.norm(cauchy)
    # Along the Cauchy-to-Newton segment, to the boundary.
    d = newton - cauchy
    dd, cd = jnp.dot(d, d), jnp.dot(cauchy, d)
    disc = jnp.maximum(cd ** 2 - dd * (c_norm ** 2 - radius ** 2), 0.0)
    tau = (-cd + jnp.sqrt(disc)) / jnp.where(dd > 0, dd, 1.0)
    dogleg = cauchy + jnp.clip(tau, 0.0, 1.0) * d
    scaled_cauchy = cauchy * (radius / jnp.where(c_norm > 0, c_norm, 1.0))
    return jnp.where(n_norm <= radius, newton, jnp.where(c_norm >= radius, scaled_cauchy, dogleg))


def null_space(a: Array) -> Array:
    """An orthonormal basis (columns) of the null space of ``a`` (``m x N``, full row rank)."""
    m, n = a.shape
    if m == 0:
        return jnp.eye(n, dtype=a.dtype)
    _, _, vt = jnp.linalg.svd(a, full_matrices=True)
    return vt[m:].T


def sqp_step(g: Array, h: Array, c: Array, a: Array, radius: Array) -> tuple[Array, Array]:
    """The composite step ``d = v + Z w`` and the normal part ``v``."""
    v = normal_step(c, a, ZETA * radius)
    z = null_space(a)
    if z.shape[1] == 0:
        return v, v
    gr = z.T @ (g + h @ v)
    hr = z.T @ h @ z
    rest = jnp.sqrt(jnp.maximum(radius ** 2 - jnp.dot(v, v), 0.0))
    rest = jnp.maximum(rest, jnp.finfo(g.dtype).tiny ** 0.5)
    w, _ = exact_subproblem(lambda u: gr + hr @ u, jnp.zeros_like(gr), gr, rest)
    return v + z @ w, v


def least_squares_multipliers(g: Array, a: Array) -> Array:
    """``lambda`` minimising ``|g - a^T lambda|``."""
    if a.shape[0] == 0:
        return jnp.zeros((0,), g.dtype)
    return _pinv_solve(a.T, g)


def penalty_update(nu: Array, quad: Array, infeas_decrease: Array, rho: float = 0.3) -> Array:
    """Byrd-Omojokun's penalty: ``nu >= quad / ((1 - rho) * infeas_decrease)`` where the
    infeasibility decreases."""
    need = quad / jnp.where(infeas_decrease > 0, (1 - rho) * infeas_decrease, 1.0)
    return jnp.where(infeas_decrease > 0, jnp.maximum(nu, need), nu)
