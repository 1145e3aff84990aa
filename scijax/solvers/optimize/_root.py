"""``root``: SciPy's facade for systems of nonlinear equations over optimistix's Dogleg and
Levenberg-Marquardt and our Broyden root finder; derivatives of the root w.r.t. ``args`` come
from the implicit function theorem on ``F(x) = 0``."""

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import ArrayLike

from .._precision import warn_if_truncated
from .._user_jacobian import with_user_jacobian
from .._userfn import prepare_bound
from ._implicit import attach_implicit_gradient
from ._objective import check_options, prepare_args, prepare_x0
from ._result import OptimizeResult
from ._solvers.dfsane import DF_SANE_MESSAGES, DF_SANE_OPTIONS, df_sane_solver
from ._solvers.nonlin import NONLIN_MESSAGES, NonlinSolve, max_norm
from ._solvers.nonlin_jacobians import (
    Anderson,
    BroydenFirst,
    BroydenSecond,
    DiagBroyden,
    ExcitingMixing,
    KrylovJacobian,
    LinearMixing,
)

__all__ = ["root"]

HYBR_MESSAGES = (
    "Improper input parameters were entered.",
    "The solution converged.",
    "The number of calls to function has reached maxfev.",
    "xtol is too small, no further improvement in the approximate solution is possible.",
    "The iteration is not making good progress, as measured by the improvement from the last "
    "five Jacobian evaluations.",
    "The iteration is not making good progress: it stopped at a point where the residual is not "
    "small (a local minimum of |F|, not a root).",
    "NaN result encountered.",
)
LM_MESSAGES = (
    "Improper input parameters.",
    "Both actual and predicted relative reductions in the sum of squares are at most ftol",
    "The relative error between two consecutive iterates is at most xtol",
    "Both actual and predicted relative reductions in the sum of squares are at most ftol and "
    "the relative error between two consecutive iterates is at most xtol",
    "The cosine of the angle between func(x) and any column of the Jacobian is at most gtol in "
    "absolute value",
    "Number of calls to function has reached maxfev.",
    "NaN result encountered.",
)


class _Method(NamedTuple):
    build: Callable[[dict, float | None, int], Any]
    options: frozenset[str]
    messages: tuple[str, ...]
    # status for (converged, iteration limit, nan, stopped elsewhere)
    codes: tuple[int, int, int, int]


class _DtypeSafeDogleg(optx.AbstractDescent):
    """optimistix 0.1.0's ``DoglegDescent.init`` makes float64 norms under x64, which breaks its
    own ``cond`` for float32 problems; this casts them to the dtype of ``y``."""

    inner: optx.AbstractDescent

    def init(self, y, f_info_struct):
        state = self.inner.init(y, f_info_struct)
        dtype = jax.tree_util.tree_leaves(y)[0].dtype
        return eqx.tree_at(lambda s: (s.newton_norm, s.cauchy_norm), state,
                           (state.newton_norm.astype(dtype), state.cauchy_norm.astype(dtype)))

    def query(self, y, f_info, state):
        return self.inner.query(y, f_info, state)

    def step(self, step_size, state):
        return self.inner.step(step_size, state)


def _hybr(o, tol, n):
    xtol = o.get("xtol", 1.49012e-08 if tol is None else tol)
    dogleg = optx.Dogleg(rtol=xtol, atol=xtol)
    dogleg = eqx.tree_at(lambda d: d.descent, dogleg, _DtypeSafeDogleg(dogleg.descent))
    return dogleg, int(o.get("maxfev") or 200 * (n + 1))


def _lm(o, tol, n):
    xtol = o.get("xtol", 1.49012e-08 if tol is None else tol)
    return optx.LevenbergMarquardt(rtol=xtol, atol=xtol), int(o.get("maxiter") or 100 * (n + 1))


_NONLIN_OPTIONS = frozenset({"nit", "disp", "maxiter", "ftol", "fatol", "xtol", "xatol", "tol_norm",
                             "line_search", "jac_options"})
_JAC_OPTIONS = {
    "broyden1": (BroydenFirst, {"alpha", "reduction_method", "max_rank"}),
    "broyden2": (BroydenSecond, {"alpha", "reduction_method", "max_rank"}),
    "anderson": (Anderson, {"alpha", "w0", "M"}),
    "linearmixing": (LinearMixing, {"alpha"}),
    "diagbroyden": (DiagBroyden, {"alpha"}),
    "excitingmixing": (ExcitingMixing, {"alpha", "alphamax"}),
    "krylov": (KrylovJacobian, {"rdiff", "method", "inner_maxiter", "inner_M", "outer_k"}),
}
"""Method -> (Jacobian approximation, the ``jac_options`` SciPy accepts for it)."""
_KRYLOV_INNER = ("lgmres", "gmres", "bicgstab")


def _jacobian(name, jac_options):
    cls, allowed = _JAC_OPTIONS[name]
    jo = dict(jac_options or {})
    unknown = set(jo) - allowed
    if unknown:
        raise ValueError(f"Unknown `jac_options` for {name!r}: {sorted(unknown)}; accepted: {sorted(allowed)}.")
    if jo.get("reduction_method", "restart") not in ("restart", "simple", "svd"):
        raise ValueError(f"Unknown rank reduction method {jo['reduction_method']!r} (`reduction_method`).")
    if name == "krylov":
        inner = jo.get("method", "lgmres")
        if inner not in _KRYLOV_INNER:
            raise ValueError(f"`method` in jac_options must be one of {_KRYLOV_INNER}, got {inner!r}.")
        if jo.get("inner_M") is not None:
            raise ValueError("`inner_M` (a preconditioner) is not supported for 'krylov'.")
        return cls(method=inner, inner_maxiter=int(jo.get("inner_maxiter", 20)))
    if name == "anderson":
        m = int(jo.get("M", 5))
        if m < 0:
            raise ValueError(f"`M` must be >= 0, got {m}.")
        return cls(alpha=jo.get("alpha"), w0=float(jo.get("w0", 0.01)), M=m)
    return cls(**{k: jo[k] for k in ("alpha", "alphamax") if k in jo})


def nonlin_solver(name: str, n: int, *, iter: int | None = None, maxiter: int | None = None,
                  f_tol: float | None = None, f_rtol: float | None = None, x_tol: float | None = None,
                  x_rtol: float | None = None, tol_norm: Callable | None = None,
                  line_search: str | bool | None = "armijo", jac_options: dict | None = None):
    """SciPy's ``nonlin_solve`` settings (standalone names) -> (engine, most optimistix steps)."""
    if line_search is True:
        line_search = "armijo"
    elif line_search is False:
        line_search = None
    if line_search not in (None, "armijo", "wolfe"):
        raise ValueError(f"Invalid `line_search` {line_search!r}: None, 'armijo' or 'wolfe'.")
    if iter is not None and (not isinstance(iter, int) or iter < 0):
        raise ValueError(f"`iter` must be a non-negative integer, got {iter!r}.")
    if maxiter is None:
        maxiter = iter + 1 if iter is not None else 100 * (n + 1)
    if not isinstance(maxiter, int) or maxiter < 0:
        raise ValueError(f"`maxiter` must be a non-negative integer, got {maxiter!r}.")
    if tol_norm is not None and not callable(tol_norm):
        raise TypeError("`tol_norm` must be a callable norm.")
    tols = {}
    for key, value, default in (("f_tol", f_tol, 6.0554544523933395e-06), ("f_rtol", f_rtol, float("inf")),
                                ("x_tol", x_tol, float("inf")), ("x_rtol", x_rtol, float("inf"))):
        value = default if value is None else float(value)
        if not value >= 0:
            raise ValueError(f"`{key}` must be non-negative, got {value}.")
        tols[key] = value
    solver = NonlinSolve(_jacobian(name, jac_options), iter=iter, maxiter=maxiter,
                         line_search=line_search, tol_norm=tol_norm or max_norm, **tols)
    return solver, maxiter + 2


def _nonlin(name):
    def build(o, tol, n):
        if tol is not None:
            o = {"xtol": tol, "xatol": float("inf"), "ftol": float("inf"), "fatol": float("inf"), **o}
        return nonlin_solver(name, n, iter=o.get("nit"), maxiter=o.get("maxiter"), f_tol=o.get("fatol"),
                             f_rtol=o.get("ftol"), x_tol=o.get("xatol"), x_rtol=o.get("xtol"),
                             tol_norm=o.get("tol_norm"), line_search=o.get("line_search", "armijo"),
                             jac_options=o.get("jac_options"))
    return build


def _df_sane(o, tol, n):
    if tol is not None:
        o = {"ftol": tol, **o}
    return df_sane_solver(**o)


ROOT_METHODS = {
    "hybr": _Method(_hybr, frozenset({"col_deriv", "xtol", "maxfev", "band", "eps", "factor", "diag"}),
                    HYBR_MESSAGES, (1, 2, 6, 5)),
    "lm": _Method(_lm, frozenset({"col_deriv", "xtol", "ftol", "gtol", "maxiter", "eps", "factor",
                                  "diag"}), LM_MESSAGES, (2, 5, 6, 5)),
    **{name: _Method(_nonlin(name), _NONLIN_OPTIONS, NONLIN_MESSAGES, (1, 2, 3, 3)) for name in _JAC_OPTIONS},
    "df-sane": _Method(_df_sane, DF_SANE_OPTIONS, DF_SANE_MESSAGES, (1, 2, 3, 3)),
}
"""SciPy method name -> engine. Adding a method is one entry here."""


class _System(eqx.Module):
    fun: Callable = eqx.field(static=True)
    jac: Any = eqx.field(static=True)
    static_args: Any = eqx.field(static=True)

    def raw(self, x, params):
        out = self.fun(x, *eqx.combine(params, self.static_args))
        out = out[0] if self.jac is True else out
        return jnp.asarray(out, x.dtype).reshape(x.shape)

    def __call__(self, x, params):
        if self.jac is None or self.jac is False:
            return self.raw(x, params), None
        return _with_jac(self, x, params), None


def _with_jac(system: "_System", x, params):
    def jacobian(x, params):
        args = eqx.combine(params, system.static_args)
        return system.fun(x, *args)[1] if system.jac is True else system.jac(x, *args)

    return with_user_jacobian(system.raw, jacobian, x, params)


def root(fun: Callable[..., ArrayLike], x0: ArrayLike, args: Any = (), method: str = "hybr",
         jac: Callable | bool | None = None, tol: float | None = None, callback: None = None,
         options: dict | None = None) -> OptimizeResult:
    """Find a root of a vector function (``scipy.optimize.root``).

    Parameters
    ----------
    fun
        ``fun(x, *args) -> (n,)`` in JAX (``(F, J)`` when ``jac=True``).
    x0
        Initial guess, 1-D.
    args, tol, options
        As in SciPy. Options: hybr ``xtol``, ``maxfev``; lm ``xtol``, ``maxiter``; the nonlin
        methods ``nit``, ``maxiter``, ``fatol``, ``ftol``, ``xatol``, ``xtol``, ``tol_norm``,
        ``line_search`` and ``jac_options`` (broyden1/2 ``alpha``; anderson ``alpha``, ``w0``,
        ``M``; linearmixing/diagbroyden ``alpha``; excitingmixing ``alpha``, ``alphamax``;
        krylov ``method``, ``inner_maxiter``); df-sane ``ftol``, ``fatol``, ``maxfev``, ``fnorm``,
        ``M``, ``eta_strategy``, ``sigma_eps``, ``sigma_0``, ``line_search``. ``tol`` sets
        ``xtol`` (hybr, lm, and the nonlin methods, whose other tolerances become ``inf``, as in
        SciPy) or ``ftol`` (df-sane). Unknown options raise.
    method
        'hybr' (default; optimistix's Powell dogleg), 'lm' (optimistix's Levenberg-Marquardt),
        the ``scipy.optimize.nonlin`` methods 'broyden1', 'broyden2', 'anderson',
        'linearmixing', 'diagbroyden', 'excitingmixing', 'krylov' (one inexact-Newton engine
        with SciPy's loop, stopping tests and forcing terms), or 'df-sane' (La Cruz, Martinez
        and Raydan's spectral residual method).
    jac
        ``None`` (autodiff), ``True`` or a callable ``jac(x, *args)``.
    callback
        Must be ``None``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``success``, ``status``, ``message``, ``nfev``, ``nit``.

    Differences from SciPy
    ----------------------
    - 'hybr' and 'lm' are optimistix's dogleg and Levenberg-Marquardt, not MINPACK's ``hybrd``
      and ``lmdif``: they stop when the step and the change of ``F`` are below ``xtol``
      (relative and absolute); iterates and counts differ. 'hybr' reports status 5 when it stops
      where ``max|F| > max(sqrt(eps), xtol) (1 + max|F(x0)|)``, i.e. at a minimum of ``|F|``
      that is no root (MINPACK tests only the step, and may report success there).
    - 'lm' reports status 2 for every success; ``fjac``, ``r``, ``qtf``, ``cov_x`` are not given.
    - The nonlin methods: status 1 converged, 2 iteration limit, 3 a non-finite ``F`` (SciPy runs
      on), 4 a zero step (SciPy raises). The line search halves the step where SciPy
      interpolates, and ``'wolfe'`` runs that same search. broyden1/2 keep a dense inverse
      Jacobian (``reduction_method``/``max_rank`` are accepted, nothing to reduce); 'krylov'
      multiplies by the exact Jacobian (forward mode; ``rdiff`` unused) and runs our GMRES for
      'lgmres'/'gmres' or BiCGStab; no preconditioner ``inner_M``. ``disp`` is ignored.
    - df-sane: status 1 converged, 2 ``maxfev`` reached, 3 NaN; ``fnorm`` and ``eta_strategy``
      must be JAX-traceable; ``disp`` is ignored.
    - ``jax.grad`` of ``x`` w.r.t. ``args`` is implicit: ``-J^-1 dF/dargs``.

    Notes
    -----
    A gradient through a solve that did not succeed is NaN (forward and reverse mode), never
    the implicit-function-theorem derivative at a point that is not a root.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import root
    >>> sol = root(lambda x: jnp.array([x[0] + 0.5 * (x[0] - x[1]) ** 3 - 1.0,
    ...                                 0.5 * (x[1] - x[0]) ** 3 + x[1]]), jnp.zeros(2))
    >>> bool(sol.success), [round(float(v), 6) for v in sol.x]
    (True, [0.841164, 0.158836])
    """
    warn_if_truncated("root", x0, args)
    if not isinstance(method, str) or method.lower() not in ROOT_METHODS:
        raise ValueError(f"Unknown solver {method!r} for `method`; choose from {sorted(ROOT_METHODS)}.")
    if callback is not None:
        raise ValueError("`callback` is not supported: it would need a host call in the compiled loop.")
    spec = ROOT_METHODS[method.lower()]
    if jac is not None and method.lower() not in ("hybr", "lm"):  # SciPy's warning, word for word
        warnings.warn(f"Method {method} does not use the jacobian (jac).", RuntimeWarning, stacklevel=2)
    options = check_options(options, spec.options, method)
    x, unravel, is_tree = prepare_x0(x0)
    if is_tree:
        raise ValueError("`x0` must be a 1-D array for `root`.")
    args = prepare_args(args)
    user, args = prepare_bound({"fun": fun, "jac": jac}, (x,), args, solver="root")
    fun, jac = user["fun"], user["jac"]
    params, static = eqx.partition(args, eqx.is_array)
    solver, max_steps = spec.build(options, tol, x.shape[0])
    # hybr's "not a root" test (see Differences): |F| is compared with max(sqrt(eps), xtol), so a
    # loose ``tol`` accepts the correspondingly loose roots that MINPACK's step test accepts.
    residual_tol = float(solver.rtol) if spec is ROOT_METHODS["hybr"] else None
    sol = _solve(_System(fun, jac, static), solver, x, params, max_steps, spec.codes, residual_tol)
    x_out, f, status, nit, nfev = sol
    return OptimizeResult(x=unravel(x_out), fun=unravel(f), status=status, success=status == spec.codes[0],
                          nit=nit, nfev=nfev, messages=spec.messages, method=method.lower())


def _no_grad(tree):
    return jax.tree_util.tree_map(
        lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, tree)


@eqx.filter_jit
def _solve(system, solver, x0, params, max_steps, codes, residual_tol):
    fn = eqx.filter_closure_convert(system, x0, params)
    sol = optx.root_find(_no_grad(fn), solver, x0, _no_grad(params), has_aux=True, max_steps=max_steps,
                         throw=False)
    f = fn(sol.value, params)[0]
    ok, out_of_steps, nan, other = codes
    result = sol.result
    status = jnp.where(result == optx.RESULTS.successful, ok, other)
    status = jnp.where(result == optx.RESULTS.nonlinear_max_steps_reached, out_of_steps, status)
    status = sol.stats.get("status", status)  # our engines report SciPy's code themselves
    status = jnp.where(jnp.all(jnp.isfinite(f)), status, nan)
    if residual_tol is not None:
        f0 = jnp.max(jnp.abs(fn(x0, params)[0]))
        scale = jnp.maximum(jnp.sqrt(jnp.finfo(sol.value.dtype).eps), residual_tol)
        not_root = jnp.max(jnp.abs(f)) > scale * (1 + f0)
        status = jnp.where((status == ok) & not_root, other, status)
    x = attach_implicit_gradient(sol.value, lambda z, p: fn(z, p)[0], params, success=status == ok)
    f = fn(x, params)[0]
    steps = sol.stats["num_steps"]
    nfev = sol.stats.get("nfev", steps + 1)
    return x, f, status.astype(jnp.int32), sol.stats.get("nit", steps), nfev
