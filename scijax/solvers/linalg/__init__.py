"""SciPy-compatible linear algebra (mirrors :mod:`scipy.linalg` and :mod:`scipy.sparse.linalg`).

Dense structured solves (``solve``, ``lstsq``, ``cho_factor``, ...), Krylov methods (``cg``,
``gmres``, ``bicgstab``, ``minres``, ``lsqr``, ``cgs``, ``bicg``, ``qmr``, ``tfqmr``, ...),
``LinearOperator`` and preconditioners.
"""

from scipy.linalg import LinAlgError as LinAlgError  # the exception classes SciPy code catches
from scipy.linalg import LinAlgWarning as LinAlgWarning
from scipy.sparse.linalg import ArpackError as ArpackError
from scipy.sparse.linalg import ArpackNoConvergence as ArpackNoConvergence
from scipy.sparse.linalg import MatrixRankWarning as MatrixRankWarning

from ._banded_eig import eig_banded as eig_banded
from ._banded_eig import eigvals_banded as eigvals_banded
from ._banded_eig import eigvalsh_tridiagonal as eigvalsh_tridiagonal
from ._bicg import bicg as bicg
from ._bicg import qmr as qmr
from ._bicgstab import bicgstab as bicgstab
from ._cg import cg as cg
from ._cgs import cgs as cgs
from ._cgs import tfqmr as tfqmr
from ._decomp import eigh as eigh
from ._decomp import eigh_tridiagonal as eigh_tridiagonal
from ._decomp import eigvalsh as eigvalsh
from ._decomp import hessenberg as hessenberg
from ._decomp import lu as lu
from ._decomp import schur as schur
from ._decomp_extra import eig as eig
from ._decomp_extra import eigvals as eigvals
from ._decomp_extra import null_space as null_space
from ._decomp_extra import orth as orth
from ._decomp_extra import pinv as pinv
from ._decomp_extra import pinvh as pinvh
from ._decomp_extra import svdvals as svdvals
from ._decomp_more import cdf2rdf as cdf2rdf
from ._decomp_more import matrix_balance as matrix_balance
from ._decomp_more import rq as rq
from ._dense import inv as inv
from ._dense import lstsq as lstsq
from ._dense import solve as solve
from ._dense import solve_banded as solve_banded
from ._eigen_sparse import eigs as eigs
from ._eigen_sparse import eigsh as eigsh
from ._expm_multiply import expm_multiply as expm_multiply
from ._expm_multiply import matrix_power as matrix_power
from ._expm_multiply import norm as norm
from ._expm_multiply import onenormest as onenormest
from ._gcrotmk import gcrotmk as gcrotmk
from ._gmres import gmres as gmres
from ._laplacian import LaplacianNd as LaplacianNd
from ._ldl import ldl as ldl
from ._lgmres import lgmres as lgmres
from ._lobpcg import lobpcg as lobpcg
from ._lsmr import lsmr as lsmr
from ._lsqr import lsqr as lsqr
from ._matfuncs import coshm as coshm
from ._matfuncs import cosm as cosm
from ._matfuncs import expm_cond as expm_cond
from ._matfuncs import expm_frechet as expm_frechet
from ._matfuncs import fractional_matrix_power as fractional_matrix_power
from ._matfuncs import logm as logm
from ._matfuncs import signm as signm
from ._matfuncs import sinhm as sinhm
from ._matfuncs import sinm as sinm
from ._matfuncs import tanhm as tanhm
from ._matfuncs import tanm as tanm
from ._matrix_eq import solve_continuous_lyapunov as solve_continuous_lyapunov
from ._matrix_eq import solve_continuous_lyapunov as solve_lyapunov  # SciPy's alias
from ._matrix_eq import solve_discrete_lyapunov as solve_discrete_lyapunov
from ._matrix_eq import solve_sylvester as solve_sylvester
from ._minres import minres as minres
from ._operator import LinearOperator as LinearOperator
from ._operator import aslinearoperator as aslinearoperator
from ._precond import chebyshev_preconditioner as chebyshev_preconditioner
from ._precond import jacobi_preconditioner as jacobi_preconditioner
from ._qr_update import qr_delete as qr_delete
from ._qr_update import qr_insert as qr_insert
from ._qr_update import qr_update as qr_update
from ._reexport import block_diag as block_diag
from ._reexport import cho_factor as cho_factor
from ._reexport import cho_solve as cho_solve
from ._reexport import cholesky as cholesky
from ._reexport import circulant as circulant
from ._reexport import companion as companion
from ._reexport import convolution_matrix as convolution_matrix
from ._reexport import det as det
from ._reexport import dft as dft
from ._reexport import expm as expm
from ._reexport import fiedler as fiedler
from ._reexport import fiedler_companion as fiedler_companion
from ._reexport import funm as funm
from ._reexport import hadamard as hadamard
from ._reexport import hankel as hankel
from ._reexport import helmert as helmert
from ._reexport import hilbert as hilbert
from ._reexport import leslie as leslie
from ._reexport import lu_factor as lu_factor
from ._reexport import lu_solve as lu_solve
from ._reexport import polar as polar
from ._reexport import qr as qr
from ._reexport import qr_multiply as qr_multiply
from ._reexport import rsf2csf as rsf2csf
from ._reexport import solve_triangular as solve_triangular
from ._reexport import sqrtm as sqrtm
from ._reexport import svd as svd
from ._reexport import toeplitz as toeplitz
from ._riccati import solve_continuous_are as solve_continuous_are
from ._riccati import solve_discrete_are as solve_discrete_are
from ._sparse_direct import SuperLU as SuperLU
from ._sparse_direct import factorized as factorized
from ._sparse_direct import is_sptriangular as is_sptriangular
from ._sparse_direct import spbandwidth as spbandwidth
from ._sparse_direct import spilu as spilu
from ._sparse_direct import splu as splu
from ._sparse_direct import spsolve as spsolve
from ._sparse_direct import spsolve_triangular as spsolve_triangular
from ._sparse_direct import use_solver as use_solver
from ._special_matrices import diagsvd as diagsvd
from ._special_matrices import invhilbert as invhilbert
from ._special_matrices import invpascal as invpascal
from ._special_matrices import khatri_rao as khatri_rao
from ._special_matrices import matmul_toeplitz as matmul_toeplitz
from ._special_matrices import pascal as pascal
from ._structure_queries import bandwidth as bandwidth
from ._structure_queries import ishermitian as ishermitian
from ._structure_queries import issymmetric as issymmetric
from ._structured import cho_solve_banded as cho_solve_banded
from ._structured import cholesky_banded as cholesky_banded
from ._structured import solve_circulant as solve_circulant
from ._structured import solve_toeplitz as solve_toeplitz
from ._structured import solveh_banded as solveh_banded
from ._subspace import orthogonal_procrustes as orthogonal_procrustes
from ._subspace import subspace_angles as subspace_angles
from ._svds import svds as svds

__all__ = [
    "LinAlgError",
    "LinAlgWarning",
    "ArpackError",
    "ArpackNoConvergence",
    "eigs",
    "eigsh",
    "svds",
    "MatrixRankWarning",
    "SuperLU",
    "factorized",
    "is_sptriangular",
    "spbandwidth",
    "spilu",
    "splu",
    "spsolve",
    "spsolve_triangular",
    "use_solver",
    "expm_multiply",
    "matrix_power",
    "norm",
    "onenormest",
    "lobpcg",
    "LaplacianNd",
    "block_diag",
    "circulant",
    "companion",
    "convolution_matrix",
    "dft",
    "fiedler",
    "fiedler_companion",
    "funm",
    "hadamard",
    "hankel",
    "helmert",
    "hilbert",
    "leslie",
    "sqrtm",
    "toeplitz",
    "LinearOperator",
    "aslinearoperator",
    "bicg",
    "bicgstab",
    "cg",
    "cgs",
    "chebyshev_preconditioner",
    "cho_factor",
    "cho_solve",
    "cho_solve_banded",
    "cholesky",
    "cholesky_banded",
    "det",
    "eig",
    "eigh",
    "eigh_tridiagonal",
    "eigvals",
    "eigvalsh",
    "expm",
    "gcrotmk",
    "gmres",
    "hessenberg",
    "inv",
    "jacobi_preconditioner",
    "ldl",
    "lgmres",
    "lsmr",
    "lsqr",
    "lstsq",
    "lu",
    "lu_factor",
    "lu_solve",
    "minres",
    "null_space",
    "orth",
    "pinv",
    "pinvh",
    "polar",
    "qmr",
    "qr",
    "qr_multiply",
    "rsf2csf",
    "schur",
    "solve",
    "solve_banded",
    "solve_circulant",
    "solve_continuous_are",
    "solve_continuous_lyapunov",
    "solve_discrete_are",
    "solve_discrete_lyapunov",
    "solve_sylvester",
    "solve_toeplitz",
    "solve_triangular",
    "solveh_banded",
    "svd",
    "svdvals",
    "tfqmr",
    "eig_banded",
    "eigvals_banded",
    "eigvalsh_tridiagonal",
    "cdf2rdf",
    "matrix_balance",
    "rq",
    "coshm",
    "cosm",
    "expm_cond",
    "expm_frechet",
    "fractional_matrix_power",
    "logm",
    "signm",
    "sinhm",
    "sinm",
    "tanhm",
    "tanm",
    "qr_delete",
    "qr_insert",
    "qr_update",
    "diagsvd",
    "invhilbert",
    "invpascal",
    "khatri_rao",
    "matmul_toeplitz",
    "pascal",
    "bandwidth",
    "ishermitian",
    "issymmetric",
    "orthogonal_procrustes",
    "subspace_angles",
    "solve_lyapunov",
]

# Eager calls return NumPy arrays and Python scalars, as SciPy does; traced calls stay JAX (scijax/_eager.py).
from ..._eager import wrap_public as _wrap_public  # noqa: E402 (wraps the names imported above)

_wrap_public(globals(), __all__)
