"""Collocation pieces of ``solve_bvp``: residuals, Jacobian blocks, the cubic spline, residual control, mesh.

The method is the 4th-order three-stage Lobatto IIIa collocation of Kierzenka & Shampine ("A BVP solver
based on residual control and the MATLAB PSE", ACM TOMS 27, 2001), the method of MATLAB's ``bvp4c`` and
SciPy's ``solve_bvp``. On each interval ``[x_i, x_{i+1}]`` (length ``h``) the solution is a cubic
``C^1`` spline that interpolates ``y`` and ``f = y'`` at the nodes; collocation at the midpoint gives::

    y_mid = (y_i + y_{i+1}) / 2 - h (f_{i+1} - f_i) / 8
    r_i   = y_{i+1} - y_i - h (f_i + 4 f(x_mid, y_mid) + f_{i+1}) / 6 = 0.

Arrays are node-major here: ``y`` is ``(N, n)`` (SciPy's is ``(n, N)``). Buffers hold a fixed number of
nodes; the live nodes come first and the padding repeats the last node, so padded intervals have zero
length and their residual rows read ``y_{i+1} - y_i = 0``.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..._typing import Array

__all__ = ["Problem", "collocation", "blocks", "spline", "rms_residuals", "refine"]

_S37 = (3.0 / 7.0) ** 0.5


class Problem(NamedTuple):
    """The user's problem in node-major form (built inside the traced solve)."""

    fun: Callable[[Array, Array, Array], Array]  # (x (M,), y (M, n), p) -> (M, n)
    jac: Callable[[Array, Array, Array], tuple[Array, Array]]  # -> (M, n, n), (M, n, k)
    bc: Callable[[Array, Array, Array], Array]  # (ya, yb, p) -> (n + k,)
    bc_jac: Callable[[Array, Array, Array], tuple[Array, Array, Array]]


def collocation(prob: Problem, x: Array, y: Array, p: Array):
    """Collocation residuals ``(N-1, n)``, midpoint states, ``f`` at nodes and at midpoints."""
    h = jnp.diff(x)[:, None]
    f = prob.fun(x, y, p)
    y_mid = 0.5 * (y[1:] + y[:-1]) - 0.125 * h * (f[1:] - f[:-1])
    f_mid = prob.fun(x[:-1] + 0.5 * h[:, 0], y_mid, p)
    res = y[1:] - y[:-1] - h / 6 * (f[:-1] + f[1:] + 4 * f_mid)
    return res, y_mid, f, f_mid


def blocks(prob: Problem, x: Array, y: Array, p: Array, y_mid: Array):
    """Blocks ``A, B, C`` of the residuals' Jacobian w.r.t. ``y_i``, ``y_{i+1}`` and ``p``."""
    h = jnp.diff(x)[:, None, None]
    n = y.shape[1]
    eye = jnp.eye(n, dtype=y.dtype)
    n_nodes = x.shape[0]
    jall, jpall = prob.jac(jnp.concatenate([x, x[:-1] + 0.5 * h[:, 0, 0]]), jnp.concatenate([y, y_mid]), p)
    j, jm, jp, jpm = jall[:n_nodes], jall[n_nodes:], jpall[:n_nodes], jpall[n_nodes:]
    dmid_left = 0.5 * eye + 0.125 * h * j[:-1]
    dmid_right = 0.5 * eye - 0.125 * h * j[1:]
    a = -eye - h / 6 * (j[:-1] + 4 * jm @ dmid_left)
    b = eye - h / 6 * (j[1:] + 4 * jm @ dmid_right)
    dmid_p = -0.125 * h * (jp[1:] - jp[:-1])
    c = -h / 6 * (jp[:-1] + jp[1:] + 4 * (jpm + jm @ dmid_p))
    return a, b, c


def _interval(x: Array, m: Array, xq: Array) -> Array:
    i = jnp.searchsorted(x, xq, side="right") - 1
    return jnp.clip(i, 0, jnp.maximum(m - 2, 0))


def spline(x: Array, y: Array, f: Array, m: Array, xq: Array, nu: int = 0) -> Array:
    """The cubic Hermite spline (or its derivative, ``nu=1``) at points ``xq`` (M,): ``(M, n)``.

    Outside ``[x_0, x_{m-1}]`` the end intervals' cubics are extended, as SciPy's ``PPoly`` does.
    """
    i = _interval(x, m, xq)
    x0, x1 = x[i], x[i + 1]
    h = (x1 - x0)[:, None]
    t = ((xq - x0)[:, None] / h)
    y0, y1, f0, f1 = y[i], y[i + 1], f[i], f[i + 1]
    t2, t3 = t * t, t * t * t
    if nu == 0:
        return ((2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + t) * h * f0 + (3 * t2 - 2 * t3) * y1
                + (t3 - t2) * h * f1)
    if nu == 1:
        return ((6 * t2 - 6 * t) * (y0 - y1) / h + (3 * t2 - 4 * t + 1) * f0 + (3 * t2 - 2 * t) * f1)
    raise ValueError("`nu` must be 0 or 1.")


def rms_residuals(prob: Problem, x: Array, y: Array, p: Array, f: Array, res: Array, f_mid: Array,
                  m: Array) -> Array:
    """RMS of the relative residual ``|S' - f(x, S)| / (1 + |f|)`` on each interval (N-1,), 0 on padding.

    Kierzenka & Shampine's 5-point Lobatto quadrature: the residual vanishes at the nodes, is
    ``1.5 r_i / h`` at the midpoint, and is evaluated at ``x_i + h (1 +- sqrt(3/7)) / 2``.
    """
    hx = jnp.diff(x)
    live = jnp.arange(hx.shape[0]) < m - 1
    h = jnp.where(live, hx, 1.0)[:, None]
    r_mid = 1.5 * res / h / (1 + jnp.abs(f_mid))
    xs = jnp.concatenate([x[:-1] + 0.5 * h[:, 0] * (1 - _S37), x[:-1] + 0.5 * h[:, 0] * (1 + _S37)])
    ys = spline(x, y, f, m, xs)
    ds = spline(x, y, f, m, xs, nu=1)
    fs = prob.fun(xs, ys, p)
    r2 = jnp.sum(((ds - fs) / (1 + jnp.abs(fs)))**2, axis=1).reshape(2, -1)
    total = 32.0 / 45.0 * jnp.sum(r_mid**2, axis=1) + 49.0 / 90.0 * (r2[0] + r2[1])
    return jnp.where(live, jnp.sqrt(0.5 * total), 0.0)


def refine(x: Array, y: Array, f: Array, m: Array, rms: Array, tol: Array):
    """Insert one node (``tol < rms < 100 tol``) or two (``rms >= 100 tol``) in each interval.

    Returns the new buffers (new ``y`` from the spline, as SciPy does), the new live count, and the
    number of nodes added. Nodes beyond the buffer are dropped; the caller stops before that happens.
    """
    cap = x.shape[0]
    live = jnp.arange(cap - 1) < m - 1
    ins = jnp.where(live & (rms > tol), jnp.where(rms >= 100 * tol, 2, 1), 0)
    before = jnp.concatenate([jnp.zeros(1, ins.dtype), jnp.cumsum(ins)])
    idx = jnp.arange(cap)
    pos = jnp.where(idx < m, idx + before, cap)
    h = jnp.diff(x)
    last = x[m - 1]
    new_x = jnp.full_like(x, last).at[pos].set(x, mode="drop")
    first = jnp.where(ins == 2, x[:-1] + h / 3, x[:-1] + h / 2)
    new_x = new_x.at[jnp.where(ins >= 1, pos[:-1] + 1, cap)].set(first, mode="drop")
    new_x = new_x.at[jnp.where(ins == 2, pos[:-1] + 2, cap)].set(x[:-1] + 2 * h / 3, mode="drop")
    added = jnp.sum(ins)
    new_m = m + added
    new_x = jnp.where(idx < new_m, new_x, last)
    new_y = spline(x, y, f, m, new_x)
    return new_x, new_y, new_m, added


def pointwise_jac(fun_point: Callable[[Array, Array, Array], Array]):
    """Autodiff Jacobians of a pointwise ``f(x, y (n,), p) -> (n,)`` over node arrays."""

    def jac(x: Array, y: Array, p: Array) -> tuple[Array, Array]:
        jy, jp = jax.vmap(jax.jacfwd(fun_point, argnums=(1, 2)), in_axes=(0, 0, None))(x, y, p)
        return jy, jp

    return jac
