"""``eigsh`` and ``eigs``: a few eigenpairs of a large operator, like :mod:`scipy.sparse.linalg`'s ARPACK
wrappers, on the restarted Lanczos/Arnoldi engine of :mod:`._arnoldi`."""

import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete
from ..._typing import Array
from ._arnoldi import priority, restarted_krylov
from ._eigen_common import (
    Transform,
    check_k_ncv,
    dense_of,
    eigenvalue_surrogate,
    frozen,
    iteration_args,
    left_weighted,
    no_convergence,
    start_vector,
    stop,
    to_operator,
)
from ._operator import LinearOperator

__all__ = ["eigsh", "eigs"]

_WHICH_H = ("LM", "SM", "LA", "SA", "BE")
_WHICH_G = ("LM", "SM", "LR", "SR", "LI", "SI")


def _setup(fname: str, A: Any, M: Any, sigma: Any, which: str, allowed: tuple, mode: str, OPinv: Any) -> tuple:
    if which not in allowed:
        raise ValueError(f"which must be one of {' '.join(allowed)}")
    if mode != "normal":
        if mode not in ("buckling", "cayley"):
            raise ValueError(f"unrecognized mode '{mode}'")
        raise NotImplementedError(f"{fname}: mode={mode!r} is not supported (only 'normal')")
    op = to_operator(A, "A")
    n = op.shape[0]
    Md = None
    if M is not None:
        Mop = to_operator(M, "M")
        if Mop.shape != op.shape:
            raise ValueError(f"`M` has shape {Mop.shape}, expected {op.shape}")
        Md = dense_of(Mop)
    opinv = None
    if OPinv is not None:
        opinv = to_operator(OPinv, "OPinv")
        if opinv.shape != op.shape:
            raise ValueError(f"`OPinv` has shape {opinv.shape}, expected {op.shape}")
    dtype = jnp.result_type(op.dtype, *([] if Md is None else [Md.dtype]))
    if sigma is not None:
        if jnp.ndim(sigma) != 0:
            raise ValueError(f"`sigma` must be a scalar, got shape {jnp.shape(sigma)}")
        if fname == "eigs" or jnp.iscomplexobj(sigma):
            dtype = jnp.result_type(dtype, jnp.complex64) if jnp.iscomplexobj(sigma) else dtype
        sigma = jnp.asarray(sigma, dtype if jnp.iscomplexobj(sigma) else jnp.finfo(dtype).dtype)
    return op, n, Md, opinv, sigma, dtype


def _solve(hermitian: bool, op: LinearOperator, Md: Array | None, opinv: Any, sigma: Any, v0: Array, k: int, m: int,
           which: str, tol: Array, maxiter: Array, dtype: Any) -> tuple:
    """The traced iteration (no derivative): ``(lam, X, ok, iterations)``."""
    t = Transform(stop(op), None if Md is None else jax.lax.stop_gradient(Md), sigma, stop(opinv), dtype)
    real_problem = not jnp.issubdtype(dtype, jnp.complexfloating)
    wdtype = dtype if hermitian else jnp.result_type(dtype, jnp.complex64)
    matvec = t.matvec  # pyright: ignore[reportAssignmentType]
    if not hermitian and real_problem and sigma is None:  # a real operator applied to complex vectors
        def matvec(z):
            return t.matvec(z.real).astype(wdtype) + 1j * t.matvec(z.imag)
    elif not hermitian:
        def matvec(z):
            return t.matvec(z.astype(dtype) if z.dtype == dtype else z).astype(wdtype)
    res = restarted_krylov(matvec, t.to_standard(v0.astype(dtype)).astype(wdtype), k, m, which, tol, maxiter,
                           hermitian, real_problem)
    lam = t.eigenvalues(res.theta)
    X = t.from_standard(res.vectors.astype(jnp.result_type(res.vectors.dtype, dtype)))
    return lam, X, res.converged, res.iterations



def _post(hermitian: bool, op: LinearOperator, Md: Array | None, lam: Array, X: Array, ok: Array,
          return_eigenvectors: bool, which: str, shifted: bool) -> tuple:
    """SciPy's order, NaN for unconverged pairs, and the derivative rules."""
    lam = jnp.where(ok, lam, jnp.nan)
    X = jnp.where(ok[None, :], X, jnp.nan)
    if hermitian:
        lam = lam.real
        order = jnp.argsort(lam)  # SciPy's eigsh: ascending; values only: ARPACK's least-wanted-first
        if not return_eigenvectors and not shifted and which != "BE":
            order = priority(lam, which)[::-1]
        lam, X = lam[order], X[:, order]
    Xs = jax.lax.stop_gradient(X)
    AX = op.matmat(Xs.astype(jnp.result_type(op.dtype, Xs.dtype)))
    q = jnp.sum(Xs.conj() * AX, axis=0)
    if Md is not None:
        q = q - jax.lax.stop_gradient(lam) * jnp.sum(Xs.conj() * (Md @ Xs), axis=0)
    if hermitian:
        lam = eigenvalue_surrogate(lam, q.real)
    elif Md is None:  # d lam = u^H dA x / (u^H x), u the left eigenvector
        lam = jax.lax.stop_gradient(lam) + left_weighted(op, Xs, jax.lax.stop_gradient(lam))
    else:  # generalized non-Hermitian problem: not provided
        lam = frozen(jax.lax.stop_gradient(lam), q.real)
    return lam, (frozen(Xs, q.real) if return_eigenvectors else None)


def _eig(hermitian: bool, op: LinearOperator, Md: Array | None, opinv: Any, sigma: Any, v0: Array, k: int, m: int,
         which: str, tol: Array, maxiter: Array, dtype: Any, return_eigenvectors: bool) -> tuple:
    lam, X, ok, it = _solve(hermitian, op, Md, opinv, sigma, v0, k, m, which, tol, maxiter, dtype)
    out = _post(hermitian, op, Md, lam, X, ok, return_eigenvectors, which, sigma is not None)
    return out, (lam, X, ok, it)


_eig_jit = eqx.filter_jit(_eig)


def _run(fname: str, hermitian: bool, op: LinearOperator, Md: Array | None, opinv: Any, sigma: Any, v0: Array,
         k: int, m: int, which: str, tol: Array, maxiter: Array, dtype: Any, return_eigenvectors: bool) -> Any:
    eager = is_concrete(op, Md, opinv, sigma, v0, tol)
    run = _eig_jit if eager else _eig
    (lam, X), (lam_raw, X_raw, ok, it) = run(hermitian, op, Md, opinv, sigma, v0, k, m, which, tol, maxiter,
                                             dtype, return_eigenvectors)
    if eager:
        no_convergence(fname, lam_raw, X_raw if return_eigenvectors else None, ok, it, k)
    return (lam, X) if return_eigenvectors else lam


def _dense_fallback(fname: str, A: Any, op: LinearOperator, M: Any, return_eigenvectors: bool) -> Any:
    """SciPy's ``k >= n`` path: warn and use the dense solver (operators raise ``TypeError``)."""
    if isinstance(A, LinearOperator):
        raise TypeError(f"Cannot use scipy.linalg.{'eigh' if fname == 'eigsh' else 'eig'} for LinearOperator A "
                        f"with k >= {'N' if fname == 'eigsh' else 'N - 1'}.")
    warnings.warn(f"k >= N{'' if fname == 'eigsh' else ' - 1'} for N * N square matrix. Attempting to use "
                  f"scipy.linalg.{'eigh' if fname == 'eigsh' else 'eig'} instead.", RuntimeWarning, stacklevel=3)
    from ._decomp import eigh as _eigh
    from ._decomp_extra import eig as _eig

    a = dense_of(op)
    b = None if M is None else dense_of(to_operator(M, "M"))
    if fname == "eigsh":
        return _eigh(a, b, eigvals_only=not return_eigenvectors)
    out = _eig(a, b, right=return_eigenvectors)
    return out


def eigsh(A: Any, k: int = 6, M: Any = None, sigma: Any = None, which: str = "LM", v0: Any = None,
          ncv: int | None = None, maxiter: int | None = None, tol: Any = 0, return_eigenvectors: bool = True,
          Minv: Any = None, OPinv: Any = None, mode: str = "normal", rng: Any = None) -> Any:
    """Find ``k`` eigenvalues and eigenvectors of a real symmetric or complex Hermitian ``A``.

    Mirrors :func:`scipy.sparse.linalg.eigsh`: thick-restarted Lanczos with full reorthogonalisation
    (Wu & Simon 2000) where SciPy runs ARPACK's implicitly restarted Lanczos; both keep a Krylov
    space of ``ncv`` vectors and restart it on the wanted Ritz vectors, and both use ARPACK's
    convergence test ``||A x - theta x|| <= tol * |theta|``.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        Square Hermitian ``(N, N)`` matrix or operator.
    k : int, optional
        Number of eigenpairs, ``0 < k < N``.
    M : array_like, sparse matrix or LinearOperator, optional
        Hermitian positive definite ``M`` of the generalized problem ``A x = w M x``.
    sigma : float, optional
        Shift-invert mode: the iteration runs on ``(A - sigma M)^{-1} M`` and ``which`` refers to
        ``1 / (w - sigma)``, finding the eigenvalues nearest ``sigma``.
    which : {'LM', 'SM', 'LA', 'SA', 'BE'}, optional
        Largest/smallest magnitude, largest/smallest algebraic, or both ends.
    v0 : array_like, optional
        Starting vector (default: pseudo-random, seeded by ``rng``).
    ncv : int, optional
        Krylov space width, ``k < ncv <= N``; default ``min(N, max(2k + 1, 20))``.
    maxiter : int, optional
        Maximum restart cycles; default ``10 N``.
    tol : float, optional
        Relative accuracy of the eigenvalues; 0 means machine precision.
    return_eigenvectors : bool, optional
        Also return the eigenvectors.
    Minv : optional
        Accepted for compatibility and ignored (``M`` is factored instead).
    OPinv : array_like or LinearOperator, optional
        ``(A - sigma M)^{-1}``, used instead of the dense LU factorisation in shift-invert mode.
    mode : {'normal'}, optional
        Only ``'normal'``; ``'buckling'`` and ``'cayley'`` raise ``NotImplementedError``.
    rng : int or numpy.random.Generator, optional
        Source of the default starting vector (uniform in ``[-1, 1)``; seed 0 when omitted).

    Returns
    -------
    w : Array
        ``(k,)`` eigenvalues in ascending order. With ``return_eigenvectors=False`` and no
        ``sigma``, SciPy's (ARPACK's) order instead: least wanted first (``'LM'``: ascending
        magnitude, ``'SA'``: descending, ``'BE'``: ascending).
    v : Array
        ``(N, k)`` orthonormal (``M``-orthonormal) eigenvectors, if ``return_eigenvectors``.

    Raises
    ------
    ArpackNoConvergence
        (SciPy's class) in an eager call that did not converge within ``maxiter``; it carries the
        converged pairs. Under ``jit``/``vmap`` the unconverged pairs are NaN instead.

    Differences from SciPy
    ----------------------
    - Thick-restart Lanczos instead of ARPACK's implicit restart (the same subspaces in exact
      arithmetic). Full reorthogonalisation costs ``O(N ncv^2)`` per cycle.
    - ``M`` and the shift-invert operator are dense: ``M`` is Cholesky-factored and
      ``A - sigma M`` LU-factored as dense ``N x N`` matrices (a ``LinearOperator`` is materialised
      as ``A @ I``), unless ``OPinv`` is given. Keep ``N`` to a few thousand in those modes.
    - Derivatives: eigenvalues are differentiable (``d w = v^H dA v - w v^H dM v``, exact for simple
      eigenvalues; at a repeated eigenvalue the result depends on which basis of the eigenspace came
      out and is not a derivative). Eigenvector derivatives are not provided: they come out NaN.
      The iteration itself is never differentiated.
    - The default start vector is reproducible (seed 0) rather than ARPACK's random one.
    - Complex Hermitian ``A``: ascending order too (SciPy returns its complex ARPACK driver's
      order there).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigsh
    >>> A = jnp.diag(jnp.arange(1.0, 31.0))
    >>> w, v = eigsh(A, k=3)
    >>> w.round(8).tolist()
    [28.0, 29.0, 30.0]
    """
    del Minv
    op, n, Md, opinv, sigma, dtype = _setup("eigsh", A, M, sigma, which, _WHICH_H, mode, OPinv)
    if isinstance(k, int | np.integer) and not isinstance(k, bool) and k >= n:
        return _dense_fallback("eigsh", A, op, M, return_eigenvectors)
    k, m = check_k_ncv(k, ncv, n, 1)
    v0 = start_vector(v0, n, dtype, rng)
    tol, max_iterations = iteration_args(tol, maxiter, n, dtype)
    return _run("eigsh", True, op, Md, opinv, sigma, v0, k, m, which, tol, max_iterations, dtype, return_eigenvectors)


def eigs(A: Any, k: int = 6, M: Any = None, sigma: Any = None, which: str = "LM", v0: Any = None,
         ncv: int | None = None, maxiter: int | None = None, tol: Any = 0, return_eigenvectors: bool = True,
         Minv: Any = None, OPinv: Any = None, OPpart: Any = None, rng: Any = None) -> Any:
    """Find ``k`` eigenvalues and eigenvectors of a square (non-symmetric) ``A``.

    Mirrors :func:`scipy.sparse.linalg.eigs`: restarted Arnoldi with full reorthogonalisation and a
    Krylov-Schur-type restart (Stewart 2001) on an orthonormal basis of the wanted Ritz vectors, where
    SciPy runs ARPACK's implicitly restarted Arnoldi. Convergence test as ARPACK's.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        Square ``(N, N)``.
    k : int, optional
        Number of eigenpairs, ``0 < k < N - 1``.
    M : optional
        Hermitian positive definite ``M`` of ``A x = w M x``.
    sigma : real or complex, optional
        Shift-invert: iterate on ``(A - sigma M)^{-1} M``; ``which`` refers to ``1 / (w - sigma)``.
    which : {'LM', 'SM', 'LR', 'SR', 'LI', 'SI'}, optional
        Largest/smallest magnitude, real part or imaginary part.
    v0, ncv, maxiter, tol, return_eigenvectors, Minv, OPinv, rng
        As in :func:`eigsh`; ``ncv`` must satisfy ``k + 1 < ncv <= N``.
    OPpart : optional
        Accepted and ignored: the iteration runs in complex arithmetic, so no real part is taken.

    Returns
    -------
    w : Array
        ``(k,)`` complex eigenvalues, from the most to the least wanted by ``which``.
    v : Array
        ``(N, k)`` unit eigenvectors, if ``return_eigenvectors``.

    Differences from SciPy
    ----------------------
    - Krylov-Schur-type restart instead of ARPACK's implicit QR shifts; complex arithmetic
      throughout. The Ritz values of the small projected matrix come from ``jnp.linalg.eig``, which
      JAX runs on CPU only.
    - The order of the returned eigenvalues is "most wanted first" (ARPACK's order is unspecified).
    - Derivatives: eigenvalues are differentiable (``d w = u^H dA v / (u^H v)`` for simple
      eigenvalues, with the left eigenvector ``u`` found by inverse iteration on the dense matrix,
      ``O(k N^3)``, only when differentiating); not with ``M`` (NaN). Eigenvector derivatives are
      NaN (not provided).
    - ``M``, ``sigma``, failure and start vector: as in :func:`eigsh`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigs
    >>> A = jnp.diag(jnp.arange(1.0, 31.0)) + jnp.diag(jnp.ones(29), 1)
    >>> w = eigs(A, k=2, return_eigenvectors=False)
    >>> w.real.round(8).tolist()
    [30.0, 29.0]
    """
    del Minv, OPpart
    op, n, Md, opinv, sigma, dtype = _setup("eigs", A, M, sigma, which, _WHICH_G, "normal", OPinv)
    if isinstance(k, int | np.integer) and not isinstance(k, bool) and k >= n - 1:
        return _dense_fallback("eigs", A, op, M, return_eigenvectors)
    k, m = check_k_ncv(k, ncv, n, 2)
    v0 = start_vector(v0, n, dtype, rng)
    tol, max_iterations = iteration_args(tol, maxiter, n, dtype)
    return _run("eigs", False, op, Md, opinv, sigma, v0, k, m, which, tol, max_iterations, dtype, return_eigenvectors)
