"""minimize(method='trust-constr') and the Hessian update strategies against SciPy.

Problems from SciPy's own ``test_minimize_constrained.py``: Maratos (equality only, the SQP
branch), HS71 (bounds, an inequality and an equality: the interior-point branch), Rosenbrock with a
linear inequality and bounds. Plus jit without recompilation, vmap against a loop, the implicit
gradient against finite differences and the analytic derivative, float32, bad inputs and
non-finite values. Compiles are the cost here: problems and jitted solves are shared.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize import Bounds, LinearConstraint, NonlinearConstraint

from scijax.solvers.optimize import BFGS, SR1, HessianUpdateStrategy, minimize


def maratos(x):
    return 2 * (x[0] ** 2 + x[1] ** 2 - 1) - x[0]


MARATOS_X0 = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4)])
MARATOS_CON = NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, 1, 1)


def hs71(x):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]


HS71_CONS = [NonlinearConstraint(lambda x: x[0] * x[1] * x[2] * x[3], 25, np.inf),
             NonlinearConstraint(lambda x: jnp.sum(x ** 2), 40, 40)]
HS71_BOUNDS = Bounds([1.0] * 4, [5.0] * 4)


def _scipy(f, x0, hess=None, **kw):
    grad = jax.jit(jax.grad(f))
    if hess is None:  # the exact Hessian, our default
        exact = jax.jit(jax.hessian(f))
        hess = lambda x: np.asarray(exact(jnp.asarray(x)))  # noqa: E731
    return so.minimize(lambda x: float(f(jnp.asarray(x))), x0, method="trust-constr",
                       jac=lambda x: np.asarray(grad(jnp.asarray(x))), hess=hess, **kw)


def test_hs71_interior_point_matches_scipy():
    kw = dict(constraints=HS71_CONS, bounds=HS71_BOUNDS)
    ref = _scipy(hs71, np.array([1.0, 5, 5, 1]), **kw)
    res = minimize(hs71, jnp.array([1.0, 5, 5, 1]), method="trust-constr", **kw)
    assert res.method == ref.method == "tr_interior_point"
    assert int(res.status) == 1 and bool(res.success) and res.message == ref.message
    # Both stop at gtol = 1e-8 on the Lagrangian gradient; SciPy's barrier leaves it ~1e-8 inside the
    # bound x0 >= 1, so the points agree to ~1e-7 and ours is no worse.
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert float(res.fun) <= ref.fun + 1e-7
    assert float(res.constr_violation) < 1e-8 and float(res.optimality) < 1e-8
    c_eq, c_in = res.constr
    lam_eq, lam_in = res.v
    assert c_eq.shape == (1,) and c_in.shape == (9,) and lam_in.shape == (9,)
    # KKT: stationarity of f - lam.c, the product constraint and the bound x0 >= 1 active.
    j_eq, j_in = res.jac
    np.testing.assert_allclose(res.grad - j_eq.T @ lam_eq - j_in.T @ lam_in, res.lagrangian_grad, atol=1e-12)
    assert np.all(np.asarray(lam_in) >= 0) and float(lam_in[0]) > 0.1 and float(lam_in[1]) > 0.1
    assert float(res.barrier_parameter) < 1e-8 and int(res.nfev) >= int(res.nit) > 0


def test_maratos_equality_sqp_matches_scipy():
    ref = _scipy(maratos, MARATOS_X0, constraints=[MARATOS_CON])
    res = minimize(maratos, jnp.asarray(MARATOS_X0), method="trust-constr", constraints=[MARATOS_CON])
    assert res.method == ref.method == "equality_constrained_sqp" and res.barrier_parameter is None
    assert bool(res.success)
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-7)  # the solution (SciPy's own test)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(res.v[0], [1.5], atol=1e-6)  # grad f = lam grad c at (1, 0)


def test_rosenbrock_linear_constraint_and_bounds_matches_scipy():
    rosen = lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2  # noqa: E731
    kw = dict(constraints=[LinearConstraint([[1.0, 2.0]], -np.inf, 1.0)], bounds=Bounds([0.0, -0.5], [1.0, 2.0]))
    # SciPy's default Hessian for trust-constr: BFGS() on both sides.
    ref = _scipy(rosen, np.array([0.5, 0.0]), hess=so.BFGS(), **kw)
    res = minimize(rosen, jnp.array([0.5, 0.0]), method="trust-constr", hess=BFGS(), **kw)
    assert bool(res.success) and bool(ref.success) and int(res.nhev) == 0
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)  # both at gtol = 1e-8 of an O(1) problem
    assert float(res.fun) <= ref.fun + 1e-7
    assert float(res.x[0] + 2 * res.x[1]) <= 1.0 + 1e-8


# A parametrised problem for the transformations: min (x0 - a)^2 + (x1 - 1)^2  s.t.  x0 + x1 = 1, x >= 0,
# whose solution (a/2, 1 - a/2) for 0 < a < 2 has dx/da = (1/2, -1/2).
def _quad(x, a):
    return (x[0] - a) ** 2 + (x[1] - 1) ** 2


_CON = LinearConstraint([[1.0, 1.0]], 1.0, 1.0)


def _solve(a, **options):
    return minimize(_quad, jnp.full((2,), 0.5, jnp.result_type(a)), args=(a,), method="trust-constr",
                    constraints=[_CON], bounds=Bounds([0.0, 0.0], [np.inf, np.inf]), options=options or None)


# a -> ((x[0], result), d x[0] / d a): one compile serves the solve and its derivative.
_solve_and_grad = jax.jit(jax.value_and_grad(lambda a: (lambda r: (r.x[0], r))(_solve(a)), has_aux=True))


def test_jit_vmap_grad_no_recompile():
    a_values = jnp.array([0.3, 0.8, 1.4])
    loop = [_solve_and_grad(a) for a in a_values]
    assert _solve_and_grad._cache_size() == 1  # new values of `a` do not recompile
    x_loop = np.stack([np.asarray(res.x) for (_, res), _ in loop])
    np.testing.assert_allclose(x_loop, np.stack([a_values / 2, 1 - a_values / 2], 1), atol=1e-7)
    assert all(int(res.status) == 1 and res.method == "tr_interior_point" for (_, res), _ in loop)
    # Implicit gradient through the KKT conditions: the analytic 1/2, and central differences.
    grads = np.array([float(g) for _, g in loop])
    np.testing.assert_allclose(grads, 0.5, atol=1e-6)
    h = 1e-4
    shifted = jnp.array([0.8 + h, 0.8 - h, jnp.nan])  # (strongly typed, like `a_values`: no new compile)
    fd = (float(_solve_and_grad(shifted[0])[0][0]) - float(_solve_and_grad(shifted[1])[0][0])) / (2 * h)
    np.testing.assert_allclose(grads[1], fd, atol=1e-6)
    (_, batch), batch_grads = jax.vmap(_solve_and_grad)(a_values)
    np.testing.assert_allclose(batch.x, x_loop, atol=1e-10)
    np.testing.assert_allclose(batch_grads, grads, atol=1e-10)
    assert np.all(np.asarray(batch.status) == 1)
    # Non-finite values: honest status, no claim of success, a NaN derivative (never a plausible number).
    (_, bad), g_bad = _solve_and_grad(shifted[2])
    assert int(bad.status) == 5 and not bool(bad.success) and bad.message == "NaN result encountered."
    assert np.isnan(g_bad) and _solve_and_grad._cache_size() == 1


def test_float32_and_iteration_limit():
    res = _solve(jnp.asarray(0.8, jnp.float32), gtol=1e-5, xtol=1e-6, barrier_tol=1e-5)
    assert res.x.dtype == jnp.float32 and int(res.status) in (1, 2)
    np.testing.assert_allclose(res.x, [0.4, 0.6], atol=1e-4)
    capped = _solve(jnp.asarray(0.8), maxiter=2)
    assert int(capped.status) == 0 and not bool(capped.success) and int(capped.nit) == 2
    assert capped.message == "The maximum number of function evaluations is exceeded."


def test_bad_inputs():
    x0 = jnp.array([0.5, 0.5])
    with pytest.raises(ValueError, match="hess"):
        minimize(_quad, x0, args=(0.5,), method="trust-constr", hess="exact")
    with pytest.raises(TypeError, match="hess"):
        minimize(_quad, x0, args=(0.5,), method="trust-constr", hess=BFGS)
    with pytest.raises(ValueError, match="gtol"):
        minimize(_quad, x0, args=(0.5,), method="trust-constr", options={"gtol": -1.0})
    with pytest.raises(ValueError, match="Unknown `options`"):
        minimize(_quad, x0, args=(0.5,), method="trust-constr", options={"ftol": 1e-3})
    three = [NonlinearConstraint(lambda x: x[0], 0, 0), NonlinearConstraint(lambda x: x[1], 0, 0),
             NonlinearConstraint(lambda x: x[0] + x[1] ** 2, 1, 1)]
    with pytest.raises(ValueError, match="constraints"):
        minimize(_quad, x0, args=(0.5,), method="trust-constr", constraints=three)
    with pytest.raises(ValueError, match="exception_strategy"):
        BFGS(exception_strategy="nope")
    with pytest.raises(ValueError, match="approx_type"):
        SR1().initialize(2, "hessian")


@pytest.mark.parametrize("cls,kw", [(BFGS, {}), (BFGS, {"exception_strategy": "damp_update"}), (SR1, {})])
def test_hessian_update_strategies_match_scipy(cls, kw):
    rng = np.random.default_rng(0)
    for approx_type in ("hess", "inv_hess"):
        ours = cls(**kw).initialize(3, approx_type)
        theirs = getattr(so, cls.__name__)(**kw)
        theirs.initialize(3, approx_type)
        for i in range(5):  # odd steps have positive curvature, even ones may be skipped or damped
            s = rng.normal(size=3)
            y = rng.normal(size=3) + (s if i % 2 else 0)
            ours = ours.update(s, y)
            theirs.update(s, y)
        assert isinstance(ours, HessianUpdateStrategy)
        np.testing.assert_allclose(ours.get_matrix(), theirs.get_matrix(), rtol=1e-10, atol=1e-12)
        p = rng.normal(size=3)
        np.testing.assert_allclose(ours @ p, theirs.dot(p), rtol=1e-10, atol=1e-12)
