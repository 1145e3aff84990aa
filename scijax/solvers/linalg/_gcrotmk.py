"""GCROT(m, k), :func:`scipy.sparse.linalg.gcrotmk` (de Sturler 1999; Hicken and Zingg 2010).

The solver keeps ``k`` pairs ``(u_i, c_i)`` with ``A u_i = c_i`` and the ``c_i`` orthonormal. Each
outer iteration first removes the part of the residual in ``span(C)`` (``x += U C^H r``), then runs
a flexible, right-preconditioned GMRES cycle on the projected operator ``(I - C C^H) A`` with
``m + max(k - #pairs, 0)`` directions (the total storage stays ``m + k`` vectors), updates ``x``
with the minimising correction ``z`` made orthogonal to ``C``'s preimage (``u = z - U C^H A z``,
``c = A u``), and keeps the normalised ``(u, c)`` as the newest pair, dropping the oldest when
there are more than ``k``. This is the simplified, flexible variant of Hicken and Zingg, as SciPy's.

References
----------
E. de Sturler, "Truncation strategies for optimal Krylov subspace methods", SIAM J. Numer. Anal.
36 (1999) 864-889. J. E. Hicken and D. W. Zingg, "A simplified and flexible variant of GCROT for
solving nonsymmetric linear systems", SIAM J. Sci. Comput. 32 (2010) 1672-1694.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._krylov import KrylovSpec, emit, krylov_solve, norm
from ._lgmres import flexible_cycle

__all__ = ["gcrotmk"]


def _gcrotmk_core(matvec, psolve, b, x0, tol, maxiter, callback, m, k):
    precond = (lambda r: r) if psolve is None else psolve
    n, dtype = b.shape[0], b.dtype
    kk = max(k, 1)

    def cond(st):
        _, rnorm, *_, it, stalled = st
        return (rnorm > tol) & (it < maxiter) & ~stalled

    def body(st):
        x, _, U, C, count, it, _ = st
        r = b - matvec(x)
        coef = C.conj() @ r  # unused rows of C and U are zero
        x = x + U.T @ coef
        r = r - C.T @ coef

        def projected(z):
            w = matvec(z)
            return w - C.T @ (C.conj() @ w)

        n_dirs = m + jnp.maximum(k - count, 0)
        z, _, _ = flexible_cycle(projected, lambda j, v: (precond(v), None), r, n_dirs, m + k, tol)
        w = matvec(z)
        bw = C.conj() @ w
        u = z - U.T @ bw
        c = w - C.T @ bw
        x = x + u
        emit(callback, x)
        rnorm = norm(b - matvec(x))
        cn = norm(c)
        if k:
            keep = cn > 0
            scale = 1 / jnp.where(keep, cn, 1)
            U = jnp.where(keep, jnp.roll(U, 1, axis=0).at[0].set(u * scale), U)
            C = jnp.where(keep, jnp.roll(C, 1, axis=0).at[0].set(c * scale), C)
            count = jnp.where(keep, jnp.minimum(count + 1, k), count)
        return x, rnorm, U, C, count, it + 1, cn == 0

    store = jnp.zeros((kk, n), dtype)
    init = (x0, norm(b - matvec(x0)), store, store, jnp.array(0), jnp.array(0), jnp.array(False))
    x, *_ = jax.lax.while_loop(cond, body, init)
    return x, jnp.array(0)


GCROTMK = KrylovSpec("gcrotmk", _gcrotmk_core, symmetric=False, default_maxiter=lambda n: 1000)


def gcrotmk(
    A: Any,
    b: ArrayLike,
    x0: ArrayLike | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int = 1000,
    M: Any = None,
    callback: Callable | None = None,
    m: int = 20,
    k: int | None = None,
    CU: Any = None,
    discard_C: bool = False,
    truncate: str = "oldest",
) -> tuple[Array, Array]:
    """Solve ``A x = b`` by flexible GCROT(m, k); mirrors :func:`scipy.sparse.linalg.gcrotmk`.

    Parameters
    ----------
    A : array, scipy.sparse matrix, BCOO/BCSR, LinearOperator or callable
        The ``(N, N)`` matrix or operator.
    b : array, shape (N,) or (N, 1)
    x0 : array, shape (N,), optional
    rtol, atol : float
        Converged when ``norm(b - A @ x) <= max(rtol * norm(b), atol)``.
    maxiter : int
        Maximum number of outer iterations.
    M : same types as `A`, optional
        Preconditioner approximating ``inv(A)`` (applied on the right, flexibly).
    callback : callable, optional
        ``callback(xk)`` after each outer iteration.
    m : int
        Inner GMRES directions per outer iteration (plus ``k`` minus the pairs held).
    k : int, optional
        Number of ``(u, c)`` pairs kept (default ``m``).
    CU : None
        Only ``None``: SciPy's in/out list of pairs cannot be filled from traced code.
    discard_C : bool
        Accepted (it only matters together with ``CU``).
    truncate : {'oldest'}
        Which pair to drop; only ``'oldest'`` is implemented.

    Returns
    -------
    x : array, shape (N,)
    info : int array
        ``0`` converged (true residual), ``maxiter`` not converged.

    Differences from SciPy
    ----------------------
    - ``CU`` (recycling pairs between calls) and ``truncate='smallest'`` (an SVD-based choice) are
      not supported; they raise ``NotImplementedError``.
    - The inner cycle is classical Gram-Schmidt with one reorthogonalisation and Givens rotations;
      SciPy's updates a QR factorisation. The new ``u`` costs one extra matvec (``A z``) per outer
      iteration instead of SciPy's stored ``B`` block; the space and the minimised residual are the same.
    - ``info == 0`` is decided on the true residual after every outer iteration; SciPy tests only
      at the start of the next one, so it reports ``info = maxiter`` when the last allowed
      iteration converged. A non-finite ``b`` gives NaN with ``info = maxiter`` (SciPy raises
      ``ValueError``). Gradients come from one more GCROT solve with
      ``A^T`` (``jax.lax.custom_linear_solve``); ``x0`` and ``M`` get none.
    - ``callback(xk)`` runs through ``jax.debug.callback``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import gcrotmk
    >>> A = jnp.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]])
    >>> x, info = gcrotmk(A, jnp.ones(3), rtol=1e-10)
    >>> int(info), bool(jnp.allclose(A @ x, 1.0))
    (0, True)
    """
    if CU is not None:
        raise NotImplementedError("`CU` is not supported by scijax's gcrotmk (it is filled in place)")
    if truncate not in ("oldest", "smallest"):
        raise ValueError(f"`truncate` must be 'oldest' or 'smallest', got {truncate!r}")
    if truncate == "smallest":
        raise NotImplementedError("`truncate='smallest'` is not supported by scijax's gcrotmk")
    k = m if k is None else k
    for name, val, low in (("m", m, 1), ("k", k, 0)):
        if not isinstance(val, int) or isinstance(val, bool) or val < low:
            raise ValueError(f"`{name}` must be an integer >= {low}, got {val!r}")
    return krylov_solve(GCROTMK, A, b, x0, rtol, atol, maxiter, M, callback, m=m, k=k)
