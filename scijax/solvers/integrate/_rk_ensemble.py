"""The one explicit Runge-Kutta ensemble loop: ``solve_ivp`` under ``vmap`` and ``scijax.parallel``'s backends.

It lives in the integrate family (not in :mod:`scijax.parallel`) because
``solve_ivp`` runs it when batched by ``jax.vmap`` (:mod:`._ivp_batched`), and
``solvers`` may not import ``parallel``; the ``lean`` and ``fused`` backends of
``ensemble_solve_ivp`` import it through :mod:`.internal`.

State is *structure of arrays*: every leaf of ``y`` is an array whose trailing
axis is the ensemble member (the ``lean`` backend uses one ``(n, N)`` leaf, the
``fused`` kernel a tuple of ``n`` rows of shape ``(block,)``). Each member keeps
its own time, step size and status; lanes that are done simply stop updating.
Only element-wise ``jnp`` operations, ``where`` masks, a max-reduction and
``lax`` loops appear here, so the same code traces into XLA and into a Pallas
(Triton) kernel.

The stages, the error estimate, the step-size factors (SciPy's I controller,
or a PI controller with ``pcoeff``), SciPy's initial step and the dense output
are the integrate family's one explicit Runge-Kutta core
(:mod:`scijax.solvers.integrate.internal`); this module owns only the loop:
per-member masks, the fixed-step grid, ``t_eval`` output and the status codes
(``solve_ivp``'s ``flag`` vocabulary).
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ._ivp_result import FLAG_DTMIN, FLAG_MAX_STEPS, FLAG_NONFINITE, FLAG_SUCCESS
from ._rk import dense_eval, initial_step, rk_stages, scaled_error, step_factors
from ._rk_tableaus import Tableau, evals_per_step

__all__ = ["StepOptions", "integrate", "RUNNING", "MAX_STEPS", "DTMIN", "NONFINITE"]

# Per-member ``flag`` codes: ``solve_ivp``'s, so ``status_message`` reads them. A member is
# RUNNING (flag 0, success once it reaches ``tf``) until a failure code is set.
RUNNING, MAX_STEPS, DTMIN, NONFINITE = FLAG_SUCCESS, FLAG_MAX_STEPS, FLAG_DTMIN, FLAG_NONFINITE


class StepOptions(NamedTuple):
    """Static solver options (Python numbers; changing them recompiles)."""

    rtol: Any  # float, or a pytree of floats/arrays shaped like ``y``
    atol: Any
    first_step: float | None
    max_step: float
    max_steps: int
    dt: float | None  # fixed step size; None -> adaptive
    clip: bool  # adaptive only: land steps exactly on t_eval instead of interpolating
    dense: bool  # keep the last step's stages to interpolate at t_eval
    pcoeff: float
    icoeff: float
    n: int  # number of state components (for the RMS norm)
    unroll: int | None = 1  # step attempts per loop iteration (fewer loop-condition reductions)


class _State(NamedTuple):
    t: jax.Array
    y: Any
    f: Any  # fun(t, y); only carried by FSAL methods
    h_abs: jax.Array  # next proposed step size (adaptive); unused when fixed
    err_prev: jax.Array
    rejected: jax.Array
    status: jax.Array  # flag: RUNNING (0) until a failure code is set
    nfev: jax.Array
    nsteps: jax.Array  # attempted steps (accepted in fixed-step mode)
    naccept: jax.Array  # accepted steps (adaptive mode)
    step: jax.Array  # fixed-step mode: the (scalar) grid index shared by all running members
    t_old: jax.Array  # last accepted step, for dense output
    y_old: Any
    h_old: jax.Array
    k: Any  # tuple of stage derivatives of the last accepted step


def _tmap(f, *trees):
    return jax.tree.map(f, *trees)


def _where(mask, new, old):
    return _tmap(lambda a, b: jnp.where(mask, a, b), new, old)


def _sum_components(tree):
    return sum(x if x.ndim == 1 else jnp.sum(x, axis=tuple(range(x.ndim - 1))) for x in jax.tree.leaves(tree))


def _mean_square(tree, n):
    """Per-member mean square over the state components (all axes but the trailing one)."""
    return _sum_components(_tmap(lambda x: x * x, tree)) * (1.0 / n)


def _rms(tree, n):
    return jnp.sqrt(_mean_square(tree, n))


def _init(rhs, tab, t0, tf, y0, opts, dtype):
    t = jnp.full(jax.tree.leaves(y0)[0].shape[-1:], t0, dtype)
    zeros = jnp.zeros_like(t)
    izeros = jnp.zeros(t.shape, jnp.int32)
    d = jnp.sign(tf - t0)
    f0 = rhs(t, y0)
    nfev = izeros + 1
    if opts.dt is not None:
        h_abs = zeros + opts.dt
    elif opts.first_step is not None:
        h_abs = zeros + opts.first_step
    else:
        h_abs = initial_step(rhs, t, y0, f0, d, tab.error_order, opts.rtol, opts.atol, opts.max_step,
                             jnp.abs(tf - t0), lambda tree: _rms(tree, opts.n))
        nfev = nfev + 1
    k = tuple(_tmap(jnp.zeros_like, f0) for _ in tab.c) if opts.dense else None
    return _State(
        t=t, y=y0, f=f0 if tab.fsal else None, h_abs=h_abs, err_prev=zeros + 1.0,
        rejected=izeros > 0, status=izeros + RUNNING, nfev=nfev, nsteps=izeros, naccept=izeros,
        step=jnp.zeros((), jnp.int32),
        t_old=t, y_old=y0, h_old=zeros, k=k,
    )


def _attempt(rhs, tab, opts, tf, d, target, s: _State) -> _State:
    """One masked adaptive step attempt for every member still short of ``target``."""
    active = (s.status == RUNNING) & (d * (target - s.t) > 0)
    min_step = 10 * jnp.finfo(s.t.dtype).eps * jnp.abs(s.t)
    h_abs = jnp.maximum(jnp.minimum(s.h_abs, opts.max_step), min_step)
    bound = target if opts.clip else tf
    t_try = s.t + d * h_abs
    clipped = d * (t_try - bound) > 0
    t_new = jnp.where(clipped, bound, t_try)
    h = t_new - s.t
    k0 = s.f if tab.fsal else rhs(s.t, s.y)
    y_new, ks = rk_stages(rhs, tab, s.t, s.y, h, k0)

    err2 = _mean_square(scaled_error(tab, h, ks, s.y, y_new, opts.rtol, opts.atol), opts.n)
    accept = err2 < 1  # SciPy: RMS error norm < 1
    fac_acc, fac_rej = step_factors(err2, s.rejected, tab.error_order, opts.pcoeff, opts.icoeff, s.err_prev)
    h_next = jnp.abs(h) * jnp.where(accept, fac_acc, fac_rej)
    if opts.clip:  # a step shortened to hit t_eval does not shrink the next one
        h_next = jnp.where(accept & clipped, jnp.maximum(h_next, h_abs), h_next)
    err_prev = s.err_prev
    if opts.pcoeff != 0.0:
        err_prev = jnp.where(accept, jnp.maximum(jnp.sqrt(err2), 1e-4), s.err_prev)
    # SciPy: after a rejection, a step below 10 ulp(t) is "less than spacing between numbers".
    failed = jnp.where(s.rejected & (s.h_abs < min_step), DTMIN, RUNNING)
    failed = jnp.where(s.nsteps >= opts.max_steps, MAX_STEPS, failed)
    take = active & accept & (failed == RUNNING)
    new = s._replace(
        t=jnp.where(take, t_new, s.t),
        y=_where(take, y_new, s.y),
        f=None if s.f is None else _where(take, ks[-1], s.f),
        h_abs=jnp.where(active, h_next, s.h_abs),
        err_prev=jnp.where(active, err_prev, s.err_prev),
        rejected=jnp.where(active, ~accept, s.rejected),
        status=jnp.where(active, failed, s.status),
        nfev=jnp.where(active, s.nfev + evals_per_step(tab), s.nfev),
        nsteps=jnp.where(active, s.nsteps + 1, s.nsteps),
        naccept=jnp.where(take, s.naccept + 1, s.naccept),
    )
    return _keep_step(new, s, take, h, ks)


def _fixed_step(rhs, tab, opts, t0, tf, d, s: _State) -> _State:
    """One step on the fixed grid for every member; the caller's loop guarantees it is due.

    No per-member masking: a failed member keeps stepping (on non-finite numbers) but keeps
    its status, so it reports ``nan`` from then on.
    """
    t_new = _grid_time(s.step + 1, t0, tf, d, opts)
    h = t_new - _grid_time(s.step, t0, tf, d, opts)  # one scalar step for all members
    k0 = s.f if tab.fsal else rhs(s.t, s.y)
    y_new, ks = rk_stages(rhs, tab, s.t, s.y, h, k0)
    total = _sum_components(y_new)
    running = s.status == RUNNING
    status = jnp.where(running & ((total - total) != 0), NONFINITE, s.status)  # inf or nan somewhere
    status = jnp.where(running & (s.step >= opts.max_steps), MAX_STEPS, status)
    new = s._replace(
        t=jnp.broadcast_to(t_new, s.t.shape), y=y_new, f=None if s.f is None else ks[-1],
        status=status, nfev=jnp.where(running, s.nfev + evals_per_step(tab), s.nfev), step=s.step + 1,
    )
    return _keep_step(new, s, True, h, ks)


def _keep_step(new, s, take, h, ks):
    """Remember the step just taken for dense output (when ``t_eval`` needs it)."""
    if s.k is None:
        return new
    return new._replace(
        t_old=jnp.where(take, s.t, s.t_old),
        y_old=_where(take, s.y, s.y_old),
        h_old=jnp.where(take, h, s.h_old),
        k=tuple(_where(take, a, b) for a, b in zip(ks, s.k, strict=True)),
    )


def _grid_time(i, t0, tf, d, opts):
    return t0 + d * jnp.minimum(i.astype(t0.dtype) * opts.dt, jnp.abs(tf - t0))


def _grid_before(i, target, t0, tf, d, opts):
    """Whether grid point ``i`` lies before ``target`` (and the step budget is not spent)."""
    return (d * (target - _grid_time(i, t0, tf, d, opts)) > 0) & (i < opts.max_steps + 1)


def _dense(tab, s: _State, te):
    """Value at ``te`` from the last accepted step (SciPy's ``RkDenseOutput``)."""
    if s.k is None:
        return s.y
    x = jnp.where(s.h_old != 0, (te - s.t_old) / jnp.where(s.h_old != 0, s.h_old, 1.0), 0.0)
    return dense_eval(tab, s.y_old, s.h_old, s.k, x)


def integrate(
    rhs: Callable,
    tab: Tableau,
    y0: Any,
    t0: jax.Array,
    tf: jax.Array,
    n_points: int,
    t_at: Callable[[Any], jax.Array],
    save: Callable[[Any, Any, Any], Any],
    aux: Any,
    opts: StepOptions,
    each_step: Callable[[Any, Any, Any], tuple[Any, Any]] | None = None,
):
    """Integrate every member from ``t0`` to ``tf``, saving at ``t_at(k)`` for ``k < n_points``.

    ``save(k, y_k, aux) -> aux`` stores the values at the k-th output time (an
    array update for XLA, a ref store inside a kernel). Members fall into step
    between output times: all reach ``t_at(k)`` before the values are saved, so
    every store hits the same row. Members that failed before ``t_at(k)`` save
    ``nan``. Returns the final state (``status`` holds the flag codes above) and ``aux``.

    ``each_step(old, new, aux) -> (new, aux)`` (adaptive steps only) runs after every
    step attempt, with the states before and after it: ``solve_ivp`` with ``t_eval=None``
    stores every accepted step there (members whose ``naccept`` grew), and may set a
    member's ``status`` to stop it. ``t0``, ``tf`` and ``t_at(k)`` may be scalars or one
    value per member.
    """
    dtype = jax.tree.leaves(y0)[0].dtype
    t0 = jnp.asarray(t0, dtype)
    tf = jnp.asarray(tf, dtype)
    d = jnp.sign(tf - t0)
    s = _init(rhs, tab, t0, tf, y0, opts, dtype)

    unroll = opts.unroll or 1

    def advance(s, aux, target):
        """Step every member to ``target``; ``aux`` goes through the loop only for ``each_step``."""
        if each_step is None:
            return _advance(s, None, target)[0], aux
        return _advance(s, aux, target)

    def _advance(s, aux, target):
        if opts.dt is not None:  # all members share the grid: scalar conditions, no reductions
            step = lambda s: _fixed_step(rhs, tab, opts, t0, tf, d, s)
            if unroll > 1:
                def steps(s):
                    for _ in range(unroll):
                        s = step(s)
                    return s

                s = lax.while_loop(lambda s: _grid_before(s.step + unroll - 1, target, t0, tf, d, opts), steps, s)
            return lax.while_loop(lambda s: _grid_before(s.step, target, t0, tf, d, opts), step, s), aux

        def cond(carry):
            s = carry[0]
            active = (s.status == RUNNING) & (d * (target - s.t) > 0)
            return jnp.max(active.astype(jnp.int32)) > 0

        def attempts(carry):
            s, aux = carry
            for _ in range(unroll):  # an attempt is a no-op for members already at `target`
                new = _attempt(rhs, tab, opts, tf, d, target, s)
                s, aux = (new, aux) if each_step is None else each_step(s, new, aux)
            return s, aux

        return lax.while_loop(cond, attempts, (s, aux))

    def point(k, carry):
        s, aux = carry
        te = jnp.asarray(t_at(k), dtype)
        s, aux = advance(s, aux, te)
        missed = s.status != RUNNING
        if opts.dt is None:  # adaptive members stop where they fail; earlier output times stand
            missed = missed & (d * (te - s.t) > 0)
        y_k = _where(missed, _tmap(lambda x: jnp.full_like(x, jnp.nan), s.y), _dense(tab, s, te))
        return s, save(k, y_k, aux)

    s, aux = lax.fori_loop(0, n_points, point, (s, aux))
    return advance(s, aux, tf)
