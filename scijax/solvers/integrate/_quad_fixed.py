"""Fixed-sample and fixed-order quadrature: ``fixed_quad``, ``trapezoid``, ``cumulative_trapezoid``,
``simpson`` and ``romb`` (mirroring :mod:`scipy.integrate`). All are plain array expressions, so jit,
vmap and grad apply directly. ``trapezoid`` is ``jax.scipy.integrate.trapezoid``, which already has
SciPy's signature and meaning."""

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.scipy.integrate import trapezoid

from ..._concrete import is_concrete as _is_concrete
from ..._typing import Array, ArrayLike
from .._userfn import prepare

__all__ = ["fixed_quad", "trapezoid", "cumulative_trapezoid", "simpson", "romb"]


def fixed_quad(
    func: Callable, a: ArrayLike, b: ArrayLike, args: tuple = (), n: int = 5
) -> tuple[Array, None]:
    """Fixed-order Gauss-Legendre quadrature; mirrors :func:`scipy.integrate.fixed_quad`.

    Parameters
    ----------
    func : callable
        ``func(x, *args)``, vectorised: it receives all ``n`` nodes at once (as in SciPy).
    a, b : float
        Finite limits.
    args : tuple
        Extra arguments for ``func``.
    n : int
        Order (number of nodes); static.

    Returns
    -------
    val : array
    none : None

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import fixed_quad
    >>> round(float(fixed_quad(jnp.sin, 0.0, jnp.pi / 2, n=5)[0]), 8)
    1.0
    """
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"`n` must be a positive integer, got {n!r}")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if _is_concrete(a, b) and not bool(jnp.isfinite(a) & jnp.isfinite(b)):
        raise ValueError("Gaussian quadrature is only available for finite limits (`a`, `b`).")
    if not isinstance(args, tuple):
        args = (args,)
    x, w = np.polynomial.legendre.leggauss(int(n))
    dtype = jnp.result_type(a, b, float)
    y = (b - a) * (jnp.asarray(x, dtype) + 1) / 2.0 + a
    func = prepare(func, (y, *args), solver="fixed_quad", role="func", closures=False)
    return (b - a) / 2.0 * jnp.sum(jnp.asarray(w, dtype) * func(y, *args), axis=-1), None


def _spacing(y: Array, x: Any, dx: Any, axis: int) -> Array | None:
    """``x`` moved so that the integration axis is last (or None), with SciPy's shape checks."""
    if x is None:
        return None
    x = jnp.asarray(x)
    if x.ndim == 1:
        if x.shape[0] != y.shape[-1]:
            raise ValueError("If given, length of x along axis must be the same as y.")
        return x
    if x.ndim != y.ndim + 0 and x.ndim != 1:
        raise ValueError("If given, shape of x must be 1-D or the same as y.")
    x = jnp.moveaxis(x, axis, -1)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError("If given, length of x along axis must be the same as y.")
    return x


def cumulative_trapezoid(
    y: ArrayLike, x: ArrayLike | None = None, dx: float = 1.0, axis: int = -1, initial: Any = None
) -> Array:
    """Cumulative trapezoidal rule; mirrors :func:`scipy.integrate.cumulative_trapezoid`.

    Parameters
    ----------
    y : array
    x : array, optional
        Sample points (1-D, or ``y``'s shape).
    dx : float
        Spacing when ``x`` is None.
    axis : int
    initial : None or 0
        If 0, prepend a zero so the result has ``y``'s shape.

    Returns
    -------
    array

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import cumulative_trapezoid
    >>> cumulative_trapezoid(jnp.array([1.0, 2.0, 3.0]), initial=0).tolist()
    [0.0, 1.5, 4.0]
    """
    y = jnp.asarray(y)
    if y.ndim == 0 or y.shape[axis] == 0:
        raise ValueError("At least one point is required along `axis`.")
    if initial is not None and (np.ndim(initial) != 0 or initial != 0):
        raise ValueError("`initial` must be `None` or `0`.")
    y = jnp.moveaxis(y, axis, -1)
    xs = _spacing(y, x, dx, axis)
    d = dx if xs is None else jnp.diff(xs, axis=-1)
    res = jnp.cumsum(d * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)
    if initial is not None:
        res = jnp.concatenate([jnp.zeros(res.shape[:-1] + (1,), res.dtype), res], axis=-1)
    return jnp.moveaxis(res, -1, axis)


def _safe_div(num: Array, den: Array) -> Array:
    return jnp.where(den != 0, num / jnp.where(den != 0, den, 1), 0)


def _basic_simpson(y: Array, stop: int, x: Array | None, dx: Any) -> Array:
    y0, y1, y2 = y[..., 0:stop:2], y[..., 1:stop + 1:2], y[..., 2:stop + 2:2]
    if x is None:
        return jnp.sum(y0 + 4.0 * y1 + y2, axis=-1) * dx / 3.0
    h = jnp.diff(x, axis=-1)
    h0, h1 = h[..., 0:stop:2], h[..., 1:stop + 1:2]
    hsum, hprod = h0 + h1, h0 * h1
    h0divh1 = _safe_div(h0, h1)
    tmp = hsum / 6.0 * (y0 * (2.0 - _safe_div(jnp.ones_like(h0divh1), h0divh1))
                        + y1 * (hsum * _safe_div(hsum, hprod)) + y2 * (2.0 - h0divh1))
    return jnp.sum(tmp, axis=-1)


def simpson(y: ArrayLike, x: ArrayLike | None = None, *, dx: float = 1.0, axis: int = -1) -> Array:
    """Composite Simpson's rule; mirrors :func:`scipy.integrate.simpson` (SciPy >= 1.11 even-N rule).

    Parameters
    ----------
    y : array
    x : array, optional
        Sample points (1-D, or ``y``'s shape).
    dx : float
        Spacing when ``x`` is None.
    axis : int

    Returns
    -------
    array

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import simpson
    >>> x = jnp.arange(0.0, 10.0)
    >>> round(float(simpson(x**2, x=x)), 10)
    243.0
    """
    y = jnp.moveaxis(jnp.asarray(y), axis, -1)
    n = y.shape[-1]
    xs = _spacing(y, x, dx, axis)
    if n % 2 == 1:
        return _basic_simpson(y, n - 2, xs, dx)
    if n == 2:
        last_dx = dx if xs is None else xs[..., -1] - xs[..., -2]
        return 0.5 * last_dx * (y[..., -1] + y[..., -2])
    result = _basic_simpson(y, n - 3, xs, dx)
    if xs is None:
        h0 = h1 = jnp.asarray(dx, jnp.result_type(y, float))
    else:
        diffs = jnp.diff(xs, axis=-1)
        h0, h1 = diffs[..., -2], diffs[..., -1]
    alpha = _safe_div(2 * h1**2 + 3 * h0 * h1, 6 * (h1 + h0))
    beta = _safe_div(h1**2 + 3.0 * h0 * h1, 6 * h0)
    eta = _safe_div(h1**3, 6 * h0 * (h0 + h1))
    return result + alpha * y[..., -1] + beta * y[..., -2] - eta * y[..., -3]


def romb(y: ArrayLike, dx: float = 1.0, axis: int = -1, show: bool = False) -> Array:
    """Romberg integration of ``2**k + 1`` equally spaced samples; mirrors :func:`scipy.integrate.romb`.

    Parameters
    ----------
    y : array
    dx : float
    axis : int
    show : bool
        Must be False (no printing).

    Returns
    -------
    array

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import romb
    >>> round(float(romb(jnp.linspace(0.0, 1.0, 9) ** 3, dx=0.125)), 12)
    0.25
    """
    if show:
        raise NotImplementedError("`show=True` is not supported by scijax's romb")
    y = jnp.moveaxis(jnp.asarray(y), axis, -1)
    n_interv = y.shape[-1] - 1
    k = max(n_interv, 1).bit_length() - 1
    if n_interv < 1 or (1 << k) != n_interv:
        raise ValueError("Number of samples must be one plus a non-negative power of 2.")
    h = n_interv * jnp.asarray(dx, jnp.result_type(y, float))
    R = {(0, 0): (y[..., 0] + y[..., -1]) / 2.0 * h}
    start = stop = step = n_interv
    for i in range(1, k + 1):
        start >>= 1
        sl = y[..., start:stop:step]
        step >>= 1
        R[(i, 0)] = 0.5 * (R[(i - 1, 0)] + h * jnp.sum(sl, axis=-1))
        for j in range(1, i + 1):
            prev = R[(i, j - 1)]
            R[(i, j)] = prev + (prev - R[(i - 1, j - 1)]) / ((1 << (2 * j)) - 1)
        h = h / 2.0
    return R[(k, k)]
