"""SciPy-style events for ``solve_ivp``, located after the solve on the dense output.

SciPy checks each event function at the end of every step and, where its sign
changed in the requested direction, finds the root on that step's interpolant.
We do the same over the buffer of accepted steps, all steps at once: sign
changes are found by a vectorised comparison, the first ``capacity`` of them are
gathered, and each root is bracketed by bisection on the interpolant to machine
precision. Terminal events also stop the diffrax solve itself (without a root
finder, so the solve ends at the end of the step that crossed); the result is
then truncated at the located root, as SciPy does.

Gradients of event times follow the implicit function theorem: after the
bisection (whose iterations carry no gradient) one Newton correction
``t* = t_b - g(t_b) / g'(t_b)`` is applied with ``t_b`` held constant, which
gives ``dt*/dp = -(dg/dp) / (dg/dt)``.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array

__all__ = ["EventSpec", "parse_events", "diffrax_event", "locate_events"]


class EventSpec(NamedTuple):
    """Description of one event function.

    ``direction`` is a Python float (static) for an event that stops the solve at its first
    occurrence, because diffrax's ``Event`` takes its direction as configuration; for every other
    event it is a 0-d NumPy array, which ``equinox.filter_jit`` traces, so solves that differ only
    in those directions share one compiled program.
    """

    fn: Callable[..., Any]  # the user's event function (any array-like result)
    terminal: int  # 0: not terminal; k: stop at the k-th occurrence
    direction: float | np.ndarray


def parse_events(events) -> tuple[EventSpec, ...]:
    """Read SciPy's ``terminal`` and ``direction`` attributes off event functions."""
    if events is None:
        return ()
    if callable(events):
        events = (events,)
    specs = []
    for i, ev in enumerate(events):
        if not callable(ev):
            raise TypeError(f"`events[{i}]` must be callable, got {type(ev).__name__}.")
        terminal = getattr(ev, "terminal", False)
        if terminal is None:
            count = 0
        elif isinstance(terminal, bool | np.bool_):
            count = int(bool(terminal))
        elif isinstance(terminal, int | np.integer) and terminal >= 0:
            count = int(terminal)
        else:
            raise ValueError(
                f"The `terminal` attribute of each event must be a boolean or positive integer; "
                f"`events[{i}].terminal` is {terminal!r}."
            )
        direction = float(getattr(ev, "direction", 0.0))
        sign = float(np.sign(direction))
        specs.append(EventSpec(ev, count, sign if count == 1 else np.asarray(sign)))
    return tuple(specs)


def _call(spec: EventSpec, t, y, args) -> Array:
    return jnp.reshape(jnp.asarray(spec.fn(t, y, *args)), ()).real


def diffrax_event(specs: tuple[EventSpec, ...]) -> diffrax.Event | None:
    """A diffrax ``Event`` that stops the solve on the step where a ``terminal=True`` event crosses.

    Events that stop only after several occurrences are not given to diffrax: the solve runs on,
    and :func:`locate_events` truncates the result at the last counted occurrence.
    """
    terminal = [s for s in specs if s.terminal == 1]
    if not terminal:
        return None
    conds = [lambda t, y, args, s=s, **kw: _call(s, t, y, args) for s in terminal]
    directions = [None if s.direction == 0 else bool(s.direction > 0) for s in terminal]
    return diffrax.Event(cond_fn=conds, direction=directions, root_finder=None)


def _crossings(g0: Array, g1: Array, direction: float | Array | np.ndarray) -> Array:
    up = (g0 <= 0) & (g1 >= 0)
    down = (g0 >= 0) & (g1 <= 0)
    if not isinstance(direction, float):  # traced
        return jnp.where(direction > 0, up, jnp.where(direction < 0, down, up | down))
    if direction > 0:
        return up
    if direction < 0:
        return down
    return up | down


def _root(h: Callable[[Array], Array], ta: Array, tb: Array, n_iter: int) -> Array:
    """Bisection on ``[ta, tb]`` (any order) for a sign change of ``h``; one Newton step for gradients."""
    ta, tb = jax.lax.stop_gradient((ta, tb))
    ha = h(ta)

    def body(_, ab):
        a, b, fa = ab
        m = 0.5 * (a + b)
        fm = h(m)
        left = jnp.sign(fm) == jnp.sign(fa)
        return jnp.where(left, m, a), jnp.where(left, b, m), jnp.where(left, fm, fa)

    a, b, _ = jax.lax.fori_loop(0, n_iter, body, (ta, tb, ha))
    tr = jax.lax.stop_gradient(0.5 * (a + b))
    val, slope = jax.jvp(h, (tr,), (jnp.ones_like(tr),))
    safe = jnp.where(slope == 0, 1.0, slope)
    correction = jnp.where(slope == 0, 0.0, val / safe)
    return tr - (correction - jax.lax.stop_gradient(correction))


class LocatedEvents(NamedTuple):
    t_events: list[Array]
    y_events: list[Array]
    counts: Array
    t_stop: Array  # time at which a terminal event ends the solution (nan if none)
    stopped: Array
    lost: Array  # more occurrences of some event (before the stop) than `max_events` holds


def locate_events(
    specs: tuple[EventSpec, ...],
    ts: Array,
    ys: Array,
    n_valid: Array,
    evaluate: Callable[[Array], Array],
    args: tuple,
    stopped: Array,
    direction: Array,
    capacity: int,
) -> LocatedEvents:
    """Find every event occurrence over the accepted steps ``ts[:n_valid]``.

    ``stopped`` says whether diffrax ended the solve on a ``terminal=True`` event. The
    solution ends at the earliest terminal occurrence (the k-th for ``terminal=k``); later
    occurrences are dropped.
    """
    n_iter = int(-np.log2(np.finfo(ts.dtype).eps)) + 4
    m = ts.shape[0] - 1
    valid_pt = jnp.arange(m + 1) < n_valid
    ts_safe = jnp.where(valid_pt, ts, ts[0])
    ys_safe = jnp.where(valid_pt[:, None], ys, ys[0])
    step_ok = jnp.arange(m) < n_valid - 1
    cap = min(capacity, m)

    raw_t, raw_found, masks = [], [], []
    for spec in specs:
        g = jax.vmap(lambda t, y, s=spec: _call(s, t, y, args))(ts_safe, ys_safe)
        mask = _crossings(g[:-1], g[1:], spec.direction) & step_ok
        idx = jnp.nonzero(mask, size=cap, fill_value=0)[0]
        found = jnp.arange(cap) < jnp.sum(mask)
        h = lambda t, s=spec: _call(s, t, evaluate(t), args)
        roots = jax.vmap(lambda a, b: _root(h, a, b, n_iter))(ts_safe[idx], ts_safe[idx + 1])
        raw_t.append(jnp.where(found, roots, jnp.nan))
        raw_found.append(found)
        masks.append(mask)

    # Candidate stop times: the k-th located occurrence of each event with terminal = k.
    candidates = []
    for spec, t_k, f_k in zip(specs, raw_t, raw_found, strict=True):
        if spec.terminal and spec.terminal <= cap:
            k = spec.terminal - 1
            candidates.append(jnp.where(f_k[k], t_k[k], jnp.nan))
    t_stop = jnp.asarray(jnp.nan, ts.dtype)
    if candidates:
        cand = jnp.stack(candidates)
        key = jnp.where(jnp.isnan(cand), jnp.inf, direction * cand)
        t_stop = cand[jnp.argmin(key)]
    # diffrax stopped on a terminal=True event whose root bisection did not see (a sign change
    # exactly at a step end): stop at the end of the last step.
    last_t = ts_safe[jnp.maximum(n_valid - 1, 0)]
    t_stop = jnp.where(stopped & jnp.isnan(t_stop), last_t, t_stop)
    stopped = ~jnp.isnan(t_stop)

    t_events, y_events, counts = [], [], []
    for t_k, f_k in zip(raw_t, raw_found, strict=True):
        keep = f_k & ~(stopped & (direction * t_k > direction * t_stop))
        t_k = jnp.where(keep, t_k, jnp.nan)
        y_k = jax.vmap(evaluate)(jnp.where(keep, t_k, ts[0]))
        y_events.append(jnp.where(keep[:, None], y_k, jnp.nan))
        t_events.append(t_k)
        counts.append(jnp.sum(keep))
    before_stop = ~(stopped & (direction * ts_safe[:-1] > direction * t_stop))
    lost = jnp.any(jnp.stack([jnp.sum(mask & before_stop) > cap for mask in masks]))
    return LocatedEvents(t_events, y_events, jnp.stack(counts), t_stop, stopped, lost)
