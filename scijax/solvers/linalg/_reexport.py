"""Functions that ``jax.scipy.linalg`` already has with SciPy's exact signature and meaning.

They are re-exported unchanged (and tested against SciPy like the rest). Where SciPy raises
``LinAlgError`` for a singular or non-positive-definite matrix, these return non-finite values.
"""

from jax.scipy.linalg import cho_factor, cho_solve, lu_factor, lu_solve, solve_triangular

__all__ = ["cho_factor", "cho_solve", "lu_factor", "lu_solve", "solve_triangular"]
