"""SciPy's Trust Region Reflective least-squares method as an optimistix least-squares solver.

One optimistix step is one trial point of SciPy's ``trf_bounds`` (its inner "until the cost
decreases" loop becomes consecutive steps that keep ``x``). Without bounds the Coleman-Li
scaling is the identity, which is SciPy's ``trf_no_bounds``. Bounds come in
``options['lower']``/``options['upper']``; ``options['x_scale']`` is an array or ``None`` for
``x_scale='jac'``.
"""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .lsq import RUNNING, evaluate_point, keep_or_evaluate, next_status, status_terminate, trial_status
from .trf_steps import (
    active_constraints,
    cl_scaling,
    select_step,
    solve_tr_svd,
    strictly_feasible,
)
from .trust_region import update_radius

__all__ = ["TRF"]


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

    def _g_norm(self, x, g, options):
        v, _ = cl_scaling(x, g, options["lower"], options["upper"])
        return jnp.max(jnp.abs(g * v))

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f_true, f, jac, g, cost, scale_inv = evaluate_point(self, fn, y, args, options["x_scale"])
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
        finite, actual, ratio, status = trial_status(self, f_new, s.cost, predicted, step, x)
        delta_new = update_radius(s.delta, ratio, step_h_norm > 0.95 * s.delta, step_norm=step_h_norm)
        stop = status != 0
        new_delta = jnp.where(finite, jnp.where(stop, s.delta, delta_new), 0.25 * step_h_norm)
        new_alpha = jnp.where(finite & jnp.invert(stop), alpha * s.delta / delta_new, alpha)
        accept = actual > 0
        f_true, f, jac, g, cost, scale_inv = keep_or_evaluate(accept, self, fn, x_new, args,
                                                              options["x_scale"], s)
        x_out = jnp.where(accept, x_new, x)
        nfev = s.nfev + 1
        status = next_status(status, accept, self._g_norm(x_out, g, options) < self.gtol, nfev,
                             self.max_nfev)
        new = _TRFState(f_true, f, jac, g, cost, new_delta, new_alpha, scale_inv, nfev,
                        s.njev + accept, s.nit + accept, status)
        return x_out, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return status_terminate(state)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        status = jnp.where(state.status == RUNNING, 0, state.status)
        return y, aux, {"state": state, "status": status, "optimality": self._g_norm(y, state.g, options),
                        "active_mask": active_constraints(y, options["lower"], options["upper"], self.xtol)}
