"""SciPy's dogbox least-squares method (``scipy/optimize/_lsq/dogbox.py``) as an optimistix
least-squares solver: a dogleg step in a rectangular trust region intersected with the bounds,
with variables held on a bound (by the sign of the gradient) removed from the step."""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .lsq import RUNNING, evaluate_point, keep_or_evaluate, next_status, status_terminate, trial_status
from .trf_steps import _minimize_1d, _quadratic_1d, _step_to_bound
from .trust_region import update_radius

__all__ = ["Dogbox"]


def _dogleg_step(x, newton, g, a, b, tr_bounds, lb, ub, free):
    lb_c = jnp.where(free, lb - x, -jnp.inf)
    ub_c = jnp.where(free, ub - x, jnp.inf)
    lb_total, ub_total = jnp.maximum(lb_c, -tr_bounds), jnp.minimum(ub_c, tr_bounds)
    orig_l, orig_u = lb_total == lb_c, ub_total == ub_c
    tr_l, tr_u = lb_total == -tr_bounds, ub_total == tr_bounds
    inside = jnp.all((newton >= lb_total) & (newton <= ub_total))
    to_bounds, _ = _step_to_bound(jnp.zeros_like(x), -g, lb_total, ub_total)
    t, _ = _minimize_1d(a, b, 0.0, jnp.zeros_like(to_bounds), to_bounds)
    cauchy = -t * g
    diff = newton - cauchy
    size, hits = _step_to_bound(cauchy, diff, lb_total, ub_total)
    hits_bound = jnp.where((hits < 0) & orig_l, -1, jnp.where((hits > 0) & orig_u, 1, 0))
    tr_hit = jnp.any(((hits < 0) & tr_l) | ((hits > 0) & tr_u))
    step = cauchy + size * diff
    return (jnp.where(inside, newton, step), jnp.where(inside, 0, hits_bound),
            jnp.where(inside, False, tr_hit))


class _DogboxState(eqx.Module):
    f_true: Array
    f: Array
    jac: Array
    g: Array
    cost: Array
    delta: Array
    scale_inv: Array
    on_bound: Array
    nfev: Array
    njev: Array
    nit: Array
    status: Array


class Dogbox(optx.AbstractLeastSquaresSolver):
    """Dogleg in a box (SciPy's ``method='dogbox'``, ``tr_solver='exact'``)."""

    ftol: float = 1e-8
    xtol: float = 1e-8
    gtol: float = 1e-8
    max_nfev: int = 100
    loss: Any = eqx.field(static=True, default=None)
    f_scale: float = 1.0
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _g_norm(self, g, on_bound):
        return jnp.max(jnp.abs(jnp.where(on_bound * g < 0, 0.0, g)))

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f_true, f, jac, g, cost, scale_inv = evaluate_point(self, fn, y, args, options["x_scale"])
        delta = jnp.max(jnp.abs(y * scale_inv))
        delta = jnp.where(delta == 0, 1.0, delta)
        lb, ub = options["lower"], options["upper"]
        on_bound = jnp.where(y == lb, -1, jnp.where(y == ub, 1, 0))
        status = jnp.where(self._g_norm(g, on_bound) < self.gtol, 1, RUNNING)
        one = jnp.array(1)
        return _DogboxState(f_true, f, jac, g, cost, delta, scale_inv, on_bound, one, one,
                            jnp.array(0), status)

    def step(self, fn, y, args, options, s, tags):
        lb, ub, x = options["lower"], options["upper"], y
        scale = 1.0 / s.scale_inv
        free = jnp.invert(s.on_bound * s.g < 0)
        g_free = jnp.where(free, s.g, 0.0)
        j_free = s.jac * free
        newton = jnp.linalg.lstsq(j_free, -s.f)[0] * free
        a, b, _ = _quadratic_1d(j_free, g_free, -g_free, jnp.zeros_like(g_free))
        step, hits, tr_hit = _dogleg_step(x, newton, g_free, a, b, s.delta * scale, lb, ub, free)
        step = jnp.where(free, step, 0.0)
        js = j_free @ step
        predicted = -(0.5 * jnp.dot(js, js) + jnp.dot(g_free, step))
        x_new = jnp.clip(x + step, lb, ub)
        f_new, _ = fn(x_new, args)
        step_h_norm = jnp.max(jnp.abs(step * s.scale_inv))
        finite, actual, ratio, status = trial_status(self, f_new, s.cost, predicted, step, x)
        delta_new = update_radius(s.delta, ratio, tr_hit, step_norm=step_h_norm)
        delta = jnp.where(finite, delta_new, 0.25 * step_h_norm)
        accept = actual > 0
        on_bound = jnp.where(accept, jnp.where(free, hits, s.on_bound), s.on_bound)
        x_acc = jnp.where(on_bound == -1, lb, jnp.where(on_bound == 1, ub, x_new))
        f_true, f, jac, g, cost, scale_inv = keep_or_evaluate(accept, self, fn, x_acc, args,
                                                              options["x_scale"], s)
        x_out = jnp.where(accept, x_acc, x)
        nfev = s.nfev + 1
        status = next_status(status, accept, self._g_norm(g, on_bound) < self.gtol, nfev, self.max_nfev)
        new = _DogboxState(f_true, f, jac, g, cost, delta, scale_inv, on_bound, nfev,
                           s.njev + accept, s.nit + accept, status)
        return x_out, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return status_terminate(state)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        status = jnp.where(state.status == RUNNING, 0, state.status)
        return y, aux, {"state": state, "status": status,
                        "optimality": self._g_norm(state.g, state.on_bound), "active_mask": state.on_bound}
