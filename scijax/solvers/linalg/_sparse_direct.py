"""Direct sparse solves of :mod:`scipy.sparse.linalg` (``spsolve``, ``splu``, ``spilu``, ``factorized``,
``spsolve_triangular``) on dense factorisations, and the structure queries ``is_sptriangular`` and
``spbandwidth``.

SciPy factors with SuperLU (a sparse LU with a fill-reducing column ordering). JAX has no sparse LU
on CPU or GPU, so ``splu`` and ``spsolve`` densify the matrix and run LAPACK's partially pivoted LU
(``jax.scipy.linalg.lu_factor``): ``O(N^2)`` memory and ``O(N^3)`` work, fine to a few thousand
unknowns, on every backend, differentiable, and traceable. ``spilu`` is a true incomplete
factorisation, ILU(0) on the sparsity pattern of ``A``, stored densely.
"""

import sys
import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsparse
from scipy.sparse.linalg import MatrixRankWarning

from ..._concrete import is_concrete
from ..._eager import eager_scipy
from ..._typing import Array, ArrayLike
from ._operator import LinearOperator

__all__ = ["spsolve", "splu", "spilu", "factorized", "spsolve_triangular", "SuperLU", "is_sptriangular",
           "spbandwidth", "use_solver"]

_TRANS = {"N": 0, "T": 1, "H": 2}


def _dense(A: Any, name: str = "A") -> Array:
    """A square matrix (dense, ``scipy.sparse``, BCOO/BCSR) as a dense inexact JAX array."""
    if isinstance(A, LinearOperator):
        raise TypeError(f"`{name}` must be a matrix (dense, scipy.sparse or BCOO/BCSR), not a LinearOperator")
    if sp.issparse(A):
        a = jnp.asarray(A.toarray())
    elif isinstance(A, jsparse.JAXSparse):
        a = A.todense()
    else:
        a = jnp.asarray(A)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"`{name}` must be a square matrix, got shape {a.shape}")
    if not jnp.issubdtype(a.dtype, jnp.inexact):
        a = a.astype(jnp.result_type(float))
    return a


def _rhs(b: Any, n: int, dtype: Any) -> Array:
    if sp.issparse(b):
        b = b.toarray()
    elif isinstance(b, jsparse.JAXSparse):
        b = b.todense()
    b = jnp.asarray(b)
    if b.ndim not in (1, 2) or b.shape[0] != n:
        raise ValueError(f"`b` must have shape ({n},) or ({n}, K) to match `A`, got {b.shape}")
    return b.astype(jnp.result_type(dtype, b.dtype))


def _honest(x: Array, ok: Array) -> Array:
    """NaN unless the factorisation was nonsingular (linear in ``x``, so it transposes); eager calls
    warn as SciPy does."""
    if is_concrete(ok, x) and not (bool(ok) and bool(jnp.all(jnp.isfinite(x)))):
        warnings.warn("Matrix is exactly singular", MatrixRankWarning, stacklevel=_caller_level())
    return jnp.where(ok, x, jnp.nan)


def _caller_level() -> int:
    """``stacklevel`` of the first frame outside this module and equinox (whose method wrapper adds a
    frame to ``lu.solve(b)``), so the warning points at the user's line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename == __file__ or "equinox" in frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


class SuperLU(eqx.Module):
    """An LU factorisation ``Pr A Pc = L U``, like SciPy's ``SuperLU`` object (a pytree here).

    Attributes
    ----------
    shape : tuple
        ``(N, N)``.
    nnz : int
        Stored entries of ``L`` and ``U`` (dense: ``N**2``; for ``spilu``, those in the pattern).
    perm_r, perm_c : Array
        Row and column permutations: ``Pr[perm_r[i], i] = 1`` (``perm_c`` is the identity: no
        column ordering runs).
    L, U : Array
        Dense unit lower and upper triangular factors (SciPy returns ``csc`` matrices).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import splu
    >>> lu = splu(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> lu.solve(jnp.array([5.0, 11.0])).round(12).tolist()
    [1.0, 2.0]
    """

    lu: Array
    piv: Array
    perm_r: Array
    perm_c: Array
    nnz: int = eqx.field(static=True)
    ok: Array

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.lu.shape[0]), int(self.lu.shape[1]))

    @property
    def L(self) -> Array:  # noqa: N802 -- SciPy's name
        return jnp.tril(self.lu, -1) + jnp.eye(self.lu.shape[0], dtype=self.lu.dtype)

    @property
    def U(self) -> Array:  # noqa: N802 -- SciPy's name
        return jnp.triu(self.lu)

    def solve(self, rhs: ArrayLike, trans: str = "N") -> Array:
        """Solve ``A x = rhs`` (``trans='T'``: ``A^T x = rhs``; ``'H'``: ``A^H x = rhs``).

        A NumPy array in an eager call (as SciPy's), a JAX array under ``jit``/``vmap``/``grad``.
        """
        return eager_scipy(self._solve(rhs, trans))

    def _solve(self, rhs: ArrayLike, trans: str = "N") -> Array:
        if trans not in _TRANS:
            raise ValueError(f"`trans` must be 'N', 'T' or 'H', got {trans!r}")
        b = _rhs(rhs, self.lu.shape[0], self.lu.dtype)
        return _honest(_lu_solve(self.lu, self.piv, self.ok, b, _TRANS[trans]), self.ok)

    __call__ = solve


@jax.jit(static_argnums=4)
def _lu_solve(lu: Array, piv: Array, ok: Array, b: Array, trans: int) -> Array:
    return jnp.where(ok, jsl.lu_solve((lu, piv), b, trans=trans), jnp.nan)


@jax.jit
def _factor(a: Array) -> tuple:
    lu, piv, perm = jax.lax.linalg.lu(a)
    return lu, piv, jnp.argsort(perm), jnp.all(jnp.diagonal(lu) != 0)


def _superlu(a: Array) -> SuperLU:
    lu, piv, perm_r, ok = _factor(a)
    n = a.shape[0]
    return SuperLU(lu, piv, perm_r, jnp.arange(n), n * n, ok)


def splu(A: Any, permc_spec: str | None = None, diag_pivot_thresh: float | None = None, relax: Any = None,
         panel_size: Any = None, options: dict | None = None) -> SuperLU:
    """LU factorisation of a sparse square matrix; mirrors :func:`scipy.sparse.linalg.splu`.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix or BCOO/BCSR
        Square ``(N, N)`` matrix.
    permc_spec, diag_pivot_thresh, relax, panel_size, options
        SuperLU's tuning options: accepted and ignored.

    Returns
    -------
    SuperLU
        With ``solve``, ``L``, ``U``, ``perm_r``, ``perm_c``, ``shape``, ``nnz``.

    Differences from SciPy
    ----------------------
    - Dense partially pivoted LU (LAPACK ``getrf`` through ``jax.lax.linalg.lu``, on every backend)
      instead of SuperLU: no fill-reducing column ordering (``perm_c`` is the identity), ``L`` and
      ``U`` are dense, memory is ``O(N^2)``. Keep ``N`` to a few thousand.
    - A singular matrix does not raise: ``solve`` returns NaN (and warns ``MatrixRankWarning`` in an
      eager call).
    - The factorisation and ``solve`` are differentiable and run under ``jit``/``vmap``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scijax.solvers.linalg import splu
    >>> lu = splu(sp.csc_array(np.array([[4.0, 1.0], [1.0, 3.0]])))
    >>> lu.solve(np.array([1.0, 2.0])).round(12).tolist()
    [0.090909090909, 0.636363636364]
    """
    del permc_spec, diag_pivot_thresh, relax, panel_size, options
    return _superlu(_dense(A))


def spilu(A: Any, drop_tol: float | None = None, fill_factor: float | None = None, drop_rule: str | None = None,
          permc_spec: str | None = None, diag_pivot_thresh: float | None = None, relax: Any = None,
          panel_size: Any = None, options: dict | None = None) -> SuperLU:
    """Incomplete LU factorisation, for preconditioning; mirrors :func:`scipy.sparse.linalg.spilu`.

    Runs ILU(0): Gaussian elimination that keeps only the entries in the sparsity pattern of ``A``
    (nonzeros of a sparse input; entries ``!= 0`` of a dense one), without pivoting. Use the result
    as a preconditioner, e.g. ``M = LinearOperator(A.shape, ilu.solve)`` for ``gmres``/``cg``/...

    Parameters
    ----------
    A : array_like, scipy.sparse matrix or BCOO/BCSR
        Square ``(N, N)`` matrix.
    drop_tol, fill_factor, drop_rule, permc_spec, diag_pivot_thresh, relax, panel_size, options
        SuperLU's ILUTP options: accepted and ignored (see below).

    Returns
    -------
    SuperLU
        ``solve`` applies ``(L U)^{-1}``.

    Differences from SciPy
    ----------------------
    - SciPy runs SuperLU's ILUTP (threshold dropping with ``drop_tol``, fill up to ``fill_factor``,
      row pivoting). We run ILU(0), which has a fixed pattern, so it is traceable and
      differentiable; ILUTP's pattern depends on the values. ILU(0) is weaker on hard problems and
      needs nonzero pivots (a zero pivot gives NaN from ``solve``).
    - Stored densely (``O(N^2)``); the elimination costs ``O(N^3)``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scijax.solvers.linalg import spilu
    >>> A = sp.diags([[-1.0] * 3, [4.0] * 4, [-1.0] * 3], [-1, 0, 1]).tocsc()
    >>> ilu = spilu(A)  # tridiagonal: ILU(0) is the exact LU
    >>> np.allclose(A @ ilu.solve(np.ones(4)), 1.0)
    True
    """
    del drop_tol, fill_factor, drop_rule, permc_spec, diag_pivot_thresh, relax, panel_size, options
    a = _dense(A)
    pattern = (a != 0) | jnp.eye(a.shape[0], dtype=bool)
    nnz = int(jnp.sum(pattern)) if is_concrete(pattern) else a.shape[0] ** 2
    lu, ok = _ilu0(a, pattern)
    n = a.shape[0]
    return SuperLU(lu, jnp.arange(n, dtype=jnp.int32), jnp.arange(n), jnp.arange(n), nnz, ok)


@jax.jit
def _ilu0(a: Array, pattern: Array) -> tuple[Array, Array]:
    """ILU(0) in the KIJ order: eliminate column ``k`` from the rows below, inside the pattern only."""
    n = a.shape[0]
    idx = jnp.arange(n)

    def step(k, lu):
        pivot = lu[k, k]
        below = (idx > k) & pattern[:, k]
        mult = jnp.where(below, lu[:, k] / pivot, 0)
        right = idx > k
        update = mult[:, None] * jnp.where(right, lu[k, :], 0)[None, :]
        lu = lu - jnp.where(pattern, update, 0)
        return lu.at[:, k].set(jnp.where(below, mult, lu[:, k]))

    lu = jax.lax.fori_loop(0, n, step, jnp.where(pattern, a, 0))
    return lu, jnp.all(jnp.diagonal(lu) != 0)


def spsolve(A: Any, b: Any, permc_spec: str | None = None, use_umfpack: bool = True) -> Array:
    """Solve ``A x = b`` for a sparse square ``A``; mirrors :func:`scipy.sparse.linalg.spsolve`.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix or BCOO/BCSR
        Square ``(N, N)``.
    b : array_like or sparse
        ``(N,)`` or ``(N, K)``.
    permc_spec, use_umfpack
        Accepted and ignored.

    Returns
    -------
    x : Array
        ``(N,)`` for a vector ``b`` or an ``(N, 1)`` ``b`` (as SciPy), else ``(N, K)``.

    Differences from SciPy
    ----------------------
    - Dense LU as in :func:`splu` (size limit, no ordering); differentiable in ``A`` and ``b``.
    - A sparse ``b`` gives a dense ``x`` (SciPy returns a sparse one).
    - Singular ``A``: NaN, with ``MatrixRankWarning`` in an eager call (as SciPy).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scijax.solvers.linalg import spsolve
    >>> A = sp.csr_array(np.array([[3.0, 2.0, 0.0], [1.0, -1.0, 0.0], [0.0, 5.0, 1.0]]))
    >>> spsolve(A, np.array([2.0, 4.0, -1.0])).round(12).tolist()
    [2.0, -2.0, 9.0]
    """
    del permc_spec, use_umfpack
    a = _dense(A)
    rhs = _rhs(b, a.shape[0], a.dtype)
    lu = _superlu(a.astype(jnp.result_type(a.dtype, rhs.dtype)))
    x = lu._solve(rhs)
    return x[:, 0] if x.ndim == 2 and x.shape[1] == 1 else x


def factorized(A: Any) -> Any:
    """Return a function that solves ``A x = b`` with a pre-computed factorisation; mirrors
    :func:`scipy.sparse.linalg.factorized`.

    Returns
    -------
    solve : callable
        ``solve(b)``; the bound ``solve`` of :func:`splu`'s result, a pytree usable under ``jit``.

    Differences from SciPy
    ----------------------
    Dense LU as in :func:`splu`; UMFPACK is never used.

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.linalg import factorized
    >>> solve = factorized(np.array([[3.0, 2.0], [1.0, -1.0]]))
    >>> solve(np.array([2.0, 4.0])).round(12).tolist()
    [2.0, -2.0]
    """
    return splu(A).solve


def spsolve_triangular(A: Any, b: Any, lower: bool = True, overwrite_A: bool = False, overwrite_b: bool = False,
                       unit_diagonal: bool = False) -> Array:
    """Solve ``A x = b`` for a triangular ``A``; mirrors :func:`scipy.sparse.linalg.spsolve_triangular`.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix or BCOO/BCSR
        Square triangular ``(N, N)``; only its ``lower`` (or upper) triangle is read.
    b : array_like
        ``(N,)`` or ``(N, K)``.
    lower : bool, optional
        Whether ``A`` is lower triangular.
    overwrite_A, overwrite_b : bool, optional
        Ignored (JAX arrays are immutable).
    unit_diagonal : bool, optional
        Assume ones on the diagonal (the stored diagonal is not read).

    Returns
    -------
    x : Array

    Raises
    ------
    numpy.linalg.LinAlgError
        "A is singular: zero entry on diagonal." (eager calls; traced calls give NaN).

    Differences from SciPy
    ----------------------
    Densified and solved with ``jax.scipy.linalg.solve_triangular``; differentiable. Entries in the
    other triangle are ignored (SciPy's result is unspecified for a non-triangular ``A``).

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.linalg import spsolve_triangular
    >>> spsolve_triangular(np.array([[2.0, 0.0], [1.0, 4.0]]), np.array([2.0, 9.0])).tolist()
    [1.0, 2.0]
    """
    del overwrite_A, overwrite_b
    a = _dense(A)
    rhs = _rhs(b, a.shape[0], a.dtype)
    diag = jnp.diagonal(a)
    ok = jnp.asarray(True) if unit_diagonal else jnp.all(diag != 0)
    if not unit_diagonal and is_concrete(ok) and not bool(ok):
        raise np.linalg.LinAlgError("A is singular: zero entry on diagonal.")
    x = jsl.solve_triangular(a.astype(rhs.dtype), rhs, lower=lower, unit_diagonal=unit_diagonal)
    return jnp.where(ok, x, jnp.nan)


def _structure(A: Any) -> np.ndarray:
    if sp.issparse(A):
        coo = sp.coo_array(A)
        return np.stack([coo.row, coo.col])[:, coo.data != 0] if coo.nnz else np.zeros((2, 0), int)
    a = np.asarray(A.todense() if isinstance(A, jsparse.JAXSparse) else A)
    if a.ndim != 2:
        raise ValueError(f"`A` must be 2-D, got shape {a.shape}")
    return np.stack(np.nonzero(a))


def is_sptriangular(A: Any) -> tuple[bool, bool]:
    """``(is_lower, is_upper)`` for the stored nonzeros of ``A``; mirrors
    :func:`scipy.sparse.linalg.is_sptriangular`.

    Differences from SciPy
    ----------------------
    Also takes dense and BCOO/BCSR input (read on the host: not traceable).

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.linalg import is_sptriangular
    >>> is_sptriangular(np.array([[1.0, 0.0], [2.0, 3.0]]))
    (True, False)
    """
    r, c = _structure(A)
    return bool(np.all(r >= c)), bool(np.all(r <= c))


def spbandwidth(A: Any) -> tuple[int, int]:
    """``(below, above)``: the lower and upper bandwidths of ``A``; mirrors
    :func:`scipy.sparse.linalg.spbandwidth`.

    Differences from SciPy
    ----------------------
    Also takes dense and BCOO/BCSR input (read on the host: not traceable).

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.linalg import spbandwidth
    >>> spbandwidth(np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [2.0, 0.0, 5.0]]))
    (2, 1)
    """
    r, c = _structure(A)
    if r.size == 0:
        return 0, 0
    return int(max(0, np.max(r - c))), int(max(0, np.max(c - r)))


def use_solver(**kwargs: Any) -> None:
    """Select the direct solver; mirrors :func:`scipy.sparse.linalg.use_solver`.

    Accepts ``useUmfpack`` and ``assumeSortedIndices`` and does nothing: every direct solve here is
    the dense LU described in :func:`splu`.

    Differences from SciPy
    ----------------------
    A no-op (there is no UMFPACK to select); unknown keywords raise ``TypeError``.

    Examples
    --------
    >>> from scijax.solvers.linalg import use_solver
    >>> use_solver(useUmfpack=False)
    """
    unknown = set(kwargs) - {"useUmfpack", "assumeSortedIndices"}
    if unknown:
        raise TypeError(f"use_solver() got unexpected keyword arguments {sorted(unknown)}")
