"""The adaptive Gauss-Kronrod engine behind ``quad`` and ``quad_vec`` (global bisection, like QAG).

With ``AdaptiveOptions.extrapolate`` the loop is QUADPACK's QAGS/QAGI instead (:mod:`._quad_qags`:
the same map, buffers and result, plus Wynn-epsilon extrapolation); plain ``quad`` uses that.

Every problem is mapped onto ``t`` in ``[0, 1]`` (affine for finite limits; ``t / (1 - t)`` and
friends for infinite ones, as QUADPACK's QAGI does). Subintervals live in fixed-capacity buffers of
length ``limit`` so the loop is a ``lax.while_loop`` that jit and vmap accept. The interval with the
largest error estimate is bisected until the total error meets ``max(epsabs, epsrel * |I|)``.

Derivatives are not taken through the loop: a ``custom_jvp`` gives ``f(b) db - f(a) da`` for the
limits and, for the parameters ``args``, the same Gauss-Kronrod rule applied on the final partition
to ``d f / d args`` (a fixed, transposable computation, so reverse mode works too); for QAGS, the
derivative of the extrapolated value (:func:`._quad_qags.args_tangent`).
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from ..._typing import Array
from ._quad_rules import GKRule, apply_rule

__all__ = ["AdaptiveOptions", "AdaptiveResult", "adaptive_quad", "map_t", "node_values", "NORMS", "TRAPEZOID",
           "t_of_x"]

# SciPy's quad_vec 'trapezoid': the 3-point rule (ends and middle) against the 2-point one (ends), with
# the error estimate |difference| / 3 instead of QUADPACK's scaled one (see `_apply`).
TRAPEZOID = GKRule(np.array([1.0, 0.0, -1.0]), np.array([0.5, 1.0, 0.5]), np.array([1.0, 0.0, 1.0]))

NORMS: dict[str, Callable[[Array], Array]] = {
    "2": lambda v: jnp.sqrt(jnp.sum(jnp.abs(v) ** 2)),
    "max": lambda v: jnp.max(jnp.abs(v)) if jnp.ndim(v) else jnp.abs(v),
}


class AdaptiveOptions(NamedTuple):
    """Static settings of one adaptive integration."""

    rule: GKRule
    limit: int
    norm: str
    n_points: int  # number of user break points (initial partition has n_points + 1 intervals)
    extrapolate: bool = False  # QAGS/QAGI (Wynn epsilon extrapolation, :mod:`._quad_qags`); needs n_points == 0


class AdaptiveResult(NamedTuple):
    value: Array
    abserr: Array
    ier: Array  # 0 converged, 1 limit reached, 3 bad integrand (non-finite / no progress)
    last: Array  # number of subintervals used
    neval: Array
    t_lo: Array  # (limit,) subinterval ends in t-space (padded beyond `last`)
    t_hi: Array
    values: Array  # (limit, *out)
    errors: Array  # (limit,)
    history: Any = None  # QAGS: what the derivative rule needs to differentiate the extrapolation


def map_t(t: Array, a: Array, b: Array) -> tuple[Array, Array, Array]:
    """``x(t)`` and ``dx/dt`` for ``t`` in ``(0, 1)``, for finite or infinite ``a < b``; and the sign."""
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    sign = jnp.where(b < a, -1.0, 1.0)
    lo_inf, hi_inf = jnp.isinf(lo), jnp.isinf(hi)
    lo_s, hi_s = jnp.where(lo_inf, 0, lo), jnp.where(hi_inf, 0, hi)
    u = 1 - t
    x_fin, j_fin = lo_s + (hi_s - lo_s) * t, (hi_s - lo_s) * jnp.ones_like(t)
    x_up, j_up = lo_s + t / u, 1 / u**2
    x_dn, j_dn = hi_s - u / t, 1 / t**2
    x_both, j_both = (2 * t - 1) / (t * u), (2 * t**2 - 2 * t + 1) / (t * u) ** 2
    x = jnp.where(lo_inf & hi_inf, x_both, jnp.where(hi_inf, x_up, jnp.where(lo_inf, x_dn, x_fin)))
    jac = jnp.where(lo_inf & hi_inf, j_both, jnp.where(hi_inf, j_up, jnp.where(lo_inf, j_dn, j_fin)))
    jac = jnp.where(lo == hi, 0, jac)  # empty interval (including a == b == inf)
    return x, jac, sign


def t_of_x(x: Array, a: Array, b: Array) -> Array:
    """The inverse of :func:`map_t`: ``t`` in ``[0, 1]`` of a point ``x`` between ``a`` and ``b``."""
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    lo_inf, hi_inf = jnp.isinf(lo), jnp.isinf(hi)
    lo_s, hi_s = jnp.where(lo_inf, 0, lo), jnp.where(hi_inf, 0, hi)
    width = jnp.where(hi_s == lo_s, 1, hi_s - lo_s)
    t_fin = (x - lo_s) / width
    t_up = (x - lo_s) / (1 + x - lo_s)
    t_dn = 1 / (1 + hi_s - x)
    t_both = 2 / (jnp.sqrt(x**2 + 4) + 2 - x)
    t = jnp.where(lo_inf & hi_inf, t_both, jnp.where(hi_inf, t_up, jnp.where(lo_inf, t_dn, t_fin)))
    return jnp.clip(t, 0, 1)


def _apply(rule, fv, half, norm):
    if rule.nodes.shape[0] != 3:
        return apply_rule(rule, fv, half, norm)
    # trapezoid pair: value from 3 points, error |3-point - 2-point| / 3 (SciPy's quad_vec)
    fine = half * jnp.tensordot(jnp.asarray(rule.kronrod, half.dtype), fv, axes=1)
    coarse = half * jnp.tensordot(jnp.asarray(rule.gauss, half.dtype), fv, axes=1)
    return fine, norm(fine - coarse) / 3


def _rule_on(func, rule, opts, t_lo, t_hi, a, b, args):
    """Apply the rule on each subinterval ``[t_lo, t_hi]`` (vectorised): values and errors."""
    f, half = node_values(func, rule, t_lo, t_hi, a, b, args)
    return jax.vmap(lambda fv, h: _apply(rule, fv, h, NORMS[opts.norm]))(f, half)


def node_values(func, rule: GKRule, t_lo: Array, t_hi: Array, a: Array, b: Array, args: Any
                ) -> tuple[Array, Array]:
    """``func`` times the Jacobian at the rule's nodes on each ``[t_lo, t_hi]``: ``(K, n_nodes, *out)``,
    and the half-widths ``(K,)``."""
    nodes = jnp.asarray(rule.nodes, t_lo.dtype)
    centre, half = (t_lo + t_hi) / 2, (t_hi - t_lo) / 2
    t = centre[:, None] + half[:, None] * nodes  # (K, n_nodes)
    x, jac, sign = map_t(t, a, b)
    at_inf = jnp.isinf(x)  # the ends of an infinite range (trapezoid nodes): contribute 0, as in SciPy
    x, jac = jnp.where(at_inf, 0, x), jnp.where(at_inf, 0, jac)
    f = jax.vmap(jax.vmap(lambda xx: jnp.asarray(func(xx, *args))))(x)
    expand = (1,) * (f.ndim - 2)
    f = jnp.where(at_inf.reshape(at_inf.shape + expand), 0, f * (jac * sign).reshape(jac.shape + expand))
    return f, half


def _initial_partition(opts: AdaptiveOptions, a: Array, b: Array, points: Array, dtype: Any):
    if opts.n_points == 0:
        edges = jnp.array([0.0, 1.0], dtype)
    else:
        frac = jnp.sort(t_of_x(points, a, b))
        edges = jnp.concatenate([jnp.zeros(1, dtype), frac.astype(dtype), jnp.ones(1, dtype)])
    return edges[:-1], edges[1:]


def _adaptive_loop(func, opts, a, b, args, points, epsabs, epsrel) -> AdaptiveResult:
    """The bisection loop. The integrand is traced once, in the loop body.

    The initial partition (``n_points + 1`` intervals) is evaluated by the first iterations, two
    intervals each, before any bisection; the body's rule evaluation is the only copy of ``func``
    in the compiled program. That keeps nested integrals (``dblquad``, ``tplquad``, ``nquad``,
    an integrand that calls ``quad``) from growing as 2**depth copies of the innermost integrand.
    """
    rule, limit = opts.rule, opts.limit
    dtype = jnp.result_type(a, b, float)
    norm = NORMS[opts.norm]
    lo0, hi0 = _initial_partition(opts, a, b, points, dtype)
    k0 = lo0.shape[0]
    out = jax.eval_shape(lambda: _rule_on(func, rule, opts, lo0[:1], hi0[:1], a, b, args))[0]
    pad = limit - k0
    t_lo = jnp.concatenate([lo0, jnp.zeros(pad, dtype)])
    t_hi = jnp.concatenate([hi0, jnp.zeros(pad, dtype)])
    vals = jnp.zeros((limit,) + out.shape[1:], out.dtype)
    errs = jnp.zeros(limit, dtype)
    slots = jnp.arange(limit)

    def totals(vals, errs):
        return jnp.sum(vals, axis=0), jnp.sum(errs)

    def tolerance(total):
        return jnp.maximum(epsabs, epsrel * norm(total))

    def cond(s):
        t_lo, t_hi, vals, errs, n, m, ier = s
        total, err = totals(vals, errs)
        return (m < k0) | ((n < limit) & (err > tolerance(total)) & (ier == 0))

    def body(s):
        t_lo, t_hi, vals, errs, n, m, ier = s
        init = m < k0  # still evaluating the initial partition, slots m and m + 1
        first, second = jnp.minimum(m, k0 - 1), jnp.minimum(m + 1, k0 - 1)
        i = jnp.argmax(jnp.where(slots < n, errs, -jnp.inf))
        lo, hi = t_lo[i], t_hi[i]
        mid = (lo + hi) / 2
        los = jnp.where(init, jnp.stack([t_lo[first], t_lo[second]]), jnp.stack([lo, mid]))
        his = jnp.where(init, jnp.stack([t_hi[first], t_hi[second]]), jnp.stack([mid, hi]))
        v, e = _rule_on(func, rule, opts, los, his, a, b, args)
        finite = jnp.all(jnp.isfinite(v)) & jnp.all(jnp.isfinite(e))
        stuck = ~init & ((mid <= lo) | (mid >= hi) | ~finite)
        ier = jnp.where(stuck | (init & ~finite), 3, ier)
        keep = ~init & ~stuck
        write = init | keep
        # Slot A gets the first result (initial slot m, or the bisected slot i: its left half);
        # slot B the second (initial slot m + 1, or the new slot n: the right half). B is written
        # first so that A wins when the last initial pair is a single interval (first == second).
        slot_a, slot_b = jnp.where(init, first, i), jnp.where(init, second, n)
        # O(1) in-place updates; bisection moves the right half into slot n.
        t_lo = t_lo.at[n].set(jnp.where(keep, mid, t_lo[n]))
        t_hi = t_hi.at[i].set(jnp.where(keep, mid, t_hi[i])).at[n].set(jnp.where(keep, hi, t_hi[n]))
        vals = vals.at[slot_b].set(jnp.where(write, v[1], vals[slot_b]))
        vals = vals.at[slot_a].set(jnp.where(write, v[0], vals[slot_a]))
        errs = errs.at[slot_b].set(jnp.where(write, e[1], errs[slot_b]))
        errs = errs.at[slot_a].set(jnp.where(write, e[0], errs[slot_a]))
        return t_lo, t_hi, vals, errs, n + keep.astype(n.dtype), m + 2 * init.astype(m.dtype), ier

    init = (t_lo, t_hi, vals, errs, jnp.array(k0), jnp.array(0), jnp.array(0))
    t_lo, t_hi, vals, errs, n, _, ier = jax.lax.while_loop(cond, body, init)
    total, err = totals(vals, errs)
    ier = jnp.where(err <= tolerance(total), 0, jnp.where(ier == 0, 1, ier))
    neval = (k0 + 2 * (n - k0)) * rule.nodes.shape[0]
    return AdaptiveResult(total, err, ier, n, neval, t_lo, t_hi, vals, errs)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def adaptive_quad(func: Callable, opts: AdaptiveOptions, a, b, args, points, epsabs, epsrel
                  ) -> AdaptiveResult:
    """Integrate ``func(x, *args)`` from ``a`` to ``b``; see the module docstring."""
    if opts.extrapolate:
        from ._quad_qags import qags_loop  # the QAGS loop builds on this module's helpers

        return qags_loop(func, opts, a, b, args, epsabs, epsrel)
    return _adaptive_loop(func, opts, a, b, args, points, epsabs, epsrel)


def _zero_tangent(x: Array) -> Array:
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, jax.dtypes.float0)  # pyright: ignore[reportReturnType] (float0 tangents are NumPy by JAX's rule)


def _is_zero(t: Any) -> bool:
    return all(isinstance(leaf, SymbolicZero) for leaf in jax.tree_util.tree_leaves(
        t, is_leaf=lambda z: isinstance(z, SymbolicZero)))


def _endpoint(func, x, args, tangent, out_shape, dtype):
    if _is_zero(tangent):
        return jnp.zeros(out_shape, dtype)
    safe = jnp.where(jnp.isfinite(x), x, 0)
    fx = jnp.asarray(func(safe, *args)).astype(dtype)
    return jnp.where(jnp.isfinite(x), fx, 0) * tangent



def _adaptive_quad_jvp(func, opts, primals, tangents):
    a, b, args, points, epsabs, epsrel = primals
    da, db, dargs = tangents[:3]
    res = adaptive_quad(func, opts, a, b, args, points, epsabs, epsrel)
    shape, dtype = res.value.shape, res.value.dtype
    dvalue = _endpoint(func, b, args, db, shape, dtype) - _endpoint(func, a, args, da, shape, dtype)
    if not _is_zero(dargs):
        dargs = jax.tree_util.tree_map(
            lambda t, p: _zero_tangent(p) if isinstance(t, SymbolicZero) else t, dargs, args,
            is_leaf=lambda z: isinstance(z, SymbolicZero))
    if not _is_zero(dargs) and opts.extrapolate:
        from ._quad_qags import args_tangent

        dvalue = dvalue + args_tangent(func, opts, res, a, b, args, dargs)
    elif not _is_zero(dargs):
        in_use = jnp.arange(opts.limit) < res.last
        used = in_use.reshape((-1,) + (1,) * len(shape))
        # unused slots get slot 0's interval: no node at a singular end, so no NaN in reverse mode
        t_lo = jnp.where(in_use, res.t_lo, res.t_lo[0])
        t_hi = jnp.where(in_use, res.t_hi, res.t_hi[0])
        t_lo, t_hi = jax.lax.stop_gradient(t_lo), jax.lax.stop_gradient(t_hi)

        def on_partition(args):
            vals, _ = _rule_on(func, opts.rule, opts, t_lo, t_hi, a, b, args)
            return jnp.sum(jnp.where(used, vals, 0), axis=0)

        dvalue = dvalue + jax.jvp(on_partition, (args,), (dargs,))[1]
    tangent_out = jax.tree_util.tree_map(_zero_tangent, res)._replace(value=dvalue)
    return res, tangent_out


adaptive_quad.defjvp(_adaptive_quad_jvp, symbolic_zeros=True)
