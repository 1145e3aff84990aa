"""``scipy.optimize.basinhopping``: random hops, local minimisations and a Metropolis test, compiled."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete
from ._differential_evolution import _key_from
from ._minimize import minimize
from ._objective import prepare_x0
from ._result import OptimizeResult

__all__ = ["basinhopping"]

BH_MESSAGES: tuple[str, ...] = (
    "requested number of basinhopping iterations completed successfully",
    "success condition satisfied",
)


class _Hop(eqx.Module):
    x: Array  # current point (after its local minimisation)
    f: Array
    best_x: Array
    best_f: Array
    best_ok: Array
    best_res: Any  # the OptimizeResult of the lowest successful local minimisation
    stepsize: Array
    n_accept: Array
    since_best: Array
    nit: Array
    nfev: Array
    failures: Array
    key: Array


def basinhopping(
    func: Callable[..., ArrayLike],
    x0: ArrayLike,
    niter: int = 100,
    T: float = 1.0,
    stepsize: float = 0.5,
    minimizer_kwargs: dict | None = None,
    take_step: Callable | None = None,
    accept_test: Callable | None = None,
    callback: Callable | None = None,
    interval: int = 50,
    disp: bool = False,
    niter_success: int | None = None,
    rng: Any = None,
    *,
    target_accept_rate: float = 0.5,
    stepwise_factor: float = 0.9,
    seed: Any = None,
) -> OptimizeResult:
    """Find a global minimum by basin hopping (Wales and Doye, 1997).

    Mirrors :func:`scipy.optimize.basinhopping`: from the local minimum found from ``x0``, each
    iteration displaces every coordinate uniformly in ``[-stepsize, stepsize]``, minimises locally
    with :func:`minimize` (``minimizer_kwargs``), and accepts the new minimum by the Metropolis
    criterion at temperature ``T``. Every ``interval`` iterations the step size adapts towards
    ``target_accept_rate`` (divided by ``stepwise_factor`` when more are accepted, multiplied
    otherwise). The lowest successful local minimum is returned. All iterations are one compiled
    loop, so the call runs under ``jax.jit`` and ``jax.vmap``.

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float``, written in JAX; ``args`` go in ``minimizer_kwargs['args']``.
    x0 : array_like
        Initial guess.
    niter : int, optional
        Number of hops.
    T : float, optional
        Temperature of the Metropolis test (0 accepts only improvements).
    stepsize : float, optional
        Initial maximum displacement.
    minimizer_kwargs : dict, optional
        Keyword arguments of :func:`minimize` (``method``, ``jac``, ``args``, ``bounds``, ``options``, ...).
    take_step, accept_test, callback : None
        Not supported (see Differences).
    interval : int, optional
        Hops between step-size updates.
    disp : bool, optional
        Print the lowest value at the end.
    niter_success : int, optional
        Stop when the lowest minimum has not improved for this many hops.
    rng, seed : int, numpy Generator or jax.random key, optional
        Randomness (a JAX stream: the hops differ from SciPy's for the same int).
    target_accept_rate, stepwise_factor : float, optional
        The step-size adaptation.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``nit``, ``nfev``, ``success`` (that of the lowest local minimisation),
        ``message``, ``minimization_failures`` and ``lowest_optimization_result``.

    Differences from SciPy
    ----------------------
    - Custom ``take_step``, ``accept_test`` and ``callback`` are not supported yet (they raise).
    - ``message`` is a string (SciPy: a one-element list).
    - ``jax.grad`` of ``x`` or ``fun`` is the implicit derivative of the lowest local minimum, as
      for :func:`minimize` (NaN if that minimisation did not succeed); which basin is lowest is
      piecewise constant in the parameters.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import basinhopping
    >>> f = lambda x: jnp.cos(14.5 * x[0] - 0.3) + (x[0] + 0.2) * x[0]
    >>> res = basinhopping(f, jnp.array([1.0]), niter=50, rng=0)
    >>> round(float(res.x[0]), 4), round(float(res.fun), 4)
    (-0.1951, -1.0009)
    """
    for name, value in (("take_step", take_step), ("accept_test", accept_test), ("callback", callback)):
        if value is not None:
            raise TypeError(f"`{name}` is not supported by scijax's basinhopping yet.")
    if int(niter) < 0:
        raise ValueError(f"`niter` must be >= 0; got {niter!r}.")
    if float(T) < 0 or float(stepsize) <= 0:
        raise ValueError("`T` must be >= 0 and `stepsize` > 0.")
    if int(interval) < 1:
        raise ValueError(f"`interval` must be >= 1; got {interval!r}.")
    if not 0.0 < float(stepwise_factor) < 1.0:
        raise ValueError(f"`stepwise_factor` must be in (0, 1); got {stepwise_factor!r}.")
    kwargs = dict(minimizer_kwargs or {})
    x, unravel, _ = prepare_x0(x0)
    key = _key_from(seed, rng)
    beta = jnp.inf if float(T) == 0.0 else 1.0 / float(T)
    patience = int(niter) + 1 if niter_success is None else int(niter_success)

    def local(z: Array) -> OptimizeResult:
        res = minimize(func, unravel(z), **kwargs)
        flat = prepare_x0(res.x)[0] if not isinstance(res.x, jax.Array) or res.x.ndim != 1 else res.x
        return eqx.tree_at(lambda r: r.x, res, flat)

    first = local(x)
    start = _Hop(first.x, first.fun, first.x, first.fun, first.success, first,
                 jnp.asarray(float(stepsize), x.dtype), jnp.array(0), jnp.array(0), jnp.array(0),
                 jnp.asarray(first.nfev), jnp.where(first.success, 0, 1), key)

    def hop(s: _Hop) -> _Hop:
        key, k_step, k_accept = jax.random.split(s.key, 3)
        trial = s.x + jax.random.uniform(k_step, s.x.shape, s.x.dtype, -s.stepsize, s.stepsize)
        res = local(trial)
        w = jnp.exp(jnp.minimum(0.0, -(res.fun - s.f) * beta))
        accept = jnp.isfinite(res.fun) & (w >= jax.random.uniform(k_accept, (), s.x.dtype))
        x, f = jnp.where(accept, res.x, s.x), jnp.where(accept, res.fun, s.f)
        better = res.success & (res.fun < s.best_f)
        nit, n_accept = s.nit + 1, s.n_accept + accept
        rate = n_accept / nit
        adapt = (nit % int(interval)) == 0
        step = jnp.where(adapt, jnp.where(rate > target_accept_rate, s.stepsize / stepwise_factor,
                                          s.stepsize * stepwise_factor), s.stepsize)
        best_res = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), res, s.best_res)
        return _Hop(x, f, jnp.where(better, res.x, s.best_x), jnp.where(better, res.fun, s.best_f),
                    s.best_ok | res.success, best_res, step, n_accept, jnp.where(better, 0, s.since_best + 1),
                    nit, s.nfev + res.nfev, s.failures + jnp.where(res.success, 0, 1), key)

    end = jax.lax.while_loop(lambda s: (s.nit < int(niter)) & (s.since_best < patience), hop, start)
    status = jnp.where(end.since_best >= patience, 1, 0).astype(jnp.int32)
    # The loop is not differentiated: one more local minimisation from the (constant) lowest point
    # carries minimize's implicit derivative, in forward and reverse mode alike.
    lowest = local(jax.lax.stop_gradient(end.best_x))
    lowest = eqx.tree_at(lambda r: r.nfev, lowest, jnp.asarray(end.best_res.nfev))
    result = OptimizeResult(x=unravel(lowest.x), success=lowest.success, status=status, fun=lowest.fun,
                            jac=lowest.jac, nit=end.nit, nfev=end.nfev, minimization_failures=end.failures,
                            lowest_optimization_result=lowest, messages=BH_MESSAGES)
    if disp and is_concrete(end.best_f):
        print(f"basinhopping: lowest function value {float(end.best_f):g} after {int(end.nit)} hops")
    return result
