"""Functions that ``jax.scipy.linalg`` already has with SciPy's signature and meaning.

They are re-exported unchanged (and tested against SciPy like the rest). Where SciPy raises
``LinAlgError`` for a singular or non-positive-definite matrix, these return non-finite values.
``polar`` and ``expm`` accept SciPy's arguments plus JAX's own keyword-only extras. ``schur``
(and everything built on it) runs on the CPU backend only.
"""

from jax.scipy.linalg import (
    cho_factor,
    cho_solve,
    cholesky,
    det,
    expm,
    lu_factor,
    lu_solve,
    polar,
    qr,
    qr_multiply,
    rsf2csf,
    solve_triangular,
    svd,
)

__all__ = ["cho_factor", "cho_solve", "cholesky", "det", "expm", "lu_factor", "lu_solve", "polar", "qr",
           "qr_multiply", "rsf2csf", "solve_triangular", "svd"]
