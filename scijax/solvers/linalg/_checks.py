"""Argument checks shared by the dense decompositions and matrix equations (before tracing)."""

from typing import Any

import jax
import jax.core
import jax.numpy as jnp

from ..._typing import Array, ArrayLike

__all__ = ["is_concrete", "inexact", "check_finite_arg", "square", "honest_nan"]


def is_concrete(*xs: Any) -> bool:
    """True when no argument is a tracer (an eager call)."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def inexact(*xs: Array) -> Any:
    """The common floating (or complex) dtype of ``xs``; integers become the default float."""
    dtype = jnp.result_type(*xs)
    return dtype if jnp.issubdtype(dtype, jnp.inexact) else jnp.result_type(float)


def check_finite_arg(name: str, x: Array, check: bool) -> None:
    """SciPy's ``check_finite``: a concrete ``x`` holding inf or NaN raises ``ValueError``."""
    if check and is_concrete(x) and not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError(f"`{name}` must not contain infs or NaNs")


def square(name: str, x: ArrayLike, ndim: int | None = None) -> Array:
    """``x`` as an array of at least 2 (exactly ``ndim`` if given) dimensions, square in the last two."""
    x = jnp.asarray(x)
    if x.ndim < 2 or (ndim is not None and x.ndim != ndim):
        raise ValueError(f"`{name}` must be a {'2-D' if ndim == 2 else 'matrix (at least 2-D)'} array, "
                         f"got shape {x.shape}")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"`{name}` must be square, got shape {x.shape}")
    return x


def honest_nan(x: Array, ok: Array) -> Array:
    """``x`` where ``ok`` holds and every entry is finite, else all NaN (SciPy would raise)."""
    good = ok & jnp.all(jnp.isfinite(x))
    return jnp.where(good, x, jnp.nan)
