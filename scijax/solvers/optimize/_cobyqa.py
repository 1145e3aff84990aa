"""``minimize(method='COBYQA')``: the registry's builder and the compiled driver.

The engine is :class:`._solvers.cobyqa.COBYQA` (derivative-free trust-region method on quadratic
models from ``2n + 1`` points). Bounds are always respected: every point evaluated lies in them.
Linear and nonlinear ``constraints`` are not supported yet (``NotImplementedError``).

The result has SciPy's fields (``x``, ``fun``, ``nfev``, ``nit``, ``maxcv``, ``status``,
``success``, ``message``), status codes and messages (a callback's ``StopIteration`` is SciPy's
status 3, a success, not the package's usual 99). Derivatives: as COBYLA, ``x`` gets the
implicit derivative of the KKT conditions at the returned point (the bounds active there), NaN
where the solve did not succeed.
"""

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx

from ._callback import CALLBACK_STATUS, unwrap, unwrap_solution
from ._cobyla import CobylaResult, _multipliers, read_trust_region_options
from ._implicit import attach_implicit_gradient
from ._minimize_run import _callback_status, _no_grad
from ._result import OptimizeResult
from ._solvers.cobyqa import COBYQA
from ._solvers.slsqp import kkt_residual

__all__ = ["COBYQA_MESSAGES", "COBYQA_OPTIONS", "build_cobyqa", "cobyqa_max_steps", "run_cobyqa"]

COBYQA_MESSAGES: tuple[str, ...] = (
    "The lower bound for the trust-region radius has been reached",
    "The target objective function value has been reached",
    "All variables are fixed by the bound constraints",
    "The callback requested to stop the optimization procedure",
    "The feasibility problem received has been solved successfully",
    "The maximum number of function evaluations has been exceeded",
    "The maximum number of iterations has been exceeded",
    "A linear algebra error occurred",
    "The bound constraints are infeasible",
)
"""SciPy's COBYQA messages indexed by ``status`` (0-6; SciPy's -2 and -1 index the last two
entries, as Python's negative indices do). -2 is what SciPy reports for a non-finite ``x0``."""

COBYQA_OPTIONS = frozenset({"disp", "maxfev", "maxiter", "f_target", "feasibility_tol", "initial_tr_radius",
                            "final_tr_radius", "scale"})


def build_cobyqa(options: dict, tol: float | None, n: int) -> COBYQA:
    """The engine from SciPy's options (``tol`` is ``final_tr_radius``, as SciPy maps it)."""
    read = read_trust_region_options(options, tol, init=("initial_tr_radius", 1.0),
                                      final=("final_tr_radius", 1e-6))
    if options.get("scale"):
        raise ValueError("COBYQA option `scale=True` (variable scaling) is not supported; rescale `x` in `fun`.")
    maxfev = options.get("maxfev")
    return COBYQA(radius_init=read.radius_init, radius_final=read.radius_final,
                  maxfev=500 * n if maxfev is None else int(maxfev),
                  maxiter=1000 * n if read.maxiter is None else read.maxiter, target=read.target)


def cobyqa_max_steps(solver) -> int:
    # Each step evaluates f once or reduces rho (at most ~log(radius_init / radius_final) times).
    return int(solver.maxfev) + 200


@eqx.filter_jit
def run_cobyqa(spec, objective, solver, x0, params, lower, upper, has_bounds: bool, constraints,
               engine_options: dict, unravel) -> OptimizeResult:
    """COBYQA's driver: the engine on the box, then SciPy's result."""
    if constraints:
        raise NotImplementedError("minimize(method='COBYQA') does not support `constraints` yet; use "
                                  "method='COBYLA', 'SLSQP' or 'trust-constr' for constrained problems.")
    dtype = x0.dtype
    engine = unwrap(solver)

    def problem(x, p):
        prm, lo, hi = p
        rows = [jnp.where(jnp.isfinite(lo), x - lo, 1.0), jnp.where(jnp.isfinite(hi), hi - x, 1.0)] \
            if has_bounds else []
        c_in = jnp.concatenate(rows) if rows else jnp.zeros((0,), dtype)
        return objective.value(x, prm), (jnp.zeros((0,), dtype), c_in)

    def value(x, p):
        return problem(x, p)[0]

    inputs = (params, lower, upper)
    fn = eqx.filter_closure_convert(problem, x0, inputs)
    engine_fn = eqx.filter_closure_convert(value, x0, inputs)
    opts = {"lower": lower, "upper": upper} if has_bounds else {}
    sol = optx.minimise(_no_grad(engine_fn), solver, x0, _no_grad(inputs), options=_no_grad(opts),
                        max_steps=spec.max_steps(engine), throw=False)
    sol = unwrap_solution(solver, sol)
    stats = sol.stats
    x_star = sol.value
    f_star, (_, c_in) = fn(x_star, inputs)
    maxcv = jnp.max(-c_in, initial=0.0).clip(0.0)
    info = jnp.where(sol.result == optx.RESULTS.nonlinear_max_steps_reached, 5, stats["info"])
    status = _callback_status(stats, info.astype(jnp.int32))
    status = jnp.where(status == CALLBACK_STATUS, 3, status)  # SciPy's COBYQA: 3, a success
    success = (status >= 0) & (status <= 3) & jnp.isfinite(f_star)
    lam_eq, lam_in, active = _multipliers(fn, x_star, inputs, engine.radius_final)
    x, _, _ = attach_implicit_gradient((x_star, lam_eq, lam_in), kkt_residual(fn, active), inputs,
                                       success=success)
    f = fn(x, inputs)[0]
    # (CobylaResult reads SciPy's negative codes from ``messages``, not the shared callback table.)
    return CobylaResult(x=unravel(x), success=success, status=status, fun=f, nfev=stats["nfev"],
                        nit=stats["nit"], maxcv=maxcv, success_message=jnp.zeros_like(status),
                        messages=COBYQA_MESSAGES)
