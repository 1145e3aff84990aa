"""ensemble_solve_ivp: the lean backend against SciPy, the backends against each other, status."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.parallel import ensemble_solve_ivp, failed_fraction
from scijax.parallel._ivp import _choose_backend
from scijax.solvers.integrate.internal import TABLEAUS, evals_per_step, rk_step

from .problems import blow_up, cases, damped_oscillator, lorenz, numpy_fun, van_der_pol

N = 6
CASES = {name: rest for name, *rest in cases(N)}


def _scipy(fun, t_span, y0s, params, method, t_eval, **kw):
    out = []
    for i in range(len(y0s)):
        args = tuple(np.asarray(p)[i] for p in params)
        out.append(scipy_solve_ivp(numpy_fun(fun), t_span, y0s[i], method=method, t_eval=t_eval,
                                   args=args, **kw))
    return out


@pytest.mark.parametrize("method", ["RK45", "RK23"])
@pytest.mark.parametrize("name", ["lorenz", "van_der_pol"])
def test_lean_reproduces_scipy_steps(name, method):
    fun, t_span, y0s, params = CASES[name]
    t_eval = np.linspace(*t_span, 7)
    res = ensemble_solve_ivp(fun, t_span, y0s, params, method, t_eval, backend="lean", rtol=1e-6, atol=1e-8)
    ref = _scipy(fun, t_span, y0s, params, method, t_eval, rtol=1e-6, atol=1e-8)
    # Same controller, initial step and dense output as SciPy: the same steps, so the same nfev.
    np.testing.assert_array_equal(np.asarray(res.nfev), [r.nfev for r in ref])
    np.testing.assert_allclose(np.asarray(res.y), np.stack([r.y for r in ref]), rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(np.asarray(res.t), t_eval)
    assert res.success.all() and res.status.tolist() == [0] * N


def test_lean_accuracy_tsit5_and_fixed_steps():
    fun, t_span, y0s, params = CASES["damped_oscillator"]
    ref = _scipy(fun, t_span, y0s, params, "DOP853", [t_span[1]], rtol=1e-12, atol=1e-12)
    ref = np.stack([r.y[:, -1] for r in ref])
    for method, kw, tol in [("Tsit5", dict(rtol=1e-8, atol=1e-10), 1e-6),
                            ("RK4", dict(dt=1e-2), 1e-6), ("Tsit5", dict(dt=5e-2), 1e-5)]:
        res = ensemble_solve_ivp(fun, t_span, y0s, params, method, backend="lean", **kw)
        np.testing.assert_allclose(np.asarray(res.y[:, :, -1]), ref, atol=tol, err_msg=method)


@pytest.mark.parametrize("method", sorted(TABLEAUS))
def test_every_registry_method_on_lean(method):
    # Fixed steps: the lean loop takes exactly the shared core's steps (the core's orders are measured in
    # tests/solvers/integrate/test_rk_tableaus.py). Adaptive, for methods with an error estimate: accurate.
    tab = TABLEAUS[method]
    y0s, k = jnp.ones((1, 1)), (jnp.ones(1),)
    forced = lambda t, y, k: -k * y + jnp.sin(t)
    exact = 1.5 * np.exp(-2.0) + 0.5 * (np.sin(2.0) - np.cos(2.0))
    res = ensemble_solve_ivp(forced, (0.0, 2.0), y0s, k, method, backend="lean", dt=0.25)
    y = np.ones(1)
    for i in range(8):
        y = rk_step(lambda t, y: -y + np.sin(t), tab, 0.25 * i, y, 0.25)
    np.testing.assert_allclose(float(res.y[0, 0, -1]), y[0], rtol=1e-13)
    assert int(res.nfev[0]) == 1 + 8 * evals_per_step(tab)
    if tab.e is not None:
        rtol = 1e-8 if tab.order >= 4 else 1e-5  # low orders: within the default max_steps
        res = ensemble_solve_ivp(forced, (0.0, 2.0), y0s, k, method, backend="lean", rtol=rtol, atol=rtol / 100)
        assert res.success.all()
        np.testing.assert_allclose(float(res.y[0, 0, -1]), exact, rtol=100 * rtol)


def test_clip_mode_and_backward_integration():
    fun, t_span, y0s, params = CASES["van_der_pol"]
    t_eval = np.linspace(2.0, 0.0, 5)  # backwards from t = 2
    start = np.stack([r.y[:, -1] for r in _scipy(fun, t_span, y0s, params, "RK45", [2.0], rtol=1e-10,
                                                 atol=1e-12)])
    res = ensemble_solve_ivp(fun, (2.0, 0.0), start, params, t_eval=t_eval, backend="lean",
                             t_eval_mode="clip", rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(np.asarray(res.y[:, :, -1]), y0s, atol=1e-6)
    np.testing.assert_allclose(np.asarray(res.y[:, :, 0]), start)


def test_status_per_member_and_summaries():
    c = jnp.array([0.2, 0.5, 2.0, 0.3])  # c = 2 blows up at t = 0.5 < 1
    t_eval = jnp.array([0.0, 0.25, 0.75, 1.0])
    for backend in ("lean", "vmap"):
        res = ensemble_solve_ivp(blow_up, (0.0, 1.0), jnp.ones((4, 1)), (c,), t_eval=t_eval, backend=backend,
                                 rtol=1e-6, atol=1e-9, max_steps=500)
        assert res.status.tolist() == [0, 0, -1, 0], backend
        assert res.success.tolist() == [True, True, False, True]
        assert "successfully" in res.message and ";" in res.message  # two distinct messages
        assert float(failed_fraction(res)) == 0.25
        np.testing.assert_allclose(float(res.y[2, 0, 1]), 1 / (1 - 0.5), rtol=1e-4)  # before the failure
        assert np.isnan(np.asarray(res.y[2, 0, 2:])).all()  # never reached: nan, not a wrong number
        ok = np.array([0, 1, 3])
        np.testing.assert_allclose(np.asarray(res.y[ok, 0, -1]), 1 / (1 - np.asarray(c)[ok]), rtol=1e-4)


def test_auto_backend_and_result_access():
    fun, t_span, y0s, params = CASES["van_der_pol"]
    res = ensemble_solve_ivp(fun, t_span, y0s, params)
    assert res.backend == ("fused" if jax.default_backend() == "gpu" else "lean")
    assert res["y"].shape == (N, 2, 2) and "message" in res.keys()
    assert _choose_backend("auto", "Radau", {}, fun, jnp.asarray(y0s), params, None) == "vmap"
    assert _choose_backend("auto", "RK45", {"adjoint": "forward"}, fun, jnp.asarray(y0s), params, None) == "vmap"


def test_float32_stays_float32():
    fun, t_span, y0s, params = CASES["damped_oscillator"]
    y32 = jnp.asarray(y0s, jnp.float32)
    res = ensemble_solve_ivp(fun, t_span, y32, params, backend="lean", rtol=1e-5, atol=1e-7)
    res64 = ensemble_solve_ivp(fun, t_span, y0s, params, backend="lean", rtol=1e-5, atol=1e-7)
    assert res.y.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(res.y), np.asarray(res64.y), atol=1e-4)


TRACES = []


def _counted(t, y, k):
    TRACES.append(1)
    return -k * y


def test_jit_and_no_recompilation():
    solve = jax.jit(lambda y0s, k, te: ensemble_solve_ivp(_counted, (0.0, 1.0), y0s, (k,), t_eval=te,
                                                          backend="lean", rtol=1e-8, atol=1e-10).y)
    te = jnp.linspace(0.0, 1.0, 3)
    first = solve(jnp.ones((5, 1)), jnp.arange(5.0), te)
    n_traces = len(TRACES)
    second = solve(2 * jnp.ones((5, 1)), jnp.arange(5.0) + 1, te / 2)
    assert len(TRACES) == n_traces and solve._cache_size() == 1
    np.testing.assert_allclose(np.asarray(second[:, 0, -1]), 2 * np.exp(-(np.arange(5.0) + 1) * 0.5), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(first[:, 0, -1]), np.exp(-np.arange(5.0)), rtol=1e-6)
    # Eager calls with new values reuse the compiled program too.
    ensemble_solve_ivp(_counted, (0.0, 1.0), jnp.ones((5, 1)), (jnp.arange(5.0),), backend="lean")
    n_traces = len(TRACES)
    ensemble_solve_ivp(_counted, (0.0, 2.0), 3 * jnp.ones((5, 1)), (jnp.ones(5),), backend="lean")
    assert len(TRACES) == n_traces


def test_forward_mode_derivative_matches_analytic():
    # d/dk of y(1) = exp(-k) through the lean loop (forward mode; reverse needs backend='vmap').
    f = lambda k: ensemble_solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), jnp.ones((3, 1)), (k,),
                                     backend="lean", rtol=1e-10, atol=1e-12).y[:, 0, -1]
    k = jnp.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(np.diag(np.asarray(jax.jacfwd(f)(k))), -np.exp(-np.asarray(k)), rtol=1e-6)


def test_reverse_mode_picks_the_differentiable_backend():
    """`jax.grad` through backend='auto' runs 'vmap' (the lean loop has no reverse rule); asking for
    'lean' by name under `grad` is a clear TypeError, not JAX's raw while_loop error."""
    def loss(k, backend="auto"):
        res = ensemble_solve_ivp(lambda t, y, kk: -kk * y, (0.0, 1.0), jnp.ones((3, 1)), (k * jnp.arange(1.0, 4.0),),
                                 t_eval=jnp.array([1.0]), backend=backend, rtol=1e-8, atol=1e-10)
        return jnp.sum(res.y)

    exact = sum(-m * np.exp(-0.5 * m) for m in (1.0, 2.0, 3.0))  # d/dk sum_m exp(-k m)
    np.testing.assert_allclose(jax.grad(loss)(0.5), exact, rtol=1e-6)
    with pytest.raises(TypeError, match="backend='lean' cannot be differentiated in reverse mode"):
        jax.grad(lambda k: loss(k, "lean"))(0.5)


def test_pi_controller_option():
    fun, t_span, y0s, params = CASES["van_der_pol"]
    res = ensemble_solve_ivp(fun, t_span, y0s, params, backend="lean", rtol=1e-8, atol=1e-10,
                             pcoeff=0.3, icoeff=0.4)
    ref = _scipy(fun, t_span, y0s, params, "DOP853", [t_span[1]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(res.y[:, :, -1]), np.stack([r.y[:, -1] for r in ref]), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(backend="gpu"), ValueError, "`backend`"),
        (dict(method="RK99"), ValueError, "`method`"),
        (dict(rtol_typo=1e-3), ValueError, "Unknown option"),
        (dict(backend="lean", method="Radau"), ValueError, "method"),
        (dict(backend="lean", method="RK4"), ValueError, "`dt`"),
        (dict(backend="vmap", dt=0.1, method="RK4"), ValueError, "RK4"),
        (dict(backend="vmap", method="RK99"), ValueError, "`method`.*RK45"),
        (dict(backend="fused", method="Radau"), ValueError, "`method`.*RK45"),
        (dict(backend="vmap", dt=0.1, method="Kvaerno5"), ValueError, "`method='Kvaerno5'`.*`dt`"),
        (dict(backend="lean", dt=-1.0), ValueError, "`dt`"),
        (dict(backend="lean", max_steps=0), ValueError, "`max_steps`"),
        (dict(backend="lean", atol=[1.0, 2.0, 3.0]), ValueError, "`atol`"),
        (dict(t_eval=[0.0, 5.0]), ValueError, "`t_eval`"),
        (dict(backend="lean", t_eval_mode="nearest"), ValueError, "`t_eval_mode`"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ensemble_solve_ivp(van_der_pol, (0.0, 1.0), jnp.ones((3, 2)), (jnp.ones(3),), **kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match="`y0s`"):
        ensemble_solve_ivp(van_der_pol, (0.0, 1.0), jnp.ones(3), (jnp.ones(3),))
    with pytest.raises(ValueError, match="`params`"):
        ensemble_solve_ivp(van_der_pol, (0.0, 1.0), jnp.ones((3, 2)), (jnp.ones(4),))
    with pytest.raises(ValueError, match="`t_span`"):
        ensemble_solve_ivp(van_der_pol, (0.0, 1.0, 2.0), jnp.ones((3, 2)), (jnp.ones(3),))
    with pytest.raises(TypeError, match="`y0s`"):
        ensemble_solve_ivp(van_der_pol, (0.0, 1.0), jnp.ones((3, 2), complex), (jnp.ones(3),))
    with pytest.raises(ValueError, match="`fun`"):
        ensemble_solve_ivp(lambda t, y, k: y[:1], (0.0, 1.0), jnp.ones((3, 2)), (jnp.ones(3),), backend="fused")


del lorenz, damped_oscillator


def test_fixed_step_failures_are_reported():
    c = jnp.array([0.2, 4.0, 0.3])  # c = 4 blows up at t = 0.25: inf/nan within a few steps
    t_eval = jnp.array([0.0, 0.2, 0.6, 1.0])
    for backend in ("lean", "fused"):
        res = ensemble_solve_ivp(blow_up, (0.0, 1.0), jnp.ones((3, 1)), (c,), "RK4", t_eval, backend=backend,
                                 dt=0.01, unroll=3)
        assert res.status.tolist() == [0, -1, 0] and "non-finite" in res.message, backend
        np.testing.assert_allclose(float(res.y[1, 0, 1]), 1 / (1 - 0.8), rtol=1e-4)  # before the failure
        assert np.isnan(np.asarray(res.y[1, 0, 2:])).all()
        np.testing.assert_allclose(np.asarray(res.y[[0, 2], 0, -1]), 1 / (1 - np.array([0.2, 0.3])), rtol=1e-6)
        short = ensemble_solve_ivp(blow_up, (0.0, 1.0), jnp.ones((3, 1)), (c,), "RK4", t_eval, backend=backend,
                                   dt=0.01, max_steps=50)
        assert short.status.tolist() == [-1, -1, -1] and "max_steps" in short.message
        assert np.isfinite(np.asarray(short.y[[0, 2], 0, :2])).all() and np.isnan(np.asarray(short.y[:, 0, 2:])).all()


def test_no_params_and_integer_y0s():
    for backend in ("lean", "fused"):
        res = ensemble_solve_ivp(lambda t, y: -y, (0.0, 1.0), jnp.array([[1], [2]]), backend=backend,
                                 rtol=1e-8, atol=1e-10)
        assert res.y.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(res.y[:, 0, -1]), np.array([1.0, 2.0]) * np.exp(-1.0), rtol=1e-6)


def test_lean_large_batches_keep_order():
    # More members than one CPU cache block (1024), not a multiple of it: padded blocks, input order.
    n = 2100
    k = jnp.linspace(0.0, 2.0, n)
    y0s = jnp.arange(1.0, n + 1.0)[:, None]
    res = ensemble_solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), y0s, (k,), backend="lean", rtol=1e-8, atol=1e-10)
    assert res.y.shape == (n, 1, 2) and res.success.all()
    np.testing.assert_allclose(np.asarray(res.y[:, 0, -1]), np.asarray(y0s[:, 0] * jnp.exp(-k)), rtol=1e-6)


@pytest.mark.parametrize("method", ["DOP853", "Radau"])
def test_vmap_fixed_steps_run_methods_without_lean_nfev(method):
    # DOP853 and the stiff names raised a bare KeyError here once; now they run at constant steps.
    res = ensemble_solve_ivp(lambda t, y, k: -k * y, (0.0, 1.0), jnp.ones((2, 1)), (jnp.array([1.0, 2.0]),),
                             method, backend="vmap", dt=0.05)
    assert res.success.all()
    np.testing.assert_allclose(np.asarray(res.y[:, 0, -1]), np.exp(-np.array([1.0, 2.0])), rtol=1e-5)
