"""``lobpcg`` of :mod:`scipy.sparse.linalg` on JAX's ``jax.experimental.sparse.linalg.lobpcg_standard``."""

import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental.sparse.linalg import lobpcg_standard

from ..._concrete import is_concrete
from ..._typing import Array
from ._eigen_common import eigenvalue_surrogate, frozen, stop, to_operator
from ._operator import LinearOperator

__all__ = ["lobpcg"]


def _run(op: LinearOperator, X: Array, sign: Array, maxiter: int, tol: Array) -> tuple:
    ops = stop(op)
    theta, U, it = lobpcg_standard(lambda V: sign * ops.matmat(V), jax.lax.stop_gradient(X), m=maxiter, tol=tol)
    lam = sign * theta
    Us = jax.lax.stop_gradient(U)
    q = jnp.sum(Us.conj() * op.matmat(Us), axis=0).real
    return eigenvalue_surrogate(lam, q), frozen(Us, q), it


_run_jit = eqx.filter_jit(_run)


def lobpcg(A: Any, X: Any, B: Any = None, M: Any = None, Y: Any = None, tol: Any = None, maxiter: int | None = None,
           largest: bool = True, verbosityLevel: int = 0, retLambdaHistory: bool = False,
           retResidualNormsHistory: bool = False, restartControl: int = 20) -> tuple[Array, Array]:
    """Locally Optimal Block Preconditioned Conjugate Gradient for a few extreme eigenpairs of a
    Hermitian ``A``; mirrors :func:`scipy.sparse.linalg.lobpcg` for the standard, unpreconditioned
    problem.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        Hermitian ``(N, N)``.
    X : array_like
        ``(N, k)`` initial block (``k`` eigenpairs are computed); JAX requires ``5 k < N``.
    B, M, Y : None
        The generalized problem, the preconditioner and the constraints are not supported
        (``NotImplementedError``).
    tol : float, optional
        JAX's criterion: a pair has converged when ``||A u - lam u|| <= tol * 10 N (|lam| + ||A u||)``;
        default machine epsilon.
    maxiter : int, optional
        Iterations (default 20, SciPy's).
    largest : bool, optional
        Largest (``True``) or smallest algebraic eigenvalues.
    verbosityLevel, restartControl
        Accepted and ignored.
    retLambdaHistory, retResidualNormsHistory : bool, optional
        Not supported (``NotImplementedError`` when True).

    Returns
    -------
    lambda : Array
        ``(k,)`` eigenvalues: descending for ``largest=True``, ascending otherwise (SciPy's order).
    v : Array
        ``(N, k)`` eigenvectors.

    Differences from SciPy
    ----------------------
    - Runs ``jax.experimental.sparse.linalg.lobpcg_standard`` (always-orthonormal basis, no soft
      locking, JAX's convergence test above); ``largest=False`` runs it on ``-A``.
    - No ``B``, ``M`` or ``Y``; no histories; ``5 k < N`` is required.
    - An eager run that used all ``maxiter`` iterations warns (``UserWarning``) as SciPy does when
      it stops short of the tolerance; under ``jit`` nothing is reported.
    - Eigenvalues are differentiable (``v^H dA v``, simple eigenvalues); eigenvector derivatives
      are NaN (not provided).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import lobpcg
    >>> A = jnp.diag(jnp.arange(1.0, 21.0))
    >>> X = jnp.eye(20, 2, k=-3) + 0.1
    >>> w, v = lobpcg(A, X, maxiter=100)
    >>> w.round(6).tolist()
    [20.0, 19.0]
    """
    del verbosityLevel, restartControl
    for name, value in (("B", B), ("M", M), ("Y", Y)):
        if value is not None:
            raise NotImplementedError(f"lobpcg: `{name}` is not supported (standard, unpreconditioned problem only)")
    if retLambdaHistory or retResidualNormsHistory:
        raise NotImplementedError("lobpcg: retLambdaHistory/retResidualNormsHistory are not supported")
    op = to_operator(A, "A")
    n = op.shape[0]
    X = jnp.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != n:
        raise ValueError(f"`X` must have shape ({n}, k) to match `A`, got {X.shape}")
    k = X.shape[1]
    if not 0 < 5 * k < n:
        raise ValueError(f"`X` has {k} columns; JAX's LOBPCG needs 0 < 5 k < N = {n}")
    maxiter = 20 if maxiter is None else maxiter
    if not isinstance(maxiter, int | np.integer) or isinstance(maxiter, bool) or maxiter <= 0:
        raise ValueError(f"`maxiter` must be a positive integer, got {maxiter!r}")
    dtype = jnp.result_type(op.dtype, X.dtype, float)
    X = X.astype(dtype)
    real = jnp.finfo(dtype).dtype
    tol = jnp.asarray(jnp.finfo(dtype).eps if tol is None else tol, real)  # traced: no new compilation
    eager = is_concrete(op, X, tol)
    run = _run_jit if eager else _run
    lam, U, it = run(op, X, jnp.asarray(1.0 if largest else -1.0, real), int(maxiter), tol)
    if eager and int(it) >= maxiter:
        warnings.warn(f"Exited at iteration {int(it)} with accuracies not reaching the requested tolerance",
                      UserWarning, stacklevel=2)
    return lam, U  # descending theta of sign * A: SciPy's order for both values of `largest`
