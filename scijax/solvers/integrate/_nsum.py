"""``nsum``: finite or infinite series by direct summation plus an integral for the tail (SciPy's ``nsum``).

The integral test for a decreasing ``f`` (step 1): ``int_c^inf f <= sum_{k>=c} f(k) <= int_c^inf f + f(c)``.
So after summing terms directly up to a ``c`` where the terms have become negligible against the sum's
scale, the rest is ``int_c^inf f / step + f(c) / 2`` with error ``f(c) / 2`` plus the quadrature error
(``tanhsinh``). The direct part runs in chunks of terms inside one ``while_loop``; its reverse-mode
derivative (``custom_vjp``) pulls the cotangent back through the same chunks in another loop.
"""

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.scipy.special import logsumexp

from ..._typing import Array, ArrayLike
from .._userfn import prepare
from ._tanhsinh import tanhsinh

__all__ = ["nsum", "NsumResult"]

_CHUNK = 256  # terms per evaluation of f in the direct sum


class NsumResult(NamedTuple):
    """Result of :func:`nsum` (the fields of SciPy's ``_RichResult``)."""

    success: Array
    status: Array
    sum: Array
    error: Array
    nfev: Array


class _Series(NamedTuple):
    f: Callable[..., Any]
    log: bool
    maxterms: int


def _chunk_terms(series: _Series, j, a, step, n_terms, args, stop):
    """Terms ``k = j*C .. j*C + C - 1`` (masked to ``k < min(n_terms, stop)``): values and mask."""
    k = j * _CHUNK + jnp.arange(_CHUNK)
    keep = (k < n_terms[..., None]) & (k < stop[..., None])
    x = a[..., None] + step[..., None] * k.astype(a.dtype)
    fx = jnp.asarray(series.f(jnp.where(keep, x, a[..., None]), *[v[..., None] for v in args]))
    return jnp.broadcast_to(fx, keep.shape), keep


def _reduce(series: _Series, fx, keep):
    if series.log:
        return logsumexp(jnp.where(keep, fx, -jnp.inf), axis=-1)
    return jnp.sum(jnp.where(keep, fx, 0.0), axis=-1)


def _find_tail(series: _Series, a, step, n_terms, args, threshold):
    """The first chunk boundary ``c`` (term index) after which the terms are below ``threshold`` and
    decreasing, or where the terms end: ``(c, reached, nonfinite)``."""
    n_chunks = -(-series.maxterms // _CHUNK)
    big = jnp.full(a.shape, series.maxterms, jax.dtypes.canonicalize_dtype(jnp.int64))

    def cond(st):
        j, running = st[0], st[1]
        return (j < n_chunks) & jnp.any(running)

    def body(st):
        j, running, stop, bad = st
        fx, keep = _chunk_terms(series, j, a, step, n_terms, args, big)
        end = (j + 1) * _CHUNK
        small = (fx[..., -1] < threshold) & (fx[..., -1] <= fx[..., -2])
        bad = bad | (running & jnp.any(keep & ~jnp.isfinite(fx), axis=-1))
        finished = running & ((end >= n_terms) | small)
        stop = jnp.where(finished, end, stop)
        return j + 1, running & ~finished & ~bad, stop, bad

    zero = jnp.zeros(a.shape, bool)
    _, running, stop, bad = jax.lax.while_loop(cond, body, (jnp.asarray(0), ~zero, big, zero))
    return jnp.minimum(stop, n_terms).astype(big.dtype), ~running, bad


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _direct(series: _Series, a, step, n_terms, args, stop):
    """``sum_{k < stop} f(a + k step)``, one chunk per loop iteration."""
    last = jnp.max(stop)

    def body(st):
        j, total = st
        part = _reduce(series, *_chunk_terms(series, j, a, step, n_terms, args, stop))
        return j + 1, jnp.logaddexp(total, part) if series.log else total + part

    zero = jnp.full(a.shape, -jnp.inf if series.log else 0.0, _dtype(series, a, args))
    return jax.lax.while_loop(lambda st: st[0] * _CHUNK < last, body, (jnp.asarray(0), zero))[1]


def _dtype(series, a, args):
    probe = jax.eval_shape(series.f, jax.ShapeDtypeStruct(a.shape + (2,), a.dtype),
                           *[jax.ShapeDtypeStruct(v.shape + (1,), v.dtype) for v in args])
    return jnp.result_type(probe.dtype, a.dtype)


def _direct_fwd(series, a, step, n_terms, args, stop):
    out = _direct(series, a, step, n_terms, args, stop)
    return out, (a, step, n_terms, args, stop, out)


def _direct_bwd(series, residuals, g):
    """Pull the cotangent back through each chunk of terms (a ``while_loop``: reverse mode only)."""
    a, step, n_terms, args, stop, out = residuals
    last = jnp.max(stop)

    def body(st):
        j, acc = st

        def part(a, step, args):
            value = _reduce(series, *_chunk_terms(series, j, a, step, n_terms, args, stop))
            return jnp.exp(value - out) if series.log else value  # d log S = sum exp(log f - log S) d log f

        _, pull = jax.vjp(part, a, step, args)
        return j + 1, jax.tree_util.tree_map(jnp.add, acc, pull(g))

    zero = jax.tree_util.tree_map(jnp.zeros_like, (a, step, args))
    _, (ga, gs, gargs) = jax.lax.while_loop(lambda st: st[0] * _CHUNK < last, body, (jnp.asarray(0), zero))
    return ga, gs, None, gargs, None


_direct.defvjp(_direct_fwd, _direct_bwd)


def _solve(series: _Series, a, b, step, args, atol, rtol) -> NsumResult:
    dtype = a.dtype
    eps = float(jnp.finfo(dtype).eps)
    valid = jnp.isfinite(a) & ~jnp.isnan(b) & (step > 0) & jnp.isfinite(step)  # b < a: the empty sum, 0
    a, b, step = jnp.where(valid, a, 0.0), jnp.where(valid, b, 1.0), jnp.where(valid, step, 1.0)
    infinite = jnp.isinf(b)
    count = jnp.maximum(jnp.floor((jnp.where(infinite, a, b) - a) / step) + 1, 0.0)
    n_terms = jnp.where(infinite, series.maxterms + 1, jnp.minimum(count, 2.0 ** 62)).astype(
        jax.dtypes.canonicalize_dtype(jnp.int64))
    last = jnp.where(infinite, jnp.inf, a + step * jnp.maximum(count - 1, 0.0))
    log_step = jnp.log(step)

    def integral(lo, hi):  # int_lo^hi f / step, with tanhsinh's error and nfev
        r = tanhsinh(series.f, lo, hi, args=args, log=series.log)
        if series.log:
            return r.integral - log_step, r.error - log_step, r.nfev, r.status
        return r.integral / step, r.error / step, r.nfev, r.status

    scale, _, nfev_scale, _ = integral(a, last)
    scale = jax.lax.stop_gradient(scale)
    threshold = jnp.logaddexp(atol, rtol + scale) if series.log else atol + rtol * scale
    stop, reached, bad = _find_tail(series, *jax.lax.stop_gradient((a, step)), n_terms, args, threshold)
    stop = jax.lax.stop_gradient(stop)
    direct = cast(Any, _direct(series, a, step, n_terms, args, stop))  # a custom_vjp's output
    tail = stop < n_terms
    c = a + step * stop.astype(dtype)
    c_safe = jnp.where(tail, c, a)
    ends = jnp.stack([c_safe, jnp.where(infinite | ~tail, c_safe, last)], axis=-1)
    f_ends = jnp.asarray(series.f(ends, *[v[..., None] for v in args]))
    f_ends = jnp.broadcast_to(f_ends, ends.shape)
    upper = jnp.where(tail, last, c_safe)
    rest, rest_err, nfev_tail, status_tail = cast(Any, integral(c_safe, upper))  # a custom_vjp's tuple
    if series.log:
        half = jnp.log(0.5)
        corr = jnp.where(infinite, f_ends[..., 0] + half, jnp.logaddexp(f_ends[..., 0], f_ends[..., 1]) + half)
        total = jnp.where(tail, jnp.logaddexp(direct, jnp.logaddexp(rest, corr)), direct)
        err = jnp.where(tail, jnp.logaddexp(f_ends[..., 0] + half, rest_err), math.log(eps) + jnp.real(total))
        small = err < jnp.logaddexp(atol, rtol + jnp.real(total))
    else:
        corr = jnp.where(infinite, f_ends[..., 0] / 2, (f_ends[..., 0] + f_ends[..., 1]) / 2)
        total = jnp.where(tail, direct + rest + corr, direct)
        err = jnp.where(tail, f_ends[..., 0] / 2 + rest_err, eps * jnp.abs(total))
        small = err <= atol + rtol * jnp.abs(total)
    nonfinite = bad | ~jnp.isfinite(total) | (tail & ~jnp.all(jnp.isfinite(f_ends), axis=-1))
    status = jnp.where(~valid, -1, jnp.where(nonfinite, -3, jnp.where(tail & (status_tail != 0), -2,
                       jnp.where(~reached | ~small, -4, 0))))
    nfev = nfev_scale + jnp.minimum(stop, n_terms).astype(jnp.int32) + jnp.where(tail, nfev_tail + 2, 0)
    nan = jnp.asarray(jnp.nan, total.dtype)
    return NsumResult(success=status == 0, status=status.astype(jnp.int32), sum=jnp.where(valid, total, nan),
                      error=jnp.where(valid, err, jnp.nan), nfev=nfev.astype(jnp.int32))


_solve_jit = eqx.filter_jit(_solve)


def nsum(f: Callable[..., Any], a: ArrayLike, b: ArrayLike, *, step: ArrayLike = 1, args: tuple = (),
         log: bool = False, maxterms: int = 2**20, tolerances: dict | None = None) -> NsumResult:
    """Evaluate a convergent finite or infinite series (SciPy's ``nsum``).

    ``sum(f(a + k * step) for k in range(n))`` with ``n = floor((b - a) / step) + 1`` (``b`` may be
    ``inf``), elementwise over the broadcast shape of ``a``, ``b``, ``step`` and ``args``. Terms are
    summed directly until they are below ``atol + rtol * S`` (``S`` the integral of ``f`` over the
    range, a scale of the sum) and decreasing; the remaining terms are ``int_c^b f / step`` (by
    :func:`tanhsinh`) plus the endpoint correction ``f(c) / 2`` (and ``f(b) / 2`` for a finite ``b``).

    Parameters
    ----------
    f : callable
        ``f(x, *args)``, elementwise, smooth, positive and eventually decreasing, defined for all
        reals between ``a`` and ``b`` (the tail is integrated), written with ``jax.numpy``.
    a, b : array_like
        First term's position and the upper limit (may be ``inf``); ``b < a`` is the empty sum.
    step : array_like, optional
        Positive spacing of the terms (default 1).
    args : tuple of array_like, optional
        Extra arrays for ``f``, broadcastable with ``a``; traced (differentiable).
    log : bool, optional
        ``f`` returns the log of the terms; ``sum`` and ``error`` are logs, tolerances are logs.
    maxterms : int, optional
        Most terms summed directly (default ``2**20``); static.
    tolerances : dict, optional
        ``{'atol': ..., 'rtol': ...}``; defaults 0 and ``eps**0.5`` (logs for ``log=True``).

    Returns
    -------
    NsumResult
        ``success``, ``status`` (0 converged; -1 invalid ``a``, ``b`` or ``step``; -2 the tail
        integral did not converge, the series may diverge; -3 a non-finite value; -4 the last directly
        summed term is still above the tolerance), ``sum``, ``error``, ``nfev``.

    Differences from SciPy
    ----------------------
    - Terms are summed from ``a`` in chunks of 256; the tail starts at a chunk boundary, so ``nfev``
      differs from SciPy's. SciPy also sums the terms around an interior maximum of a unimodal ``f``
      first; here the direct sum from ``a`` must reach the decreasing part within ``maxterms`` terms
      (otherwise status -4).
    - A finite ``b`` farther than the tail point uses the trapezoid-type correction
      ``(f(c) + f(b)) / 2``; the error estimate is ``f(c) / 2`` plus the quadrature error.
    - ``jit``, ``vmap`` and ``grad`` (w.r.t. ``a``, ``step``, ``args``) work (reverse mode; the
      direct part has no ``jax.jvp``). ``maxterms`` is static.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import nsum
    >>> res = nsum(lambda k: 1.0 / k**2, 1.0, jnp.inf)
    >>> bool(abs(res.sum - jnp.pi**2 / 6) < 1e-10), bool(res.success)
    (True, True)
    """
    if not callable(f):
        raise TypeError("`f` must be callable.")
    if not isinstance(log, bool | np.bool_):
        raise ValueError("`log` must be True or False.")
    if not isinstance(maxterms, int | np.integer) or isinstance(maxterms, bool) or maxterms < 1:
        raise ValueError("`maxterms` must be a positive integer.")
    tolerances = {} if tolerances is None else dict(tolerances)
    if set(tolerances) - {"atol", "rtol"}:
        raise ValueError("`tolerances` may contain only 'atol' and 'rtol'.")
    if not isinstance(args, tuple):
        args = (args,)
    a, b, step = jnp.asarray(a), jnp.asarray(b), jnp.asarray(step)
    if any(jnp.iscomplexobj(v) for v in (a, b, step)):
        raise ValueError("`a`, `b` and `step` must be real numbers.")
    dtype = jnp.result_type(a, b, step, float)
    args = tuple(jnp.asarray(v) for v in args)
    shape = jnp.broadcast_shapes(a.shape, b.shape, step.shape, *(v.shape for v in args))
    a, b, step = (jnp.broadcast_to(v.astype(dtype), shape) for v in (a, b, step))
    args = tuple(jnp.broadcast_to(v, shape) for v in args)
    eps = float(jnp.finfo(dtype).eps)
    atol = tolerances.get("atol", -np.inf if log else 0.0)
    rtol = tolerances.get("rtol", 0.5 * math.log(eps) if log else eps**0.5)
    for name, value in (("atol", atol), ("rtol", rtol)):
        v = np.asarray(value) if not isinstance(value, Tracer) else None
        if v is not None and ((not log and (np.any(v < 0) or not np.all(np.isfinite(v)))) or np.any(np.isnan(v))):
            raise ValueError(f"`{name}` must be non-negative and finite (a log of one if `log=True`).")
    example = (jnp.zeros(shape + (_CHUNK,), dtype), *(v[..., None] for v in args))
    f = prepare(f, example, solver="nsum", role="f", context=(a, b, step))
    return _solve_jit(_Series(f, bool(log), int(maxterms)), a, b, step, args, jnp.asarray(atol, dtype),
                      jnp.asarray(rtol, dtype))
