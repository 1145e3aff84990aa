"""``scipy.optimize.shgo``: simplicial homology global optimisation with batched sampling and local searches."""

import functools
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from ..._concrete import is_concrete
from ._constraints import LinearConstraint, NonlinearConstraint
from ._direct import _bounds
from ._minimize import minimize
from ._objective import prepare_args
from ._result import OptimizeResult
from ._solvers.shgo import graph_minimisers, grid_level, grid_minimisers, qmc_points

__all__ = ["shgo"]

_OPTIONS = {"maxfev", "f_min", "f_tol", "maxiter", "maxev", "maxtime", "minhgrd", "symmetry", "jac", "hess",
            "hessp", "minimize_every_iter", "local_iter", "infty_constraints", "disp"}
_BOUNDED = ("l-bfgs-b", "tnc", "slsqp", "powell", "nelder-mead", "trust-constr", "cobyla", "cobyqa")
_MAX_POINTS = 2_000_000  # the complex stops growing here, whatever the stopping options
_NO_FEASIBLE = "Failed to find a feasible minimizer point. Lowest sampling point = None"


class ShgoResult(OptimizeResult):
    """:class:`OptimizeResult` with SHGO's extra fields (local minima and local-search counts)."""

    xl: Any = None
    funl: Any = None
    nlfev: Any = None
    nljev: Any = None
    nlhev: Any = None
    tnev: Any = None
    messages: tuple[str, ...] = eqx.field(static=True, default=("Optimization terminated successfully.",
                                                                 _NO_FEASIBLE))


def _ineq_functions(constraints: Any) -> tuple[list[Callable], list[Any]]:
    """Inequality functions ``g(x) >= 0`` for the sampling test, and constraints for ``minimize``."""
    if constraints is None:
        return [], []
    items = list(constraints) if isinstance(constraints, (list, tuple)) else [constraints]
    ineq: list[Callable] = []
    for c in items:
        if isinstance(c, dict):
            if c.get("type") not in ("ineq", "eq") or not callable(c.get("fun")):
                raise ValueError("`constraints` dicts need 'type' ('eq' or 'ineq') and a callable 'fun'.")
            if c["type"] == "ineq":
                a = tuple(c.get("args", ()))
                ineq.append(lambda x, f=c["fun"], a=a: jnp.ravel(jnp.asarray(f(x, *a))))
        elif isinstance(c, NonlinearConstraint):
            lo, hi = np.asarray(c.lb, float), np.asarray(c.ub, float)
            if not np.all(lo == hi):  # equality rows only go to the local search, as for dicts
                ineq.append(lambda x, f=c.fun, lo=lo, hi=hi: _two_sided(jnp.ravel(jnp.asarray(f(x))), lo, hi))
        elif isinstance(c, LinearConstraint):
            A, lo, hi = np.atleast_2d(np.asarray(c.A, float)), np.asarray(c.lb, float), np.asarray(c.ub, float)
            ineq.append(lambda x, A=A, lo=lo, hi=hi: _two_sided(jnp.asarray(A) @ x, lo, hi))
        else:
            raise ValueError("`constraints` must be dicts, NonlinearConstraint or LinearConstraint objects.")
    return ineq, items


def _two_sided(v: Any, lo: np.ndarray, hi: np.ndarray) -> Any:
    lo, hi = np.broadcast_to(lo, v.shape), np.broadcast_to(hi, v.shape)
    return jnp.concatenate([jnp.where(np.isfinite(lo), v - jnp.nan_to_num(lo), 1.0),
                            jnp.where(np.isfinite(hi), jnp.nan_to_num(hi) - v, 1.0)])


@functools.lru_cache(maxsize=16)
def _sampler(func: Callable, ineq: tuple, lo: tuple, width: tuple, dtype: Any) -> Callable:
    """Compiled batch evaluation of the objective and the feasibility test at unit-cube points."""
    lo_, w = np.asarray(lo), np.asarray(width)

    @jax.jit
    def batch(u, a, tol=0.0):
        def one(z):
            x = jnp.asarray(lo_ + z * w, dtype)
            ok = jnp.array(True)
            for g in ineq:
                ok &= jnp.all(g(x) >= -tol)
            out = func(x, *a)
            return jnp.asarray(out[0] if isinstance(out, tuple) else out).reshape(()), ok
        return jax.vmap(one)(u)

    return batch


@functools.lru_cache(maxsize=16)
def _local(func: Callable, lb: tuple, ub: tuple, method: str, cons: tuple, kw: tuple, dtype: Any) -> Callable:
    """Compiled, vmapped local minimisation of every pool point."""
    extra = dict(kw)
    if method.lower() in _BOUNDED:  # as SciPy: the box goes to the methods that take bounds
        extra["bounds"] = list(zip(lb, ub, strict=True))
    if "options" in extra:
        extra["options"] = dict(extra["options"])
    if cons:
        extra["constraints"] = list(cons)

    @jax.jit
    def run(x0s, a):
        def one(x0):
            r = minimize(func, jnp.asarray(x0, dtype), args=a, method=method, **extra)
            zero = jnp.asarray(0, jnp.int32)
            return (r.x, r.fun, r.success, jnp.asarray(r.nfev), jnp.asarray(zero if r.njev is None else r.njev),
                    jnp.asarray(zero if r.nhev is None else r.nhev))
        return jax.vmap(one)(x0s)

    return run


def _cached(factory: Callable, *key: Any) -> Callable:
    try:
        return factory(*key)
    except TypeError:  # an unhashable piece: compile for this call only
        return factory.__wrapped__(*key)


def _pad(points: np.ndarray) -> np.ndarray:
    m = points.shape[0]
    size = 1 << max(0, (m - 1).bit_length())  # a power of two: few compilations
    return np.concatenate([points, np.repeat(points[:1], size - m, axis=0)])


def shgo(
    func: Callable[..., ArrayLike],
    bounds: Any,
    args: tuple = (),
    constraints: Any = None,
    n: int = 100,
    iters: int = 1,
    callback: Callable | None = None,
    minimizer_kwargs: dict | None = None,
    options: dict | None = None,
    sampling_method: str = "simplicial",
    *,
    workers: int = 1,
) -> OptimizeResult:
    """Find the global minimum of a function by simplicial homology global optimisation (SHGO).

    Mirrors :func:`scipy.optimize.shgo` (Endres, Fock & Pogorzelski 2018). The box is sampled
    (a simplicial complex, or Sobol or Halton points joined by their Delaunay triangulation); a
    sample point that is feasible, finite and strictly lower than all its neighbours in the complex
    enters the minimiser pool (the complex's star-domain local minimisers), and every pool point is
    polished by :func:`minimize` (SLSQP with ``constraints``, L-BFGS-B otherwise, within ``bounds``).
    Each iteration's new sample points are evaluated as one ``jax.vmap``-batched compiled call, and
    the pool's local minimisations run as one vmapped compiled call.

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float``, written in JAX, ``x`` of shape ``(N,)``.
    bounds : sequence of (min, max) pairs or Bounds
        Finite bounds, ``min < max``. A float32 ``Bounds``/array gives a float32 search.
    args : tuple, optional
        Extra arguments of ``func`` (concrete values).
    constraints : dict, NonlinearConstraint, LinearConstraint or a sequence of them, optional
        Inequality constraints (``'ineq'`` dicts, two-sided constraint objects) decide which sample
        points are feasible; all constraints go to the local SLSQP searches.
    n : int, optional
        Sample points per iteration for ``'sobol'`` (rounded up to a power of two) and ``'halton'``;
        for ``'simplicial'`` the first iteration has ``2^N + 1`` points (corners and centre) when
        ``n`` is the default 100, else the first grid level with at least ``n`` points.
    iters : int, optional
        Number of iterations (refinements of the complex, or batches of ``n`` more points).
    callback : callable, optional
        ``callback(xk)`` with the lowest sampled point after every iteration.
    minimizer_kwargs : dict, optional
        Keyword arguments of :func:`minimize` (``method``, ``options``, ``jac``, ``hess``, ...).
    options : dict, optional
        ``maxfev``, ``maxev`` (sample evaluations, counted with or without the infeasible points),
        ``maxiter``, ``maxtime`` (seconds, checked between iterations), ``f_min`` with ``f_tol``
        (relative, absolute when ``f_min == 0``), ``minhgrd`` (stop once the pool size stayed the
        same for that many iterations): when any is given, iterations continue until one is met
        (or the complex reaches two million points).
        ``jac``/``hess``/``hessp`` go to :func:`minimize`; ``minimize_every_iter`` (default True),
        ``local_iter`` (only the lowest that many new pool points are polished per iteration),
        ``infty_constraints`` (default True; False drops infeasible sample points before a Delaunay
        triangulation), ``disp``. ``symmetry`` raises NotImplementedError.
    sampling_method : {'simplicial', 'sobol', 'halton'}, optional
        The sampling; a callable ``sampling_method(n, d)`` returning unit-cube points is accepted.
    workers : int, optional
        Only 1: batches come from ``jax.vmap``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun`` (the lowest local minimum), ``xl``, ``funl`` (all distinct local minima,
        ascending), ``success``, ``message``, ``nfev`` (feasible sample evaluations plus ``nlfev``),
        ``nlfev``, ``nljev``, ``nlhev`` (local searches), ``nit``, ``tnev`` (every sample point).

    Differences from SciPy
    ----------------------
    - An eager Python loop over iterations with host-side NumPy bookkeeping (the complex grows
      without a size known in advance), like :func:`direct`: ``shgo`` does not run under
      ``jax.jit``, ``jax.vmap`` or ``jax.grad`` (traced ``args`` raise a TypeError). ``x`` is a
      sampled point polished by a local search; no derivative is propagated through it.
    - ``'simplicial'`` refines a regular Freudenthal triangulation (each level halves the spacing)
      instead of SciPy's incremental refinement of selected simplices, so from the second
      iteration on the sample points differ from SciPy's; the first iteration is SciPy's (corners
      and centre); a level re-evaluates the previous level's points in its batch (``nfev`` and
      ``tnev`` count each point once).
    - The Sobol (unscrambled) and Halton (scrambled, seed 0) points are the ones SciPy draws in two
      dimensions; in five, SciPy's Sobol sample is not the sequence's first ``n`` points (ours,
      which holds the box centre, is), so pools and results can differ there. Pool neighbours come
      from a Delaunay triangulation; later iterations add the sequence's next ``n`` points.
    - Local searches use scijax's :func:`minimize` with automatic derivatives: ``nlfev``/``nljev``
      count its evaluations (fewer than SciPy's finite differences). Local minima closer than
      ``1e-6`` (relative to the box) are merged in ``xl``. Infeasible sample points are evaluated in
      the batch but not counted in ``nfev``.
    - Without a feasible finite sample point ``x`` and ``fun`` are NaN (SciPy: None) and
      ``success`` is False with SciPy's message. ``symmetry`` is not implemented.

    Examples
    --------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import shgo
    >>> res = shgo(lambda x: (x[0] - 1.0) ** 2 + (x[1] + 0.5) ** 2, [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 6) for v in res.x], round(float(res.fun), 9), bool(res.success)
    ([1.0, -0.5], 0.0, True)
    """
    lb, ub = _bounds(bounds)
    d = lb.size
    given_lb = getattr(bounds, "lb", bounds)
    dtype = jnp.dtype(jnp.float32) if np.asarray(given_lb).dtype == np.float32 else jnp.asarray(0.0).dtype
    for name, value, low in (("n", n, 1), ("iters", iters, 1), ("workers", workers, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"`{name}` must be an int >= {low}; got {value!r}.")
    if workers != 1:
        raise ValueError("`workers` must be 1: shgo batches its evaluations with jax.vmap.")
    if not (callable(sampling_method) or sampling_method in ("simplicial", "sobol", "halton")):
        raise ValueError(f"`sampling_method` must be 'simplicial', 'sobol', 'halton' or a callable; "
                         f"got {sampling_method!r}.")
    if not callable(func):
        raise TypeError("`func` must be callable.")
    opts = dict(options or {})
    unknown = set(opts) - _OPTIONS
    if unknown:
        raise ValueError(f"Unknown `options` for shgo: {sorted(unknown)}.")
    if opts.get("symmetry"):
        raise NotImplementedError("shgo `options['symmetry']` is not implemented.")
    args_t = prepare_args(args)
    if not is_concrete(args_t):
        raise TypeError("`args` of shgo must be concrete: shgo runs an eager loop over iterations and cannot "
                        "be traced by jax.jit, jax.vmap or jax.grad.")
    ineq, cons = _ineq_functions(constraints)
    mk = dict(minimizer_kwargs or {})
    method = str(mk.pop("method", "SLSQP" if cons else "L-BFGS-B"))
    mk.pop("bounds", None)
    mk.pop("args", None)
    if cons:
        mk.pop("constraints", None)
    for key in ("jac", "hess", "hessp"):
        if key in opts and key not in mk:
            mk[key] = opts[key]
    if "options" in mk:  # hashable, for the compiled-search cache
        mk["options"] = tuple(sorted(dict(mk["options"]).items()))
    stops = {k: opts[k] for k in ("maxfev", "f_min", "maxiter", "maxev", "maxtime", "minhgrd") if k in opts}
    f_tol = float(opts.get("f_tol", 1e-4))
    every = bool(opts.get("minimize_every_iter", True))
    local_iter = opts.get("local_iter", False)
    keep_infeasible = bool(opts.get("infty_constraints", True))
    lo_t, w_t = tuple(lb.tolist()), tuple((ub - lb).tolist())
    sample = _cached(_sampler, func, tuple(ineq), lo_t, w_t, dtype)
    local = _cached(_local, func, lo_t, tuple(ub.tolist()), method, tuple(cons), tuple(mk.items()), dtype)

    start = time.monotonic()
    pts = np.zeros((0, d))
    vals = np.zeros(0)
    feas = np.zeros(0, bool)
    minima: dict[tuple, tuple[np.ndarray, float]] = {}
    polished: set[tuple] = set()
    counts = dict(nlfev=0, nljev=0, nlhev=0)
    nit, level, prev_pool, same = 0, 0, -1, 0
    pool_idx = np.zeros(0, int)

    def polish(idx: np.ndarray) -> None:
        todo = [i for i in idx[np.argsort(vals[idx], kind="stable")] if tuple(pts[i]) not in polished]
        if local_iter:
            todo = todo[:int(local_iter)]
        if not todo:
            return
        x0 = lb + pts[todo] * (ub - lb)
        xs, fs, _, nf, nj, nh = local(jnp.asarray(_pad(x0), dtype), args_t)
        m = len(todo)
        xs, fs = np.asarray(xs)[:m], np.asarray(fs)[:m]
        counts["nlfev"] += int(np.sum(np.asarray(nf)[:m]))
        counts["nljev"] += int(np.sum(np.asarray(nj)[:m]))
        counts["nlhev"] += int(np.sum(np.asarray(nh)[:m]))
        scale = 1e-6 * np.max(ub - lb)
        feasible = np.ones(m, bool)
        if ineq:  # a local minimum must satisfy the sampling's constraints (to 1e-6, SLSQP's accuracy)
            feasible = np.asarray(sample(jnp.asarray(_pad((xs - lb) / (ub - lb))), args_t, 1e-6)[1])[:m]
        for i, x, f, ok in zip(todo, xs, fs, feasible, strict=True):
            polished.add(tuple(pts[i]))
            if not (ok and np.all(np.isfinite(x)) and np.isfinite(f)):
                continue
            if not any(np.max(np.abs(x - y)) <= scale for y, _ in minima.values()):
                minima[tuple(x)] = (x, float(f))

    while True:
        nit += 1
        if callable(sampling_method) or sampling_method != "simplicial":
            total = n * nit
            if callable(sampling_method):
                new_all = np.asarray(sampling_method(total, d), float).reshape(-1, d)
            else:
                new_all = qmc_points(sampling_method, d, total)
            new, shape = new_all[pts.shape[0]:], None
        else:  # each level contains the previous one's points (re-evaluated in the batch)
            if nit > 1 and (2 ** level + 1) ** d > _MAX_POINTS:
                nit -= 1
                break
            level += 1
            new, shape = grid_level(d, level)
            while nit == 1 and new.shape[0] < (2 ** d + 1 if n == 100 else n):
                level += 1
                new, shape = grid_level(d, level)
            pts, vals, feas = np.zeros((0, d)), np.zeros(0), np.zeros(0, bool)
        fv, ok = sample(jnp.asarray(_pad(new)), args_t) if new.shape[0] else (np.zeros(0), np.zeros(0, bool))
        fv, ok = np.asarray(fv, float)[:new.shape[0]], np.asarray(ok, bool)[:new.shape[0]]
        pts, vals, feas = np.vstack([pts, new]), np.concatenate([vals, fv]), np.concatenate([feas, ok])
        masked = np.where(feas & np.isfinite(vals), vals, np.inf)
        if sampling_method == "simplicial":
            pool_idx = grid_minimisers(masked, shape)
        elif keep_infeasible:
            pool_idx = graph_minimisers(pts, masked)
        else:
            keep = np.flatnonzero(feas)
            pool_idx = keep[graph_minimisers(pts[keep], masked[keep])]
        if every:
            polish(pool_idx)
        if callback is not None and np.any(np.isfinite(masked)):
            callback(lb + pts[int(np.argmin(masked))] * (ub - lb))
        same = same + 1 if pool_idx.size == prev_pool else 0
        prev_pool = pool_idx.size
        nfev_s = int(np.sum(feas))
        best = min((f for _, f in minima.values()), default=float(np.min(masked)) if masked.size else np.inf)
        if not stops:
            if nit >= iters:
                break
            continue
        f_min = stops.get("f_min")
        if f_min is not None and np.isfinite(best):
            gap = best - f_min if f_min == 0 else (best - f_min) / abs(f_min)
            if gap <= f_tol:
                break
        if ("maxfev" in stops and nfev_s + counts["nlfev"] >= stops["maxfev"]) or \
           ("maxev" in stops and (pts.shape[0] if keep_infeasible else nfev_s) >= stops["maxev"]) or \
           ("maxiter" in stops and nit >= stops["maxiter"]) or \
           ("maxtime" in stops and time.monotonic() - start >= stops["maxtime"]) or \
           ("minhgrd" in stops and same >= stops["minhgrd"]) or pts.shape[0] > _MAX_POINTS:
            break
    if not every:
        polish(pool_idx)

    tnev = int(pts.shape[0])
    nfev = int(np.sum(feas)) + counts["nlfev"]
    if minima:
        order = sorted(minima.values(), key=lambda p: p[1])
        xl = np.array([p[0] for p in order])
        funl = np.array([p[1] for p in order])
        x, fun, success, message = xl[0], funl[0], True, "Optimization terminated successfully."
    else:
        xl, funl = np.zeros((0, d)), np.zeros(0)
        x, fun, success, message = np.full(d, np.nan), np.nan, False, _NO_FEASIBLE
    if opts.get("disp"):
        print(f"shgo: {message} fun={fun} nit={nit} nfev={nfev} pool={pool_idx.size}")
    return ShgoResult(x=jnp.asarray(x, dtype), fun=jnp.asarray(fun, dtype), xl=jnp.asarray(xl, dtype),
                      funl=jnp.asarray(funl, dtype), success=jnp.asarray(success),
                      status=jnp.asarray(0 if success else 1, jnp.int32), nfev=nfev, nlfev=counts["nlfev"],
                      nljev=counts["nljev"], nlhev=counts["nlhev"], nit=nit, tnev=tnev)
