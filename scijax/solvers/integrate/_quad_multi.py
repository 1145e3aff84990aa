"""Iterated adaptive quadrature: ``dblquad``, ``tplquad`` and ``nquad``, built on :func:`quad`.

Each dimension is one adaptive Gauss-Kronrod :func:`quad`; the inner integrals are evaluated at
the outer rule's nodes as one ``vmap``-batched call, so the whole iterated integral is one
compiled program (``jit``, ``vmap`` and ``grad`` with respect to ``args`` and to constant limits
pass through ``quad``'s own rules).
"""

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike
from scipy.integrate import IntegrationWarning

from ..._eager import in_eager_context
from .._userfn import prepare
from ._quad import quad
from ._quad_adaptive import map_t, t_of_x
from ._quad_rules import RULES

__all__ = ["dblquad", "tplquad", "nquad"]

_QUAD_OPTIONS = frozenset({"epsabs", "epsrel", "limit", "points"})


def _as_limit(value: Any, name: str) -> Callable[..., Any]:
    if callable(value):
        return value
    if not _is_scalar(value):
        raise ValueError(f"`{name}` must be a number or a callable; got {value!r}.")
    return lambda *_: value


def _is_scalar(value: Any) -> bool:
    """A real scalar, possibly traced (limits may be differentiated)."""
    try:
        return jnp.ndim(value) == 0 and not jnp.iscomplexobj(value) and jnp.asarray(value).dtype != bool
    except (TypeError, ValueError):
        return False


def _check_opts(opts: Any, n: int) -> list[Any]:
    if opts is None:
        return [{}] * n
    if isinstance(opts, dict) or callable(opts):
        opts = [opts] * n
    opts = list(opts)
    if len(opts) != n:
        raise ValueError(f"`opts` must be a dict, a callable, or a sequence of {n} of them; got {len(opts)}.")
    for i, o in enumerate(opts):
        if isinstance(o, dict):
            unknown = set(o) - _QUAD_OPTIONS
            if unknown:
                raise ValueError(f"`opts[{i}]` has options that scijax's quad does not take: {sorted(unknown)}.")
        elif not callable(o):
            raise ValueError(f"`opts[{i}]` must be a dict or a callable; got {type(o).__name__}.")
    return opts


def _example_point(rng: Any) -> Any:
    """A point inside ``rng`` (its middle, a finite end, or 0) to show a user function."""
    try:
        lo, hi = (float(v) for v in rng)
    except (TypeError, ValueError):  # traced limits
        return 0.0
    finite = [v for v in (lo, hi) if abs(v) != float("inf")]
    return (lo + hi) / 2 if len(finite) == 2 else (finite[0] if finite else 0.0)


def _host_ready(func: Callable, ranges: list, extra: tuple) -> tuple[Callable, list]:
    """``func`` and callable ``ranges`` checked by the host-function path (NumPy-written functions run
    on the host in an eager call; under jit/vmap/grad they raise ``NotTraceableError``)."""
    n = len(ranges)
    points: list = [0.0] * n
    for i in reversed(range(n)):  # outermost first: inner ranges may depend on outer variables
        rng = ranges[i]
        if callable(rng):
            outer = tuple(points[i + 1:])
            rng = prepare(rng, outer + extra, solver="nquad", role=f"ranges[{i}]", closures=False,
                          context=extra)
            ranges[i] = rng
            try:
                points[i] = _example_point(rng(*outer, *extra))
            except Exception:  # noqa: BLE001 - only an example point; the solve reports real errors
                points[i] = 0.0
        else:
            points[i] = _example_point(rng)
    fixed = [r for r in ranges if not callable(r)]
    func = prepare(func, tuple(points) + extra, solver="nquad", role="func", closures=False,
                   context=(extra, fixed))
    return func, ranges


def nquad(func: Callable[..., ArrayLike], ranges: Sequence[Any], args: Any = None, opts: Any = None,
          full_output: bool = False) -> tuple:
    """Integrate over several variables; mirrors :func:`scipy.integrate.nquad`.

    Parameters
    ----------
    func : callable
        ``func(x0, x1, ..., xn, *args) -> float``, written in JAX; ``x0`` is integrated innermost.
    ranges : sequence
        One entry per variable, innermost first: a ``(low, high)`` pair or a callable
        ``ranges[i](x_{i+1}, ..., xn, *args) -> (low, high)`` of the outer variables.
    args : tuple, optional
        Extra arguments of ``func`` (and of callable ranges and opts).
    opts : dict, callable or sequence of them, optional
        :func:`quad` options per level (``epsabs``, ``epsrel``, ``limit``, ``points``); a callable
        receives the outer variables and ``args`` as ``ranges`` does.
    full_output : bool, optional
        Also return ``out_dict`` with ``neval``, the total number of integrand evaluations (eager
        calls only).

    Returns
    -------
    result : float
        The integral.
    abserr : float
        The outermost :func:`quad`'s error estimate (as in SciPy).
    out_dict : dict, with ``full_output``
        ``{'neval': n}``: the sum of the innermost :func:`quad` calls' ``neval``, as SciPy counts.

    Differences from SciPy
    ----------------------
    - ``full_output=True`` works in eager calls only (a ``ValueError`` naming it under
      ``jit``/``vmap``/``grad``): the inner integrals run batched inside the outer rule and their
      counts are not carried out of it, so after the integral the inner levels are run again at
      every node the outer levels evaluated (rebuilt from the final partitions) to count their
      evaluations. That roughly doubles the cost of the call. Counts follow our adaptive rule
      (global bisection, GK21), so they match SciPy's only where QUADPACK takes the same steps.
    - ``opts`` takes the options scijax's :func:`quad` supports; weights raise ``ValueError``.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import nquad
    >>> val, err = nquad(lambda x, y, c: c * x * y, [lambda y, c: (0.0, y), (0.0, 1.0)], args=(2.0,))
    >>> round(float(val), 12)  # int_0^1 int_0^y 2 x y dx dy = 1/4
    0.25
    """
    try:
        ranges = list(ranges)
    except TypeError:
        raise ValueError("`ranges` must be a sequence with one (low, high) pair or callable per variable.") from None
    n = len(ranges)
    if n == 0:
        raise ValueError("`ranges` must not be empty.")
    for i, r in enumerate(ranges):
        if not callable(r):
            try:
                lo, hi = r
            except (TypeError, ValueError):
                lo = hi = None
            if not (_is_scalar(lo) and _is_scalar(hi)):
                raise ValueError(f"`ranges[{i}]` must be a (low, high) pair or a callable; got {r!r}.")
    opts_list = _check_opts(opts, n)
    extra = () if args is None else (tuple(args) if isinstance(args, (tuple, list)) else (args,))
    func, ranges = _host_ready(func, ranges, extra)

    def make_integrand(i: int) -> Callable:
        k = n - 1 - i  # outer variables of level i

        # Outer variables and args reach the integrand through quad's `args`, never by closure,
        # so quad's derivative rules see them (they may be traced). One function object per level,
        # so the level's quad compiles once however often it is called.
        def integrand(xi, *packed):
            o, p = packed[:k], packed[k:]
            if i == 0:
                return func(xi, *o, *p)
            return level(i - 1, (xi, *o), p)[0]

        return integrand

    integrands = [make_integrand(i) for i in range(n)]

    def level(i: int, outer: tuple, params: tuple, full: int = 0) -> tuple:
        rng = ranges[i](*outer, *params) if callable(ranges[i]) else ranges[i]
        opt = opts_list[i](*outer, *params) if callable(opts_list[i]) else opts_list[i]
        lo, hi = rng
        return quad(integrands[i], lo, hi, args=(*outer, *params), full_output=full, **opt)

    if not full_output:
        return level(n - 1, (), extra)
    if not in_eager_context((ranges, extra)):
        raise ValueError("`full_output=True` needs an eager call (outside jit/vmap/grad): the evaluation "
                         "count is rebuilt on the host after the integral.")
    out = level(n - 1, (), extra, 1)

    def count(i: int, outer: tuple, info: dict | None = None) -> int:
        """Innermost evaluations of level ``i`` at the outer point ``outer`` (``info``: its quad's)."""
        if info is None:
            info = level(i, outer, extra, 1)[2]
        if i == 0:
            return int(info["neval"])
        rng = ranges[i](*outer, *extra) if callable(ranges[i]) else ranges[i]
        opt = opts_list[i](*outer, *extra) if callable(opts_list[i]) else opts_list[i]
        nodes = _evaluated_nodes(info, *(jnp.asarray(v, _float_dtype(v)) for v in rng), opt.get("points"))
        # Eager calls, one per node; each level's quad compiles once (its integrand is one object).
        return sum(count(i - 1, (x, *outer)) for x in nodes)

    total = count(n - 1, (), out[2])
    if len(out) == 4:  # ier > 0: warn as quad does without full_output
        warnings.warn(str(out[3]), IntegrationWarning, stacklevel=2)
    return out[0], out[1], {"neval": total}


def _float_dtype(v: Any) -> Any:
    return jnp.result_type(jnp.asarray(v).dtype, float)


def _evaluated_nodes(info: dict, a: Array, b: Array, points: Any) -> Array:
    """Every node at which a :func:`quad` call evaluated its integrand, rebuilt from its final partition.

    The engine bisects in ``t`` (``[0, 1]``, mapped to ``[a, b]``; see ``_quad_adaptive``), starting from
    the break points, so each final interval is a dyadic piece ``j / 2**d`` of one initial interval; the
    evaluated intervals are the final ones and all their ancestors, each at the rule's 21 nodes.
    """
    last = int(info["last"])
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    finite = bool(jnp.isfinite(lo) & jnp.isfinite(hi))
    alist, blist = np.asarray(info["alist"])[:last], np.asarray(info["blist"])[:last]
    if finite:  # quad reports x; back to t
        width = float(hi - lo) or 1.0
        alist, blist = (alist - float(lo)) / width, (blist - float(lo)) / width
    edges = np.zeros(1)
    if points is not None and np.size(points):
        edges = np.concatenate([edges, np.sort(np.asarray(t_of_x(jnp.asarray(points, lo.dtype), a, b)))])
    edges = np.append(edges, 1.0)
    seen: set[tuple[int, int, int]] = set()
    for t0, t1 in zip(alist, blist, strict=True):
        r = int(np.clip(np.searchsorted(edges, (t0 + t1) / 2) - 1, 0, len(edges) - 2))
        rw = edges[r + 1] - edges[r]
        d = max(int(round(-np.log2(max((t1 - t0) / rw, 2.0**-60)))), 0)
        j = int(round((t0 - edges[r]) / rw * 2**d))
        for up in range(d + 1):  # the interval and its ancestors
            seen.add((r, d - up, j >> up))
    keys = np.array(sorted(seen), dtype=float).reshape(-1, 3)
    r, d, j = keys[:, 0].astype(int), keys[:, 1], keys[:, 2]
    w = (edges[r + 1] - edges[r]) / 2.0**d
    t_lo = edges[r] + w * j
    nodes = np.asarray(RULES["gk21"].nodes)
    t = (t_lo + w / 2)[:, None] + (w / 2)[:, None] * nodes[None, :]
    return map_t(jnp.asarray(t.reshape(-1), lo.dtype), a, b)[0]


def dblquad(func: Callable[..., ArrayLike], a: ArrayLike, b: ArrayLike, gfun: Any, hfun: Any, args: Any = (),
            epsabs: float = 1.49e-8, epsrel: float = 1.49e-8) -> tuple:
    """Double integral ``int_a^b int_{gfun(x)}^{hfun(x)} func(y, x) dy dx``; mirrors :func:`scipy.integrate.dblquad`.

    Parameters
    ----------
    func : callable
        ``func(y, x, *args) -> float``, written in JAX (``y`` is the inner variable).
    a, b : float
        Limits of ``x``.
    gfun, hfun : callable or float
        Lower and upper limits of ``y``, as functions of ``x`` or constants.
    args : tuple, optional
        Extra arguments of ``func``.
    epsabs, epsrel : float, optional
        Tolerances of each :func:`quad` level.

    Returns
    -------
    y : float
        The integral.
    abserr : float
        The outer integral's error estimate.

    Differences from SciPy
    ----------------------
    As :func:`nquad`: the inner integrals are batched over the outer rule's nodes.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> from scijax.solvers.integrate import dblquad
    >>> val, err = dblquad(lambda y, x: x * y**2, 0.0, 2.0, 0.0, 1.0)
    >>> round(float(val), 12)  # int_0^2 int_0^1 x y^2 dy dx = 2/3
    0.666666666667
    """
    g, h = _as_limit(gfun, "gfun"), _as_limit(hfun, "hfun")
    opts = {"epsabs": epsabs, "epsrel": epsrel}
    extra = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    return nquad(func, [lambda x, *_: (g(x), h(x)), (a, b)], args=extra, opts=opts)


def tplquad(func: Callable[..., ArrayLike], a: ArrayLike, b: ArrayLike, gfun: Any, hfun: Any, qfun: Any,
            rfun: Any, args: Any = (), epsabs: float = 1.49e-8, epsrel: float = 1.49e-8) -> tuple:
    """Triple integral of ``func(z, y, x)``; mirrors :func:`scipy.integrate.tplquad`.

    ``x`` runs from ``a`` to ``b``, ``y`` from ``gfun(x)`` to ``hfun(x)``, and ``z`` from
    ``qfun(x, y)`` to ``rfun(x, y)``; limits may be constants.

    Parameters
    ----------
    func : callable
        ``func(z, y, x, *args) -> float``, written in JAX.
    a, b : float
        Limits of ``x``.
    gfun, hfun : callable or float
        Limits of ``y`` as functions of ``x``.
    qfun, rfun : callable or float
        Limits of ``z`` as functions of ``(x, y)``.
    args : tuple, optional
        Extra arguments of ``func``.
    epsabs, epsrel : float, optional
        Tolerances of each :func:`quad` level.

    Returns
    -------
    y : float
        The integral.
    abserr : float
        The outer integral's error estimate.

    Differences from SciPy
    ----------------------
    As :func:`nquad`.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> from scijax.solvers.integrate import tplquad
    >>> val, err = tplquad(lambda z, y, x: x * y * z, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0)
    >>> round(float(val), 12)
    0.125
    """
    g, h = _as_limit(gfun, "gfun"), _as_limit(hfun, "hfun")
    q, r = _as_limit(qfun, "qfun"), _as_limit(rfun, "rfun")
    opts = {"epsabs": epsabs, "epsrel": epsrel}
    extra = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    ranges = [lambda y, x, *_: (q(x, y), r(x, y)), lambda x, *_: (g(x), h(x)), (a, b)]
    return nquad(func, ranges, args=extra, opts=opts)
