"""``LaplacianNd``: the grid Laplacian of :mod:`scipy.sparse.linalg` as a matrix-free operator with its
closed-form eigenpairs."""

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse

from ..._typing import Array
from ._operator import LinearOperator

__all__ = ["LaplacianNd"]

_BCS = ("dirichlet", "neumann", "periodic")


class _Stencil(eqx.Module):
    """``x -> L x`` on a grid: the second difference along every axis (C-order flattening)."""

    grid_shape: tuple[int, ...] = eqx.field(static=True)
    bc: str = eqx.field(static=True)

    def __call__(self, x: Array) -> Array:
        return _apply(self, x)

    def apply_columns(self, X: Array) -> Array:
        return jax.vmap(self.apply, in_axes=1, out_axes=1)(X)

    def apply(self, x: Array) -> Array:
        g = x.reshape(self.grid_shape)
        out = jnp.zeros_like(g)
        for axis in range(g.ndim):
            if self.bc == "periodic":
                out = out + jnp.roll(g, 1, axis) + jnp.roll(g, -1, axis) - 2 * g
                continue
            width = [(0, 0)] * g.ndim
            width[axis] = (1, 1)
            padded = jnp.pad(g, width, mode="constant" if self.bc == "dirichlet" else "edge")
            n = g.shape[axis]
            lo = jnp.take(padded, jnp.arange(0, n), axis=axis)
            hi = jnp.take(padded, jnp.arange(2, n + 2), axis=axis)
            out = out + lo + hi - 2 * g
        return out.reshape(x.shape)


@eqx.filter_jit
def _apply(stencil: _Stencil, x: Array) -> Array:
    """One compiled program per grid, boundary condition and batch shape (``x`` may be ``(n, k)``)."""
    return stencil.apply_columns(x) if x.ndim == 2 else stencil.apply(x)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _dense(stencil: _Stencil, n: int, dtype: Any) -> Array:
    dense = stencil.apply_columns(jnp.eye(n, dtype=jnp.result_type(float)))
    if jnp.issubdtype(dtype, jnp.integer):
        dense = jnp.round(dense)
    return dense.astype(dtype)


def _pairs_1d(n: int, bc: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and orthonormal eigenvectors (columns) of the 1-D second difference."""
    i = np.arange(n)[:, None]
    if bc == "dirichlet":
        j = np.arange(1, n + 1)
        lam = -4 * np.sin(np.pi * j / (2 * (n + 1))) ** 2
        vec = np.sin(np.pi * j * (i + 1) / (n + 1))
    elif bc == "neumann":
        j = np.arange(n)
        lam = -4 * np.sin(np.pi * j / (2 * n)) ** 2
        vec = np.cos(np.pi * j * (i + 0.5) / n)
    else:  # periodic: a real basis of the Fourier modes
        j = np.arange(n)
        lam = -4 * np.sin(np.pi * j / n) ** 2
        vec = np.where(j <= n // 2, np.cos(2 * np.pi * j * i / n), np.sin(2 * np.pi * j * i / n))
    return lam, vec / np.linalg.norm(vec, axis=0)


class LaplacianNd(LinearOperator):
    """The N-dimensional grid Laplacian; mirrors :class:`scipy.sparse.linalg.LaplacianNd`.

    The second difference ``x[i-1] - 2 x[i] + x[i+1]`` along every axis of a grid of shape
    ``grid_shape`` (flattened in C order), negative semidefinite as SciPy's, applied matrix-free.

    Parameters
    ----------
    grid_shape : tuple of int
        The grid; the operator has size ``prod(grid_shape)``.
    boundary_conditions : {'neumann', 'dirichlet', 'periodic'}, optional
        Boundary conditions (SciPy's default ``'neumann'``).
    dtype : dtype, optional
        Reported ``dtype`` (SciPy's default ``int8``); products are computed in the dtype of the
        vector, so solvers treat integer ones as the default float.

    Methods
    -------
    eigenvalues(m=None)
        The ``m`` largest (closest to 0) eigenvalues, ascending; all if ``m`` is None.
    eigenvectors(m=None)
        Their orthonormal eigenvectors, one per column.
    toarray(), tosparse()
        The dense matrix (a JAX array) and a BCOO matrix.

    Differences from SciPy
    ----------------------
    - ``tosparse`` returns a JAX BCOO matrix (SciPy: a ``scipy.sparse`` array).
    - Within a repeated eigenvalue the basis of eigenvectors (and their order) may differ from
      SciPy's; each is a unit eigenvector and together they are orthonormal.

    Examples
    --------
    >>> from scijax.solvers.linalg import LaplacianNd
    >>> L = LaplacianNd((3,), boundary_conditions="dirichlet")
    >>> L.toarray().tolist()
    [[-2, 1, 0], [1, -2, 1], [0, 1, -2]]
    >>> L.eigenvalues().round(6).tolist()
    [-3.414214, -2.0, -0.585786]
    """

    grid_shape: tuple[int, ...] = eqx.field(static=True)
    boundary_conditions: str = eqx.field(static=True)

    def __init__(self, grid_shape: Any, *, boundary_conditions: str = "neumann", dtype: Any = np.int8):
        if boundary_conditions not in _BCS:
            raise ValueError(f"Unknown value {boundary_conditions!r} is given for 'boundary_conditions' "
                             f"parameter. The valid options are {_BCS}")
        try:
            grid_shape = tuple(int(g) for g in grid_shape)
        except TypeError:
            raise ValueError(f"`grid_shape` must be a tuple of positive integers, got {grid_shape!r}") from None
        if not grid_shape or min(grid_shape) < 1:
            raise ValueError(f"`grid_shape` must be a tuple of positive integers, got {grid_shape!r}")
        self.grid_shape = grid_shape
        self.boundary_conditions = boundary_conditions
        n = int(np.prod(grid_shape))
        stencil = _Stencil(grid_shape, boundary_conditions)
        self.shape = (n, n)
        self.dtype = np.dtype(dtype)
        self._mv, self._rmv, self._mm, self._rmm = stencil, stencil, None, None

    def _all_pairs(self) -> tuple[np.ndarray, list]:
        pairs = [_pairs_1d(n, self.boundary_conditions) for n in self.grid_shape]
        lam = pairs[0][0]
        for other, _ in pairs[1:]:
            lam = (lam[:, None] + other[None, :]).reshape(-1)
        return lam, [vec for _, vec in pairs]

    def _select(self, m: int | None) -> tuple[np.ndarray, np.ndarray]:
        lam, _ = self._all_pairs()
        order = np.argsort(lam, kind="stable")
        if m is not None:
            if not isinstance(m, int | np.integer) or m < 1:
                raise ValueError(f"`m` must be a positive integer or None, got {m!r}")
            order = order[-min(int(m), lam.size):]
        return lam, order

    def eigenvalues(self, m: int | None = None) -> Array:
        """The ``m`` largest eigenvalues (all when ``m`` is None), ascending."""
        lam, order = self._select(m)
        return jnp.asarray(lam[order])

    def eigenvectors(self, m: int | None = None) -> Array:
        """Orthonormal eigenvectors of :meth:`eigenvalues` ``(m)``, one per column."""
        _, order = self._select(m)
        _, vecs = self._all_pairs()
        idx = np.unravel_index(order, self.grid_shape)
        cols = vecs[0][:, idx[0]]
        for axis in range(1, len(vecs)):
            cols = (cols[:, None, :] * vecs[axis][:, idx[axis]][None, :, :]).reshape(-1, order.size)
        return jnp.asarray(cols)

    def toarray(self) -> Array:
        """The dense matrix, in ``dtype``."""
        return _dense(self._mv, self.shape[0], self.dtype)

    def tosparse(self) -> jsparse.BCOO:
        """The matrix as a JAX BCOO sparse matrix (computed on the host)."""
        return jsparse.BCOO.fromdense(self.toarray())
