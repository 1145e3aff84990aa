"""SciPy-compatible solvers written as pure JAX functions.

``integrate`` mirrors :mod:`scipy.integrate`, ``optimize`` mirrors
:mod:`scipy.optimize` and ``linalg`` mirrors :mod:`scipy.linalg` together with
:mod:`scipy.sparse.linalg`. Nothing in here depends on ``scijax.ml``,
``scijax.physics`` or ``scijax.parallel``.
"""

from ._userfn import NotTraceableError as NotTraceableError
from ._userfn import NotTraceableWarning as NotTraceableWarning

__all__ = ["NotTraceableError", "NotTraceableWarning"]
