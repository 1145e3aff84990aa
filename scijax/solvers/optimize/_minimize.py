"""``minimize``: SciPy's facade over optimistix minimisers and our own pure-JAX ones.

The facade checks and translates SciPy's arguments, looks the method up in
``MINIMIZE_METHODS`` (``_minimize_methods.py``), and hands the engine to the entry's compiled
driver (``_minimize_run.py``), which packs SciPy's result.
"""

import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike, PyTree

from ..._concrete import is_concrete
from .._precision import warn_if_truncated
from .._userfn import prepare_bound
from ._bounds import bounds_are_none, clip_x0, parse_bounds
from ._callback import WithCallback, register, release
from ._disp import print_summary
from ._minimize_methods import MINIMIZE_METHODS, MinimizeMethod
from ._objective import Objective, check_options, prepare_args, prepare_x0
from ._result import OptimizeResult
from ._user_constraints import prepare_constraints

__all__ = ["minimize", "MINIMIZE_METHODS", "MinimizeMethod"]


_FD_SCHEMES = ("2-point", "3-point", "cs")


def _default_method(bounds, constraints) -> str:
    if constraints:
        return "slsqp"
    if not bounds_are_none(bounds):
        return "l-bfgs-b"
    return "bfgs"


def minimize(
    fun: Callable[..., ArrayLike],
    x0: PyTree[ArrayLike],
    args: Any = (),
    method: str | None = None,
    jac: Callable | bool | str | None = None,
    hess: Callable | None = None,
    hessp: Callable | None = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    callback: Callable | None = None,
    options: dict | None = None,
) -> OptimizeResult:
    """Minimise a scalar function of one or more variables (``scipy.optimize.minimize``).

    Parameters
    ----------
    fun
        The objective ``fun(x, *args) -> float``, written in JAX.
    x0
        Initial guess: a 1-D array, or (beyond SciPy) a pytree of arrays such as network
        parameters, in which case ``x`` in the result has the same structure.
    args
        Extra arguments of ``fun``. Gradients of the solution with respect to the floating-point
        arrays in ``args`` come from the implicit function theorem.
    method
        'BFGS', 'L-BFGS-B', 'CG', 'Newton-CG', 'trust-ncg', 'trust-exact', 'trust-krylov',
        'dogleg', 'Nelder-Mead', 'Powell', 'TNC', 'SLSQP' or 'trust-constr'. Default as in SciPy: BFGS,
        L-BFGS-B with bounds, SLSQP with constraints.
        Also 'COBYLA' (derivative-free; bounds and constraints, see below) and 'COBYQA'
        (derivative-free; bounds only so far, see below).
    jac
        ``None`` (autodiff; never finite differences), ``True`` (``fun`` returns ``(f, g)``) or a
        callable ``jac(x, *args)``. SciPy's ``'2-point'``, ``'3-point'`` and ``'cs'`` are accepted
        and mean autodiff too (the exact gradient, where SciPy would difference).
    hess, hessp
        Accepted for compatibility; Hessians and Hessian-vector products always come from
        autodiff of ``fun``.
        For 'trust-constr', ``hess=BFGS()`` or ``hess=SR1()`` (``HessianUpdateStrategy``) makes it
        update a quasi-Newton Lagrangian Hessian instead.
    bounds
        ``Bounds`` or a sequence of ``(min, max)`` pairs (``None`` for unbounded), for
        L-BFGS-B, TNC, Powell, Nelder-Mead and SLSQP.
        COBYLA takes them too (as constraint rows, see below). COBYQA never evaluates ``fun``
        outside them.
    constraints
        For SLSQP: dicts with ``type`` ('eq'/'ineq'), ``fun``, optional ``jac`` and ``args``, or
        ``LinearConstraint``/``NonlinearConstraint`` objects.
        COBYLA takes the same forms (each equality becomes two inequalities). COBYQA raises
        ``NotImplementedError`` for any ``constraints`` (not implemented yet).
    tol
        Default tolerance, mapped onto each method's own option as SciPy does.
    callback
        Called after each iteration, as in SciPy: ``callback(intermediate_result)`` (an
        ``OptimizeResult`` with ``x`` and ``fun``) when its only parameter has that name, else
        ``callback(xk)``. Raising ``StopIteration`` stops the solve with ``status`` 99 and
        ``success`` False. It runs on the host through ``jax.experimental.io_callback``, also
        under ``jit`` and (one member at a time) under ``vmap``; see ``_callback.py``.
    options
        SciPy's per-method options (``maxiter``, ``gtol``, ``ftol``, ``xatol``, ``fatol``,
        ``maxcor``, ``disp``, ...). Unknown names raise ``ValueError``.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``hess_inv`` (BFGS), ``nit``, ``nfev``, ``njev``, ``status``,
        ``success`` and ``message``. ``status``: 0 converged, 1 iteration limit, 2 stopped
        without meeting the tolerance (precision loss, failed line search), 3 NaN/inf.
        COBYLA returns SciPy's fields ``x``, ``fun``, ``nfev``, ``maxcv``, ``status``, ``success``,
        ``message`` and SciPy's codes: 0 the radius reached ``tol`` (``success`` only if
        ``maxcv <= catol``), 1 ``f_target`` reached, 3 ``maxiter`` evaluations, -2 NaN/inf in ``f``
        or a constraint, -1 NaN/inf in ``x0``.
        COBYQA returns SciPy's fields ``x``, ``fun``, ``nfev``, ``nit``, ``maxcv``, ``status``,
        ``success``, ``message`` and SciPy's codes: 0 the radius reached ``final_tr_radius``, 1
        ``f_target`` reached, 2 all variables fixed by the bounds, 3 the callback raised
        ``StopIteration`` (a success, as in SciPy; not 99), 5 ``maxfev`` evaluations, 6
        ``maxiter`` iterations, -2 a non-finite ``x0``; ``success`` also needs a finite
        ``fun``.

    Differences from SciPy
    ----------------------
    - Runs under ``jit``/``vmap``/``grad``; ``x0`` may be a pytree.
    - Gradients come from autodiff, never finite differences (``eps`` is ignored).
    - BFGS, CG and Newton-CG search as SciPy does: Moré and Thuente's search first, the
      Nocedal & Wright zoom where it fails; iterates can split from SciPy's late by rounding.
    - trust-exact solves its subproblem by Moré and Sorensen's Cholesky iteration, as SciPy;
      the hard case's eigenvector comes from ``eigh``. In all trust-region methods a
      non-positive predicted reduction caused by rounding rejects the step and shrinks the
      radius, where SciPy stops with "precision loss".
    - L-BFGS-B projects an L-BFGS step on the free variables instead of SciPy's generalised
      Cauchy point; it stops on the same tests (``pgtol``, ``ftol``).
    - Powell is SciPy's modified Powell method step for step (Brent line searches; with bounds,
      the line cut to its feasible interval); ``maxfev`` is checked between iterations, and the
      result has no ``direc``. With bounds, a final coordinate within ``10 xtol`` (relative) of
      a bound, with the gradient pushing outwards, is put on the bound, so that the implicit
      derivative holds it there.
    - TNC is a truncated Newton method with bounds written from Nash's description, not SciPy's C
      code: a memoryless-BFGS preconditioner, exact Hessian-vector products and its own step
      search with TNC's curvature test (``eta``); the same stopping tests (``gtol`` on the
      projected gradient, ``ftol``, ``xtol``, ``maxfun``). ``scale``/``offset`` must be ``None``
      and ``rescale`` has no effect.
    - trust-krylov solves each subproblem exactly in the Lanczos (Krylov) subspace, grown until
      it is invariant (SciPy's ``inexact=False``); SciPy's default stops earlier.
    - COBYLA is Powell's 1994 method (linear interpolation on a simplex, radius ``rho`` halved
      from ``rhobeg`` to ``tol``, an l-infinity merit function with an adaptive penalty), written
      from the paper, with the growing trust-region radius of his later methods; SciPy >= 1.16
      runs PRIMA's COBYLA, whose iterates differ (same answers to about ``tol`` on SciPy's tests;
      counts within about 2x, fewer or more). Each trust-region subproblem is solved by a small
      interior-point method instead of Powell's active-set TRSTLP (same minimiser). Bounds are
      constraint rows, so iterates may leave the box (PRIMA keeps them inside). ``catol``
      defaults to ``sqrt(eps)`` of ``x0``'s dtype. The derivative of ``x`` is the implicit one
      of the KKT conditions of the constraints active at the returned point, which is accurate
      to about ``tol``.
    - COBYQA (bounds only; ``constraints`` raise ``NotImplementedError``) is written from
      Ragonneau's thesis and Powell's NEWUOA/BOBYQA papers, not from the cobyqa package:
      ``2n + 1`` interpolation points, quadratic models whose Hessian changes least in the
      Frobenius norm (the KKT system solved afresh each iteration, ``O(n^3)``-``O(n^6)`` work: for
      small ``n``), a truncated-CG trust-region step in the ball and the box, geometry steps on the
      Lagrange functions, radii from ``initial_tr_radius`` to ``final_tr_radius``. Iterates and
      counts differ from SciPy's (Rosenbrock from ``(-1.2, 1)``: 172 evaluations vs 144, both
      at ``(1, 1)`` to ``1e-6``). ``scale=True`` raises; ``feasibility_tol`` is accepted (no
      constraints to test). The derivative of ``x`` is the implicit one of the KKT conditions with
      the bounds active at the returned point (NaN when not ``success``).
    - Powell, TNC: ``status`` uses the generic codes below, not SciPy's method-specific ones.
    - trust-constr is Byrd-Omojokun trust-region SQP, with SciPy's barrier method on slack
      variables when there are inequalities or bounds (``_solvers/trust_constr.py``). Its default
      Hessian is the exact Lagrangian Hessian by autodiff (SciPy's default is ``BFGS()``); the
      tangential subproblem is solved exactly in the null space (SciPy: projected CG); dense linear
      algebra (a few hundred variables). Its result has SciPy's trust-constr fields and codes (0
      ``maxiter``, 1 ``gtol``, 2 ``xtol``, 3 callback, 4 constraints violated, 5 NaN; success for 1
      and 2), with ``constr``/``jac``/``v`` as stacked ``(equality, inequality >= 0)`` rows.
    - ``nfev``/``njev`` count evaluations of ``fun`` and of its gradient as the JAX engines
      make them; they are not comparable one-for-one with SciPy's.
    - ``disp=True`` prints SciPy's summary after an eager solve (from the result, not from
      inside the loop); ``return_all`` is accepted and ignored. ``callback`` receives NumPy copies of the iterate;
      the objective is evaluated once more per iteration to give it ``fun`` (not counted in
      ``nfev``). An "iteration" is one step of our engine that moved ``nit``; for Nelder-Mead
      every SciPy iteration, for line-search methods every accepted step.

    Notes
    -----
    A gradient through a solve that did not succeed (``success`` False: an iteration cap,
    precision loss, a NaN) is NaN in forward and reverse mode, never the implicit-function-theorem
    derivative at a point that is not a solution; so is the gradient of ``fun`` and ``jac``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import minimize
    >>> res = minimize(lambda x: jnp.sum((x - 1.0) ** 2), jnp.zeros(3))
    >>> bool(res.success), jnp.allclose(res.x, 1.0, atol=1e-6).item()
    (True, True)
    """
    warn_if_truncated("minimize", x0, args)
    if method is None:
        method = _default_method(bounds, constraints)
    if not isinstance(method, str):
        raise TypeError("`method` must be a string naming a method, e.g. 'BFGS'.")
    spec = MINIMIZE_METHODS.get(method.lower())
    if spec is None:
        raise ValueError(f"Unknown solver {method!r} for `method`; choose from "
                         f"{sorted(MINIMIZE_METHODS)}.")
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    if (hess is not None or hessp is not None) and not spec.needs_hess:
        warnings.warn(f"Method {method} does not use Hessian information (hess).", RuntimeWarning,
                      stacklevel=2)
    if constraints and not spec.supports_constraints:
        warnings.warn(f"Method {method} cannot handle constraints.", RuntimeWarning, stacklevel=2)
    if not bounds_are_none(bounds) and not spec.supports_bounds:
        warnings.warn(f"Method {method} cannot handle bounds.", RuntimeWarning, stacklevel=2)
    options = check_options(options, spec.options, method)
    x_flat, unravel, _ = prepare_x0(x0)
    n = x_flat.shape[0]
    args = prepare_args(args)
    if isinstance(jac, str):  # SciPy's finite-difference schemes: autodiff gives the exact gradient instead
        if jac not in _FD_SCHEMES:
            raise ValueError(f"`jac` must be callable, a bool or one of {_FD_SCHEMES}; got {jac!r}.")
        jac = None
    user, args = prepare_bound({"fun": fun, "jac": jac if callable(jac) else None}, (unravel(x_flat),),
                               args, solver="minimize")
    fun, jac = user["fun"], (user["jac"] if callable(jac) else jac)
    if constraints and spec.supports_constraints:
        constraints = prepare_constraints(constraints, unravel(x_flat))
    params, static_args = eqx.partition(args, eqx.is_array)
    objective = Objective(fun, jac, unravel, static_args)
    solver = spec.build(options, tol, n)
    if spec.takes_hess:  # trust-constr: `hess` may be a quasi-Newton strategy (BFGS(), SR1())
        solver = spec.build({**options, "hess": hess}, tol, n)

    has_bounds = spec.supports_bounds and not bounds_are_none(bounds)
    if has_bounds:
        lower, upper = parse_bounds(bounds, n, x_flat.dtype)
        x_flat = clip_x0(x_flat, lower, upper)
    else:
        lower = jnp.full((n,), -jnp.inf, x_flat.dtype)
        upper = jnp.full((n,), jnp.inf, x_flat.dtype)
    engine_options = spec.engine_options(lower, upper, options)
    token = None if callback is None else register(callback)
    if token is not None:
        solver = WithCallback(solver, jnp.asarray(token, jnp.int32), unravel)
    res = spec.run(spec, objective, solver, x_flat, params, lower, upper, has_bounds, constraints,
                   engine_options, unravel)
    if token is not None and is_concrete(res.status):
        jax.block_until_ready(res)
        release(token)  # (under a transformation the compiled program keeps needing it)
    if options.get("disp"):
        print_summary(res)
    return res
