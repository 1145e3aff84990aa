"""One warning when a SciPy user's float64 work would silently run in float32.

JAX computes in float32 unless its 64-bit mode is on; SciPy always computes in float64. A user who
swaps only the import would get answers that differ from SciPy's in the 7th digit, tolerances below
about 1e-7 that cannot be met, and more iterations. JAX's own convention is to truncate silently
(it warns only for an explicitly requested float64 dtype). scijax keeps JAX's default (it does not
turn 64-bit mode on behind the user's back: that is process-wide and changes every other JAX
computation) and instead warns **once per process**, at the first eager solver call that receives
float64 NumPy data or Python floats while 64-bit mode is off, naming the one line that fixes it.
A user who works in float32 on purpose passes float32 arrays and is never warned.
"""

import warnings
from typing import Any

import jax
import numpy as np
from jax.core import Tracer

__all__ = ["PrecisionWarning", "warn_if_truncated"]

_warned = False


class PrecisionWarning(UserWarning):
    """float64 inputs are being computed in float32 because JAX's 64-bit mode is off."""


def _wants_float64(leaf: Any) -> bool:
    if isinstance(leaf, float):  # a Python float: SciPy computes it in float64
        return True
    if isinstance(leaf, (np.ndarray, np.floating)):
        return leaf.dtype in (np.float64, np.complex128)
    return False


def warn_if_truncated(solver: str, *inputs: Any) -> None:
    """Warn (once per process) if 64-bit mode is off and ``inputs`` hold float64 NumPy data or
    Python floats; only for eager calls (a tracer among the inputs means the user chose JAX)."""
    global _warned
    if _warned or jax.config.read("jax_enable_x64"):
        return
    leaves = jax.tree_util.tree_leaves(inputs)
    if any(isinstance(x, Tracer) for x in leaves) or not any(_wants_float64(x) for x in leaves):
        return
    _warned = True
    warnings.warn(
        f"{solver}: float64 inputs are computed in float32 because JAX's 64-bit mode is off (SciPy "
        "computes in float64, so results differ after about 7 digits and tighter tolerances cannot be "
        "met). For SciPy-level precision, put jax.config.update('jax_enable_x64', True) at the start "
        "of the program. (This warning is shown once.)",
        PrecisionWarning, stacklevel=3)
