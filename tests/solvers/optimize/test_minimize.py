"""minimize against SciPy on its standard problems, plus jit/vmap/grad/float32/bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import Bounds, OptimizeResult, minimize


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def powell_singular(x):
    return ((x[0] + 10 * x[1]) ** 2 + 5 * (x[2] - x[3]) ** 2 + (x[1] - 2 * x[2]) ** 4
            + 10 * (x[0] - x[3]) ** 4)


def beale(x):
    return ((1.5 - x[0] + x[0] * x[1]) ** 2 + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2
            + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2)


def quad(x, a):
    return jnp.sum((x - a) ** 2) + 0.5 * x[0] * x[1]


GRADIENT_METHODS = ["BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-exact", "dogleg", "SLSQP"]
ALL_METHODS = GRADIENT_METHODS + ["Nelder-Mead"]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_rosenbrock_2d_matches_scipy(method):
    x0 = np.array([-1.2, 1.0])
    res = minimize(rosen, x0, method=method)
    needs_hess = method in ("Newton-CG", "trust-ncg", "trust-exact", "dogleg")
    ref = so.minimize(so.rosen, x0, method=method,
                      jac=None if method == "Nelder-Mead" else so.rosen_der,
                      hess=so.rosen_hess if needs_hess else None)
    assert bool(res.success), res.message
    assert ref.success
    # Both land on the minimiser (1, 1) within the accuracy each method's tolerance allows.
    tol = 2e-3 if method in ("Nelder-Mead", "SLSQP", "CG") else 1e-4
    np.testing.assert_allclose(res.x, ref.x, atol=tol)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=tol)
    assert res.fun <= ref.fun + 1e-6
    assert int(res.nit) > 0 and int(res.nfev) > 0
    if method == "Nelder-Mead":  # a port of SciPy's: same iterations, evaluations and simplex
        assert int(res.nit) == ref.nit and int(res.nfev) == ref.nfev
        np.testing.assert_allclose(res.final_simplex[0], ref.final_simplex[0], rtol=1e-10)


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "trust-ncg"])
def test_rosenbrock_10d(method):
    x0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2] * 2)
    res = minimize(rosen, x0, method=method)
    ref = so.minimize(so.rosen, x0, method=method, jac=so.rosen_der, hess=so.rosen_hess
                      if method == "trust-ncg" else None)
    assert bool(res.success)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-4)


@pytest.mark.parametrize("problem,x0,atol", [(powell_singular, [3.0, -1.0, 0.0, 1.0], 2e-2),
                                              (beale, [1.0, 1.0], 1e-4)])
def test_powell_and_beale(problem, x0, atol):
    res = minimize(problem, np.array(x0))
    f, g = jax.jit(problem), jax.jit(jax.grad(problem))  # compiled once for SciPy's many calls
    ref = so.minimize(lambda x: float(f(x)), np.array(x0), method="BFGS", jac=lambda x: np.asarray(g(x)))
    assert res.fun <= ref.fun + 1e-8
    np.testing.assert_allclose(res.x, ref.x, atol=atol)


def test_integer_array_args_are_allowed():
    # Integer arrays in args (indices) are data, not differentiated, and do not break caching.
    idx = jnp.array([0, 2])
    f = lambda x, idx, w: jnp.sum((x[idx] - w) ** 2) + 0.01 * jnp.sum(x**2)  # noqa: E731
    g = jax.grad(lambda w: minimize(f, jnp.ones(3), args=(idx, w)).x.sum())(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [1 / 1.01, 1 / 1.01], rtol=1e-6)


def test_bfgs_fields_and_dict_access():
    res = minimize(rosen, np.array([-1.2, 1.0]))
    assert isinstance(res, OptimizeResult)
    assert res["x"] is res.x and "hess_inv" in res
    assert res.hess_inv.shape == (2, 2)
    # The inverse-Hessian estimate approximates the true one at the minimum.
    true = np.linalg.inv(so.rosen_hess(np.array([1.0, 1.0])))
    np.testing.assert_allclose(res.hess_inv, true, rtol=0.3, atol=0.05)
    assert res.message == "Optimization terminated successfully."
    np.testing.assert_allclose(res.jac, 0.0, atol=1e-5)


def test_jac_true_and_callable():
    x0 = np.array([-1.2, 1.0])
    fg = lambda x: (rosen(x), jax.grad(rosen)(x))  # noqa: E731
    a = minimize(fg, x0, jac=True)
    b = minimize(rosen, x0, jac=jax.grad(rosen))
    c = minimize(rosen, x0)
    np.testing.assert_allclose(a.x, c.x, atol=1e-10)
    np.testing.assert_allclose(b.x, c.x, atol=1e-10)


def test_active_bounds_match_scipy_and_grad():
    a = jnp.array([2.0, -3.0, 0.3])
    bounds = [(-1.0, 1.0)] * 3
    res = minimize(quad, np.zeros(3), args=(a,), method="L-BFGS-B", bounds=bounds)
    f, g = jax.jit(quad), jax.jit(jax.grad(quad))  # compiled once for SciPy's many calls
    ref = so.minimize(lambda x: float(f(x, a)), np.zeros(3), method="L-BFGS-B",
                      jac=lambda x: np.asarray(g(x, a)), bounds=bounds)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert res.x[0] == 1.0 and res.x[1] == -1.0  # exactly on the bounds
    # Free coordinate: x2 = a2 (no coupling with x0*x1 term); active ones have zero derivative.
    jac = jax.jacobian(lambda a: minimize(quad, jnp.zeros(3), args=(a,), method="L-BFGS-B",
                                          bounds=bounds).x)(a)
    np.testing.assert_allclose(jac, np.diag([0.0, 0.0, 1.0]), atol=1e-8)


def test_x0_outside_bounds_is_clipped_with_warning():
    with pytest.warns(so.OptimizeWarning, match="not within the specified bounds"):
        res = minimize(quad, np.array([5.0, 0.0]), args=(jnp.zeros(2),), method="L-BFGS-B",
                       bounds=[(-1, 1), (-1, 1)])
    assert bool(res.success)


SLSQP_CONS = ({"type": "ineq", "fun": lambda x: x[0] - 2 * x[1] + 2},
              {"type": "ineq", "fun": lambda x: -x[0] - 2 * x[1] + 6},
              {"type": "ineq", "fun": lambda x: -x[0] + 2 * x[1] + 2})


def _tutorial(x):
    return (x[0] - 1) ** 2 + (x[1] - 2.5) ** 2


def test_slsqp_inequality_and_bounds_match_scipy():
    x0 = np.array([2.0, 0.0])
    bnds = ((0, None), (0, None))
    res = minimize(_tutorial, x0, method="SLSQP", bounds=bnds, constraints=SLSQP_CONS)
    ref = so.minimize(_tutorial, x0, method="SLSQP", bounds=bnds, constraints=SLSQP_CONS)
    assert bool(res.success) and res.message == "Optimization terminated successfully"
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)


def test_slsqp_equality_and_constraint_objects():
    x0 = np.array([0.5, 0.7])
    neg_xy = lambda x: -x[0] * x[1]  # noqa: E731
    circle = {"type": "eq", "fun": lambda x: x[0] ** 2 + x[1] ** 2 - 1}
    ref = so.minimize(neg_xy, x0, method="SLSQP", constraints=circle)
    res = minimize(neg_xy, x0, constraints=circle)  # SLSQP chosen by default
    np.testing.assert_allclose(res.x, ref.x, atol=1e-4)
    nl = so.NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, 1.0, 1.0)
    np.testing.assert_allclose(minimize(neg_xy, x0, constraints=nl).x, ref.x, atol=1e-4)
    compiles = []
    listener = lambda event, *a, **k: compiles.append(event) if "backend_compile" in event else None  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        np.testing.assert_allclose(minimize(neg_xy, x0 + 0.1, constraints=nl).x, ref.x, atol=1e-4)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert not compiles  # the same constraint object and a new x0: no recompilation
    lin = so.LinearConstraint(np.array([[1.0, 1.0]]), -np.inf, 1.0)
    res = minimize(lambda x: jnp.sum((x - 1.0) ** 2), np.zeros(2), constraints=[lin])
    np.testing.assert_allclose(res.x, [0.5, 0.5], atol=1e-6)


def test_constrained_quadratic_implicit_grad():
    # min |x - a|^2  s.t. x0 + x1 = b  ->  x = a + (b - sum a)/2 ; dx/da = I - 11^T/2, dx/db = 1/2.
    def solve(a, b):
        con = {"type": "eq", "fun": lambda x, b: x[0] + x[1] - b, "args": (b,)}
        return minimize(lambda x, a: jnp.sum((x - a) ** 2), jnp.zeros(2), args=(a,),
                        constraints=con).x

    a, b = jnp.array([0.3, -0.2]), jnp.array(1.0)
    np.testing.assert_allclose(jax.jacobian(solve)(a, b), np.eye(2) - 0.5, atol=1e-6)
    np.testing.assert_allclose(jax.jacobian(solve, argnums=1)(a, b), [0.5, 0.5], atol=1e-6)


_jitted_quad_min = jax.jit(lambda a: minimize(quad, jnp.zeros(3), args=(a,)).x)


def test_unconstrained_implicit_grad_analytic_and_fd():
    # Minimiser of quad solves H x = 2a with H = [[2, .5, 0], [.5, 2, 0], [0, 0, 2]].
    h = np.array([[2.0, 0.5, 0.0], [0.5, 2.0, 0.0], [0.0, 0.0, 2.0]])
    a = jnp.array([1.0, 2.0, 3.0])
    jac = jax.jacobian(_jitted_quad_min)(a)
    np.testing.assert_allclose(jac, 2 * np.linalg.inv(h), atol=1e-8)
    # A non-quadratic objective against central finite differences.
    f = lambda x, p: jnp.sum((x - p) ** 4) + jnp.sum(x**2) * p[0]  # noqa: E731
    sol = lambda p: jnp.sum(minimize(f, jnp.zeros(2), args=(p,), options={"gtol": 1e-8}).x ** 2)  # noqa: E731
    p = jnp.array([0.7, -0.4])
    g = jax.grad(sol)(p)
    eps = 1e-5
    fd = [(sol(p.at[i].add(eps)) - sol(p.at[i].add(-eps))) / (2 * eps) for i in range(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7)


def test_gradient_memory_does_not_grow_with_iterations():
    def loss(a, maxiter):
        return jnp.sum(minimize(rosen, a, options={"maxiter": maxiter, "gtol": 0.0}).x)

    def temp_bytes(maxiter):
        compiled = jax.jit(jax.grad(lambda a: loss(a, maxiter))).lower(jnp.zeros(4)).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    assert temp_bytes(1000) == temp_bytes(10)


def test_jit_does_not_recompile_and_vmap_matches_loop():
    traces = []

    def f(x, a):
        traces.append(None)
        return jnp.sum((x - a) ** 2) + jnp.sum(x**4)

    solve = jax.jit(lambda a: minimize(f, jnp.zeros(2), args=(a,)))
    solve(jnp.array([1.0, 2.0]))
    n = len(traces)
    solve(jnp.array([3.0, -1.0]))
    assert len(traces) == n and solve._cache_size() == 1

    batch = jnp.array([[1.0, 2.0], [0.0, 0.0], [-3.0, 5.0]])
    res = jax.vmap(lambda a: minimize(f, jnp.zeros(2), args=(a,)))(batch)
    for i, a in enumerate(batch):
        one = minimize(f, jnp.zeros(2), args=(a,))
        np.testing.assert_allclose(res.x[i], one.x, atol=1e-12)
        assert int(res.nit[i]) == int(one.nit)
    assert res.nit[1] == 0  # already optimal at x0: zero iterations, unaffected by neighbours


@pytest.mark.parametrize("method", ALL_METHODS)
def test_float32(method):
    x0 = jnp.array([-1.2, 1.0], dtype=jnp.float32)
    res = minimize(lambda x: jnp.sum((x - 0.5) ** 2) + 0.1 * jnp.sum(x**4), x0, method=method)
    assert res.x.dtype == jnp.float32
    ref = so.minimize(lambda x: np.sum((x - 0.5) ** 2) + 0.1 * np.sum(x**4), np.array([-1.2, 1.0]))
    np.testing.assert_allclose(res.x, ref.x, atol=2e-3)


def test_pytree_x0():
    params = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
    target = {"w": jnp.eye(2), "b": jnp.array([1.0, -1.0])}
    loss = lambda p: sum(jnp.sum((p[k] - target[k]) ** 2) for k in p)  # noqa: E731
    res = minimize(loss, params)
    assert res.x["w"].shape == (2, 2)
    np.testing.assert_allclose(res.x["w"], target["w"], atol=1e-6)
    np.testing.assert_allclose(res.x["b"], target["b"], atol=1e-6)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_nan_objective_fails_honestly(method):
    res = minimize(lambda x: jnp.sum(x**2) + jnp.nan, np.array([1.0, 2.0]), method=method)
    assert not bool(res.success)
    assert "NaN" in res.message


def test_maxiter_reached():
    res = minimize(rosen, np.array([-1.2, 1.0]), options={"maxiter": 3})
    assert int(res.status) == 1 and not bool(res.success) and int(res.nit) == 3
    assert "Maximum number of iterations" in res.message


def test_bad_inputs():
    x0 = np.zeros(2)
    with pytest.raises(ValueError, match="method"):
        minimize(rosen, x0, method="nope")
    with pytest.raises(ValueError, match="x0"):
        minimize(rosen, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="bounds"):
        minimize(rosen, x0, bounds=[(1, 0), (0, 1)])
    with pytest.raises(ValueError, match="bounds"):
        minimize(rosen, x0, bounds=[(0, 1)] * 3)
    with pytest.raises(ValueError, match="constraints"):
        minimize(rosen, x0, constraints={"type": "bad", "fun": rosen})
    with pytest.raises(ValueError, match="constraints"):
        minimize(rosen, x0, constraints={"type": "eq"})
    with pytest.raises(ValueError, match="maxiter"):
        minimize(rosen, x0, options={"maxiter": -1})
    with pytest.raises(ValueError, match="options"):
        minimize(rosen, x0, options={"gtoll": 1e-3})
    with pytest.raises(TypeError, match="method"):
        minimize(rosen, x0, method=3)
    with pytest.warns(RuntimeWarning, match="cannot handle bounds"):
        minimize(rosen, x0, method="BFGS", bounds=[(0, 1)] * 2)


def test_implicit_gradients_agree_with_jaxopt():
    # jaxopt (test extra only) is an independent implementation of implicit differentiation.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jaxopt
        from jaxopt.projection import projection_box

    def objective(x, p):
        return jnp.sum((x - p) ** 2) + 0.3 * jnp.sum(x**4) + 0.2 * x[0] * x[1]

    p = jnp.array([0.8, -0.5, 1.5])
    x0 = jnp.zeros(3)

    def ours(p):
        return jnp.sum(jnp.sin(minimize(objective, x0, args=(p,), options={"gtol": 1e-8}).x))

    def theirs(p):
        sol = jaxopt.LBFGS(fun=objective, tol=1e-10, maxiter=500, implicit_diff=True).run(x0, p).params
        return jnp.sum(jnp.sin(sol))

    np.testing.assert_allclose(jax.grad(ours)(p), jax.grad(theirs)(p), rtol=1e-6, atol=1e-9)

    lo, hi = -jnp.ones(3), 0.6 * jnp.ones(3)

    def ours_box(p):
        x = minimize(objective, x0, args=(p,), method="L-BFGS-B", bounds=Bounds(lo, hi),
                     options={"gtol": 1e-10, "ftol": 1e-14}).x
        return jnp.sum(jnp.sin(x))

    def theirs_box(p):
        pg = jaxopt.ProjectedGradient(fun=objective, projection=projection_box, tol=1e-10,
                                      maxiter=5000, implicit_diff=True)
        return jnp.sum(jnp.sin(pg.run(x0, hyperparams_proj=(lo, hi), p=p).params))

    np.testing.assert_allclose(jax.grad(ours_box)(p), jax.grad(theirs_box)(p), rtol=1e-5, atol=1e-8)
