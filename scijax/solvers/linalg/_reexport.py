"""Functions that ``jax.scipy.linalg`` already has with SciPy's signature and meaning.

They are re-exported unchanged (and tested against SciPy like the rest). Where SciPy raises
``LinAlgError`` for a singular or non-positive-definite matrix, these return non-finite values.
``polar`` and ``expm`` accept SciPy's arguments plus JAX's own keyword-only extras. ``schur``
(and everything built on it: ``sqrtm``, ``funm``) runs on the CPU backend only. The special-matrix
constructors (``toeplitz``, ``hankel``, ``circulant``, ``block_diag``, ``companion``, ...) are
SciPy's; ``pascal``, ``invpascal`` and ``invhilbert`` are left out (JAX's lack SciPy's ``exact=``).
"""

from jax.scipy.linalg import (
    block_diag,
    cho_factor,
    cho_solve,
    cholesky,
    circulant,
    companion,
    convolution_matrix,
    det,
    dft,
    expm,
    fiedler,
    fiedler_companion,
    funm,
    hadamard,
    hankel,
    helmert,
    hilbert,
    leslie,
    lu_factor,
    lu_solve,
    polar,
    qr,
    qr_multiply,
    rsf2csf,
    solve_triangular,
    sqrtm,
    svd,
    toeplitz,
)

__all__ = ["cho_factor", "cho_solve", "cholesky", "det", "expm", "lu_factor", "lu_solve", "polar", "qr",
           "qr_multiply", "rsf2csf", "solve_triangular", "svd", "block_diag", "circulant", "companion",
           "convolution_matrix", "dft", "fiedler", "fiedler_companion", "funm", "hadamard", "hankel", "helmert",
           "hilbert", "leslie", "sqrtm", "toeplitz"]
