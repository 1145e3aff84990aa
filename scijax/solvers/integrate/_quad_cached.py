"""``quad``/``quad_vec`` entry helpers: argument checks, host-path integrands, and one compilation per
integrand code.

``adaptive_quad`` is a plain function whose ``while_loop`` is traced and compiled on every eager call.
:func:`adaptive_quad_cached` runs it under ``equinox.filter_jit`` when the integrand is hashable and
carries no arrays (a plain function, or the ``_Bound`` form that :func:`prepare_integrand` makes of a
lambda: its closed-over numbers travel in ``args``), so a repeated call, or a lambda re-created in a
loop, reuses the compiled integration.
"""

import functools
import sys
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..._concrete import is_concrete as _is_concrete
from ..._typing import Array
from .._userfn import prepare_bound
from ._quad_adaptive import TRAPEZOID, AdaptiveOptions, adaptive_quad
from ._quad_rules import RULES

__all__ = ["MESSAGES", "adaptive_quad_cached", "prepare_integrand", "integrate", "as_args", "check_common",
           "float_dtype", "vec_points"]

MESSAGES = {
    0: "The integral is probably accurate to within the requested tolerance.",
    1: "The maximum number of subdivisions ({limit}) has been achieved.\n  If increasing the limit yields "
       "no improvement it is advised to analyze \n  the integrand in order to determine the "
       "difficulties.  If the position of a \n  local difficulty can be determined (singularity, "
       "discontinuity) one will \n  probably gain from splitting up the interval and calling the "
       "integrator \n  on the subranges.  Perhaps a special-purpose integrator should be used.",
    2: "The occurrence of roundoff error is detected, which prevents \n  the requested tolerance from being "
       "achieved.  The error may be \n  underestimated.",
    3: "Extremely bad integrand behavior occurs at some points of the\n  integration interval "
       "(non-finite values, or an interval too small to bisect).",
    4: "The algorithm does not converge.  Roundoff error is detected\n  in the extrapolation table.  It "
       "is assumed that the requested tolerance\n  cannot be achieved, and that the returned result (if "
       "full_output = 1) is \n  the best which can be obtained.",
    5: "The integral is probably divergent, or slowly convergent.",
    7: "Abnormal termination of the routine.  The estimates for result\n  and error are less reliable.  "
       "It is assumed that the requested accuracy\n  has not been achieved.",
}


def prepare_integrand(role: str, func: Callable, a: Any, b: Any, args: tuple, solver: str):
    """The integrand ready for the host path or for caching, and ``args`` with its closure values."""
    finite = [x for x in (a, b) if not isinstance(x, Tracer) and bool(jax.numpy.isfinite(x))]
    x = (a + b) / 2 if len(finite) == 2 else (finite[0] if finite else a * 0)
    user, args = prepare_bound({role: func}, (x,), tuple(args), solver=solver, context=(a, b))
    return user[role], args


@eqx.filter_jit
def _jitted(func, rule_index, limit, norm, n_points, extrapolate, a, b, args, points, epsabs, epsrel):
    rule = [*RULES.values(), TRAPEZOID][rule_index]
    return adaptive_quad(func, AdaptiveOptions(rule, limit, norm, n_points, extrapolate), a, b, args, points,
                         epsabs, epsrel)


def _cacheable(func: Any) -> bool:
    try:
        hash(func)
    except TypeError:
        return False
    return not any(eqx.is_array(x) for x in jax.tree_util.tree_leaves(func))


def adaptive_quad_cached(func, opts: AdaptiveOptions, a, b, args, points, epsabs, epsrel):
    """``adaptive_quad`` under one cached compilation per (integrand, options) where possible."""
    rules = [*RULES.values(), TRAPEZOID]
    index = next((i for i, r in enumerate(rules) if r is opts.rule), None)
    if index is None or not _cacheable(func):
        return adaptive_quad(func, opts, a, b, args, points, epsabs, epsrel)
    return _jitted(func, index, opts.limit, opts.norm, opts.n_points, opts.extrapolate, a, b, args, points,
                   epsabs, epsrel)


def as_args(args: Any) -> tuple:
    if not isinstance(args, tuple):
        args = (args,)
    return tuple(jnp.asarray(v) if isinstance(v, float | int | complex | np.ndarray | np.generic) else v
                 for v in args)


def integrate(func, opts, a, b, args, points, epsabs, epsrel):
    """``adaptive_quad``, with two fixes around it.

    Arrays that ``func`` closes over and that are being differentiated (tracers) become extra
    arguments, so the derivative rule sees them (a custom derivative cannot see a closure); and
    an empty interval (``a == b``) gives SciPy's ``(0.0, 0.0)`` whatever ``func`` is there, with
    the derivative ``f(b) db - f(a) da`` kept (``f`` non-finite there contributes 0).
    """
    leaves = jax.tree_util.tree_leaves(args)
    if all(isinstance(v, jax.Array | np.ndarray) for v in leaves):
        conv, consts = jax.closure_convert(lambda x, *xs: func(x, *xs), jnp.zeros((), a.dtype), *args)
        if consts:
            func, args = conv, tuple(args) + tuple(consts)
    res = adaptive_quad_cached(func, opts, a, b, args, points, epsabs, epsrel)
    empty = a == b
    dynamic, static = eqx.partition(args, eqx.is_array)

    def call(x, dynamic):
        return func(x, *eqx.combine(dynamic, static))

    limits = _empty_interval_value(call, a, b, dynamic, jax.lax.stop_gradient(res.value))
    return res._replace(value=jnp.where(empty, limits, res.value), abserr=jnp.where(empty, 0, res.abserr),
                        ier=jnp.where(empty, 0, res.ier), last=jnp.where(empty, 0, res.last),
                        neval=jnp.where(empty, 0, res.neval))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _empty_interval_value(func, a, b, args, like):
    """Zero, whose derivative is ``f(b) db - f(a) da`` (``f`` non-finite at a limit contributes 0).

    The value of an integral over ``[a, a]``. ``func`` is evaluated only when differentiating, so
    the forward program holds no extra copy of the integrand (which may itself be a ``quad``).
    """
    return jnp.zeros_like(like)


@_empty_interval_value.defjvp
def _empty_interval_jvp(func, primals, tangents):
    a, b, args, like = primals
    da, db = tangents[:2]

    def at(x):
        fx = jnp.asarray(func(jnp.where(jnp.isfinite(x), x, 0), args)).astype(like.dtype)
        return jnp.where(jnp.isfinite(x) & jnp.isfinite(fx), fx, 0)

    def moved(dx, x):  # an infinite limit has no derivative
        return jnp.where(jnp.isfinite(x), dx, 0).astype(like.dtype)

    return jnp.zeros_like(like), at(b) * moved(db, b) - at(a) * moved(da, a)


def _check_limit(name: str, x: Any) -> Array:
    x = jnp.asarray(x)
    if x.ndim != 0:
        raise ValueError(f"`{name}` must be a scalar, got shape {x.shape}")
    if _is_concrete(x) and bool(jnp.isnan(x)):
        raise ValueError(f"`{name}` is NaN: integration limits must be numbers or +-inf")
    return x


def vec_points(a: Any, b: Any, points: Any, limit: Any) -> tuple[Any, int]:
    """``quad_vec``'s ``points`` and ``limit`` as SciPy treats them: concrete break points outside
    ``(a, b)`` dropped, and ``limit`` below the initial number of intervals (``limit=0``) meaning no
    bisection at all."""
    if not isinstance(limit, int | np.integer) or limit < 0:
        raise ValueError(f"`limit` must be a non-negative integer, got {limit!r}")
    if points is not None and _is_concrete(a, b, points):
        lo, hi = sorted((float(a), float(b)))
        kept = sorted({float(p) for p in np.ravel(np.asarray(points, dtype=float)) if lo < p < hi})
        points = kept if kept else None
    return points, max(int(limit), 1 + (0 if points is None else int(np.size(points))))


def check_common(a, b, epsabs, epsrel, limit, points, vec: bool = False) -> tuple[Array, Array, Array]:
    """SciPy's checks of ``quad`` (``vec=True``: ``quad_vec``, infinite limits allowed with break
    points)."""
    a, b = _check_limit("a", a), _check_limit("b", b)
    if not isinstance(limit, int | np.integer) or limit < 1:
        raise ValueError(f"Invalid 'limit' argument. There must be at least one subinterval "
                         f"(`limit` = {limit!r})")
    if _is_concrete(epsabs, epsrel):
        if float(epsabs) < 0 or float(epsrel) < 0:
            raise ValueError("`epsabs` and `epsrel` must be non-negative")
        if float(epsabs) <= 0 and float(epsrel) < max(50 * sys.float_info.epsilon, 5e-29):
            raise ValueError("If 'epsabs'<=0, 'epsrel' must be greater than both 5e-29 and 50*(machine "
                             "epsilon) (`epsabs`, `epsrel`).")
    if points is None:
        points = jnp.zeros(0)
    else:
        points = jnp.atleast_1d(jnp.asarray(points))
        if points.ndim != 1:
            raise ValueError(f"`points` must be a 1-D sequence, got shape {points.shape}")
        if points.shape[0] + 1 > limit:
            raise ValueError(f"Number of break points ({points.shape[0]}) must be less than subinterval "
                             f"limit ({limit}) (`points`)")
        if _is_concrete(a, b, points) and not vec:
            if bool(jnp.isinf(a) | jnp.isinf(b)):
                raise ValueError("Infinity inputs cannot be used with break points (`points`).")
            inside = (points >= jnp.minimum(a, b)) & (points <= jnp.maximum(a, b))
            if points.shape[0] and not bool(jnp.all(inside)):
                raise ValueError("All break points in 'points' must lie within the integration limits.")
    return a, b, points


def float_dtype(a, b, args) -> Any:
    floats = [x for x in (a, b, *jax.tree_util.tree_leaves(args))
              if jnp.issubdtype(jnp.result_type(x), jnp.floating)]
    return jnp.result_type(*floats, float) if not floats else jnp.result_type(*floats)
