"""``solve_ivp`` for the explicit methods: the structure-of-arrays engine, which ``jax.vmap`` batches.

Mechanism
---------
The explicit methods ('RK45', 'RK23', 'DOP853', 'Tsit5'; no events, real
``y0``; with ``dense_output`` and ``t_eval``, ``sol`` comes from diffrax) run
:func:`solve_explicit`, which wraps one core function twice:

- ``jax.custom_batching.custom_vmap``: called unbatched (eager or under ``jit``),
  the core runs diffrax's solve (:func:`._ivp_core.solve_core`), the same
  discretisation its derivatives use; batched by ``jax.vmap`` (with or without
  ``jit``), its rule runs the ensemble loop of :mod:`._rk_ensemble` on all
  members at once, structure of arrays: every member keeps its own time, step
  size and status and takes exactly its own steps, instead of a vmapped
  ``while_loop`` whose members all wait for the slowest one and carry the
  stepper's whole state through every iteration. The engine implements SciPy's
  step-size controller exactly and diffrax's controller differs in details, so a
  batched result equals a loop of single calls to the requested tolerance, not
  step for step. (An earlier version ran the engine for single calls too, which
  made values and gradients of one call come from two step sequences: line
  searches through ``solve_ivp`` then failed. A differentiable engine would give
  one discretisation everywhere: the open item.)
- ``jax.custom_vjp`` (``jax.custom_jvp`` for ``adjoint='forward'``/``'direct'``):
  the engine's ``while_loop`` is not reverse-differentiable, so every derivative
  (``grad``, ``jacrev``; ``jvp``/``jacfwd`` with a forward adjoint; batched or
  not) is taken through the differentiable diffrax path
  (:func:`._ivp_core.solve_core`, same method and tolerances, with the chosen
  ``adjoint``). Under differentiation the returned values therefore come from
  that path: batched, they agree with the engine's to the requested tolerance,
  not bit for bit (so an optimiser run under ``vmap`` sees values and gradients
  from different discretisations; unbatched there is one).

``custom_vmap`` is the one hook that sees the batch: a batched ``solve_ivp`` call
cannot otherwise know it is batched (``vmap`` traces the facade once, for one
member). ``solvers`` may not import ``parallel``, so the loop lives in this family
(:mod:`._rk_ensemble`) and ``scijax.parallel`` reuses it through :mod:`.internal`.

Any input may be batched: initial states, ``args`` and arrays ``fun`` closes over
(per-member arguments of ``fun``), and ``t_span``, ``t_eval``, the tolerances and
the step options (one value per member).
"""

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap
from jax.custom_derivatives import SymbolicZero

from ._ivp_checks import check_fun_shape
from ._ivp_core import IvpConfig, solve_core
from ._ivp_result import FLAG_BUFFER_FULL, FLAG_DTMIN, FLAG_MAX_STEPS, FLAG_NONFINITE, FLAG_SUCCESS, OdeResult
from ._rk_ensemble import StepOptions, integrate
from ._rk_tableaus import TABLEAUS
from ._stepsize import min_step

__all__ = ["SAVED_STEPS_TRACED", "engine_serves", "solve_explicit", "to_capacity"]

SAVED_STEPS_TRACED = 1024
"""Default ``max_saved_steps`` of a traced call (``jit``/``vmap``) with ``t_eval=None``: 100,000
Lorenz members in float64 then hold 3.3 GB of saved steps (``(n + 1) * 8`` bytes a row)."""

_CPU_BLOCK = 1024
"""Members per block on CPU (as ``ensemble_solve_ivp(backend='lean')``: the loop state of a block stays in
cache; one loop over 1e5 Lorenz members measured several times slower)."""


def engine_serves(method: str, y0: jax.Array, events: tuple, dense_output: bool, save_steps: bool) -> bool:
    """Whether ``solve_ivp`` runs this call on the ensemble engine (else on diffrax, as before).

    SciPy promises both that ``sol`` passes through the saved steps (``t_eval=None``) and that
    ``dense_output`` does not change ``y`` at ``t_eval``: with ``dense_output`` and ``t_eval=None``
    diffrax runs alone; with ``t_eval`` the engine gives ``t``/``y`` and a diffrax solve ``sol``.
    """
    tab = TABLEAUS.get(method)
    return (tab is not None and tab.e is not None and not events and y0.shape[0] > 0
            and not (dense_output and save_steps) and not jnp.issubdtype(y0.dtype, jnp.complexfloating))


class _Rejoin:
    """``fun(t, y, *leaves)`` for :func:`solve_core`: the closure-converted user function, whose arrays
    (closed over, and ``args``) come in as ``leaves``.

    It hashes as the static part of the user's ``fun`` (its code and closure structure): with the
    avals of ``leaves``, which ``solve_core``'s cache also keys on, that fixes the traced function,
    so a new trace of the caller does not recompile ``solve_core``.
    """

    def __init__(self, fun, static, treedef):
        # `fun` may carry arrays (what it closes over, traced here): only its static part is hashed.
        self.fun = eqx.partition(fun, eqx.is_array)[1]
        self.static, self.treedef = static, treedef

    def __hash__(self) -> int:
        return hash((self.fun, self.treedef.num_leaves))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Rejoin) and self.fun == other.fun
                and self.treedef.num_leaves == other.treedef.num_leaves)

    def __call__(self, t, y, *leaves):
        c, a = eqx.combine(jax.tree.unflatten(self.treedef, leaves), self.static)
        return c(t, y, a)


def _normalize(res: OdeResult) -> OdeResult:
    """Counts as int32 (both paths must return identical types)."""
    i32 = lambda x: jnp.asarray(x, jnp.int32)
    return res.__class__(
        t=res.t, y=res.y, sol=None, t_events=None, y_events=None, nfev=i32(res.nfev), njev=i32(res.njev),
        nlu=i32(res.nlu), status=i32(res.status), success=jnp.asarray(res.success, bool),
        n_points=i32(res.n_points), n_steps=i32(res.n_steps), n_events=res.n_events, flag=i32(res.flag),
    )


def to_capacity(res: OdeResult, cap: int) -> OdeResult:
    """Cut or pad (with ``nan``) the saved-step buffers of an unbatched result to ``cap`` rows.

    More saved points than ``cap`` is a failure (``FLAG_BUFFER_FULL``): the first ``cap`` stay.
    """
    rows = res.t.shape[0]
    t, y = res.t[:cap], res.y[:, :cap]
    if rows < cap:
        t = jnp.concatenate([t, jnp.full((cap - rows,), jnp.nan, t.dtype)])
        y = jnp.concatenate([y, jnp.full((y.shape[0], cap - rows), jnp.nan, y.dtype)], axis=1)
    full = res.n_points > cap
    flag = jnp.where(full & (res.status >= 0), FLAG_BUFFER_FULL, res.flag)
    status = jnp.where(full, -1, res.status)
    return res.__class__(
        t=t, y=y, sol=res.sol, t_events=res.t_events, y_events=res.y_events, nfev=res.nfev, njev=res.njev,
        nlu=res.nlu, status=status, success=status >= 0, n_points=jnp.minimum(res.n_points, cap),
        n_steps=res.n_steps, n_events=res.n_events, flag=flag,
    )


@eqx.filter_jit
def solve_explicit(cfg: IvpConfig, cap: int, t0, tf, y0, t_eval, args, rtol, atol, first_step, max_step
                   ) -> OdeResult:
    """The explicit-method core (see the module notes): engine when evaluated, diffrax when differentiated.

    ``cap`` is the number of saved-step rows when ``t_eval`` is None.
    """
    check_fun_shape(cfg.fun, t0, y0, args)
    closure = eqx.filter_closure_convert(lambda t, y, a: cfg.fun(t, y, *a), t0, y0, args)
    fdyn, fstatic = eqx.partition((closure, args), eqx.is_array)
    fleaves, ftree = jax.tree.flatten(fdyn)
    fixed = [t0, tf, y0, rtol, atol, max_step]
    fixed += ([] if cfg.save_steps else [t_eval]) + ([first_step] if cfg.has_first_step else [])
    n_fixed = len(fixed)

    def unpack(leaves):
        t0, tf, y0, rtol, atol, max_step, *rest = leaves[:n_fixed]
        t_eval = None if cfg.save_steps else rest.pop(0)
        first_step = rest.pop(0) if cfg.has_first_step else None
        return (t0, tf, y0, t_eval, rtol, atol, first_step, max_step), list(leaves[n_fixed:])

    def differentiable(*leaves):
        (t0, tf, y0, t_eval, rtol, atol, first_step, max_step), fl = unpack(leaves)
        res = solve_core(cfg._replace(fun=_Rejoin(cfg.fun, fstatic, ftree)), t0, tf, y0, t_eval, tuple(fl), rtol, atol,
                         first_step, max_step, None)
        return _normalize(to_capacity(res, cap) if cfg.save_steps else res)

    def engine(size, batched, leaves):
        if cfg.save_steps or size <= _CPU_BLOCK or jax.default_backend() != "cpu":
            return engine_block(size, batched, leaves)
        # On CPU, blocks of members whose loop state stays in cache, one after another (lax.map).
        # Not with t_eval=None: cutting the padding off the stacked step buffers would copy them.
        n_blocks = -(-size // _CPU_BLOCK)
        pad = n_blocks * _CPU_BLOCK - size
        at = [i for i, b in enumerate(batched) if b]

        def blocks(x):
            x = jnp.concatenate([x, jnp.broadcast_to(x[-1:], (pad, *x.shape[1:]))]) if pad else x
            return x.reshape(n_blocks, _CPU_BLOCK, *x.shape[1:])

        def one(block):
            full = list(leaves)
            for i, x in zip(at, block, strict=True):
                full[i] = x
            return engine_block(_CPU_BLOCK, batched, full)

        out = jax.lax.map(one, [blocks(leaves[i]) for i in at])
        return jax.tree.map(lambda x: x.reshape(n_blocks * _CPU_BLOCK, *x.shape[2:])[:size], out)

    def engine_block(size, batched, leaves):
        (t0, tf, y0, t_eval, rtol, atol, first_step, max_step), fl = unpack(leaves)
        (b_t0, b_tf, b_y0, b_te, b_rtol, b_atol, b_fs, b_ms), b_fl = unpack(batched)
        last = lambda x, b: jnp.moveaxis(x, 0, -1) if b else x  # member axis last
        y0s = y0 if b_y0 else jnp.broadcast_to(y0, (size, *y0.shape))
        # Tolerances: a scalar, one per component (n, 1), one per member (N,), or both (n, N).
        rtol = last(rtol, b_rtol) if b_rtol or rtol.ndim == 0 else rtol[:, None]
        atol = last(atol, b_atol) if b_atol or atol.ndim == 0 else atol[:, None]
        member = _Member(ftree, fstatic, fl, [0 if b else None for b in b_fl], y0.dtype)
        res = _engine(cfg, cap, member, last(t0, b_t0), last(tf, b_tf), y0s,
                      None if t_eval is None else last(t_eval, b_te), rtol, atol,
                      None if first_step is None else last(first_step, b_fs), last(max_step, b_ms))
        return _normalize(res)

    @custom_vmap
    def fast(*leaves):
        # Unbatched (eager or jit): diffrax, the discretisation its derivatives use. Running the engine
        # here made values and gradients come from two different step sequences (equal only to the
        # tolerance), and line searches through solve_ivp failed (SLSQP in notebook 07).
        return differentiable(*leaves)

    @fast.def_vmap
    def _rule(axis_size, in_batched, *leaves):
        res = engine(axis_size, in_batched, leaves)
        return res, jax.tree.map(lambda _: True, res)

    if isinstance(cfg.adjoint, diffrax.ForwardMode | diffrax.DirectAdjoint):  # forward-mode adjoints
        core = jax.custom_jvp(fast)
        core.defjvp(lambda primals, tangents: jax.jvp(differentiable, primals, tangents))
    else:  # the default (checkpointed) and backsolve adjoints are custom_vjp rules: reverse mode only
        core = jax.custom_vjp(fast)
        core.defvjp(lambda *primals: _vjp_fwd(differentiable, primals), _vjp_bwd, symbolic_zeros=True)
    return core(*fixed, *fleaves)


def _vjp_fwd(differentiable, primals):
    """Reverse mode through the diffrax path, for the inputs actually differentiated only (diffrax's
    backsolve adjoint, for one, rejects cotangents for ``t_span`` and the tolerances)."""
    values = [p.value for p in primals]
    mask = tuple(jnp.zeros(()) if p.perturbed else None for p in primals)  # None: kept in the pytree structure
    diff_at = [i for i, p in enumerate(primals) if p.perturbed]

    def partial(*diff):
        full = list(values)
        for i, x in zip(diff_at, diff, strict=True):
            full[i] = x
        return differentiable(*full)

    out, vjp = jax.vjp(partial, *[values[i] for i in diff_at])
    return out, (vjp, mask)


def _vjp_bwd(residuals, ct):
    vjp, mask = residuals
    def dense(c):
        aval: Any = c.aval  # a ShapedArray (pyright sees the AbstractValue base)
        return np.zeros(aval.shape, aval.dtype)

    ct = jax.tree.map(lambda c: dense(c) if isinstance(c, SymbolicZero) else c, ct,
                      is_leaf=lambda c: isinstance(c, SymbolicZero))
    cts = iter(vjp(ct))
    return tuple(None if m is None else next(cts) for m in mask)


class _Member:
    """``fun`` of every member on the ``(n, N)`` layout: ``vmap`` of the user function over the members."""

    def __init__(self, ftree, fstatic, leaves, axes, dtype):
        self.ftree, self.fstatic, self.leaves, self.axes, self.dtype = ftree, fstatic, leaves, axes, dtype

    def one(self, t, y, leaves):
        c, a = eqx.combine(jax.tree.unflatten(self.ftree, leaves), self.fstatic)
        return jnp.broadcast_to(jnp.asarray(c(t, y, a), self.dtype), y.shape)

    def __call__(self, t, y):
        t = jnp.broadcast_to(t, y.shape[-1:])
        return jax.vmap(self.one, in_axes=(0, 1, self.axes), out_axes=1)(t, y, self.leaves)


def _engine(cfg, cap, rhs, t0, tf, y0s, t_eval, rtol, atol, first_step, max_step) -> OdeResult:
    """All members at once; inputs are scalars or carry the member axis last (``y0s`` first)."""
    size, n = y0s.shape
    dtype = y0s.dtype
    tab = TABLEAUS[cfg.method]
    t0 = jnp.broadcast_to(jnp.asarray(t0, dtype), (size,))
    tf = jnp.broadcast_to(jnp.asarray(tf, dtype), (size,))
    d = jnp.where(tf >= t0, 1.0, -1.0).astype(dtype)
    opts = StepOptions(rtol=rtol, atol=atol, first_step=first_step, max_step=max_step, max_steps=cfg.max_steps,
                       dt=None, clip=False, dense=not cfg.save_steps, pcoeff=0.0, icoeff=1.0, n=n, unroll=1)
    members = jnp.arange(size)
    if cfg.save_steps:
        t_buf = jnp.full((size, cap), jnp.nan, dtype).at[:, 0].set(t0)
        y_buf = jnp.full((size, n, cap), jnp.nan, dtype).at[:, :, 0].set(y0s)

        def each_step(old, new, aux):
            t_buf, y_buf = aux
            took = new.naccept > old.naccept
            full = took & (new.naccept >= cap)
            row = jnp.where(took & ~full, new.naccept, cap)  # `cap` is out of bounds: dropped
            t_buf = t_buf.at[members, row].set(new.t, mode="drop")
            y_buf = y_buf.at[members, :, row].set(new.y.T, mode="drop")
            return new._replace(status=jnp.where(full, FLAG_BUFFER_FULL, new.status)), (t_buf, y_buf)

        s, (t_out, y_out) = integrate(rhs, tab, y0s.T, t0, tf, 0, lambda k: t0, lambda k, y, a: a,
                                      (t_buf, y_buf), opts, each_step)
        n_points = jnp.minimum(s.naccept + 1, cap)
    else:
        te = t_eval if t_eval.ndim == 2 else t_eval[:, None]  # (K, N) or (K, 1)
        out0 = jnp.zeros((t_eval.shape[0], n, size), dtype)
        s, out = integrate(rhs, tab, y0s.T, t0, tf, t_eval.shape[0], lambda k: te[k],
                           lambda k, y_k, out: jax.lax.dynamic_update_index_in_dim(out, y_k, k, 0), out0, opts)
        reached = (s.status == FLAG_SUCCESS) | (d * (te - s.t) <= 0)  # (K, N)
        t_out = jnp.where(reached, te, jnp.nan).T
        y_out = jnp.transpose(out, (2, 1, 0))
        n_points = jnp.sum(reached, axis=0)
    flag = _classify(rhs, s, d, tf)
    status = jnp.where(flag == FLAG_SUCCESS, 0, -1)
    zero = jnp.zeros((size,), jnp.int32)
    return OdeResult(t=t_out, y=y_out, sol=None, t_events=None, y_events=None, nfev=s.nfev, njev=zero, nlu=zero,
                     status=status, success=status == 0, n_points=n_points, n_steps=s.naccept, n_events=None,
                     flag=flag)


def _classify(rhs, s: Any, d, tf):
    """A member that stalled because ``fun`` turns non-finite just ahead is reported as such (as diffrax's
    path does): probe ``fun`` at the last state, at a spread of times between it and ``tf``."""
    stalled = (s.status == FLAG_DTMIN) | (s.status == FLAG_MAX_STEPS)
    y_probe = jnp.where(jnp.isfinite(s.y), s.y, 0)
    gap = jnp.abs(tf - s.t)
    bad = ~jnp.all(jnp.isfinite(s.y), axis=0)
    for offset in (jnp.minimum(1000 * min_step(s.t), gap / 2), 1e-9 * gap, 1e-6 * gap, 1e-3 * gap, gap / 2):
        bad = bad | ~jnp.all(jnp.isfinite(rhs(s.t + d * offset, y_probe)), axis=0)
    bad = bad | ~jnp.all(jnp.isfinite(rhs(s.t, y_probe)), axis=0)
    return jnp.where(stalled & bad, FLAG_NONFINITE, s.status).astype(jnp.int32)
