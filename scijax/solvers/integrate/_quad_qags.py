"""QUADPACK's QAGS (and QAGI): adaptive bisection with Wynn-epsilon extrapolation, traceable.

Written from the algorithm's published description (Piessens, de Doncker-Kapenga, Ueberhuber and
Kahaner, *QUADPACK*, Springer 1983, routines QAGSE/QAGIE; de Doncker 1978). The problem is mapped
onto ``t`` in ``[0, 1]`` as in :mod:`._quad_adaptive` (for an infinite range that is QAGI's
transformation) and integrated by bisection with a Gauss-Kronrod pair, with these additions:

Levels and extrapolation
    A subinterval is *small* when its width is at most ``small`` (initially ``0.375``, halved at each
    extrapolation). While the interval with the largest error is large, it is bisected as in QAG.
    Once it is small, the large intervals are bisected first (largest error first) until their error
    sum ``erlarg`` is below the test tolerance; then the current total -- the integral approximation
    on this "level" -- is appended to Wynn's epsilon table (:func:`._quad_extrap.qelg`) and the
    extrapolated value with the smallest error estimate so far is kept. Singularities at the ends
    produce integral approximations whose errors fall geometrically from level to level, which is
    the sequence the epsilon algorithm accelerates.
Round-off and failure flags (SciPy's ``ier``)
    1: ``limit`` subintervals used; 2: round-off detected (a bisection that does not change the
    integral but keeps the error: ten times before extrapolation, or twenty times that the error
    grows), or the error falls below the round-off level of the initial rule; 3: an interval too
    small to bisect at the working precision, or non-finite values (our addition: QUADPACK would
    propagate them); 4: round-off in the extrapolation table, or no improvement from five
    extrapolations in a row; 5: the integral is probably divergent (the extrapolated and the summed
    values disagree by more than a factor 100, or the error is larger than the integral).
Final choice
    As in QAGS: the extrapolated value unless the partition's own sum has the smaller relative
    error (or no extrapolation was done), with the divergence test on the way.

Everything lives in fixed-size arrays (``limit`` subintervals, 52 table entries), so one
``lax.while_loop`` holds the whole algorithm: jit and vmap work and new values never recompile.
Subintervals are chosen by ``argmax`` over the buffer rather than QUADPACK's sorted list (the same
choice, except when errors tie). The integrand is traced once, in the loop body; the first
iteration evaluates ``[0, 1]``.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ..._typing import Array
from ._quad_adaptive import AdaptiveOptions, AdaptiveResult, map_t, node_values
from ._quad_extrap import EpsilonTable, epsilon_table, push, qelg
from ._quad_rules import apply_rule

__all__ = ["qags_loop"]

_SMALL0 = 0.375  # QUADPACK's first "small interval" width, as a fraction of the range


class _State(NamedTuple):
    t_lo: Array
    t_hi: Array
    vals: Array
    errs: Array
    n: Array  # subintervals in use (QUADPACK's last)
    done: Array  # 0 running, 1 stop with the partition's sum, 2 stop and choose (QAGS's label 100)
    ier: Array  # QUADPACK's internal code (1 limit, 2 round-off, 4 bad integrand, 5 extrapolation, 6)
    ierro: Array  # 3: round-off in the extrapolation phase
    iroff: Array  # (3,) round-off counters iroff1, iroff2, iroff3
    extrap: Array  # bisecting the large intervals before an extrapolation
    noext: Array  # extrapolation abandoned
    ktmin: Array  # extrapolations without improvement
    small: Array
    erlarg: Array  # error sum over the large intervals
    ertest: Array
    correc: Array
    result: Array  # best extrapolated value and its error
    abserr: Array
    table: EpsilonTable
    defabs: Array  # the first rule on |f| (for the round-off and divergence tests)
    ksgn: Array  # |integral| ~ integral of |f| on the first rule: f keeps its sign
    history: "History"
    slot_id: Array  # (limit,) the history entry of each subinterval


class History(NamedTuple):
    """What the derivative rule needs to differentiate the extrapolated value (see :func:`args_tangent`).

    Every subinterval ever evaluated (``2 last - 1`` of them), with the partition "times" (the number
    of subintervals) from which and until which it belonged to the partition, and the values pushed on
    the epsilon table with their times. ``best`` is the push whose extrapolation is the result, ``-1``
    when the result is the partition's sum.
    """

    lo: Array  # (2 limit - 1,) in t
    hi: Array
    born: Array
    died: Array
    times: Array  # (limit + 1,)
    pushes: Array
    count: Array
    best: Array


def _history(limit: int, dtype) -> History:
    h, m = 2 * limit - 1, limit + 1
    never = jnp.full(h, jnp.iinfo(jnp.int32).max, jnp.int32)
    return History(jnp.zeros(h, dtype), jnp.zeros(h, dtype), never, never, jnp.zeros(m, jnp.int32),
                   jnp.zeros(m, dtype), jnp.zeros((), jnp.int32), jnp.full((), -1, jnp.int32))


def _record(h: History, time, value, best: Array | bool = False, do: Array | bool = True) -> History:
    """Push ``value`` (made at partition time ``time``) on the record where ``do``; ``best``: it is
    the result. (Entries at and beyond ``count`` are unused, so the write itself needs no condition.)"""
    return h._replace(times=h.times.at[h.count].set(time), pushes=h.pushes.at[h.count].set(value),
                      count=h.count + jnp.asarray(do, h.count.dtype), best=jnp.where(do & best, h.count, h.best))


def _cast(new: Any, like: Any) -> Any:
    return jax.tree_util.tree_map(lambda x, z: jnp.asarray(x).astype(z.dtype), new, like)


def _rule4(rule, f, half):
    """Value, error, ``resabs`` (the rule on ``|f|``) and ``resasc`` (on ``|f - mean|``) per interval."""
    value, err = jax.vmap(lambda fv, h: apply_rule(rule, fv, h, jnp.abs))(f, half)
    k = jnp.asarray(rule.kronrod, f.dtype)
    resabs = half * (jnp.abs(f) @ k)
    resasc = half * (jnp.abs(f - (f @ k)[:, None] / 2) @ k)
    return value, err, resabs, resasc


def _position(t, a, b):
    """Where QUADPACK tests for an interval too small to bisect: ``x`` on a finite range, QAGI's
    variable (distance from the infinite end in ``t``) on an infinite one."""
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    lo_inf, hi_inf = jnp.isinf(lo), jnp.isinf(hi)
    finite = ~lo_inf & ~hi_inf
    return jnp.where(finite, map_t(t, a, b)[0], jnp.where(lo_inf & ~hi_inf, t, 1 - t))


def _start(s: _State, v, e, resabs, resasc, epsabs, epsrel, limit: int) -> _State:
    """The first rule on ``[0, 1]`` (QAGS's initialisation)."""
    dtype = s.vals.dtype
    eps = jnp.finfo(dtype).eps
    result, abserr, defabs = v[0], e[0], resabs[0]
    errbnd = jnp.maximum(epsabs, epsrel * jnp.abs(result))
    ier = jnp.where((abserr <= 100 * eps * defabs) & (abserr > errbnd), 2, 0)
    ier = ier if limit > 1 else jnp.ones_like(ier)
    finite = jnp.isfinite(result) & jnp.isfinite(abserr)
    ier = jnp.where(finite, ier, 4)
    stop = (ier != 0) | ((abserr <= errbnd) & (abserr != resasc[0])) | (abserr == 0)
    return s._replace(
        t_lo=s.t_lo.at[0].set(0), t_hi=s.t_hi.at[0].set(1), vals=s.vals.at[0].set(result),
        errs=s.errs.at[0].set(abserr), n=jnp.ones_like(s.n), done=jnp.where(stop, 1, 0), ier=ier,
        table=push(s.table, result), defabs=defabs,
        ksgn=jnp.abs(result) >= (1 - 50 * eps) * defabs,
        history=_record(s.history._replace(lo=s.history.lo.at[0].set(0), hi=s.history.hi.at[0].set(1),
                                           born=s.history.born.at[0].set(1)), 1, result),
        slot_id=s.slot_id.at[0].set(0))


def _extrapolate(s: _State, do, area, errsum, epsabs, epsrel) -> _State:
    """One step of the epsilon table on the current level's total (QAGS's extrapolation block), where
    ``do``. Only the table update is a ``cond``: a small one compiles much faster than one over the
    whole state."""
    big = jnp.finfo(s.vals.dtype).max
    table, reseps, abseps = jax.lax.cond(do, lambda t: _cast(qelg(t, area), (t, area, area)),
                                         lambda t: (t, area, big.astype(area.dtype)), s.table)
    ktmin = s.ktmin + do.astype(s.ktmin.dtype)
    ier = jnp.where(do & (ktmin > 5) & (s.abserr < 1e-3 * errsum), 5, s.ier)
    better = do & (abseps < s.abserr)
    result, abserr = jnp.where(better, reseps, s.result), jnp.where(better, abseps, s.abserr)
    ertest = jnp.where(better, jnp.maximum(epsabs, epsrel * jnp.abs(reseps)), s.ertest)
    stop = (better & (abserr <= ertest)) | (ier == 5)
    return s._replace(
        history=_record(s.history, s.n, area, better, do), table=table, ktmin=jnp.where(better, 0, ktmin),
        ier=ier, result=result, abserr=abserr, ertest=ertest, correc=jnp.where(better, s.erlarg, s.correc),
        done=jnp.where(stop, 2, s.done), noext=s.noext | (do & (table.n == 1)), extrap=s.extrap & ~do,
        small=jnp.where(do, s.small / 2, s.small), erlarg=jnp.where(do, errsum, s.erlarg))


def _bisected(s: _State, i, lo, mid, hi, v, e, resasc, a, b, epsabs, epsrel, limit: int) -> _State:
    """Store the halves of interval ``i`` and do QAGS's bookkeeping for this bisection."""
    dtype = s.vals.dtype
    eps, tiny = jnp.finfo(dtype).eps, jnp.finfo(dtype).tiny
    erlast, old = s.errs[i], s.vals[i]
    area12, erro12 = v[0] + v[1], e[0] + e[1]
    unsaturated = (resasc[0] != e[0]) & (resasc[1] != e[1])
    same = unsaturated & (jnp.abs(old - area12) <= 1e-5 * jnp.abs(area12)) & (erro12 >= 0.99 * erlast)
    grows = unsaturated & (s.n + 1 > 10) & (erro12 > erlast)
    iroff = s.iroff + jnp.stack([same & ~s.extrap, same & s.extrap, grows]).astype(s.iroff.dtype)
    finite = jnp.all(jnp.isfinite(v)) & jnp.all(jnp.isfinite(e))
    keep = finite & (mid > lo) & (mid < hi)
    n = s.n + keep.astype(s.n.dtype)
    # Slot n (and history entries 2n - 1, 2n) lie beyond the count when the halves are not kept, so
    # only the writes to slot i (and the parent's end of life) need a condition.
    t_lo = s.t_lo.at[s.n].set(mid)
    t_hi = s.t_hi.at[i].set(jnp.where(keep, mid, hi)).at[s.n].set(hi)
    vals = s.vals.at[s.n].set(v[1]).at[i].set(jnp.where(keep, v[0], old))
    errs = s.errs.at[s.n].set(e[1]).at[i].set(jnp.where(keep, e[0], erlast))
    h, born = s.history, n.astype(jnp.int32)
    k, parent = 2 * s.n - 1, s.slot_id[i]
    h = h._replace(lo=jax.lax.dynamic_update_slice(h.lo, jnp.stack([lo, mid]), (k,)),
                   hi=jax.lax.dynamic_update_slice(h.hi, jnp.stack([mid, hi]), (k,)),
                   born=jax.lax.dynamic_update_slice(h.born, jnp.stack([born, born]), (k,)),
                   died=h.died.at[parent].set(jnp.where(keep, born, h.died[parent])))
    slot_id = s.slot_id.at[s.n].set(k + 1).at[i].set(jnp.where(keep, k, parent))
    s = s._replace(history=h, slot_id=slot_id)
    used = jnp.arange(limit) < n
    area, errsum = jnp.sum(jnp.where(used, vals, 0)), jnp.sum(jnp.where(used, errs, 0))
    errbnd = jnp.maximum(epsabs, epsrel * jnp.abs(area))
    ier = jnp.where((iroff[0] + iroff[1] >= 10) | (iroff[2] >= 20), 2, s.ier)
    ierro = jnp.where(iroff[1] >= 5, 3, s.ierro)
    ier = jnp.where(n == limit, 1, ier)
    p_lo, p_mid, p_hi = (_position(t, a, b) for t in (lo, mid, hi))
    too_small = jnp.maximum(jnp.abs(p_lo), jnp.abs(p_hi)) <= (1 + 100 * eps) * (jnp.abs(p_mid) + 1000 * tiny)
    ier = jnp.where(too_small | ~keep, 4, ier)
    s = s._replace(t_lo=t_lo, t_hi=t_hi, vals=vals, errs=errs, n=n, ier=ier, ierro=ierro, iroff=iroff)
    converged, failed = errsum <= errbnd, ier != 0
    s = s._replace(done=jnp.where(converged, 1, jnp.where(failed, 2, 0)))
    second = (n == 2) & ~converged & ~failed
    s = s._replace(small=jnp.where(second, _SMALL0, s.small), erlarg=jnp.where(second, errsum, s.erlarg),
                   ertest=jnp.where(second, errbnd, s.ertest),
                   table=push(s.table, area)._replace(n=s.table.n + second.astype(s.table.n.dtype)),
                   history=_record(s.history, 2, area, do=second))
    go_on = (n > 2) & ~converged & ~failed & ~s.noext
    widths = jnp.where(used, t_hi - t_lo, 0)
    erlarg = s.erlarg - erlast + jnp.where((mid - lo) > s.small, erro12, 0)
    largest_is_large = widths[jnp.argmax(jnp.where(used, errs, -jnp.inf))] > s.small
    enter = go_on & (s.extrap | ~largest_is_large)  # the interval to bisect next is small
    large_left = (s.ierro != 3) & (erlarg > s.ertest) & jnp.any(widths > s.small)
    s = s._replace(erlarg=jnp.where(go_on, erlarg, s.erlarg), extrap=s.extrap | enter)
    return _extrapolate(s, enter & ~large_left, area, errsum, epsabs, epsrel)


def _finish(s: _State, limit: int) -> tuple[Array, Array, Array, Array]:
    """QAGS's final choice between the extrapolated value and the sum, and SciPy's ``ier``."""
    used = jnp.arange(limit) < s.n
    area, errsum = jnp.sum(jnp.where(used, s.vals, 0)), jnp.sum(jnp.where(used, s.errs, 0))
    big = jnp.finfo(s.vals.dtype).max
    result, abserr, ier = s.result, s.abserr, s.ier
    flagged = (ier + s.ierro) != 0
    abserr = jnp.where(flagged & (s.ierro == 3), abserr + s.correc, abserr)
    ier = jnp.where(flagged & (ier == 0), 3, ier)
    both = (result != 0) & (area != 0)
    safe_area = jnp.where(area == 0, 1, area)
    use_sum = jnp.where(both, abserr / jnp.abs(jnp.where(result == 0, 1, result)) > errsum / jnp.abs(safe_area),
                        abserr > errsum)
    skip_test = ~both & ~use_sum & (area == 0)  # QAGS returns the extrapolated value untested
    use_sum = jnp.where(flagged, use_sum, False)
    skip_test = flagged & skip_test
    ratio = result / safe_area
    quiet = ~s.ksgn & (jnp.maximum(jnp.abs(result), jnp.abs(area)) <= 0.01 * s.defabs)
    diverges = ~quiet & ((ratio < 0.01) | (ratio > 100) | (errsum > jnp.abs(area)))
    ier = jnp.where(~use_sum & ~skip_test & diverges, 6, ier)
    direct = (s.done == 1) | (s.abserr == big)  # straight to the sum, flags untouched
    use_sum = direct | use_sum
    value = jnp.where(use_sum, area, result)
    abserr = jnp.where(use_sum, errsum, abserr)
    ier = jnp.where(direct, s.ier, ier)
    return value, abserr, jnp.where(ier > 2, ier - 1, ier), use_sum


def qags_loop(func, opts: AdaptiveOptions, a, b, args: Any, epsabs, epsrel) -> AdaptiveResult:
    """Integrate ``func(x, *args)`` over ``[a, b]`` with QAGS; see the module docstring."""
    rule, limit = opts.rule, opts.limit
    dtype = jnp.result_type(a, b, float)
    zero, false = jnp.zeros((), dtype), jnp.zeros((), bool)
    i0 = jnp.zeros((), jnp.int32)
    s = _State(jnp.zeros(limit, dtype), jnp.zeros(limit, dtype), jnp.zeros(limit, dtype), jnp.zeros(limit, dtype),
               i0, i0, i0, i0, jnp.zeros(3, jnp.int32), false, false, i0, jnp.asarray(_SMALL0, dtype), zero,
               zero, zero, zero, jnp.asarray(jnp.finfo(dtype).max, dtype), epsilon_table(dtype), zero, false,
               _history(limit, dtype), jnp.zeros(limit, jnp.int32))

    def body(s: _State) -> _State:
        first = s.n == 0
        large = (s.t_hi - s.t_lo) > s.small
        pick = (jnp.arange(limit) < s.n) & (large | ~s.extrap)
        i = jnp.argmax(jnp.where(pick, s.errs, -jnp.inf))
        lo, hi = jnp.where(first, 0, s.t_lo[i]), jnp.where(first, 1, s.t_hi[i])
        mid = (lo + hi) / 2
        los = jnp.where(first, jnp.zeros(2, dtype), jnp.stack([lo, mid]))
        his = jnp.where(first, jnp.ones(2, dtype), jnp.stack([mid, hi]))
        f, half = node_values(func, rule, los, his, a, b, args)
        v, e, resabs, resasc = _rule4(rule, f.astype(dtype), half)
        return jax.lax.cond(
            first, lambda s: _cast(_start(s, v, e, resabs, resasc, epsabs, epsrel, limit), s),
            lambda s: _cast(_bisected(s, i, lo, mid, hi, v, e, resasc, a, b, epsabs, epsrel, limit), s), s)

    s = jax.lax.while_loop(lambda s: s.done == 0, body, s)
    value, abserr, ier, use_sum = _finish(s, limit)
    neval = (2 * s.n - 1) * rule.nodes.shape[0]
    history = s.history._replace(best=jnp.where(use_sum, -1, s.history.best))
    return AdaptiveResult(value, abserr, ier, s.n, neval, s.t_lo, s.t_hi, s.vals, s.errs, history)


def _replay(pushes: Array, best: Array) -> Array:
    """The extrapolated value of push ``best``, recomputed from the pushed values (for its derivative)."""

    def step(carry, j):
        table, out = carry
        pushed = push(table, pushes[j])
        extrapolated, value, _ = qelg(table, pushes[j])
        new = jax.tree_util.tree_map(lambda p, q: jnp.where(j < 2, p, q), pushed, extrapolated)
        table = jax.tree_util.tree_map(lambda p, q: jnp.where(j <= best, p, q), new, table)
        return (table, jnp.where(j == best, value, out)), None

    init = (epsilon_table(pushes.dtype), jnp.zeros((), pushes.dtype))
    return jax.lax.scan(step, init, jnp.arange(pushes.shape[0]))[0][1]


def args_tangent(func, opts: AdaptiveOptions, res: AdaptiveResult, a, b, args: Any, dargs: Any) -> Array:
    """The derivative of QAGS's value along ``dargs``: linear in ``dargs`` and transposable.

    When the value is the partition's sum, the Gauss-Kronrod rule applied to ``df/dargs`` on the final
    partition. When it is an extrapolation, the same rule on every partition whose total was pushed on
    the epsilon table, carried through the same epsilon steps (the discrete choices of the forward run
    held fixed): the derivative of the extrapolated value, not of the coarse partition's sum.
    """
    h = jax.tree_util.tree_map(jax.lax.stop_gradient, res.history)
    made = jnp.arange(h.lo.shape[0]) < 2 * res.last - 1
    lo, hi = jnp.where(made, h.lo, h.lo[0]), jnp.where(made, h.hi, h.hi[0])  # no node at a singular end

    def on_intervals(args):
        f, half = node_values(func, opts.rule, lo, hi, a, b, args)
        return jax.vmap(lambda fv, hw: apply_rule(opts.rule, fv, hw, jnp.abs)[0])(f, half)

    d_rule = jax.jvp(on_intervals, (args,), (dargs,))[1]

    def alive(t):
        return made & (h.born <= t) & (t < h.died)

    d_sum = jnp.sum(jnp.where(alive(res.last), d_rule, 0))
    d_pushes = jnp.sum(jnp.where(alive(h.times[:, None]), d_rule, 0), axis=1)
    d_extrap = jax.jvp(lambda p: _replay(p, h.best), (h.pushes,), (d_pushes,))[1]
    return jnp.where(h.best >= 0, d_extrap, d_sum).astype(res.value.dtype)
