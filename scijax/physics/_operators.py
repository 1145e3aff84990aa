"""The finite-difference operators as ``scijax.solvers.linalg.LinearOperator``\\ s, and a CG Poisson solver."""

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike, DTypeLike
from ..solvers.linalg import LinearOperator, cg
from ._fd import _check_grid, _setup, divergence, gradient, laplacian

__all__ = ["laplacian_operator", "gradient_operator", "divergence_operator", "solve_poisson"]


def _grid_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(n, int) for n in shape):
        raise ValueError(f"`shape` must be a tuple of integers, got {shape!r}.")
    _check_grid(jax.ShapeDtypeStruct(shape, float), "shape")  # pyright: ignore[reportArgumentType] (reads .ndim/.shape only)
    return shape


def _dtype(dtype: DTypeLike | None) -> DTypeLike:
    return jnp.result_type(float) if dtype is None else jnp.dtype(dtype)


def laplacian_operator(
    shape: int | Sequence[int],
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "periodic",
    dtype: DTypeLike | None = None,
) -> LinearOperator:
    """:func:`laplacian` with homogeneous boundary values, as an ``(n, n)`` LinearOperator, ``n = prod(shape)``.

    The operator acts on flattened grids (C order). It is symmetric, negative definite for
    Dirichlet boundaries and negative semi-definite (constants in its null space) for periodic
    and Neumann ones, so ``cg`` solves with its negation.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.physics import laplacian_operator
    >>> A = laplacian_operator((4,), 1.0, "dirichlet")
    >>> (A @ jnp.ones(4)).tolist()
    [-1.0, 0.0, 0.0, -1.0]
    """
    shape = _grid_shape(shape)
    _setup(jnp.zeros(shape), dx, bc, "shape")
    n = math.prod(shape)
    matvec = lambda x: laplacian(x.reshape(shape), dx, bc).ravel()
    return LinearOperator((n, n), matvec=matvec, rmatvec=matvec, dtype=_dtype(dtype))


def gradient_operator(
    shape: int | Sequence[int],
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "periodic",
    dtype: DTypeLike | None = None,
) -> LinearOperator:
    """:func:`gradient` with homogeneous boundary values, as a ``(d n, n)`` LinearOperator.

    The output is the flattened ``(d, *shape)`` gradient. For periodic and Dirichlet boundaries
    its adjoint is minus :func:`divergence_operator`.
    """
    shape = _grid_shape(shape)
    _setup(jnp.zeros(shape), dx, bc, "shape")
    n = math.prod(shape)
    matvec = lambda x: gradient(x.reshape(shape), dx, bc).ravel()
    return LinearOperator((len(shape) * n, n), matvec=matvec, dtype=_dtype(dtype))


def divergence_operator(
    shape: int | Sequence[int],
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "periodic",
    dtype: DTypeLike | None = None,
) -> LinearOperator:
    """:func:`divergence` with homogeneous boundary values, as an ``(n, d n)`` LinearOperator.

    The input is a flattened ``(d, *shape)`` vector field.
    """
    shape = _grid_shape(shape)
    _setup(jnp.zeros(shape), dx, bc, "shape")
    n = math.prod(shape)
    matvec = lambda x: divergence(x.reshape((len(shape), *shape)), dx, bc).ravel()
    return LinearOperator((n, len(shape) * n), matvec=matvec, dtype=_dtype(dtype))


def solve_poisson(
    f: ArrayLike,
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "dirichlet",
    bc_value: ArrayLike = 0.0,
    rtol: float | None = None,
    atol: float = 0.0,
    maxiter: int | None = None,
) -> tuple[Array, Array]:
    r"""Solve the Poisson equation :math:`-\Delta u = f` on a grid by conjugate gradients.

    Discretised with :func:`laplacian` (second order) and solved matrix-free with
    :func:`scijax.solvers.linalg.cg` on the symmetric operator :math:`-\Delta_h`. A non-zero
    ``bc_value`` moves to the right-hand side. With only periodic and Neumann axes the problem is
    singular: the mean of the right-hand side is removed (the compatible part is solved) and the
    zero-mean solution is returned.

    Parameters
    ----------
    f : array_like, shape (n1,), (n1, n2) or (n1, n2, n3)
        The source at the unknowns.
    dx, bc, bc_value
        As in :func:`laplacian`.
    rtol, atol, maxiter
        Passed to ``cg`` (on the flattened system). ``rtol`` defaults to ``1e-10`` for float64
        and ``1e-4`` for float32 (round-off in the true residual grows like the condition
        number, about ``(L / h)^2``, so fine float32 grids may need a looser ``rtol``).

    Returns
    -------
    u : Array, same shape as ``f``
    info : int Array
        ``cg``'s: 0 on convergence.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.physics import grid, solve_poisson
    >>> x, h = grid(63, 1.0, "dirichlet")
    >>> u, info = solve_poisson(jnp.pi**2 * jnp.sin(jnp.pi * x), h)
    >>> int(info), bool(jnp.max(jnp.abs(u - jnp.sin(jnp.pi * x))) < 1e-3)
    (0, True)
    """
    f, dx, bc = _setup(f, dx, bc, "f")
    shape = f.shape
    boundary = laplacian(jnp.zeros_like(f), dx, bc, bc_value)  # the affine part of the Laplacian
    rhs = (f + boundary).ravel()
    singular = "dirichlet" not in bc
    if singular:
        rhs = rhs - jnp.mean(rhs)
    if rtol is None:
        rtol = 1e-10 if f.dtype == jnp.float64 else 1e-4
    minus_lap = lambda x: -laplacian(x.reshape(shape), dx, bc).ravel()
    A = LinearOperator((f.size, f.size), matvec=minus_lap, rmatvec=minus_lap, dtype=f.dtype)
    u, info = cg(A, rhs, rtol=rtol, atol=atol, maxiter=maxiter)
    if singular:
        u = u - jnp.mean(u)
    return u.reshape(shape), info
