"""Bounds in every form SciPy accepts: a sequence of ``(lb, ub)`` pairs with ``None`` for no
bound, a ``scipy.optimize.Bounds``, or a pair ``(lb, ub)`` of scalars/arrays (least_squares)."""

import warnings
from typing import Any

import jax.core
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array
from scipy.optimize import OptimizeWarning

__all__ = ["parse_bounds", "clip_x0", "bounds_are_none"]


def bounds_are_none(bounds: Any) -> bool:
    return bounds is None or (isinstance(bounds, (list, tuple)) and len(bounds) == 0)


def _is_concrete(x: Any) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def parse_bounds(bounds: Any, n: int, dtype, pairs: bool = True) -> tuple[Array, Array]:
    """Return ``(lower, upper)`` arrays of length ``n`` (``-inf``/``inf`` where unbounded).

    ``pairs=True`` reads a sequence as one ``(lb, ub)`` per variable (``minimize``);
    ``pairs=False`` reads it as ``(lb, ub)`` with each broadcast to ``n`` (``least_squares``).
    """
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lower, upper = bounds.lb, bounds.ub
    elif pairs:
        try:
            pairs_list = list(bounds)
            if len(pairs_list) != n or any(len(p) != 2 for p in pairs_list):
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(f"`bounds` must have one (min, max) pair per variable ({n}).") from None
        lower = [-np.inf if p[0] is None else p[0] for p in pairs_list]
        upper = [np.inf if p[1] is None else p[1] for p in pairs_list]
    else:
        try:
            lower, upper = bounds
        except (TypeError, ValueError):
            raise ValueError("`bounds` must be a tuple `(lb, ub)` or a `Bounds` instance.") from None
    lower = _broadcast(lower, n, dtype, -np.inf)
    upper = _broadcast(upper, n, dtype, np.inf)
    if _is_concrete((lower, upper)) and bool(np.any(np.asarray(lower) > np.asarray(upper))):
        raise ValueError("`bounds`: an upper bound is less than the corresponding lower bound.")
    return lower, upper


def _broadcast(b: Any, n: int, dtype, fill: float) -> Array:
    if b is None:
        b = fill
    if _is_concrete(b):
        b = np.asarray(b, dtype=float)
        b = np.where(np.isnan(b), fill, b) if b.dtype.kind == "f" else b
    b = jnp.asarray(b, dtype=dtype)
    if b.ndim > 1 or (b.ndim == 1 and b.shape[0] not in (1, n)):
        raise ValueError(f"`bounds` must broadcast to the {n} variables; got shape {b.shape}.")
    return jnp.broadcast_to(b, (n,))


def clip_x0(x0: Array, lower: Array, upper: Array) -> Array:
    """Clip ``x0`` into the bounds with SciPy's warning when it lies outside them."""
    if _is_concrete((x0, lower, upper)):
        if bool(np.any((np.asarray(x0) < np.asarray(lower)) | (np.asarray(x0) > np.asarray(upper)))):
            warnings.warn("Initial guess is not within the specified bounds", OptimizeWarning,
                          stacklevel=3)
    return jnp.clip(x0, lower, upper)
