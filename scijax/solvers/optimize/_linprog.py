"""``linprog``: SciPy's linear-programming facade over our interior-point engine."""

import warnings
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike
from scipy.optimize import OptimizeWarning

from ._lp_form import _is_concrete as is_concrete
from ._lp_form import check_lp_inputs, lp_solve, parse_lp_bounds
from ._lp_result import LinprogResult, LPMarginals

__all__ = ["linprog", "LINPROG_METHODS"]

LINPROG_METHODS: dict[str, str] = {
    "highs": "homogeneous interior point (Mehrotra predictor-corrector)",
    "highs-ds": "homogeneous interior point (Mehrotra predictor-corrector)",
    "highs-ipm": "homogeneous interior point (Mehrotra predictor-corrector)",
    "interior-point": "homogeneous interior point (Mehrotra predictor-corrector)",
    "revised simplex": "homogeneous interior point (Mehrotra predictor-corrector)",
    "simplex": "homogeneous interior point (Mehrotra predictor-corrector)",
}
"""SciPy's method names and what runs under each: every name runs ``_solvers/lp_ipm.py``."""

_OPTIONS_USED = {"maxiter", "tol", "primal_feasibility_tolerance", "dual_feasibility_tolerance"}
_COMMON = {"maxiter", "disp", "presolve"}
_HIGHS = _COMMON | {
    "time_limit", "dual_feasibility_tolerance", "primal_feasibility_tolerance", "ipm_optimality_tolerance",
    "simplex_dual_edge_weight_strategy", "mip_rel_gap", "mip_max_nodes", "autoscale",
}
_LEGACY = _COMMON | {"tol", "autoscale", "rr", "rr_method"}
_RECOGNISED: dict[str, set[str]] = {
    "highs": _HIGHS, "highs-ds": _HIGHS, "highs-ipm": _HIGHS,
    "simplex": _LEGACY | {"bland", "callback"},
    "interior-point": _LEGACY | {"alpha0", "beta", "sparse", "lstsq", "sym_pos", "cholesky", "pc", "ip",
                                 "permc_spec"},
    "revised simplex": _LEGACY | {"maxupdate", "mast", "pivot"},
}  # fmt: skip
"""The options SciPy's methods know; others warn as SciPy's do (and are ignored here)."""

_EDGE_WEIGHTS = {None, "dantzig", "devex", "steepest-devex", "steepest"}


def _options(options: dict | None, dtype, method: str) -> tuple[float, int]:
    options = dict(options or {})
    unknown = {k: v for k, v in options.items() if k not in _RECOGNISED[method]}
    if unknown:
        suffix = ". These will be passed to HiGHS verbatim." if method.startswith("highs") else ""
        warnings.warn(f"Unrecognized options detected: {unknown}{suffix}", OptimizeWarning, stacklevel=3)
        for k in unknown:
            options.pop(k)
    for name in ("primal_feasibility_tolerance", "dual_feasibility_tolerance", "ipm_optimality_tolerance",
                 "time_limit", "mip_rel_gap"):
        if name in options and not (isinstance(options[name], (int, float)) and options[name] > 0):
            warnings.warn(f"Invalid option value: {name}={options[name]!r}; the default is used.",
                          OptimizeWarning, stacklevel=3)
            options.pop(name)
    if options.get("simplex_dual_edge_weight_strategy") not in _EDGE_WEIGHTS:
        warnings.warn("Invalid option value: simplex_dual_edge_weight_strategy="
                      f"{options.pop('simplex_dual_edge_weight_strategy')!r}; the default is used.",
                      OptimizeWarning, stacklevel=3)
    default_tol = 1e-8 if jnp.dtype(dtype) == jnp.float64 else 1e-5
    tol = float(options.get("tol", options.get("primal_feasibility_tolerance", default_tol)))
    maxiter = int(options.get("maxiter", 200))
    if not tol > 0:
        raise ValueError("`options['tol']` must be positive.")
    if maxiter < 1:
        raise ValueError("`options['maxiter']` must be at least 1.")
    return tol, maxiter


def _infeasible_bounds(c: Any, lb: Any, ub: Any) -> LinprogResult | None:
    """SciPy's answer to bounds no point satisfies (``lb > ub``, ``lb = +inf`` or ``ub = -inf``,
    known before any iteration): status 2, no solution (NaN), ``nit`` 0."""
    if not is_concrete((lb, ub)):
        return None
    lo, hi = np.asarray(lb), np.asarray(ub)
    if not (np.any(lo > hi) or np.any(lo == np.inf) or np.any(hi == -np.inf)):
        return None
    nan = jnp.full_like(c, jnp.nan)
    return LinprogResult(x=nan, fun=jnp.asarray(jnp.nan, c.dtype), status=jnp.asarray(2, jnp.int32),
                         success=jnp.asarray(False), nit=jnp.asarray(0, jnp.int32),
                         crossover_nit=jnp.asarray(0, jnp.int32))


def linprog(
    c: ArrayLike,
    A_ub: ArrayLike | None = None,
    b_ub: ArrayLike | None = None,
    A_eq: ArrayLike | None = None,
    b_eq: ArrayLike | None = None,
    bounds: Any = (0, None),
    method: str = "highs",
    callback: Callable | None = None,
    options: dict | None = None,
    x0: ArrayLike | None = None,
    integrality: ArrayLike | None = None,
) -> LinprogResult:
    """Minimise a linear objective subject to linear equality and inequality constraints.

    Mirrors :func:`scipy.optimize.linprog`::

        min  c @ x   such that   A_ub @ x <= b_ub,  A_eq @ x == b_eq,  lb <= x <= ub.

    Parameters
    ----------
    c : array_like, shape (n,)
        Objective coefficients; must be finite.
    A_ub, b_ub : array_like, shapes (m_ub, n) and (m_ub,), optional
        Inequality constraints ``A_ub @ x <= b_ub`` (dense arrays or ``scipy.sparse``).
    A_eq, b_eq : array_like, shapes (m_eq, n) and (m_eq,), optional
        Equality constraints ``A_eq @ x == b_eq``.
    bounds : sequence or Bounds, optional
        One ``(min, max)`` pair for every variable, ``n`` pairs, an ``(n, 2)`` array or a
        ``Bounds``; ``None`` means no bound. Default ``(0, None)``.
    method : str, optional
        Any of SciPy's names: ``'highs'`` (default), ``'highs-ds'``, ``'highs-ipm'``,
        ``'interior-point'``, ``'revised simplex'``, ``'simplex'``. All run the same engine,
        a homogeneous self-dual interior-point method with Mehrotra's predictor-corrector
        (``_solvers/lp_ipm.py``), because HiGHS is a C++ library that cannot run inside a JAX
        program and simplex pivoting has data-dependent control flow.
    callback : None
        Not supported (SciPy's HiGHS methods do not support it either).
    options : dict, optional
        ``maxiter`` (iteration cap, default 200; static), ``tol`` or
        ``primal_feasibility_tolerance`` (relative primal/dual residual and duality gap,
        default ``1e-8`` in float64, ``1e-5`` in float32). SciPy's other options for these
        methods (``disp``, ``presolve``, ``time_limit``, ...) are accepted and ignored; an
        unknown option raises ``ValueError``.
    x0 : array_like, optional
        Accepted and ignored, as by SciPy's HiGHS methods.
    integrality : array_like, optional
        Nonzero entries make the problem a MILP, solved by :func:`milp` (eagerly).

    Returns
    -------
    LinprogResult
        ``x``, ``fun``, ``slack`` (``b_ub - A_ub @ x``), ``con`` (``b_eq - A_eq @ x``),
        ``status`` (0 optimal, 1 iteration limit, 2 infeasible, 3 unbounded, 4 numerical
        difficulties), ``success``, ``message``, ``nit``, and ``ineqlin``, ``eqlin``,
        ``lower``, ``upper``, each with ``residual`` and ``marginals`` (the derivatives of
        ``fun`` with respect to ``b_ub``, ``b_eq``, the lower and the upper bounds: SciPy's
        sign conventions, ``ineqlin.marginals <= 0``, ``lower >= 0``, ``upper <= 0``).

    Differences from SciPy
    ----------------------
    - No HiGHS: every method name runs the interior-point engine above. Its solution is
      accurate to ``tol`` but is not a vertex: where the optimum is not unique (degenerate
      or dual-degenerate problems) ``x`` and the marginals may be a different optimal point
      from SciPy's (near the centre of the optimal face), although ``fun`` agrees.
    - ``x``, ``fun`` and the marginals are ``nan`` when the problem is infeasible,
      unbounded or the solve failed (SciPy returns ``None``); at the iteration limit they
      hold the last iterate. ``nit`` counts interior-point iterations.
    - Dense linear algebra: the normal equations are formed and factorised densely, so
      ``m`` up to a few thousand rows is practical on a CPU.
    - Differentiable: ``jax.grad``/``jax.jacfwd`` of ``x``, ``fun`` and the marginals with
      respect to ``c``, ``A_ub``, ``b_ub``, ``A_eq``, ``b_eq`` and array bounds go through
      the KKT conditions on the active set, not the iterations. This is exact where the
      solution is unique and strictly complementary (a nondegenerate vertex); elsewhere the
      derivative does not exist and the result is not finite. A gradient through a solve
      with ``status != 0`` is ``nan``.
    - Under ``vmap`` ``message`` is a list; under ``jit`` read ``status``.

    Example
    -------
    >>> import jax
    >>> jax.config.update("jax_enable_x64", True)
    >>> from scijax.solvers.optimize import linprog
    >>> res = linprog([-1.0, 4.0], A_ub=[[-3.0, 1.0], [1.0, 2.0]], b_ub=[6.0, 4.0],
    ...               bounds=[(None, None), (-3, None)])
    >>> round(float(res.fun), 6), res.status
    (-22.0, 0)
    >>> [round(float(v), 6) + 0.0 for v in res.ineqlin.marginals]
    [0.0, -1.0]
    """
    if not isinstance(method, str) or method.lower() not in LINPROG_METHODS:
        raise ValueError(f"`method` must be one of {sorted(LINPROG_METHODS)}; got {method!r}.")
    if callback is not None:
        raise NotImplementedError("`callback` is not supported (nor by SciPy's HiGHS methods).")
    method = method.lower()
    if method in ("simplex", "interior-point", "revised simplex"):
        warnings.warn(f"`method='{method}'` is deprecated and will be removed in SciPy 1.11.0. Please use one "
                      "of the HiGHS solvers (e.g. `method='highs'`) in new code.", DeprecationWarning, stacklevel=2)
    c, A_ub, b_ub, A_eq, b_eq = check_lp_inputs(c, A_ub, b_ub, A_eq, b_eq)
    n = c.shape[0]
    lb, ub = parse_lp_bounds(bounds, n, c.dtype)
    if integrality is not None and np.any(np.asarray(integrality) != 0):
        if method == "highs":
            from ._milp import milp_from_arrays

            return milp_from_arrays(c, A_ub, b_ub, A_eq, b_eq, lb, ub, integrality, options)
        warnings.warn("Only `method='highs'` supports integer constraints. Ignoring `integrality`.",
                      OptimizeWarning, stacklevel=2)
    tol, maxiter = _options(options, c.dtype, method)
    infeasible = _infeasible_bounds(c, lb, ub)
    if infeasible is not None:
        return infeasible
    x, m_ub, m_eq, m_l, m_u, status, nit = lp_solve(c, A_ub, b_ub, A_eq, b_eq, lb, ub, tol, maxiter)
    slack = b_ub - A_ub @ x
    con = b_eq - A_eq @ x
    return LinprogResult(
        x=x,
        fun=c @ x,
        status=status,
        success=status == 0,
        nit=nit,
        slack=slack,
        con=con,
        ineqlin=LPMarginals(residual=slack, marginals=m_ub),
        eqlin=LPMarginals(residual=con, marginals=m_eq),
        lower=LPMarginals(residual=x - lb, marginals=m_l),
        upper=LPMarginals(residual=ub - x, marginals=m_u),
        crossover_nit=jnp.asarray(0, jnp.int32),  # no crossover runs after our interior point
        mip_node_count=jnp.asarray(0, jnp.int32),
        mip_dual_bound=jnp.asarray(0.0, c.dtype),
        mip_gap=jnp.asarray(0.0, c.dtype),
    )
