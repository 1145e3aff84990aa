"""``scipy.optimize.differential_evolution`` with the population evaluated as one batched call."""

import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete
from .._userfn import prepare_bound
from ._bounds import parse_bounds
from ._minimize import minimize
from ._objective import prepare_args
from ._result import OptimizeResult
from ._solvers.differential_evolution import STRATEGIES, DifferentialEvolution

__all__ = ["differential_evolution"]

DE_MESSAGES: tuple[str, ...] = (
    "Optimization terminated successfully.",
    "Maximum number of iterations has been exceeded.",
    "Desired error not necessarily achieved due to precision loss.",
    "NaN result encountered.",
)


@jax.custom_jvp
def _no_derivative(x: Array, params: Any) -> Array:
    """``x``, whose derivative with respect to ``params`` is NaN: a sampled point has none."""
    return x


@_no_derivative.defjvp
def _no_derivative_jvp(primals, tangents):
    x = primals[0]
    return x, jnp.full_like(x, jnp.nan)


def _key_from(seed: Any, rng: Any) -> Array:
    value = rng if rng is not None else seed
    if value is None:
        return jax.random.key(int(np.random.default_rng().integers(2**31 - 1)))
    if isinstance(value, (int, np.integer)):
        return jax.random.key(int(value))
    if isinstance(value, np.random.Generator):
        return jax.random.key(int(value.integers(2**31 - 1)))
    if isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
        return value
    if isinstance(value, jax.Array) and value.dtype == jnp.uint32 and value.shape == (2,):
        return jax.random.wrap_key_data(value)
    raise TypeError("`rng` (or `seed`) must be None, an int, a numpy Generator or a jax.random key; "
                    f"got {type(value).__name__}.")


def _check(strategy, popsize, mutation, recombination, maxiter, tol, atol, updating, init, n) -> tuple:
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}; got {strategy!r}.")
    if isinstance(mutation, (int, float)):
        mutation = (float(mutation), float(mutation))
    try:
        lo, hi = (float(m) for m in mutation)
    except (TypeError, ValueError):
        raise ValueError("`mutation` must be a float in [0, 2) or a tuple (min, max) within [0, 2).") from None
    if not (0.0 <= lo <= hi < 2.0):
        raise ValueError("`mutation` must be a float in [0, 2) or a tuple (min, max) with 0 <= min <= max < 2; "
                         f"got {mutation!r}.")
    if not 0.0 <= float(recombination) <= 1.0:
        raise ValueError(f"`recombination` must be in [0, 1]; got {recombination!r}.")
    if int(maxiter) < 0 or int(popsize) < 1:
        raise ValueError("`maxiter` must be >= 0 and `popsize` >= 1.")
    if float(tol) < 0 or float(atol) < 0:
        raise ValueError("`tol` and `atol` must be non-negative.")
    if updating not in ("immediate", "deferred"):
        raise ValueError(f"`updating` must be 'immediate' or 'deferred'; got {updating!r}.")
    if isinstance(init, str) and init not in ("latinhypercube", "random"):
        raise ValueError(f"`init` must be 'latinhypercube', 'random' or an array of shape (S, {n}); "
                         f"got {init!r} ('sobol' and 'halton' are not available).")
    return lo, hi


def _initial_population(init: Any, key: Array, size: int, n: int, lower, upper, dtype) -> Array:
    if not isinstance(init, str):
        pop = jnp.asarray(init, dtype)
        if pop.ndim != 2 or pop.shape[1] != n or pop.shape[0] < 5:
            raise ValueError(f"`init` as an array must have shape (S, {n}) with S >= 5; got {pop.shape}.")
        return jnp.clip((pop - lower) / (upper - lower), 0.0, 1.0)
    if init == "random":
        return jax.random.uniform(key, (size, n), dtype)
    k_u, k_perm = jax.random.split(key)
    strata = (jax.random.uniform(k_u, (size, n), dtype) + jnp.arange(size, dtype=dtype)[:, None]) / size
    perms = jax.vmap(lambda k: jax.random.permutation(k, size))(jax.random.split(k_perm, n))  # (n, size)
    return strata[perms.T, jnp.arange(n)[None, :]]


def _parse_finite_bounds(bounds: Any, dtype) -> tuple[Array, Array]:
    """``(lower, upper)``; concrete bounds must be finite (SciPy's rule), traced ones are trusted."""
    message = ("`bounds` should be a sequence containing finite real valued (min, max) pairs for each value "
               "in x, or a Bounds instance.")
    try:
        if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
            lo, hi = np.atleast_1d(np.asarray(bounds.lb, float)), np.atleast_1d(np.asarray(bounds.ub, float))
            lo, hi = np.broadcast_arrays(lo, hi)
        else:
            pairs = np.asarray(bounds, float)
            if pairs.ndim != 2 or pairs.shape[1] != 2:
                raise ValueError(message)
            lo, hi = pairs[:, 0], pairs[:, 1]
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        n = len(bounds.lb) if hasattr(bounds, "lb") else len(bounds)
        return parse_bounds(bounds, n, dtype)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))) or lo.size == 0:
        raise ValueError(message)
    if np.any(lo > hi):
        raise ValueError("`bounds`: a lower bound is greater than its upper bound.")
    return jnp.asarray(lo, dtype), jnp.asarray(hi, dtype)


@eqx.filter_jit
def _run(objective, solver, init_pop, key, x0, params, polish: bool, lower, upper, maxiter: int):
    fn = eqx.filter_closure_convert(lambda x, p: (objective(x, p), None), x0, params)
    sol = optx.minimise(fn, solver, x0, params, options={"key": key, "init_population": init_pop},
                        has_aux=True, max_steps=maxiter + 1, throw=False)
    stats = sol.stats
    x = jax.lax.stop_gradient(sol.value)
    f = jax.lax.stop_gradient(jnp.min(stats["population_energies"]))
    status = jnp.where(stats["converged"], 0, 1)
    status = jnp.where(jnp.isfinite(f), status, 3).astype(jnp.int32)
    nfev, jac = stats["nfev"], None
    if polish:
        bounds = [(lower[i], upper[i]) for i in range(x.shape[0])]
        res = minimize(lambda z, p: objective(z, p), x, args=(params,), method="L-BFGS-B", bounds=bounds)
        take = res.fun <= f  # L-BFGS-B only accepts decreases, so this holds unless the polish failed
        x = jnp.where(take, res.x, _no_derivative(x, params))
        f = jnp.where(take, res.fun, f)
        nfev, jac = nfev + res.nfev, res.jac
    else:
        x = _no_derivative(x, params)
    return OptimizeResult(x=x, success=status == 0, status=status, fun=f, jac=jac, nit=stats["nit"],
                          nfev=nfev, population=stats["population"],
                          population_energies=stats["population_energies"], messages=DE_MESSAGES)


def differential_evolution(
    func: Callable[..., ArrayLike],
    bounds: Any,
    args: Any = (),
    strategy: str = "best1bin",
    maxiter: int = 1000,
    popsize: int = 15,
    tol: float = 0.01,
    mutation: float | tuple[float, float] = (0.5, 1),
    recombination: float = 0.7,
    rng: Any = None,
    callback: Callable | None = None,
    disp: bool = False,
    polish: bool = True,
    init: str | ArrayLike = "latinhypercube",
    atol: float = 0.0,
    updating: str = "deferred",
    workers: Any = 1,
    constraints: Any = (),
    x0: ArrayLike | None = None,
    *,
    integrality: Any = None,
    vectorized: bool = False,
    seed: Any = None,
) -> OptimizeResult:
    """Find the global minimum of a function within bounds by differential evolution.

    Mirrors :func:`scipy.optimize.differential_evolution`. Each generation's trial vectors are
    evaluated together as one ``jax.vmap``-batched call of ``func``, so that on an accelerator a
    population of thousands costs about one function evaluation. The whole search (and the
    L-BFGS-B polish) is one compiled loop; it runs under ``jax.jit`` and ``jax.vmap``.

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float``, written in JAX.
    bounds : sequence of (min, max) pairs or Bounds
        Finite bounds for every variable.
    args : tuple, optional
        Extra arguments of ``func``; arrays are traced (new values do not recompile).
    strategy : str, optional
        SciPy's strategy names: ``'best1bin'`` (default), ``'best1exp'``, ``'rand1bin'``,
        ``'rand1exp'``, ``'best2bin'``, ``'best2exp'``, ``'rand2bin'``, ``'rand2exp'``,
        ``'currenttobest1bin'``, ``'currenttobest1exp'``, ``'randtobest1bin'``, ``'randtobest1exp'``.
    maxiter : int, optional
        Maximum number of generations.
    popsize : int, optional
        Population size multiplier: the population has ``max(5, popsize * N)`` members.
    tol, atol : float, optional
        Stop when ``std(energies) <= atol + tol * |mean(energies)|``.
    mutation : float or (min, max), optional
        The differential weight; a tuple dithers it, drawing a new value each generation.
    recombination : float, optional
        Crossover probability.
    rng, seed : int, numpy Generator or jax.random key, optional
        Randomness. An int or a key gives reproducible results (a JAX stream, so the numbers differ
        from SciPy's for the same int); None draws a fresh seed.
    callback : None
        Not supported (see Differences).
    disp : bool, optional
        Print the best energy at the end.
    polish : bool, optional
        Finish with ``minimize(method='L-BFGS-B')`` from the best member (our own L-BFGS-B).
    init : {'latinhypercube', 'random'} or array of shape (S, N), optional
        How the population starts.
    updating : {'deferred', 'immediate'}, optional
        ``'deferred'`` (our default) evaluates each generation as one batch; ``'immediate'``
        updates member by member as SciPy's default does.
    workers : optional
        Ignored: the batch is already parallel (a warning if not 1).
    constraints : optional
        Not supported (see Differences).
    x0 : array_like, optional
        Replaces the first member of the initial population; its floating dtype (e.g. float32)
        sets the precision of the search (default: JAX's default float).
    integrality : None
        Not supported (see Differences).
    vectorized : bool, optional
        If True, ``func`` is called once per generation with ``x`` of shape ``(N, S)`` and must
        return shape ``(S,)``, as in SciPy.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit`` (generations), ``nfev``, ``success``, ``status``, ``message``,
        ``population``, ``population_energies``, and ``jac`` when polished.

    Differences from SciPy
    ----------------------
    - The default ``updating`` is ``'deferred'`` (SciPy: ``'immediate'``), because batching a
      generation is what makes the search fast on accelerators; pass ``updating='immediate'`` for
      SciPy's sequential rule. The two are both Storn and Price's method and converge alike on
      standard test functions, but iterates differ, and so do SciPy's for the same seed (the
      random streams differ).
    - ``constraints``, ``integrality``, ``callback`` and the ``'sobol'``/``'halton'`` initial
      populations are not supported yet and raise; ``workers`` is ignored.
    - Differentiable only through the polish: ``jax.grad`` of ``x`` or ``fun`` with respect to
      ``args`` is the implicit derivative of the polished local minimum. Where the answer did not
      come from a successful polish (``polish=False``, or the population's best was better), the
      derivative of ``x`` is NaN: a sampled point has no derivative.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import differential_evolution
    >>> ackley = lambda x: (-20 * jnp.exp(-0.2 * jnp.sqrt(0.5 * jnp.sum(x**2)))
    ...                     - jnp.exp(0.5 * jnp.sum(jnp.cos(2 * jnp.pi * x))) + jnp.e + 20)
    >>> res = differential_evolution(ackley, [(-5, 5), (-5, 5)], rng=0)
    >>> bool(res.success), bool(jnp.allclose(res.x, 0.0, atol=1e-6))
    (True, True)
    """
    if callback is not None:
        raise TypeError("`callback` is not supported by scijax's differential_evolution yet.")
    if constraints not in ((), None, []):
        raise NotImplementedError("`constraints` are not supported by scijax's differential_evolution yet.")
    if integrality is not None:
        raise NotImplementedError("`integrality` is not supported by scijax's differential_evolution yet.")
    if workers != 1:
        warnings.warn("`workers` is ignored: each generation is already evaluated as one batch.",
                      RuntimeWarning, stacklevel=2)
    x0_dtype = None if x0 is None else jnp.asarray(x0).dtype
    dtype = x0_dtype if x0_dtype is not None and jnp.issubdtype(x0_dtype, jnp.inexact) else jnp.result_type(float)
    lower, upper = _parse_finite_bounds(bounds, dtype)
    n = lower.shape[0]
    lo, hi = _check(strategy, popsize, mutation, recombination, maxiter, tol, atol, updating, init, n)
    key = _key_from(seed, rng)
    size = max(5, int(popsize) * n)
    k_init, k_run = jax.random.split(key)
    init_pop = _initial_population(init, k_init, size, n, lower, upper, dtype)
    if x0 is not None:
        x0a = jnp.asarray(x0, dtype).reshape(-1)
        if x0a.shape != (n,):
            raise ValueError(f"`x0` must have shape ({n},); got {np.shape(x0)}.")
        init_pop = init_pop.at[0].set(jnp.clip((x0a - lower) / (upper - lower), 0.0, 1.0))
    args = prepare_args(args)
    start = lower + 0.5 * (upper - lower)
    objective_fn: Callable[..., Any]
    if vectorized:
        objective_fn = lambda x, *a: jnp.asarray(func(x[:, None], *a))[0]  # noqa: E731
    else:
        user, args = prepare_bound({"fun": func}, (start,), args, solver="differential_evolution")
        objective_fn = user["fun"]
    params, static = eqx.partition(args, eqx.is_array)

    def objective(x, p):
        return jnp.asarray(objective_fn(x, *eqx.combine(p, static))).reshape(()).astype(x.dtype)

    solver = DifferentialEvolution(lower, upper, strategy=strategy, mutation=(lo, hi),
                                   recombination=float(recombination), rtol=float(tol), atol=float(atol),
                                   maxiter=int(maxiter), updating=updating)
    res = _run(objective, solver, init_pop, k_run, start, params, bool(polish), lower, upper, int(maxiter))
    if disp and is_concrete(res.fun):
        print(f"differential_evolution: f(x)= {float(res.fun):g}")
    return res
