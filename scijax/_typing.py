"""Type aliases shared across scijax (one place, as in diffrax's ``_custom_types.py``)."""

from collections.abc import Callable
from typing import Any, TypeAlias

import jax
import numpy as np
from jaxtyping import Array, ArrayLike, PyTree

__all__ = ["Array", "ArrayLike", "PyTree", "Scalar", "RHS", "EventFn", "DTypeLike"]

Scalar: TypeAlias = float | int | complex | np.generic | jax.Array
RHS: TypeAlias = Callable[..., ArrayLike]
"""A right-hand side in SciPy's convention: ``fun(t, y, *args) -> dy/dt``."""
EventFn: TypeAlias = Callable[..., ArrayLike]
"""An event function in SciPy's convention: ``event(t, y, *args) -> float``."""
DTypeLike: TypeAlias = Any
