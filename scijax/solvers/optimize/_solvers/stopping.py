"""SciPy's stopping rule shared by our own minimisers.

:func:`scipy_terminate` stops on the state's ``converged``, ``stalled``, ``nit`` (against
``maxiter``) and a non-finite ``f``, mapped to optimistix results that the facades translate to
SciPy's status codes; :func:`scipy_stats` hands ``nit``, ``nfev`` and ``converged`` to the facade.
"""

from typing import Any

import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["scipy_terminate", "scipy_stats"]


def scipy_terminate(state: Any, maxiter: int) -> tuple[Array, optx.RESULTS]:
    """The ``terminate`` of our own minimisers, from their state's ``converged``, ``stalled``
    (no acceptable step), ``nit`` and ``f``: stop when converged, at ``maxiter`` iterations,
    when stalled (``nonlinear_divergence``, SciPy's status 2) or on a non-finite ``f``."""
    out_of_iters = (state.nit >= maxiter) & jnp.invert(state.converged)
    nonfinite = jnp.invert(jnp.isfinite(state.f))
    result = optx.RESULTS.where(out_of_iters, optx.RESULTS.nonlinear_max_steps_reached,
                                optx.RESULTS.successful)
    result = optx.RESULTS.where(state.stalled & jnp.invert(state.converged),
                                optx.RESULTS.nonlinear_divergence, result)
    result = optx.RESULTS.where(nonfinite, optx.RESULTS.nonfinite, result)
    return state.converged | out_of_iters | state.stalled | nonfinite, result


def scipy_stats(state: Any) -> dict[str, Array]:
    """The counters every engine reports to its facade."""
    return {"nit": state.nit, "nfev": state.nfev, "converged": state.converged}
