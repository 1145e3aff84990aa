"""``cubature``: adaptive multidimensional integration of array-valued functions (SciPy 1.15's ``cubature``).

Globally adaptive subdivision: the region with the largest error estimate is split at its midpoint
in every dimension (``2**ndim`` children), each child is integrated with an embedded rule pair (the
Cartesian product of Gauss-Kronrod 21/15-point rules, or the degree-7/5 rule of Genz and Malik,
1980), until the summed error is at most ``atol + rtol * |estimate|``. Regions live in fixed-capacity
buffers (``1 + max_subdivisions * (2**ndim - 1)`` rows) inside one ``while_loop``; reverse-mode
derivatives (``custom_vjp``) pull the cotangent back through the rule on each final region.
Infinite limits are mapped to finite ones.
"""

import functools
import itertools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..._typing import Array, ArrayLike
from ._quad_rules import RULES

__all__ = ["cubature", "CubatureResult"]

_REPLAY_CHUNK = 16  # regions per step of the derivative replay


def _product_rule(name: str, ndim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes ``(P, ndim)`` on ``[-1, 1]**ndim`` and the high/low order weights (summing to ``2**ndim``)."""
    rule = RULES[name]
    nodes = np.array(list(itertools.product(rule.nodes, repeat=ndim)))
    high = np.prod(np.array(list(itertools.product(rule.kronrod, repeat=ndim))), axis=1)
    low = np.prod(np.array(list(itertools.product(rule.gauss, repeat=ndim))), axis=1)
    return nodes, high, low


def _genz_malik(ndim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Genz and Malik's degree-7 rule with its embedded degree-5 rule (ndim >= 2)."""
    d = ndim
    l2, l3, l4, l5 = np.sqrt(9 / 70), np.sqrt(9 / 10), np.sqrt(9 / 10), np.sqrt(9 / 19)
    eye = np.eye(d)
    groups = [np.zeros((1, d)), np.concatenate([l2 * eye, -l2 * eye]), np.concatenate([l3 * eye, -l3 * eye])]
    pairs = [s1 * l4 * eye[i] + s2 * l4 * eye[j] for i, j in itertools.combinations(range(d), 2)
             for s1 in (1, -1) for s2 in (1, -1)]
    groups += [np.array(pairs), l5 * np.array(list(itertools.product((1.0, -1.0), repeat=d)))]
    w7 = [(12824 - 9120 * d + 400 * d * d) / 19683, 980 / 6561, (1820 - 400 * d) / 19683, 200 / 19683,
          6859 / 19683 / 2**d]
    w5 = [(729 - 950 * d + 50 * d * d) / 729, 245 / 486, (265 - 100 * d) / 1458, 25 / 729, 0.0]
    nodes = np.concatenate(groups)
    sizes = [g.shape[0] for g in groups]
    high = np.repeat(w7, sizes) * 2.0**d
    low = np.repeat(w5, sizes) * 2.0**d
    return nodes, high, low


_RULES: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
    "gk21": functools.partial(_product_rule, "gk21"), "gauss-kronrod": functools.partial(_product_rule, "gk21"),
    "gk15": functools.partial(_product_rule, "gk15"), "genz-malik": _genz_malik}


class CubatureResult(eqx.Module):
    """Result of :func:`cubature`: SciPy's ``estimate``, ``error``, ``status``, ``subdivisions``,
    ``atol``, ``rtol``, plus ``converged`` (bool array) and ``n_regions``."""

    estimate: Array
    error: Array
    converged: Array
    subdivisions: Array
    n_regions: Array
    atol: Any
    rtol: Any

    @property
    def status(self) -> str:
        """``'converged'`` or ``'not_converged'`` (readable outside traced code only)."""
        if isinstance(self.converged, Tracer):
            raise TypeError("`status` is a string; under jit read `converged` instead.")
        return "converged" if bool(self.converged) else "not_converged"


class _Cub(eqx.Module):
    f: Callable[..., Any] = eqx.field(static=True)
    rule: str = eqx.field(static=True)
    ndim: int = eqx.field(static=True)
    capacity: int = eqx.field(static=True)


def _map(u, a, b):
    """Unit coordinates -> ``x`` and the Jacobian, per dimension (finite, half- or doubly infinite)."""
    fa, fb = jnp.isfinite(a), jnp.isfinite(b)
    a0, b0 = jnp.where(fa, a, 0.0), jnp.where(fb, b, 0.0)
    q = jnp.where((u > 0) & (u < 1), u, 0.5)
    s = 2 * q - 1
    x = jnp.where(fa & fb, a0 + (b0 - a0) * u, jnp.where(fa, a0 + q / (1 - q),
                  jnp.where(fb, b0 - (1 - q) / q, s / (1 - s * s))))
    jac = jnp.where(fa & fb, b0 - a0, jnp.where(fa, 1 / (1 - q) ** 2, jnp.where(fb, 1 / q**2,
                    2 * (1 + s * s) / (1 - s * s) ** 2)))
    return x, jac


def _rule(cub: _Cub, lo, hi, a, b, args):
    """High and low order estimates over regions ``[lo, hi]`` (unit coordinates), shape ``(N, *out)``."""
    nodes, high, low = _RULES[cub.rule](cub.ndim)
    dtype = a.dtype
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    u = centre[:, None, :] + half[:, None, :] * jnp.asarray(nodes, dtype)[None]
    x, jac = _map(u, a, b)
    n, p = u.shape[:2]
    fx = jnp.asarray(cub.f(x.reshape(n * p, cub.ndim), *args))
    fx = fx.reshape((n, p) + fx.shape[1:])
    scale = (jnp.prod(half, axis=-1)[:, None] * jnp.prod(jac, axis=-1)).reshape((n, p) + (1,) * (fx.ndim - 2))
    vals = fx * scale
    return (jnp.einsum("p,np...->n...", jnp.asarray(high, dtype), vals),
            jnp.einsum("p,np...->n...", jnp.asarray(low, dtype), vals))


def _children(lo, hi, ndim):
    """The ``2**ndim`` halves of one region."""
    mid = (lo + hi) / 2
    corners = np.array(list(itertools.product((0, 1), repeat=ndim)))
    c_lo = jnp.where(corners == 0, lo, mid)
    c_hi = jnp.where(corners == 0, mid, hi)
    return c_lo, c_hi


def _adapt(cub: _Cub, a, b, args, atol, rtol, max_subdivisions):
    d, cap = cub.ndim, cub.capacity
    nkids = 2**d
    lo0, hi0 = jnp.zeros((1, d), a.dtype), jnp.ones((1, d), a.dtype)
    est0, low0 = _rule(cub, lo0, hi0, a, b, args)
    err0 = jnp.abs(est0 - low0)
    out = est0.shape[1:]
    est = jnp.zeros((cap,) + out, est0.dtype).at[0].set(est0[0])
    err = jnp.zeros((cap,) + out, err0.dtype).at[0].set(err0[0])
    lo = jnp.zeros((cap, d), a.dtype).at[0].set(lo0[0])
    hi = jnp.zeros((cap, d), a.dtype).at[0].set(hi0[0])

    def converged(st):
        e, r = jnp.sum(st["err"], axis=0), jnp.abs(jnp.sum(st["est"], axis=0))
        return jnp.all(e <= atol + rtol * r)

    def cond(st):
        return ~converged(st) & (st["it"] < max_subdivisions) & (st["n"] + nkids - 1 <= cap) \
            & jnp.all(jnp.isfinite(jnp.sum(st["est"], axis=0)))

    def body(st):
        live = jnp.arange(cap) < st["n"]
        norm = jnp.where(live, jnp.max(st["err"].reshape(cap, -1), axis=1), -1.0)
        i = jnp.argmax(norm)
        c_lo, c_hi = _children(st["lo"][i], st["hi"][i], d)
        h, lw = _rule(cub, c_lo, c_hi, a, b, args)
        e = jnp.abs(h - lw)
        rows = jnp.concatenate([i[None], st["n"] + jnp.arange(nkids - 1)])
        return {"lo": st["lo"].at[rows].set(c_lo), "hi": st["hi"].at[rows].set(c_hi),
                "est": st["est"].at[rows].set(h), "err": st["err"].at[rows].set(e),
                "n": st["n"] + nkids - 1, "it": st["it"] + 1}

    st = {"lo": lo, "hi": hi, "est": est, "err": err, "n": jnp.asarray(1), "it": jnp.asarray(0)}
    st = jax.lax.while_loop(cond, body, st)
    return st, converged(st)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _estimate(cub: _Cub, a, b, args, atol, rtol, max_subdivisions):
    st, ok = _adapt(cub, a, b, args, atol, rtol, max_subdivisions)
    return jnp.sum(st["est"], axis=0), jnp.sum(st["err"], axis=0), ok, st["it"], st["n"], st["lo"], st["hi"]


def _estimate_fwd(cub, a, b, args, atol, rtol, max_subdivisions):
    out = _estimate(cub, a, b, args, atol, rtol, max_subdivisions)
    return out, (a, b, args, atol, rtol, max_subdivisions, out[4], out[5], out[6])  # pyright: ignore[reportIndexIssue]


def _estimate_bwd(cub, residuals, cotangents):
    """The cotangent of the estimate pulled back through the rule on each final region, a chunk of
    regions per iteration (a ``while_loop``: reverse mode only)."""
    a, b, args, atol, rtol, max_subdivisions, n, lo, hi = residuals
    g = cotangents[0]

    def chunk_sum(j, a, b, args):
        rows = j * _REPLAY_CHUNK + jnp.arange(_REPLAY_CHUNK)
        r_lo = jax.lax.dynamic_slice_in_dim(lo, j * _REPLAY_CHUNK, _REPLAY_CHUNK)
        r_hi = jax.lax.dynamic_slice_in_dim(hi, j * _REPLAY_CHUNK, _REPLAY_CHUNK)
        h, _ = _rule(cub, r_lo, r_hi, a, b, args)
        keep = (rows < n).reshape((-1,) + (1,) * (h.ndim - 1))
        return jnp.sum(jnp.where(keep, h, 0.0), axis=0)

    def body(st):
        j, acc = st
        _, pull = jax.vjp(lambda a, b, args: chunk_sum(j, a, b, args), a, b, args)
        return j + 1, jax.tree_util.tree_map(jnp.add, acc, pull(g))

    zero = jax.tree_util.tree_map(jnp.zeros_like, (a, b, args))
    _, (ga, gb, gargs) = jax.lax.while_loop(lambda st: st[0] * _REPLAY_CHUNK < n, body, (jnp.asarray(0), zero))
    return ga, gb, gargs, jnp.zeros_like(atol), jnp.zeros_like(rtol), None


_estimate.defvjp(_estimate_fwd, _estimate_bwd)


@eqx.filter_jit
def _solve(cub: _Cub, a, b, args, atol, rtol, max_subdivisions):
    est, err, ok, it, n, _, _ = _estimate(cub, a, b, args, atol, rtol, max_subdivisions)  # pyright: ignore
    return est, err, ok, it, n


def cubature(f: Callable[..., Any], a: ArrayLike, b: ArrayLike, *, rule: str = "gk21", rtol: float = 1e-8,
             atol: float = 0, max_subdivisions: int = 10000, args: tuple = (), workers: Any = 1,
             points: Any = None) -> CubatureResult:
    """Adaptive cubature of a multidimensional array-valued function (SciPy's ``cubature``).

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` with ``x`` of shape ``(npoints, ndim)``, returning ``(npoints, *out)``, written
        with ``jax.numpy``.
    a, b : array_like, shape (ndim,)
        Lower and upper limits; may be infinite.
    rule : str, optional
        ``'gk21'`` (default) or ``'gauss-kronrod'`` (product of 21-point Gauss-Kronrod rules),
        ``'gk15'``, or ``'genz-malik'`` (degree 7, ``ndim >= 2``).
    rtol, atol : float, optional
        Stop when the summed error is at most ``atol + rtol * |estimate|`` (elementwise over ``out``).
    max_subdivisions : int, optional
        Most subdivisions (default 10000); also sets the static region capacity
        ``1 + max_subdivisions * (2**ndim - 1)``.
    args : tuple, optional
        Extra arguments for ``f``; arrays are traced (differentiable).
    workers : int or callable, optional
        Accepted for SciPy's signature; ignored (the rule is evaluated on all nodes in one call).
    points : list, optional
        Not supported (raises ``NotImplementedError`` when given).

    Returns
    -------
    CubatureResult
        ``estimate``, ``error``, ``status`` (``'converged'``/``'not_converged'``), ``subdivisions``,
        ``atol``, ``rtol``, and ``converged``, ``n_regions``.

    Differences from SciPy
    ----------------------
    - ``regions`` is not returned (the region buffers stay inside the compiled loop); ``n_regions``
      counts them. ``status`` is a property of ``converged`` (a bool array under ``jit``).
    - ``points`` is not supported; ``workers`` is ignored.
    - Infinite limits use ``x = a + u/(1-u)``, ``x = b - (1-u)/u`` and ``x = s/(1-s**2)``
      (``s = 2u - 1``) on the unit cube, so subdivision counts differ from SciPy's there.
    - ``jit``, ``vmap`` and ``grad`` (w.r.t. finite limits and ``args``) work; the derivative pulls
      back through the rule on the final regions (reverse mode only: ``jax.jvp``/``jacfwd`` are not
      supported). The region capacity follows ``max_subdivisions`` (static).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import cubature
    >>> res = cubature(lambda x: jnp.exp(-jnp.sum(x**2, axis=-1)), jnp.array([0.0, 0.0]), jnp.array([1.0, 2.0]))
    >>> round(float(res.estimate), 10), res.status
    (0.6587596697, 'converged')
    """
    if not callable(f):
        raise TypeError("`f` must be callable.")
    if rule not in _RULES:
        raise ValueError(f"`rule` must be one of {sorted(_RULES)}, got {rule!r}.")
    if points is not None:
        raise NotImplementedError("`points` is not supported by scijax's cubature.")
    if not isinstance(max_subdivisions, int | np.integer) or max_subdivisions < 0:
        raise ValueError("`max_subdivisions` must be a non-negative integer.")
    a, b = jnp.atleast_1d(jnp.asarray(a)), jnp.atleast_1d(jnp.asarray(b))
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError("`a` and `b` must be 1-D arrays of the same length.")
    dtype = jnp.result_type(a, b, float)
    a, b = a.astype(dtype), b.astype(dtype)
    ndim = a.shape[0]
    if rule == "genz-malik" and ndim < 2:
        raise ValueError("`rule='genz-malik'` needs at least 2 dimensions.")
    if not isinstance(args, tuple):
        args = (args,)
    args = tuple(jnp.asarray(v) if isinstance(v, int | float | complex | np.ndarray | jax.Array) else v
                 for v in args)
    if not any(isinstance(v, Tracer) for v in (a, b, rtol, atol)):
        if np.any(np.isnan(np.asarray(a))) or np.any(np.isnan(np.asarray(b))):
            raise ValueError("`a` and `b` must not be NaN.")
        if rtol < 0 or atol < 0:
            raise ValueError("`rtol` and `atol` must be non-negative.")
    cub = _Cub(f, rule, ndim, 1 + int(max_subdivisions) * (2**ndim - 1) + _REPLAY_CHUNK)
    flip = jnp.where(a > b, -1.0, 1.0).prod()
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    est, err, ok, it, n = _solve(cub, lo, hi, args, jnp.asarray(atol, dtype), jnp.asarray(rtol, dtype),
                                 jnp.asarray(max_subdivisions))
    return CubatureResult(estimate=est * flip, error=err, converged=ok, subdivisions=it, n_regions=n,
                          atol=atol, rtol=rtol)
