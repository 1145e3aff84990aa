"""``minimize``: SciPy's facade over optimistix minimisers and our own pure-JAX ones."""

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import ArrayLike, PyTree

from ._bounds import bounds_are_none, clip_x0, parse_bounds
from ._constraints import parse_constraints
from ._implicit import attach_implicit_gradient, implicit_bounded_solution
from ._lbfgsb import LBFGSB
from ._nelder_mead import NelderMead
from ._newton import NewtonCG, TrustRegion, dogleg_subproblem, exact_subproblem, steihaug_cg
from ._objective import Objective, check_options, prepare_args, prepare_x0
from ._result import OptimizeResult, status_from_optx
from ._slsqp import SLSQP, SLSQP_MESSAGES, SLSQP_STATUS, kkt_residual
from ._stopping import SciPyStopping, gradient_converged

__all__ = ["minimize", "MINIMIZE_METHODS"]


class _Method(NamedTuple):
    """A registry entry: how to build the engine from SciPy's options, and what it accepts."""

    build: Callable[[dict, float | None, int], optx.AbstractMinimiser]
    options: frozenset[str]
    bounds: bool = False
    constraints: bool = False
    hessian: bool = False


def _maxiter(options: dict, n: int, default_per_var: int | None, default: int | None = None) -> int:
    value = options.get("maxiter")
    if value is None:
        return default if default is not None else default_per_var * n
    return int(value)


def _bfgs(options, tol, n):
    gtol = options.get("gtol", 1e-5 if tol is None else tol)
    inner = optx.BFGS(rtol=0.0, atol=0.0, use_inverse=True)
    return SciPyStopping(inner, gradient_converged(gtol, options.get("norm", np.inf)),
                         _maxiter(options, n, 200))


def _cg(options, tol, n):
    gtol = options.get("gtol", 1e-5 if tol is None else tol)
    inner = optx.NonlinearCG(rtol=0.0, atol=0.0, method=optx.polak_ribiere)
    return SciPyStopping(inner, gradient_converged(gtol, options.get("norm", np.inf)),
                         _maxiter(options, n, 200))


def _nelder_mead(options, tol, n):
    xatol = options.get("xatol", 1e-4 if tol is None else tol)
    fatol = options.get("fatol", 1e-4 if tol is None else tol)
    maxiter, maxfev = options.get("maxiter"), options.get("maxfev")
    if maxiter is None and maxfev is None:
        maxiter = maxfev = 200 * n
    big = 2**31 - 1
    return NelderMead(xatol=xatol, fatol=fatol, maxiter=big if maxiter is None else int(maxiter),
                      maxfev=big if maxfev is None else int(maxfev),
                      adaptive=bool(options.get("adaptive", False)))


def _lbfgsb(options, tol, n):
    ftol = options.get("ftol", 2.220446049250313e-09 if tol is None else tol)
    gtol = options.get("gtol", 1e-5 if tol is None else tol)
    return LBFGSB(maxcor=int(options.get("maxcor", 10)), ftol=ftol, gtol=gtol,
                  maxiter=_maxiter(options, n, None, 15000), maxls=int(options.get("maxls", 20)))


def _newton_cg(options, tol, n):
    xtol = options.get("xtol", 1e-5 if tol is None else tol)
    return NewtonCG(xtol=xtol, maxiter=_maxiter(options, n, 200))


def _slsqp(options, tol, n):
    ftol = options.get("ftol", 1e-6 if tol is None else tol)
    return SLSQP(ftol=ftol, maxiter=_maxiter(options, n, None, 100))


def _trust(subproblem):
    def build(options, tol, n):
        return TrustRegion(
            subproblem, gtol=options.get("gtol", 1e-4 if tol is None else tol),
            initial_trust_radius=options.get("initial_trust_radius", 1.0),
            max_trust_radius=options.get("max_trust_radius", 1000.0), eta=options.get("eta", 0.15),
            maxiter=_maxiter(options, n, 200))

    return build


_COMMON = frozenset({"maxiter", "disp", "return_all"})
_TRUST = _COMMON | {"gtol", "initial_trust_radius", "max_trust_radius", "eta", "inexact"}
MINIMIZE_METHODS: dict[str, _Method] = {
    "bfgs": _Method(_bfgs, _COMMON | {"gtol", "norm", "eps", "xrtol", "c1", "c2"}),
    "cg": _Method(_cg, _COMMON | {"gtol", "norm", "eps", "c1", "c2"}),
    "nelder-mead": _Method(_nelder_mead, _COMMON | {"maxfev", "xatol", "fatol", "adaptive",
                                                  "initial_simplex", "bounds"},
                           bounds=True),
    "l-bfgs-b": _Method(_lbfgsb, _COMMON | {"maxcor", "ftol", "gtol", "maxfun", "maxls", "eps",
                                            "iprint", "finite_diff_rel_step"}, bounds=True),
    "newton-cg": _Method(_newton_cg, _COMMON | {"xtol", "eps", "c1", "c2", "workers"}, hessian=True),
    "trust-ncg": _Method(_trust(steihaug_cg), _TRUST, hessian=True),
    "trust-exact": _Method(_trust(exact_subproblem), _TRUST, hessian=True),
    "dogleg": _Method(_trust(dogleg_subproblem), _TRUST, hessian=True),
    "slsqp": _Method(_slsqp, _COMMON | {"ftol", "eps", "finite_diff_rel_step", "iprint", "workers"},
                     bounds=True, constraints=True),
}
"""SciPy method name (lower case) -> engine. Adding a method is one entry here."""


def _no_grad(tree: PyTree) -> PyTree:
    return jax.tree_util.tree_map(
        lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, tree)


def _default_method(bounds, constraints) -> str:
    if constraints:
        return "slsqp"
    if not bounds_are_none(bounds):
        return "l-bfgs-b"
    return "bfgs"


def minimize(
    fun: Callable[..., ArrayLike],
    x0: PyTree[ArrayLike],
    args: Any = (),
    method: str | None = None,
    jac: Callable | bool | None = None,
    hess: Callable | None = None,
    hessp: Callable | None = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: None = None,
    options: dict | None = None,
) -> OptimizeResult:
    """Minimise a scalar function of one or more variables (``scipy.optimize.minimize``).

    Parameters
    ----------
    fun
        The objective ``fun(x, *args) -> float``, written in JAX.
    x0
        Initial guess: a 1-D array, or (beyond SciPy) a pytree of arrays such as network
        parameters, in which case ``x`` in the result has the same structure.
    args
        Extra arguments of ``fun``. Gradients of the solution with respect to the floating-point
        arrays in ``args`` come from the implicit function theorem.
    method
        'BFGS', 'L-BFGS-B', 'CG', 'Newton-CG', 'trust-ncg', 'trust-exact', 'dogleg',
        'Nelder-Mead' or 'SLSQP'. Default as in SciPy: BFGS, L-BFGS-B with bounds, SLSQP with constraints.
    jac
        ``None`` (autodiff; never finite differences), ``True`` (``fun`` returns ``(f, g)``) or a
        callable ``jac(x, *args)``.
    hess, hessp
        Accepted for compatibility; Hessians and Hessian-vector products always come from
        autodiff of ``fun``.
    bounds
        ``Bounds`` or a sequence of ``(min, max)`` pairs (``None`` for unbounded), for
        L-BFGS-B, Nelder-Mead and SLSQP.
    constraints
        For SLSQP: dicts with ``type`` ('eq'/'ineq'), ``fun``, optional ``jac`` and ``args``, or
        ``LinearConstraint``/``NonlinearConstraint`` objects.
    tol
        Default tolerance, mapped onto each method's own option as SciPy does.
    callback
        Must be ``None`` (a callback would need a host call inside the compiled loop).
    options
        SciPy's per-method options (``maxiter``, ``gtol``, ``ftol``, ``xatol``, ``fatol``,
        ``maxcor``, ``disp``, ...). Unknown names raise ``ValueError``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``hess_inv`` (BFGS), ``nit``, ``nfev``, ``njev``, ``status``,
        ``success`` and ``message``. ``status``: 0 converged, 1 iteration limit, 2 stopped
        without meeting the tolerance (precision loss, failed line search), 3 NaN/inf.

    Differences from SciPy
    ----------------------
    - Runs under ``jit``/``vmap``/``grad``; ``x0`` may be a pytree.
    - Gradients come from autodiff, never finite differences (``eps`` is ignored).
    - BFGS and CG use optimistix's backtracking Armijo search, not SciPy's Wolfe search, so
      iterates and counts differ while the minimiser agrees within ``gtol``.
    - L-BFGS-B projects an L-BFGS step on the free variables instead of SciPy's generalised
      Cauchy point; it stops on the same tests (``pgtol``, ``ftol``).
    - ``nfev``/``njev`` count evaluations of ``fun`` and of its gradient as the JAX engines
      make them; they are not comparable one-for-one with SciPy's.
    - ``disp`` and ``return_all`` are accepted and ignored; ``callback`` is not supported.

    Notes
    -----
    A gradient through a solve that did not succeed (``success`` False: an iteration cap,
    precision loss, a NaN) is NaN in forward and reverse mode, never the implicit-function-theorem
    derivative at a point that is not a solution; so is the gradient of ``fun`` and ``jac``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import minimize
    >>> res = minimize(lambda x: jnp.sum((x - 1.0) ** 2), jnp.zeros(3))
    >>> bool(res.success), jnp.allclose(res.x, 1.0, atol=1e-6).item()
    (True, True)
    """
    if method is None:
        method = _default_method(bounds, constraints)
    if not isinstance(method, str):
        raise TypeError("`method` must be a string naming a method, e.g. 'BFGS'.")
    spec = MINIMIZE_METHODS.get(method.lower())
    if spec is None:
        raise ValueError(f"Unknown solver {method!r} for `method`; choose from "
                         f"{sorted(MINIMIZE_METHODS)}.")
    if callback is not None:
        raise ValueError("`callback` is not supported: it would need a host call in the compiled loop.")
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    if (hess is not None or hessp is not None) and not spec.hessian:
        warnings.warn(f"Method {method} does not use Hessian information (hess).", RuntimeWarning,
                      stacklevel=2)
    if constraints and not spec.constraints:
        warnings.warn(f"Method {method} cannot handle constraints.", RuntimeWarning, stacklevel=2)
    if not bounds_are_none(bounds) and not spec.bounds:
        warnings.warn(f"Method {method} cannot handle bounds.", RuntimeWarning, stacklevel=2)
    options = check_options(options, spec.options, method)
    x_flat, unravel, _ = prepare_x0(x0)
    n = x_flat.shape[0]
    args = prepare_args(args)
    params, static_args = eqx.partition(args, eqx.is_array)
    objective = Objective(fun, jac, unravel, static_args)
    solver = spec.build(options, tol, n)

    has_bounds = spec.bounds and not bounds_are_none(bounds)
    if has_bounds:
        lower, upper = parse_bounds(bounds, n, x_flat.dtype)
        x_flat = clip_x0(x_flat, lower, upper)
    else:
        lower = jnp.full((n,), -jnp.inf, x_flat.dtype)
        upper = jnp.full((n,), jnp.inf, x_flat.dtype)
    if spec.constraints:
        return _run_constrained(objective, solver, x_flat, params, lower, upper, constraints, unravel)
    return _run(objective, solver, x_flat, params, lower, upper, has_bounds, method, unravel,
                options.get("initial_simplex"))


def _max_steps(solver) -> int:
    # The loop's hard bound; each engine stops itself at ``maxiter`` (counted its own way).
    maxiter = min(int(getattr(solver, "maxiter", 1)), 10**6)
    return 64 * maxiter + 64 if isinstance(solver, SciPyStopping) else maxiter + 1


@eqx.filter_jit
def _run(objective, solver, x0, params, lower, upper, has_bounds, method, unravel, initial_simplex=None):
    if method.lower() == "nelder-mead" and has_bounds:
        # SciPy's Nelder-Mead clips every vertex into the bounds.
        base = objective
        objective = lambda x, p: base(jnp.clip(x, lower, upper), p)  # noqa: E731
    fn = eqx.filter_closure_convert(objective, x0, params)
    engine_options = {"lower": lower, "upper": upper} if isinstance(solver, LBFGSB) else {}
    if isinstance(solver, NelderMead) and initial_simplex is not None:
        engine_options = {"initial_simplex": jnp.asarray(initial_simplex)}
    max_steps = _max_steps(solver)
    sol = optx.minimise(_no_grad(fn), solver, x0, _no_grad(params), options=_no_grad(engine_options),
                        has_aux=True, max_steps=max_steps, throw=False)
    x_star = sol.value
    if method.lower() == "nelder-mead" and has_bounds:
        x_star = jnp.clip(x_star, lower, upper)
    stats = sol.stats
    status = status_from_optx(sol.result, stats["converged"])
    status = jnp.where(jnp.isfinite(fn(x_star, params)[0]), status, 3).astype(jnp.int32)
    if method.lower() != "nelder-mead":  # (Nelder-Mead checks this itself, without gradients)
        # Stopped against the edge of a region where `fun` is NaN: one (projected) step along
        # minus the gradient, which vanishes at a minimum, lands on NaN.
        g_star = jax.grad(lambda z: fn(z, params)[0])(x_star)
        probe = jnp.clip(x_star - jnp.where(jnp.isfinite(g_star), g_star, 0), lower, upper)
        status = jnp.where((status == 0) & ~jnp.isfinite(fn(probe, params)[0]), 3, status)
    x = implicit_bounded_solution(lambda z, p: fn(z, p)[0], x_star, params, lower, upper, has_bounds,
                                  success=status == 0)
    f, g = jax.value_and_grad(lambda z: fn(z, params)[0])(x)
    hess_inv = None
    if isinstance(solver, SciPyStopping) and isinstance(solver.inner, optx.BFGS):
        hess_inv = sol.state.inner.f_info.hessian_inv.as_matrix()
    nfev = stats["nfev"]
    return OptimizeResult(
        x=unravel(x), success=status == 0, status=status, fun=f,
        jac=None if method.lower() == "nelder-mead" else unravel(g),
        hess_inv=hess_inv, nit=stats["nit"], nfev=nfev,
        njev=None if method.lower() == "nelder-mead" else nfev,
        final_simplex=stats.get("final_simplex"),
    )


@eqx.filter_jit
def _run_constrained(objective, solver, x0, params, lower, upper, constraints, unravel):
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
    sol = optx.minimise(_no_grad(fn), solver, x0, _no_grad(inputs), has_aux=True,
                        max_steps=solver.maxiter + 1, throw=False)
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
    status = SLSQP_STATUS[generic]
    x, _, _ = attach_implicit_gradient((sol.value, lam_eq, lam_in), kkt_residual(fn, active), inputs,
                                       success=status == 0)
    (f, (c_eq, c_in)), g = jax.value_and_grad(lambda z: fn(z, inputs), has_aux=True)(x)
    return OptimizeResult(
        x=unravel(x), success=status == 0, status=status, fun=f, jac=unravel(g), nit=stats["nit"],
        nfev=stats["nfev"], njev=stats["nit"] + 1, multipliers=(lam_eq, lam_in),
        messages=SLSQP_MESSAGES,
    )
