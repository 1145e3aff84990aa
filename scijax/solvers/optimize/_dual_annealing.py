"""``scipy.optimize.dual_annealing``: generalised simulated annealing with a local search, compiled."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete
from .._userfn import prepare_bound
from ._differential_evolution import _key_from, _parse_finite_bounds
from ._implicit import implicit_bounded_solution
from ._minimize import minimize
from ._objective import prepare_args
from ._result import OptimizeResult
from ._solvers.dual_annealing import (
    MAXFUN_LS,
    MAXITER,
    NONFINITE,
    RUNNING,
    AnnealState,
    random_start,
    run_chain,
    temperature_at,
)

__all__ = ["dual_annealing"]

DA_MESSAGES: tuple[str, ...] = (
    "Maximum number of iteration reached",
    "Maximum number of function call reached during annealing",
    "Maximum number of function call reached during local search",
    "Stopping algorithm because function create NaN or (+/-) infinity values even with trying new random "
    "parameters",
)


_BOUNDED = ("l-bfgs-b", "tnc", "slsqp", "powell", "nelder-mead", "trust-constr", "cobyla", "cobyqa")


def _local_search(objective, params, lower, upper, kwargs: dict) -> Callable[[Array], Any]:
    def local(x: Array) -> Any:
        bounds = [(lower[i], upper[i]) for i in range(x.shape[0])]
        options = dict(kwargs.get("options") or {})
        options.setdefault("maxiter", min(max(6 * x.shape[0], 100), 1000))
        rest = {k: v for k, v in kwargs.items() if k not in ("options", "bounds", "method", "args")}
        method = kwargs.get("method", "L-BFGS-B")
        if str(method).lower() in _BOUNDED:  # as SciPy: the search box goes to methods that take bounds
            rest["bounds"] = kwargs.get("bounds", bounds)
        return minimize(lambda z, p: objective(z, p), x, args=(params,), method=method, options=options, **rest)
    return local


@eqx.filter_jit
def _run(objective, params, x_first, key, lower, upper, maxiter: int, initial_temp: float, restart_ratio: float,
         visit: float, accept: float, maxfun: float, no_local_search: bool, ls_kwargs: dict):
    n = x_first.shape[0]
    fixed = jax.lax.stop_gradient(params)  # the search itself is not differentiated
    energy = lambda z: objective(z, fixed)  # noqa: E731
    local = _local_search(objective, fixed, lower, upper, ls_kwargs)
    x, e, count, key = random_start(key, energy, lower, upper, x_first)
    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    no = jnp.array(False)
    start = AnnealState(x, e, x, e, x, e, key, i32(count), i32(0), i32(0), i32(0), i32(0), i32(1000), no, no,
                        jnp.where(jnp.isfinite(e), RUNNING, NONFINITE).astype(jnp.int32))
    t_restart = initial_temp * restart_ratio

    def search(s: AnnealState, x0: Array, e0: Array) -> tuple[Array, Array, Array, Array, Array]:
        res = local(x0)
        ok = jnp.all(jnp.isfinite(res.x)) & jnp.isfinite(res.fun) & jnp.all((res.x >= lower) & (res.x <= upper))
        take = ok & (res.fun < e0)
        njev = jnp.asarray(res.njev if res.njev is not None else 0, jnp.int32)
        return (jnp.where(take, res.x, x0), jnp.where(take, res.fun, e0), s.nfev + res.nfev, s.njev + njev,
                take & res.success)

    def after_chain(s: AnnealState) -> AnnealState:
        # After an improvement, polish the best point; after 1000 chains without one, the chain's
        # reference point (one local search per iteration: the first case wins if both hold).
        forced = ~s.improved & (s.not_improved >= s.not_improved_max)

        def go(s: AnnealState) -> AnnealState:
            x0, e0 = jnp.where(s.improved, s.xbest, s.xmin), jnp.where(s.improved, s.ebest, s.emin)
            x1, e1, nfev, njev, from_ls = search(s, x0, e0)
            better = e1 < s.ebest
            s = AnnealState(jnp.where(better, x1, s.x), jnp.where(better, e1, s.e),
                            jnp.where(better, x1, s.xbest), jnp.where(better, e1, s.ebest),
                            jnp.where(forced, x1, s.xmin), jnp.where(forced, e1, s.emin),
                            s.key, nfev, njev, s.nit, s.step, jnp.where(better | forced, 0, s.not_improved),
                            jnp.where(forced, n, s.not_improved_max), s.improved,
                            jnp.where(better, from_ls, s.best_ls),
                            jnp.where(nfev >= maxfun, MAXFUN_LS, RUNNING).astype(jnp.int32))
            return s

        return jax.lax.cond(s.improved | forced, go, lambda s: s, s)

    def iteration(s: AnnealState) -> AnnealState:
        temp = temperature_at(initial_temp, visit, s.step, x_first.dtype)

        def reanneal(s: AnnealState) -> AnnealState:
            k, sub = jax.random.split(s.key)
            x0 = jax.random.uniform(sub, lower.shape, lower.dtype, lower, upper)
            x, e, count, k = random_start(k, energy, lower, upper, x0)
            nfev = s.nfev + count
            return eqx.tree_at(lambda t: (t.x, t.e, t.key, t.nfev, t.step, t.status), s,
                               (x, e, k, nfev, jnp.zeros_like(s.step),
                                jnp.where(jnp.isfinite(e), RUNNING, NONFINITE).astype(jnp.int32)))

        def anneal(s: AnnealState) -> AnnealState:
            s = run_chain(s, temp, energy, visit, accept, lower, upper, maxfun)
            if not no_local_search:
                s = jax.lax.cond(s.status == RUNNING, after_chain, lambda s: s, s)
            nit = jnp.where(s.status == RUNNING, s.nit + 1, s.nit)
            return eqx.tree_at(lambda t: (t.nit, t.step), s, (nit, s.step + 1))

        s = jax.lax.cond(temp < t_restart, reanneal, anneal, s)
        return eqx.tree_at(lambda t: t.status, s, jnp.where((s.status == RUNNING) & (s.nit >= maxiter), MAXITER,
                                                            s.status).astype(jnp.int32))

    start = eqx.tree_at(lambda t: t.status, start, jnp.where((start.status == RUNNING) & (maxiter <= 0), MAXITER,
                                                             start.status).astype(jnp.int32))
    end = jax.lax.while_loop(lambda s: s.status == RUNNING, iteration, start)
    # The loop is not differentiated: where the best point is a minimum found by a successful
    # local search, its derivative follows from the optimality conditions within the bounds.
    x = implicit_bounded_solution(objective, jax.lax.stop_gradient(end.xbest), params, lower, upper, True,
                                  success=end.best_ls)
    fun = objective(x, params)
    return OptimizeResult(x=x, success=end.status == MAXITER, status=end.status, fun=fun, nit=end.nit,
                          nfev=end.nfev, njev=end.njev, nhev=jnp.zeros_like(end.njev), messages=DA_MESSAGES)


def dual_annealing(
    func: Callable[..., ArrayLike],
    bounds: Any,
    args: Any = (),
    maxiter: int = 1000,
    minimizer_kwargs: dict | None = None,
    initial_temp: float = 5230.0,
    restart_temp_ratio: float = 2.0e-5,
    visit: float = 2.62,
    accept: float = -5.0,
    maxfun: float = 1e7,
    rng: Any = None,
    no_local_search: bool = False,
    callback: Callable | None = None,
    x0: ArrayLike | None = None,
    *,
    seed: Any = None,
) -> OptimizeResult:
    """Find the global minimum of a function within bounds by dual annealing.

    Mirrors :func:`scipy.optimize.dual_annealing`: generalised simulated annealing (Tsallis and
    Stariolo 1996) with the fast schedule ``T(k) = T0 (2^(q_v-1) - 1) / ((k+2)^(q_v-1) - 1)``,
    combined with a local search (Xiang et al. 1997). Each iteration runs a Markov chain of ``2 N``
    visits drawn from the Tsallis visiting distribution (the first ``N`` move every coordinate, the
    next ``N`` one coordinate each; points leaving the box are folded back periodically) with the
    generalised Metropolis acceptance of parameter ``accept``. When the chain improves the best
    point, :func:`minimize` (L-BFGS-B within ``bounds`` by default) polishes it. When the
    temperature falls below ``initial_temp * restart_temp_ratio`` the search restarts from a random
    point (re-annealing). The whole search is one compiled loop: it runs under ``jax.jit`` and
    ``jax.vmap``.

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float``, written in JAX.
    bounds : sequence of (min, max) pairs or Bounds
        Finite bounds for every variable.
    args : tuple, optional
        Extra arguments of ``func``; arrays are traced (new values do not recompile).
    maxiter : int, optional
        Maximum number of global iterations (chains).
    minimizer_kwargs : dict, optional
        Keyword arguments of :func:`minimize` for the local search (default: ``method='L-BFGS-B'``,
        ``options={'maxiter': min(max(6 N, 100), 1000)}``; the ``bounds`` go to methods that take
        bounds, and a local minimum outside them is discarded).
    initial_temp, restart_temp_ratio : float, optional
        Initial temperature (in ``(0.01, 5e4]``) and the ratio (in ``(0, 1)``) that triggers a re-annealing.
    visit, accept : float, optional
        The visiting (``q_v`` in ``(1, 3]``) and acceptance (``q_a`` in ``(-1e4, -5]``) parameters.
    maxfun : float, optional
        Soft limit on the number of function evaluations.
    rng, seed : int, numpy Generator or jax.random key, optional
        Randomness (a JAX stream: the visits differ from SciPy's for the same int).
    no_local_search : bool, optional
        Classical generalised simulated annealing without the local search.
    callback : None
        Not supported (see Differences).
    x0 : array_like, optional
        Starting point; its floating dtype (e.g. float32) sets the precision of the search.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit``, ``nfev``, ``njev``, ``nhev``, ``success``, ``status`` and
        ``message``. ``status`` 0: ``maxiter`` chains done (success); 1 or 2: ``maxfun`` reached
        during the annealing or a local search; 3: the objective was not finite at 1000 random
        points.

    Differences from SciPy
    ----------------------
    - The chain visits one point at a time, as SciPy does (SciPy's sequential scheme, not a
      batch): each visit starts from the point the previous one accepted, so the visits of a chain
      cannot be evaluated together. Batches come from ``jax.vmap`` over problems or seeds.
    - The local search is scijax's :func:`minimize` with automatic derivatives, so ``nfev`` counts
      fewer evaluations than SciPy's finite-difference L-BFGS-B, and local-search gradients appear
      in ``njev``. One local search runs per iteration at most (SciPy may run a second, forced one
      in the rare iteration that also improved the best point). SciPy's extra random local search
      that can never trigger with its constants (``K = 100 N``) is not implemented.
    - ``message`` is a string and ``status`` has the codes above (SciPy: a list, ``status`` 0).
      Under ``jit`` a non-finite objective gives status 3 instead of a ``ValueError``.
    - ``callback`` is not supported (it raises).
    - Parameters outside SciPy's documented ranges, and an ``x0`` outside ``bounds``, raise a
      ValueError (SciPy does not check them).
    - ``jax.grad`` of ``x`` or ``fun`` with respect to ``args`` is the implicit derivative of the
      best point's optimality conditions (the gradient vanishes in the free coordinates, the
      active bounds hold) when that point came from a successful local search; otherwise (a
      sampled point, or ``no_local_search``) it is NaN.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import dual_annealing
    >>> rastrigin = lambda x: jnp.sum(x * x - 10 * jnp.cos(2 * jnp.pi * x)) + 10 * x.size
    >>> res = dual_annealing(rastrigin, [(-5.12, 5.12)] * 2, maxiter=50, rng=0)
    >>> bool(res.success), round(float(res.fun), 8), res.message
    (True, 0.0, 'Maximum number of iteration reached')
    """
    if callback is not None:
        raise TypeError("`callback` is not supported by scijax's dual_annealing yet.")
    if int(maxiter) < 0:
        raise ValueError(f"`maxiter` must be >= 0; got {maxiter!r}.")
    if not 0.01 < float(initial_temp) <= 5.0e4:
        raise ValueError(f"`initial_temp` must be in (0.01, 5e4]; got {initial_temp!r}.")
    if not 0.0 < float(restart_temp_ratio) < 1.0:
        raise ValueError(f"`restart_temp_ratio` must be in (0, 1); got {restart_temp_ratio!r}.")
    if not 1.0 < float(visit) <= 3.0:
        raise ValueError(f"`visit` must be in (1, 3]; got {visit!r}.")
    if not -1.0e4 < float(accept) <= -5.0:
        raise ValueError(f"`accept` must be in (-1e4, -5]; got {accept!r}.")
    if not float(maxfun) >= 1:
        raise ValueError(f"`maxfun` must be >= 1; got {maxfun!r}.")
    x0_dtype = None if x0 is None else jnp.asarray(x0).dtype
    dtype = x0_dtype if x0_dtype is not None and jnp.issubdtype(x0_dtype, jnp.inexact) else jnp.result_type(float)
    lower, upper = _parse_finite_bounds(bounds, dtype)
    n = lower.shape[0]
    key = _key_from(seed, rng)
    k_x0, k_run = jax.random.split(key)
    if x0 is None:
        x_first = jax.random.uniform(k_x0, (n,), dtype, lower, upper)
    else:
        x_first = jnp.asarray(x0, dtype).reshape(-1)
        if x_first.shape != (n,):
            raise ValueError(f"`x0` must have shape ({n},) to match `bounds`; got {np.shape(x0)}.")
        if is_concrete(x_first) and not bool(jnp.all((x_first >= lower) & (x_first <= upper))):
            raise ValueError("`x0` must lie within `bounds`.")
    args = prepare_args(args)
    user, args = prepare_bound({"fun": func}, (x_first,), args, solver="dual_annealing")
    objective_fn = user["fun"]
    params, static = eqx.partition(args, eqx.is_array)

    def objective(x, p):
        return jnp.asarray(objective_fn(x, *eqx.combine(p, static))).reshape(()).astype(x.dtype)

    return _run(objective, params, x_first, k_run, lower, upper, int(maxiter), float(initial_temp),
                float(restart_temp_ratio), float(visit), float(accept), float(maxfun), bool(no_local_search),
                dict(minimizer_kwargs or {}))
