"""Second-order finite differences on uniform 1-D, 2-D and 3-D grids: gradient, divergence, Laplacian.

Grid conventions (``n`` unknowns along an axis of length ``L`` starting at ``start``):

- ``"periodic"``:  ``x_i = start + i h``, ``h = L / n`` (the point ``start + L`` is ``x_0`` again);
- ``"dirichlet"``: interior nodes ``x_i = start + (i + 1) h``, ``h = L / (n + 1)``; the boundary
  nodes ``start`` and ``start + L`` hold the value ``bc_value``;
- ``"neumann"``:   cell centres ``x_i = start + (i + 1/2) h``, ``h = L / n``; the outward normal
  derivative on both boundary faces is ``bc_value``.

Every operator pads one ghost layer per axis from the boundary condition, then applies the
3-point central stencil, so all three are second-order accurate.
"""

from collections.abc import Sequence

import jax.core
import jax.numpy as jnp
import numpy as np

from .._typing import Array, ArrayLike

__all__ = ["BOUNDARY_CONDITIONS", "grid", "gradient", "divergence", "laplacian"]

BOUNDARY_CONDITIONS = ("periodic", "dirichlet", "neumann")
_MIN_POINTS = 3


def grid(n: int, length: float = 1.0, bc: str = "periodic", start: float = 0.0) -> tuple[Array, float]:
    """Grid coordinates and spacing of ``n`` unknowns on ``[start, start + length]``.

    Parameters
    ----------
    n : int
        Number of unknowns along the axis.
    length : float
        Length of the domain.
    bc : {"periodic", "dirichlet", "neumann"}
        The boundary condition, which fixes where the unknowns sit (see the module docstring).
    start : float
        Left end of the domain.

    Returns
    -------
    x : Array, shape (n,)
        Coordinates of the unknowns.
    h : float
        The grid spacing.

    Examples
    --------
    >>> from scijax.physics import grid
    >>> x, h = grid(4, 1.0, "dirichlet")
    >>> h
    0.2
    """
    _check_bc(bc, "bc")
    if not isinstance(n, int | np.integer) or n < _MIN_POINTS:
        raise ValueError(f"`n` must be an integer >= {_MIN_POINTS} for the 3-point stencil, got {n!r}.")
    if not length > 0:
        raise ValueError(f"`length` must be positive, got {length!r}.")
    h = length / (n + 1) if bc == "dirichlet" else length / n
    offset = {"periodic": 0.0, "dirichlet": 1.0, "neumann": 0.5}[bc]
    return start + (jnp.arange(n) + offset) * h, h


def _check_bc(bc: str, name: str) -> None:
    if bc not in BOUNDARY_CONDITIONS:
        raise ValueError(f"`{name}` must be one of {BOUNDARY_CONDITIONS}, got {bc!r}.")


def _per_axis(value, ndim: int, name: str) -> tuple:
    """Broadcast a scalar (or a str) to one value per axis, or check a sequence has ``ndim`` entries."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return (value,) * ndim
    if len(value) != ndim:
        raise ValueError(f"`{name}` must have one entry per axis ({ndim}), got {len(value)}.")
    return tuple(value)


def _check_grid(u: Array, name: str) -> None:
    if u.ndim not in (1, 2, 3):
        raise ValueError(f"`{name}` must be a 1-, 2- or 3-D grid, got shape {u.shape}.")
    if min(u.shape) < _MIN_POINTS:
        raise ValueError(
            f"`{name}` has shape {u.shape}: the 3-point stencil needs at least {_MIN_POINTS} points per axis."
        )


def _check_spacing(dx: tuple) -> None:
    for h in dx:
        if not isinstance(h, jax.core.Tracer) and not np.all(np.asarray(h) > 0):
            raise ValueError(f"`dx` must be positive, got {h!r}.")


def _setup(u: ArrayLike, dx, bc, name: str) -> tuple[Array, tuple, tuple]:
    u = jnp.asarray(u)
    if not jnp.issubdtype(u.dtype, jnp.inexact):
        u = u.astype(jnp.result_type(float))
    _check_grid(u, name)
    dx = _per_axis(dx, u.ndim, "dx")
    bc = _per_axis(bc, u.ndim, "bc")
    for b in bc:
        _check_bc(b, "bc")
    _check_spacing(dx)
    return u, dx, bc


def _pad(u: Array, axis: int, bc: str, value: ArrayLike, h: ArrayLike) -> Array:
    """``u`` with one ghost layer on each side of ``axis``, filled from the boundary condition."""
    first = jax.lax.slice_in_dim(u, 0, 1, axis=axis)
    last = jax.lax.slice_in_dim(u, u.shape[axis] - 1, u.shape[axis], axis=axis)
    if bc == "periodic":
        lo, hi = last, first
    elif bc == "dirichlet":
        lo, hi = jnp.full_like(first, value), jnp.full_like(last, value)
    else:  # neumann: (ghost - edge) / h equals the outward derivative on both faces
        lo, hi = first + value * h, last + value * h
    return jnp.concatenate([lo, u, hi], axis=axis)


def _shifted(padded: Array, axis: int, n: int) -> tuple[Array, Array]:
    """The neighbours ``u[i - 1]`` and ``u[i + 1]`` from a padded array."""
    return (
        jax.lax.slice_in_dim(padded, 0, n, axis=axis),
        jax.lax.slice_in_dim(padded, 2, n + 2, axis=axis),
    )


def laplacian(
    u: ArrayLike,
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "periodic",
    bc_value: ArrayLike = 0.0,
) -> Array:
    r"""The 2nd-order Laplacian :math:`\sum_a (u_{i+1} - 2u_i + u_{i-1}) / h_a^2` on a 1-, 2- or 3-D grid.

    Parameters
    ----------
    u : array_like, shape (n1,), (n1, n2) or (n1, n2, n3)
        Values at the unknowns (see the module docstring for where they sit).
    dx : float or sequence of floats
        Grid spacing, one for all axes or one per axis.
    bc : str or sequence of str
        ``"periodic"``, ``"dirichlet"`` or ``"neumann"``, one for all axes or one per axis.
    bc_value : float
        Boundary value (Dirichlet) or outward normal derivative (Neumann); ignored for periodic
        axes. With ``bc_value = 0`` the operator is linear (see :func:`laplacian_operator`).

    Returns
    -------
    Array, same shape as ``u``.

    Raises
    ------
    ValueError
        If ``u`` is not 1-, 2- or 3-D, has fewer than 3 points along an axis, ``dx`` is not
        positive, or ``bc`` is unknown or has the wrong length.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.physics import grid, laplacian
    >>> x, h = grid(100, 2 * jnp.pi, "periodic")
    >>> err = laplacian(jnp.sin(x), h) + jnp.sin(x)
    >>> bool(jnp.max(jnp.abs(err)) < 1e-3)
    True
    """
    u, dx, bc = _setup(u, dx, bc, "u")
    out = jnp.zeros_like(u)
    for axis in range(u.ndim):
        lo, hi = _shifted(_pad(u, axis, bc[axis], bc_value, dx[axis]), axis, u.shape[axis])
        out = out + (lo - 2.0 * u + hi) / dx[axis] ** 2
    return out


def gradient(
    u: ArrayLike,
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "periodic",
    bc_value: ArrayLike = 0.0,
) -> Array:
    r"""The 2nd-order central-difference gradient :math:`(u_{i+1} - u_{i-1}) / 2h_a` along every axis.

    Parameters are those of :func:`laplacian`. Returns an array of shape ``(u.ndim, *u.shape)``
    whose entry ``a`` is the derivative along axis ``a`` (shape ``(1, n)`` for a 1-D grid).
    """
    u, dx, bc = _setup(u, dx, bc, "u")
    parts = []
    for axis in range(u.ndim):
        lo, hi = _shifted(_pad(u, axis, bc[axis], bc_value, dx[axis]), axis, u.shape[axis])
        parts.append((hi - lo) / (2.0 * dx[axis]))
    return jnp.stack(parts)


def divergence(
    field: ArrayLike,
    dx: ArrayLike | Sequence[ArrayLike],
    bc: str | Sequence[str] = "periodic",
    bc_value: ArrayLike = 0.0,
) -> Array:
    r"""The 2nd-order central-difference divergence :math:`\sum_a \partial_a F_a`.

    ``field`` has shape ``(d, *grid)`` with ``d = len(grid)`` (the layout :func:`gradient`
    returns); the boundary condition applies to every component. Returns shape ``grid``.
    """
    field = jnp.asarray(field)
    if field.ndim < 2 or field.shape[0] != field.ndim - 1:
        raise ValueError(f"`field` must have shape (d, *grid) with d = len(grid), got {field.shape}.")
    comps, dxs, bcs = zip(*[_setup(f, dx, bc, "field") for f in field], strict=True)
    spacing, bcs = dxs[0], bcs[0]
    out = jnp.zeros_like(comps[0])
    for axis, comp in enumerate(comps):
        lo, hi = _shifted(_pad(comp, axis, bcs[axis], bc_value, spacing[axis]), axis, comp.shape[axis])
        out = out + (hi - lo) / (2.0 * spacing[axis])
    return out
