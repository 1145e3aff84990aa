"""SciPy-compatible linear algebra (mirrors :mod:`scipy.linalg` and :mod:`scipy.sparse.linalg`).

Dense structured solves (``solve``, ``lstsq``, ``cho_factor``, ...), Krylov methods (``cg``,
``gmres``, ``bicgstab``, ``minres``, ``lsqr``), ``LinearOperator`` and preconditioners.
"""

from ._bicgstab import bicgstab as bicgstab
from ._cg import cg as cg
from ._dense import inv as inv
from ._dense import lstsq as lstsq
from ._dense import solve as solve
from ._dense import solve_banded as solve_banded
from ._gmres import gmres as gmres
from ._lsqr import lsqr as lsqr
from ._minres import minres as minres
from ._operator import LinearOperator as LinearOperator
from ._operator import aslinearoperator as aslinearoperator
from ._precond import chebyshev_preconditioner as chebyshev_preconditioner
from ._precond import jacobi_preconditioner as jacobi_preconditioner
from ._reexport import cho_factor as cho_factor
from ._reexport import cho_solve as cho_solve
from ._reexport import lu_factor as lu_factor
from ._reexport import lu_solve as lu_solve
from ._reexport import solve_triangular as solve_triangular

__all__ = [
    "LinearOperator",
    "aslinearoperator",
    "bicgstab",
    "cg",
    "chebyshev_preconditioner",
    "cho_factor",
    "cho_solve",
    "gmres",
    "inv",
    "jacobi_preconditioner",
    "lsqr",
    "lstsq",
    "lu_factor",
    "lu_solve",
    "minres",
    "solve",
    "solve_banded",
    "solve_triangular",
]
