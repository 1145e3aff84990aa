"""``scipy.optimize.brute``: a grid search evaluated as one batched call, then a local finish."""

import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete
from ._legacy import fmin
from ._objective import prepare_args

__all__ = ["brute"]


def _axes(ranges: Any, Ns: int) -> list[np.ndarray]:
    """One coordinate vector per variable, with ``numpy.mgrid``'s meaning of each range."""
    if not isinstance(ranges, (tuple, list)) or len(ranges) == 0:
        raise ValueError("`ranges` must be a non-empty tuple of slice objects or (low, high) pairs.")
    if int(Ns) < 1:
        raise ValueError(f"`Ns` must be a positive integer; got {Ns!r}.")
    axes = []
    for i, r in enumerate(ranges):
        if isinstance(r, slice):
            axis = np.mgrid[r]
        else:
            try:
                lo, hi = (float(v) for v in r)
            except (TypeError, ValueError):
                raise ValueError(f"`ranges[{i}]` must be a slice or a (low, high) pair; got {r!r}.") from None
            axis = np.linspace(lo, hi, int(Ns))
        if axis.size == 0:
            raise ValueError(f"`ranges[{i}]` gives no grid points.")
        axes.append(np.asarray(axis, float))
    return axes


def brute(func: Callable[..., Any], ranges: Any, args: Any = (), Ns: int = 20, full_output: bool = False,
          finish: Callable | None = fmin, disp: bool = False, workers: Any = 1) -> Any:
    """Minimise a function over a grid by brute force, then polish the best point.

    Mirrors :func:`scipy.optimize.brute`: the function is evaluated at every point of the grid
    (``numpy.mgrid`` semantics for slices, ``Ns`` points including both ends for ``(low, high)``
    pairs), and ``finish`` (default :func:`fmin`, our Nelder-Mead) starts from the best grid point.
    The grid is evaluated as one ``jax.vmap``-batched call, so a grid of millions of points is one
    kernel on an accelerator.

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float``, written in JAX, with ``x`` of shape ``(N,)``.
    ranges : tuple
        One ``slice`` or ``(low, high)`` pair per variable.
    args : tuple, optional
        Extra arguments of ``func``.
    Ns : int, optional
        Grid points per ``(low, high)`` range.
    full_output : bool, optional
        Also return the minimum value, the grid and the function values on it.
    finish : callable or None, optional
        ``finish(func, x0, args=args, full_output=True, disp=disp)`` returning ``(x, f, ...)``, as
        SciPy's legacy minimisers do (``fmin``, ``fmin_bfgs``, ...); None keeps the grid point.
    disp : bool, optional
        Passed to ``finish``.
    workers : optional
        Ignored: the grid is evaluated as one batch (a warning if not 1).

    Returns
    -------
    x0 : ndarray or float
        The minimiser (a float when there is one variable, as in SciPy).
    fval : float
        With ``full_output``: the value at ``x0``.
    grid : ndarray
        With ``full_output``: the grid, shape ``(N, Ns_1, ..., Ns_N)`` (``(Ns,)`` for one variable).
    Jout : ndarray
        With ``full_output``: the function values on the grid.

    Differences from SciPy
    ----------------------
    - The grid is evaluated in one batch (``workers`` is ignored); ``func`` must be traceable by JAX.
    - The default ``finish`` is scijax's :func:`fmin`; a grid point is kept if the finish ends
      higher than it or outside the ranges' bounding box, like SciPy (SciPy warns only for the
      latter).
    - Runs under ``jax.jit`` and ``jax.vmap`` (over ``args``); ``ranges`` and ``Ns`` must be
      concrete, since they fix the grid's shape. Eager results are NumPy, as SciPy's.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import brute
    >>> f = lambda x, a: jnp.sum((x - a) ** 2) + 0.1 * jnp.sin(5 * x[0])
    >>> x = brute(f, ((-2, 2), (-2, 2)), args=(0.5,), Ns=21)
    >>> [round(float(v), 3) for v in x]
    [0.723, 0.5]
    """
    if workers != 1:
        warnings.warn("`workers` is ignored: the grid is evaluated as one batch.", RuntimeWarning, stacklevel=2)
    axes = _axes(ranges, Ns)
    n = len(axes)
    grid = np.array(np.meshgrid(*axes, indexing="ij"))  # (N, Ns_1, ..., Ns_N)
    args_t = prepare_args(args)
    points = jnp.asarray(grid.reshape(n, -1).T)
    values = jax.vmap(lambda x: jnp.asarray(func(x, *args_t)).reshape(()))(points)
    best = jnp.argmin(jnp.where(jnp.isnan(values), jnp.inf, values))
    xmin, fmin_val = points[best], values[best]
    if finish is not None:
        out = finish(func, xmin, args=args_t, full_output=True, disp=disp)
        x_fin, f_fin = jnp.asarray(out[0], xmin.dtype).reshape(n), jnp.asarray(out[1], xmin.dtype).reshape(())
        lo = jnp.asarray([a.min() for a in axes])
        hi = jnp.asarray([a.max() for a in axes])
        inside = jnp.all((x_fin >= lo) & (x_fin <= hi))
        if is_concrete(inside) and not bool(inside):
            warnings.warn("The finish left the box of `ranges`; keeping it only if it is lower than the grid's "
                          "best point.", RuntimeWarning, stacklevel=2)
        take = jnp.isfinite(f_fin) & (f_fin <= fmin_val)
        xmin, fmin_val = jnp.where(take, x_fin, xmin), jnp.where(take, f_fin, fmin_val)
    if is_concrete((xmin, fmin_val, values)):
        xmin, fmin_val, values = np.asarray(xmin), float(fmin_val), np.asarray(values)
    x_out: Any = xmin[0] if n == 1 else xmin
    if not full_output:
        return x_out
    jout = values.reshape(grid.shape[1:])
    return x_out, fmin_val, (grid[0] if n == 1 else grid), jout
