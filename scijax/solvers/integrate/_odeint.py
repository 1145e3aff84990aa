"""``odeint``: SciPy's LSODA-style interface, as a thin layer over ``solve_ivp``."""

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import ODEintWarning

from ..._typing import Array, ArrayLike
from .._userfn import prepare
from ._ivp import ivp_solve
from ._ivp_checks import is_concrete
from ._ivp_methods import METHODS

__all__ = ["odeint"]

_DEFAULT_TOL = 1.49012e-8


@dataclasses.dataclass(frozen=True)
class _YFirst:
    """``func(y, t, *args)`` seen as ``fun(t, y, *args)``; hashes like ``func`` so calls share a compile."""

    func: Callable[..., Any]
    transpose: bool = False

    def __call__(self, t, y, *args):
        out = jnp.asarray(self.func(y, t, *args))
        return out.T if self.transpose else out


@dataclasses.dataclass(frozen=True)
class _Transposed:
    func: Callable[..., Any]

    def __call__(self, t, y, *args):
        return jnp.asarray(self.func(t, y, *args)).T


def _check_shape(fn, t0, y0, args, name: str, shape: tuple[int, ...]) -> None:
    """SciPy's odeint errors: non-numeric output is a ValueError, a wrong size a RuntimeError.

    Tracing ``fn`` costs about as much as a small solve, so a passing check is remembered per
    function and argument signature: repeated eager calls skip it, as ``solve_ivp``'s do.
    """
    leaves, treedef = jax.tree_util.tree_flatten(args)
    try:
        key = (fn, name, shape, jnp.result_type(t0), y0.dtype, treedef,
               tuple((np.shape(x), jnp.result_type(x)) if hasattr(x, "dtype") or isinstance(x, float | int | complex)
                     else x for x in leaves))
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _CHECKED:
        return
    try:
        out = jax.eval_shape(lambda t, y: jnp.asarray(fn(t, y, *args)), t0, y0)
    except TypeError as err:
        raise ValueError(f"`{name}` must return an array of numbers ({err}).") from err
    if out.size != int(np.prod(shape)):
        raise RuntimeError(f"The array returned by `{name}` has shape {out.shape}; expected {shape}.")
    if key is not None:
        if len(_CHECKED) > 256:
            _CHECKED.clear()
        _CHECKED.add(key)


_CHECKED: set = set()


def odeint(
    func: Callable[..., ArrayLike],
    y0: ArrayLike,
    t: ArrayLike,
    args: tuple = (),
    Dfun: Callable[..., ArrayLike] | None = None,
    col_deriv: int = 0,
    full_output: int = 0,
    ml: int | None = None,
    mu: int | None = None,
    rtol: float | None = None,
    atol: float | ArrayLike | None = None,
    tcrit: ArrayLike | None = None,
    h0: float = 0.0,
    hmax: float = 0.0,
    hmin: float = 0.0,
    ixpr: int = 0,
    mxstep: int = 0,
    mxhnil: int = 0,
    mxordn: int = 12,
    mxords: int = 5,
    printmessg: int = 0,
    tfirst: bool = False,
    *,
    method: str = "LSODA",
    adjoint: str = "checkpoint",
) -> Array | tuple[Array, dict[str, Any]]:
    """Integrate a system of ODEs (SciPy's ``odeint`` in JAX).

    Solves ``dy/dt = func(y, t, *args)`` (or ``func(t, y, *args)`` with
    ``tfirst=True``) and returns the solution at the times ``t``. Pure:
    works under ``jit``, ``vmap`` and ``grad`` with respect to ``y0``, ``args``,
    ``t`` and arrays ``func`` closes over.

    Parameters
    ----------
    func : callable
        Right-hand side, ``func(y, t, *args)`` unless ``tfirst``.
    y0 : array_like, shape (n,)
        Initial state (a scalar is treated as shape ``(1,)``).
    t : array_like, shape (m,)
        Output times; ``t[0]`` is the initial time. Monotonic (either way); repeats allowed.
    args : tuple, optional
        Extra arguments to ``func`` and ``Dfun``.
    Dfun : callable, optional
        Jacobian ``Dfun(y, t, *args)`` (rows are equations unless ``col_deriv``).
        Used by the implicit stepper; autodiff supplies it when absent.
    col_deriv : bool, optional
        ``Dfun`` returns the transposed Jacobian.
    full_output : bool, optional
        Also return an info dict.
    rtol, atol : float or array_like, optional
        Tolerances, default 1.49012e-8 as in SciPy.
    h0, hmax : float, optional
        First and largest step (0 means automatic / unbounded).
    mxstep : int, optional
        Steps allowed per output interval (default 500, as SciPy); the static capacity is
        ``mxstep * (len(t) - 1)``.
    tfirst : bool, optional
        ``func`` takes ``t`` first.
    ml, mu, tcrit, hmin, ixpr, mxhnil, mxordn, mxords, printmessg
        Accepted for compatibility; they have no effect (see below).
    method : str, keyword only
        Not in SciPy: any ``solve_ivp`` method; default ``'LSODA'``.
    adjoint : str, keyword only
        Not in SciPy: as ``solve_ivp``'s ``adjoint`` option.

    Returns
    -------
    y : Array, shape (len(t), n)
        Solution at ``t``; rows the solver did not reach are ``nan``.
    infodict : dict, only if ``full_output``
        SciPy's keys, the arrays with one entry per output interval (``len(t) - 1``): ``hu``
        (step size), ``tcur`` (time reached), ``tolsf``, ``tsw`` (time of the last method
        switch), ``nst``, ``nfe``, ``nje`` (cumulative steps, function and Jacobian evaluations),
        ``nqu`` (order), ``mused`` (1 non-stiff, 2 stiff), and ``imxer``, ``lenrw``, ``leniw``,
        and, eagerly, ``message``; plus ``status`` and ``success`` (not in SciPy). Most are
        estimates: see Differences.

    Differences from SciPy
    ----------------------
    - 'LSODA' switches between Dormand-Prince 5(4) and Rodas5 with a stiffness test, where
      SciPy's switches between Adams and BDF methods (see ``solve_ivp``).
    - The banded-Jacobian (``ml``, ``mu``), ``tcrit``, ``hmin`` and order limits are
      ignored.
    - ``infodict``: the step times are not kept (that would need the solve's dense output, a
      costlier program), so ``nst``, ``nfe`` and ``nje`` are the totals shared out over the
      intervals in proportion to the time elapsed (exact at the last interval; ``nje`` counts the
      stiff steps of 'LSODA'), ``hu`` is the mean step and ``tcur`` the output time (the last time
      reached where the solve stopped early). ``nqu`` is the
      method's order (5 for both of our 'LSODA' methods; SciPy's Adams/BDF vary it). The switch
      times are not recorded: for 'LSODA', ``mused`` is 2 on every interval once the solve used
      its stiff method anywhere (``nje > 0``), else 1, and ``tsw`` is ``t[0]``; other methods
      report 2 if implicit. ``tolsf`` is 0 (no tolerance scaling), ``imxer`` -1, and ``lenrw``/
      ``leniw`` the work-array sizes LSODA would need for ``len(y0)`` equations (none are used).
    - On failure, unreached rows are ``nan`` (SciPy returns garbage there) and an
      eager call warns with ``ODEintWarning`` as SciPy does.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import odeint
    >>> t = jnp.linspace(0.0, 1.0, 5)
    >>> y = odeint(lambda y, t, k: -k * y, jnp.array([1.0]), t, args=(2.0,))
    >>> y.shape
    (5, 1)
    >>> bool(jnp.allclose(y[:, 0], jnp.exp(-2.0 * t), rtol=1e-6))
    True
    """
    t = jnp.asarray(t)
    y0 = jnp.atleast_1d(jnp.asarray(y0))
    if y0.ndim != 1:
        raise ValueError(f"`y0` must be a scalar or 1-D, got shape {y0.shape}.")
    if t.ndim != 1:
        raise ValueError("`t` must be a 1-D sequence of times.")
    if t.shape[0] == 0:
        return jnp.zeros((0, y0.shape[0]), y0.dtype)
    if t.shape[0] == 1:  # SciPy: nothing to integrate
        y = y0[None, :]
        return (y, _info_nothing_done(t)) if full_output else y
    if mxstep < 0:
        raise ValueError("`mxstep` must be non-negative.")
    if not isinstance(args, tuple):
        args = (args,)
    func = prepare(func, (t[0], y0, *args) if tfirst else (y0, t[0], *args), solver="odeint", role="func",
                   closures=False)
    if callable(Dfun):
        Dfun = prepare(Dfun, (t[0], y0, *args) if tfirst else (y0, t[0], *args), solver="odeint",
                       role="Dfun", closures=False)
    fun = func if tfirst else _YFirst(func)
    jac = None
    if Dfun is not None:
        jac = Dfun if tfirst else _YFirst(Dfun)
        jac = _Transposed(jac) if col_deriv else jac
    _check_shape(fun, t[0], y0, args, "func", (y0.shape[0],))
    if jac is not None:
        _check_shape(jac, t[0], y0, args, "Dfun", (y0.shape[0], y0.shape[0]))
    options: dict[str, Any] = {
        "rtol": _DEFAULT_TOL if rtol is None else rtol,
        "atol": _DEFAULT_TOL if atol is None else atol,
        "max_steps": (mxstep or 500) * max(t.shape[0] - 1, 1),
        "adjoint": adjoint,
    }
    if jac is not None:
        options["jac"] = jac
    if h0:
        options["first_step"] = h0
    if hmax:
        options["max_step"] = hmax
    if is_concrete(t):
        d = np.diff(np.asarray(t))
        if not (np.all(d >= 0) or np.all(d <= 0)):
            raise ValueError("`t` must be monotonically increasing or decreasing (repeats are allowed).")
    if t.shape[0] == 1 or (is_concrete(t) and bool(np.all(np.asarray(t) == np.asarray(t)[0]))):
        y = jnp.broadcast_to(y0, (t.shape[0], y0.shape[0]))
        return (y, _info_nothing_done(t, t.shape[0] - 1)) if full_output else y
    res = ivp_solve(fun, (t[0], t[-1]), y0, method, t, False, None, args, options, strict_t_eval=False)
    y = res.y.T
    if is_concrete(res.status) and np.ndim(res.status) == 0:
        if int(res.status) < 0:
            warnings.warn("Excess work done on this call (perhaps wrong Dfun type). "
                          "Run with full_output = 1 to get quantitative information.", ODEintWarning, stacklevel=2)
        # Restore odeint's fixed shape: rows past a failure are nan.
        y = jnp.concatenate([y, jnp.full((t.shape[0] - y.shape[0], y0.shape[0]), jnp.nan, y.dtype)])
    if not full_output:
        return y
    info = _interval_info(res, t, method, y0.shape[0])
    if is_concrete(res.status) and np.ndim(res.status) == 0:
        info["message"] = "Integration successful." if int(res.status) >= 0 else res.message
    return y, info


def _lsoda_work_sizes(neq: int) -> tuple[int, int]:
    """LSODA's ``lrw``/``liw`` for a full Jacobian (ODEPACK's documented minimum sizes)."""
    return max(20 + 16 * neq, 22 + 9 * neq + neq * neq), 20 + neq


def _info_nothing_done(t: Array, k: int = 0) -> dict[str, Any]:
    """SciPy's info dict when no integration is needed (``k`` output intervals of zero length)."""
    zeros = jnp.zeros(k, jnp.int32)
    real = jnp.zeros(k, jnp.result_type(t.dtype, 1.0))
    return {"hu": real, "tcur": real + t[0], "tolsf": real, "tsw": real + t[0], "nst": zeros, "nfe": zeros,
            "nje": zeros, "nqu": zeros, "imxer": 0, "lenrw": 0, "leniw": 0, "mused": zeros, "status": 0,
            "success": True, "message": "Nothing was done; the integration time was 0."}


def _interval_info(res: Any, t: Array, method: str, neq: int) -> dict[str, Any]:
    """Per-output-interval arrays from the totals (see ``odeint``'s Differences).

    Exact step times would need the solve's dense output, a different and costlier compiled
    program than the plain solve (and one that a ``full_output`` call would no longer share with
    a plain one), so the per-interval counts are the totals shared out by elapsed time.
    """
    n_steps = jnp.asarray(res.n_steps)
    t_end = t[jnp.maximum(jnp.asarray(res.n_points) - 1, 0)]
    span = t_end - t[0]
    frac = jnp.clip((t[1:] - t[0]) / jnp.where(span == 0, 1, span), 0, 1)
    name = method if isinstance(method, str) else getattr(method, "__name__", "")
    spec = METHODS[name]
    stiff = (jnp.asarray(res.njev) > 0) if name == "LSODA" else jnp.asarray(spec.implicit)
    lenrw, leniw = _lsoda_work_sizes(neq)
    m = t.shape[0] - 1
    share = lambda total: jnp.round(frac * total).astype(jnp.int32)  # noqa: E731
    return {
        "hu": jnp.full(m, span / jnp.maximum(n_steps, 1)),
        "tcur": jnp.where(span >= 0, jnp.minimum(t[1:], t_end), jnp.maximum(t[1:], t_end)),
        "tolsf": jnp.zeros(m, jnp.result_type(t.dtype, 1.0)),
        "tsw": jnp.full(m, t[0]),
        "nst": share(n_steps),
        "nfe": share(res.nfev),
        "nje": share(res.njev),
        "nqu": jnp.full(m, spec.order, jnp.int32),
        "imxer": -1,
        "lenrw": lenrw,
        "leniw": leniw,
        "mused": jnp.where(stiff, 2, 1) * jnp.ones(m, jnp.int32),
        "status": res.status,
        "success": res.success,
    }
