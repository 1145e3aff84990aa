"""Every registry entry through accuracy (and, for ODE methods, order) checks on the shared problem sets.

The method lists are read from the registries themselves, so a new entry is tested here without
editing this file:

- ``solve_ivp``'s ``METHODS`` (scijax/solvers/integrate/_ivp_methods.py): each method on exponential
  decay against the closed form, at the problem's tolerances, and its convergence order fitted from two
  fixed step sizes against the order the registry declares;
- ``minimize``'s ``MINIMIZE_METHODS`` (scijax/solvers/optimize/_minimize.py): each method on
  Moré-Garbow-Hillstrom problems (tests/problems/optimize_problems.py), against SciPy's result for the
  same method from the same start;
- the Krylov solvers (every public ``scijax.solvers.linalg`` function built on a ``KrylovSpec``) on the
  linear problems (tests/problems/linear_problems.py) their structure allows, against ``numpy.linalg.solve``.

Sizes are small and each method compiles once (the order runs reuse the accuracy run's compilation).
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize as so

import scijax.solvers.linalg as sla
from scijax.solvers.integrate import solve_ivp
from scijax.solvers.integrate._ivp_methods import METHODS
from scijax.solvers.linalg import _krylov
from scijax.solvers.optimize import minimize
from scijax.solvers.optimize._minimize import MINIMIZE_METHODS
from tests.problems import linear_problems, optimize_problems
from tests.problems.ivp_problems import DECAY, compute_error

# --- solve_ivp: every METHODS entry ---------------------------------------------------------------


def _decay_at(method: str, first_step: float, max_step: float, rtol: float, atol: float) -> tuple[np.ndarray, int]:
    p = DECAY
    res = solve_ivp(p.fun(), p.t_span, jnp.asarray(p.y0), method=method, t_eval=jnp.asarray(p.t_eval()),
                    args=p.args, rtol=rtol, atol=atol, first_step=first_step, max_step=max_step)
    assert bool(res.success), (method, res.message)
    return np.asarray(res.y), int(res.nfev)


# Known, measured deviation, kept visible (strict: the xfail itself fails once the method is fixed):
# Kvaerno5's global error on exponential decay is 6.7x the requested tolerance (Radau: 0.08x, Rodas5: 0.015x).
_KNOWN = {"Kvaerno5": "Kvaerno5's error is 6.7x the tolerance on decay, above SciPy's 5x criterion"}


@pytest.mark.parametrize("method", [pytest.param(m, marks=pytest.mark.xfail(reason=_KNOWN[m], strict=True))
                                    if m in _KNOWN else m for m in sorted(METHODS)])
def test_ivp_method_accuracy(method):
    p, spec = DECAY, METHODS[method]
    y, _ = _decay_at(method, 1e-3, np.inf, p.rtol, p.atol)
    exact = p.exact(p.t_eval())
    # SciPy's test_ivp.py criterion (error below 5 times the requested tolerance), or 3 times SciPy's own
    # error on the same problem and start, with the same method (its stand-in where SciPy lacks the name).
    peer = method if method in ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA") else (
        "Radau" if spec.implicit else "RK45")
    ref = scipy.integrate.solve_ivp(p.fun(np), p.t_span, np.asarray(p.y0), method=peer, t_eval=p.t_eval(),
                                    args=p.args, rtol=p.rtol, atol=p.atol, first_step=1e-3)
    scipy_err = compute_error(ref.y, exact, p.rtol, p.atol).max()
    assert compute_error(y, exact, p.rtol, p.atol).max() < max(5, 3 * scipy_err), method


@pytest.mark.parametrize("method", sorted(METHODS))
def test_ivp_method_order(method):
    p, spec = DECAY, METHODS[method]
    exact = p.exact(p.t_eval())
    # Order: fixed steps h and h/2 (max_step caps every step; tolerances so loose that none is rejected
    # or shrunk), error at the end point (a step point, so no dense-output error) against the closed form;
    # the same compiled solve as the accuracy test's.
    h = {True: 0.5, False: 0.25}[spec.order >= 5]
    # 'BDF' varies its order (1-5): at these loose tolerances it picks order 1, as SciPy's does; its order-5
    # convergence at tight tolerances is checked in tests/solvers/integrate/test_bdf.py.
    nominal = 1 if method == "BDF" else spec.order
    errors = []
    for step in (h, h / 2):
        y, _ = _decay_at(method, step, step, 1e3, 1e3)
        errors.append(np.abs(y[:, -1] - exact[:, -1]).max())
    fitted = np.log2(errors[0] / errors[1])
    assert fitted > nominal - 0.6, (method, nominal, fitted, errors)


# --- minimize: every MINIMIZE_METHODS entry ---------------------------------------------------------

MGH = ["rosenbrock", "helical_valley"]


def _scipy_minimize(p: optimize_problems.MghProblem, method: str):
    f = jax.jit(p.objective())
    g, h = jax.jit(jax.grad(f)), jax.jit(jax.hessian(f))
    as_np = lambda fn: (lambda x: np.asarray(fn(jnp.asarray(x))))  # noqa: E731
    spec = MINIMIZE_METHODS[method]
    kw = {} if method == "nelder-mead" else {"jac": as_np(g)}
    if spec.needs_hess:
        kw["hess"] = as_np(h)
    return so.minimize(lambda x: float(f(jnp.asarray(x))), np.asarray(p.x0), method=method, **kw)


@pytest.mark.parametrize("method", sorted(MINIMIZE_METHODS))
def test_minimize_method_on_mgh_problems(method):
    for name in MGH:
        p = optimize_problems.get(name)
        ref = _scipy_minimize(p, method)
        res = minimize(p.objective(), jnp.asarray(p.x0), method=method)
        f_ours = float(res.fun)
        assert np.isfinite(f_ours), (method, name)
        if ref.success:
            # SciPy reached a minimum from this start: ours must report success and reach as low a value
            # (to the method's default tolerance, scaled by the start's objective value).
            slack = 1e-6 * max(1.0, float(p.objective(np)(np.asarray(p.x0))))
            assert bool(res.success), (method, name, res.message)
            assert f_ours <= max(ref.fun, p.fstar) + slack, (method, name, f_ours, ref.fun)
        else:  # SciPy did not converge either: ours must not claim a better point than it has
            assert f_ours <= float(p.objective(np)(np.asarray(p.x0))), (method, name)


def test_mgh_problem_set_matches_the_paper():
    """The problem set's own check: f at the published minimiser is the published f* (where the paper gives x*)."""
    for p in optimize_problems.PROBLEMS.values():
        if p.xstar is not None and p.name != "powell_badly_scaled":  # x* is published to 4 digits only
            assert abs(p.objective(np)(np.asarray(p.xstar)) - p.fstar) <= 1e-3 * max(1.0, p.fstar), p.name


# --- Krylov solvers ----------------------------------------------------------------------------------


def _krylov_solvers() -> dict[str, object]:
    """Public linalg functions that run through the Krylov facade (``krylov_solve``)."""
    out = {}
    for name in sla.__all__:
        fn = getattr(sla, name)
        inner = inspect.unwrap(fn)  # public functions are wrapped for eager NumPy results (scijax._eager)
        if inspect.isfunction(inner) and "krylov_solve" in inner.__code__.co_names:
            out[name] = fn
    return out


KRYLOV = _krylov_solvers()
# Which problems each may be given: SPD-only methods need SPD, symmetric ones a symmetric matrix.
_NEEDS = {"cg": ("symmetric", "definite"), "minres": ("symmetric",)}


def test_krylov_registry_is_found():
    assert {"cg", "gmres", "bicgstab", "minres"} <= set(KRYLOV)
    assert all(isinstance(v, _krylov.KrylovSpec) for v in (sla._cg.CG, sla._bicgstab.BICGSTAB))


@pytest.mark.parametrize("name", sorted(KRYLOV))
def test_krylov_solver_on_linear_problems(name):
    solver, ran = KRYLOV[name], 0
    for p in linear_problems.PROBLEMS.values():
        if not all(getattr(p, need) for need in _NEEDS.get(name, ())):
            continue
        x, info = solver(jnp.asarray(p.A), jnp.asarray(p.b), rtol=1e-10, maxiter=2000)
        assert int(info) == 0, (name, p.name, int(info))
        # Backward error as asked, then forward error through the condition number.
        assert np.linalg.norm(p.b - p.A @ np.asarray(x)) <= 1.01e-10 * np.linalg.norm(p.b), (name, p.name)
        np.testing.assert_allclose(x, p.solution(), rtol=1e-10 * np.linalg.cond(p.A) * 10, atol=0)
        ran += 1
    assert ran > 0, name
