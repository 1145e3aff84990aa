"""The compiled drivers behind ``minimize``: run an engine in optimistix's loop, re-attach
implicit derivatives, and pack SciPy's ``OptimizeResult``.

Each ``MinimizeMethod`` registry entry names its driver and carries what differs between
methods (engine options, bounds by clipping, the loop bound, extra result fields), so neither
driver looks at the method name or the engine's type.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import PyTree

from ._callback import CALLBACK_STATUS, unwrap, unwrap_solution
from ._constraints import parse_constraints
from ._implicit import attach_implicit_gradient, implicit_bounded_solution
from ._result import OptimizeResult, status_from_optx
from ._solvers.slsqp import SLSQP_MESSAGES, SLSQP_STATUS, kkt_residual

__all__ = ["run_minimiser", "run_constrained"]


def _no_grad(tree: PyTree) -> PyTree:
    return jax.tree_util.tree_map(
        lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, tree)


@eqx.filter_jit
def run_minimiser(spec: Any, objective, solver, x0, params, lower, upper, has_bounds: bool, constraints,
                  engine_options: dict, unravel) -> OptimizeResult:
    """A minimiser of ``objective(x, params)``, with bounds given to the engine (or, for an entry
    with ``clip_to_bounds``, enforced by clipping every point the engine evaluates)."""
    clip = spec.clip_to_bounds and has_bounds
    if clip:
        base = objective
        objective = lambda x, p: base(jnp.clip(x, lower, upper), p)  # noqa: E731
    fn = eqx.filter_closure_convert(objective, x0, params)
    sol = optx.minimise(_no_grad(fn), solver, x0, _no_grad(params), options=_no_grad(engine_options),
                        has_aux=True, max_steps=spec.max_steps(unwrap(solver)), throw=False)
    sol = unwrap_solution(solver, sol)
    x_star = jnp.clip(sol.value, lower, upper) if clip else sol.value
    stats = sol.stats
    status = status_from_optx(sol.result, stats["converged"])
    status = jnp.where(jnp.isfinite(fn(x_star, params)[0]), status, 3).astype(jnp.int32)
    if not spec.gradient_free:  # (a gradient-free engine checks this itself, without gradients)
        # Stopped against the edge of a region where `fun` is NaN: one (projected) step along
        # minus the gradient, which vanishes at a minimum, lands on NaN.
        g_star = jax.grad(lambda z: fn(z, params)[0])(x_star)
        probe = jnp.clip(x_star - jnp.where(jnp.isfinite(g_star), g_star, 0), lower, upper)
        status = jnp.where((status == 0) & ~jnp.isfinite(fn(probe, params)[0]), 3, status)
    status = _callback_status(stats, status)
    x = implicit_bounded_solution(lambda z, p: fn(z, p)[0], x_star, params, lower, upper, has_bounds,
                                  success=status == 0)
    f, g = jax.value_and_grad(lambda z: fn(z, params)[0])(x)
    fields = dict(x=unravel(x), success=status == 0, status=status, fun=f, jac=unravel(g),
                  nit=stats["nit"], nfev=stats["nfev"], njev=stats["nfev"])
    return OptimizeResult(**{**fields, **spec.pack(sol)})


@eqx.filter_jit
def run_constrained(spec: Any, objective, solver, x0, params, lower, upper, has_bounds: bool, constraints,
                    engine_options: dict, unravel) -> OptimizeResult:
    """SLSQP: constraints and finite bounds become ``c_eq(x) = 0`` and ``c_in(x) >= 0`` rows."""
    eq_fn, in_fn = parse_constraints(constraints)
    dtype = x0.dtype

    def problem(x, p):
        prm, lo, hi = p
        xt = unravel(x)
        c_eq = eq_fn(xt).astype(dtype) if eq_fn is not None else jnp.zeros((0,), dtype)
        rows = [in_fn(xt).astype(dtype)] if in_fn is not None else []
        rows += [jnp.where(jnp.isfinite(lo), x - lo, 1.0), jnp.where(jnp.isfinite(hi), hi - x, 1.0)]
        return objective.value(x, prm), (c_eq, jnp.concatenate(rows))

    inputs = (params, lower, upper)
    fn = eqx.filter_closure_convert(problem, x0, inputs)
    sol = optx.minimise(_no_grad(fn), solver, x0, _no_grad(inputs), options=_no_grad(engine_options),
                        has_aux=True, max_steps=spec.max_steps(unwrap(solver)), throw=False)
    sol = unwrap_solution(solver, sol)
    stats = sol.stats
    lam_eq, lam_in = stats["lam_eq"], stats["lam_in"]
    scale = jnp.maximum(1.0, jnp.max(jnp.abs(lam_in), initial=0.0))
    active = (lam_in > 1e-6 * scale).astype(dtype)
    generic = status_from_optx(sol.result, stats["converged"])
    generic = jnp.where(jnp.isfinite(fn(sol.value, inputs)[0]), generic, 3)
    # Stopped against the edge of a region where `fun` is NaN: one step along minus the gradient of
    # the Lagrangian (zero at a KKT point) lands on NaN.
    kkt = kkt_residual(fn, active)((sol.value, lam_eq, lam_in), inputs)[0]
    probe = sol.value - jnp.where(jnp.isfinite(kkt), kkt, 0)
    generic = jnp.where((generic == 0) & ~jnp.isfinite(fn(probe, inputs)[0]), 3, generic)
    status = _callback_status(stats, SLSQP_STATUS[generic])
    x, _, _ = attach_implicit_gradient((sol.value, lam_eq, lam_in), kkt_residual(fn, active), inputs,
                                       success=status == 0)
    (f, (c_eq, c_in)), g = jax.value_and_grad(lambda z: fn(z, inputs), has_aux=True)(x)
    fields = dict(x=unravel(x), success=status == 0, status=status, fun=f, jac=unravel(g), nit=stats["nit"],
                  nfev=stats["nfev"], njev=stats["nit"] + 1, multipliers=(lam_eq, lam_in),
                  messages=SLSQP_MESSAGES)
    return OptimizeResult(**{**fields, **spec.pack(sol)})


def _callback_status(stats: dict, status):
    """SciPy's status 99 where the user's callback raised ``StopIteration``."""
    if "callback_stop" not in stats:
        return status
    return jnp.where(stats["callback_stop"], CALLBACK_STATUS, status).astype(jnp.int32)
