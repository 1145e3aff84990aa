"""SciPy's Trust Region Reflective least-squares method as an optimistix least-squares solver.

One optimistix step is one trial point of SciPy's ``trf_bounds`` (its inner "until the cost
decreases" loop becomes consecutive steps that keep ``x``). Without bounds the Coleman-Li
scaling is the identity, which is SciPy's ``trf_no_bounds``. Bounds come in
``options['lower']``/``options['upper']``; ``options['x_scale']`` is an array or ``None`` for
``x_scale='jac'``.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .trf_steps import (
    active_constraints,
    check_termination,
    cl_scaling,
    loss_rho,
    scale_for_loss,
    select_step,
    solve_tr_svd,
    strictly_feasible,
)
from .trust_region import reduction_ratio, update_radius

__all__ = ["TRF", "RUNNING", "evaluate", "with_loss", "cost_of", "jac_scale_inv"]

RUNNING = -3


def evaluate(fn, x, args):
    """Residuals and their Jacobian (forward mode, one JVP per column)."""
    f, lin = jax.linearize(lambda z: fn(z, args)[0], x)
    jac = jax.vmap(lin, out_axes=1)(jnp.eye(x.shape[0], dtype=x.dtype))
    return f, jac


def with_loss(loss, f_scale, f, jac):
    """Cost, and residuals/Jacobian rescaled for a robust loss as SciPy does."""
    if loss is None:
        return 0.5 * jnp.dot(f, f), f, jac
    rho = loss_rho(loss, f, f_scale)
    jac_s, f_s = scale_for_loss(jac, f, rho)
    return 0.5 * jnp.sum(rho[0]), f_s, jac_s


def cost_of(loss, f_scale, f):
    if loss is None:
        return 0.5 * jnp.dot(f, f)
    return 0.5 * jnp.sum(loss_rho(loss, f, f_scale)[0])


def jac_scale_inv(jac, old=None):
    """SciPy's ``compute_jac_scale``: column norms (kept from growing smaller)."""
    col = jnp.sqrt(jnp.sum(jac**2, axis=0))
    return jnp.where(col == 0, 1.0, col) if old is None else jnp.maximum(col, old)


class _TRFState(eqx.Module):
    f_true: Array
    f: Array
    jac: Array
    g: Array
    cost: Array
    delta: Array
    alpha: Array
    scale_inv: Array
    nfev: Array
    njev: Array
    nit: Array
    status: Array


class TRF(optx.AbstractLeastSquaresSolver):
    """Trust Region Reflective (SciPy's ``method='trf'``, ``tr_solver='exact'``)."""

    ftol: float = 1e-8
    xtol: float = 1e-8
    gtol: float = 1e-8
    max_nfev: int = 100
    loss: Any = eqx.field(static=True, default=None)
    f_scale: float = 1.0
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _evaluate(self, fn, x, args):
        return evaluate(fn, x, args)

    def _with_loss(self, f, jac):
        return with_loss(self.loss, self.f_scale, f, jac)

    def _cost(self, f):
        return cost_of(self.loss, self.f_scale, f)

    def _g_norm(self, x, g, options):
        v, _ = cl_scaling(x, g, options["lower"], options["upper"])
        return jnp.max(jnp.abs(g * v))

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f_true, jac = self._evaluate(fn, y, args)
        cost, f, jac = self._with_loss(f_true, jac)
        g = jac.T @ f
        x_scale = options["x_scale"]
        if x_scale is None:
            scale_inv = jac_scale_inv(jac)
        else:
            scale_inv = 1.0 / x_scale
        v, dv = cl_scaling(y, g, options["lower"], options["upper"])
        v = jnp.where(dv != 0, v * scale_inv, v)
        delta = jnp.linalg.norm(y * scale_inv / jnp.sqrt(v))
        delta = jnp.where(delta == 0, 1.0, delta)
        status = jnp.where(self._g_norm(y, g, options) < self.gtol, 1, RUNNING)
        one = jnp.array(1)
        return _TRFState(f_true, f, jac, g, cost, delta, jnp.zeros_like(delta), scale_inv, one, one,
                         jnp.array(0), status)

    def step(self, fn, y, args, options, s, tags):
        lb, ub, x = options["lower"], options["upper"], y
        m, n = s.f.shape[0], x.shape[0]
        scale = 1.0 / s.scale_inv
        g_norm = self._g_norm(x, s.g, options)
        v, dv = cl_scaling(x, s.g, lb, ub)
        v = jnp.where(dv != 0, v * s.scale_inv, v)
        d = jnp.sqrt(v) * scale
        diag_h = s.g * dv * scale
        g_h = d * s.g
        j_h = s.jac * d
        j_aug = jnp.concatenate([j_h, jnp.diag(jnp.sqrt(diag_h))])
        f_aug = jnp.concatenate([s.f, jnp.zeros((n,), s.f.dtype)])
        u, sv, vt = jnp.linalg.svd(j_aug, full_matrices=False)
        uf = u.T @ f_aug
        theta = jnp.maximum(0.995, 1 - g_norm)
        p_h, alpha = solve_tr_svd(m, uf, sv, vt, s.delta, s.alpha)
        step, step_h, predicted = select_step(x, j_h, diag_h, g_h, d * p_h, p_h, d, s.delta, lb, ub,
                                              theta)
        x_new = strictly_feasible(x + step, lb, ub, rstep=0)
        f_new, _ = fn(x_new, args)
        step_h_norm = jnp.linalg.norm(step_h)
        finite = jnp.all(jnp.isfinite(f_new))
        cost_new = self._cost(f_new)
        actual = jnp.where(finite, s.cost - cost_new, -1.0)
        ratio = reduction_ratio(actual, predicted)
        delta_new = update_radius(s.delta, ratio, step_h_norm > 0.95 * s.delta, step_norm=step_h_norm)
        status = check_termination(actual, s.cost, jnp.linalg.norm(step), jnp.linalg.norm(x), ratio,
                                   self.ftol, self.xtol)
        status = jnp.where(finite, status, 0)
        stop = status != 0
        new_delta = jnp.where(finite, jnp.where(stop, s.delta, delta_new), 0.25 * step_h_norm)
        new_alpha = jnp.where(finite & jnp.invert(stop), alpha * s.delta / delta_new, alpha)
        accept = actual > 0

        def accepted(_):
            f_true, jac = self._evaluate(fn, x_new, args)
            cost, f, jac = self._with_loss(f_true, jac)
            g = jac.T @ f
            if options["x_scale"] is None:
                scale_inv = jac_scale_inv(jac, s.scale_inv)
            else:
                scale_inv = s.scale_inv
            return f_true, f, jac, g, cost, scale_inv

        def rejected(_):
            return s.f_true, s.f, s.jac, s.g, s.cost, s.scale_inv

        f_true, f, jac, g, cost, scale_inv = jax.lax.cond(accept, accepted, rejected, None)
        x_out = jnp.where(accept, x_new, x)
        nfev = s.nfev + 1
        gtol_ok = accept & jnp.invert(stop) & (self._g_norm(x_out, g, options) < self.gtol)
        status = jnp.where(stop, status, jnp.where(gtol_ok, 1, RUNNING))
        status = jnp.where((status == RUNNING) & (nfev >= self.max_nfev), 0, status)
        new = _TRFState(f_true, f, jac, g, cost, new_delta, new_alpha, scale_inv, nfev,
                        s.njev + accept, s.nit + accept, status)
        return x_out, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return state.status != RUNNING, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        status = jnp.where(state.status == RUNNING, 0, state.status)
        return y, aux, {"state": state, "status": status, "optimality": self._g_norm(y, state.g, options),
                        "active_mask": active_constraints(y, options["lower"], options["upper"], self.xtol)}
