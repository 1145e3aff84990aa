"""Bounded-variable least squares by an active-set method.

Solves ``min 0.5 * ||A x - b||^2`` subject to ``lb <= x <= ub`` with the active-set scheme
of Lawson and Hanson (1974, "Solving Least Squares Problems", ch. 23) generalised to two-sided
bounds as in Stark and Parker (1995), "Bounded-variable least-squares: an algorithm and
applications". Every variable is either free or held at one of its bounds (``side`` -1/+1).
Each iteration solves the unconstrained least-squares problem on the free set; if that point
leaves the box the iterate moves to the boundary along the segment and the variables that
hit a bound are fixed there, otherwise it is accepted and the fixed variable whose gradient
most strongly points into the box is freed. The loop stops when no fixed variable's gradient
points into the box (the KKT conditions), so the result is the exact solution up to rounding.

The loop is one ``lax.while_loop`` with a fixed iteration cap; each iteration costs one
dense least-squares solve (``jnp.linalg.lstsq`` with the fixed columns zeroed). A freed
variable that cannot move (rounding) is blocked until the iterate changes, so the method
cannot cycle.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["BVLSSolution", "bvls", "bvls_x0", "bvls_refine", "nan_tangent_unless"]


class BVLSSolution(NamedTuple):
    x: Array
    side: Array  # -1 at lower bound, +1 at upper bound, 0 free
    converged: Array
    nit: Array


def _masked_lstsq(A: Array, rhs: Array, free: Array) -> Array:
    z = jnp.linalg.lstsq(A * free[None, :], rhs)[0]
    return jnp.where(free, z, 0.0)


def bvls_x0(A: Array, b: Array, lb: Array, ub: Array) -> tuple[Array, Array]:
    """Start: the unconstrained solution clipped to the box; clipped variables are fixed."""
    z = jnp.linalg.lstsq(A, b)[0]
    side = jnp.where(z <= lb, -1, jnp.where(z >= ub, 1, 0)).astype(jnp.int32)
    return jnp.clip(z, lb, ub), side


def bvls(A: Array, b: Array, lb: Array, ub: Array, x0: Array, side0: Array, tol, maxiter: int):
    """Run the active-set loop from a feasible ``x0`` whose fixed variables (``side0 != 0``)
    sit exactly on their bounds. ``tol`` is the KKT tolerance on the gradient."""
    n = A.shape[1]
    dt = A.dtype
    bound = lambda side: jnp.where(side < 0, lb, jnp.where(side > 0, ub, 0.0))  # noqa: E731

    def body(carry):
        x, side, blocked, last, _, k = carry
        free = side == 0
        z = _masked_lstsq(A, b - A @ jnp.where(free, 0.0, x), free)
        z = jnp.where(free, z, x)
        out = free & ((z < lb) | (z > ub))
        # interpolate back into the box
        target = jnp.where(z < lb, lb, ub)
        frac = jnp.where(out, (target - x) / jnp.where(out, z - x, 1.0), jnp.inf)
        alpha = jnp.clip(jnp.min(frac, initial=jnp.inf), 0.0, 1.0)
        hit = out & (frac <= alpha)
        x_int = jnp.where(hit, target, x + alpha * (z - x))
        side_int = jnp.where(hit, jnp.where(z < lb, -1, 1), side)
        stalled = (alpha <= 0) & hit[last]
        # accept z and test the KKT conditions
        g = A.T @ (A @ z - b)
        wrong = jnp.where(side < 0, -g, jnp.where(side > 0, g, 0.0))
        wrong = jnp.where(blocked, 0.0, wrong)
        j = jnp.argmax(wrong)
        kkt = wrong[j] <= tol
        any_out = jnp.any(out)
        x_new = jnp.where(any_out, x_int, z)
        side_new = jnp.where(any_out, side_int, side.at[j].set(jnp.where(kkt, side[j], 0)))
        side_new = side_new.astype(jnp.int32)
        x_new = jnp.where(side_new != 0, bound(side_new).astype(dt), x_new)
        # a freed variable that cannot move (it hit its bound at once) stays fixed and is
        # blocked from being freed again until the iterate moves
        blocked = jnp.where(any_out & stalled, blocked.at[last].set(True), blocked)
        blocked = jnp.where(jnp.any(x_new != x), jnp.zeros(n, bool), blocked)
        last = jnp.where(any_out, last, j)
        done = ~any_out & kkt
        return x_new, side_new, blocked, last, done, k + 1

    def cond(carry):
        return ~carry[4] & (carry[5] < maxiter)

    init = (x0, side0, jnp.zeros(n, bool), jnp.asarray(0), jnp.asarray(False), jnp.asarray(0))
    x, side, _, _, done, k = jax.lax.while_loop(cond, body, init)
    return BVLSSolution(x=x, side=side, converged=done, nit=k)


def bvls_refine(A: Array, b: Array, lb: Array, ub: Array, sol: BVLSSolution) -> Array:
    """``sol.x`` with derivatives: the value is the loop's, the derivative is that of the
    least-squares solve on the final free set (normal equations), so ``jax.grad`` with respect
    to ``A`` and ``b`` (and the active bounds) differentiates the KKT system, not the loop."""
    side = jax.lax.stop_gradient(sol.side)
    free = (side == 0).astype(A.dtype)
    fixed = jnp.where(side < 0, lb, jnp.where(side > 0, ub, 0.0))
    fixed = jnp.where(side != 0, fixed, 0.0)
    Af = A * free[None, :]
    K = Af.T @ Af + jnp.diag(1.0 - free)
    z = jnp.linalg.solve(K, Af.T @ (b - A @ fixed))
    x_diff = jnp.where(free > 0, z, fixed)
    return jax.lax.stop_gradient(sol.x) + (x_diff - jax.lax.stop_gradient(x_diff))


@jax.custom_jvp
def nan_tangent_unless(x: Array, ok: Array) -> Array:
    """Identity whose derivative is ``nan`` where ``ok`` is false (a failed solve)."""
    return x


@nan_tangent_unless.defjvp
def _nan_tangent_unless_jvp(primals, tangents):
    x, ok = primals
    return x, tangents[0] * jnp.where(ok, 1.0, jnp.nan).astype(x.dtype)
