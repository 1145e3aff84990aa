"""The compiled driver and the result of ``minimize(method='trust-constr')``.

Constraints (dicts, ``LinearConstraint``, ``NonlinearConstraint``) and finite bounds become
``c_eq(x) = 0`` and ``c_in(x) >= 0`` rows, as for SLSQP; the engine is
:class:`._solvers.trust_constr.TrustConstr`. Derivatives of ``x`` with respect to ``args`` (and
the bounds) come from the KKT conditions with the active set held fixed (SLSQP's
:func:`kkt_residual`), NaN through a solve that did not succeed.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, PyTree

from ._callback import unwrap, unwrap_solution
from ._constraints import parse_constraints
from ._implicit import attach_implicit_gradient
from ._result import OptimizeResult, ResultFields
from ._solvers.slsqp import kkt_residual
from ._solvers.trust_constr import TRUST_CONSTR_MESSAGES

__all__ = ["TrustConstrResult", "run_trust_constr"]


class TrustConstrResult(ResultFields):
    """SciPy's trust-constr ``OptimizeResult`` fields (a pytree; ``message`` from ``status``).

    ``status``: 0 iteration limit, 1 ``gtol`` met, 2 ``xtol`` met, 3 callback stop, 4 ``xtol`` met
    with the constraints violated by more than ``gtol``, 5 NaN; ``success`` is ``status`` 1 or 2.
    ``jac`` holds the constraint Jacobians ``(J_eq, J_in)`` and ``grad`` the objective's gradient,
    as in SciPy; ``constr`` and ``v`` are ``(c_eq, c_in)`` and their multipliers ``(lam_eq,
    lam_in)`` in the stacked row form (see ``minimize``'s Differences from SciPy).
    """

    x: PyTree[Array]
    success: Array
    status: Array
    fun: Any = None
    grad: Any = None
    lagrangian_grad: Any = None
    jac: Any = None
    constr: Any = None
    constr_violation: Any = None
    optimality: Any = None
    v: Any = None
    nit: Any = None
    nfev: Any = None
    njev: Any = None
    nhev: Any = None
    tr_radius: Any = None
    constr_penalty: Any = None
    barrier_parameter: Any = None
    barrier_tolerance: Any = None
    method: str = eqx.field(static=True, default="equality_constrained_sqp")
    messages: tuple[str, ...] = eqx.field(static=True, default=TRUST_CONSTR_MESSAGES)

    __repr__ = OptimizeResult.__repr__


def _no_grad(tree: PyTree) -> PyTree:
    return jax.tree_util.tree_map(lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, tree)


@eqx.filter_jit
def run_trust_constr(spec: Any, objective, solver, x0, params, lower, upper, has_bounds: bool, constraints,
                     engine_options: dict, unravel) -> TrustConstrResult:
    """Run :class:`TrustConstr` on ``objective`` with ``constraints`` and finite bounds as rows."""
    eq_fn, in_fn = parse_constraints(constraints)
    dtype = x0.dtype

    def problem(x, p):
        prm, lo, hi = p
        xt = unravel(x)
        c_eq = eq_fn(xt).astype(dtype) if eq_fn is not None else jnp.zeros((0,), dtype)
        rows = [in_fn(xt).astype(dtype)] if in_fn is not None else []
        if has_bounds:
            rows += [jnp.where(jnp.isfinite(lo), x - lo, 1.0), jnp.where(jnp.isfinite(hi), hi - x, 1.0)]
        c_in = jnp.concatenate(rows) if rows else jnp.zeros((0,), dtype)
        return objective.value(x, prm), (c_eq, c_in)

    inputs = (params, lower, upper)
    fn = eqx.filter_closure_convert(problem, x0, inputs)
    n_eq = jax.eval_shape(fn, x0, inputs)[1][0].shape[0]
    if n_eq > x0.shape[0]:
        raise ValueError(f"`constraints`: trust-constr needs at most as many equality constraints as variables; "
                         f"got {n_eq} for {x0.shape[0]} variables.")
    sol = optx.minimise(_no_grad(fn), solver, x0, _no_grad(inputs), options=_no_grad(engine_options),
                        has_aux=True, max_steps=int(unwrap(solver).maxiter) + 2, throw=False)
    sol = unwrap_solution(solver, sol)
    stats = sol.stats
    status = stats["code"].astype(jnp.int32)
    if "callback_stop" in stats:
        status = jnp.where(stats["callback_stop"], 3, status).astype(jnp.int32)
    success = (status == 1) | (status == 2)
    lam_eq, lam_in = stats["lam_eq"], stats["lam_in"]
    scale = jnp.maximum(1.0, jnp.max(jnp.abs(lam_in), initial=0.0))
    active = (lam_in > 1e-6 * scale).astype(dtype)
    x, _, _ = attach_implicit_gradient((sol.value, lam_eq, lam_in), kkt_residual(fn, active), inputs,
                                       success=success)
    (f, (c_eq, c_in)), g = jax.value_and_grad(lambda z: fn(z, inputs), has_aux=True)(x)
    n_in = c_in.shape[0]
    return TrustConstrResult(
        x=unravel(x), success=success, status=status, fun=f, grad=unravel(g),
        lagrangian_grad=stats["lagrangian_grad"], jac=(stats["j_eq"], stats["j_in"]), constr=(c_eq, c_in),
        constr_violation=stats["constr_violation"], optimality=stats["optimality"], v=(lam_eq, lam_in),
        nit=stats["nit"], nfev=stats["nfev"], njev=stats["njev"], nhev=stats["nhev"],
        tr_radius=stats["tr_radius"], constr_penalty=stats["constr_penalty"],
        barrier_parameter=stats["barrier_parameter"] if n_in else None,
        barrier_tolerance=stats["barrier_tolerance"] if n_in else None,
        method="tr_interior_point" if n_in else "equality_constrained_sqp")

