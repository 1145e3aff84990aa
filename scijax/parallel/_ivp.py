"""``ensemble_solve_ivp``: one IVP, many members, three interchangeable backends."""

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._typing import Array, ArrayLike, PyTree
from ..solvers.integrate import solve_ivp
from ..solvers.integrate.internal import (
    FLAG_MAX_STEPS,
    FLAG_NONLINEAR,
    FLAG_OTHER,
    FLAG_SUCCESS,
    METHODS,
    TABLEAUS,
    StepOptions,
    check_t_eval,
    check_t_span,
    evals_per_step,
    is_concrete,
    status_message,
)
from ._ensemble import run_batched
from ._fused import fused_solve
from ._lean import lean_solve
from ._rowwise import rowwise_rhs

__all__ = ["ensemble_solve_ivp", "EnsembleResult", "BACKENDS"]


class EnsembleResult(eqx.Module):
    """Solutions of every member of an ensemble (a pytree; ``res['y']`` works too).

    Attributes
    ----------
    t : Array, shape (n_points,)
        Output times, shared by all members.
    y : Array, shape (N, n, n_points)
        ``y[i]`` is member ``i``'s SciPy-shaped ``y``. Members that failed
        before an output time hold ``nan`` there.
    status : Array of int, shape (N,)
        SciPy's status per member: 0 reached the end, -1 failed.
    success : Array of bool, shape (N,)
    nfev : Array of int, shape (N,)
        Right-hand-side evaluations per member.
    flag : Array of int, shape (N,)
        Reason code per member (indexes ``solve_ivp``'s messages; not in SciPy).
    backend : str
        The backend that ran (static).
    """

    t: Array
    y: Array
    status: Array
    success: Array
    nfev: Array
    flag: Array
    backend: str = eqx.field(static=True)

    @property
    def message(self) -> str:
        """The distinct messages of all members (only outside traced code)."""
        if not is_concrete(self.flag):
            raise TypeError("`message` is not available inside jit/vmap; read `status` instead.")
        return status_message(self.flag)

    def keys(self) -> list[str]:
        """Field names, as for SciPy's dict-like result."""
        return [field.name for field in dataclasses.fields(self)] + ["message"]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)


# --- backends: (fun, method, t0, tf, t_eval, y0s, args, opts, extra) -> (ys, flag, nfev) -------------


def _lean(fun, method, t0, tf, t_eval, y0s, args, opts, extra):
    del extra  # no backend-specific options
    return lean_solve(fun, TABLEAUS[method], t0, tf, t_eval, y0s, args, opts)


def _fused(fun, method, t0, tf, t_eval, y0s, args, opts, extra):
    return fused_solve(fun, TABLEAUS[method], t0, tf, t_eval, y0s, args, opts, **dict(extra))


def _vmap(fun, method, t0, tf, t_eval, y0s, args, opts, extra):
    if opts.dt is not None:
        return jax.vmap(lambda y0, a: _diffrax_fixed(fun, method, t0, tf, t_eval, y0, a, opts))(y0s, args)
    options: dict[str, Any] = dict(rtol=opts.rtol, atol=np.asarray(opts.atol), max_step=opts.max_step,
                                   max_steps=opts.max_steps, **dict(extra))
    if opts.first_step is not None:
        options["first_step"] = opts.first_step

    def one(y0, a):
        res = solve_ivp(fun, (t0, tf), y0, method=method, t_eval=t_eval, args=tuple(a), **options)
        return res.y, res.flag, res.nfev

    return jax.vmap(one)(y0s, args)


def _diffrax_fixed(fun, method, t0, tf, t_eval, y0, args, opts):
    """Fixed steps through diffrax (``ConstantStepSize``), the general path for ``dt``."""
    try:
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(lambda t, y, a: jnp.asarray(fun(t, y, *a), y.dtype)), METHODS[method].solver(),
            t0, tf, opts.dt * jnp.sign(tf - t0), y0, args=tuple(args),
            saveat=diffrax.SaveAt(ts=t_eval), stepsize_controller=diffrax.ConstantStepSize(),
            max_steps=opts.max_steps, throw=False,
        )
    except ValueError as err:  # diffrax: an implicit solver whose Newton tolerances come from the controller
        if "fixed step size controller" not in str(err):
            raise
        raise ValueError(f"`method={method!r}` cannot take fixed steps (`dt`): its Newton iteration takes its "
                         f"tolerances from the adaptive step-size controller. Drop `dt`, or pick another "
                         f"`method`.") from None
    R = diffrax.RESULTS
    nonlinear = (sol.result == R.nonlinear_divergence) | (sol.result == R.nonlinear_max_steps_reached)
    flag = jnp.where(sol.result == R.max_steps_reached, FLAG_MAX_STEPS, FLAG_OTHER)
    flag = jnp.where(nonlinear | (sol.result == R.singular), FLAG_NONLINEAR, flag)
    flag = jnp.where(sol.result == R.successful, FLAG_SUCCESS, flag)
    per_step = evals_per_step(TABLEAUS[method]) if method in TABLEAUS else METHODS[method].fevals_per_step
    return sol.ys.T, flag, 1 + sol.stats["num_steps"] * per_step


BACKENDS: dict[str, Callable] = {"vmap": _vmap, "lean": _lean, "fused": _fused}
"""Backend name -> batched solver. ``'auto'`` chooses among them (see ``ensemble_solve_ivp``)."""

_COMMON = frozenset({"rtol", "atol", "first_step", "max_step", "max_steps", "dt"})
_OWN = frozenset({"t_eval_mode", "pcoeff", "icoeff", "unroll"})
_BACKEND_OPTIONS = {
    "lean": _COMMON | _OWN,
    "fused": _COMMON | _OWN | {"block_size", "num_warps", "interpret"},
    "vmap": _COMMON | {"adjoint", "jac"},
}


@dataclasses.dataclass(frozen=True)
class _BatchedSolve:
    """Hashable batched solver (compiles are cached on ``fun`` + static options)."""

    fun: Callable
    backend: str
    method: str
    opts: StepOptions
    extra: tuple

    def __call__(self, batch, shared):
        y0s, args = batch
        t0, tf, t_eval = shared
        ys, flag, nfev = BACKENDS[self.backend](self.fun, self.method, t0, tf, t_eval, y0s, args, self.opts,
                                                self.extra)
        return ys, jnp.asarray(flag, jnp.int32), jnp.asarray(nfev, jnp.int32)


def _fused_traceable(fun, y0s, args) -> bool:
    leaves, treedef = jax.tree.flatten(args)
    try:
        rhs = rowwise_rhs(fun, y0s.shape[1], [tuple(x.shape[1:]) for x in leaves], treedef, y0s.dtype)
        jax.eval_shape(lambda: rhs(jnp.zeros(8, y0s.dtype), (jnp.zeros(8, y0s.dtype),) * y0s.shape[1],
                                   (jnp.zeros(8, y0s.dtype),) * sum(int(np.prod(x.shape[1:])) for x in leaves)))
    except NotImplementedError:
        return False
    return True


def _reverse_differentiated(*trees: Any) -> bool:
    """True when a leaf (or a value ``fun`` closes over) is being differentiated in reverse mode.

    ``jax.grad``/``jax.vjp`` trace with linearize tracers; this sees them when the call is not
    hidden inside a ``jit`` that is differentiated from outside (``grad(jit(f))``).
    """
    def leaves(x):
        out = jax.tree_util.tree_leaves(x)
        for cell in getattr(x, "__closure__", None) or ():
            try:
                out += jax.tree_util.tree_leaves(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        return out

    return any(type(leaf).__name__ == "LinearizeTracer" for tree in trees for leaf in leaves(tree))


def _choose_backend(backend, method, options, fun, y0s, args, devices, span=()) -> str:
    if backend not in ("auto", *BACKENDS):
        raise ValueError(f"`backend` must be 'auto' or one of {sorted(BACKENDS)}, got {backend!r}.")
    reverse = _reverse_differentiated(fun, y0s, args, span)
    if backend != "auto":
        accepted = METHODS if backend == "vmap" else TABLEAUS
        if method not in accepted:
            raise ValueError(f"backend={backend!r} supports `method` in {sorted(accepted)}, got {method!r}.")
        if reverse and backend != "vmap":
            raise TypeError(f"backend={backend!r} cannot be differentiated in reverse mode (`jax.grad`, "
                            f"`jax.vjp`): its adaptive loop has no reverse-mode rule. Use backend='vmap' "
                            f"(or 'auto', which picks it under `grad`).")
        return backend
    if method not in TABLEAUS or set(options) - _BACKEND_OPTIONS["lean"] or reverse:
        return "vmap"
    platform = (devices[0] if devices else jax.devices()[0]).platform
    if platform == "gpu" and y0s.shape[1] <= 32 and _fused_traceable(fun, y0s, args):
        return "fused"
    return "lean"


def _static_options(method, options, n, t0, tf, endpoints_only) -> StepOptions:
    for name in ("first_step", "max_step", "dt", "pcoeff", "icoeff"):
        if name in options and options[name] is not None and not is_concrete(options[name]):
            raise TypeError(f"`{name}` must be a Python number (it is static), not a traced value.")
    rtol, atol = options.get("rtol", 1e-3), options.get("atol", 1e-6)
    if not is_concrete(rtol, atol):
        raise TypeError("`rtol` and `atol` must be concrete (they are static).")
    # SciPy's checks and its float64 floor on rtol (also for float32 members, so the requested
    # tolerance is what runs; float32 round-off then limits the accuracy actually reached).
    rtol, atol = np.asarray(rtol, dtype=float), np.asarray(atol, dtype=float)
    if rtol.ndim != 0:
        raise ValueError("`rtol` must be a scalar.")
    if atol.ndim not in (0, 1) or (atol.ndim == 1 and atol.shape != (n,)):
        raise ValueError(f"`atol` has wrong shape: expected a scalar or shape ({n},), got {atol.shape}.")
    if rtol < 0 or np.any(atol < 0):
        raise ValueError("`rtol` and `atol` must be non-negative.")
    if rtol < 100 * np.finfo(float).eps:
        warnings.warn(f"At least one element of `rtol` is too small. Setting `rtol = max(rtol, "
                      f"{100 * np.finfo(float).eps})`.", stacklevel=4)
        rtol = np.asarray(100 * np.finfo(float).eps)
    dt = options.get("dt")
    if dt is not None and not float(dt) > 0:
        raise ValueError(f"`dt` must be positive, got {dt!r}.")
    if dt is None and TABLEAUS.get(method, TABLEAUS["RK45"]).e is None:
        raise ValueError(f"`method={method!r}` has no error estimate: give a fixed step `dt`.")
    first_step, max_step = options.get("first_step"), options.get("max_step", np.inf)
    if first_step is not None and not float(first_step) > 0:
        raise ValueError("`first_step` must be positive.")
    if max_step is None or not float(max_step) > 0:
        raise ValueError("`max_step` must be positive.")
    if is_concrete(t0, tf) and first_step is not None and float(first_step) > abs(float(tf) - float(t0)):
        raise ValueError("`first_step` exceeds bounds.")
    max_steps = options.get("max_steps", 4096)
    if not isinstance(max_steps, int | np.integer) or max_steps <= 0:
        raise ValueError(f"`max_steps` must be a positive integer, got {max_steps!r}.")
    unroll = options.get("unroll")  # None: the backend's tuned default
    if unroll is not None and (not isinstance(unroll, int | np.integer) or unroll < 1):
        raise ValueError(f"`unroll` must be a positive integer, got {unroll!r}.")
    mode = options.get("t_eval_mode", "interpolate")
    if mode not in ("interpolate", "clip"):
        raise ValueError(f"`t_eval_mode` must be 'interpolate' or 'clip', got {mode!r}.")
    return StepOptions(
        rtol=float(rtol), atol=float(atol) if atol.ndim == 0 else tuple(float(a) for a in atol),
        first_step=None if first_step is None else float(first_step), max_step=float(max_step),
        max_steps=int(max_steps), dt=None if dt is None else float(dt),
        # Saving only at tf, clipping the last step is SciPy's own behaviour and keeps no dense output.
        clip=(mode == "clip" or endpoints_only) and dt is None,
        dense=not endpoints_only and (mode == "interpolate" or dt is not None),
        pcoeff=float(options.get("pcoeff", 0.0)), icoeff=float(options.get("icoeff", 1.0)), n=n,
        unroll=None if unroll is None else int(unroll),
    )


def _check_y0s(y0s) -> Array:
    y0s = jnp.asarray(y0s)
    if y0s.ndim != 2:
        raise ValueError(f"`y0s` must be 2-D with shape (N, n), got shape {tuple(y0s.shape)}.")
    if y0s.shape[0] == 0 or y0s.shape[1] == 0:
        raise ValueError("`y0s` must have at least one member and one component.")
    if jnp.issubdtype(y0s.dtype, jnp.complexfloating):
        raise TypeError("Complex `y0s` is not supported by ensemble_solve_ivp; split it into real and "
                        "imaginary parts, or call solve_ivp under jax.vmap.")
    if not jnp.issubdtype(y0s.dtype, jnp.floating):
        y0s = y0s.astype(jnp.result_type(float))
    if is_concrete(y0s) and not bool(jnp.all(jnp.isfinite(y0s))):
        raise ValueError("`y0s` must contain only finite values.")
    return y0s


def _check_params(params, n_members, dtype) -> tuple:
    if params is None:
        return ()
    params = tuple(params) if isinstance(params, tuple | list) else (params,)

    def leaf(x):
        x = jnp.asarray(x)
        if x.ndim == 0 or x.shape[0] != n_members:
            raise ValueError(f"Every leaf of `params` needs a leading axis of size N={n_members}, "
                             f"got shape {tuple(x.shape)}.")
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(leaf, params)


def ensemble_solve_ivp(
    fun: Callable[..., ArrayLike],
    t_span: Sequence[float] | ArrayLike,
    y0s: ArrayLike,
    params: PyTree | None = None,
    method: str = "RK45",
    t_eval: ArrayLike | None = None,
    *,
    backend: str = "auto",
    devices: Sequence[jax.Device] | None = None,  # pyright: ignore[reportInvalidTypeForm] (jax exports Device as an alias of jaxlib's class)
    chunk_size: int | None = None,
    **options: Any,
) -> EnsembleResult:
    """Solve one initial value problem for many initial states and parameters at once.

    Member ``i`` solves ``dy/dt = fun(t, y, *params_i)``, ``y(t0) = y0s[i]``,
    exactly what ``solve_ivp(fun, t_span, y0s[i], method, t_eval, args=params_i)``
    would. The batch is sharded over ``devices`` like :func:`ensemble`.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args)`` for one member, SciPy's convention, ``y`` of shape ``(n,)``.
    t_span : pair of float
        ``(t0, tf)``, shared by all members; ``tf < t0`` integrates backwards.
    y0s : array_like, shape (N, n)
        Initial states, one row per member.
    params : tuple of arrays, or one array, optional
        Per-member ``args``: every leaf has leading axis ``N``; member ``i``
        calls ``fun(t, y, *params_i)``. Floating leaves take ``y0s``'s dtype.
    method : str, optional
        ``'lean'`` and ``'fused'`` take every explicit Runge-Kutta method of the
        integrate family's tableau registry: ``'RK45'`` (default), ``'RK23'``,
        ``'DOP853'`` (diffrax's Dopri8 pair, as in ``solve_ivp``), ``'Tsit5'``,
        ``'Midpoint'``, ``'Heun'``, and with a fixed ``dt`` only ``'RK4'`` and
        ``'Euler'``. ``'vmap'`` takes every ``solve_ivp`` method (with ``dt``,
        those diffrax can step at a constant size). Other names raise ``ValueError``.
    t_eval : array_like, shape (n_points,), optional
        Output times, shared, sorted in the direction of integration and
        inside ``t_span``. Default ``[t0, tf]`` (see Differences from SciPy).
    backend : {'auto', 'vmap', 'lean', 'fused'}, optional
        ``'vmap'``: ``jax.vmap`` of :func:`scijax.solvers.integrate.solve_ivp`
        (diffrax), any method and option. ``'lean'``: one XLA loop over
        structure-of-arrays state with a per-member step size, explicit RK
        methods only. ``'fused'``: the same loop inside one Pallas kernel,
        one program per block of members, state in registers, ``fun`` traced
        in (element-wise ``jnp`` code); on CPU it runs in Pallas interpret
        mode (for testing only). ``'auto'`` (default): ``'fused'`` on GPU
        when ``fun`` traces into the kernel and ``n <= 32``, else ``'lean'``
        for the explicit RK methods, else ``'vmap'``; under reverse-mode
        differentiation (``jax.grad``, ``jax.vjp``) always ``'vmap'``, the only
        backend with a reverse-mode rule (``'lean'``/``'fused'`` asked for by
        name raise ``TypeError`` there). The switch sees the differentiation
        when the call is traced by ``grad`` itself; ``grad(jit(f))`` hides it,
        so pass ``backend='vmap'`` in such code.
    devices, chunk_size
        As in :func:`ensemble`: shard over devices, bound members in flight.
    **options
        ``rtol`` (1e-3), ``atol`` (1e-6, scalar or shape ``(n,)``), ``first_step``,
        ``max_step``, ``max_steps`` (4096; per member, counts attempted steps),
        and ours: ``dt`` (fixed step size; no error control), for ``'lean'`` and
        ``'fused'`` ``t_eval_mode`` (``'interpolate'``, the default, uses the
        method's dense output like SciPy; ``'clip'`` shortens steps to land on
        each ``t_eval``), ``pcoeff``/``icoeff`` (PI controller, diffrax's
        convention; defaults 0/1 are SciPy's I controller), ``unroll`` (step
        attempts per loop iteration, a speed knob; tuned default); for ``'fused'``
        ``block_size`` (members per program) and ``num_warps`` (tuned defaults),
        ``interpret``; for ``'vmap'`` ``adjoint`` and ``jac`` (see ``solve_ivp``).
        Options are static: new values recompile. Unknown options raise.

    Returns
    -------
    EnsembleResult
        ``t`` (n_points,), ``y`` (N, n, n_points), and per member ``status``,
        ``success``, ``nfev``, ``flag``; ``message`` summarises them.

    Differences from SciPy
    ----------------------
    - SciPy has no ensemble solver: this equals a loop of ``solve_ivp`` calls.
    - ``t_eval=None`` returns the values at ``t0`` and ``tf`` only: members take
      different steps, and an ensemble needs one time grid.
    - ``'lean'``/``'fused'`` reproduce SciPy's RK45/RK23 step-size control (same
      initial step, error norm, factors, dense output), so their step counts
      match SciPy's (other methods get the same controller with their own
      pair); ``min_step`` is ``10 * eps * |t|`` instead of SciPy's
      ``10 * (nextafter(t) - t)``. ``'vmap'`` uses diffrax's controller.
    - A member that fails keeps ``nan`` at the output times it never reached.
    - No events, ``dense_output`` or ``vectorized`` (use ``solve_ivp`` under ``vmap``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.parallel import ensemble_solve_ivp
    >>> decay = lambda t, y, k: -k * y
    >>> res = ensemble_solve_ivp(decay, (0.0, 1.0), jnp.ones((4, 1)), (jnp.arange(4.0),),
    ...                          rtol=1e-8, atol=1e-10, backend="lean")
    >>> res.y.shape, bool(res.success.all())
    ((4, 1, 2), True)
    >>> bool(jnp.allclose(res.y[:, 0, -1], jnp.exp(-jnp.arange(4.0)), rtol=1e-6))
    True
    """
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string, got {method!r}.")
    if method not in TABLEAUS and method not in METHODS:
        raise ValueError(f"`method` must be one of {sorted(set(TABLEAUS) | set(METHODS))}, got {method!r}.")
    y0s = _check_y0s(y0s)
    dtype = y0s.dtype
    t0, tf = check_t_span(t_span, dtype)
    args = _check_params(params, y0s.shape[0], dtype)
    endpoints_only = t_eval is None
    t_eval = jnp.stack([t0, tf]) if t_eval is None else check_t_eval(t_eval, t0, tf, dtype)
    chosen = _choose_backend(backend, method, options, fun, y0s, args, devices, (t0, tf, t_eval))
    unknown = set(options) - _BACKEND_OPTIONS[chosen]
    if unknown:
        raise ValueError(f"Unknown option(s) {sorted(unknown)} for backend {chosen!r}; "
                         f"accepted: {sorted(_BACKEND_OPTIONS[chosen])}.")
    if chosen == "vmap" and method not in METHODS:
        raise ValueError(f"`method={method!r}` runs on backend='lean' or 'fused' only; backend='vmap' "
                         f"supports `method` in {sorted(METHODS)}.")
    opts = _static_options(method, options, y0s.shape[1], t0, tf, endpoints_only)
    extra_keys = {"fused": ("block_size", "num_warps", "interpret"), "vmap": ("adjoint", "jac")}.get(chosen, ())
    extra = tuple((("block" if k == "block_size" else k), options[k]) for k in extra_keys if k in options)
    solver = _BatchedSolve(fun, chosen, method, opts, extra)
    ys, flag, nfev = run_batched(solver, (y0s, args), (t0, tf, t_eval), devices=devices, chunk_size=chunk_size)
    status = jnp.where(flag == FLAG_SUCCESS, 0, -1).astype(jnp.int32)
    return EnsembleResult(t=t_eval, y=ys, status=status, success=status == 0, nfev=nfev, flag=flag,
                          backend=chosen)
