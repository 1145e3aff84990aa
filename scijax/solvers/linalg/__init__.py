"""SciPy-compatible linear algebra (mirrors :mod:`scipy.linalg` and :mod:`scipy.sparse.linalg`).

Dense structured solves (``solve``, ``lstsq``, ``cho_factor``, ...), Krylov methods (``cg``,
``gmres``, ``bicgstab``, ``minres``, ``lsqr``), ``LinearOperator`` and preconditioners.
"""

from ._bicgstab import bicgstab as bicgstab
from ._cg import cg as cg
from ._gmres import gmres as gmres
from ._lsqr import lsqr as lsqr
from ._minres import minres as minres
from ._operator import LinearOperator as LinearOperator
from ._operator import aslinearoperator as aslinearoperator
from ._precond import chebyshev_preconditioner as chebyshev_preconditioner
from ._precond import jacobi_preconditioner as jacobi_preconditioner

__all__ = [
    "LinearOperator",
    "aslinearoperator",
    "bicgstab",
    "cg",
    "chebyshev_preconditioner",
    "gmres",
    "jacobi_preconditioner",
    "lsqr",
    "minres",
]
