"""``differential_evolution``'s argument checks, random key and initial population.

(Also used by ``dual_annealing`` and ``basinhopping``, through ``_differential_evolution``.)
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._bounds import parse_bounds
from ._solvers.differential_evolution import STRATEGIES

__all__ = ["check_de_args", "initial_population", "key_from", "parse_finite_bounds"]


def key_from(seed: Any, rng: Any) -> Array:
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


def check_de_args(strategy, popsize, mutation, recombination, maxiter, tol, atol, updating, init, n) -> tuple:
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


def initial_population(init: Any, key: Array, size: int, n: int, lower, upper, dtype) -> Array:
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


def parse_finite_bounds(bounds: Any, dtype) -> tuple[Array, Array]:
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
