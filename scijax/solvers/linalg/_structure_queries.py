"""Structure queries of dense matrices: ``issymmetric``, ``ishermitian`` and ``bandwidth``.

Eager calls return Python ``bool``/``int`` as SciPy does; traced calls return JAX scalars.
"""

from typing import Any

import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._checks import is_concrete

__all__ = ["issymmetric", "ishermitian", "bandwidth"]


def _two_d(a: ArrayLike) -> Array:
    a = jnp.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"Input array `a` must be a 2D NumPy array, got shape {a.shape}")
    return a


def _close_to(a: Array, b: Array, atol: Any, rtol: Any) -> Any:
    if atol is None and rtol is None:
        out = jnp.all(a == b)
    else:
        atol, rtol = 0.0 if atol is None else atol, 0.0 if rtol is None else rtol
        out = jnp.all(jnp.abs(a - b) <= atol + rtol * jnp.abs(b))
    return bool(out) if is_concrete(out) else out


def _square(a: ArrayLike) -> Array:
    a = _two_d(a)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"Input array `a` must be square, got shape {a.shape}")
    return a


def issymmetric(a: ArrayLike, atol: float | None = None, rtol: float | None = None) -> Any:
    """Whether a square 2-D array equals its transpose; mirrors :func:`scipy.linalg.issymmetric`.

    Parameters
    ----------
    a : array, shape (N, N)
    atol, rtol : float, optional
        If both are None the test is exact; otherwise ``|a - a^T| <= atol + rtol |a^T|`` (a missing
        one counts as 0).

    Returns
    -------
    bool
        A Python ``bool`` eagerly, a JAX boolean when traced.

    Differences from SciPy
    ----------------------
    Traced calls return a JAX boolean.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import issymmetric
    >>> issymmetric(jnp.array([[1.0, 2.0], [2.0, 1.0]]))
    True
    """
    a = _square(a)
    return _close_to(a, a.T, atol, rtol)


def ishermitian(a: ArrayLike, atol: float | None = None, rtol: float | None = None) -> Any:
    """Whether a square 2-D array equals its conjugate transpose; mirrors
    :func:`scipy.linalg.ishermitian`.

    Parameters
    ----------
    a : array, shape (N, N)
    atol, rtol : float, optional
        As in :func:`issymmetric`.

    Returns
    -------
    bool

    Differences from SciPy
    ----------------------
    Traced calls return a JAX boolean.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import ishermitian
    >>> ishermitian(jnp.array([[1.0, 2j], [-2j, 1.0]]))
    True
    """
    a = _square(a)
    return _close_to(a, jnp.conj(a.T), atol, rtol)


def bandwidth(a: ArrayLike) -> tuple[Any, Any]:
    """Lower and upper bandwidth of a 2-D array; mirrors :func:`scipy.linalg.bandwidth`.

    Parameters
    ----------
    a : array, shape (M, N)

    Returns
    -------
    lu : tuple of int
        ``(lower, upper)``: the largest ``i - j`` and ``j - i`` over the nonzero entries ``a[i, j]``.

    Differences from SciPy
    ----------------------
    Traced calls return JAX integers.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import bandwidth
    >>> bandwidth(jnp.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [4.0, 0.0, 1.0]]))
    (2, 1)
    """
    a = _two_d(a)
    i, j = jnp.indices(a.shape)
    nz = a != 0
    lower = jnp.max(jnp.where(nz, i - j, 0), initial=0)
    upper = jnp.max(jnp.where(nz, j - i, 0), initial=0)
    if is_concrete(lower, upper):
        return int(lower), int(upper)
    return lower, upper
