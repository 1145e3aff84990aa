"""solve_ivp: bad input raises before tracing (naming the argument); run-time failure is reported
through ``status``/``success``/``message``, under jit and eagerly, without hanging or raising."""

import threading
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scijax.solvers.integrate import solve_ivp


def decay(t, y):
    return -y


Y0 = jnp.array([1.0, 2.0])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(y0=jnp.ones((2, 2))), ValueError, "`y0`"),
        (dict(y0=1.0), ValueError, "`y0`"),
        (dict(t_span=(0.0,)), ValueError, "`t_span`"),
        (dict(t_span=(0.0, 1.0, 2.0)), ValueError, "`t_span`"),
        (dict(t_span=[[0.0, 1.0]]), ValueError, "`t_span`"),
        (dict(t_span=(0.0, np.nan)), ValueError, "`t_span`"),
        (dict(t_eval=[0.5, 2.0]), ValueError, "`t_eval`"),
        (dict(t_eval=[-0.5, 0.5]), ValueError, "`t_eval`"),
        (dict(t_eval=[0.5, 0.2]), ValueError, "`t_eval`"),
        (dict(t_eval=[0.2, 0.2, 0.5]), ValueError, "`t_eval`"),
        (dict(t_span=(1.0, 0.0), t_eval=[0.2, 0.5]), ValueError, "`t_eval`"),
        (dict(t_eval=[[0.2, 0.5]]), ValueError, "`t_eval`"),
        (dict(method="RK4"), ValueError, "`method`"),
        (dict(method="rk45"), ValueError, "`method`"),
        (dict(rtol=-1e-3), ValueError, "`rtol`"),
        (dict(atol=-1e-6), ValueError, "`atol`"),
        (dict(atol=[1e-6, 1e-6, 1e-6]), ValueError, "`atol`"),
        (dict(first_step=0.0), ValueError, "`first_step`"),
        (dict(first_step=-0.1), ValueError, "`first_step`"),
        (dict(first_step=2.0), ValueError, "`first_step`"),
        (dict(max_step=0.0), ValueError, "`max_step`"),
        (dict(max_step=-1.0), ValueError, "`max_step`"),
        (dict(fun=lambda t, y: jnp.ones(3)), ValueError, "`fun`"),
        (dict(fun=lambda t, y: jnp.ones((2, 2))), ValueError, "`fun`"),
        (dict(fun=1.0), TypeError, "`fun`"),
        (dict(events=[1.0]), TypeError, "`events"),
        (dict(adjoint="magic"), ValueError, "`adjoint`"),
        (dict(max_steps=0), ValueError, "`max_steps`"),
        (dict(rtl=1e-3), TypeError, "rtl"),
        (dict(method="Radau", jac=np.eye(3)), ValueError, "`jac`"),
    ],
)
def test_bad_input(kwargs, exc, match):
    call = dict(fun=decay, t_span=(0.0, 1.0), y0=Y0)
    call.update(kwargs)
    with pytest.raises(exc, match=match):
        solve_ivp(**call)


def test_t_eval_outside_span_under_jit():
    """Traced t_eval cannot be checked before tracing. Outside the span it is either reported through
    status (-1, nan rows) or caught by a run-time check (eqx.error_if) whose message names `t_eval`."""
    run = jax.jit(lambda te: solve_ivp(decay, (0.0, 1.0), Y0, t_eval=te))
    try:
        res = run(jnp.array([0.5, 1.5]))
    except Exception as e:  # noqa: BLE001
        assert "t_eval" in str(e), f"run-time error does not name `t_eval`: {str(e)[:300]}"
    else:
        assert int(res.status) == -1 or np.isnan(np.asarray(res.y[:, 1])).all()


def test_bad_input_also_raises_under_jit():
    with pytest.raises(ValueError, match="`y0`"):
        jax.jit(lambda y: solve_ivp(decay, (0.0, 1.0), y).y)(jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="`fun`"):
        jax.jit(lambda y: solve_ivp(lambda t, y: jnp.ones(3), (0.0, 1.0), y).y)(Y0)


def test_jac_on_explicit_method_warns_like_scipy():
    with pytest.warns(UserWarning, match="no effect"):
        solve_ivp(decay, (0.0, 1.0), Y0, jac=lambda t, y: -jnp.eye(2))


def test_zero_length_span_returns_y0():
    res = solve_ivp(decay, (2.0, 2.0), Y0)
    assert bool(res.success) and int(res.status) == 0
    np.testing.assert_array_equal(res.y[:, -1], Y0)
    np.testing.assert_array_equal(res.t, [2.0, 2.0])  # SciPy returns t = [t0, t0]


def _nan_after_half(t, y):
    return jnp.where(t > 0.5, jnp.nan, -y)


def _run_with_timeout(fn, seconds=240):
    """Run fn in a daemon thread; fail (instead of hanging the suite) if it does not return."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            out["error"] = e

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(seconds)
    assert not th.is_alive(), f"solve did not return within {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.mark.parametrize("method", ["RK45", "Radau"])
def test_nan_from_fun_eager(method):
    # SciPy's RK45 loops forever here; ours must stop and say why.
    res = _run_with_timeout(lambda: solve_ivp(_nan_after_half, (0.0, 2.0), Y0, method=method))
    assert int(res.status) == -1
    assert not bool(res.success)
    assert "non-finite" in res.message
    t = np.asarray(res.t)
    assert t.size >= 1 and np.all(t <= 0.5)
    assert np.all(np.isfinite(np.asarray(res.y)))


def test_nan_from_fun_under_jit():
    run = jax.jit(lambda y0: solve_ivp(_nan_after_half, (0.0, 2.0), y0, t_eval=jnp.linspace(0.0, 2.0, 5)))
    res = _run_with_timeout(lambda: run(Y0))
    assert int(res.status) == -1 and not bool(res.success)
    assert "non-finite" in jax.tree_util.tree_map(np.asarray, res).message
    # Nothing past the failure looks like a solution: times after t=0.5 are nan.
    assert np.all(np.isnan(np.asarray(res.y[:, 2:])))
    np.testing.assert_allclose(res.y[:, 0], Y0)


@pytest.mark.parametrize("t_eval", [None, [0.5, 1.0]])
def test_max_steps_exhausted(t_eval):
    res = solve_ivp(decay, (0.0, 1.0), Y0, t_eval=t_eval, max_steps=3, rtol=1e-10, atol=1e-12)
    assert int(res.status) == -1 and not bool(res.success)
    assert "max_steps" in res.message
    assert "non-finite" not in res.message
    if t_eval is not None:
        assert res.t.size == 0 or float(res.t[-1]) < 1.0


def test_max_steps_exhausted_under_jit():
    run = jax.jit(lambda y0: solve_ivp(decay, (0.0, 1.0), y0, max_steps=3, rtol=1e-10, atol=1e-12))
    res = run(Y0)
    assert int(res.status) == -1
    assert int(res.n_points) <= 4


def test_blow_up_is_a_failure():
    """y' = y^2, y(0) = 1 blows up at t = 1: SciPy fails with a step-size underflow."""

    def blow_up(t, y):
        return y ** 2

    res = _run_with_timeout(lambda: solve_ivp(blow_up, (0.0, 2.0), jnp.array([1.0])))
    assert int(res.status) == -1 and not bool(res.success)
    t = np.asarray(res.t)
    assert t[-1] < 1.0 + 1e-6
    run = jax.jit(lambda y0: solve_ivp(blow_up, (0.0, 2.0), y0).status)
    assert int(run(jnp.array([1.0]))) == -1


def test_message_is_unavailable_under_jit_but_status_is():
    def f(y0):
        res = solve_ivp(decay, (0.0, 1.0), y0)
        with pytest.raises(TypeError, match="status"):
            res.message  # noqa: B018
        return res.status

    assert int(jax.jit(f)(Y0)) == 0


def test_rtol_too_small_warns_like_scipy():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = solve_ivp(decay, (0.0, 1.0), Y0, rtol=1e-20, atol=1e-20, t_eval=[1.0], max_steps=100000)
    assert any("rtol" in str(w.message) for w in caught)
    assert int(res.status) == 0
    np.testing.assert_allclose(res.y[:, -1], np.exp(-1.0) * np.asarray(Y0), rtol=1e-11)
