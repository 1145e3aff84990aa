"""``svds``: a few singular triplets, like :func:`scipy.sparse.linalg.svds`, through :func:`eigsh` on the
smaller of ``A^H A`` and ``A A^H`` (what SciPy's ``solver='arpack'`` does)."""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete
from ..._typing import Array
from ._eigen_common import eigenvalue_surrogate, frozen, iteration_args, no_convergence, start_vector, stop
from ._eigen_sparse import _solve
from ._krylov import canonical_leaves
from ._operator import LinearOperator, aslinearoperator

__all__ = ["svds"]

_SOLVERS = ("arpack", "lobpcg", "propack")


def svds(A: Any, k: int = 6, ncv: int | None = None, tol: Any = 0, which: str = "LM", v0: Any = None,
         maxiter: int | None = None, return_singular_vectors: bool | str = True, solver: str = "arpack",
         rng: Any = None, options: dict | None = None, *, random_state: Any = None) -> Any:
    """Partial singular value decomposition of a sparse matrix or operator; mirrors
    :func:`scipy.sparse.linalg.svds`.

    The ``k`` largest (``which='LM'``) or smallest (``'SM'``) singular values come from the
    restarted Lanczos of :func:`eigsh` applied to ``A^H A`` (when ``N <= M``) or ``A A^H``, as
    SciPy's ``'arpack'`` solver does; the other singular vectors follow as ``A v / s`` (``A^H u / s``).

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        ``(M, N)`` matrix or operator.
    k : int, optional
        Number of singular values, ``1 <= k < min(M, N)``.
    ncv, tol, v0, maxiter
        Passed to the Lanczos iteration (``v0`` has length ``min(M, N)``); see :func:`eigsh`.
    which : {'LM', 'SM'}, optional
        Largest or smallest singular values.
    return_singular_vectors : {True, False, 'u', 'vh'}, optional
        ``False`` returns only ``s``. ``'u'``/``'vh'`` are accepted and return all three (the
        saving SciPy makes there is not made).
    solver : {'arpack', 'lobpcg', 'propack'}, optional
        Accepted; every solver runs the Lanczos iteration described above.
    rng, random_state : optional
        Seed (int or ``numpy.random.Generator``) of the default start vector.
    options : dict, optional
        Accepted and ignored.

    Returns
    -------
    u : Array
        ``(M, k)`` left singular vectors (if requested).
    s : Array
        ``(k,)`` singular values, ascending (SciPy's order).
    vh : Array
        ``(k, N)`` right singular vectors (if requested).

    Differences from SciPy
    ----------------------
    - ``solver`` does not change the algorithm; ``options`` is ignored.
    - Singular values below ``sqrt(eps) * s_max`` are computed through ``s**2`` and so lose
      about half their digits (SciPy's ``'arpack'`` has the same limitation).
    - Derivatives: ``s`` is differentiable (``d s = u^H dA v`` for simple nonzero ``s``); the
      singular vectors' derivatives are NaN (not provided).
    - Failure: ``ArpackNoConvergence`` in an eager call, NaN under ``jit``/``vmap``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import svds
    >>> A = jnp.diag(jnp.arange(1.0, 11.0))[:, :8]
    >>> u, s, vh = svds(A, k=2)
    >>> s.round(8).tolist()
    [7.0, 8.0]
    """
    del options
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    if which not in ("LM", "SM"):
        raise ValueError(f"which must be either 'LM' or 'SM', got {which!r}")
    if return_singular_vectors not in (True, False, "u", "vh"):
        raise ValueError("return_singular_vectors must be True, False, 'u' or 'vh'")
    try:
        op = canonical_leaves(aslinearoperator(A))
    except (TypeError, ValueError) as err:
        raise type(err)(f"`A`: {err}") from None
    mrows, ncols = op.shape
    n = min(mrows, ncols)
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or not 1 <= k < n:
        raise ValueError(f"`k` must be an integer satisfying 0 < k < min(A.shape) = {n}, got {k!r}")
    if ncv is None:
        ncv = min(n, max(2 * int(k) + 1, 20))
    if not isinstance(ncv, int | np.integer) or not k < ncv <= n:
        raise ValueError(f"`ncv` must be an integer satisfying k < ncv <= min(A.shape) = {n}, got {ncv!r}")
    dtype = jnp.result_type(op.dtype)
    v0 = start_vector(v0, n, dtype, rng if rng is not None else random_state)
    tol, max_iterations = iteration_args(tol, maxiter, n, dtype)
    ops = stop(op)
    gram = ops.H @ ops if ncols <= mrows else ops @ ops.H
    eager = is_concrete(op, v0, tol)
    run = _svds_jit if eager else _svds
    (u, s, vh), (lam, X, ok, it) = run(op, gram, v0, int(k), int(ncv), which, tol, max_iterations, dtype,
                                         ncols <= mrows)
    if eager:
        no_convergence("svds", lam, X, ok, it, int(k))
    return s if return_singular_vectors is False else (u, s, vh)


def _svds(op: LinearOperator, gram: LinearOperator, v0: Array, k: int, ncv: int, which: str, tol: Array,
          maxiter: Array, dtype: Any, right: bool) -> tuple:
    lam, X, ok, it = _solve(True, gram, None, None, None, v0, k, ncv, which, tol, maxiter, dtype)
    s = jnp.sqrt(jnp.maximum(lam.real, 0))
    order = jnp.argsort(s)
    s, X = s[order], X[:, order]
    s = jnp.where(ok[order], s, jnp.nan)
    X = jax.lax.stop_gradient(X)
    ssafe = jnp.where(s > 0, s, 1)
    if right:
        v = X
        u = jax.lax.stop_gradient(op.matmat(v.astype(jnp.result_type(op.dtype, v.dtype))) / ssafe)
    else:
        u = X
        v = jax.lax.stop_gradient(op.H.matmat(u.astype(jnp.result_type(op.dtype, u.dtype))) / ssafe)
    q = jnp.sum(u.conj() * op.matmat(v.astype(jnp.result_type(op.dtype, v.dtype))), axis=0).real
    s = eigenvalue_surrogate(jax.lax.stop_gradient(s), q)
    return (frozen(u, q), s, frozen(v.conj().T, q)), (lam, X, ok, it)


_svds_jit = eqx.filter_jit(_svds)
