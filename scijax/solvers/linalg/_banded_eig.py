"""Hermitian banded and tridiagonal eigenvalue problems: ``eig_banded``, ``eigvals_banded`` and
``eigvalsh_tridiagonal``.

The band is unpacked into the dense Hermitian matrix (SciPy's LAPACK storage: upper form
``a_band[u + i - j, j] = a[i, j]``, lower form ``a_band[i - j, j] = a[i, j]``) and solved by
``jnp.linalg.eigh``; ``eigvalsh_tridiagonal`` uses JAX's bisection through ``eigh_tridiagonal``.
"""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact
from ._decomp import _subset, eigh_tridiagonal

__all__ = ["eig_banded", "eigvals_banded", "eigvalsh_tridiagonal"]

_SELECT = {"a": "a", "all": "a", 0: "a", "v": "v", "value": "v", 1: "v", "i": "i", "index": "i", 2: "i"}
_DRIVERS = ("auto", "stemr", "sterf", "stebz", "stev")


@partial(jax.jit, static_argnums=1)
def _dense_from_band(a_band: Array, lower: bool) -> Array:
    bands, n = a_band.shape
    tri = jnp.zeros((n, n), a_band.dtype)
    for k in range(min(bands, n)):
        if lower:
            tri = tri + jnp.diag(a_band[k, :n - k], -k)
        else:
            tri = tri + jnp.diag(a_band[bands - 1 - k, k:], k)
    diag = jnp.diag(jnp.diag(tri).real.astype(tri.dtype))
    return tri + jnp.conj(tri.T) - diag


def _select(select: Any, select_range: Any) -> tuple[Any, Any]:
    if select not in _SELECT:
        raise ValueError(f"`select`: must be 'a', 'v' or 'i' (or 0, 1, 2), got {select!r}")
    kind = _SELECT[select]
    if kind != "a" and (select_range is None or len(select_range) != 2):
        raise ValueError("`select_range`: a (min, max) pair is required when `select` is 'v' or 'i'")
    return (tuple(select_range) if kind == "i" else None), (tuple(select_range) if kind == "v" else None)


def eig_banded(a_band: ArrayLike, lower: bool = False, eigvals_only: bool = False, overwrite_a_band: bool = False,
               select: Any = "a", select_range: Any = None, max_ev: int = 0,
               check_finite: bool = True) -> Array | tuple[Array, Array]:
    """Eigenvalues (and vectors) of a Hermitian band matrix; mirrors :func:`scipy.linalg.eig_banded`.

    Parameters
    ----------
    a_band : array, shape (u+1, M)
        The band in LAPACK storage: upper form ``a_band[u + i - j, j] == a[i, j]`` (``i <= j``), or
        lower form ``a_band[i - j, j] == a[i, j]`` (``i >= j``).
    lower : bool
        Whether ``a_band`` is in lower form.
    eigvals_only : bool
        Return only the eigenvalues.
    overwrite_a_band : ignored
    select : {'a', 'v', 'i'}
        All eigenvalues, those in the half-open value range ``(min, max]``, or an inclusive index
        range.
    select_range : (min, max), optional
    max_ev : int
        Ignored (SciPy's workspace hint for ``select='v'``).
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a_band`` holds inf or NaN.

    Returns
    -------
    w : array, shape (K,)
        Eigenvalues in ascending order.
    v : array, shape (M, K)
        Eigenvectors as columns; not returned when ``eigvals_only``.

    Differences from SciPy
    ----------------------
    The band is expanded to the dense matrix and solved by ``jnp.linalg.eigh``: ``O(M^3)`` work and
    ``O(M^2)`` memory instead of LAPACK's banded reduction. ``select='v'`` gives a data-dependent
    size and needs an eager, unbatched call. Differentiable where ``eigh`` is (distinct eigenvalues).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eig_banded
    >>> band = jnp.array([[0.0, 1.0, 1.0], [2.0, 2.0, 2.0]])  # upper form of tridiag(1, 2, 1)
    >>> eig_banded(band, eigvals_only=True).round(6).tolist()
    [0.585786, 2.0, 3.414214]
    """
    a_band = jnp.asarray(a_band)
    if a_band.ndim != 2:
        raise ValueError(f"`a_band` must be a 2-D array, got shape {a_band.shape}")
    a_band = a_band.astype(inexact(a_band))
    check_finite_arg("a_band", a_band, check_finite)
    index, value = _select(select, select_range)
    a = _dense_from_band(a_band, lower)
    if eigvals_only:
        w, _ = _subset(jnp.linalg.eigvalsh(a), None, index, value)
        return w
    w, v = jnp.linalg.eigh(a)
    return _subset(w, v, index, value)


def eigvals_banded(a_band: ArrayLike, lower: bool = False, overwrite_a_band: bool = False, select: Any = "a",
                   select_range: Any = None, check_finite: bool = True) -> Array:
    """Eigenvalues of a Hermitian band matrix; mirrors :func:`scipy.linalg.eigvals_banded`.

    Parameters
    ----------
    a_band, lower, overwrite_a_band, select, select_range, check_finite
        As in :func:`eig_banded`.

    Returns
    -------
    w : array, shape (K,)
        Eigenvalues in ascending order.

    Differences from SciPy
    ----------------------
    As :func:`eig_banded` (dense ``eigvalsh`` of the expanded matrix).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigvals_banded
    >>> eigvals_banded(jnp.array([[2.0, 2.0], [1.0, 0.0]]), lower=True).round(6).tolist()
    [1.0, 3.0]
    """
    out = eig_banded(a_band, lower=lower, eigvals_only=True, select=select, select_range=select_range,
                     check_finite=check_finite)
    assert not isinstance(out, tuple)
    return out


def eigvalsh_tridiagonal(d: ArrayLike, e: ArrayLike, select: Any = "a", select_range: Any = None,
                         check_finite: bool = True, tol: float = 0.0, lapack_driver: str = "auto") -> Array:
    """Eigenvalues of a real symmetric tridiagonal matrix; mirrors
    :func:`scipy.linalg.eigvalsh_tridiagonal`.

    Parameters
    ----------
    d : array, shape (N,)
        Diagonal.
    e : array, shape (N-1,)
        Off-diagonal.
    select : {'a', 'v', 'i'}
        All eigenvalues, a half-open value range ``(min, max]``, or an inclusive index range.
    select_range : (min, max), optional
    check_finite : bool
        Raise ``ValueError`` if concrete ``d`` or ``e`` hold inf or NaN.
    tol : float
        Ignored (JAX's bisection picks its own tolerance).
    lapack_driver : {'auto', 'stemr', 'sterf', 'stebz', 'stev'}
        Checked, then ignored.

    Returns
    -------
    w : array, shape (K,)
        Eigenvalues in ascending order.

    Differences from SciPy
    ----------------------
    All eigenvalues: JAX's bisection (:func:`jax.scipy.linalg.eigh_tridiagonal`); a subset: a dense
    symmetric eigensolver on the assembled matrix. ``select='v'`` needs an eager, unbatched call.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigvalsh_tridiagonal
    >>> eigvalsh_tridiagonal(jnp.array([2.0, 2.0]), jnp.array([1.0])).round(6).tolist()
    [1.0, 3.0]
    """
    if lapack_driver not in _DRIVERS:
        raise ValueError(f"`lapack_driver`: must be one of {_DRIVERS}, got {lapack_driver!r}")
    if select not in _SELECT:
        raise ValueError(f"`select`: must be 'a', 'v' or 'i' (or 0, 1, 2), got {select!r}")
    out = eigh_tridiagonal(d, e, eigvals_only=True, select=_SELECT[select], select_range=select_range,
                           check_finite=check_finite, tol=tol)
    assert not isinstance(out, tuple)
    return out
