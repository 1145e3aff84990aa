"""Structured dense solves: Hermitian banded (``solveh_banded``, ``cholesky_banded``,
``cho_solve_banded``), circulant (``solve_circulant``, FFT) and Toeplitz (``solve_toeplitz``,
Levinson recursion).

``solve_toeplitz`` runs the Levinson recursion (Levinson 1947; the non-symmetric form with forward
and backward vectors, as in Golub and Van Loan, *Matrix Computations*, 4th ed., section 4.7) in a
``lax.fori_loop`` with O(N^2) work, and wraps it in ``lax.custom_linear_solve`` so that gradients
with respect to ``c``, ``r`` and ``b`` come from one more Levinson solve with the transposed
matrix instead of differentiating through the loop.
"""

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve, toeplitz
from scipy.linalg import LinAlgError

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, honest_nan, inexact, is_concrete

__all__ = ["solveh_banded", "cholesky_banded", "cho_solve_banded", "solve_circulant", "solve_toeplitz"]


# ---------------------------------------------------------------- banded storage <-> dense


def _band_to_dense(ab: Array, lower: bool) -> Array:
    """LAPACK Hermitian band storage (``u+1`` rows) -> the full Hermitian matrix."""
    u, n = ab.shape[0] - 1, ab.shape[1]
    tri = jnp.zeros((n, n), ab.dtype)
    for k in range(u + 1):
        d = k if lower else u - k  # distance from the main diagonal
        if d >= n:
            continue
        vals = ab[k, : n - d] if lower else ab[k, d:]
        tri = tri + jnp.diag(vals, -d if lower else d)
    diag = jnp.diag(jnp.diagonal(tri).real.astype(ab.dtype))
    strict = tri - jnp.diag(jnp.diagonal(tri))
    return diag + strict + jnp.conj(strict).T


def _dense_to_band(a: Array, template: Array, lower: bool) -> Array:
    """The triangle of ``a`` in band storage; unused corners keep ``template``'s entries."""
    u, n = template.shape[0] - 1, template.shape[1]
    rows = []
    for k in range(u + 1):
        d = k if lower else u - k
        vals = jnp.diagonal(a, -d if lower else d)
        pad = template[k, n - d:] if lower else template[k, :d]
        rows.append(jnp.concatenate([vals, pad]) if lower else jnp.concatenate([pad, vals]))
    return jnp.stack(rows)


def _band_arg(name: str, ab: ArrayLike, check_finite: bool, *extra: Array) -> Array:
    ab = jnp.asarray(ab)
    if ab.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array in LAPACK band storage, got shape {ab.shape}")
    ab = ab.astype(inexact(ab, *extra))
    check_finite_arg(name, ab, check_finite)
    return ab


def cholesky_banded(ab: ArrayLike, overwrite_ab: bool = False, lower: bool = False,
                    check_finite: bool = True) -> Array:
    """Cholesky factor of a Hermitian positive definite banded matrix; mirrors
    :func:`scipy.linalg.cholesky_banded`.

    Parameters
    ----------
    ab : array, shape (u + 1, N)
        The matrix in LAPACK band storage: ``ab[u + i - j, j] = a[i, j]`` (upper, ``i <= j``) or
        ``ab[i - j, j] = a[i, j]`` (lower, ``i >= j``).
    overwrite_ab : ignored
    lower : bool
        Whether ``ab`` holds the lower (else upper) triangle.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``ab`` holds inf or NaN.

    Returns
    -------
    c : array, shape (u + 1, N)
        ``U`` with ``a = U^H U`` (or ``L`` with ``a = L L^H``) in the same band storage.

    Differences from SciPy
    ----------------------
    - Runs a dense Cholesky factorisation of the assembled matrix (O(N^3), not LAPACK
      ``pbtrf``'s O(N u^2)): JAX has no banded factorisation, and the dense one is a single
      differentiable primitive on every backend.
    - A matrix that is not positive definite gives NaN instead of ``LinAlgError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cholesky_banded
    >>> ab = jnp.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0]])   # upper: tridiag(1, 4, 1)
    >>> print(cholesky_banded(ab)[1].round(4))
    [2.     1.9365 1.9322]
    """
    ab = _band_arg("ab", ab, check_finite)
    factor = jnp.linalg.cholesky(_band_to_dense(ab, lower))
    factor = honest_nan(factor, jnp.array(True))
    return _dense_to_band(factor if lower else jnp.conj(factor).T, ab, lower)


def cho_solve_banded(cb_and_lower: tuple[ArrayLike, bool], b: ArrayLike, overwrite_b: bool = False,
                     check_finite: bool = True) -> Array:
    """Solve ``a x = b`` given the banded Cholesky factor of ``a``; mirrors
    :func:`scipy.linalg.cho_solve_banded`.

    Parameters
    ----------
    cb_and_lower : (cb, lower)
        ``cb`` from :func:`cholesky_banded` and whether it is the lower factor.
    b : array, shape (N,) or (N, K)
    overwrite_b : ignored
    check_finite : bool
        Raise ``ValueError`` if concrete inputs hold inf or NaN.

    Returns
    -------
    x : array, with ``b``'s shape

    Differences from SciPy
    ----------------------
    Dense triangular solves on the assembled factor (O(N^2) per right-hand side, not O(N u)).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import cholesky_banded, cho_solve_banded
    >>> ab = jnp.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0]])
    >>> x = cho_solve_banded((cholesky_banded(ab), False), jnp.array([5.0, 6.0, 5.0]))
    >>> x.round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    cb, lower = cb_and_lower
    b = jnp.asarray(b)
    cb = _band_arg("cb", cb, check_finite, b)
    b = b.astype(cb.dtype)
    check_finite_arg("b", b, check_finite)
    if b.shape[0] != cb.shape[1]:
        raise ValueError(f"`b`: shapes of cb {cb.shape} and b {b.shape} are not compatible")
    u, n = cb.shape[0] - 1, cb.shape[1]
    tri = jnp.zeros((n, n), cb.dtype)
    for k in range(u + 1):
        d = k if lower else u - k
        if d < n:
            tri = tri + jnp.diag(cb[k, : n - d] if lower else cb[k, d:], -d if lower else d)
    return cho_solve((tri, lower), b)


def solveh_banded(ab: ArrayLike, b: ArrayLike, overwrite_ab: bool = False, overwrite_b: bool = False,
                  lower: bool = False, check_finite: bool = True) -> Array:
    """Solve ``a x = b`` for a Hermitian positive definite banded ``a``; mirrors
    :func:`scipy.linalg.solveh_banded`.

    Parameters
    ----------
    ab : array, shape (u + 1, N)
        ``a`` in LAPACK band storage (see :func:`cholesky_banded`).
    b : array, shape (N,) or (N, K)
    overwrite_ab, overwrite_b : ignored
    lower : bool
        Whether ``ab`` holds the lower (else upper) triangle.
    check_finite : bool
        Raise ``ValueError`` if concrete inputs hold inf or NaN.

    Returns
    -------
    x : array, with ``b``'s shape

    Differences from SciPy
    ----------------------
    - Dense Cholesky of the assembled matrix (O(N^3)); differentiable in ``ab`` and ``b``.
    - Not positive definite: NaN instead of ``LinAlgError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solveh_banded
    >>> ab = jnp.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0]])
    >>> solveh_banded(ab, jnp.array([5.0, 6.0, 5.0])).round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    b = jnp.asarray(b)
    ab = _band_arg("ab", ab, check_finite, b)
    b = b.astype(ab.dtype)
    check_finite_arg("b", b, check_finite)
    if b.shape[0] != ab.shape[1]:
        raise ValueError(f"`b`: shapes of ab {ab.shape} and b {b.shape} are not compatible")
    a = _band_to_dense(ab, lower)
    x = cho_solve(jax.scipy.linalg.cho_factor(a, lower=True), b)
    return honest_nan(x, jnp.array(True))


# ---------------------------------------------------------------- circulant


def solve_circulant(c: ArrayLike, b: ArrayLike, singular: str = "raise", tol: float | None = None,
                    caxis: int = -1, baxis: int = 0, outaxis: int = 0) -> Array:
    """Solve ``C x = b`` for a circulant ``C`` by division in Fourier space; mirrors
    :func:`scipy.linalg.solve_circulant`.

    ``x = ifft(fft(b) / fft(c))``.

    Parameters
    ----------
    c : array
        First column(s) of the circulant matrix, along ``caxis``.
    b : array
        Right-hand side(s), along ``baxis``.
    singular : {'raise', 'lstsq'}
        Near-singular ``C`` (an eigenvalue with ``|lambda| <= tol``): raise ``LinAlgError``, or
        return the least-squares solution (those Fourier modes set to zero).
    tol : float, optional
        Default ``max|lambda| * (number of eigenvalues) * eps``.
    caxis, baxis, outaxis : int
        Axes of ``c``, ``b`` and the result that hold the vectors.

    Returns
    -------
    x : array

    Differences from SciPy
    ----------------------
    - With ``singular='raise'``, a near-singular ``C`` raises ``LinAlgError`` only in an eager
      call; under ``jit``/``vmap`` the result is all NaN instead.
    - ``eps`` in the default ``tol`` is that of the working precision (SciPy always uses
      float64's).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_circulant
    >>> solve_circulant(jnp.array([2.0, -1.0, 0.0, -1.0]) + jnp.eye(4)[0], jnp.ones(4)).round(6).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    if singular not in ("raise", "lstsq"):
        raise ValueError(f"`singular`: must be 'raise' or 'lstsq', got {singular!r}")
    c, b = jnp.asarray(c), jnp.asarray(b)
    dtype = inexact(c, b)
    c = jnp.moveaxis(c.astype(dtype), caxis, -1)
    b = jnp.moveaxis(b.astype(dtype), baxis, -1)
    n = c.shape[-1]
    if b.shape[-1] != n:
        raise ValueError(f"`b`: shapes of c {c.shape} and b {b.shape} are incompatible along the vector axis")
    fc = jnp.fft.fft(c, axis=-1)
    abs_eigs = jnp.abs(fc)
    cut = abs_eigs.max() * abs_eigs.size * jnp.finfo(dtype).eps if tol is None else tol
    near = abs_eigs <= cut
    fb = jnp.fft.fft(b, axis=-1)
    if singular == "lstsq":
        fc = jnp.where(near, 1, fc)
        fb = jnp.where(near, 0, fb)
    x = jnp.fft.ifft(fb / fc, axis=-1)
    if not jnp.iscomplexobj(c) and not jnp.iscomplexobj(b):
        x = x.real
    x = x.astype(dtype)
    if singular == "raise":
        bad = jnp.any(near)
        if is_concrete(bad) and bool(bad):
            raise LinAlgError("near singular circulant matrix.")
        x = jnp.where(bad, jnp.nan, x)
    return jnp.moveaxis(x, -1, outaxis)


# ---------------------------------------------------------------- Toeplitz (Levinson)


def _levinson(c: Array, r: Array, y: Array) -> Array:
    """Solve ``T x = y`` (``y`` of shape (N, K)) with ``T[i, j] = c[i - j]`` (i >= j), ``r[j - i]``."""
    n = c.shape[0]
    idx = jnp.arange(n)
    e0 = (idx == 0).astype(c.dtype)
    t0 = c[0]
    zeros = jnp.zeros(n, c.dtype)
    # row k of T left of the diagonal, reversed: T[k, i] = c[k - i] = c_rev_padded[n - 1 - k + i]
    c_rev = jnp.concatenate([c[::-1], zeros])
    r_next = jnp.concatenate([r[1:], zeros[:1]])  # T[0, i + 1] = r[i + 1]

    def step(k, state):
        f, bw, x = state
        active = idx < k
        row = jnp.where(active, jax.lax.dynamic_slice(c_rev, (n - 1 - k,), (n,)), 0)  # T[k, :k]
        top = jnp.where(active, r_next, 0)  # T[0, 1:k+1]
        ef, eb = row @ f, top @ bw
        den = 1 - ef * eb
        shifted = jnp.roll(bw, 1)
        f_new = (f - ef * shifted) / den
        b_new = (shifted - eb * f) / den
        x = x + b_new[:, None] * (y[k] - row @ x)[None, :]
        return f_new, b_new, x

    init = (e0 / t0, e0 / t0, e0[:, None] * y[0][None, :] / t0)
    return jax.lax.fori_loop(1, n, step, init)[2]


def solve_toeplitz(c_or_cr: ArrayLike | tuple[ArrayLike, ArrayLike], b: ArrayLike,
                   check_finite: bool = True) -> Array:
    """Solve ``T x = b`` for a Toeplitz ``T`` by Levinson recursion; mirrors
    :func:`scipy.linalg.solve_toeplitz`.

    Parameters
    ----------
    c_or_cr : array or (c, r)
        First column ``c`` (and first row ``r``; ``r[0]`` is ignored). With ``c`` alone,
        ``r = conj(c)`` (a Hermitian Toeplitz matrix).
    b : array, shape (N,) or (N, K)
    check_finite : bool
        Raise ``ValueError`` if concrete inputs hold inf or NaN.

    Returns
    -------
    x : array, with ``b``'s shape

    Differences from SciPy
    ----------------------
    - Same algorithm (O(N^2) Levinson), in a ``lax.fori_loop``; gradients with respect to ``c``,
      ``r`` and ``b`` are implicit (one Levinson solve with the transposed matrix).
    - A singular leading principal minor gives NaN instead of ``LinAlgError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_toeplitz
    >>> c, r = jnp.array([1.0, 3.0, 6.0, 10.0]), jnp.array([1.0, -1.0, -2.0, -3.0])
    >>> solve_toeplitz((c, r), jnp.array([1.0, 2.0, 2.0, 5.0])).round(6).tolist()
    [1.666667, -1.0, -2.666667, 2.333333]
    """
    if isinstance(c_or_cr, tuple):
        c, r = (jnp.asarray(v) for v in c_or_cr)
    else:
        c = jnp.asarray(c_or_cr)
        r = jnp.conj(c)
    b = jnp.asarray(b)
    dtype = inexact(c, r, b)
    c, r, b = c.astype(dtype).ravel(), r.astype(dtype).ravel(), b.astype(dtype)
    for name, v in (("c", c), ("r", r), ("b", b)):
        check_finite_arg(name, v, check_finite)
    n = c.shape[0]
    if r.shape[0] != n:
        raise ValueError(f"`c_or_cr`: c and r must have the same length, got {c.shape} and {r.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != n:
        raise ValueError(f"`b`: incompatible dimensions: b {b.shape}, Toeplitz matrix of size {n}")
    if n == 0:
        return jnp.zeros(b.shape, dtype)
    x = _toeplitz_solve(c, r.at[0].set(c[0]), b[:, None] if b.ndim == 1 else b)
    return x[:, 0] if b.ndim == 1 else x


@jax.jit
def _toeplitz_solve(c: Array, r: Array, b2: Array) -> Array:
    def matvec(x):
        return toeplitz(c, r) @ x

    x = jax.lax.custom_linear_solve(
        matvec, b2,
        solve=lambda _, rhs: _levinson(c, r, rhs),
        transpose_solve=lambda _, rhs: _levinson(r, c, rhs))
    return honest_nan(x, jnp.array(True))
