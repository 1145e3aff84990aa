"""``cumulative_simpson``: cumulative integration of samples by Simpson's 1/3 rule, any spacing."""

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike

__all__ = ["cumulative_simpson"]


def _front(h1: Array, h2: Array, y0: Array, y1: Array, y2: Array) -> Array:
    """Integral over ``[x0, x1]`` of the parabola through three points (spacings ``h1``, ``h2``)."""
    return h1 / 6 * ((2 * h1 + 3 * h2) / (h1 + h2) * y0 + (h1 + 3 * h2) / h2 * y1
                     - h1**2 / (h2 * (h1 + h2)) * y2)


def _back(h1: Array, h2: Array, y0: Array, y1: Array, y2: Array) -> Array:
    """Integral over ``[x1, x2]`` of the same parabola."""
    return h2 / 6 * (-h2**2 / (h1 * (h1 + h2)) * y0 + (3 * h1 + h2) / h1 * y1
                     + (3 * h1 + 2 * h2) / (h1 + h2) * y2)


@jax.jit
def _cumulative(h: Array, y: Array) -> Array:
    """Cumulative sums of the per-interval integrals (one compiled program per shape)."""
    n = y.shape[-1]
    if n == 2:
        parts = h * (y[..., :1] + y[..., 1:]) / 2
    else:
        one = jnp.ones_like(h[..., :1])
        i = jnp.arange(n - 1)
        # forward parabola (i, i+1, i+2) for even i; backward (i-1, i, i+1) for odd i and the last.
        use_back = (i % 2 == 1) | (i == n - 2)
        hn = jnp.concatenate([h[..., 1:], one], axis=-1)  # h_{i+1}
        hp = jnp.concatenate([one, h[..., :-1]], axis=-1)  # h_{i-1}
        y2 = jnp.concatenate([y[..., 2:], y[..., -1:]], axis=-1)  # y_{i+2}
        ym = jnp.concatenate([y[..., :1], y[..., :-2]], axis=-1)  # y_{i-1}
        front = _front(h, jnp.where(use_back, one, hn), y[..., :-1], y[..., 1:], y2)
        back = _back(jnp.where(use_back, hp, one), h, ym, y[..., :-1], y[..., 1:])
        parts = jnp.where(use_back, back, front)
    return jnp.cumsum(parts, axis=-1)


def cumulative_simpson(y: ArrayLike, *, x: ArrayLike | None = None, dx: ArrayLike = 1.0, axis: int = -1,
                       initial: ArrayLike | None = None) -> Array:
    """Cumulatively integrate ``y(x)`` by the composite Simpson's 1/3 rule (mirrors SciPy's).

    Each interval is integrated exactly under the parabola through three neighbouring samples: the
    pair of intervals ``[x_{2j}, x_{2j+2}]`` under the parabola through its three points, and a last
    unpaired interval (an even number of samples) under the parabola through the last three points.
    With two samples the rule is the trapezoid. Any spacing of ``x`` works.

    Parameters
    ----------
    y : array_like
        Values to integrate.
    x : array_like, optional
        Sample points: 1-D of the length of ``y`` along ``axis``, or the shape of ``y``. Default:
        spacing ``dx``.
    dx : float, optional
        Spacing when ``x`` is None.
    axis : int, optional
        Axis to integrate along.
    initial : scalar or array_like, optional
        If given, inserted at the start and added to the rest (SciPy's convention for this
        function); an array has length one along ``axis``.

    Returns
    -------
    Array
        The cumulative integral, one shorter than ``y`` along ``axis`` unless ``initial`` is given.

    Differences from SciPy
    ----------------------
    None in results; ``dx`` must be a scalar. Differentiable with respect to ``y``, ``x`` and ``dx``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import cumulative_simpson
    >>> x = jnp.linspace(0.0, 2.0, 5)
    >>> cumulative_simpson(x**2, x=x, initial=0.0)
    array([0.        , 0.04166667, 0.33333333, 1.125     , 2.66666667])
    """
    y = jnp.asarray(y)
    if not jnp.issubdtype(y.dtype, jnp.inexact):
        y = y.astype(float)
    if y.ndim == 0:
        raise ValueError("`y` must have at least one dimension.")
    axis = axis % y.ndim
    n = y.shape[axis]
    if n < 1:
        raise ValueError("At least one point is required along `axis` (of `y`).")
    y = jnp.moveaxis(y, axis, -1)
    if x is None:
        if jnp.ndim(dx) != 0:
            raise ValueError("`dx` must be a scalar.")
        h = jnp.broadcast_to(jnp.asarray(dx, y.dtype), y.shape[:-1] + (n - 1,))
    else:
        x = jnp.asarray(x, y.dtype)
        if x.ndim == 1:
            if x.shape[0] != n:
                raise ValueError("`x` must have the length of `y` along `axis`.")
        elif x.shape == jnp.moveaxis(y, -1, axis).shape:
            x = jnp.moveaxis(x, axis, -1)
        else:
            raise ValueError("`x` must be 1-D or have the shape of `y`.")
        h = jnp.broadcast_to(jnp.diff(x, axis=-1), y.shape[:-1] + (n - 1,))
    # One point: nothing to integrate, as SciPy returns (only ``initial``, if given, along ``axis``).
    out = jnp.zeros(y.shape[:-1] + (0,), y.dtype) if n == 1 else _cumulative(h, y)
    if initial is not None:
        init = jnp.asarray(initial, out.dtype)
        if init.ndim:
            init = jnp.moveaxis(init, axis, -1) if init.ndim == y.ndim else init
            if init.ndim == y.ndim and init.shape[-1] != 1:
                raise ValueError("`initial` must be a scalar or have length one along `axis`.")
        init = jnp.broadcast_to(init, y.shape[:-1] + (1,))
        out = jnp.concatenate([init, out + init], axis=-1)
    return jnp.moveaxis(out, -1, axis)
