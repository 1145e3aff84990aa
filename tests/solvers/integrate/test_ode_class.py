"""SciPy's legacy ``ode``/``complex_ode`` object API against ``scipy.integrate.ode`` on the same problems.

``ode`` is a stateful object, so there is no jit/vmap/grad of it (``solve_ivp`` is the differentiable
path); what is checked instead is that a loop of ``integrate`` calls compiles once.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si

from scijax.solvers.integrate import complex_ode, ode

_TRACES: list[int] = []


def _oscillator(t, z, k):  # SciPy's test_integrate.py "SimpleOscillator" (m = 1, spring constant k)
    _TRACES.append(1)
    return jnp.stack([z[1], -k * z[0]])


def _oscillator_jac(t, z, k):
    return jnp.array([[0.0, 1.0], [-k, 0.0]])


def _exact(t, z0, k):
    w = np.sqrt(k)
    c, s = np.cos(w * t), np.sin(w * t)
    return np.array([z0[0] * c + z0[1] / w * s, -z0[0] * w * s + z0[1] * c])


def _minus(t, y):
    return -y


def _loop(r, t1, dt):
    ts, ys = [], []
    while r.successful() and r.t < t1:
        ys.append(np.array(r.integrate(r.t + dt)))
        ts.append(r.t)
    return np.array(ts), np.array(ys)


@pytest.mark.parametrize("name, options", [("dopri5", {}), ("vode", {"method": "bdf", "with_jacobian": True})])
def test_usage_loop_matches_scipy_without_recompiling(name, options):
    def run(cls, fun, jac):
        r = cls(fun, jac).set_integrator(name, rtol=1e-8, atol=1e-10, **options)
        return r.set_initial_value([1.0, 0.5], 0.0).set_f_params(0.7).set_jac_params(0.7), r

    ours, r = run(ode, _oscillator, _oscillator_jac)
    ref, r_ref = run(si.ode, lambda t, z, k: [z[1], -k * z[0]], lambda t, z, k: [[0.0, 1.0], [-k, 0.0]])
    ts, ys = _loop(ours, 1.0, 0.1)
    n_traces = len(_TRACES)
    ts_ref, ys_ref = _loop(ref, 1.0, 0.1)
    np.testing.assert_allclose(ts, ts_ref, rtol=1e-12)
    exact = _exact(ts, [1.0, 0.5], 0.7).T
    # as accurate as SciPy's integrator on the same tolerances (vode's BDF is more accurate per step)
    assert np.max(np.abs(ys - exact)) <= 10 * max(np.max(np.abs(ys_ref - exact)), 1e-8)
    assert ours.successful() and ours.get_return_code() == ref.get_return_code()
    assert isinstance(ours.y, np.ndarray) and isinstance(ours.t, float)
    # new t, y and f_params values (and a new object with the same f): no new trace
    ours.set_f_params(1.3).set_jac_params(1.3).set_initial_value([2.0, 0.0], 0.5)
    y_new = ours.integrate(0.9)
    r2 = ode(_oscillator, _oscillator_jac).set_integrator(name, rtol=1e-8, atol=1e-10, **options)
    r2.set_initial_value([1.0, 1.0], 0.0).set_f_params(0.2).set_jac_params(0.2).integrate(-0.3)
    assert len(_TRACES) == n_traces
    np.testing.assert_allclose(y_new, _exact(0.4, [2.0, 0.0], 1.3), rtol=1e-5)


def test_failures_and_numpy_functions():
    # step budget exhausted on stiff van der Pol (a NumPy-written f returning a list, SciPy style: it
    # runs on the host, with the package's warning): SciPy's code, warning, and the last point reached
    def vdp(t, y):
        return [y[1], 1000 * (1 - y[0] ** 2) * y[1] - y[0]]

    for name, code, message in [("dopri5", -2, "dopri5: larger nsteps is needed")]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*cannot be traced.*")
            r = ode(vdp).set_integrator(name, nsteps=20)
            r.set_initial_value([2.0, 0.0], 0.0)
            with pytest.warns(UserWarning, match=message):
                r.integrate(10.0)
        ref = si.ode(vdp).set_integrator(name, nsteps=20).set_initial_value([2.0, 0.0], 0.0)
        with pytest.warns(UserWarning, match=message):
            ref.integrate(10.0)
        assert not r.successful() and r.get_return_code() == ref.get_return_code() == code
        assert 0.0 < r.t < 0.05 and np.all(np.isfinite(r.y))
    # non-finite f (a NaN parameter): an honest failure with SciPy's code, not a hang
    r = ode(_oscillator).set_integrator("dopri5", rtol=1e-8, atol=1e-10).set_initial_value([1.0, 0.5], 0.0)
    with pytest.warns(UserWarning, match="dopri5: step size becomes too small"):
        r.set_f_params(np.nan).integrate(1.0)
    assert not r.successful() and r.get_return_code() == -3


def test_complex_ode_zvode_solout_and_step():
    def cf(t, y, a):
        return 1j * a * y

    def cjac(t, y, a):
        return 1j * a * jnp.eye(1)

    r = complex_ode(cf, cjac).set_integrator("vode", method="bdf", rtol=1e-9, atol=1e-12)
    r.set_initial_value([1.0 + 0.5j], 0.0).set_f_params(2.0).set_jac_params(2.0)
    exact = (1.0 + 0.5j) * np.exp(2.0j)
    np.testing.assert_allclose(r.integrate(1.0), [exact], rtol=1e-6)
    assert np.iscomplexobj(r.y) and r.t == 1.0
    z = ode(cf, cjac).set_integrator("zvode", method="bdf", rtol=1e-9, atol=1e-12)  # shares the compile
    z.set_initial_value([1.0 + 0.5j], 0.0).set_f_params(2.0).set_jac_params(2.0)
    np.testing.assert_allclose(z.integrate(1.0), [exact], rtol=1e-6)
    # solout (dopri5): called at the start and after each step; -1 stops there with code 2, as SciPy
    # (SciPy 1.17 calls solout with f_params appended, so the reference runs without parameters)
    seen: dict[str, list] = {"ours": [], "scipy": []}
    for key, cls in [("ours", ode), ("scipy", si.ode)]:
        s = cls(_minus).set_integrator("dopri5")
        s.set_solout(lambda t, y, key=key: (seen[key].append(t), -1 if t > 0.5 else 0)[1])
        s.set_initial_value([1.0], 0.0).integrate(3.0)
        assert s.get_return_code() == 2 and 0.5 < s.t < 3.0
        np.testing.assert_allclose(s.y, np.exp(-s.t), rtol=1e-5)
    assert seen["ours"][0] == 0.0 and abs(len(seen["ours"]) - len(seen["scipy"])) <= 2
    # step=True: one internal step toward t (vode); dopri5 ignores it and runs to t, as SciPy's
    r = ode(_minus).set_integrator("vode", method="bdf").set_initial_value([1.0], 0.0)
    y = r.integrate(3.0, step=True)
    assert 0.0 < r.t < 3.0 and np.allclose(y, np.exp(-r.t), rtol=1e-3)
    assert si.ode(_minus).set_integrator("dopri5").set_initial_value([1.0], 0.0).integrate(3.0, step=True) \
        == pytest.approx(np.exp(-3.0), rel=1e-5)


def test_float32_and_bad_inputs():
    with jax.enable_x64(False):
        r = ode(_oscillator).set_integrator("dopri5", rtol=1e-5, atol=1e-7).set_f_params(1.0)
        y = r.set_initial_value(np.array([1.0, 0.0], np.float32), 0.0).integrate(1.0)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, _exact(1.0, [1.0, 0.0], 1.0), rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match="`f`"):
        ode(1.0)
    with pytest.raises(ValueError, match="Unknown integration method"):
        ode(lambda t, y: -y).set_integrator("vode", method="euler")
    with pytest.raises(ValueError, match="`nsteps`"):
        ode(lambda t, y: -y).set_integrator("dopri5", nsteps=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ode(lambda t, y: -y).set_integrator("dopri5", tolerance=1.0)
    with pytest.warns(UserWarning, match="No integrator name match"):
        ode(lambda t, y: -y).set_integrator("euler")
    with pytest.raises(ValueError, match="solout"):
        ode(lambda t, y: -y).set_integrator("vode").set_solout(print)
    with pytest.raises(ValueError, match="zvode"):
        complex_ode(lambda t, y: -y).set_integrator("zvode")
    with pytest.raises(ValueError, match="`t`"):
        ode(lambda t, y: -y).set_initial_value([1.0], 0.0).integrate(np.nan)
