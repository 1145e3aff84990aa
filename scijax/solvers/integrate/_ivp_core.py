"""The traced part of ``solve_ivp``: one ``diffrax.diffeqsolve`` plus SciPy-style post-processing.

Everything here runs under one ``equinox.filter_jit``: the static configuration
(:class:`IvpConfig`, holding ``fun``, the method and the options that change
program structure) is hashed, and every array is traced, so repeated calls with
the same ``fun`` and new array values reuse the compiled program.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ..._typing import Array
from .._user_jacobian import with_user_jacobian
from ._diffrax_trim import install as _install_diffrax_trim
from ._ivp_checks import check_fun_shape
from ._ivp_events import EventSpec, diffrax_event, locate_events
from ._ivp_methods import METHODS
from ._ivp_result import (
    FLAG_DTMIN,
    FLAG_EVENT,
    FLAG_EVENTS_LOST,
    FLAG_MAX_STEPS,
    FLAG_NONFINITE,
    FLAG_NONLINEAR,
    FLAG_OTHER,
    FLAG_SUCCESS,
    OdeResult,
    OdeSolution,
)
from ._rk import initial_step as rk_initial_step
from ._stepsize import SpacingController, min_step

__all__ = ["IvpConfig", "solve_core"]

_install_diffrax_trim()  # diffeqsolve's t1 - 100 ULP threshold in one step: 0.4 s less compile per program


class IvpConfig(NamedTuple):
    """Static (hashed) part of a ``solve_ivp`` call."""

    fun: Callable[..., Any]
    method: str
    jac: Any  # None, a callable, or a constant matrix (then traced through `jac_value`)
    events: tuple[EventSpec, ...]
    save_steps: bool  # t_eval is None
    dense_output: bool
    has_first_step: bool
    max_steps: int
    max_events: int
    adjoint: diffrax.AbstractAdjoint


def _vector_field(fun, jac, jac_value):
    """diffrax vector field ``f(t, y, args)``; a user ``jac`` becomes the JVP rule in ``y``."""

    def plain(t, y, args):
        return jnp.broadcast_to(jnp.asarray(fun(t, y, *args), dtype=y.dtype), y.shape)

    if jac is None:
        return plain

    def value(y, p):
        return plain(p[0], y, p[1])

    def jacobian(y, p):
        return jac(p[0], y, *p[1]) if callable(jac) else p[2]

    def with_jac(t, y, args):
        return with_user_jacobian(value, jacobian, y, (t, args, jac_value))

    return with_jac


def _flag(result, y_last: Array, f_last: Array) -> Array:
    R = diffrax.RESULTS
    nonfinite = ~(jnp.all(jnp.isfinite(y_last)) & jnp.all(jnp.isfinite(f_last)))
    table = [
        (result == R.successful, FLAG_SUCCESS),
        (result == R.event_occurred, FLAG_EVENT),
        ((result == R.max_steps_reached) & nonfinite, FLAG_NONFINITE),
        (result == R.max_steps_reached, FLAG_MAX_STEPS),
        ((result == R.dt_min_reached) & nonfinite, FLAG_NONFINITE),
        (result == R.dt_min_reached, FLAG_DTMIN),
        ((result == R.nonlinear_divergence) | (result == R.nonlinear_max_steps_reached)
         | (result == R.singular), FLAG_NONLINEAR),
    ]
    flag = jnp.asarray(FLAG_OTHER)
    for cond, value in reversed(table):
        flag = jnp.where(cond, value, flag)
    return flag


@jax.custom_jvp
def _failed_gradient(out, inputs, ok):
    return out


@_failed_gradient.defjvp
def _failed_gradient_jvp(primals, tangents):
    out, inputs, ok = primals
    t_out, t_inputs, _ = tangents
    real = jnp.finfo(jax.tree_util.tree_leaves(out)[0].dtype).dtype
    leaves = [t for t in jax.tree_util.tree_leaves(t_inputs) if jnp.issubdtype(t.dtype, jnp.inexact)]
    total = sum((jnp.sum(t.real).astype(real) for t in leaves), jnp.zeros((), real))
    # Linear in the input tangents and NaN unless ``ok`` (``0 * nan`` is nan); the solver's own
    # tangents are dropped on failure, so no NaN enters its reverse pass.
    poison = jnp.where(ok, 0, jnp.nan).astype(real) * total
    return out, jax.tree_util.tree_map(lambda t: jnp.where(ok, t, 0) + poison.astype(t.dtype), t_out)


def nan_gradient_unless(res, ok, inputs):
    """``res`` with every derivative of its float arrays NaN unless ``ok`` (a solve that did not
    succeed has no meaningful derivative); ``inputs`` are the traced inputs of the solve."""
    dynamic, static = eqx.partition(res, eqx.is_inexact_array)
    inputs = eqx.filter(inputs, eqx.is_inexact_array)
    return eqx.combine(_failed_gradient(dynamic, inputs, jax.lax.stop_gradient(ok)), static)


def _rms(x: Array) -> Array:
    return jnp.sqrt(jnp.mean(jnp.abs(x) ** 2))


def initial_step(vf, t0, y0, args, direction, error_order, rtol, atol, max_step, span) -> Array:
    """SciPy's ``select_initial_step``, from the shared RK core: two evaluations of ``fun``."""
    rhs = lambda t, y: vf(t, y, args)
    h = rk_initial_step(rhs, t0, y0, rhs(t0, y0), direction, error_order - 1, rtol, atol, max_step, span, _rms)
    return jax.lax.stop_gradient(h)


@eqx.filter_jit
def solve_core(cfg: IvpConfig, t0, tf, y0, t_eval, args, rtol, atol, first_step, max_step, jac_value):
    spec = METHODS[cfg.method]
    check_fun_shape(cfg.fun, t0, y0, args)  # at trace time only: shapes are static
    real = jnp.finfo(y0.dtype).dtype
    direction = jnp.where(tf >= t0, 1.0, -1.0).astype(real)
    solver, jac = spec.solver(), cfg.jac
    banded = getattr(jac, "banded", None)  # a banded `jac_sparsity` (see _sparsity.py, _banded.py)
    if banded is not None and hasattr(solver, "with_algebra"):  # the solver builds the blocks from JVPs of fun
        solver, jac = solver.with_algebra(banded), None  # pyright: ignore[reportAttributeAccessIssue] (hasattr)
    term = diffrax.ODETerm(_vector_field(cfg.fun, jac, jac_value))
    # SciPy's minimum step, 10 spacings of the current t (not of tf), is applied by SpacingController.
    controller = SpacingController(diffrax.PIDController(
        rtol=rtol / spec.error_scale, atol=atol / spec.error_scale, dtmax=max_step,
        error_order=spec.error_order, pcoeff=spec.pid[0], icoeff=spec.pid[1],
    ))
    need_steps = cfg.save_steps or bool(cfg.events)
    subs = [diffrax.SubSaveAt(t0=True, steps=True)] if need_steps else []
    if not cfg.save_steps:
        subs.append(diffrax.SubSaveAt(ts=t_eval))
    dense = cfg.dense_output or bool(cfg.events)
    # A single SubSaveAt is passed bare: BacksolveAdjoint rejects `subs`.
    if hasattr(solver, "with_tolerances"):  # Radau's Newton iteration uses the user's tolerances
        solver = solver.with_tolerances(rtol, atol)  # pyright: ignore[reportAttributeAccessIssue] (hasattr above)
    if hasattr(solver, "step_controller"):  # 'BDF' chooses its own steps and orders (see _bdf.py)
        controller = solver.step_controller(rtol, atol, max_step)  # pyright: ignore[reportAttributeAccessIssue]
    counted = hasattr(solver, "work_counts")  # the solver counts its own nfev/njev/nlu in its state
    saveat = diffrax.SaveAt(subs=subs if len(subs) > 1 else subs[0], dense=dense, solver_state=counted)
    if not cfg.has_first_step:
        first_step = initial_step(term.vf, t0, y0, args, direction, spec.error_order, rtol, atol, max_step,
                                  jnp.abs(tf - t0))
    sol = diffrax.diffeqsolve(
        term, solver, t0, tf, first_step * direction, y0, args=args,
        saveat=saveat, stepsize_controller=controller, adjoint=cfg.adjoint,
        event=diffrax_event(cfg.events), max_steps=cfg.max_steps, throw=False,
    )
    n_steps = sol.stats["num_steps"]
    n_acc = sol.stats["num_accepted_steps"]
    n_valid = n_acc + 1
    sol_ts: Any = sol.ts if len(subs) > 1 else [sol.ts]  # diffrax types ts/ys as Optional PyTree
    sol_ys: Any = sol.ys if len(subs) > 1 else [sol.ys]

    if need_steps:
        ts_steps, ys_steps = sol_ts[0], sol_ys[0]
        y_last = ys_steps[jnp.maximum(n_valid - 1, 0)]
        t_last = ts_steps[jnp.maximum(n_valid - 1, 0)]
    else:
        reached_rows = ~jnp.all(jnp.isinf(sol_ys[-1].real), axis=1)
        k_last = jnp.sum(reached_rows) - 1
        t_last = jnp.where(k_last >= 0, t_eval[jnp.maximum(k_last, 0)], t0)
        y_last = jnp.where(k_last >= 0, sol_ys[-1][jnp.maximum(k_last, 0)], y0)
    # Probe just past the last accepted point: a solve that stalls because `fun` turns
    # non-finite ahead of it is reported as such, not as a step-size underflow.
    y_probe = jnp.where(jnp.isfinite(y_last), y_last, 0)
    # The stall lies somewhere in (t_last, tf] when only t_eval rows are stored, so probe a spread of times.
    gap = jnp.abs(tf - t_last)
    offsets = jnp.stack([jnp.minimum(1000 * min_step(t_last), gap / 2), 1e-9 * gap, 1e-6 * gap, 1e-3 * gap, gap / 2])
    t_probes = jnp.concatenate([t_last[None], t_last + direction * offsets])
    f_last = jax.vmap(lambda t: term.vf(t, y_probe, args))(t_probes)
    flag = _flag(sol.result, y_last, f_last)

    evaluate: Any = (lambda t: sol.evaluate(t)) if saveat.dense else None
    t_events = y_events = n_events = None
    t_stop = jnp.asarray(jnp.nan, real)
    if cfg.events:
        located = locate_events(cfg.events, ts_steps, ys_steps, n_valid, evaluate, args,
                                flag == FLAG_EVENT, direction, cfg.max_events)
        t_events, y_events, n_events, t_stop, stopped, lost = located
        # A counted terminal event ends the solution even if the solve went on (and maybe failed) later.
        flag = jnp.where(stopped, FLAG_EVENT, flag)
    stopped = flag == FLAG_EVENT

    y_stop = evaluate(jnp.where(stopped, t_stop, t0)) if cfg.events else y0
    if cfg.save_steps:
        idx = jnp.arange(ts_steps.shape[0])
        valid = idx < n_valid
        # Points strictly before the stop are kept; the stop itself becomes the last point.
        n_before = jnp.sum(valid & (direction * ts_steps < direction * t_stop))
        n_points = jnp.where(stopped, n_before + 1, n_valid)
        valid = idx < n_points
        at_end = stopped & (idx == n_points - 1)
        t_out = jnp.where(at_end, t_stop, jnp.where(valid, ts_steps, jnp.nan))
        y_out = jnp.where(at_end[:, None], y_stop, jnp.where(valid[:, None], ys_steps, jnp.nan))
    else:
        ys_eval = sol_ys[-1]
        reached = ~jnp.all(jnp.isinf(ys_eval.real), axis=1)
        reached = reached & ~(stopped & (direction * t_eval > direction * t_stop))
        t_out = jnp.where(reached, t_eval, jnp.nan)
        y_out = jnp.where(reached[:, None], ys_eval, jnp.nan)
        n_points = jnp.sum(reached)

    dense_sol = None
    if cfg.dense_output:
        t_end = jnp.where(stopped, t_stop, t_last)
        y_end = jnp.where(stopped, y_stop, y_last)
        dense_sol = OdeSolution(sol.interpolation, jnp.minimum(t0, t_end), jnp.maximum(t0, t_end),  # pyright: ignore[reportArgumentType] (dense=True)
                                t_end, y_end)
    if cfg.events:  # occurrences dropped for want of room: the event record is incomplete
        flag = jnp.where(lost & ((flag == FLAG_SUCCESS) | (flag == FLAG_EVENT)), FLAG_EVENTS_LOST, flag)
    status = jnp.where(flag == FLAG_SUCCESS, 0, jnp.where(flag == FLAG_EVENT, 1, -1))
    implicit = 1 if spec.implicit else 0
    nfev, njev, nlu = spec.fevals_per_step * n_steps + 2, implicit * n_steps, implicit * n_steps
    if counted:
        nfev, njev, nlu = solver.work_counts(  # pyright: ignore[reportAttributeAccessIssue] (`counted`)
            sol.solver_state, n_steps - n_acc)
    res = OdeResult(
        t=t_out, y=y_out.T, sol=dense_sol, t_events=t_events, y_events=y_events,
        nfev=nfev, nlu=nlu,
        njev=0 * n_steps if isinstance(cfg.jac, str) else njev,  # a constant `jac` is never evaluated
        status=status, success=status >= 0, n_points=n_points, n_steps=n_acc, n_events=n_events, flag=flag,
    )
    # Arrays `fun` closes over are differentiated too, so they count as inputs.
    closure = eqx.filter_closure_convert(lambda t, y, a: cfg.fun(t, y, *a), t0, y0, args)
    inputs = (closure, t0, tf, y0, t_eval, args, rtol, atol, first_step, max_step, jac_value)
    return nan_gradient_unless(res, status >= 0, inputs)
