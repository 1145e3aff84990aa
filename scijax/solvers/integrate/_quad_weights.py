"""``quad(weight=...)``: the weighted integrals of QUADPACK (Piessens et al. 1983), on our adaptive engine.

QUADPACK integrates ``f(x) w(x)`` with modified Clenshaw-Curtis rules whose moments absorb the weight
(QAWO, QAWF, QAWS, QAWC). We reach the same integrals by transforming the problem so that the
adaptive Gauss-Kronrod engine of :mod:`._quad_adaptive` sees a smooth integrand, following the
analysis of each weight in the QUADPACK book:

``'cos'``, ``'sin'`` on a finite interval (QAWO's problem)
    ``f(x) cos(omega x)`` (or ``sin``) integrated directly; GK21 resolves a few oscillations per
    subinterval, so ``|omega| (b - a)`` up to a few hundred converges within ``limit=50``.
``'cos'``, ``'sin'`` on ``[a, inf)`` (QAWF's problem)
    The integral over cycle ``k``, ``[a + k c, a + (k + 1) c]`` with ``c = (2 floor|omega| + 1) pi /
    |omega|``, is computed for ``k = 0 .. limlst - 1`` (tolerance ``epsabs (1 - p) p**k``, ``p = 0.9``),
    and the partial sums are extrapolated with Wynn's epsilon algorithm; the entry of the epsilon
    table with the smallest difference to its neighbours is the result. ``(-inf, b]`` is mapped to
    ``[-b, inf)``.
``'alg'``, ``'alg-loga'``, ``'alg-logb'``, ``'alg-log'`` (QAWS's problem)
    ``w(x) = (x - a)**alpha (b - x)**beta`` times ``log(x - a)`` and/or ``log(b - x)``. Each half of
    ``[a, b]`` is mapped by ``x - a = h exp(-u)`` (``b - x = h exp(-u)`` on the right half,
    ``h = (b - a) / 2``), ``u`` in ``[0, inf)``: the weight and the Jacobian become
    ``exp((alpha + 1)(log h - u))`` and the logarithm ``log h - u``, so the endpoint singularity is
    gone and the distances to the ends are computed without cancellation. Both halves are added at
    the same ``u`` and integrated once on ``[0, inf)``.
``'cauchy'`` (QAWC's problem)
    The principal value of ``f(x) / (x - c)`` is ``int (f(x) - f(c)) / (x - c) dx + f(c) log|(b - c) /
    (a - c)|``: the subtracted integrand is smooth, and ``c`` is a break point of the partition.

Everything is traced (``omega``, ``alpha``, ``beta``, ``c`` and ``args`` may be traced and differentiated).
"""

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import IntegrationWarning

from ..._concrete import is_concrete
from ..._typing import Array
from ._quad_adaptive import AdaptiveOptions
from ._quad_cached import MESSAGES, as_args, check_common, float_dtype, integrate, prepare_integrand
from ._quad_extrap import epsilon_table, qelg
from ._quad_rules import RULES

__all__ = ["WEIGHTS", "WeightedResult", "check_weight", "weighted_quad", "quad_weighted"]

WEIGHTS = ("cos", "sin", "alg", "alg-loga", "alg-logb", "alg-log", "cauchy")
_LOGS = {"alg": (False, False), "alg-loga": (True, False), "alg-logb": (False, True), "alg-log": (True, True)}
_CYCLE_RATIO = 0.9  # QAWF's p: cycle k gets the tolerance epsabs (1 - p) p**k


class WeightedResult(NamedTuple):
    value: Array
    abserr: Array
    ier: Array
    info: dict


def check_weight(weight: str, wvar: Any, a: Any, b: Any, epsabs: Any, maxp1: int, limlst: int,
                 concrete: bool) -> str:
    """SciPy's argument checks for the weighted integrals (ValueError with SciPy's messages).

    Returns ``'qawf'`` for a cos/sin weight on an infinite range, else the weight's family.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"{weight} not a recognized weighting function.")
    if wvar is None:
        raise ValueError(f"`wvar` is required with weight={weight!r}")
    shape = (len(wvar),) if isinstance(wvar, tuple | list) else jnp.shape(wvar)
    if weight.startswith("alg"):
        if shape != (2,):
            raise ValueError(f"`wvar` must be a pair (alpha, beta) with weight={weight!r}, got shape {shape}")
    elif shape != ():
        raise ValueError(f"`wvar` must be a scalar with weight={weight!r}, got shape {shape}")
    a_inf = is_concrete(a) and bool(jnp.isinf(a))  # per limit: the other one may be traced
    b_inf = is_concrete(b) and bool(jnp.isinf(b))
    if weight in ("cos", "sin"):
        if maxp1 < 1:
            raise ValueError("Chebyshev moment limit maxp1 must be >=1.")
        if a_inf and b_inf:
            raise ValueError("Cannot integrate with this weight from -Inf to +Inf.")
        if a_inf or b_inf:
            if limlst < 3:
                raise ValueError("Cycle limit limlst must be >=3.")
            if concrete and float(epsabs) <= 0:
                raise ValueError("Sine or cosine weighted integrals with infinite domain must have 'epsabs'>0.")
            return "qawf"
        return "qawo"
    if a_inf or b_inf:
        raise ValueError("Cannot integrate with this weight over an infinite interval.")
    if weight == "cauchy":
        if concrete and float(np.asarray(wvar)) in (float(a), float(b)):
            raise ValueError("Parameter 'wvar' must not equal integration limits 'a' or 'b'.")
        return "cauchy"
    if concrete and float(np.min(np.asarray(wvar, dtype=float))) <= -1:
        raise ValueError("wvar parameters (alpha, beta) must both be >= -1.")  # SciPy's text (QAWS needs > -1)
    return "alg"


class _Trig(eqx.Module):
    """``f(x) cos(omega x)`` or ``f(x) sin(omega x)``; ``omega`` is the last argument."""

    func: Callable
    sine: bool = eqx.field(static=True)
    mirror: bool = eqx.field(static=True)  # integrate f(-x) w(-x) (for (-inf, b])

    def __call__(self, x, *rest):
        *args, omega = rest
        trig = jnp.sin if self.sine else jnp.cos
        if self.mirror:
            fx = jnp.asarray(self.func(-x, *args))
            w = -trig(omega * x) if self.sine else trig(omega * x)
        else:
            fx, w = jnp.asarray(self.func(x, *args)), trig(omega * x)
        return fx * w


class _Alg(eqx.Module):
    """Both halves of the algebraic-logarithmic weighted integrand at ``u`` (see the module docstring)."""

    func: Callable
    log_a: bool = eqx.field(static=True)
    log_b: bool = eqx.field(static=True)

    def __call__(self, u, *rest):
        *args, lo, hi, alpha, beta = rest
        h = (hi - lo) / 2
        log_h, e = jnp.log(h), jnp.exp(-u)
        far = h * (2 - e)  # distance to the other end

        def side(x, p_near, p_far, log_near, log_far):
            w = jnp.exp((p_near + 1) * (log_h - u)) * far**p_far  # weight times the Jacobian h e^{-u}
            if log_near:
                w = w * (log_h - u)
            if log_far:
                w = w * jnp.log(far)
            fx = jnp.asarray(self.func(x, *args))
            return jnp.where(w == 0, 0, fx * w)

        left = side(lo + h * e, alpha, beta, self.log_a, self.log_b)
        right = side(hi - h * e, beta, alpha, self.log_b, self.log_a)
        return left + right


class _Cauchy(eqx.Module):
    """``(f(x) - f(c)) / (x - c)``; ``c`` and ``f(c)`` are the last two arguments."""

    func: Callable

    def __call__(self, x, *rest):
        *args, c, fc = rest
        d = x - c
        safe = jnp.where(d == 0, 1, d)
        return jnp.where(d == 0, 0, (jnp.asarray(self.func(x, *args)) - fc) / safe)


@jax.jit
def _wynn(sums: Array) -> tuple[Array, Array, Array]:
    """Wynn's epsilon algorithm over the partial sums, QUADPACK's QELG step by step
    (:func:`._quad_extrap.qelg`, shared with plain ``quad``); the extrapolation with the smallest error
    estimate wins, as in QAWF.

    Returns ``(value, error, terms)``: the chosen result, its error estimate and how many terms of
    ``sums`` it uses.
    """
    big = jnp.finfo(sums.dtype).max

    def step(carry, s):
        table, best, k = carry
        table, value, err = qelg(table, s)
        better = err < best[1]
        best = tuple(jnp.where(better, new, old) for new, old in zip((value, err, k + 1), best, strict=True))
        return (table, best, k + 1), None

    best0 = (sums[-1], jnp.asarray(big, sums.dtype), jnp.asarray(sums.shape[0], jnp.int32))
    (_, (value, err, terms), _), _ = jax.lax.scan(
        step, (epsilon_table(sums.dtype), best0, jnp.zeros((), jnp.int32)), sums)
    return value, err, terms


def _qawf(func, a, b, args, omega, epsabs, limit, limlst, sine, dtype):
    mirror = is_concrete(a) and bool(jnp.isinf(a))  # an infinite limit is concrete (the facade's check)
    start = -b if mirror else a
    g = _Trig(func, sine, mirror)
    w = jnp.abs(omega)
    w_safe = jnp.where(w == 0, 1, w)
    cycle = (2 * jnp.floor(w_safe) + 1) * jnp.pi / w_safe
    k = jnp.arange(limlst, dtype=dtype)
    tol = epsabs * (1 - _CYCLE_RATIO) * _CYCLE_RATIO ** k
    opts = AdaptiveOptions(RULES["gk21"], int(limit), "max", 0)
    full = (*args, omega)

    def one(lo, hi, tol_k):
        return integrate(g, opts, lo, hi, full, jnp.zeros(0, dtype), tol_k, jnp.zeros((), dtype))

    res = jax.vmap(one)(start + k * cycle, start + (k + 1) * cycle, tol)
    value, extrap_err, terms = _wynn(jnp.cumsum(res.value))
    used = jnp.arange(limlst) < terms
    err = extrap_err + jnp.sum(jnp.where(used, res.abserr, 0))
    cycles_bad = jnp.any(used & (res.ier != 0))
    ier = jnp.where(err <= epsabs, 0, jnp.where(cycles_bad, 7, 4))
    neval = jnp.sum(res.neval)
    if not (is_concrete(omega) and bool(omega != 0)):
        # omega == 0: cos gives the plain integral over [start, inf), sin gives 0.
        plain = integrate(func if not mirror else _Trig(func, False, True), opts, start,
                          jnp.asarray(jnp.inf, dtype), full if mirror else tuple(args), jnp.zeros(0, dtype),
                          epsabs, jnp.zeros((), dtype))
        zero = w == 0
        value = jnp.where(zero, 0 if sine else plain.value, value)
        err = jnp.where(zero, 0 if sine else plain.abserr, err)
        ier = jnp.where(zero, 0 if sine else plain.ier, ier)
    info = {"neval": neval, "lst": terms, "rslst": jnp.where(used, res.value, 0),
            "erlst": jnp.where(used, res.abserr, 0), "ierlst": jnp.where(used, res.ier, 0).astype(jnp.int32)}
    return WeightedResult(value, err, ier, info)


def weighted_quad(func, a, b, args, kind: str, weight: str, wvar, epsabs, epsrel, limit: int,
                  limlst: int, dtype) -> tuple[WeightedResult, Any]:
    """The weighted integral and, except for QAWF, the ``AdaptiveResult`` whose partition the facade
    reports (``None`` for QAWF)."""
    wvar = jnp.asarray(wvar, dtype)
    if kind == "qawf":
        return _qawf(func, a, b, args, wvar, epsabs, limit, limlst, weight == "sin", dtype), None
    opts = AdaptiveOptions(RULES["gk21"], int(limit), "max", 0)
    none = jnp.zeros(0, dtype)
    if kind == "qawo":
        res = integrate(_Trig(func, weight == "sin", False), opts, a, b, (*args, wvar), none, epsabs, epsrel)
        return WeightedResult(res.value, res.abserr, res.ier, {}), res
    if kind == "cauchy":
        c = wvar
        fc = jnp.asarray(func(c, *args)).astype(dtype)
        opts = opts._replace(n_points=1)
        lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
        res = integrate(_Cauchy(func), opts, a, b, (*args, c, fc), jnp.clip(c, lo, hi)[None], epsabs, epsrel)
        value = res.value + fc * (jnp.log(jnp.abs(b - c)) - jnp.log(jnp.abs(a - c)))
        return WeightedResult(value, res.abserr, res.ier, {}), res
    log_a, log_b = _LOGS[weight]
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    sign = jnp.where(b < a, -1, 1).astype(dtype)
    res = integrate(_Alg(func, log_a, log_b), opts, jnp.zeros((), dtype), jnp.asarray(jnp.inf, dtype),
                    (*args, lo, hi, wvar[0], wvar[1]), none, epsabs, epsrel)
    empty = lo == hi
    value = jnp.where(empty, 0, sign * res.value)
    return WeightedResult(value, jnp.where(empty, 0, res.abserr), jnp.where(empty, 0, res.ier), {}), res


_QAWF_MESSAGES = {
    1: "The maximum number of cycles allowed has been achieved., e.e.\n  of subintervals (a+(k-1)c, "
       "a+kc) where c = (2*int(abs(omega)+1))\n  *pi/abs(omega), for k = 1, 2, ..., lst.  One can allow "
       "more cycles by increasing the value of limlst.  Look at info['ierlst'] with full_output=1.",
    4: "The extrapolation table constructed for convergence acceleration\n  of the series formed by the "
       "integral contributions over the cycles, \n  does not converge to within the requested accuracy.  "
       "Look at \n  info['ierlst'] with full_output=1.",
    7: "Bad integrand behavior occurs within one or more of the cycles.\n  Location and type of the "
       "difficulty involved can be determined from \n  the vector info['ierlist'] obtained with "
       "full_output=1.",
}
_EXPLAIN = {
    1: "The maximum number of subdivisions (= limit) has been \n  achieved on this cycle.",
    2: "The occurrence of roundoff error is detected and prevents\n  the tolerance imposed on this cycle "
       "from being achieved.",
    3: "Extremely bad integrand behavior occurs at some points of\n  this cycle.",
    4: "The integral over this cycle does not converge (to within the required accuracy) due to roundoff "
       "in the extrapolation procedure invoked on this cycle.  It is assumed that the result on this "
       "interval is the best which can be obtained.",
    5: "The integral over this cycle is probably divergent or slowly convergent.",
}


def _partition_info(res, a, b, limit: int) -> dict:
    used = jnp.arange(limit) < res.last
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    finite = jnp.isfinite(lo) & jnp.isfinite(hi)
    to_x = lambda t: jnp.where(finite, lo + (hi - lo) * t, t)  # noqa: E731
    order = jnp.argsort(jnp.where(used, -res.errors, jnp.inf))
    return {"neval": res.neval, "last": res.last, "iord": jnp.where(used, order + 1, 0).astype(jnp.int32),
            "alist": jnp.where(used, to_x(res.t_lo), jnp.nan), "blist": jnp.where(used, to_x(res.t_hi), jnp.nan),
            "rlist": jnp.where(used, res.values, 0), "elist": jnp.where(used, res.errors, 0)}


def quad_weighted(func: Callable, a: Any, b: Any, args: Any, full_output: int, epsabs: float, epsrel: float,
                  limit: int, points: Any, weight: str, wvar: Any, wopts: Any, maxp1: int,
                  limlst: int) -> tuple:
    """``quad`` with ``weight=``: SciPy's checks, the weighted engine, SciPy's outputs and messages."""
    if points is not None:
        warnings.warn("Break points cannot be specified when using weighted integrand.\nContinuing, "
                      "ignoring specified points.", IntegrationWarning, stacklevel=3)
    a, b, _ = check_common(a, b, epsabs, epsrel, limit, None)
    kind = check_weight(weight, wvar, a, b, epsabs, maxp1, limlst, is_concrete(a, b, wvar, epsabs))
    args = as_args(args)
    dtype = float_dtype(a, b, (args, jnp.asarray(wvar)))
    a, b = a.astype(dtype), b.astype(dtype)
    func, args = prepare_integrand("func", func, a, b, args, "quad")
    out = jax.eval_shape(lambda x: jnp.asarray(func(x, *args)), jax.ShapeDtypeStruct((), dtype))
    if out.shape != ():
        raise ValueError(f"`func` must return a scalar, got shape {out.shape}; use quad_vec")
    wres, res = weighted_quad(func, a, b, args, kind, weight, wvar, jnp.asarray(epsabs, dtype),
                              jnp.asarray(epsrel, dtype), limit, limlst, dtype)
    concrete = is_concrete(wres.ier)
    ier = int(wres.ier) if concrete else 0
    messages = {**MESSAGES, **_QAWF_MESSAGES} if kind == "qawf" else MESSAGES
    message = messages.get(ier, "Unknown error.").format(limit=limit)
    if not full_output:
        if ier != 0:
            warnings.warn(message, IntegrationWarning, stacklevel=3)
        return wres.value, wres.abserr
    if kind == "qawf":
        info = dict(wres.info)
    else:
        info = _partition_info(res, a, b, limit)
        if kind == "qawo":  # no Chebyshev moments are computed (see Differences from SciPy)
            info.update(momcom=0, nnlog=jnp.zeros(limit, jnp.int32), chebmo=jnp.zeros((25, maxp1), dtype))
    if concrete:  # eager: NumPy values, as SciPy's dict
        info = {k: np.asarray(v) for k, v in info.items()}
    else:
        info["ier"] = wres.ier
    if ier == 0:
        return wres.value, wres.abserr, info
    if kind == "qawf":
        return wres.value, wres.abserr, info, message, _EXPLAIN
    return wres.value, wres.abserr, info, message
