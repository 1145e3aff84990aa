"""The ``minimize`` registry: SciPy's method names and everything that differs between them.

Adding a method is one engine file in ``_solvers/`` (an ``optx.AbstractMinimiser`` whose
``postprocess`` reports ``nit``, ``nfev`` and ``converged``) plus one ``MinimizeMethod`` entry
below: a factory that builds the engine from SciPy's ``options``, ``tol`` and ``n``, the option
names SciPy accepts for the method, what it supports, and, only if needed, the hooks for engine
options and extra result fields. The facade and its drivers never test the method's name or the
engine's type.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array

from ._cobyla import COBYLA_OPTIONS, build_cobyla, cobyla_max_steps, run_cobyla
from ._cobyqa import COBYQA_OPTIONS, build_cobyqa, cobyqa_max_steps, run_cobyqa
from ._hessian_update import HessianUpdateStrategy
from ._lbfgs_hess import LbfgsInvHessProduct
from ._minimize_run import run_constrained, run_minimiser
from ._solvers.lbfgsb import LBFGSB
from ._solvers.nelder_mead import NelderMead
from ._solvers.newton_cg import NewtonCG
from ._solvers.powell import Powell
from ._solvers.quasi_newton import WolfeBFGS, WolfeCG
from ._solvers.slsqp import SLSQP
from ._solvers.tnc import TNC
from ._solvers.trust_constr import TrustConstr
from ._solvers.trust_exact import more_sorensen_subproblem
from ._solvers.trust_krylov import lanczos_subproblem
from ._solvers.trust_newton import TrustRegion, dogleg_subproblem, steihaug_cg
from ._trust_constr_run import run_trust_constr

__all__ = ["MinimizeMethod", "MINIMIZE_METHODS"]


def _no_engine_options(lower: Array, upper: Array, options: dict) -> dict:
    return {}


def _no_fields(sol: optx.Solution) -> dict:
    return {}


def _loop_bound(solver: Any) -> int:
    # optimistix's hard bound on the loop; each engine stops itself at ``maxiter``.
    return min(int(solver.maxiter), 10**6) + 1


class MinimizeMethod(NamedTuple):
    """A ``minimize`` registry entry.

    Attributes
    ----------
    build
        ``build(options, tol, n) -> engine`` from SciPy's per-method options.
    options
        The option names SciPy accepts for the method (others raise ``ValueError``).
    supports_bounds, supports_constraints
        Whether the method uses ``bounds`` / ``constraints`` (otherwise SciPy's warning).
    needs_hess
        Whether the method uses second derivatives (otherwise ``hess``/``hessp`` warn).
    run
        The compiled driver: :func:`run_minimiser`, or :func:`run_constrained` for SQP.
    engine_options
        ``engine_options(lower, upper, options) -> dict`` passed to the engine as optimistix's
        ``options`` (bounds, an initial simplex).
    gradient_free
        The engine uses no gradients and detects a stop at the edge of a NaN region itself
        (Nelder-Mead); other entries get a one-step probe along minus the gradient.
    clip_to_bounds
        Enforce bounds by clipping every point the engine evaluates (Nelder-Mead), instead of
        handing them to the engine.
    max_steps
        ``max_steps(engine) -> int``: the bound on optimistix's loop.
    pack
        ``pack(solution) -> dict`` of ``OptimizeResult`` fields to add or override.
    """

    build: Callable[[dict, float | None, int], optx.AbstractMinimiser]
    options: frozenset[str]
    supports_bounds: bool = False
    supports_constraints: bool = False
    needs_hess: bool = False
    run: Callable[..., Any] = run_minimiser
    engine_options: Callable[[Array, Array, dict], dict] = _no_engine_options
    clip_to_bounds: bool = False
    gradient_free: bool = False
    max_steps: Callable[[Any], int] = _loop_bound
    pack: Callable[[optx.Solution], dict] = _no_fields
    takes_hess: bool = False
    """``build`` also receives ``hess`` in ``options`` (trust-constr's quasi-Newton strategies)."""


def _maxiter(options: dict, default: int) -> int:
    value = options.get("maxiter")
    return default if value is None else int(value)


def _wolfe(engine):
    def build(options, tol, n):
        gtol = options.get("gtol", 1e-5 if tol is None else tol)
        extra = {k: float(options[k]) for k in ("c1", "c2", "xrtol") if options.get(k) is not None}
        return engine(gtol=gtol, maxiter=_maxiter(options, 200 * n),
                      norm_ord=float(options.get("norm", np.inf)), **extra)

    return build


def _one_step_per_iteration(solver) -> int:
    return int(solver.maxiter) + 2


def _bfgs_fields(sol: optx.Solution) -> dict:
    return {"hess_inv": sol.state.memory}


def _nelder_mead(options, tol, n):
    xatol = options.get("xatol", 1e-4 if tol is None else tol)
    fatol = options.get("fatol", 1e-4 if tol is None else tol)
    maxiter, maxfev = options.get("maxiter"), options.get("maxfev")
    if maxiter is None and maxfev is None:
        maxiter = maxfev = 200 * n
    big = 2**31 - 1
    return NelderMead(xatol=xatol, fatol=fatol, maxiter=big if maxiter is None else int(maxiter),
                      maxfev=big if maxfev is None else int(maxfev),
                      adaptive=bool(options.get("adaptive", False)))


def _simplex_option(lower, upper, options):
    simplex = options.get("initial_simplex")
    return {} if simplex is None else {"initial_simplex": jnp.asarray(simplex)}


def _simplex_fields(sol: optx.Solution) -> dict:
    return {"jac": None, "njev": None, "final_simplex": sol.stats["final_simplex"]}


def _lbfgsb(options, tol, n):
    ftol = options.get("ftol", 2.220446049250313e-09 if tol is None else tol)
    gtol = options.get("gtol", 1e-5 if tol is None else tol)
    return LBFGSB(maxcor=int(options.get("maxcor", 10)), ftol=ftol, gtol=gtol,
                  maxiter=_maxiter(options, 15000), maxls=int(options.get("maxls", 20)))


LBFGSB_MESSAGES: tuple[str, ...] = (
    "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
    "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
    "ABNORMAL: ",
    "NaN result encountered.",
    "Iteration limit reached in the inner solve; constraints may not be satisfied.",
    "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
)
"""SciPy's L-BFGS-B messages (they name the test that stopped it), indexed by ``status``; a
stop on the relative decrease of ``f`` is status 0 with the last message."""


def _lbfgsb_fields(sol: optx.Solution) -> dict:
    hess_inv = LbfgsInvHessProduct(sol.state.s_hist[::-1], sol.state.y_hist[::-1])  # oldest pair first
    return {"messages": LBFGSB_MESSAGES, "success_message": jnp.where(sol.stats["pg_converged"], 0, 5),
            "hess_inv": hess_inv}


def _bounds_option(lower, upper, options):
    return {"lower": lower, "upper": upper}


def _newton_cg(options, tol, n):
    xtol = options.get("xtol", 1e-5 if tol is None else tol)
    extra = {k: float(options[k]) for k in ("c1", "c2") if options.get(k) is not None}
    return NewtonCG(xtol=xtol, maxiter=_maxiter(options, 200 * n), **extra)


def _slsqp(options, tol, n):
    ftol = options.get("ftol", 1e-6 if tol is None else tol)
    return SLSQP(ftol=ftol, maxiter=_maxiter(options, 100))


def _trust(subproblem):
    def build(options, tol, n):
        return TrustRegion(
            subproblem, gtol=options.get("gtol", 1e-4 if tol is None else tol),
            initial_trust_radius=options.get("initial_trust_radius", 1.0),
            max_trust_radius=options.get("max_trust_radius", 1000.0), eta=options.get("eta", 0.15),
            maxiter=_maxiter(options, 200 * n))

    return build


def _powell(options, tol, n):
    xtol = options.get("xtol", 1e-4 if tol is None else tol)
    ftol = options.get("ftol", 1e-4 if tol is None else tol)
    maxiter, maxfev = options.get("maxiter"), options.get("maxfev")
    if maxiter is None and maxfev is None:
        maxiter = maxfev = 1000 * n
    big = 2**31 - 1
    return Powell(xtol=xtol, ftol=ftol, maxiter=big if maxiter is None else int(min(maxiter, big)),
                  maxfev=big if maxfev is None else int(min(maxfev, big)))


def _concretely_unbounded(lower, upper) -> bool:
    try:
        return not (np.any(np.isfinite(np.asarray(lower))) or np.any(np.isfinite(np.asarray(upper))))
    except Exception:  # traced bounds: treat as bounded
        return False


def _powell_options(lower, upper, options):
    # Without finite bounds no bounded line search is compiled (the key's absence is static).
    out = {} if _concretely_unbounded(lower, upper) else {"lower": lower, "upper": upper}
    direc = options.get("direc")
    return out if direc is None else {**out, "direc": jnp.asarray(direc)}


def _powell_fields(sol: optx.Solution) -> dict:
    # (SciPy's result also has ``direc``; OptimizeResult has no such field yet.)
    return {"jac": None, "njev": None}


def _tnc(options, tol, n):
    def opt(name, default):  # SciPy's TNC: a negative value (its default -1) means "use the default"
        value = options.get(name, default if tol is None or name not in ("ftol", "xtol", "gtol") else tol)
        return default if value is None or value < 0 else value

    for name in ("scale", "offset"):
        if options.get(name) is not None:
            raise ValueError(f"TNC option `{name}` (variable scaling) is not supported; rescale `x` in `fun`.")
    eps = float(np.finfo(np.float64).eps)
    accuracy = opt("accuracy", 0.0)
    accuracy = np.sqrt(eps) if accuracy <= eps else accuracy
    maxcg = options.get("maxCGit", -1)
    maxcg = max(1, min(50, n // 2)) if maxcg is None or maxcg < 0 else int(maxcg)
    eta = opt("eta", 0.25)
    stepmx = opt("stepmx", 0.0)
    maxfun = options.get("maxfun")
    return TNC(maxfun=max(100, 10 * n) if maxfun is None else int(maxfun), maxcg=maxcg,
               eta=0.25 if eta > 1 else eta, stepmx=10.0 if stepmx < 10.0 else stepmx,
               minfev=float(options.get("minfev", 0.0)), ftol=opt("ftol", accuracy), xtol=opt("xtol", np.sqrt(eps)),
               gtol=opt("gtol", 1e-2 * np.sqrt(accuracy)))


def _tnc_fields(sol: optx.Solution) -> dict:
    return {"njev": sol.stats["nfev"]}


def _trust_constr(options, tol, n):
    hess = options.get("hess")
    if isinstance(hess, type) and issubclass(hess, HessianUpdateStrategy):
        raise TypeError("`hess` must be an instance such as BFGS(), not the class.")
    if not (hess is None or callable(hess) or hess in ("2-point", "3-point", "cs")
            or isinstance(hess, HessianUpdateStrategy)):
        raise ValueError("`hess` must be None, a callable, '2-point', '3-point', 'cs', BFGS() or SR1(); "
                         f"got {hess!r}.")
    strategy = hess if isinstance(hess, HessianUpdateStrategy) else None
    if strategy is not None:
        strategy = strategy.initialize(n, "hess")  # (as SciPy: a fresh identity, for the Hessian)
    gtol = options.get("gtol", 1e-8 if tol is None else tol)
    xtol = options.get("xtol", 1e-8 if tol is None else tol)
    barrier_tol = options.get("barrier_tol", 1e-8 if tol is None else tol)
    for name, value in (("gtol", gtol), ("xtol", xtol), ("barrier_tol", barrier_tol)):
        if not value > 0:
            raise ValueError(f"`{name}` must be positive; got {value}.")
    floats = {k: float(options[k]) for k in ("initial_tr_radius", "initial_constr_penalty",
                                             "initial_barrier_parameter", "initial_barrier_tolerance")
              if options.get(k) is not None}
    for k, value in floats.items():
        if not value > 0:
            raise ValueError(f"`{k}` must be positive; got {value}.")
    return TrustConstr(gtol=float(gtol), xtol=float(xtol), barrier_tol=float(barrier_tol),
                       maxiter=_maxiter(options, 1000), hess=strategy, **floats)


_COMMON = frozenset({"maxiter", "disp", "return_all"})
_TRUST = _COMMON | {"gtol", "initial_trust_radius", "max_trust_radius", "eta", "inexact"}
MINIMIZE_METHODS: dict[str, MinimizeMethod] = {
    "bfgs": MinimizeMethod(_wolfe(WolfeBFGS), _COMMON | {"gtol", "norm", "eps", "xrtol", "c1", "c2"},
                           max_steps=_one_step_per_iteration, pack=_bfgs_fields),
    "cg": MinimizeMethod(_wolfe(WolfeCG), _COMMON | {"gtol", "norm", "eps", "c1", "c2"},
                         max_steps=_one_step_per_iteration),
    "nelder-mead": MinimizeMethod(
        _nelder_mead, _COMMON | {"maxfev", "xatol", "fatol", "adaptive", "initial_simplex", "bounds"},
        supports_bounds=True, clip_to_bounds=True, gradient_free=True, engine_options=_simplex_option,
        pack=_simplex_fields),
    "powell": MinimizeMethod(_powell, _COMMON | {"xtol", "ftol", "maxfev", "direc"}, supports_bounds=True,
                             engine_options=_powell_options, pack=_powell_fields),
    "l-bfgs-b": MinimizeMethod(
        _lbfgsb, _COMMON | {"maxcor", "ftol", "gtol", "maxfun", "maxls", "eps", "iprint", "finite_diff_rel_step"},
        supports_bounds=True, engine_options=_bounds_option, pack=_lbfgsb_fields),
    "tnc": MinimizeMethod(
        _tnc, frozenset({"eps", "scale", "offset", "mesg_num", "maxCGit", "eta", "stepmx", "accuracy", "minfev",
                         "ftol", "xtol", "gtol", "rescale", "disp", "finite_diff_rel_step", "maxfun", "workers"}),
        supports_bounds=True, engine_options=_bounds_option, pack=_tnc_fields,
        max_steps=lambda solver: int(solver.maxfun) + 1),
    "newton-cg": MinimizeMethod(_newton_cg, _COMMON | {"xtol", "eps", "c1", "c2", "workers"}, needs_hess=True),
    "trust-ncg": MinimizeMethod(_trust(steihaug_cg), _TRUST, needs_hess=True),
    "trust-exact": MinimizeMethod(_trust(more_sorensen_subproblem), _TRUST, needs_hess=True),
    "dogleg": MinimizeMethod(_trust(dogleg_subproblem), _TRUST, needs_hess=True),
    "trust-krylov": MinimizeMethod(_trust(lanczos_subproblem), _TRUST, needs_hess=True),
    "slsqp": MinimizeMethod(_slsqp, _COMMON | {"ftol", "eps", "finite_diff_rel_step", "iprint", "workers"},
                            supports_bounds=True, supports_constraints=True, run=run_constrained),
    "trust-constr": MinimizeMethod(
        _trust_constr, frozenset({"gtol", "xtol", "barrier_tol", "sparse_jacobian", "maxiter", "verbose", "disp",
                                  "initial_tr_radius", "initial_constr_penalty", "initial_barrier_parameter",
                                  "initial_barrier_tolerance", "factorization_method", "finite_diff_rel_step"}),
        supports_bounds=True, supports_constraints=True, needs_hess=True, run=run_trust_constr,
        max_steps=lambda solver: int(solver.maxiter) + 2, takes_hess=True),
    "cobyla": MinimizeMethod(build_cobyla, COBYLA_OPTIONS, supports_bounds=True, supports_constraints=True,
                             run=run_cobyla, max_steps=cobyla_max_steps),
    "cobyqa": MinimizeMethod(build_cobyqa, COBYQA_OPTIONS, supports_bounds=True, supports_constraints=True,
                             run=run_cobyqa, max_steps=cobyqa_max_steps),
}
"""SciPy method name (lower case) -> ``MinimizeMethod``. Adding a method is one entry here."""
