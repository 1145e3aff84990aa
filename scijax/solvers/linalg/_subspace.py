"""Problems about subspaces solved by one SVD: ``orthogonal_procrustes`` and ``subspace_angles``.

- ``orthogonal_procrustes`` (Schonemann 1966): the orthogonal ``R`` minimising ``||A R - B||_F`` is
  ``U V^H`` from the SVD ``A^H B = U S V^H``; the scale is ``sum(S)``.
- ``subspace_angles`` (Knyazev and Argentati 2002, algorithm 3.1): orthonormal bases ``QA``, ``QB``;
  cosines are the singular values of ``QA^H QB``, sines those of ``QB - QA (QA^H QB)``; an angle
  is taken from its sine when its cosine squared is at least 1/2 (small angles), else from its
  cosine, which keeps full relative accuracy for small angles.
"""

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, is_concrete
from ._decomp_extra import orth

__all__ = ["orthogonal_procrustes", "subspace_angles"]


def _h(x: Array) -> Array:
    return jnp.conj(jnp.swapaxes(x, -1, -2))


@jax.jit
def _procrustes(a: Array, b: Array) -> tuple[Array, Array]:
    u, s, vh = jnp.linalg.svd(_h(a) @ b, full_matrices=False)
    return u @ vh, jnp.sum(s, axis=-1)


def orthogonal_procrustes(A: ArrayLike, B: ArrayLike, check_finite: bool = True) -> tuple[Array, Array]:
    """The orthogonal (unitary) matrix that most closely maps ``A`` to ``B``; mirrors
    :func:`scipy.linalg.orthogonal_procrustes`.

    Parameters
    ----------
    A, B : array, shape (M, N)
    check_finite : bool
        Raise ``ValueError`` if concrete ``A`` or ``B`` hold inf or NaN.

    Returns
    -------
    R : array, shape (N, N)
        Minimises ``||A R - B||_F`` subject to ``R^H R = I``.
    scale : float
        Sum of the singular values of ``A^H B``.

    Differences from SciPy
    ----------------------
    None in results. Batched over leading axes; differentiable where the SVD is (distinct nonzero
    singular values).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import orthogonal_procrustes
    >>> a = jnp.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> r, _ = orthogonal_procrustes(a, a[:, ::-1])
    >>> bool(jnp.allclose(r, jnp.array([[0.0, 1.0], [1.0, 0.0]])))
    True
    """
    a, b = jnp.asarray(A), jnp.asarray(B)
    if a.ndim < 2:
        raise ValueError(f"expected `A` to be at least 2-D, got shape {a.shape}")
    if a.shape != b.shape:
        raise ValueError(f"the shapes of `A` and `B` differ: {a.shape} and {b.shape}")
    dtype = inexact(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    check_finite_arg("A", a, check_finite)
    check_finite_arg("B", b, check_finite)
    return _procrustes(a, b)


def _basis(x: Array) -> Array:
    if is_concrete(x):
        return orth(x)  # rank-revealing, as SciPy's
    return jnp.linalg.qr(x, mode="reduced")[0]  # traced: fixed shape, assumes full column rank


@jax.jit
def _angles(qa: Array, qb: Array) -> Array:
    cross = _h(qa) @ qb
    cos = jnp.linalg.svd(cross, compute_uv=False)
    if qa.shape[-1] >= qb.shape[-1]:
        rest = qb - qa @ cross
    else:
        rest = qa - qb @ _h(cross)
    sin = jnp.linalg.svd(rest, compute_uv=False)
    k = min(qa.shape[-1], qb.shape[-1])
    from_sin = jnp.arcsin(jnp.clip(sin[:k], -1.0, 1.0))  # descending angles
    from_cos = jnp.arccos(jnp.clip(cos[::-1], -1.0, 1.0))  # descending angles
    small = cos[::-1] ** 2 >= 0.5
    return jnp.where(small, from_sin, from_cos)


def subspace_angles(A: ArrayLike, B: ArrayLike) -> Array:
    """Principal angles between the column spaces of two matrices; mirrors
    :func:`scipy.linalg.subspace_angles`.

    Parameters
    ----------
    A : array, shape (M, N)
    B : array, shape (M, K)

    Returns
    -------
    angles : array, shape (min(rank A, rank B),)
        In radians, in descending order.

    Differences from SciPy
    ----------------------
    Eagerly the bases come from the rank-revealing :func:`orth`, as in SciPy. Under ``jit``/``vmap``
    the output size cannot depend on the rank, so the bases come from a reduced QR, which assumes
    full column rank (``min(N, K)`` angles).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import subspace_angles
    >>> a = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> b = jnp.array([[1.0], [0.0], [1.0]])
    >>> float(jnp.degrees(subspace_angles(a, b)[0])).__round__(6)
    45.0
    """
    a, b = jnp.asarray(A), jnp.asarray(B)
    if a.ndim != 2:
        raise ValueError(f"expected `A` to be 2-D, got shape {a.shape}")
    if b.ndim != 2:
        raise ValueError(f"expected `B` to be 2-D, got shape {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"`A` and `B` must have the same number of rows, got {a.shape} and {b.shape}")
    dtype = inexact(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    return _angles(_basis(a), _basis(b))
