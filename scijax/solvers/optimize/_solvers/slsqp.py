"""SLSQP-style sequential quadratic programming as an optimistix minimiser.

Each iteration solves the quadratic programme
``min g.d + d.B d/2  s.t.  c_eq + J_eq d = 0,  c_in + J_in d >= 0`` (bounds are inequality rows)
with a dense primal-dual interior-point method, then backtracks (the shared search of
:mod:`.linesearch`) on SLSQP's L1 merit function
``f + sum rho_eq |c_eq| + sum rho_in max(0, -c_in)`` and updates ``B`` by damped BFGS on the
Lagrangian (Powell's damping keeps it positive definite). It stops with SLSQP's test: a change
in ``f`` or a step below ``ftol`` while the constraint violation is below ``ftol``. SciPy's
SLSQP solves its QP by an active-set least-squares method (LSQ); the fixed points are the same
KKT points.

The objective passed to the engine returns ``(f, (c_eq, c_in))``.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .linesearch import backtrack, linear_model
from .stopping import scipy_stats, scipy_terminate

__all__ = ["SLSQP", "solve_qp"]


def solve_qp(b, g, a_eq, c_eq, a_in, c_in, iters: int = 60):
    """Interior-point solve of the SQP subproblem; returns ``(d, lambda_eq, lambda_in)``."""
    n, me, mi = g.shape[0], c_eq.shape[0], c_in.shape[0]
    d = jnp.zeros_like(g)
    y = jnp.zeros((me,), g.dtype)
    s = jnp.maximum(c_in, 1.0)
    z = jnp.ones((mi,), g.dtype)

    def frac_to_boundary(v, dv):
        ratio = jnp.where(dv < 0, -v / jnp.where(dv < 0, dv, -1.0), jnp.inf)
        return jnp.minimum(1.0, 0.99 * jnp.min(ratio, initial=jnp.inf))

    tol = 100 * jnp.finfo(g.dtype).eps * (1.0 + jnp.max(jnp.abs(g)))

    def residuals(d, y, s, z):
        r_d = b @ d + g - a_eq.T @ y - a_in.T @ z
        r_e = a_eq @ d + c_eq
        r_i = a_in @ d + c_in - s
        return jnp.concatenate([jnp.abs(r_d), jnp.abs(r_e), jnp.abs(r_i), s * z])

    def cond(carry):
        *vals, i, ok = carry
        return ok & (i < iters) & (jnp.max(residuals(*vals)) > tol)

    def body(carry):
        d, y, s, z, i, _ = carry
        r_d = b @ d + g - a_eq.T @ y - a_in.T @ z
        r_e = a_eq @ d + c_eq
        r_i = a_in @ d + c_in - s
        mu = jnp.dot(s, z) / max(mi, 1)
        r_c = s * z - 0.1 * mu
        w = z / s
        h = b + a_in.T @ (w[:, None] * a_in)
        kkt = jnp.block([[h, -a_eq.T], [a_eq, jnp.zeros((me, me), g.dtype)]])
        rhs = jnp.concatenate([-r_d - a_in.T @ ((r_c + z * r_i) / s), -r_e])
        sol = jnp.linalg.solve(kkt + 1e-14 * jnp.eye(n + me, dtype=g.dtype), rhs)
        dd, dy = sol[:n], sol[n:]
        dz = -(r_c + z * r_i) / s - w * (a_in @ dd)
        ds = a_in @ dd + r_i
        alpha = jnp.minimum(frac_to_boundary(s, ds), frac_to_boundary(z, dz))
        new = (d + alpha * dd, y + alpha * dy, s + alpha * ds, z + alpha * dz)
        finite = jnp.all(jnp.isfinite(jnp.concatenate([v.ravel() for v in new])))
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new, (d, y, s, z))
        return (*new, i + 1, finite)

    d, y, s, z, _, _ = jax.lax.while_loop(cond, body, (d, y, s, z, jnp.array(0), jnp.array(True)))
    return d, y, z


def _evaluate(fn, x, args):
    (f, cons), g = jax.value_and_grad(lambda z: fn(z, args), has_aux=True)(x)
    jac_eq, jac_in = jax.jacfwd(lambda z: fn(z, args)[1])(x)
    return f, g, cons[0], cons[1], jac_eq, jac_in


def _violation(c_eq, c_in):
    return jnp.sum(jnp.abs(c_eq)) + jnp.sum(jnp.maximum(0.0, -c_in))


class _SQPState(eqx.Module):
    f: Array
    g: Array
    c_eq: Array
    c_in: Array
    jac_eq: Array
    jac_in: Array
    hess: Array
    rho_eq: Array
    rho_in: Array
    lam_eq: Array
    lam_in: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array


class SLSQP(optx.AbstractMinimiser):
    """Sequential quadratic programming with a damped-BFGS Lagrangian Hessian."""

    ftol: float = 1e-6
    maxiter: int = 100
    maxls: int = 20
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f, g, c_eq, c_in, j_eq, j_in = _evaluate(fn, y, args)
        zero = jnp.array(0)
        return _SQPState(f, g, c_eq, c_in, j_eq, j_in, jnp.eye(y.shape[0], dtype=y.dtype),
                         jnp.zeros_like(c_eq), jnp.zeros_like(c_in), jnp.zeros_like(c_eq),
                         jnp.zeros_like(c_in), zero, jnp.array(1), jnp.array(False), jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        d, lam_eq, lam_in = solve_qp(state.hess, state.g, state.jac_eq, state.c_eq, state.jac_in,
                                     state.c_in)
        rho_eq = jnp.maximum(jnp.abs(lam_eq), 0.5 * (state.rho_eq + jnp.abs(lam_eq)))
        rho_in = jnp.maximum(jnp.abs(lam_in), 0.5 * (state.rho_in + jnp.abs(lam_in)))

        def merit(z):
            f, (c_eq, c_in) = fn(z, args)
            return f + jnp.dot(rho_eq, jnp.abs(c_eq)) + jnp.dot(rho_in, jnp.maximum(0.0, -c_in))

        pen_eq = jnp.dot(rho_eq, jnp.abs(state.c_eq))
        pen_in = jnp.dot(rho_in, jnp.maximum(0.0, -state.c_in))
        # The L1 merit function's directional derivative along d is at most g.d - penalty.
        slope = jnp.minimum(jnp.dot(state.g, d) - pen_eq - pen_in, 0.0)
        search = backtrack(lambda t: (merit(y + t * d), None), state.f + pen_eq + pen_in,
                           linear_model(slope), c1=0.1, maxls=self.maxls)
        ok = search.found
        step = jnp.where(ok, search.step * d, 0.0)
        x_new = y + step
        f, g, c_eq, c_in, j_eq, j_in = _evaluate(fn, x_new, args)
        lagrangian_grad = lambda g_, je, ji: g_ - je.T @ lam_eq - ji.T @ lam_in  # noqa: E731
        yv = lagrangian_grad(g, j_eq, j_in) - lagrangian_grad(state.g, state.jac_eq, state.jac_in)
        hess = _damped_bfgs(state.hess, step, yv)
        small = (jnp.abs(f - state.f) < self.ftol) | (jnp.linalg.norm(step) < self.ftol)
        converged = ok & small & (_violation(c_eq, c_in) < self.ftol)
        new_state = _SQPState(f, g, c_eq, c_in, j_eq, j_in, hess, rho_eq, rho_in, lam_eq, lam_in,
                              state.nit + 1, state.nfev + search.evals + 1, converged,
                              jnp.invert(ok) & jnp.invert(converged))
        return x_new, new_state, (c_eq, c_in)

    def terminate(self, fn, y, args, options, state, tags):
        return scipy_terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {**scipy_stats(state), "lam_eq": state.lam_eq, "lam_in": state.lam_in}


def _damped_bfgs(b, s, y):
    bs = b @ s
    sbs = jnp.dot(s, bs)
    sy = jnp.dot(s, y)
    theta = jnp.where(sy >= 0.2 * sbs, 1.0, 0.8 * sbs / jnp.where(sbs - sy != 0, sbs - sy, 1.0))
    y = theta * y + (1 - theta) * bs
    sy = jnp.dot(s, y)
    update = sbs > jnp.finfo(b.dtype).tiny * 1e10
    new = b + jnp.outer(y, y) / jnp.where(update, sy, 1.0) - jnp.outer(bs, bs) / jnp.where(
        update, sbs, 1.0)
    return jnp.where(update, new, b)


SLSQP_MESSAGES: tuple[str, ...] = (
    "Optimization terminated successfully",
    "Function evaluation required (f & c)",
    "More equality constraints than independent variables",
    "More than 3*n iterations in LSQ subproblem",
    "Inequality constraints incompatible",
    "Singular matrix E in LSQ subproblem",
    "Singular matrix C in LSQ subproblem",
    "Rank-deficient equality constraint subproblem HFTI",
    "Positive directional derivative for linesearch",
    "Iteration limit reached",
    "NaN result encountered.",
)
"""SLSQP's own status codes (SciPy's ``slsqp`` messages), plus 10 for NaN."""

SLSQP_STATUS = jnp.array([0, 9, 8, 10], dtype=jnp.int32)
"""Generic minimize status (0 ok, 1 maxiter, 2 stalled, 3 NaN) -> SLSQP's code."""


def kkt_residual(fn, active):
    """KKT conditions with the active inequality set held fixed, for implicit differentiation."""

    def residual(z, params):
        x, lam_eq, lam_in = z
        f_grad = jax.grad(lambda v: fn(v, params)[0])(x)
        (c_eq, c_in), vjp = jax.vjp(lambda v: fn(v, params)[1], x)
        (jt_lam,) = vjp((lam_eq, lam_in * active))
        return (f_grad - jt_lam, c_eq, jnp.where(active > 0, c_in, lam_in))

    return residual
