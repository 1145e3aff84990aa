"""Special matrices and structured products missing from ``jax.scipy.linalg``: ``pascal``,
``invpascal``, ``invhilbert``, ``khatri_rao``, ``diagsvd`` and ``matmul_toeplitz``.

The integer matrices (``pascal``, ``invpascal``, ``invhilbert``) are built from closed forms with
Python integers on the host (``n`` is static), so ``exact=True`` is exact:

- Pascal: ``P[i, j] = C(i + j, i)``, ``L[i, j] = C(i, j)``, ``P = L L^T``, ``L^-1[i, j] = (-1)^(i+j) C(i, j)``;
- inverse Hilbert (Choi 1983): ``(-1)^(i+j) (i+j+1) C(n+i, n-j-1) C(n+j, n-i-1) C(i+j, i)^2``.

``matmul_toeplitz`` embeds the Toeplitz matrix in a circulant of size ``M + N - 1`` and multiplies
by FFT.
"""

from math import comb
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact

__all__ = ["pascal", "invpascal", "invhilbert", "khatri_rao", "diagsvd", "matmul_toeplitz"]

_KINDS = ("symmetric", "lower", "upper")


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"`n` must be a non-negative integer, got {n!r}")
    return int(n)


def _as_array(rows: list[list[int]], n: int, exact: bool, dtype: Any) -> Array:
    if not exact:
        return jnp.asarray(np.array(rows, dtype=float).reshape(n, n))
    target = jnp.dtype(jax.dtypes.canonicalize_dtype(dtype))
    info = np.iinfo(target)
    if any(not info.min <= x <= info.max for row in rows for x in row):
        raise ValueError(f"`n`={n}: the exact entries overflow {target} (enable jax_enable_x64, use a smaller n, "
                         "or exact=False)")
    return jnp.asarray(np.array(rows, dtype=target).reshape(n, n))


def pascal(n: int, kind: str = "symmetric", exact: bool = True) -> Array:
    """The ``n x n`` Pascal matrix; mirrors :func:`scipy.linalg.pascal`.

    Parameters
    ----------
    n : int
    kind : {'symmetric', 'lower', 'upper'}
    exact : bool
        Integer entries (``uint64``) if True, else ``float64``.

    Returns
    -------
    array, shape (n, n)

    Differences from SciPy
    ----------------------
    Exact entries that overflow ``uint64`` (``n > 34`` for 'symmetric') raise ``ValueError`` (SciPy
    returns an ``object`` array); without ``jax_enable_x64`` the limit is ``uint32``.

    Examples
    --------
    >>> from scijax.solvers.linalg import pascal
    >>> pascal(3).tolist()
    [[1, 1, 1], [1, 2, 3], [1, 3, 6]]
    """
    n = _check_n(n)
    if kind not in _KINDS:
        raise ValueError(f"`kind` must be 'symmetric', 'lower', or 'upper', got {kind!r}")
    if kind == "symmetric":
        rows = [[comb(i + j, i) for j in range(n)] for i in range(n)]
    else:
        rows = [[comb(i, j) if kind == "lower" else comb(j, i) for j in range(n)] for i in range(n)]
    return _as_array(rows, n, exact, np.uint64)


def invpascal(n: int, kind: str = "symmetric", exact: bool = True) -> Array:
    """Inverse of the ``n x n`` Pascal matrix; mirrors :func:`scipy.linalg.invpascal`.

    Parameters
    ----------
    n : int
    kind : {'symmetric', 'lower', 'upper'}
    exact : bool
        Integer entries (``int64``) if True, else ``float64``.

    Returns
    -------
    array, shape (n, n)

    Differences from SciPy
    ----------------------
    As :func:`pascal`: exact entries that overflow ``int64`` raise ``ValueError``; where they fit
    the result is ``int64`` also for ``n > 34`` (SciPy switches to ``object`` there).

    Examples
    --------
    >>> from scijax.solvers.linalg import invpascal
    >>> invpascal(3).tolist()
    [[3, -3, 1], [-3, 5, -2], [1, -2, 1]]
    """
    n = _check_n(n)
    if kind not in _KINDS:
        raise ValueError(f"`kind` must be 'symmetric', 'lower', or 'upper', got {kind!r}")
    if kind == "symmetric":
        rows = [[(-1) ** (i + j) * sum(comb(k, i) * comb(k, j) for k in range(max(i, j), n)) for j in range(n)]
                for i in range(n)]
    else:
        lo = [[(-1) ** (i + j) * comb(i, j) for j in range(n)] for i in range(n)]
        rows = lo if kind == "lower" else [list(r) for r in zip(*lo, strict=True)]
    return _as_array(rows, n, exact, np.int64)


def invhilbert(n: int, exact: bool = False) -> Array:
    """Inverse of the ``n x n`` Hilbert matrix; mirrors :func:`scipy.linalg.invhilbert`.

    Parameters
    ----------
    n : int
    exact : bool
        Integer entries (``int64``) if True, else ``float64`` (rounded from the exact integers).

    Returns
    -------
    array, shape (n, n)

    Differences from SciPy
    ----------------------
    Exact entries that overflow ``int64`` (``n > 14``) raise ``ValueError`` (SciPy returns an
    ``object`` array).

    Examples
    --------
    >>> from scijax.solvers.linalg import invhilbert
    >>> invhilbert(2, exact=True).tolist()
    [[4, -6], [-6, 12]]
    """
    n = _check_n(n)
    rows = [[(-1) ** (i + j) * (i + j + 1) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1) * comb(i + j, i) ** 2
             for j in range(n)] for i in range(n)]
    return _as_array(rows, n, exact, np.int64)


def khatri_rao(a: ArrayLike, b: ArrayLike) -> Array:
    """Column-wise Kronecker product; mirrors :func:`scipy.linalg.khatri_rao`.

    Parameters
    ----------
    a : array, shape (N, K)
    b : array, shape (M, K)

    Returns
    -------
    array, shape (N * M, K)
        Column ``k`` is ``kron(a[:, k], b[:, k])``.

    Differences from SciPy
    ----------------------
    None.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import khatri_rao
    >>> khatri_rao(jnp.array([[1, 2], [3, 4]]), jnp.array([[1, 1], [2, 3]])).tolist()
    [[1, 2], [2, 6], [3, 4], [6, 12]]
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"The both arrays `a` and `b` should be 2-dimensional, got {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"The number of columns of `a` ({a.shape[1]}) and `b` ({b.shape[1]}) must be equal")
    return (a[:, None, :] * b[None, :, :]).reshape(-1, a.shape[1])


def diagsvd(s: ArrayLike, M: int, N: int) -> Array:
    """The ``M x N`` matrix with ``s`` on its diagonal (the ``Sigma`` of an SVD); mirrors
    :func:`scipy.linalg.diagsvd`.

    Parameters
    ----------
    s : array, shape (K,)
        ``K`` must equal ``M`` or ``N``.
    M, N : int

    Returns
    -------
    array, shape (M, N)

    Differences from SciPy
    ----------------------
    None.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import diagsvd
    >>> diagsvd(jnp.array([1.0, 2.0]), 3, 2).tolist()
    [[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]
    """
    s = jnp.asarray(s)
    if s.ndim != 1 or s.shape[0] not in (M, N):
        raise ValueError(f"Length of `s` must be M ({M}) or N ({N}), got shape {s.shape}")
    k = s.shape[0]
    out = jnp.zeros((M, N), s.dtype)
    return out.at[jnp.arange(k), jnp.arange(k)].set(s) if k <= min(M, N) else out


def matmul_toeplitz(c_or_cr: Any, x: ArrayLike, check_finite: bool = False, workers: Any = None) -> Array:
    """Product of a Toeplitz matrix with ``x`` by FFT; mirrors :func:`scipy.linalg.matmul_toeplitz`.

    Parameters
    ----------
    c_or_cr : array, shape (M,), or tuple ``(c, r)``
        First column ``c`` and first row ``r`` (``r[0]`` ignored); ``r = conj(c)`` if not given.
    x : array, shape (N,) or (N, K)
    check_finite : bool
        Raise ``ValueError`` if concrete inputs hold inf or NaN.
    workers : ignored

    Returns
    -------
    array, shape (M,) or (M, K)

    Differences from SciPy
    ----------------------
    None in results (same circulant embedding, ``O((M + N) log(M + N))``); real inputs give a
    real result.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import matmul_toeplitz
    >>> matmul_toeplitz((jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 4.0])), jnp.array([1.0, 1.0])).round(6).tolist()
    [5.0, 3.0, 5.0]
    """
    if isinstance(c_or_cr, tuple):
        c, r = jnp.asarray(c_or_cr[0]).ravel(), jnp.asarray(c_or_cr[1]).ravel()
    else:
        c = jnp.asarray(c_or_cr).ravel()
        r = jnp.conj(c)
    x = jnp.asarray(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"`x` must be 1-D or 2-D, got shape {x.shape}")
    if x.shape[0] != r.shape[0]:
        raise ValueError(f"Shape mismatch: `r` has length {r.shape[0]} but `x` has {x.shape[0]} rows")
    dtype = inexact(c, r, x)
    c, r, x = c.astype(dtype), r.astype(dtype), x.astype(dtype)
    for name, arr in (("c", c), ("r", r), ("x", x)):
        check_finite_arg(name, arr, check_finite)
    return _toeplitz_fft(c, r, x)


@jax.jit
def _toeplitz_fft(c: Array, r: Array, x: Array) -> Array:
    m, n = c.shape[0], r.shape[0]
    size = m + n - 1
    col = jnp.concatenate([c, r[1:][::-1]])
    xm = x if x.ndim == 2 else x[:, None]
    prod = jnp.fft.ifft(jnp.fft.fft(col)[:, None] * jnp.fft.fft(xm, n=size, axis=0), axis=0)[:m]
    out = prod if jnp.iscomplexobj(col) or jnp.iscomplexobj(x) else prod.real
    return (out if x.ndim == 2 else out[:, 0]).astype(x.dtype)
