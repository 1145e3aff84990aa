"""One test shared by every package: can a value be inspected now, or is it being traced?"""

from typing import Any

import jax
from jax.core import Tracer

__all__ = ["is_concrete"]


def is_concrete(*xs: Any) -> bool:
    """True when no leaf of ``xs`` is a JAX tracer, so its values can be read on the host now.

    Argument checks that look at values (finite, sorted, in range) run only when this holds;
    under ``jit``/``vmap``/``grad`` they are skipped and the traced code reports through ``status``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> is_concrete(jnp.ones(2), 3.0)
    True
    >>> jax.jit(lambda x: jnp.asarray(is_concrete(x)))(1.0).item()
    False
    """
    return not any(isinstance(leaf, Tracer) for leaf in jax.tree_util.tree_leaves(xs))
