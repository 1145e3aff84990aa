"""Drop-in tests: SciPy-style scripts written with NumPy/``math``, with only the import swapped.

Each test runs the same user code through SciPy and scijax and compares within the requested
tolerance; checks that the host-path warning is issued once per function, and that under
``jax.jit``/``vmap``/``grad`` a ``NotTraceableError`` names the offending line.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.optimize as so

import scijax
from scijax.solvers import integrate as sji
from scijax.solvers import optimize as sjo

pytestmark = pytest.mark.filterwarnings("ignore::scijax.NotTraceableWarning")


def _host_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, scijax.NotTraceableWarning)]


# --- integrate ------------------------------------------------------------------------------------


def oscillator(t, y, k):
    return np.array([y[1], -k * y[0]])


def test_solve_ivp_numpy_rhs_matches_scipy_and_warns_once():
    y0 = np.array([1.0, 0.0])
    kw = dict(args=(2.0,), rtol=1e-8, atol=1e-10)
    ref = si.solve_ivp(oscillator, (0.0, 5.0), y0, **kw)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        res = sji.solve_ivp(oscillator, (0.0, 5.0), y0, **kw)
        again = sji.solve_ivp(oscillator, (0.0, 5.0), y0, **kw)
    host = _host_warnings(record)
    assert len(host) == 1
    assert "oscillator" in str(host[0].message) and "np.array([y[1], -k * y[0]])" in str(host[0].message)
    assert host[0].filename == __file__  # points at the user's call, not at scijax
    assert bool(res.success) and isinstance(res.y, np.ndarray)
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(again.y[:, -1], res.y[:, -1])


def test_solve_ivp_numpy_rhs_stiff_method_uses_host_jacobian():
    def robertson_like(t, y):
        out = np.zeros(2)
        out[0] = -50.0 * (y[0] - math.cos(t))  # in-place assignment and math: not traceable
        out[1] = y[0]
        return out

    ref = si.solve_ivp(robertson_like, (0.0, 1.0), [0.0, 0.0], method="Radau", rtol=1e-6, atol=1e-9)
    res = sji.solve_ivp(robertson_like, (0.0, 1.0), [0.0, 0.0], method="Radau", rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-7)


def test_solve_ivp_under_jit_raises_short_error_with_line():
    def rhs_if(t, y):
        if y[0] > 0:  # Python `if` on a value
            return -y
        return y

    with pytest.raises(scijax.NotTraceableError) as info:
        jax.jit(lambda y0: sji.solve_ivp(rhs_if, (0.0, 1.0), y0).y)(jnp.ones(1))
    msg = str(info.value)
    assert "rhs_if" in msg and "if y[0] > 0:" in msg and "jax.numpy" in msg
    assert isinstance(info.value, TypeError) and info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_odeint_list_returning_numpy_function():
    def pend(y, t, b, c):
        theta, omega = y
        return [omega, -b * omega - c * np.sin(theta)]

    t = np.linspace(0.0, 4.0, 5)
    ref = si.odeint(pend, [np.pi - 0.1, 0.0], t, args=(0.25, 5.0), rtol=1e-8, atol=1e-10)
    out = sji.odeint(pend, [np.pi - 0.1, 0.0], t, args=(0.25, 5.0), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-5, atol=1e-7)


def test_quad_with_math_and_python_scalar_args():
    value, err = sji.quad(lambda x: math.exp(-x * x), 0.0, 2.0)
    ref, _ = si.quad(lambda x: math.exp(-x * x), 0.0, 2.0)
    assert abs(float(value) - ref) < 1.5e-8 * abs(ref)
    f = lambda x, s: np.sqrt(2.0 * s) * x  # noqa: E731 - `s` arrives as a Python float
    assert abs(float(sji.quad(f, 0.0, 1.0, args=(2.0,))[0]) - si.quad(f, 0.0, 1.0, args=(2.0,))[0]) < 1e-12


def test_quad_untraceable_under_grad_raises():
    with pytest.raises(scijax.NotTraceableError, match="math.exp"):
        jax.grad(lambda b: sji.quad(lambda x: math.exp(-x), 0.0, b)[0])(1.0)


# --- optimize -------------------------------------------------------------------------------------


def objective(x, a):
    return (a - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2 + math.log(1.0 + x[0] ** 2) * 0.0


@pytest.mark.parametrize("method", ["Nelder-Mead", "BFGS"])
def test_minimize_math_objective(method):
    x0 = np.array([-1.0, 2.0])
    ref = so.minimize(objective, x0, args=(1.0,), method=method)
    res = sjo.minimize(objective, x0, args=(1.0,), method=method)
    np.testing.assert_allclose(np.asarray(res.x), ref.x, atol=2e-4)
    assert abs(float(res.fun) - ref.fun) < 1e-7


def test_minimize_untraceable_under_grad_and_vmap_raises():
    with pytest.raises(scijax.NotTraceableError, match="math.log"):
        jax.grad(lambda a: sjo.minimize(objective, jnp.zeros(2), args=(a,)).fun)(1.0)
    with pytest.raises(scijax.NotTraceableError):
        jax.vmap(lambda x0: sjo.minimize(objective, x0, args=(1.0,)).x)(jnp.zeros((2, 2)))


def test_rosen_from_scijax_with_its_derivative():
    x0 = np.array([1.3, 0.7, 0.8])
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="BFGS")
    res = sjo.minimize(sjo.rosen, x0, jac=sjo.rosen_der, method="BFGS")
    np.testing.assert_allclose(np.asarray(res.x), ref.x, atol=1e-4)


def test_root_with_list_output():
    def equations(x):
        return [x[0] + 0.5 * (x[0] - x[1]) ** 3 - 1.0, 0.5 * (x[1] - x[0]) ** 3 + x[1]]

    ref = so.root(equations, [0.0, 0.0], method="hybr")
    res = sjo.root(equations, [0.0, 0.0], method="hybr")
    np.testing.assert_allclose(np.asarray(res.x), ref.x, atol=1e-8)


def test_least_squares_and_curve_fit_numpy_model():
    t = np.linspace(0.0, 3.0, 25)
    y = 2.0 * np.exp(-1.3 * t) + 0.01 * np.sin(5 * t)

    def residuals(p, t, y):
        return p[0] * np.exp(-p[1] * t) - y

    ref = so.least_squares(residuals, [1.0, 1.0], args=(t, y))
    res = sjo.least_squares(residuals, [1.0, 1.0], args=(t, y))
    np.testing.assert_allclose(np.asarray(res.x), ref.x, rtol=1e-6)

    def model(t, a, b):
        return a * np.exp(-b * t)

    popt_ref, _ = so.curve_fit(model, t, y)
    popt, _ = sjo.curve_fit(model, t, y)
    np.testing.assert_allclose(np.asarray(popt), popt_ref, rtol=1e-6)


def test_scalar_root_finders_and_minimize_scalar_with_math():
    f = lambda x: math.cos(x) - x  # noqa: E731
    assert abs(float(sjo.brentq(f, 0.0, 1.0)) - so.brentq(f, 0.0, 1.0)) < 1e-12
    assert abs(float(sjo.newton(f, 1.0)) - so.newton(f, 1.0)) < 1e-10
    assert abs(float(sjo.root_scalar(f, bracket=[0, 1]).root) - so.root_scalar(f, bracket=[0, 1]).root) < 1e-12
    g = lambda x: (x - 2.0) ** 2 + math.sin(x)  # noqa: E731
    assert abs(float(sjo.minimize_scalar(g).x) - so.minimize_scalar(g).x) < 1e-7
    assert abs(float(sjo.minimize_scalar(g, bounds=(0, 5)).x) - so.minimize_scalar(g, bounds=(0, 5)).x) < 1e-5


def test_fixed_point_numpy():
    func = lambda x, c: np.sqrt(c / (x + 1.0))  # noqa: E731
    ref = so.fixed_point(func, np.array([1.0, 2.0]), args=(3.0,))
    out = sjo.fixed_point(func, np.array([1.0, 2.0]), args=(3.0,))
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-8)


def test_traceable_function_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", scijax.NotTraceableWarning)
        res = sjo.minimize(lambda x: jnp.sum((x - 1.0) ** 2), jnp.zeros(2))
    assert bool(res.success)


def test_user_bug_is_not_swallowed():
    def broken(x):
        raise ZeroDivisionError("user bug")

    with pytest.raises(ZeroDivisionError, match="user bug"):
        sjo.minimize(broken, jnp.zeros(2))


# --- closures in a loop ---------------------------------------------------------------------------

TRACES = []


def test_loop_closures_compile_once_and_use_new_values():
    """A lambda re-created per iteration reuses the compiled solve, with the new `k` traced."""
    y0 = np.array([1.0])
    for solver in ("solve_ivp", "minimize"):
        counts = []
        for k in (0.5, 1.0, 2.0):
            if solver == "solve_ivp":
                fun = lambda t, y: (TRACES.append(1), -k * y)[1]  # noqa: E731
                res = sji.solve_ivp(fun, (0.0, 1.0), y0, rtol=1e-9, atol=1e-12)
                assert abs(float(res.y[0, -1]) - math.exp(-k)) < 1e-7
            else:
                fun = lambda x: (TRACES.append(1), jnp.sum((x - k) ** 2))[1]  # noqa: E731
                res = sjo.minimize(fun, np.zeros(2))
                np.testing.assert_allclose(np.asarray(res.x), k, atol=1e-6)
            counts.append(len(TRACES))
        assert counts[2] == counts[1] == counts[0], (solver, counts)  # no new traces after the first k


def test_loop_closure_root_least_squares_quad_values():
    for c in (1.0, 4.0):
        r = sjo.root(lambda x: x ** 2 - c, jnp.array([1.0]))
        assert abs(float(r.x[0]) - math.sqrt(c)) < 1e-8
        ls = sjo.least_squares(lambda p: p - c, jnp.array([0.0]))
        assert abs(float(ls.x[0]) - c) < 1e-8
        q, _ = sji.quad(lambda x: c * x, 0.0, 1.0)
        assert abs(float(q) - c / 2) < 1e-12


def test_closure_over_function_stays_static():
    def make(g):
        return lambda x: jnp.sum(g(x) ** 2)

    a = sjo.minimize(make(lambda x: x - 1.0), jnp.zeros(2))
    b = sjo.minimize(make(lambda x: x - 3.0), jnp.zeros(2))  # same code, different closed-over function
    np.testing.assert_allclose(np.asarray(a.x), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(b.x), 3.0, atol=1e-6)


# --- printing -------------------------------------------------------------------------------------


def _printed_names(text: str) -> list[str]:
    return [line.split(":")[0].strip() for line in text.splitlines() if not line.startswith("   " * 4)
            and ":" in line and not line.lstrip().startswith("[")]


def test_print_result_like_scipy():
    ref = so.minimize(so.rosen, X0 := np.array([1.3, 0.7]), method="BFGS")
    res = sjo.minimize(sjo.rosen, X0, method="BFGS")
    text = str(res)
    assert text.splitlines()[0] == "  message: Optimization terminated successfully."
    assert set(_printed_names(str(ref))) <= set(_printed_names(text))
    assert len(text.splitlines()) <= len(str(ref).splitlines()) + 2  # no internal buffers
    ivp = str(sji.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0]))
    ivp_ref = str(si.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0]))
    assert _printed_names(ivp) == _printed_names(ivp_ref)


def test_disp_option_prints_scipy_summary(capsys):
    res = sjo.minimize(lambda x: np.sum((x - 3.0) ** 2), np.zeros(2), options={"disp": True})
    out = capsys.readouterr().out
    assert out.startswith("Optimization terminated successfully.\n         Current function value: ")
    assert f"Iterations: {int(res.nit)}" in out and f"Function evaluations: {int(res.nfev)}" in out
    sjo.minimize(lambda x: np.sum((x - 3.0) ** 2), np.zeros(2))
    assert capsys.readouterr().out == ""


G = 9.81


def test_closed_over_number_used_with_math_stays_compiled():
    """`math.sqrt` of a module-level float works when the float is a constant, so no host path."""
    def rhs(t, y):
        return -math.sqrt(G) * y

    with warnings.catch_warnings():
        warnings.simplefilter("error", scijax.NotTraceableWarning)
        res = sji.solve_ivp(rhs, (0.0, 0.1), jnp.array([1.0]), rtol=1e-9, atol=1e-12)
        r = sjo.root(lambda x: x - math.sqrt(G), jnp.array([1.0]))
    assert abs(float(res.y[0, -1]) - math.exp(-math.sqrt(G) * 0.1)) < 1e-8
    assert abs(float(r.x[0]) - math.sqrt(G)) < 1e-10
