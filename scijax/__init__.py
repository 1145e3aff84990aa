"""scijax: SciPy's solvers as pure, differentiable, batchable JAX functions.

Subpackages
-----------
solvers
    SciPy-compatible ODE solvers, optimisers, linear solvers and quadrature
    (``scijax.solvers.integrate``, ``scijax.solvers.optimize``,
    ``scijax.solvers.linalg``).
physics
    A catalog of model systems and PDE operators.
ml
    Neural-network components for hybrid physics/ML models.
parallel
    Ensembles over parameter batches, sharded over devices and hosts.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scijax")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .solvers._precision import PrecisionWarning as PrecisionWarning
from .solvers._userfn import NotTraceableError as NotTraceableError
from .solvers._userfn import NotTraceableWarning as NotTraceableWarning

__all__ = ["NotTraceableError", "NotTraceableWarning", "PrecisionWarning", "__version__"]
