"""``solve_ivp``: SciPy's facade over diffrax."""

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import diffrax
import jax.numpy as jnp
import numpy as np

from ..._typing import RHS, ArrayLike, EventFn
from .._precision import warn_if_truncated
from .._userfn import prepare
from ._ivp_batched import SAVED_STEPS_TRACED, engine_serves, solve_explicit, to_capacity
from ._ivp_checks import (
    check_step_options,
    check_t_eval,
    check_t_span,
    check_tolerances,
    check_y0,
    convert_args,
    is_concrete,
)
from ._ivp_core import IvpConfig, solve_core
from ._ivp_events import parse_events
from ._ivp_methods import METHODS, make_adjoint
from ._ivp_result import ConstantSolution, OdeResult
from ._sparsity import SparseJacobian

__all__ = ["solve_ivp"]

_OURS = {"rtol", "atol", "first_step", "max_step", "jac", "max_steps", "max_events", "adjoint", "max_saved_steps"}
# SciPy options that some SciPy method accepts but that change nothing here: warned about, as SciPy does.
_SCIPY_NO_EFFECT = {"jac_sparsity", "lband", "uband", "min_step"}


def _check_options(method: str, options: dict[str, Any]) -> None:
    unknown = set(options) - _OURS - _SCIPY_NO_EFFECT
    if unknown:
        raise TypeError(f"solve_ivp() got unexpected option(s) {sorted(unknown)}; "
                        f"valid options are {sorted(_OURS | _SCIPY_NO_EFFECT)}.")
    no_effect = set(options) & _SCIPY_NO_EFFECT
    if METHODS[method].implicit and options.get("jac") is None:
        no_effect -= {"jac_sparsity", "lband", "uband"}  # colour the autodiff Jacobian (see _sparsity.py)
    if "jac" in options and not METHODS[method].implicit:
        no_effect.add("jac")
    if no_effect:
        names = ", ".join(f"`{k}`" for k in sorted(no_effect))
        warnings.warn(f"The following arguments have no effect for a chosen solver: {names}.", stacklevel=3)


def solve_ivp(
    fun: RHS,
    t_span: Sequence[float] | ArrayLike,
    y0: ArrayLike,
    method: str = "RK45",
    t_eval: ArrayLike | None = None,
    dense_output: bool = False,
    events: EventFn | Sequence[EventFn] | None = None,
    vectorized: bool = False,
    args: tuple | None = None,
    **options: Any,
) -> OdeResult:
    """Solve an initial value problem for a system of ODEs (SciPy's ``solve_ivp`` in JAX).

    Integrates ``dy/dt = fun(t, y, *args)`` from ``t_span[0]`` to ``t_span[1]``
    with an adaptive diffrax stepper. The call is pure: it works under
    ``jax.jit``, ``jax.vmap``, ``jax.grad``/``jax.jacrev`` (and ``jax.jacfwd``
    with ``adjoint='forward'``), and a second call with the same ``fun`` and
    options but new array values does not recompile.

    Parameters
    ----------
    fun : callable
        Right-hand side ``fun(t, y, *args)`` returning an array of shape ``(n,)``,
        written with ``jax.numpy``. It may close over arrays; gradients flow to them.
    t_span : pair of float
        Interval of integration ``(t0, tf)``; ``tf < t0`` integrates backwards.
    y0 : array_like, shape (n,)
        Initial state. Real or complex; integer input is promoted to float.
    method : str, optional
        One of the keys of the table below. Default ``'RK45'``.
    t_eval : array_like, optional
        Times at which to store the solution, sorted in the direction of
        integration and inside ``t_span``. If None, every step taken is stored.
    dense_output : bool, optional
        Whether to return ``sol``, a continuous, differentiable :class:`OdeSolution`.
    events : callable or list of callables, optional
        ``event(t, y, *args) -> float``; an occurrence is a zero crossing. Attributes
        read as in SciPy: ``terminal`` (bool) stops the integration at the first
        occurrence; ``direction`` (>0 upward only, <0 downward only, 0 both).
    vectorized : bool, optional
        As in SciPy, says that ``fun`` accepts ``y`` of shape ``(n, k)``. scijax then
        calls it with ``k = 1`` (never with several states at once); batch over
        problems with ``jax.vmap`` instead.
    args : tuple, optional
        Extra arguments passed to ``fun``, ``jac`` and the events. Arrays and floats
        in it are traced (differentiable, no recompilation on new values).
    **options
        ``rtol`` (1e-3), ``atol`` (1e-6; scalar or shape ``(n,)``), ``first_step``,
        ``max_step``, ``jac`` (callable ``jac(t, y, *args)`` or constant matrix; for the
        implicit methods, which otherwise use an autodiff Jacobian), and ours:
        ``max_steps`` (static step budget and capacity of the step buffer, default 4096),
        ``max_saved_steps`` (static rows of the ``t``/``y`` buffers when ``t_eval`` is None:
        default ``max_steps + 1`` eagerly, ``min(max_steps + 1, 1024)`` under ``jit``/``vmap``;
        a solve that takes more steps stops with status -1), ``max_events`` (static capacity
        per event, default 64) and ``adjoint``
        (``'checkpoint'`` default, ``'backsolve'``, ``'forward'`` for ``jax.jacfwd``/``jvp``,
        ``'direct'``, or any ``diffrax.AbstractAdjoint``).

    Returns
    -------
    OdeResult
        With SciPy's fields ``t``, ``y`` (shape ``(n, n_points)``), ``sol``,
        ``t_events``, ``y_events``, ``nfev``, ``njev``, ``nlu``, ``status`` (-1 failure,
        0 end reached, 1 terminal event), ``message`` and ``success``, plus
        ``n_points``, ``n_events`` and ``flag``. An eager call trims buffers to
        SciPy's exact shapes; under ``jit``/``vmap`` they keep their static
        capacity, padded with ``nan``, and ``n_points``/``n_events`` count the entries.
        So under ``jit``/``grad``/``vmap`` with ``t_eval=None``, ``res.y[:, -1]`` is
        padding (``nan``, with a zero gradient): read the final state as
        ``res.y[:, res.n_points - 1]``, or pass ``t_eval``.

    Methods
    -------
    ============  ======================  =====  =====================================
    ``method``    diffrax stepper         order  note
    ============  ======================  =====  =====================================
    ``'RK45'``    ``Dopri5``              5(4)   the same Dormand-Prince pair as SciPy
    ``'RK23'``    ``Bosh3``               3(2)   the same Bogacki-Shampine pair as SciPy
    ``'DOP853'``  ``Dopri8``              8(7)   not SciPy's DOP853 coefficients
    ``'Tsit5'``   ``Tsit5``               5(4)   not in SciPy
    ``'Radau'``   ``Radau`` (ours)        5(3)   Radau IIA, RADAU5's Newton and error
                                                 estimate, as SciPy's
    ``'BDF'``     ``BDF`` (ours)          1-5    variable-order NDF/BDF of Shampine &
                                                 Reichelt, as SciPy's; own step/order control
    ``'LSODA'``   ``LSODA`` (ours)        5(4)   stiffness switching as SciPy's, between
                                                 Dormand-Prince 5(4) and Rodas5 (SciPy:
                                                 Adams and BDF); no Jacobian until stiff
    ``'Rodas5'``  ``Rosenbrock(RODAS5)``  5(4)   not in SciPy (ours, in diffrax's loop)
    ``'Kvaerno5'`` ``Kvaerno5`` + Newton  5(4)   not in SciPy; ESDIRK
    ============  ======================  =====  =====================================

    Differences from SciPy
    ----------------------
    - Step-size control is diffrax's PID controller with SciPy's constants (safety 0.9,
      factors 0.2 to 10) and RMS error norm for single calls; step sequences differ slightly
      from SciPy's, so results agree to the tolerance. Under ``jax.vmap`` the explicit
      methods run the ensemble engine, which uses SciPy's step-size control exactly (RK45
      and RK23 take SciPy's steps: same ``nfev``; minimum step ``10 * eps * |t|``), so a
      batch equals a loop of single calls to the tolerance, not step for step.
    - Runs at most ``max_steps`` steps; exhausting them is a failure (status -1),
      never a hang. Non-finite values from ``fun`` end the solve with status -1 and
      a message instead of looping, as SciPy's RK45 does.
    - ``nfev`` is counted per step attempt from the method's stages (plus 2 for the start);
      for 'Kvaerno5' Newton iterations are not counted. ``njev`` and ``nlu`` count one
      Jacobian and one factorisation per step. 'Radau' and 'BDF' count their own work:
      exactly for accepted steps, the minimum for each rejected one. 'BDF' evaluates
      ``fun(t0, y0)`` once more than SciPy (for the first step and to start its history).
    - The Rosenbrock methods build a dense ``n x n`` Jacobian (autodiff, or ``jac``)
      and LU factorisation each step; 'Radau' keeps its Jacobian across steps and
      factorises one real and one complex ``n x n`` matrix per step (SciPy skips the
      factorisation when the step size is unchanged). ``jac_sparsity`` (without
      ``jac``) builds that Jacobian from one JVP per colour of the pattern (greedy
      column colouring, once at trace time); ``lband``/``uband`` (without ``jac``; SciPy
      honours them only for 'LSODA', where a ``jac`` must be packed) declare the band as
      such a pattern. For 'BDF' and 'Radau', a banded pattern with half-bandwidth
      at most ``n / 4`` is stored as compressed columns and factorised by a block LU
      (pivoting within blocks; ``O(n b)`` memory, see ``_banded.py``); otherwise, and
      for the other methods, the Jacobian is stored and factorised densely. The minimum step is
      SciPy's, ten spacings of the current ``t``. Very large systems (method-of-lines
      PDEs with 1e4+ states) are better served by an explicit method or a
      matrix-free solver.
    - ``terminal=k`` with ``k > 1`` is honoured by truncating after the k-th
      occurrence (the solve itself runs on to ``tf``, so it needs a finite ``tf``);
      ``terminal=True`` stops the solve itself, so ``tf`` may then be ``inf``.
    - An event whose root lies in a step is located on the interpolant by bisection
      to machine precision, as SciPy's ``brentq``; a root exactly at a step end
      may be reported in both adjacent steps, as in SciPy.
    - ``message`` is a property computed from ``flag``; reading it under ``jit``
      raises ``TypeError``. ``method`` may be an ``OdeSolver`` class (SciPy's or ours) of a
      method we have; it runs our stepper of that name.
    - ``jax.jacfwd``/``jax.jvp`` need ``adjoint='forward'`` (or ``'direct'``); the
      default checkpointed adjoint is reverse-mode only.

    Notes
    -----
    Batching: the explicit methods ('RK45', 'RK23', 'DOP853', 'Tsit5') with real ``y0`` and
    no ``events`` run on a structure-of-arrays Runge-Kutta engine with SciPy's step-size
    control. Under ``jax.vmap`` (with or without ``jit``) it advances all members in one
    loop, each with its own steps (``jax.custom_batching.custom_vmap``), so a batch equals a
    loop of eager calls (values, ``nfev``, ``status``). Derivatives go through the diffrax
    path (same method and tolerances); under differentiation the values are that path's,
    equal to the tolerance. With ``dense_output`` and ``t_eval`` the engine gives ``t``/``y``
    and a second, diffrax solve gives ``sol``. Events, ``dense_output`` without ``t_eval``,
    complex ``y0`` and the implicit methods keep the diffrax path, batched by a plain
    ``vmap``, where every member steps until the slowest is done.

    A gradient through a solve that did not succeed (``status == -1``: step budget exhausted,
    step size underflow, a blow-up) is NaN for every output, in forward and reverse mode; it is
    never the zero that the NaN padding of the outputs would otherwise give.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.solvers.integrate import solve_ivp
    >>> def decay(t, y, k):
    ...     return -k * y
    >>> res = solve_ivp(decay, (0.0, 2.0), jnp.array([1.0, 2.0]), args=(0.5,), rtol=1e-8, atol=1e-10)
    >>> res.y.shape[0], bool(res.success)
    (2, True)
    >>> final = lambda k: solve_ivp(decay, (0.0, 2.0), jnp.array([1.0]), args=(k,),
    ...                             t_eval=jnp.array([2.0]), rtol=1e-8, atol=1e-10).y[0, -1]
    >>> bool(abs(jax.grad(final)(0.5) - (-2.0 * jnp.exp(-1.0))) < 1e-6)
    True
    """
    warn_if_truncated("solve_ivp", t_span, y0, args)
    if vectorized:
        fun = _Vectorized(fun)
    return ivp_solve(fun, t_span, y0, method, t_eval, dense_output, events, args, options)


@dataclasses.dataclass(frozen=True)
class _Vectorized:
    """A SciPy ``vectorized=True`` function (``y`` of shape ``(n, k)``) called one state at a time.

    Hashes like the wrapped function, so repeated calls share a compilation.
    """

    fun: Callable[..., Any]

    def __call__(self, t, y, *args):
        return jnp.asarray(self.fun(t, y[:, None], *args)).reshape(y.shape)


def ivp_solve(fun, t_span, y0, method, t_eval, dense_output, events, args, options, strict_t_eval=True):
    """``solve_ivp`` without the docstring; ``odeint`` calls it with ``strict_t_eval=False``."""
    if isinstance(method, type) and method.__name__ in METHODS:  # SciPy's OdeSolver classes, or ours
        method = method.__name__
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string naming one of {sorted(METHODS)}, got {method!r}.")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {sorted(METHODS)}, got {method!r}.")
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    _check_options(method, options)

    y0 = check_y0(y0)
    real = jnp.finfo(y0.dtype).dtype
    specs = parse_events(events)
    t0, tf = check_t_span(t_span, real, allow_infinite_end=any(s.terminal == 1 for s in specs))
    args = convert_args(args)
    fun, options, specs = _prepare_user_functions(fun, options, specs, t0, y0, args, (tf, t_eval))
    rtol, atol = check_tolerances(options.get("rtol", 1e-3), options.get("atol", 1e-6), y0.shape[0], real)
    first_step, max_step = check_step_options(
        options.get("first_step"), options.get("max_step"), t0, tf, real
    )
    max_steps = int(options.get("max_steps", 4096))
    max_events = int(options.get("max_events", 64))
    if max_steps <= 0:
        raise ValueError("`max_steps` must be a positive integer.")
    if max_events <= 0:
        raise ValueError("`max_events` must be a positive integer.")
    max_saved = options.get("max_saved_steps")
    if max_saved is not None and (not isinstance(max_saved, int | np.integer) or max_saved < 2):
        raise ValueError(f"`max_saved_steps` must be an integer >= 2, got {max_saved!r}.")
    if t_eval is not None:
        t_eval = check_t_eval(t_eval, t0, tf, real, strict_t_eval)
    jac = options.get("jac") if METHODS[method].implicit else None
    if jac is None and METHODS[method].implicit and options.get("jac_sparsity") is not None:
        jac = SparseJacobian.from_pattern(fun, options["jac_sparsity"], y0.shape[0])
    elif jac is None and METHODS[method].implicit and any(options.get(k) is not None for k in ("lband", "uband")):
        jac = SparseJacobian.from_band(fun, int(options.get("lband") or 0), int(options.get("uband") or 0),
                                       y0.shape[0])
    jac_value = None if (jac is None or callable(jac)) else jnp.asarray(jac, dtype=y0.dtype)
    if jac_value is not None and jac_value.shape != (y0.shape[0],) * 2:
        raise ValueError(f"`jac` must have shape {(y0.shape[0],) * 2}, got {jac_value.shape}.")
    adjoint = make_adjoint(options.get("adjoint", "checkpoint"))
    if isinstance(adjoint, diffrax.BacksolveAdjoint) and (specs or t_eval is None or dense_output):
        raise ValueError(
            "`adjoint='backsolve'` needs `t_eval` and supports neither `events` nor `dense_output`."
        )

    if is_concrete(t0, tf) and float(t0) == float(tf):
        return _no_integration(t0, y0, specs, dense_output).trimmed()

    cfg = IvpConfig(fun, method, None if jac_value is not None else jac, specs, t_eval is None,
                    bool(dense_output), first_step is not None, max_steps, max_events, adjoint)
    if jac_value is not None:
        cfg = cfg._replace(jac="constant")
    concrete = is_concrete(t0, tf, y0, t_eval, args, rtol, atol, first_step, max_step)
    if engine_serves(method, y0, specs, dense_output, t_eval is None):
        # Eager calls keep every step (they are trimmed); traced calls get a bounded buffer.
        cap = max_saved or (max_steps + 1 if concrete else min(max_steps + 1, SAVED_STEPS_TRACED))
        res = solve_explicit(cfg._replace(dense_output=False), int(cap), t0, tf, y0, t_eval, args, rtol, atol,
                             first_step, max_step)
        if dense_output:  # the interpolant comes from diffrax's solve (the engine keeps no steps)
            sol = solve_core(cfg, t0, tf, y0, t_eval, args, rtol, atol, first_step, max_step, jac_value).sol
            res = dataclasses.replace(res, sol=sol)
    else:
        res = solve_core(cfg, t0, tf, y0, t_eval, args, rtol, atol, first_step, max_step, jac_value)
        if max_saved is not None and t_eval is None:
            res = to_capacity(res, int(max_saved))
    if is_concrete(res.t, res.y):
        res = res.trimmed()
    return res


def _prepare_user_functions(fun, options, specs, t0, y0, args, context):
    """Untraceable (NumPy-written) functions run on the host in eager calls; closures compile once."""
    example = (t0, y0, *args)
    fun = prepare(fun, example, solver="solve_ivp", context=context)
    if callable(options.get("jac")):
        options = {**options, "jac": prepare(options["jac"], example, solver="solve_ivp", role="jac",
                                             context=context)}
    specs = tuple(s._replace(fn=prepare(s.fn, example, solver="solve_ivp", role="events", closures=False,
                                        context=context)) for s in specs)
    return fun, options, specs


def _no_integration(t0, y0, specs, dense_output) -> OdeResult:
    """SciPy's result for a zero-length span: two copies of the initial point."""
    zero = jnp.asarray(0)
    n_ev = len(specs)
    return OdeResult(
        t=jnp.stack([t0, t0]), y=jnp.stack([y0, y0], axis=1),
        sol=ConstantSolution(y0, t0, t0) if dense_output else None,
        t_events=[jnp.zeros((0,), t0.dtype) for _ in specs] if n_ev else None,
        y_events=[jnp.zeros((0, y0.shape[0]), y0.dtype) for _ in specs] if n_ev else None,
        nfev=zero, njev=zero, nlu=zero, status=zero, success=jnp.asarray(True),
        n_points=jnp.asarray(2), n_steps=zero, n_events=jnp.zeros((n_ev,), int) if n_ev else None, flag=zero,
    )

