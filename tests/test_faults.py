"""Honest answers under faults (issue 15).

1. A gradient through a solve that did not succeed (iteration cap, blow-up) is NaN in every
   family, while a converged solve's gradient matches the analytic derivative.
2. Non-finite inputs and other faults never report success.

Problems are chosen with closed-form solutions so that the converged derivatives are exact.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scijax.solvers import integrate, linalg, optimize  # noqa: F401  (linalg: section 2)


def _banana(x, a):
    # Minimiser (a, a**2): d x0 / da = 1.
    return (x[0] - a) ** 2 + 10.0 * (x[1] - x[0] ** 2) ** 2


_X0 = jnp.array([-1.2, 1.0])

# --- 1. gradients at non-convergence -----------------------------------------------------------

# One method per code path of `minimize` (unconstrained, bounded, constrained): the NaN gradient
# is attached there, after whichever engine ran.
_MINIMIZE = {
    "BFGS": {},
    "L-BFGS-B": {"bounds": [(-5.0, 5.0), (-5.0, 5.0)]},
    "SLSQP": {"constraints": [{"type": "ineq", "fun": lambda x: 10.0 - x[0]}]},
}


@pytest.mark.parametrize("method", list(_MINIMIZE))
def test_minimize_gradient_nan_after_cap_exact_after_convergence(method):
    def x0_of(a, maxiter):
        res = optimize.minimize(_banana, _X0, args=(a,), method=method,
                                options={"maxiter": maxiter}, **_MINIMIZE[method])
        return res.x[0], res.success

    g, success = jax.grad(x0_of, has_aux=True)(0.7, 2)
    assert not bool(success) and np.isnan(g)
    g, success = jax.grad(x0_of, has_aux=True)(0.7, 2000)
    # Derivatives at the returned point, which is within the default tolerances (1e-5) of the
    # minimiser.
    assert bool(success)
    np.testing.assert_allclose(g, 1.0, rtol=1e-4)


def test_minimize_forward_mode_and_fun_are_nan_after_cap():
    def out(a):
        res = optimize.minimize(_banana, _X0, args=(a,), method="BFGS", options={"maxiter": 2})
        return jnp.stack([res.x[0], res.fun])

    assert np.all(np.isnan(jax.jacfwd(out)(0.7)))
    assert np.all(np.isfinite(out(0.7)))  # the values themselves are the capped iterate


def _cube_system(x, a):
    # Root (a**(1/3), a**(1/3)).
    return jnp.array([x[0] ** 3 - a, x[1] - x[0]])


@pytest.mark.parametrize("method, cap", [("hybr", {"maxfev": 3})])
def test_root_gradient_nan_after_cap_exact_after_convergence(method, cap):
    def x0_of(a, options):
        return optimize.root(_cube_system, jnp.array([3.0, 3.0]), args=(a,), method=method,
                             options=options).x[0]

    a = 2.0
    assert np.isnan(jax.grad(x0_of)(a, cap))
    assert np.isnan(jax.jacfwd(x0_of)(a, cap))
    np.testing.assert_allclose(jax.grad(x0_of)(a, None), a ** (-2 / 3) / 3, rtol=1e-6)


def _lsq_residuals(x, a):
    return jnp.array([10.0 * (x[1] - x[0] ** 2), a - x[0]])  # solution (a, a**2)


@pytest.mark.parametrize("method", ["trf"])
def test_least_squares_gradient_nan_after_cap_exact_after_convergence(method):
    def x0_of(a, max_nfev):
        return optimize.least_squares(_lsq_residuals, _X0, args=(a,), method=method,
                                      max_nfev=max_nfev).x[0]

    assert np.isnan(jax.grad(x0_of)(0.7, 2))
    np.testing.assert_allclose(jax.grad(x0_of)(0.7, None), 1.0, rtol=1e-6)


def test_curve_fit_gradient_nan_after_cap_exact_after_convergence():
    xdata = jnp.linspace(0.0, 1.0, 8)

    def amplitude(a, maxfev):
        ydata = a * jnp.exp(2.0 * xdata)
        popt, _ = optimize.curve_fit(lambda x, p, q: p * jnp.exp(q * x), xdata, ydata,
                                     p0=[1.0, 1.0], maxfev=maxfev)
        return popt[0]

    assert np.isnan(jax.grad(amplitude)(1.5, 3))
    np.testing.assert_allclose(jax.grad(amplitude)(1.5, 1000), 1.0, rtol=1e-6)


def test_fixed_point_gradient_nan_after_cap_exact_after_convergence():
    # x = sqrt(a / (x + 1)) has x**3 + x**2 = a, so dx/da = 1 / (3 x**2 + 2 x).
    def fp(a, maxiter):
        return optimize.fixed_point(lambda x, a: jnp.sqrt(a / (x + 1.0)), 1.0, args=(a,),
                                    maxiter=maxiter)

    capped = jax.jit(jax.value_and_grad(lambda a: fp(a, 2)))
    value, g = capped(10.0)
    assert np.isnan(value) and np.isnan(g)
    x = fp(10.0, 500)
    np.testing.assert_allclose(jax.grad(fp)(10.0, 500), 1.0 / (3 * x**2 + 2 * x), rtol=1e-7)


@pytest.mark.parametrize("name", ["brentq", "newton", "minimize_scalar"])
def test_scalar_solvers_gradient_nan_after_cap_exact_after_convergence(name):
    cube = lambda x, a: x**3 - a  # noqa: E731
    solvers = {
        "brentq": lambda a, n: optimize.brentq(cube, 0.0, 3.0, args=(a,), maxiter=n, disp=False),
        "newton": lambda a, n: optimize.newton(cube, 3.0, fprime=lambda x, a: 3 * x**2, args=(a,),
                                               maxiter=n, disp=False),
        # minimiser of (x**3 - a)**2 is the cube root too
        "minimize_scalar": lambda a, n: optimize.minimize_scalar(
            lambda x, a: (x**3 - a) ** 2, bracket=(0.5, 2.0), args=(a,),
            options={"maxiter": n}).x,
    }
    solve = solvers[name]
    a = 2.0
    assert np.isnan(jax.grad(solve)(a, 2))
    np.testing.assert_allclose(jax.grad(solve)(a, 100), a ** (-2 / 3) / 3, rtol=1e-6)


def test_newton_elementwise_gradient_nan_only_where_failed_forward_mode():
    # Element 0 converges in 5 iterations, element 1 (far start) does not.
    def roots(a):
        return optimize.newton(lambda x, a: x**3 - a, jnp.array([1.3, 50.0]),
                               fprime=lambda x, a: 3 * x**2, args=(a,), maxiter=5, disp=False)

    jac = jax.jacfwd(roots)(jnp.array([2.0, 2.0]))
    np.testing.assert_allclose(jac[0, 0], 2.0 ** (-2 / 3) / 3, rtol=1e-6)
    assert np.isnan(jac[1, 1])


def _decay(k, adjoint="checkpoint"):
    # y' = -k y on (0, 2) within 40 steps: enough for k = 0.5, too few for the stiff k = 200.
    res = integrate.solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), jnp.array([1.0]), args=(k,),
                              t_eval=jnp.array([2.0]), rtol=1e-8, atol=1e-10, max_steps=40,
                              adjoint=adjoint)
    return res.y[0, -1]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_solve_ivp_gradient_nan_when_out_of_steps_exact_when_solved(mode):
    grad = jax.grad(_decay) if mode == "reverse" else jax.jacfwd(lambda k: _decay(k, "forward"))
    g = jax.vmap(grad)(jnp.array([0.5, 200.0]))
    np.testing.assert_allclose(g[0], -2.0 * np.exp(-1.0), rtol=1e-6)
    assert np.isnan(g[1])


def test_solve_ivp_gradient_nan_after_blow_up():
    # y' = k y**2, y(0) = 1 blows up at t = 1/k: the solve fails, and so does its gradient,
    # including the derivative with respect to an array `fun` closes over.
    def last(k):
        res = integrate.solve_ivp(lambda t, y: k * y**2, (0.0, 2.0), jnp.array([1.0]),
                                  t_eval=jnp.array([0.5, 2.0]))
        return res.y[0, 0], res.status

    (y_half, status), vjp = jax.vjp(last, 1.0)
    assert int(status) == -1
    np.testing.assert_allclose(y_half, 2.0, rtol=1e-3)  # the values before the blow-up stay
    assert np.isnan(vjp((1.0, np.zeros((), jax.dtypes.float0)))[0])


# --- 2. false successes --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cg", "gmres", "bicgstab", "minres"])
def test_krylov_nonfinite_b_A_or_x0_give_nan_and_nonzero_info(name):
    solve = jax.jit(lambda A, b, x0: getattr(linalg, name)(A, b, x0=x0))
    A, b, x0 = jnp.array([[4.0, 1.0], [1.0, 3.0]]), jnp.array([1.0, 2.0]), jnp.zeros(2)
    x, info = solve(A, b, x0)
    assert int(info) == 0
    np.testing.assert_allclose(A @ x, b, atol=1e-4)
    for bad in [(A, b.at[1].set(jnp.inf), x0), (A.at[0, 1].set(jnp.nan), b, x0),
                (A, b, x0.at[0].set(jnp.nan)), (A, b.at[0].set(jnp.nan), x0)]:
        x, info = solve(*bad)
        assert int(info) > 0  # SciPy: NaN with info = maxiter
        assert np.all(np.isnan(x))


def test_nelder_mead_initial_simplex_of_wrong_shape_names_it():
    for simplex in (jnp.zeros((2, 2)), jnp.zeros((3, 3)), jnp.zeros(3)):
        with pytest.raises(ValueError, match="initial_simplex"):
            optimize.minimize(_banana, _X0, args=(1.0,), method="Nelder-Mead",
                              options={"initial_simplex": simplex})


def _rosen_wall(x, c):
    # Rosenbrock, NaN for x0 > c: with c = 0.5 the minimiser (1, 1) lies in the NaN region.
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2 + 0.0 * jnp.sqrt(c - x[0])


@pytest.mark.parametrize("method, nan_status", [("Nelder-Mead", 3), ("SLSQP", 10), ("Newton-CG", 3)])
def test_minimize_stopped_at_edge_of_nan_region_is_no_success(method, nan_status):
    solve = jax.jit(lambda c: optimize.minimize(_rosen_wall, _X0, args=(c,), method=method))
    res = solve(0.5)
    assert not bool(res.success) and int(res.status) == nan_status
    assert float(res.x[0]) <= 0.5
    res = solve(5.0)  # the same function with its NaN region away from the minimum
    assert bool(res.success)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=2e-3)


@pytest.mark.parametrize("method", ["trf", "lm"])  # lm: also jitted with its default bounds
def test_least_squares_stopped_at_edge_of_nan_region_is_no_success(method):
    def residuals(x, c):
        return jnp.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]]) + 0.0 * jnp.sqrt(c - x[0])

    solve = jax.jit(lambda c: optimize.least_squares(residuals, _X0, args=(c,), method=method))
    res = solve(0.5)
    assert not bool(res.success) and int(res.status) == 5
    res = solve(5.0)
    assert bool(res.success)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


def test_dense_solve_singular_raises_linalgerror_eagerly_nan_under_jit():
    from scipy.linalg import LinAlgError

    singular = jnp.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(LinAlgError):
        linalg.solve(singular, jnp.ones(2))
    with pytest.raises(LinAlgError):
        linalg.solve_banded((1, 1), jnp.zeros((3, 3)), jnp.ones(3))
    assert np.all(np.isnan(jax.jit(linalg.solve)(singular, jnp.ones(2))))


# --- 3. transforms that crash ----------------------------------------------------------------------

def test_dense_solvers_jit_with_closed_over_operands():
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    ab = jnp.array([[0.0, 1.0], [3.0, 2.0], [1.0, 0.0]])  # the same matrix, banded (1, 1)
    b = jnp.array([1.0, 2.0])
    expected = np.linalg.solve(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(jax.jit(lambda b: linalg.solve(a, b))(b), expected, atol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda a: linalg.solve(a, b))(a), expected, atol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda b: linalg.lstsq(a, b)[0])(b), expected, atol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda b: linalg.solve_banded((1, 1), ab, b))(b), expected,
                               atol=1e-12)
    # a closed-over singular matrix under jit: NaN, no crash
    assert np.all(np.isnan(jax.jit(lambda b: linalg.solve(jnp.ones((2, 2)), b))(b)))


def test_quad_and_quad_vec_differentiate_closed_over_values():
    # d/dc int_0^1 sin(c x) dx = int_0^1 x cos(c x) dx = (c sin(c) + cos(c) - 1) / c**2
    c = 2.0
    expected = (c * np.sin(c) + np.cos(c) - 1.0) / c**2
    g = jax.grad(lambda c: integrate.quad(lambda x: jnp.sin(c * x), 0.0, 1.0)[0])(c)
    np.testing.assert_allclose(g, expected, rtol=1e-10)
    g = jax.grad(lambda c: integrate.quad_vec(lambda x: jnp.sin(c * x) * jnp.ones(2), 0.0, 1.0)[0][1])(c)
    np.testing.assert_allclose(g, expected, rtol=1e-10)


def test_curve_fit_and_least_squares_lm_under_jit():
    xdata = jnp.linspace(0.0, 1.0, 8)
    fit = jax.jit(lambda y: optimize.curve_fit(lambda x, p, q: p * jnp.exp(q * x), xdata, y,
                                               p0=[1.0, 1.0], method="lm")[0])
    np.testing.assert_allclose(fit(1.5 * jnp.exp(2.0 * xdata)), [1.5, 2.0], rtol=1e-7)


# --- 6. bad input ----------------------------------------------------------------------------------

def test_quad_of_empty_interval_is_zero_as_scipy():
    for f in (lambda x: 1.0 / x, lambda x: jnp.log(x)):
        assert tuple(float(v) for v in integrate.quad(f, 0.0, 0.0)) == (0.0, 0.0)
    # the derivative with respect to the upper limit is still f(b)
    np.testing.assert_allclose(jax.grad(lambda b: integrate.quad(jnp.exp, 1.0, b)[0])(1.0), np.e)


def test_minimize_scalar_one_element_bracket_or_bounds_give_shape_one():
    f = lambda x: (x - 0.3) ** 2  # noqa: E731
    for kwargs in ({"bracket": (jnp.array([0.0]), jnp.array([1.0]))},
                   {"bounds": (np.array([0.0]), np.array([1.0]))}):
        res = optimize.minimize_scalar(f, **kwargs)
        assert res.x.shape == (1,) and res.fun.shape == (1,)
        np.testing.assert_allclose(res.x, [0.3], atol=1e-5)
    assert optimize.minimize_scalar(f, bracket=(0.0, 1.0)).x.shape == ()


def test_wrong_shapes_name_the_argument():
    with pytest.raises(ValueError, match="`jac`"):
        optimize.minimize(_banana, _X0, args=(1.0,), jac=lambda x, a: jnp.zeros(3), method="BFGS")
    xdata = jnp.linspace(0.0, 1.0, 8)
    with pytest.raises(ValueError, match="`f`.*`ydata`"):
        optimize.curve_fit(lambda x, p: p * x[:-1], xdata, xdata, p0=[1.0])
    with pytest.raises(ValueError, match="`y0`"):
        integrate.solve_ivp(lambda t, y: -y[:2], (0.0, 1.0), jnp.ones(3))


def test_solve_ivp_events_beyond_max_events_are_reported():
    def crossing(t, y):
        return y[0]

    def run(max_events):
        return integrate.solve_ivp(lambda t, y: jnp.array([y[1], -y[0]]), (0.0, 20.0),
                                   jnp.array([1.0, 0.0]), events=crossing, max_events=max_events)

    res = run(64)  # cos t crosses zero 6 times on (0, 20)
    assert int(res.status) == 0 and res.t_events[0].shape == (6,)
    res = run(2)
    assert int(res.status) == -1 and not bool(res.success)
    assert "max_events" in res.message
