"""``minimize_scalar``: SciPy's facade over the Brent, bounded and golden-section engines."""

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax.core
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import ArrayLike

from .._userfn import prepare_bound
from ._implicit import attach_implicit_gradient
from ._objective import check_options, prepare_args
from ._result import OptimizeResult
from ._solvers.scalar_min import Bounded, Brent, Golden, find_bracket

__all__ = ["minimize_scalar"]

SCALAR_MESSAGES = (
    "Optimization terminated successfully.",
    "Maximum number of iterations exceeded.",
    "NaN result encountered.",
    "The algorithm terminated without finding a valid bracket. Consider trying different "
    "initial points.",
)


class _Method(NamedTuple):
    build: Callable[[dict, float | None], optx.AbstractMinimiser]
    options: frozenset[str]
    bracketed: bool


SCALAR_METHODS = {
    "brent": _Method(lambda o, tol: Brent(xtol=o.get("xtol", 1.48e-8 if tol is None else tol),
                                          maxiter=int(o.get("maxiter", 500))),
                     frozenset({"xtol", "maxiter", "disp"}), True),
    "golden": _Method(lambda o, tol: Golden(
        xtol=o.get("xtol", 1.4901161193847656e-08 if tol is None else tol),
        maxiter=int(o.get("maxiter", 5000))), frozenset({"xtol", "maxiter", "disp"}), True),
    "bounded": _Method(lambda o, tol: Bounded(xatol=o.get("xatol", 1e-5 if tol is None else tol),
                                              maxiter=int(o.get("maxiter", 500))),
                       frozenset({"xatol", "maxiter", "disp"}), False),
}
"""SciPy method name -> engine."""


def minimize_scalar(fun: Callable[..., ArrayLike], bracket: Any = None, bounds: Any = None,
                    args: Any = (), method: str | None = None, tol: float | None = None,
                    options: dict | None = None) -> OptimizeResult:
    """Minimise a function of one variable (``scipy.optimize.minimize_scalar``).

    Parameters
    ----------
    fun
        ``fun(x, *args) -> float`` in JAX.
    bracket
        For 'brent'/'golden': ``(xa, xb)`` to start SciPy's downhill bracket search, or
        ``(xa, xb, xc)`` with ``f(xb) < f(xa), f(xc)``. Default ``(0, 1)``.
    bounds
        ``(lb, ub)`` for 'bounded' (finite).
    args, method, tol, options
        As in SciPy: methods 'brent' (default), 'bounded' (default with ``bounds``), 'golden';
        options ``xtol``/``xatol``, ``maxiter``, ``disp``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit``, ``nfev``, ``status``, ``success``, ``message``.

    Differences from SciPy
    ----------------------
    Runs under ``jit``/``vmap``. ``jax.grad`` of ``x`` w.r.t. ``args`` uses ``f'(x) = 0``
    (implicit function theorem), which is wrong if 'bounded' stops on a bound. A bracket given
    as three points is not checked eagerly for ``f(xb) < f(xa), f(xc)``; an invalid bracket is
    reported through ``status = 3``.

    Notes
    -----
    A gradient through a solve that did not succeed is NaN, in forward and reverse mode.

    Examples
    --------
    >>> from scijax.solvers.optimize import minimize_scalar
    >>> res = minimize_scalar(lambda x: (x - 2.0) ** 2)
    >>> round(float(res.x), 6)
    2.0
    """
    method = ("brent" if bounds is None else "bounded") if method is None else method
    if not isinstance(method, str) or method.lower() not in SCALAR_METHODS:
        raise ValueError(f"Unknown solver {method!r} for `method`; choose from {sorted(SCALAR_METHODS)}.")
    method = method.lower()
    spec = SCALAR_METHODS[method]
    if bounds is not None and spec.bracketed:
        raise ValueError(f"Use of `bounds` is incompatible with 'method={method}'.")
    if tol is not None and method == "bounded" and "xatol" not in (options or {}):
        warnings.warn("Method 'bounded' does not support relative tolerance in x; defaulting to "
                      "absolute tolerance.", RuntimeWarning, stacklevel=2)
    options = check_options(options, spec.options, method)
    solver = spec.build(options, tol)
    args = prepare_args(args)
    start = bracket[0] if (spec.bracketed and bracket is not None) else (
        0.5 * (bounds[0] + bounds[1]) if (bounds is not None and len(bounds) == 2) else 0.0)
    user, args = prepare_bound({"fun": fun}, (jnp.asarray(start, float),), args, solver="minimize_scalar")
    fun = user["fun"]
    if spec.bracketed:
        if bracket is None:
            bracket = (0.0, 1.0)
        if len(bracket) not in (2, 3):
            raise ValueError("`bracket`: bracketing interval must be length 2 or 3 sequence.")
        dtype = jnp.result_type(*bracket, 1.0)
        points = tuple(jnp.asarray(b, dtype) for b in bracket)
        if any(p.size != 1 for p in points):
            raise ValueError("`bracket`: each point must be a scalar (or an array of one element).")
        one = any(p.ndim > 0 for p in points)  # SciPy then returns `x` and `fun` of shape (1,)
        points = tuple(p.reshape(()) for p in points)
        if len(points) == 3 and not any(isinstance(p, jax.core.Tracer) for p in points):
            fa, fb, fc = (float(_Fun(fun, dtype)(p, args)[0]) for p in points)
            if not (fb < fa and fb < fc):
                raise ValueError("`bracket`: bracketing values (xa, xb, xc) do not fulfill this "
                                 "requirement: (f(xb) < f(xa)) and (f(xb) < f(xc))")
        return _one_element(_solve(_Fun(fun, dtype), solver, args, points, None), one)
    else:
        if bounds is None or len(bounds) != 2:
            raise ValueError("`bounds` must be a pair (lb, ub) for method 'bounded'.")
        lb, ub = bounds
        if np.size(lb) != 1 or np.size(ub) != 1:
            raise ValueError("`bounds`: optimization bounds must be finite scalars.")
        one = bool(np.ndim(lb) or np.ndim(ub))
        if one:
            lb, ub = (b.reshape(()) if isinstance(b, jax.core.Tracer) else np.reshape(b, ()) for b in (lb, ub))
        if not isinstance(lb, jax.core.Tracer) and not isinstance(ub, jax.core.Tracer):
            if not (np.isfinite(lb) and np.isfinite(ub)):
                raise ValueError("`bounds`: optimization bounds must be finite scalars.")
            if lb > ub:
                raise ValueError("`bounds`: the lower bound exceeds the upper bound.")
        dtype = jnp.result_type(lb, ub, 1.0)
        bounds = (jnp.asarray(lb, dtype), jnp.asarray(ub, dtype))
        return _one_element(_solve(_Fun(fun, dtype), solver, args, None, bounds), one)


def _one_element(res: OptimizeResult, one: bool) -> OptimizeResult:
    """SciPy's shapes when the bracket or bounds were given as one-element arrays."""
    if not one:
        return res
    return eqx.tree_at(lambda r: (r.x, r.fun), res, (jnp.reshape(res.x, (1,)), jnp.reshape(res.fun, (1,))))


class _Fun(eqx.Module):
    fun: Callable = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)

    def __call__(self, x, args):
        return jnp.asarray(self.fun(x, *args), self.dtype).reshape(()), None


@eqx.filter_jit
def _solve(fn, solver, args, bracket, bounds):
    """Bracket (when needed), minimise and pack; jitted as a whole, and cached per function."""
    if bracket is not None:
        engine_options, x0 = _bracket_options(fn, args, bracket)
    else:
        engine_options = {"lower": bounds[0], "upper": bounds[1]}
        x0 = bounds[0]
    stop = jax.lax.stop_gradient
    no_grad = lambda t: jax.tree_util.tree_map(  # noqa: E731
        lambda a: stop(a) if eqx.is_inexact_array(a) else a, t)
    sol = optx.minimise(fn, solver, stop(x0), no_grad(args), options=no_grad(engine_options), has_aux=True,
                        max_steps=solver.maxiter + 1, throw=False)
    stats = sol.stats
    x, f = sol.value, stop(stats["fun"])
    status = jnp.where(stats["converged"], 0, 1)
    status = jnp.where(jnp.isnan(x) | jnp.isnan(f), 2, status)
    status = jnp.where(stats["valid"], status, 3).astype(jnp.int32)
    x = attach_implicit_gradient(x, jax.grad(lambda z, a: fn(z, a)[0]), args, success=status == 0)
    f_at_x = fn(x, args)[0]
    f = f + (f_at_x - stop(f_at_x))  # SciPy's value; the envelope derivative
    return OptimizeResult(x=x, fun=f, nit=stats["nit"], nfev=stats["nfev"], status=status,
                          success=status == 0, messages=SCALAR_MESSAGES)


def _bracket_options(fn, args, pts):
    f = lambda x: fn(x, args)[0]  # noqa: E731
    if len(pts) == 2:
        found = find_bracket(f, pts[0], pts[1])
    else:
        xa, xb, xc = pts
        fa, fb, fc = f(xa), f(xb), f(xc)
        found = (xa, xb, xc, fa, fb, fc, jnp.array(3), (fb < fa) & (fb < fc))
    return {"bracket": found}, found[1]
