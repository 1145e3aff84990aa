"""``least_squares``: SciPy's facade over the TRF and dogbox engines (``_solvers/trf.py``, ``_solvers/dogbox.py``)."""

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax.core
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import ArrayLike

from .._precision import warn_if_truncated
from .._user_jacobian import with_user_jacobian
from .._userfn import prepare_bound
from ._bounds import parse_bounds
from ._callback import LSQ_CALLBACK_STATUS, WithLeastSquaresCallback, register, release, unwrap, unwrap_solution
from ._implicit import implicit_bounded_solution
from ._objective import prepare_args, prepare_x0
from ._result import OptimizeResult
from ._solvers.dogbox import Dogbox
from ._solvers.lsq import cost_of
from ._solvers.trf import TRF
from ._solvers.trf_steps import LOSSES, loss_rho, scale_for_loss, strictly_feasible

__all__ = ["least_squares", "LSQ_MESSAGES"]

LSQ_MESSAGES = (
    "The maximum number of function evaluations is exceeded.",
    "`gtol` termination condition is satisfied.",
    "`ftol` termination condition is satisfied.",
    "`xtol` termination condition is satisfied.",
    "Both `ftol` and `xtol` termination conditions are satisfied.",
    "Residuals became non-finite (or are NaN just past where the solve stopped); the solve cannot "
    "continue.",
)
"""Indexed by ``status`` (SciPy's codes 0-4; 5 is ours for NaN residuals)."""

_EPS = float(np.finfo(float).eps)


class _Method(NamedTuple):
    engine: type
    bounds: bool
    default_x_scale: str | float
    strictly_feasible: bool


LSQ_METHODS = {"trf": _Method(TRF, True, 1.0, True), "dogbox": _Method(Dogbox, True, 1.0, False),
               "lm": _Method(TRF, False, "jac", True)}
"""Method -> engine and capabilities. 'lm' is the TRF engine's unbounded case with
``x_scale='jac'``, MINPACK's trust-region Levenberg-Marquardt."""


class Residuals(eqx.Module):
    """``fun(x, *args, **kwargs)`` as ``r(x_flat, params)``, with an optional user ``jac``."""

    fun: Callable = eqx.field(static=True)
    jac: Any = eqx.field(static=True)
    static_args: Any = eqx.field(static=True)

    def raw(self, x, params):
        args, kwargs = eqx.combine(params, self.static_args)
        return jnp.atleast_1d(jnp.asarray(self.fun(x, *args, **kwargs), x.dtype))

    def __call__(self, x, params):
        if self.jac is None:
            return self.raw(x, params), None
        return _with_jac(self, x, params), None


def _with_jac(res: Residuals, x, params):
    def jacobian(x, params):
        args, kwargs = eqx.combine(params, res.static_args)
        return res.jac(x, *args, **kwargs)

    return with_user_jacobian(res.raw, jacobian, x, params)


def least_squares(
    fun: Callable[..., ArrayLike],
    x0: ArrayLike,
    jac: str | Callable = "2-point",
    bounds: Any = (-np.inf, np.inf),
    method: str = "trf",
    ftol: float | None = 1e-8,
    xtol: float | None = 1e-8,
    gtol: float | None = 1e-8,
    x_scale: Any = None,
    loss: str | Callable = "linear",
    f_scale: float = 1.0,
    diff_step: Any = None,
    tr_solver: str | None = None,
    tr_options: dict | None = None,
    jac_sparsity: Any = None,
    max_nfev: int | None = None,
    verbose: int = 0,
    args: Any = (),
    kwargs: dict | None = None,
    callback: Callable | None = None,
    workers: Any = None,
) -> OptimizeResult:
    """Bounded nonlinear least squares with robust losses (``scipy.optimize.least_squares``).

    Minimises ``0.5 * sum(rho(f_i(x)**2))`` subject to ``lb <= x <= ub``.

    Parameters
    ----------
    fun
        Residuals ``fun(x, *args, **kwargs) -> (m,)`` in JAX.
    x0
        Initial guess, at most 1-D, inside the bounds.
    jac
        A callable ``jac(x, *args, **kwargs) -> (m, n)``; the strings '2-point', '3-point' and
        'cs' are accepted and mean autodiff here (never finite differences).
    bounds
        ``(lb, ub)`` (scalars or arrays) or a ``Bounds`` instance.
    method
        'trf' (default), 'dogbox' or 'lm' (no bounds, ``m >= n``).
    ftol, xtol, gtol, x_scale, loss, f_scale, max_nfev, args, kwargs
        As in SciPy; losses 'linear', 'soft_l1', 'huber', 'cauchy', 'arctan' or a callable
        ``rho(z) -> (3, m)``.
    diff_step, tr_solver, tr_options, jac_sparsity, verbose
        Accepted for compatibility; the trust-region subproblem is always solved exactly (SVD).

    Returns
    -------
    OptimizeResult
        ``x``, ``cost``, ``fun``, ``jac``, ``grad``, ``optimality``, ``active_mask``, ``nfev``,
        ``njev``, ``status``, ``message``, ``success``.

    Differences from SciPy
    ----------------------
    - Jacobians come from autodiff; ``tr_solver='lsmr'`` and sparse Jacobians are not offered.
      ``workers`` is accepted and ignored.
    - ``callback`` (SciPy's, once per iteration with ``intermediate_result`` holding ``x``, ``fun``
      and ``cost``, or ``callback(x)``; ``StopIteration`` or a return value of ``True`` stops with
      status -2) runs on the host through ``io_callback``, also under ``jit``/``vmap``.
    - 'lm' runs the same exact trust-region engine without bounds and with ``x_scale='jac'``
      (what MINPACK's ``lmder`` computes) instead of calling MINPACK.
    - Residuals that become non-finite at the start raise eagerly (as SciPy does); under a
      transformation they give ``status=5``.
    - ``jax.grad`` of ``x`` w.r.t. ``args`` uses the implicit function theorem on the gradient of
      the cost, with active bounds held fixed.

    Notes
    -----
    A gradient through a solve that did not succeed (``status`` 0 or 5) is NaN, in forward
    and reverse mode, never the implicit-function-theorem derivative at a non-solution.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import least_squares
    >>> res = least_squares(lambda x: jnp.array([x[0] - 1.0, 10 * (x[1] - x[0] ** 2)]), jnp.zeros(2))
    >>> [round(float(v), 6) for v in res.x]
    [1.0, 1.0]
    """
    warn_if_truncated("least_squares", x0, args)
    if method not in LSQ_METHODS:
        raise ValueError(f"`method` must be one of {sorted(LSQ_METHODS)}; got {method!r}.")
    if not (callable(jac) or jac in ("2-point", "3-point", "cs")):
        raise ValueError("`jac` must be '2-point', '3-point', 'cs' or callable.")
    if tr_solver not in (None, "exact", "lsmr"):
        raise ValueError("`tr_solver` must be None, 'exact' or 'lsmr'.")
    if not (callable(loss) or loss in LOSSES):
        raise ValueError(f"`loss` must be one of {sorted(LOSSES)} or a callable.")
    if method == "lm" and loss != "linear":
        raise ValueError("method='lm' supports only 'linear' loss function.")
    if verbose not in (0, 1, 2):
        raise ValueError("`verbose` must be in [0, 1, 2].")
    if max_nfev is not None and max_nfev <= 0:
        raise ValueError("`max_nfev` must be None or positive integer.")
    if jnp.iscomplexobj(x0):
        raise ValueError("`x0` must be real.")
    x, _, is_tree = prepare_x0(x0)
    if is_tree:
        raise ValueError("`x0` must have at most 1 dimension.")
    n = x.shape[0]
    spec = LSQ_METHODS[method]
    if hasattr(bounds, "lb") or (isinstance(bounds, (tuple, list)) and len(bounds) == 2):
        lb, ub = parse_bounds(bounds, n, x.dtype, pairs=False)
    else:
        raise ValueError("`bounds` must contain 2 elements.")
    has_bounds = bounds_given(bounds)
    if has_bounds and not spec.bounds:
        raise ValueError(f"Method '{method}' doesn't support bounds.")
    if _concrete(lb, ub, x):
        if np.any(np.asarray(lb) >= np.asarray(ub)):
            raise ValueError("`bounds`: each lower bound must be strictly less than each upper bound.")
        if np.any((np.asarray(x) < np.asarray(lb)) | (np.asarray(x) > np.asarray(ub))):
            raise ValueError("`x0` is infeasible: initial guess is outside of provided `bounds`.")
    ftol, xtol, gtol = _check_tolerances(ftol, xtol, gtol, method)
    x_scale = spec.default_x_scale if x_scale is None else x_scale
    scale_arr = _check_x_scale(x_scale, n, x.dtype)
    args = prepare_args(args)
    user, args = prepare_bound({"fun": fun, "jac": jac if callable(jac) else None}, (x,), args,
                               solver="least_squares", kwargs=kwargs)
    fun, jac = user["fun"], (user["jac"] if callable(jac) else jac)
    params, static = eqx.partition((args, dict(kwargs or {})), eqx.is_array)
    residuals = Residuals(fun, jac if callable(jac) else None, static)
    f0 = residuals.raw(x, params)
    if f0.ndim != 1:
        raise ValueError(f"`fun` must return at most 1-d array_like. f0.shape: {f0.shape}")
    m = f0.shape[0]
    if method == "lm" and m < n:
        raise ValueError("Method 'lm' doesn't work when the number of residuals is less than the "
                         "number of variables.")
    if _concrete(f0) and not np.all(np.isfinite(np.asarray(f0))):
        raise ValueError("Residuals are not finite in the initial point.")
    loss_fn = loss if callable(loss) else LOSSES[loss]
    if spec.strictly_feasible:
        x = strictly_feasible(x, lb, ub)
    solver = spec.engine(ftol=ftol, xtol=xtol, gtol=gtol, max_nfev=int(max_nfev or 100 * n), loss=loss_fn,
                 f_scale=f_scale)
    token = None if callback is None else register(callback, true_stops=True)
    if token is not None:
        solver = WithLeastSquaresCallback(solver, jnp.asarray(token, jnp.int32), _identity)
    res = _solve(residuals, solver, x, params, lb, ub, scale_arr, has_bounds, loss_fn, f_scale, xtol)
    if token is not None and _concrete(res.status):
        jax.block_until_ready(res)
        release(token)  # (under a transformation the compiled program keeps needing it)
    return res


def _identity(x):
    return x


def _concrete(*xs) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(xs))


def bounds_given(bounds) -> bool:
    """Whether ``bounds`` (as the user gave it) has a finite entry; a traced entry counts as one.

    Decided on the user's values, not on the arrays made from them: under ``jit`` those are
    traced even for the default ``(-inf, inf)``, which would make 'lm' refuse to run.
    """
    raw = (bounds.lb, bounds.ub) if hasattr(bounds, "lb") else tuple(bounds)
    if not _concrete(raw):
        return True
    return any(bool(np.any(np.isfinite(np.asarray(b, dtype=float)))) for b in raw if b is not None)


def _check_tolerances(ftol, xtol, gtol, method):
    def check(tol, name):
        if tol is None:
            return 0.0
        if tol < _EPS:
            warnings.warn(f"Setting `{name}` below the machine epsilon ({_EPS:.2e}) effectively "
                          "disables the corresponding termination condition.", stacklevel=4)
        return float(tol)

    ftol, xtol, gtol = check(ftol, "ftol"), check(xtol, "xtol"), check(gtol, "gtol")
    if method == "lm" and min(ftol, xtol, gtol) < _EPS:
        raise ValueError(f"All tolerances must be higher than machine epsilon ({_EPS:.2e}) for "
                         "method 'lm'.")
    if max(ftol, xtol, gtol) < _EPS:
        raise ValueError(f"At least one of the tolerances must be higher than machine epsilon "
                         f"({_EPS:.2e}).")
    return ftol, xtol, gtol


def _check_x_scale(x_scale, n, dtype):
    if isinstance(x_scale, str):
        if x_scale != "jac":
            raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")
        return None
    arr = np.asarray(x_scale, dtype=float)
    if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise ValueError("`x_scale` must be 'jac' or array_like with positive numbers.")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError("Inconsistent shapes between `x_scale` and `x0`.")
    return jnp.broadcast_to(jnp.asarray(arr, dtype), (n,))


def _no_grad(tree):
    return jax.tree_util.tree_map(
        lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, tree)


@eqx.filter_jit
def _solve(residuals, solver, x0, params, lb, ub, x_scale, has_bounds, loss_fn, f_scale, xtol):
    fn = eqx.filter_closure_convert(residuals, x0, params)
    options = {"lower": lb, "upper": ub, "x_scale": x_scale}
    sol = optx.least_squares(_no_grad(fn), solver, x0, _no_grad(params), options=_no_grad(options),
                             has_aux=True, max_steps=unwrap(solver).max_nfev + 1, throw=False)
    sol = unwrap_solution(solver, sol)
    state = sol.stats["state"]
    status = sol.stats["status"]
    x_star = sol.value
    active = sol.stats["active_mask"]

    def cost(z, p):
        return cost_of(loss_fn, f_scale, fn(z, p)[0])

    f_star = fn(x_star, params)[0]
    nonfinite = jnp.invert(jnp.all(jnp.isfinite(f_star)))
    # A stop against the edge of a region where the residuals are NaN is no solution: there the
    # (loss-scaled) Gauss-Newton step, which vanishes at any stationary point, lands on NaN.
    j_s, f_s = (state.jac, f_star) if loss_fn is None else scale_for_loss(
        state.jac, f_star, loss_rho(loss_fn, f_star, f_scale))
    step = jnp.linalg.lstsq(jnp.where(jnp.isfinite(j_s), j_s, 0), jnp.where(jnp.isfinite(f_s), f_s, 0))[0]
    probe = jnp.clip(x_star - step, lb, ub)
    nonfinite = nonfinite | ((status > 0) & jnp.invert(jnp.all(jnp.isfinite(fn(probe, params)[0]))))
    status = jnp.where(nonfinite, 5, status).astype(jnp.int32)
    if "callback_stop" in sol.stats:
        status = jnp.where(sol.stats["callback_stop"], LSQ_CALLBACK_STATUS, status).astype(jnp.int32)
    x = implicit_bounded_solution(cost, x_star, params, lb, ub, has_bounds, active=active,
                                  success=(status > 0) & (status < 5))
    f_true = fn(x, params)[0]
    return OptimizeResult(
        x=x, cost=cost(x, params), fun=f_true, jac=state.jac, grad=state.g,
        optimality=sol.stats["optimality"], active_mask=active, nfev=state.nfev,
        njev=state.njev, status=status, success=(status > 0) & (status < 5), messages=LSQ_MESSAGES,
    )

