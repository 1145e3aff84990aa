"""``tanhsinh``: elementwise double-exponential (tanh-sinh) quadrature, as ``scipy.integrate.tanhsinh``.

The scheme of Takahasi and Mori (1974) in the level-by-level form of Bailey, Jeyabalan and Li (2005):
level ``k`` uses step ``h_k = h_0 / 2**k`` on ``t`` in ``[-t_max, t_max]`` and adds only the new nodes
(odd multiples of ``h_k``), so each level reuses every earlier evaluation. Abscissae near the ends
are computed from the complement ``1 - |tanh(u)| = 2 / (exp(2|u|) + 1)`` so that endpoint
singularities are resolved; infinite limits are mapped to a finite interval first.

The nodes of all levels up to ``maxlevel`` form a static table cut into chunks of 32; one
``while_loop`` evaluates ``f`` on a chunk per iteration and closes a level at its last chunk
(estimate, error, convergence test), until every element has stopped. Converged elements are frozen
with ``where``, so the loop body is traced once (one ``f`` trace, small compile). Derivatives
(``custom_jvp``) differentiate the quadrature sum that produced the result: a fixed-length loop over
the nodes of each element's final level replays it, which is reverse-differentiable.
"""

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.scipy.special import logsumexp

from ..._typing import Array, ArrayLike
from .._userfn import prepare

__all__ = ["tanhsinh", "TanhSinhResult"]

_BASE_NODES = 8  # nodes per side at level 0 (h_0 = t_max / 8), as the SciPy implementation's count
_CHUNK = 32  # nodes per evaluation of f inside the loop


class TanhSinhResult(NamedTuple):
    """Result of :func:`tanhsinh` (the fields of SciPy's ``_RichResult``); arrays of the broadcast shape."""

    success: Array
    status: Array
    integral: Array
    error: Array
    nfev: Array
    maxlevel: Array


def _t_max(dtype: Any) -> float:
    """Largest ``t`` whose weight ``~ exp(-pi sinh t)`` does not underflow in ``dtype``."""
    tiny = float(jnp.finfo(dtype).tiny)
    return math.asinh(-math.log(tiny) / math.pi)


def _level_nodes(level: int, t_max: float) -> tuple[np.ndarray, float]:
    """The new nodes ``t`` of ``level`` (all nodes at level 0) and the level's step ``h``."""
    h0 = t_max / _BASE_NODES
    if level == 0:
        return np.arange(-_BASE_NODES, _BASE_NODES + 1) * h0, h0
    h = h0 / 2**level
    odd = np.arange(1, _BASE_NODES * 2**level, 2)
    return np.concatenate([-odd[::-1], odd]) * h, h


def _abscissae(t: Any, lo: Array, hi: Array, dtype: Any) -> tuple[Array, Array, Array]:
    """Nodes ``x`` (shape ``lo.shape + (n,)``), weights ``dx/dt`` and a validity mask for ``[lo, hi]``.

    Finite: ``x = mid + d tanh(u)``, ``u = pi/2 sinh t``. ``[lo, inf)``: ``x = lo + v / (1 - v)`` with
    ``v = (1 + tanh u) / 2``; ``(-inf, hi]`` mirrored; ``(-inf, inf)``: ``x = s / (1 - s**2)``, ``s = tanh u``.
    """
    t = jnp.asarray(t, dtype)
    u = jnp.pi / 2 * jnp.sinh(t)
    c = 2.0 / (jnp.exp(2.0 * jnp.abs(u)) + 1.0)  # 1 - |tanh u|, accurate near the ends
    dsdt = jnp.pi / 2 * jnp.cosh(t) / jnp.cosh(u) ** 2  # d tanh(u) / dt
    neg = t < 0
    lo_fin, hi_fin = jnp.isfinite(lo)[..., None], jnp.isfinite(hi)[..., None]
    lo_s, hi_s = jnp.where(lo_fin, lo[..., None], 0.0), jnp.where(hi_fin, hi[..., None], 0.0)
    # finite [lo, hi]
    d = (hi_s - lo_s) / 2
    x_fin = jnp.where(neg, lo_s + d * c, hi_s - d * c)
    # half-infinite: v in (0, 1), q = 1 - v
    v = jnp.where(neg, c / 2, 1 - c / 2)
    q = jnp.where(neg, 1 - c / 2, c / 2)
    q_safe = jnp.where(q > 0, q, 1.0)
    ratio, dratio = v / q_safe, 0.5 * dsdt / q_safe**2
    # both infinite: s in (-1, 1)
    s = jnp.where(neg, c - 1, 1 - c)
    one_m = jnp.where(neg, c * (2 - c), c * (2 - c))  # 1 - s**2 = (1 - |s|)(1 + |s|)
    om_safe = jnp.where(one_m > 0, one_m, 1.0)
    x_inf, dx_inf = s / om_safe, dsdt * (1 + s * s) / om_safe**2
    x = jnp.where(lo_fin & hi_fin, x_fin, jnp.where(lo_fin, lo_s + ratio, jnp.where(hi_fin, hi_s - ratio, x_inf)))
    w = jnp.where(lo_fin & hi_fin, d * dsdt, jnp.where(lo_fin | hi_fin, dratio, dx_inf))
    ok = (w > 0) & jnp.isfinite(w) & jnp.isfinite(x) & (c > 0)
    ok = ok & ~(lo_fin & (x <= lo_s)) & ~(hi_fin & (x >= hi_s))  # rounded onto an end: ignored
    return x, jnp.where(ok, w, 0.0), ok


class _Problem(NamedTuple):
    f: Callable[..., Any]
    log: bool
    levels: tuple[int, ...]  # (minlevel, maxlevel)


def _table(maxlevel: int, dtype: Any) -> dict[str, np.ndarray]:
    """All nodes of levels ``0..maxlevel`` in chunks of ``_CHUNK`` (padded): ``t``, ``valid``, the
    chunk's ``level``, whether it ends its level, and the step ``h`` of each level."""
    t_max = _t_max(dtype)
    t, valid, level, end, hs = [], [], [], [], []
    for k in range(maxlevel + 1):
        nodes, h = _level_nodes(k, t_max)
        hs.append(h)
        n_chunks = -(-nodes.shape[0] // _CHUNK)
        padded = np.zeros(n_chunks * _CHUNK)
        padded[:nodes.shape[0]] = nodes
        t.append(padded.reshape(n_chunks, _CHUNK))
        valid.append((np.arange(n_chunks * _CHUNK) < nodes.shape[0]).reshape(n_chunks, _CHUNK))
        level += [k] * n_chunks
        end += [False] * (n_chunks - 1) + [True]
    return {"t": np.concatenate(t), "valid": np.concatenate(valid), "level": np.array(level),
            "end": np.array(end), "h": np.array(hs)}


def _chunk(problem: _Problem, t, valid, lo, hi, args, out_shape, dtype):
    """One chunk's raw sum ``sum w f`` (``log``: its log) and whether a value was non-finite."""
    x, w, ok = _abscissae(t, lo, hi, dtype)
    ok = ok & valid
    x_eval = jnp.where(ok, x, _abscissae(jnp.zeros(1, dtype), lo, hi, dtype)[0])  # interior point: no NaN
    fx = jnp.asarray(problem.f(x_eval, *[v[..., None] for v in args]))
    fx = jnp.broadcast_to(fx, out_shape + t.shape)
    okb = jnp.broadcast_to(ok, fx.shape)
    bad = jnp.any(okb & ~jnp.isfinite(fx), axis=-1)
    if problem.log:
        return logsumexp(jnp.where(okb, fx + jnp.log(jnp.where(ok, w, 1.0)), -jnp.inf), axis=-1), bad
    return jnp.sum(jnp.where(okb, fx, 0.0) * w, axis=-1), bad


def _error(problem: _Problem, s, s1, s2, eps):
    """Bailey et al.'s estimate from the last three levels, in relative terms ``r1 = |S_k - S_k-1| / |S_k|``,
    ``r2 = |S_k - S_k-2| / |S_k|``: ``max(r1**(ln r1 / ln r2), r1**2)``, then the smaller of that and ``r1``,
    floored at ``eps`` (SciPy's description), as an absolute error (``log``: its log)."""
    if problem.log:
        def lrel(v):
            hi, gap = jnp.maximum(s.real, v.real), jnp.abs(s.real - v.real)
            return hi + jnp.log(-jnp.expm1(-gap)) - s.real
        l1, l2 = lrel(s1), lrel(s2)
    else:
        scale = jnp.where(s == 0, 1.0, jnp.abs(s))
        l1, l2 = jnp.log(jnp.abs(s - s1) / scale), jnp.log(jnp.abs(s - s2) / scale)
    quad = jnp.where((l2 < 0) & (l1 < 0), jnp.maximum(l1 * l1 / jnp.where(l2 < 0, l2, -1.0), 2 * l1), l1)
    lrel_err = jnp.maximum(jnp.minimum(quad, l1), jnp.log(eps))
    if problem.log:
        return s.real + lrel_err
    return jnp.where(s == 0, jnp.exp(l1), jnp.abs(s) * jnp.exp(lrel_err))


def _shapes(problem: _Problem, a, args):
    probe = jax.eval_shape(problem.f, jax.ShapeDtypeStruct(a.shape + (_CHUNK,), a.dtype),
                           *[jax.ShapeDtypeStruct(v.shape + (1,), v.dtype) for v in args])
    out_shape = jnp.broadcast_shapes(a.shape, tuple(probe.shape[:-1]) if probe.ndim else ())
    return out_shape, jnp.result_type(probe.dtype, a.dtype)


def _init(problem: _Problem, a, b, args) -> dict[str, Array]:
    out_shape, out_dtype = _shapes(problem, a, args)
    zero = jnp.full(out_shape, -jnp.inf if problem.log else 0.0, out_dtype)
    empty = jnp.broadcast_to(a == b, out_shape)
    return {"i": jnp.asarray(0), "raw": zero, "acc": zero, "bad": jnp.zeros(out_shape, bool), "s": zero,
            "s1": zero, "error": jnp.full(out_shape, jnp.nan, a.dtype),
            "status": jnp.where(empty, 0, 1).astype(jnp.int32), "nfev": jnp.zeros(out_shape, jnp.int32),
            "level": jnp.zeros(out_shape, jnp.int32)}


def _advance(problem: _Problem, a, b, args, atol, rtol, state, stop_level):
    """Evaluate chunk after chunk until every element has stopped or level ``stop_level`` is done."""
    minlevel, maxlevel = problem.levels
    dtype = a.dtype
    eps = float(jnp.finfo(dtype).eps)
    tab = _table(maxlevel, dtype)
    n_chunks = tab["t"].shape[0]
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    out_shape = state["s"].shape
    add = jnp.logaddexp if problem.log else jnp.add

    def cond(st):
        i = jnp.minimum(st["i"], n_chunks - 1)
        return (st["i"] < n_chunks) & jnp.any(st["status"] == 1) & (jnp.asarray(tab["level"])[i] <= stop_level)

    def body(st):
        i = st["i"]
        level, end = jnp.asarray(tab["level"])[i], jnp.asarray(tab["end"])[i]
        part, bad = _chunk(problem, jnp.asarray(tab["t"], dtype)[i], jnp.asarray(tab["valid"])[i], lo, hi, args,
                           out_shape, dtype)
        acc, bad = add(st["acc"], part.astype(st["acc"].dtype)), st["bad"] | bad
        raw = add(st["raw"], acc)
        h = jnp.asarray(tab["h"], dtype)[level]
        s = raw + jnp.log(h) if problem.log else raw * h
        error = jnp.where(level >= 2, _error(problem, s, st["s"], st["s1"], eps).astype(dtype), jnp.nan)
        bound = rtol + jnp.real(s) if problem.log else rtol * jnp.abs(s)
        done = (level >= max(minlevel, 2)) & ((error < atol) | (error < bound))
        status = jnp.where(bad, -3, jnp.where(done, 0, 1))
        finished = {"raw": raw, "acc": jnp.zeros_like(acc) + (-jnp.inf if problem.log else 0.0),
                    "bad": jnp.zeros_like(bad), "s": s, "s1": st["s"], "error": error, "status": status,
                    "level": jnp.full(out_shape, level, jnp.int32)}
        active = st["status"] == 1
        count = jnp.asarray(tab["valid"].sum(axis=1), jnp.int32)[i]
        new = dict(st, acc=acc, bad=bad, i=i + 1, nfev=st["nfev"] + jnp.where(active, count, 0))
        for k, v in finished.items():
            new[k] = jnp.where(end & active, v, new[k] if k in ("acc", "bad") else st[k])
        return new

    return jax.lax.while_loop(cond, body, state)


def _replay(problem: _Problem, a, b, args, level, out_dtype):
    """The integral as the sum over every node of levels ``<= level`` (per element): a fixed-length
    loop, so that it is reverse-differentiable; used only for derivatives."""
    dtype = a.dtype
    tab = _table(problem.levels[1], dtype)
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    out_shape = level.shape
    add = jnp.logaddexp if problem.log else jnp.add

    def body(i, raw):
        part, _ = _chunk(problem, jnp.asarray(tab["t"], dtype)[i], jnp.asarray(tab["valid"])[i], lo, hi, args,
                         out_shape, dtype)
        keep = jnp.asarray(tab["level"])[i] <= level
        return jnp.where(keep, add(raw, part.astype(out_dtype)), raw)

    zero = jnp.full(out_shape, -jnp.inf if problem.log else 0.0, out_dtype)
    raw = jax.lax.fori_loop(0, tab["t"].shape[0], body, zero)
    h = jnp.asarray(tab["h"], dtype)[level]
    return raw + jnp.log(h) if problem.log else raw * h


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _integrate(problem: _Problem, a, b, args, atol, rtol):
    state = _advance(problem, a, b, args, atol, rtol, _init(problem, a, b, args), problem.levels[1])
    return state["s"], state["error"], state["status"], state["nfev"], state["level"]


@_integrate.defjvp
def _integrate_jvp(problem, primals, tangents):
    out = _integrate(problem, *primals)
    a, b, args = primals[:3]
    s, level = out[0], out[4]
    _, ds = jax.jvp(lambda a, b, args: _replay(problem, a, b, args, level, s.dtype), (a, b, args), tangents[:3])
    zeros = [np.zeros(v.shape, jax.dtypes.float0) for v in out[2:]]
    return out, (ds, jnp.zeros_like(out[1]), *zeros)


def _solve(problem: _Problem, a, b, args, atol, rtol) -> TanhSinhResult:
    s, error, status, nfev, level = _integrate(problem, a, b, args, atol, rtol)
    return _result(problem, a, b, s, error, status, nfev, level)


def _result(problem, a, b, s, error, status, nfev, level) -> TanhSinhResult:
    sign = jnp.broadcast_to(a > b, s.shape)
    if problem.log:  # log|I| of a reversed interval is not real: NaN (the eager facade raises instead)
        integral = jnp.where(sign, jnp.nan, s)
    else:
        integral = jnp.where(jnp.broadcast_to(a == b, s.shape), 0.0, jnp.where(sign, -s, s))
    status = jnp.where(status == 1, -2, status)
    return TanhSinhResult(success=status == 0, status=status, integral=integral, error=error, nfev=nfev,
                          maxlevel=level)


def _with_callback(problem: _Problem, a, b, args, atol, rtol, callback) -> TanhSinhResult:
    """Eager calls with ``callback``: the compiled loop stops after each level for the callback."""
    state = _init(problem, a, b, args)
    minlevel, maxlevel = problem.levels
    for stop in range(minlevel, maxlevel + 1):
        state = _advance_jit(problem, a, b, args, atol, rtol, state, jnp.asarray(stop))
        fields = (state["s"], state["error"], state["status"], state["nfev"], state["level"])
        current = _result(problem, a, b, *fields)._replace(status=state["status"], success=state["status"] == 0)
        try:
            callback(current)
        except StopIteration:
            state["status"] = jnp.where(state["status"] == 1, -4, state["status"])
            break
        if not bool(jnp.any(state["status"] == 1)):
            break
    return _result(problem, a, b, state["s"], state["error"], state["status"], state["nfev"], state["level"])


_solve_jit = eqx.filter_jit(_solve)
_advance_jit = eqx.filter_jit(_advance)


def _check(name: str, value: Any, log: bool) -> None:
    v = np.asarray(value)
    if not log and (np.any(v < 0) or not np.all(np.isfinite(v))):
        raise ValueError(f"`{name}` must be non-negative and finite.")
    if log and np.any(np.isnan(v)):
        raise ValueError(f"`{name}` must not be NaN.")


def tanhsinh(f: Callable[..., Any], a: ArrayLike, b: ArrayLike, *, args: tuple = (), log: bool = False,
             maxlevel: int | None = None, minlevel: int | None = 2, atol: ArrayLike | None = None,
             rtol: ArrayLike | None = None, preserve_shape: bool = False,
             callback: Callable[[TanhSinhResult], Any] | None = None) -> TanhSinhResult:
    """Evaluate a convergent integral numerically using tanh-sinh quadrature (SciPy's ``tanhsinh``).

    Elementwise: ``a``, ``b`` and the arrays in ``args`` broadcast to one shape, and each element is an
    integral of its own with its own convergence, status and evaluation count. Either limit may be
    infinite; integrable singularities at the limits are fine.

    Parameters
    ----------
    f : callable
        ``f(x, *args)``, elementwise in ``x`` (which gets a trailing axis of abscissae; the arrays in
        ``args`` get a trailing axis of length 1), written with ``jax.numpy`` (a NumPy-written ``f``
        runs on the host in eager calls, with a warning).
    a, b : array_like
        Real limits, broadcastable; may be infinite. ``a > b`` gives the negated integral.
    args : tuple of array_like, optional
        Extra arrays for ``f``, broadcastable with ``a`` and ``b``; traced (differentiable).
    log : bool, optional
        ``f`` returns the log of a positive integrand; ``integral`` and ``error`` are logs, and
        ``atol``, ``rtol`` are given as logs.
    maxlevel : int, optional
        Last refinement level (default 10). Level 0 evaluates ``f`` at 17 nodes, each later level
        doubles the count.
    minlevel : int, optional
        First level at which convergence is checked (default 2).
    atol, rtol : float, optional
        Stop when ``error < atol`` or ``error < rtol * |integral|``; defaults 0 and ``eps**0.75``
        (logs: ``-inf`` and ``0.75 log(eps)``).
    preserve_shape : bool, optional
        Accepted for SciPy's signature: here ``f`` is always called with ``x`` of shape
        ``shape + (n,)``, and the result shape is ``f``'s output shape without its last axis,
        broadcast with ``shape``, so vector-valued integrands work either way.
    callback : callable, optional
        ``callback(res)`` after each level from ``minlevel`` on (status 1 for elements still running);
        ``StopIteration`` stops with status -4. Eager calls only.

    Returns
    -------
    TanhSinhResult
        ``success``, ``status`` (0 converged, -2 ``maxlevel`` reached, -3 non-finite value, -4 stopped
        by ``callback``), ``integral``, ``error`` (NaN before level 2), ``nfev``, ``maxlevel``.

    Differences from SciPy
    ----------------------
    - Level 0 has 17 nodes (``t_max / 8`` spacing, ``t_max`` where the weights underflow in the
      dtype), so ``nfev`` can differ from SciPy's by a few evaluations; integrals agree to the
      tolerance. The error estimate is Bailey et al.'s, as SciPy's documentation describes it.
    - Non-finite values of ``f`` at a node (for example at an interior singularity on a node) end that
      element with status -3; nodes that round onto a finite limit are skipped, as in SciPy.
    - ``maxlevel`` and ``minlevel`` are static (one compilation per value). Under ``vmap`` the loop
      runs until the slowest element has stopped (the others are frozen).
    - ``jax.grad``/``jax.jvp`` differentiate the quadrature sum that gave the result, with respect to
      ``args`` and finite limits (a derivative w.r.t. a limit where ``f`` is singular is not
      meaningful); the derivative pass evaluates ``f`` (and its derivative) at every node up to
      ``maxlevel``'s table, masked to each element's final level.
    - ``log=True`` supports real log-integrands with ``a <= b`` (a reversed interval has a
      complex log: eager calls raise, traced ones give NaN). ``callback`` works only eagerly.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.solvers.integrate import tanhsinh
    >>> res = tanhsinh(lambda x: jnp.exp(-x**2), -jnp.inf, jnp.inf)
    >>> bool(abs(res.integral - jnp.sqrt(jnp.pi)) < 1e-14), bool(res.success)
    (True, True)
    >>> grad = jax.grad(lambda c: tanhsinh(lambda x, c: jnp.exp(-c * x), 0.0, 1.0, args=(c,)).integral)
    >>> round(float(grad(1.0)), 8)  # d/dc of (1 - exp(-c)) / c at c = 1
    -0.26424112
    """
    if not callable(f):
        raise TypeError("`f` must be callable.")
    for name, flag in (("log", log), ("preserve_shape", preserve_shape)):
        if not isinstance(flag, bool | np.bool_):
            raise ValueError(f"`{name}` must be True or False.")
    maxlevel = 10 if maxlevel is None else maxlevel
    minlevel = 0 if minlevel is None else minlevel
    for name, level in (("maxlevel", maxlevel), ("minlevel", minlevel)):
        if not isinstance(level, int | np.integer) or isinstance(level, bool) or level < 0:
            raise ValueError(f"`{name}` must be a non-negative integer.")
    minlevel = min(int(minlevel), int(maxlevel))
    if callback is not None and not callable(callback):
        raise ValueError("`callback` must be callable.")
    if not isinstance(args, tuple):
        args = (args,)
    a, b = jnp.asarray(a), jnp.asarray(b)
    if jnp.iscomplexobj(a) or jnp.iscomplexobj(b):
        raise ValueError("`a` and `b` must be real numbers.")
    dtype = jnp.result_type(a, b, float)
    args = tuple(jnp.asarray(x) for x in args)
    shape = jnp.broadcast_shapes(a.shape, b.shape, *(x.shape for x in args))
    a, b = jnp.broadcast_to(a.astype(dtype), shape), jnp.broadcast_to(b.astype(dtype), shape)
    args = tuple(jnp.broadcast_to(x, shape) for x in args)
    eps = float(jnp.finfo(dtype).eps)
    if atol is None:
        atol = -np.inf if log else 0.0
    if rtol is None:
        rtol = 0.75 * math.log(eps) if log else eps**0.75
    concrete = not any(isinstance(v, Tracer) for v in (a, b, atol, rtol))
    if concrete:
        _check("atol", atol, log)
        _check("rtol", rtol, log)
        if np.any(np.isnan(np.asarray(a))) or np.any(np.isnan(np.asarray(b))):
            raise ValueError("`a` and `b` must not be NaN.")
        if log and np.any(np.asarray(a) > np.asarray(b)):
            raise ValueError("`log=True` needs `a <= b` (the log of a negative integral is complex).")
    example = (jnp.zeros(shape + (2 * _BASE_NODES + 1,), dtype), *(x[..., None] for x in args))
    f = prepare(f, example, solver="tanhsinh", role="f", context=(a, b))
    problem = _Problem(f, bool(log), (minlevel, int(maxlevel)))
    atol, rtol = jnp.asarray(atol, dtype), jnp.asarray(rtol, dtype)
    if callback is not None:
        if not concrete:
            raise ValueError("`callback` is supported only in eager calls (outside jit/vmap/grad).")
        return _with_callback(problem, a, b, args, atol, rtol, callback)
    return _solve_jit(problem, a, b, args, atol, rtol)
