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
from ._de_constraints import DEConstraints, parse_de_constraints
from ._de_setup import check_de_args as _check
from ._de_setup import initial_population as _initial_population
from ._de_setup import key_from as _key_from
from ._de_setup import parse_finite_bounds as _parse_finite_bounds
from ._minimize import minimize
from ._objective import prepare_args
from ._result import OptimizeResult, ResultFields
from ._solvers.differential_evolution import DifferentialEvolution

__all__ = ["DifferentialEvolutionResult", "differential_evolution"]

DE_MESSAGES: tuple[str, ...] = (
    "Optimization terminated successfully.",
    "Maximum number of iterations has been exceeded.",
    "Desired error not necessarily achieved due to precision loss.",
    "NaN result encountered.",
)
_INFEASIBLE = 4  # status: the answer violates the constraints (SciPy's message carries maxcv)


@jax.custom_jvp
def _no_derivative(x: Array, params: Any) -> Array:
    """``x``, whose derivative with respect to ``params`` is NaN: a sampled point has none."""
    return x


@_no_derivative.defjvp
def _no_derivative_jvp(primals, tangents):
    x = primals[0]
    return x, jnp.full_like(x, jnp.nan)


class DifferentialEvolutionResult(ResultFields):
    """SciPy's ``differential_evolution`` result (a pytree; ``message`` from ``status``).

    ``status``: 0 converged, 1 ``maxiter`` reached, 3 NaN energies, 4 the answer violates the
    constraints (then ``message`` is SciPy's, with ``maxcv``). ``constr``, ``constr_violation``
    and ``maxcv`` are present only with ``constraints``, as in SciPy.
    """

    x: Array
    success: Array
    status: Array
    fun: Any = None
    jac: Any = None
    nit: Any = None
    nfev: Any = None
    population: Any = None
    population_energies: Any = None
    constr: Any = None
    constr_violation: Any = None
    maxcv: Any = None
    messages: tuple[str, ...] = eqx.field(static=True, default=DE_MESSAGES)

    __repr__ = OptimizeResult.__repr__

    @property
    def message(self) -> str | list[str]:
        status = np.asarray(self.status)
        maxcv = np.broadcast_to(np.asarray(0.0 if self.maxcv is None else self.maxcv), status.shape).ravel()

        def text(i: int, code: int) -> str:
            if code == _INFEASIBLE:
                return f"The solution does not satisfy the constraints, MAXCV = {float(maxcv[i])}"
            return self.messages[code]

        if status.ndim == 0:
            return text(0, int(status))
        return [text(i, int(c)) for i, c in enumerate(status.ravel())]


class _Objective(eqx.Module):
    """``func(x, *args)`` as the engine calls it, ``(x, params) -> scalar`` (hashed by code)."""

    fun: Callable = eqx.field(static=True)
    static_args: Any = eqx.field(static=True)
    vectorized: bool = eqx.field(static=True)

    def __call__(self, x: Array, params: Any) -> Array:
        args = eqx.combine(params, self.static_args)
        if self.vectorized:  # SciPy's rule: x of shape (N, S) in, shape (S,) out
            return jnp.asarray(self.fun(x[:, None], *args)).reshape(-1)[0].astype(x.dtype)
        return jnp.asarray(self.fun(x, *args)).reshape(()).astype(x.dtype)


@jax.custom_jvp
def _no_constraint_derivative(x: Array, cons: Any) -> Array:
    """``x``, whose derivative with respect to the constraints' data (``A``, ``lb``, ``ub``) is NaN."""
    return x


@_no_constraint_derivative.defjvp
def _no_constraint_derivative_jvp(primals, tangents):
    x, x_dot = primals[0], tangents[0]
    moved = [jnp.any(t != 0) for t in jax.tree_util.tree_leaves(tangents[1])]
    return x, jnp.where(jnp.any(jnp.stack(moved)), jnp.nan, x_dot) if moved else x_dot


def _polish(objective, cons: DEConstraints, x, f, params, lower, upper):
    """SciPy's polish: L-BFGS-B, or trust-constr with constraints; kept if it improves ``fun``."""
    bounds = [(lower[i], upper[i]) for i in range(x.shape[0])]
    if not cons.sizes:
        res = minimize(lambda z, p: objective(z, p), x, args=(params,), method="L-BFGS-B", bounds=bounds)
        take = res.fun <= f  # L-BFGS-B only accepts decreases, so this holds unless the polish failed
    else:
        res = minimize(lambda z, p: objective(z, p), x, args=(params,), method="trust-constr", bounds=bounds,
                       constraints=cons.as_rows())
        take = res.success & (res.fun < f) & jnp.all((lower <= res.x) & (res.x <= upper))
    return res, take


@eqx.filter_jit
def _run(objective, cons: DEConstraints, solver, init_pop, key, x0, params, polish: bool, lower, upper,
         maxiter: int):
    inputs = (params, cons)
    fn = eqx.filter_closure_convert(lambda x, inp: (objective(x, inp[0]), inp[1].violation(x)), x0, inputs)
    sol = optx.minimise(fn, solver, x0, inputs, options={"key": key, "init_population": init_pop},
                        has_aux=True, max_steps=maxiter + 1, throw=False)
    stats = sol.stats
    x = jax.lax.stop_gradient(sol.value)
    f = jax.lax.stop_gradient(jnp.min(stats["population_energies"]))  # +inf if no member is feasible
    status = jnp.where(stats["converged"], 0, 1)
    status = jnp.where(jnp.isfinite(f), status, 3).astype(jnp.int32)
    cv = stats["best_violation"]  # as the search computed it (a recomputation may round differently)
    nfev, jac = stats["nfev"], None
    if polish:
        res, take = _polish(objective, cons, x, f, params, lower, upper)
        x = jnp.where(take, res.x, _no_derivative(x, params))
        f = jnp.where(take, res.fun, f)
        nfev = nfev + res.nfev
        jac = jnp.where(take, res.grad, jnp.nan) if cons.sizes else res.jac
        cv = jnp.where(take, cons.violation(jax.lax.stop_gradient(x)), cv)
    else:
        x = _no_derivative(x, params)
    extra = {}
    if cons.sizes:
        x = _no_constraint_derivative(x, eqx.filter(cons, eqx.is_inexact_array))
        maxcv = jnp.max(cv)
        status = jnp.where(maxcv > 0, _INFEASIBLE, status).astype(jnp.int32)
        constr = jnp.split(cv, np.cumsum(cons.sizes)[:-1].tolist())
        extra = {"constr": constr, "constr_violation": maxcv, "maxcv": maxcv}
    res = DifferentialEvolutionResult(
        x=x, success=status == 0, status=status, fun=f, jac=jac, nit=stats["nit"], nfev=nfev,
        population=stats["population"], population_energies=stats["population_energies"], **extra)
    return res, jnp.sum(stats["best_violation"]) <= 0  # (for the eager warning: did the search find one?)


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
) -> DifferentialEvolutionResult:
    """Find the global minimum of a function within bounds by differential evolution.

    Mirrors :func:`scipy.optimize.differential_evolution`. Each generation's trial vectors are
    evaluated together as one ``jax.vmap``-batched call of ``func``, so that on an accelerator a
    population of thousands costs about one function evaluation. The whole search (and the
    polish) is one compiled loop; it runs under ``jax.jit`` and ``jax.vmap``. ``constraints``
    are handled as SciPy handles them, by Lampinen's (2002) feasibility rules.

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
        Finish with ``minimize(method='L-BFGS-B')`` from the best member (our own L-BFGS-B), or,
        with ``constraints``, ``minimize(method='trust-constr')`` (our own), as SciPy does. The
        polished point is kept if it lowers ``fun`` (with constraints: if trust-constr also
        succeeded and the point lies within ``bounds``, SciPy's rule).
    init : {'latinhypercube', 'random'} or array of shape (S, N), optional
        How the population starts.
    updating : {'deferred', 'immediate'}, optional
        ``'deferred'`` (our default) evaluates each generation as one batch; ``'immediate'``
        updates member by member as SciPy's default does.
    workers : optional
        Ignored: the batch is already parallel (a warning if not 1).
    constraints : NonlinearConstraint, LinearConstraint, Bounds, or a sequence of them, optional
        Constraints beyond ``bounds`` (SciPy's classes; dicts are rejected, as in SciPy). A trial
        replaces its member when both are feasible and its energy is lower or equal, when only the
        trial is feasible, or when it is infeasible and violates no constraint more than the
        member does; infeasible members have energy +inf. A ``NonlinearConstraint``'s ``lb`` and
        ``ub`` may be traced (``vmap`` over a bound); ``fun(x)`` must be JAX-traceable or runs on
        the host (eager calls only), as ``func``.
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
    DifferentialEvolutionResult
        ``x``, ``fun``, ``nit`` (generations), ``nfev``, ``success``, ``status``, ``message``,
        ``population``, ``population_energies``, and ``jac`` when polished. With ``constraints``
        also ``constr`` (the violations of each constraint at ``x``), ``constr_violation`` and
        ``maxcv`` (their maximum); if ``maxcv > 0``, ``success`` is False, ``status`` 4 and
        ``message`` SciPy's "The solution does not satisfy the constraints, MAXCV = ...". An
        eager call whose search found no feasible point warns before polishing, as SciPy.

    Differences from SciPy
    ----------------------
    - The default ``updating`` is ``'deferred'`` (SciPy: ``'immediate'``), because batching a
      generation is what makes the search fast on accelerators; pass ``updating='immediate'`` for
      SciPy's sequential rule. The two are both Storn and Price's method and converge alike on
      standard test functions, but iterates differ, and so do SciPy's for the same seed (the
      random streams differ).
    - ``integrality``, ``callback`` and the ``'sobol'``/``'halton'`` initial populations are not
      supported yet and raise; ``workers`` is ignored. ``status`` is ours (SciPy's result has
      none): 0 converged, 1 ``maxiter``, 3 NaN, 4 infeasible answer.
    - With ``constraints``, every trial's objective is evaluated in the batch (SciPy skips it for
      infeasible trials), and ``nfev`` counts them all; an infeasible trial's value is discarded.
      ``jac`` is the objective's gradient at the polished point (SciPy's is trust-constr's
      constraint Jacobian), NaN if the polish was not kept. A traced ``lb``/``ub`` gives the
      trust-constr polish inequality rows only (which components are equalities must be known
      when tracing).
    - Differentiable only through the polish: ``jax.grad`` of ``x`` or ``fun`` with respect to
      ``args`` is the implicit derivative of the polished local minimum. Where the answer did not
      come from a successful polish (``polish=False``, or the population's best was better), the
      derivative of ``x`` is NaN: a sampled point has no derivative. Derivatives with respect to
      the constraints' data (``A``, ``lb``, ``ub``) are NaN (not implemented).

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
    if vectorized:
        objective_fn = func
    else:
        user, args = prepare_bound({"fun": func}, (start,), args, solver="differential_evolution")
        objective_fn = user["fun"]
    cons = parse_de_constraints(constraints, start, bool(vectorized))
    params, static = eqx.partition(args, eqx.is_array)
    objective = _Objective(objective_fn, static, bool(vectorized))
    solver = DifferentialEvolution(lower, upper, strategy=strategy, mutation=(lo, hi),
                                   recombination=float(recombination), rtol=float(tol), atol=float(atol),
                                   maxiter=int(maxiter), updating=updating)
    res, de_feasible = _run(objective, cons, solver, init_pop, k_run, start, params, bool(polish), lower, upper,
                            int(maxiter))
    if polish and cons.sizes and is_concrete(de_feasible) and not bool(np.all(de_feasible)):
        warnings.warn("differential evolution didn't find a solution satisfying the constraints, attempting to "
                      "polish from the least infeasible solution", UserWarning, stacklevel=2)
    if disp and is_concrete(res.fun):
        print(f"differential_evolution: f(x)= {float(res.fun):g}")
    return res
