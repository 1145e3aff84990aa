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


def pinv_and_null_space(a: Array) -> tuple[Array, Array]:
    """The pseudo-inverse of ``a`` (``m x N``, ``m <= N``) and an orthonormal basis (columns) of its
    null space, from one full SVD."""
    m, n = a.shape
    if m == 0:
        return jnp.zeros((n, 0), a.dtype), jnp.eye(n, dtype=a.dtype)
    u, sig, vt = jnp.linalg.svd(a, full_matrices=True)
    cutoff = jnp.finfo(a.dtype).eps * max(m, n) * sig[0]
    inv = jnp.where(sig > cutoff, 1.0 / jnp.where(sig > cutoff, sig, 1.0), 0.0)
    return vt[:m].T @ (inv[:, None] * u.T), vt[m:].T


def normal_step(c: Array, a: Array, a_pinv: Array, radius: Array) -> Array:
    """Dogleg for ``min |c + a v|`` with ``|v| <= radius``."""
    if c.shape[0] == 0:
        return jnp.zeros((a.shape[1],), a.dtype)
    newton = -a_pinv @ c
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


def sqp_step(g: Array, h: Array, c: Array, a: Array, radius: Array) -> tuple[Array, Array, Array]:
    """The composite step ``d = v + Z w``, the normal part ``v`` and the pseudo-inverse of ``a``."""
    a_pinv, z = pinv_and_null_space(a)
    v = normal_step(c, a, a_pinv, ZETA * radius)
    if z.shape[1] == 0:
        return v, v, a_pinv
    gr = z.T @ (g + h @ v)
    hr = z.T @ h @ z
    rest = jnp.sqrt(jnp.maximum(radius ** 2 - jnp.dot(v, v), 0.0))
    rest = jnp.maximum(rest, jnp.finfo(g.dtype).tiny ** 0.5)
    w, _ = exact_subproblem(lambda u: gr + hr @ u, jnp.zeros_like(gr), gr, rest)
    return v + z @ w, v, a_pinv


def least_squares_multipliers(g: Array, a: Array) -> Array:
    """``lambda`` minimising ``|g - a^T lambda|``."""
    if a.shape[0] == 0:
        return jnp.zeros((0,), g.dtype)
    return pinv_and_null_space(a)[0].T @ g


def penalty_update(nu: Array, quad: Array, infeas_decrease: Array, rho: float = 0.3) -> Array:
    """Byrd-Omojokun's penalty: ``nu >= quad / ((1 - rho) * infeas_decrease)`` where the
    infeasibility decreases."""
    need = quad / jnp.where(infeas_decrease > 0, (1 - rho) * infeas_decrease, 1.0)
    return jnp.where(infeas_decrease > 0, jnp.maximum(nu, need), nu)
