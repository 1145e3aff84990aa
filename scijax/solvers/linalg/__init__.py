"""SciPy-compatible linear algebra (mirrors :mod:`scipy.linalg` and :mod:`scipy.sparse.linalg`).

Dense structured solves (``solve``, ``lstsq``, ``cho_factor``, ...), Krylov methods (``cg``,
``gmres``, ``bicgstab``, ``minres``, ``lsqr``), ``LinearOperator`` and preconditioners.
"""

from ._cg import cg as cg
from ._operator import LinearOperator as LinearOperator
from ._operator import aslinearoperator as aslinearoperator
from ._precond import (
    chebyshev_preconditioner as chebyshev_preconditioner,
)
from ._precond import (
    jacobi_preconditioner as jacobi_preconditioner,
)

__all__ = ["LinearOperator", "aslinearoperator", "cg", "chebyshev_preconditioner", "jacobi_preconditioner"]
