"""Spectral helpers built on JAX's SVD and eigensolvers: ``pinv``, ``pinvh``, ``svdvals``,
``null_space``, ``orth``, ``eig`` and ``eigvals``.

The pseudo-inverses carry a ``custom_jvp`` with the Golub-Pereyra derivative of a constant-rank
pseudo-inverse, so gradients never divide by the discarded (near-zero) singular values.
"""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, is_concrete, square

__all__ = ["pinv", "pinvh", "svdvals", "null_space", "orth", "eig", "eigvals"]


def _h(x: Array) -> Array:
    return jnp.conj(jnp.swapaxes(x, -1, -2))


def _cutoff(s_max: Array, atol: Any, rtol: Any, shape: tuple, dtype: Any) -> Array:
    atol = 0.0 if atol is None else atol
    rtol = max(shape[-2:]) * jnp.finfo(dtype).eps if rtol is None else rtol
    if is_concrete(atol, rtol) and (np.any(np.asarray(atol) < 0) or np.any(np.asarray(rtol) < 0)):
        raise ValueError("`atol` and `rtol` values must be positive.")
    return atol + s_max * rtol


@partial(jax.custom_jvp, nondiff_argnums=(1,))
def _pinv_core(a: Array, hermitian: bool, atol: Array, rtol: Array) -> tuple[Array, Array]:
    if hermitian:
        w, v = jnp.linalg.eigh(a)
        s = jnp.abs(w)
        cut = atol + jnp.max(s, axis=-1, keepdims=True) * rtol
        keep = s > cut
        inv_w = jnp.where(keep, 1 / jnp.where(keep, w, 1), 0)
        out = (v * inv_w[..., None, :]) @ _h(v)
    else:
        u, s, vh = jnp.linalg.svd(a, full_matrices=False)
        cut = atol + jnp.max(s, axis=-1, keepdims=True, initial=0.0) * rtol
        keep = s > cut
        inv_s = jnp.where(keep, 1 / jnp.where(keep, s, 1), 0).astype(a.dtype)
        out = (_h(vh) * inv_s[..., None, :]) @ _h(u)
    return out, jnp.sum(keep, axis=-1)


@_pinv_core.defjvp
def _pinv_jvp(hermitian, primals, tangents):
    a, atol, rtol = primals
    da = tangents[0]
    p, rank = _pinv_core(a, hermitian, atol, rtol)
    # d(A+) = -A+ dA A+ + A+ A+^H dA^H (I - A A+) + (I - A+ A) dA^H A+^H A+   (constant rank)
    eye_m = jnp.eye(a.shape[-2], dtype=a.dtype)
    eye_n = jnp.eye(a.shape[-1], dtype=a.dtype)
    ph, dah = _h(p), _h(da)
    dp = (-p @ da @ p + p @ ph @ dah @ (eye_m - a @ p) + (eye_n - p @ a) @ dah @ ph @ p)
    return (p, rank), (dp, jnp.zeros(rank.shape, jax.dtypes.float0))


_pinv_jit = jax.jit(_pinv_core, static_argnums=1)


def pinv(a: ArrayLike, *, atol: float | None = None, rtol: float | None = None, return_rank: bool = False,
         check_finite: bool = True) -> Array | tuple[Array, Array]:
    """Moore-Penrose pseudo-inverse through the SVD; mirrors :func:`scipy.linalg.pinv`.

    Singular values below ``atol + rtol * s_max`` are treated as zero.

    Parameters
    ----------
    a : array, shape (..., M, N)
        Matrix to pseudo-invert.
    atol : float, optional
        Absolute cut-off term (default 0).
    rtol : float, optional
        Relative cut-off term (default ``max(M, N) * eps``).
    return_rank : bool
        Also return the effective rank.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.

    Returns
    -------
    B : array, shape (..., N, M)
    rank : int array
        Only when ``return_rank``.

    Differences from SciPy
    ----------------------
    Differentiable: the derivative is that of a pseudo-inverse of constant rank (Golub and
    Pereyra, 1973), exact wherever the rank does not change.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import pinv
    >>> a = jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> bool(jnp.allclose(a @ pinv(a) @ a, a))
    True
    """
    a = jnp.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"`a` must be at least 2-D, got shape {a.shape}")
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    real = jnp.finfo(a.dtype).dtype
    _cutoff(jnp.zeros((), real), atol, rtol, a.shape, real)  # validates atol/rtol
    atol_ = jnp.asarray(0.0 if atol is None else atol, real)
    rtol_ = jnp.asarray(max(a.shape[-2:]) * jnp.finfo(real).eps if rtol is None else rtol, real)
    out, rank = _pinv_jit(a, False, atol_, rtol_)
    return (out, rank) if return_rank else out


def pinvh(a: ArrayLike, atol: float | None = None, rtol: float | None = None, lower: bool = True,
          return_rank: bool = False, check_finite: bool = True) -> Array | tuple[Array, Array]:
    """Pseudo-inverse of a Hermitian matrix through its eigendecomposition; mirrors
    :func:`scipy.linalg.pinvh`.

    Parameters
    ----------
    a : array, shape (..., N, N)
        Hermitian matrix; only the ``lower`` (else upper) triangle is read.
    atol, rtol : float, optional
        Eigenvalues with ``|w| <= atol + rtol * max|w|`` are treated as zero (defaults 0 and
        ``N * eps``).
    lower : bool
        Which triangle of ``a`` to read.
    return_rank : bool
        Also return the effective rank.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.

    Returns
    -------
    B : array, shape (..., N, N)
    rank : int array
        Only when ``return_rank``.

    Differences from SciPy
    ----------------------
    Differentiable (constant-rank derivative, as :func:`pinv`).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import pinvh
    >>> a = jnp.array([[2.0, 1.0], [1.0, 2.0]])
    >>> bool(jnp.allclose(pinvh(a) @ a, jnp.eye(2)))
    True
    """
    a = square("a", a)
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    tri = jnp.tril(a) if lower else jnp.triu(a)
    strict = jnp.tril(a, -1) if lower else jnp.triu(a, 1)
    a = tri + _h(strict)
    real = jnp.finfo(a.dtype).dtype
    _cutoff(jnp.zeros((), real), atol, rtol, a.shape, real)
    atol_ = jnp.asarray(0.0 if atol is None else atol, real)
    rtol_ = jnp.asarray(a.shape[-1] * jnp.finfo(real).eps if rtol is None else rtol, real)
    out, rank = _pinv_jit(a, True, atol_, rtol_)
    return (out, rank) if return_rank else out


def svdvals(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """Singular values in descending order; mirrors :func:`scipy.linalg.svdvals`.

    Parameters
    ----------
    a : array, shape (..., M, N)
    overwrite_a : ignored
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.

    Returns
    -------
    s : array, shape (..., min(M, N))

    Differences from SciPy
    ----------------------
    None in the result; differentiable where the singular values are distinct.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import svdvals
    >>> svdvals(jnp.array([[3.0, 0.0], [0.0, -4.0]])).tolist()
    [4.0, 3.0]
    """
    a = jnp.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"`a` must be at least 2-D, got shape {a.shape}")
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    return jnp.linalg.svd(a, compute_uv=False)


def _rank_columns(basis: Array, count: Array) -> Array:
    """The first ``count`` columns of ``basis``; trimmed when eager, NaN-padded when traced."""
    if is_concrete(basis, count) and basis.ndim == 2:
        return basis[:, : int(count)]
    cols = jnp.arange(basis.shape[-1])
    return jnp.where(cols < jnp.expand_dims(count, (-1, -2)), basis, jnp.nan)


def null_space(A: ArrayLike, rcond: float | None = None, *, overwrite_a: bool = False,
               check_finite: bool = True, lapack_driver: str = "gesdd") -> Array:
    """Orthonormal basis of the null space of ``A`` from its SVD; mirrors :func:`scipy.linalg.null_space`.

    Parameters
    ----------
    A : array, shape (M, N)
    rcond : float, optional
        Singular values ``<= rcond * s_max`` count as zero (default ``eps * max(M, N)``).
    overwrite_a : ignored
    check_finite : bool
        Raise ``ValueError`` if a concrete ``A`` holds inf or NaN.
    lapack_driver : {'gesdd', 'gesvd'}
        Validated, then ignored.

    Returns
    -------
    Z : array, shape (N, K)
        ``K = N - rank`` orthonormal columns.

    Differences from SciPy
    ----------------------
    ``K`` depends on the values of ``A``. An eager call returns exactly SciPy's ``(N, K)``;
    under ``jit``/``vmap`` the result has a fixed ``(N, N)`` shape whose first ``K`` columns
    are the basis and whose other columns are NaN.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import null_space
    >>> z = null_space(jnp.array([[1.0, 1.0], [1.0, 1.0]]))
    >>> z.shape, bool(jnp.allclose(jnp.array([[1.0, 1.0]]) @ z, 0))
    ((2, 1), True)
    """
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f"`lapack_driver`: must be 'gesdd' or 'gesvd', got {lapack_driver!r}")
    A = jnp.asarray(A)
    if A.ndim < 2:
        raise ValueError(f"`A` must be at least 2-D, got shape {A.shape}")
    A = A.astype(inexact(A))
    check_finite_arg("A", A, check_finite)
    m, n = A.shape[-2:]
    _, s, vh = jnp.linalg.svd(A, full_matrices=True)
    rel = jnp.finfo(s.dtype).eps * max(m, n) if rcond is None else rcond
    tol = jnp.max(s, axis=-1, keepdims=True, initial=0.0) * rel
    rank = jnp.sum(s > tol, axis=-1)
    basis = _h(vh)
    # columns rank..N-1 of V span the null space; move them to the front
    order = (jnp.arange(n) + rank[..., None]) % n
    basis = jnp.take_along_axis(basis, order[..., None, :], axis=-1)
    return _rank_columns(basis, n - rank)


def orth(A: ArrayLike, rcond: float | None = None) -> Array:
    """Orthonormal basis of the range of ``A`` from its SVD; mirrors :func:`scipy.linalg.orth`.

    Parameters
    ----------
    A : array, shape (M, N)
    rcond : float, optional
        Singular values ``<= rcond * s_max`` count as zero (default ``eps * max(M, N)``).

    Returns
    -------
    Q : array, shape (M, K)
        ``K`` = effective rank.

    Differences from SciPy
    ----------------------
    As :func:`null_space`: exactly SciPy's shape when eager; under ``jit``/``vmap`` a fixed
    ``(M, min(M, N))`` with NaN columns after the first ``K``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import orth
    >>> orth(jnp.array([[1.0, 1.0], [1.0, 1.0]])).shape
    (2, 1)
    """
    A = jnp.asarray(A)
    if A.ndim < 2:
        raise ValueError(f"`A` must be at least 2-D, got shape {A.shape}")
    A = A.astype(inexact(A))
    m, n = A.shape[-2:]
    u, s, _ = jnp.linalg.svd(A, full_matrices=False)
    rel = jnp.finfo(s.dtype).eps * max(m, n) if rcond is None else rcond
    tol = jnp.max(s, axis=-1, keepdims=True, initial=0.0) * rel
    return _rank_columns(u, jnp.sum(s > tol, axis=-1))


def _pencil(a: ArrayLike, b: ArrayLike | None, check_finite: bool) -> tuple[Array, Array | None]:
    a = square("a", a)
    if b is None:
        a = a.astype(inexact(a))
        check_finite_arg("a", a, check_finite)
        return a, None
    b = square("b", b)
    dtype = inexact(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    if b.shape[-2:] != a.shape[-2:]:
        raise ValueError(f"`b`: shape {b.shape} does not match `a` {a.shape}")
    check_finite_arg("a", a, check_finite)
    check_finite_arg("b", b, check_finite)
    return jnp.linalg.solve(b, a), b


def _homogeneous(w: Array, homogeneous_eigvals: bool) -> Array:
    return jnp.stack([w, jnp.ones_like(w)], axis=-2) if homogeneous_eigvals else w


def _unit_columns(v: Array) -> Array:
    return v / jnp.linalg.norm(v, axis=-2, keepdims=True)


def eig(a: ArrayLike, b: ArrayLike | None = None, left: bool = False, right: bool = True,
        overwrite_a: bool = False, overwrite_b: bool = False, check_finite: bool = True,
        homogeneous_eigvals: bool = False) -> Array | tuple[Array, ...]:
    """Eigenvalues and eigenvectors of a general square matrix (or pencil ``a v = w b v``);
    mirrors :func:`scipy.linalg.eig`.

    Parameters
    ----------
    a : array, shape (..., N, N)
    b : array, shape (..., N, N), optional
        Right-hand matrix of the generalized problem; must be invertible here.
    left, right : bool
        Return the left (``vl^H a = w vl^H b``) / right eigenvectors.
    overwrite_a, overwrite_b : ignored
    check_finite : bool
        Raise ``ValueError`` if a concrete input holds inf or NaN.
    homogeneous_eigvals : bool
        Return ``w`` as a ``(2, N)`` array of ``(alpha, beta)`` with ``w = alpha / beta``.

    Returns
    -------
    w : complex array, shape (..., N) (or (..., 2, N))
    vl : complex array, shape (..., N, N)
        Unit-norm left eigenvectors, only when ``left``.
    vr : complex array, shape (..., N, N)
        Unit-norm right eigenvectors, only when ``right``.

    Differences from SciPy
    ----------------------
    - **CPU only.** JAX computes non-symmetric eigendecompositions with LAPACK ``geev`` on the
      CPU backend; on GPU/TPU it raises. For Hermitian matrices use :func:`eigh`, which runs
      everywhere.
    - The generalized problem is solved as the standard problem of ``b^{-1} a`` (JAX has no
      QZ algorithm), so a singular ``b`` (infinite eigenvalues) gives non-finite output, and
      ``beta`` is always 1 with ``homogeneous_eigvals``.
    - Eigenvectors are each scaled to unit 2-norm (as SciPy's standard problem); their complex
      phase may differ from SciPy's.
    - The result is always complex (SciPy returns real ``vr`` when every eigenvalue is real).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eig
    >>> w, v = eig(jnp.array([[0.0, -1.0], [1.0, 0.0]]))
    >>> sorted(w.imag.round(6).tolist())
    [-1.0, 1.0]
    """
    ab, b_arr = _pencil(a, b, check_finite)
    parts = list(jax.lax.linalg.eig(ab, compute_left_eigenvectors=left, compute_right_eigenvectors=right))
    w = _homogeneous(parts.pop(0), homogeneous_eigvals)
    vl = parts.pop(0) if left else w
    vr = parts.pop(0) if right else w
    out: list[Array] = [w]
    if left:
        if b_arr is not None:  # u^H b^{-1} a = w u^H  ->  (b^{-H} u)^H a = w (b^{-H} u)^H b
            vl = jnp.linalg.solve(_h(b_arr).astype(vl.dtype), vl)
        out.append(_unit_columns(vl))
    if right:
        out.append(_unit_columns(vr))
    return out[0] if len(out) == 1 else tuple(out)


def eigvals(a: ArrayLike, b: ArrayLike | None = None, overwrite_a: bool = False, check_finite: bool = True,
            homogeneous_eigvals: bool = False) -> Array:
    """Eigenvalues of a general square matrix or pencil; mirrors :func:`scipy.linalg.eigvals`.

    See :func:`eig` for the parameters.

    Differences from SciPy
    ----------------------
    As :func:`eig`: CPU only, and the pencil is reduced to ``b^{-1} a``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigvals
    >>> sorted(eigvals(jnp.array([[2.0, 1.0], [0.0, 3.0]])).real.tolist())
    [2.0, 3.0]
    """
    ab, _ = _pencil(a, b, check_finite)
    return _homogeneous(jnp.linalg.eigvals(ab), homogeneous_eigvals)
