"""``minimize(method='COBYLA')``: the registry's builder and the compiled driver.

The engine is :class:`._solvers.cobyla.COBYLA` (Powell's 1994 method). Constraints and finite
bounds become the rows ``c(x) >= 0`` (equalities as two rows), from the same normalisation as
SLSQP (:func:`._constraints.parse_constraints`). The result has SciPy's fields (``x``, ``fun``,
``nfev``, ``maxcv``, ``status``, ``success``, ``message``) and status codes.

Derivatives: the iterations run without gradients; ``x`` gets the implicit derivative of the
KKT conditions of the constraints active at the returned point (multipliers from a least-squares
fit of ``grad f`` on the active constraint gradients, as SLSQP's :func:`.kkt_residual` uses).
Evaluated at COBYLA's point, which is accurate to about ``tol``, the derivative is accurate to
about as much. A solve that did not succeed has a NaN derivative.
"""

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ._callback import CALLBACK_MESSAGE, CALLBACK_STATUS, unwrap, unwrap_solution
from ._constraints import parse_constraints
from ._implicit import attach_implicit_gradient
from ._minimize_run import _callback_status, _no_grad
from ._result import OptimizeResult
from ._solvers.cobyla import COBYLA
from ._solvers.slsqp import kkt_residual

__all__ = [
    "CobylaResult", "COBYLA_MESSAGES", "COBYLA_OPTIONS", "TrustRegionOptions", "build_cobyla", "cobyla_max_steps",
    "read_trust_region_options", "run_cobyla",
]

_WHY = "Return from COBYLA because "
COBYLA_MESSAGES: tuple[str, ...] = (
    _WHY + "the trust region radius reaches its lower bound.",
    _WHY + "the target function value is achieved.",
    _WHY + "a trust region step has failed to reduce the quadratic model.",
    _WHY + "the objective function has been evaluated MAXFUN times.",
    "Did not converge to a solution satisfying the constraints. See `maxcv` for the magnitude of the violation.",
    _WHY + "the objective function returns NaN/+Inf.",
    _WHY + "NaN or Inf occurs in x.",
)
"""SciPy's COBYLA messages indexed by ``status`` (0, 1, 2, 3; SciPy's -2 and -1 index the last
two entries, as Python's negative indices do). Entry 4 is SciPy's message for a run that ended
with ``maxcv > catol`` (status 0, ``success`` False)."""

COBYLA_OPTIONS = frozenset({"rhobeg", "tol", "maxiter", "disp", "catol", "f_target"})


class CobylaResult(OptimizeResult):
    """``OptimizeResult`` whose ``message`` reads SciPy's negative COBYLA codes (-1, -2) from
    ``messages`` (the shared table maps -2 to ``least_squares``'s callback message)."""

    @property
    def message(self) -> str | list[str]:
        status = np.asarray(self.status)
        success = np.broadcast_to(np.asarray(self.success_message), status.shape).ravel()

        def text(i: int, code: int) -> str:
            if code == CALLBACK_STATUS:
                return CALLBACK_MESSAGE
            return self.messages[int(success[i])] if code == 0 else self.messages[code]

        if status.ndim == 0:
            return text(0, int(status))
        return [text(i, int(c)) for i, c in enumerate(status.ravel())]


class TrustRegionOptions(NamedTuple):
    """What COBYLA and COBYQA read alike from SciPy's ``options`` (see :func:`read_trust_region_options`)."""

    radius_init: float
    radius_final: float
    maxiter: int | None
    target: float


def read_trust_region_options(options: dict, tol: float | None, *, init: tuple[str, float],
                              final: tuple[str, float], final_name: str | None = None) -> TrustRegionOptions:
    """The initial and final trust-region radii, ``maxiter`` and ``f_target`` of a derivative-free method.

    ``init`` and ``final`` are ``(option name, default)``; ``minimize``'s ``tol`` replaces the final
    radius's default, as SciPy maps it. Both radii must be positive (the error names the option,
    or says ``final_name``); the final radius is capped at the initial one. ``f_target`` defaults to -inf.
    """
    r0 = float(options.get(init[0], init[1]))
    r1 = options.get(final[0], final[1] if tol is None else tol)
    r1 = final[1] if r1 is None else float(r1)
    if not r0 > 0:
        raise ValueError(f"`{init[0]}` must be positive; got {r0}.")
    if not r1 > 0:
        raise ValueError(f"{final_name or '`' + final[0] + '`'} must be positive; got {r1}.")
    maxiter, target = options.get("maxiter"), options.get("f_target")
    return TrustRegionOptions(r0, min(r0, r1), None if maxiter is None else int(maxiter),
                              -np.inf if target is None else float(target))


def build_cobyla(options: dict, tol: float | None, n: int) -> COBYLA:
    """The engine from SciPy's options (``tol`` is ``rhoend``; ``maxiter`` counts evaluations)."""
    read = read_trust_region_options(options, tol, init=("rhobeg", 1.0), final=("tol", 1e-4),
                                      final_name="`tol` (rhoend)")
    catol = options.get("catol")
    if catol is not None and not float(catol) >= 0:
        raise ValueError(f"`catol` must be non-negative; got {catol}.")
    return COBYLA(rhobeg=read.radius_init, rhoend=read.radius_final,
                  maxfun=1000 if read.maxiter is None else read.maxiter, ftarget=read.target,
                  ctol=None if catol is None else float(catol))


def cobyla_max_steps(solver: Any) -> int:
    # Each step evaluates f once, halves rho, or (rarely) only raises mu; the engine stops itself.
    return 3 * int(solver.maxfun) + 500


def _multipliers(fn, x, inputs, rhoend):
    """Least-squares multipliers of the constraints active at ``x`` and the active set."""
    g = jax.grad(lambda z: fn(z, inputs)[0])(x)
    c_eq, c_in = fn(x, inputs)[1]
    j_eq, j_in = jax.jacfwd(lambda z: fn(z, inputs)[1])(x)
    cand = c_in <= 10.0 * rhoend * (1.0 + jnp.linalg.norm(j_in, axis=1))

    def fit(active):
        a = jnp.concatenate([j_eq, j_in * active[:, None]], 0)
        gram = a @ a.T
        reg = jnp.finfo(x.dtype).eps * (1.0 + jnp.trace(gram)) + (1.0 - jnp.concatenate(
            [jnp.ones_like(c_eq), active]))  # unit diagonal for the inactive rows (their lam is 0)
        lam = jnp.linalg.solve(gram + jnp.diag(reg), a @ g)
        return lam[: c_eq.shape[0]], lam[c_eq.shape[0]:] * active

    lam_eq, lam_in = fit(cand.astype(x.dtype))
    active = (cand & (lam_in > 0)).astype(x.dtype)
    lam_eq, lam_in = fit(active)
    return lam_eq, jnp.maximum(lam_in, 0.0), active


@eqx.filter_jit
def run_cobyla(spec: Any, objective, solver, x0, params, lower, upper, has_bounds: bool, constraints,
               engine_options: dict, unravel) -> OptimizeResult:
    """COBYLA's driver: the engine on the rows ``c(x) >= 0``, then SciPy's result."""
    eq_fn, in_fn = parse_constraints(constraints)
    dtype = x0.dtype
    engine = unwrap(solver)

    def problem(x, p):
        prm, lo, hi = p
        xt = unravel(x)
        c_eq = eq_fn(xt).astype(dtype) if eq_fn is not None else jnp.zeros((0,), dtype)
        rows = [in_fn(xt).astype(dtype)] if in_fn is not None else []
        if has_bounds:
            rows += [jnp.where(jnp.isfinite(lo), x - lo, 1.0), jnp.where(jnp.isfinite(hi), hi - x, 1.0)]
        c_in = jnp.concatenate(rows) if rows else jnp.zeros((0,), dtype)
        return objective.value(x, prm), (c_eq, c_in)

    def rows(x, p):
        f, (c_eq, c_in) = problem(x, p)
        return f, jnp.concatenate([c_in, c_eq, -c_eq])

    inputs = (params, lower, upper)
    fn = eqx.filter_closure_convert(problem, x0, inputs)
    engine_fn = eqx.filter_closure_convert(rows, x0, inputs)
    sol = optx.minimise(_no_grad(engine_fn), solver, x0, _no_grad(inputs), options=_no_grad(engine_options),
                        has_aux=True, max_steps=spec.max_steps(engine), throw=False)
    sol = unwrap_solution(solver, sol)
    stats = sol.stats
    x_star = sol.value
    _, (c_eq, c_in) = fn(x_star, inputs)
    maxcv = jnp.maximum(jnp.max(jnp.abs(c_eq), initial=0.0), jnp.max(-c_in, initial=0.0))
    catol = jnp.sqrt(jnp.finfo(dtype).eps) if engine.ctol is None else engine.ctol
    feasible = maxcv <= catol
    info = jnp.where(sol.result == optx.RESULTS.nonlinear_max_steps_reached, 3, stats["info"])
    status = _callback_status(stats, info.astype(jnp.int32))
    success = ((status == 0) | (status == 1)) & feasible
    lam_eq, lam_in, active = _multipliers(fn, x_star, inputs, engine.rhoend)
    x, _, _ = attach_implicit_gradient((x_star, lam_eq, lam_in), kkt_residual(fn, active), inputs,
                                       success=success)
    f = fn(x, inputs)[0]
    return CobylaResult(x=unravel(x), success=success, status=status, fun=f, nfev=stats["nfev"], maxcv=maxcv,
                          success_message=jnp.where(feasible, 0, 4), messages=COBYLA_MESSAGES)
