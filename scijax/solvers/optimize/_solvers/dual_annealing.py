"""Generalised simulated annealing (Tsallis and Stariolo 1996; Xiang et al. 1997): the engine.

Pure functions on an :class:`AnnealState`: the Tsallis visiting distribution, one Markov chain
of ``2 N`` visits at a given temperature, and the schedule. The local search is passed in by the
facade (``scijax.solvers.optimize.dual_annealing``), so this module has no SciPy-facing code.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jaxtyping import Array

__all__ = ["AnnealState", "visiting_step", "temperature_at", "run_chain", "random_start"]

TAIL_LIMIT = 1.0e8  # visits beyond this are redrawn uniformly in [0, TAIL_LIMIT)
MIN_VISIT_BOUND = 1.0e-10  # a visit exactly on the lower bound is nudged inside
MAX_REINIT = 1000  # random restarts tried while the objective is not finite
RUNNING, MAXITER, MAXFUN_CHAIN, MAXFUN_LS, NONFINITE = -1, 0, 1, 2, 3


class AnnealState(eqx.Module):
    x: Array  # current location
    e: Array
    xbest: Array
    ebest: Array
    xmin: Array  # the chain's reference point for a forced local search
    emin: Array
    key: Array
    nfev: Array
    njev: Array
    nit: Array  # completed annealing iterations (SciPy's ``nit``)
    step: Array  # position in the current temperature schedule (reset by a re-annealing)
    not_improved: Array
    not_improved_max: Array
    improved: Array  # the best energy improved during the last chain
    best_ls: Array  # the best point came from a successful local search (a stationary point)
    status: Array  # RUNNING or a final code


def temperature_at(initial_temp: float, visit: float, step: Array, dtype) -> Array:
    """``T(k) = T0 (2^(q-1) - 1) / ((k + 2)^(q-1) - 1)`` (Tsallis' fast annealing schedule)."""
    t1 = 2.0 ** (visit - 1.0) - 1.0
    t2 = jnp.exp((visit - 1.0) * jnp.log(step.astype(dtype) + 2.0)) - 1.0
    return initial_temp * t1 / t2


def _visit_sample(key: Array, temperature: Array, visit: float, size: int, dtype) -> Array:
    """Draws from the Tsallis–Stariolo visiting distribution with ``q_v = visit`` (Mantegna's method)."""
    q = visit
    f2 = jnp.exp((4.0 - q) * jnp.log(q - 1.0))
    f3 = jnp.exp((2.0 - q) * jnp.log(2.0) / (q - 1.0))
    f5 = 1.0 / (q - 1.0) - 0.5
    f6 = jnp.pi * (1.0 - f5) / jnp.sin(jnp.pi * (1.0 - f5)) / jnp.exp(gammaln(2.0 - f5))
    f1 = jnp.exp(jnp.log(temperature) / (q - 1.0))
    f4 = jnp.sqrt(jnp.pi) * f1 * f2 / (f3 * (3.0 - q))
    sigma = jnp.exp(-(q - 1.0) * jnp.log(f6 / f4) / (3.0 - q))
    kx, ky = jax.random.split(key)
    num = sigma * jax.random.normal(kx, (size,), dtype)
    den = jnp.exp((q - 1.0) * jnp.log(jnp.abs(jax.random.normal(ky, (size,), dtype))) / (3.0 - q))
    return (num / den).astype(dtype)


def _wrap(x: Array, lower: Array, upper: Array) -> Array:
    """Fold a point back into the box periodically, as the visiting scheme prescribes."""
    width = upper - lower
    y = jnp.fmod(jnp.fmod(x - lower, width) + width, width) + lower
    return jnp.where(jnp.abs(y - lower) < MIN_VISIT_BOUND, y + MIN_VISIT_BOUND, y)


def visiting_step(key: Array, x: Array, j: Array, temperature: Array, visit: float, lower: Array,
                  upper: Array) -> Array:
    """Visit ``j`` of a chain: all coordinates at once for ``j < N``, coordinate ``j - N`` after."""
    n = x.shape[0]
    k_v, k_hi, k_lo = jax.random.split(key, 3)
    v = _visit_sample(k_v, temperature, visit, n, x.dtype)
    v = jnp.where(v > TAIL_LIMIT, TAIL_LIMIT * jax.random.uniform(k_hi, (), x.dtype), v)
    v = jnp.where(v < -TAIL_LIMIT, -TAIL_LIMIT * jax.random.uniform(k_lo, (), x.dtype), v)
    full = j < n
    mask = full | (jnp.arange(n) == j - n)
    step = jnp.where(full, v, v[0])
    return jnp.where(mask, _wrap(x + step, lower, upper), x)


def random_start(key: Array, energy: Callable[[Array], Array], lower: Array, upper: Array,
                 x_first: Array) -> tuple[Array, Array, Array, Array]:
    """``x_first`` or, while the energy is not finite, uniform random points (at most ``MAX_REINIT``).

    Returns ``(x, e, evaluations, key)``.
    """
    def cond(c):
        return ~jnp.isfinite(c[1]) & (c[2] <= MAX_REINIT)

    def body(c):
        _, _, count, k = c
        k, sub = jax.random.split(k)
        x = jax.random.uniform(sub, lower.shape, lower.dtype, lower, upper)
        return x, energy(x), count + 1, k

    x, e, count, key = jax.lax.while_loop(cond, body, (x_first, energy(x_first), jnp.array(1), key))
    return x, e, count, key


def _keep(done: Array, old: Array, new: Array) -> Array:
    if jnp.issubdtype(new.dtype, jax.dtypes.prng_key):
        return new  # the random stream advances either way
    return jnp.where(done, old, new)


def run_chain(s: AnnealState, temperature: Array, energy: Callable[[Array], Array], visit: float,
              accept: float, lower: Array, upper: Array, maxfun: float) -> AnnealState:
    """One Markov chain of ``2 N`` visits at ``temperature``; stops early at ``maxfun`` evaluations."""
    n = s.x.shape[0]
    t_step = temperature / (s.step + 1).astype(s.x.dtype)
    s = eqx.tree_at(lambda t: (t.not_improved, t.improved), s, (s.not_improved + 1, s.step == 0))

    def visit_one(j, s: AnnealState) -> AnnealState:
        key, k_visit, k_acc = jax.random.split(s.key, 3)
        xv = visiting_step(k_visit, s.x, j, temperature, visit, lower, upper)
        e = energy(xv)
        lower_e = e < s.e
        new_best = lower_e & (e < s.ebest)
        # Generalised Metropolis acceptance of an uphill move (Tsallis' q_a = accept).
        pqv_arg = 1.0 - (1.0 - accept) * (e - s.e) / t_step
        pqv = jnp.where(pqv_arg > 0, jnp.exp(jnp.log(jnp.maximum(pqv_arg, 1e-300)) / (1.0 - accept)), 0.0)
        uphill = ~lower_e & (jax.random.uniform(k_acc, (), s.x.dtype) <= pqv)
        move = lower_e | uphill
        x, e_cur = jnp.where(move, xv, s.x), jnp.where(move, e, s.e)
        xmin, emin = jnp.where(uphill, xv, s.xmin), jnp.where(uphill, e, s.emin)
        stale = ~lower_e & (s.not_improved >= s.not_improved_max)
        reset_ref = stale & ((j == 0) | (e_cur < emin))
        xmin, emin = jnp.where(reset_ref, x, xmin), jnp.where(reset_ref, e_cur, emin)
        nfev = s.nfev + 1
        status = jnp.where(nfev >= maxfun, MAXFUN_CHAIN, RUNNING)
        new = AnnealState(x, e_cur, jnp.where(new_best, xv, s.xbest), jnp.where(new_best, e, s.ebest), xmin, emin,
                          key, nfev, s.njev, s.nit, s.step, jnp.where(new_best, 0, s.not_improved),
                          s.not_improved_max, s.improved | new_best, s.best_ls & ~new_best, status)
        done = s.status != RUNNING  # the budget ran out earlier in this chain: keep the state
        return jax.tree_util.tree_map(lambda a, b: _keep(done, a, b), s, new)

    return jax.lax.fori_loop(0, 2 * n, visit_one, s)
