"""Ensembles over parameter batches, sharded over devices and hosts.

- :func:`ensemble` maps any JAX computation over a batch: ``vmap`` on one
  device, a 1-D mesh over many, every process's devices after
  ``jax.distributed.initialize``.
- :func:`ensemble_solve_ivp` solves one ODE for many initial states and
  parameters, with the ``'vmap'``, ``'lean'`` and ``'fused'`` backends.
- :func:`ensemble_mean`, :func:`ensemble_std`, :func:`ensemble_quantile`,
  :func:`failed_fraction` and :func:`ensemble_summary` summarise a Monte Carlo
  ensemble from the members' ``status``.
"""

from ._ensemble import ensemble as ensemble
from ._ivp import EnsembleResult as EnsembleResult
from ._ivp import ensemble_solve_ivp as ensemble_solve_ivp
from ._summary import EnsembleSummary as EnsembleSummary
from ._summary import ensemble_mean as ensemble_mean
from ._summary import ensemble_quantile as ensemble_quantile
from ._summary import ensemble_std as ensemble_std
from ._summary import ensemble_summary as ensemble_summary
from ._summary import failed_fraction as failed_fraction

__all__ = [
    "ensemble",
    "ensemble_solve_ivp",
    "EnsembleResult",
    "EnsembleSummary",
    "ensemble_mean",
    "ensemble_std",
    "ensemble_quantile",
    "failed_fraction",
    "ensemble_summary",
]
