"""``lsq_linear`` and ``nnls``: SciPy's bounded linear least-squares facades over the
active-set engine of ``_solvers/bvls.py``."""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array, ArrayLike

from ._bounds import parse_bounds
from ._result import OptimizeResult
from ._solvers.bvls import bvls, bvls_refine, bvls_x0, nan_tangent_unless

__all__ = ["lsq_linear", "nnls", "LSQ_LINEAR_METHODS"]

LSQ_LINEAR_METHODS: dict[str, str] = {
    "trf": "bounded-variable active set (Stark-Parker BVLS)",
    "bvls": "bounded-variable active set (Stark-Parker BVLS)",
}
"""SciPy's method names and what runs under each."""

LSQ_LINEAR_MESSAGES: tuple[str, ...] = (
    "The maximum number of iterations is exceeded.",
    "The first-order optimality measure is less than `tol`.",
    "The relative change of the cost function is less than `tol`.",
    "The unconstrained solution is optimal.",
)


def _is_concrete(x: Any) -> bool:
    return not any(isinstance(leaf, Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _check_Ab(A: Any, b: Any) -> tuple[Array, Array]:
    A = A.toarray() if hasattr(A, "toarray") else A
    dtype = jnp.result_type(jnp.asarray(A).dtype, jnp.asarray(b).dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    A, b = jnp.asarray(A, dtype), jnp.asarray(b, dtype)
    if A.ndim != 2:
        raise ValueError(f"`A` must be two-dimensional; got shape {A.shape}.")
    if b.ndim == 2 and b.shape[1] == 1:
        b = b[:, 0]
    if b.ndim != 1 or b.shape[0] != A.shape[0]:
        raise ValueError(f"`b` must have shape ({A.shape[0]},) to match `A`; got {b.shape}.")
    for name, a in (("A", A), ("b", b)):
        if _is_concrete(a) and not bool(np.all(np.isfinite(np.asarray(a)))):
            raise ValueError(f"`{name}` must contain only finite values.")
    return A, b


@partial(jax.jit, static_argnums=(5,))
def _solve(A, b, lb, ub, tol, maxiter):
    """``tol`` is absolute (on the gradient)."""
    x0, side0 = bvls_x0(A, b, lb, ub)
    sol = bvls(A, b, lb, ub, x0, side0, tol, maxiter)
    x = nan_tangent_unless(bvls_refine(A, b, lb, ub, sol), sol.converged)
    unconstrained = jnp.all(side0 == 0)
    return x, sol.side, sol.converged, sol.nit, unconstrained


def lsq_linear(
    A: ArrayLike,
    b: ArrayLike,
    bounds: Any = (-np.inf, np.inf),
    method: str = "trf",
    tol: float = 1e-10,
    lsq_solver: str | None = None,
    lsmr_tol: Any = None,
    max_iter: int | None = None,
    verbose: int = 0,
    *,
    lsmr_maxiter: int | None = None,
) -> OptimizeResult:
    """Solve a linear least-squares problem with bounds on the variables.

    Mirrors :func:`scipy.optimize.lsq_linear`: ``min 0.5 * ||A @ x - b||**2`` subject to
    ``lb <= x <= ub``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Design matrix (dense, or ``scipy.sparse``, which is densified).
    b : array_like, shape (m,)
        Target vector.
    bounds : 2-tuple of array_like or Bounds, optional
        Lower and upper bounds, each a scalar or of shape ``(n,)``; ``±np.inf`` for none.
    method : {'trf', 'bvls'}, optional
        Both run the bounded-variable active-set method (Stark and Parker's BVLS, the
        Lawson-Hanson scheme with two-sided bounds; ``_solvers/bvls.py``). SciPy's ``'trf'``
        is an interior trust-region-reflective iteration that approaches the solution to
        ``tol``; the active-set method finds the exact solution (up to rounding) in a
        bounded number of dense solves, which suits a fixed-shape JAX loop better.
    tol : float, optional
        Tolerance on the KKT test: the iteration stops when no variable held at a bound
        has a gradient pointing into the box by more than ``tol * (1 + ||A^T b||_inf)``.
    lsq_solver, lsmr_tol, lsmr_maxiter : optional
        Accepted for compatibility; every solve is a dense ``lstsq``.
    max_iter : int, optional
        Iteration cap (static); default ``3 * n + 10``. Each iteration is one least-squares
        solve on the free set.
    verbose : {0, 1, 2}, optional
        Accepted; nothing is printed.

    Returns
    -------
    OptimizeResult
        ``x``, ``cost`` (half the squared residual norm), ``fun`` (residuals ``A @ x - b``),
        ``optimality`` (infinity norm of the gradient scaled by the distance to the bound it
        points to, as SciPy's Coleman-Li scaling), ``active_mask`` (-1/0/1), ``nit``,
        ``status`` (3 the unconstrained solution is feasible, 1 KKT test met, 0 iteration
        limit), ``success`` and ``message``.

    Differences from SciPy
    ----------------------
    - ``'trf'`` runs the active-set method (see ``method``): ``x`` is exact rather than
      accurate to ``tol``, ``status`` is 1 or 3 rather than 1, 2 or 3, ``nit`` counts
      active-set steps, and ``active_mask`` is exact.
    - Dense linear algebra only (no LSMR).
    - ``jax.grad`` of ``x`` (and ``cost``) with respect to ``A``, ``b`` and the active bounds
      differentiates the least-squares solve on the final free set (valid where the active
      set is strictly complementary); through a solve that hit ``max_iter`` it is ``nan``.

    Example
    -------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> from scijax.solvers.optimize import lsq_linear
    >>> res = lsq_linear([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [2.0, 1.0, -1.0],
    ...                  bounds=(0.0, 1.2))
    >>> [round(float(v), 6) for v in res.x], res.active_mask.tolist()
    ([1.2, 0.0], [1, -1])
    """
    if not isinstance(method, str) or method not in LSQ_LINEAR_METHODS:
        raise ValueError(f"`method` must be one of {sorted(LSQ_LINEAR_METHODS)}; got {method!r}.")
    if lsq_solver not in (None, "exact", "lsmr"):
        raise ValueError("`lsq_solver` must be None, 'exact' or 'lsmr'.")
    if verbose not in (0, 1, 2):
        raise ValueError("`verbose` must be 0, 1 or 2.")
    if not tol > 0:
        raise ValueError("`tol` must be positive.")
    A, b = _check_Ab(A, b)
    n = A.shape[1]
    lb, ub = parse_bounds(bounds, n, A.dtype, pairs=False)
    maxiter = 3 * n + 10 if max_iter is None else int(max_iter)
    if maxiter < 1:
        raise ValueError("`max_iter` must be at least 1.")
    scale = 1.0 + jnp.max(jnp.abs(A.T @ b), initial=0.0)
    x, side, converged, nit, unconstrained = _solve(A, b, lb, ub, tol * scale, maxiter)
    r = A @ x - b
    g = A.T @ r
    v = jnp.where((g < 0) & jnp.isfinite(ub), ub - x, jnp.where((g > 0) & jnp.isfinite(lb), x - lb, 1.0))
    status = jnp.where(converged, jnp.where(unconstrained, 3, 1), 0).astype(jnp.int32)
    return OptimizeResult(
        x=x,
        success=converged,
        status=status,
        fun=r,
        cost=0.5 * r @ r,
        optimality=jnp.max(jnp.abs(v * g), initial=0.0),
        active_mask=side,
        nit=jnp.where(unconstrained, 0, nit),
        messages=LSQ_LINEAR_MESSAGES,
    )


def nnls(A: ArrayLike, b: ArrayLike, maxiter: int | None = None, atol: float | None = None) -> tuple[Array, Array]:
    """Solve ``argmin_x ||A @ x - b||_2`` for ``x >= 0``.

    Mirrors :func:`scipy.optimize.nnls` (Lawson and Hanson's active-set algorithm): it runs
    the same active-set engine as :func:`lsq_linear` with bounds ``(0, inf)``.

    Parameters
    ----------
    A : array_like, shape (m, n)
        Coefficient matrix.
    b : array_like, shape (m,)
        Right-hand side.
    maxiter : int, optional
        Iteration cap (static); default ``3 * n`` as in SciPy.
    atol : float, optional
        Tolerance of the KKT test on the gradient (absolute); default
        ``10 * max(m, n) * eps * (1 + ||A^T b||_inf)``.

    Returns
    -------
    x : Array, shape (n,)
        The solution.
    rnorm : Array
        The residual norm ``||A @ x - b||_2``.

    Differences from SciPy
    ----------------------
    - At the iteration cap an eager call raises ``RuntimeError`` as SciPy does; under
      ``jit``/``vmap`` (where raising is impossible) ``x`` and ``rnorm`` are ``nan``.
    - ``jax.grad`` differentiates the least-squares solve on the final free set.

    Example
    -------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> from scijax.solvers.optimize import nnls
    >>> x, rnorm = nnls([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [2.0, 1.0, 1.0])
    >>> [round(float(v), 6) for v in x], round(float(rnorm), 6)
    ([1.5, 1.0], 0.707107)
    """
    A, b = _check_Ab(A, b)
    m, n = A.shape
    maxiter = 3 * n if not maxiter else int(maxiter)
    eps = float(jnp.finfo(A.dtype).eps)
    scale = 1.0 + jnp.max(jnp.abs(A.T @ b), initial=0.0)
    tol = 10.0 * max(m, n) * eps * scale if atol is None else atol
    zeros = jnp.zeros(n, A.dtype)
    x, _, converged, _, _ = _solve(A, b, zeros, zeros + jnp.inf, tol, maxiter)
    if _is_concrete(converged) and not bool(converged):
        raise RuntimeError("Maximum number of iterations reached.")
    x = jnp.where(converged, x, jnp.nan)
    return x, jnp.linalg.norm(A @ x - b)
