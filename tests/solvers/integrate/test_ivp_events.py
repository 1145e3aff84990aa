"""solve_ivp events: SciPy's convention (terminal, direction), roots, shapes, jit, gradients.

Includes ports of SciPy's test_events, test_t_eval_early_event,
test_event_dense_output_LSODA, test_duplicate_timestamps and the terminal-count
tests of ``scipy/integrate/_ivp/tests/test_ivp.py``.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
from numpy.testing import assert_allclose, assert_equal

from scijax.solvers.integrate import solve_ivp
from tests.problems.ivp_problems import compute_error, fun_rational, jac_rational, sol_rational

G = 9.81


# ---- ball drop: y = h - g t^2 / 2, hits the ground at sqrt(2 h / g) ----------------------------
def fall(t, y, g):
    return jnp.stack([y[1], -g + 0.0 * y[0]])


def fall_np(t, y, g):
    return np.array([y[1], -g])


def ground(t, y, g):
    return y[0]


ground.terminal = True
ground.direction = -1


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau"])
def test_ball_drop_root_to_machine_precision(method):
    h = 10.0
    res = solve_ivp(fall, (0.0, 5.0), jnp.array([h, 0.0]), method=method, events=ground, args=(G,),
                    rtol=1e-8, atol=1e-10)
    t_hit = np.sqrt(2 * h / G)
    assert int(res.status) == 1 and bool(res.success)
    assert res.message == "A termination event occurred."
    assert isinstance(res.t_events, list) and isinstance(res.y_events, list)
    assert res.t_events[0].shape == (1,) and res.y_events[0].shape == (1, 2)
    assert_allclose(res.t_events[0][0], t_hit, rtol=1e-12)
    assert_allclose(res.y_events[0][0], [0.0, -G * t_hit], atol=1e-9)
    # The integration stops at the event, as SciPy's does.
    assert_allclose(res.t[-1], t_hit, rtol=1e-12)
    assert_allclose(res.y[:, -1], res.y_events[0][0], atol=1e-9)
    ref = scipy.integrate.solve_ivp(fall_np, (0.0, 5.0), [h, 0.0], method=method, events=ground, args=(G,),
                                    rtol=1e-8, atol=1e-10)
    assert_allclose(res.t_events[0], ref.t_events[0], rtol=1e-12)


# ---- harmonic oscillator x = cos t: zeros at pi/2 (down), 3pi/2 (up), 5pi/2 (down) -------------
def osc(t, y):
    return jnp.stack([y[1], -y[0]])


def osc_np(t, y):
    return np.array([y[1], -y[0]])


def x_zero(t, y):
    return y[0]


def x_zero_up(t, y):
    return y[0]


def x_zero_down(t, y):
    return y[0]


def v_zero(t, y):
    return y[1]


x_zero_up.direction = 1
x_zero_down.direction = -1
OSC_KW = dict(rtol=1e-10, atol=1e-12)


def test_directions_and_several_events():
    events = [x_zero, x_zero_up, x_zero_down, v_zero]
    res = solve_ivp(osc, (0.0, 9.0), jnp.array([1.0, 0.0]), events=events, **OSC_KW)
    assert int(res.status) == 0
    assert len(res.t_events) == 4 and len(res.y_events) == 4
    pi = np.pi
    # v = -sin t is zero at t0 itself: SciPy reports that root too.
    expected = [[pi / 2, 3 * pi / 2, 5 * pi / 2], [3 * pi / 2], [pi / 2, 5 * pi / 2], [0.0, pi, 2 * pi]]
    for t_ev, y_ev, exp in zip(res.t_events, res.y_events, expected, strict=True):
        assert t_ev.shape == (len(exp),)
        assert y_ev.shape == (len(exp), 2)
        assert_allclose(t_ev, exp, rtol=1e-8, atol=1e-12)
        assert_allclose(y_ev[:, 0], np.cos(exp), atol=1e-8)
    ref = scipy.integrate.solve_ivp(osc_np, (0.0, 9.0), [1.0, 0.0], events=events, **OSC_KW)
    for ours, theirs in zip(res.t_events, ref.t_events, strict=True):
        assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)


def test_events_backward():
    # From t = 9 back to 0 along x = cos t: downward zeros in the direction of integration
    # are where cos increases with t (3pi/2), as in SciPy.
    y9 = jnp.array([np.cos(9.0), -np.sin(9.0)])
    res = solve_ivp(osc, (9.0, 0.0), y9, events=[x_zero, x_zero_up, x_zero_down, v_zero], **OSC_KW)
    ref = scipy.integrate.solve_ivp(osc_np, (9.0, 0.0), np.asarray(y9),
                                    events=[x_zero, x_zero_up, x_zero_down, v_zero], **OSC_KW)
    for ours, theirs in zip(res.t_events, ref.t_events, strict=True):
        assert ours.shape == theirs.shape
        assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12)
    assert_allclose(res.t_events[0], [5 * np.pi / 2, 3 * np.pi / 2, np.pi / 2], rtol=1e-8)


def test_empty_event_shapes_like_scipy():
    """SciPy: an event that never occurs gives t_events[i].shape == (0,) and y_events[i].shape == (0,)."""
    # Over [0, 3] x = cos t crosses zero only downwards (at pi/2).
    res = solve_ivp(osc, (0.0, 3.0), jnp.array([1.0, 0.0]), events=[x_zero, x_zero_up, x_zero_down, v_zero],
                    **OSC_KW)
    assert res.t_events[1].shape == (0,)
    assert res.y_events[1].shape == (0,)
    assert res.y_events[0].shape == (1, 2)


def test_terminal_event_with_t_eval():
    def stop_at_4(t, y):
        return t - 4.0

    stop_at_4.terminal = True
    t_eval = np.linspace(0.0, 9.0, 10)
    res = solve_ivp(osc, (0.0, 9.0), jnp.array([1.0, 0.0]), events=stop_at_4, t_eval=t_eval, **OSC_KW)
    assert int(res.status) == 1
    assert_allclose(res.t_events[0], [4.0], rtol=1e-13)
    assert_equal(np.asarray(res.t), t_eval[t_eval <= 4.0])
    assert res.y.shape == (2, 5)
    assert_allclose(res.y[0], np.cos(t_eval[:5]), atol=1e-8)


def test_event_with_args():
    def level(t, y, g, h):
        return y[0] - h

    level.terminal = True

    def fall_h(t, y, g, h):
        return fall(t, y, g)

    res = solve_ivp(fall_h, (0.0, 5.0), jnp.array([10.0, 0.0]), events=level, args=(G, 5.0), rtol=1e-8, atol=1e-10)
    assert_allclose(res.t_events[0], [np.sqrt(2 * 5.0 / G)], rtol=1e-12)
    # Same compiled program, new args values.
    res = solve_ivp(fall_h, (0.0, 5.0), jnp.array([10.0, 0.0]), events=level, args=(G, 2.0), rtol=1e-8, atol=1e-10)
    assert_allclose(res.t_events[0], [np.sqrt(2 * 8.0 / G)], rtol=1e-12)


_osc_events_jit = jax.jit(
    lambda y0: solve_ivp(osc, (0.0, 9.0), y0, events=[x_zero, x_zero_up, x_zero_down, v_zero], max_events=8,
                         **OSC_KW)
)


def test_events_under_jit_padded():
    res = _osc_events_jit(jnp.array([1.0, 0.0]))
    assert [t.shape for t in res.t_events] == [(8,)] * 4
    assert [y.shape for y in res.y_events] == [(8, 2)] * 4
    assert_equal(np.asarray(res.n_events), [3, 1, 2, 3])
    for t_ev, count in zip(res.t_events, [3, 1, 2, 3], strict=True):
        assert np.all(np.isfinite(np.asarray(t_ev[:count])))
        assert np.all(np.isnan(np.asarray(t_ev[count:])))
    assert_allclose(res.t_events[0][:3], np.pi * np.array([0.5, 1.5, 2.5]), rtol=1e-8)


def test_events_vmap_matches_loop():
    y0s = jnp.array([[1.0, 0.0], [2.0, 0.5], [0.5, -1.0]])
    batched = jax.vmap(_osc_events_jit)(y0s)
    for i, y0 in enumerate(y0s):
        single = _osc_events_jit(y0)
        for b, s in zip(batched.t_events, single.t_events, strict=True):
            assert_allclose(b[i], s, rtol=1e-12)
        assert_equal(np.asarray(batched.n_events[i]), np.asarray(single.n_events))


def test_terminal_event_under_jit():
    run = jax.jit(lambda h: solve_ivp(fall, (0.0, 5.0), jnp.stack([h, 0.0]), events=ground, args=(G,),
                                      rtol=1e-8, atol=1e-10))
    res = run(10.0)
    n = int(res.n_points)
    assert int(res.status) == 1
    assert_allclose(res.t[n - 1], np.sqrt(20 / G), rtol=1e-12)
    assert np.all(np.isnan(np.asarray(res.t[n:])))
    res = run(20.0)  # new value, same compiled program
    assert_allclose(res.t_events[0][0], np.sqrt(40 / G), rtol=1e-12)


def test_event_time_gradient():
    """d t_hit / d h = 1 / sqrt(2 g h), through the located root (implicit function theorem)."""

    def t_hit(h):
        res = solve_ivp(fall, (0.0, 5.0), jnp.stack([h, 0.0]), events=ground, args=(G,), rtol=1e-10, atol=1e-12)
        return res.t_events[0][0]

    h = 10.0
    assert_allclose(jax.grad(t_hit)(h), 1 / np.sqrt(2 * G * h), rtol=1e-6)


# ---- ports of SciPy's test_ivp.py ---------------------------------------------------------------
def event_rational_1(t, y):
    return y[0] - y[1] ** 0.7


def event_rational_2(t, y):
    return y[1] ** 0.6 - y[0]


def event_rational_3(t, y):
    return t - 7.4


event_rational_3.terminal = True


def _reset():
    event_rational_1.direction = 0
    event_rational_2.direction = 0


def _check_root(event, res, i):
    assert np.isclose(event(res.t_events[i][0], res.y_events[i][0]), 0)


# The explicit engines and one implicit one (BDF and LSODA have their own event tests above/below).
ENGINES = ["RK23", "RK45", "DOP853", "Radau"]


@pytest.mark.parametrize("method", ENGINES)
def test_events_scipy_forward(method):
    y0 = [1 / 3, 2 / 9]
    try:
        _reset()
        res = solve_ivp(fun_rational, [5, 8], y0, method=method, events=(event_rational_1, event_rational_2))
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 1)
        assert_equal(res.t_events[1].size, 1)
        assert 5.3 < res.t_events[0][0] < 5.7
        assert 7.3 < res.t_events[1][0] < 7.7
        assert_equal(res.y_events[0].shape, (1, 2))
        assert_equal(res.y_events[1].shape, (1, 2))
        _check_root(event_rational_1, res, 0)
        _check_root(event_rational_2, res, 1)

        event_rational_1.direction = 1
        event_rational_2.direction = 1
        res = solve_ivp(fun_rational, [5, 8], y0, method=method, events=(event_rational_1, event_rational_2))
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 1)
        assert_equal(res.t_events[1].size, 0)
        assert 5.3 < res.t_events[0][0] < 5.7
        assert_equal(res.y_events[0].shape, (1, 2))
        assert_equal(res.y_events[1].shape, (0,))
        _check_root(event_rational_1, res, 0)

        event_rational_1.direction = -1
        event_rational_2.direction = -1
        res = solve_ivp(fun_rational, [5, 8], y0, method=method, events=(event_rational_1, event_rational_2))
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 0)
        assert_equal(res.t_events[1].size, 1)
        assert 7.3 < res.t_events[1][0] < 7.7
        assert_equal(res.y_events[0].shape, (0,))
        assert_equal(res.y_events[1].shape, (1, 2))
        _check_root(event_rational_2, res, 1)

        _reset()
        res = solve_ivp(fun_rational, [5, 8], y0, method=method,
                        events=(event_rational_1, event_rational_2, event_rational_3), dense_output=True)
        assert_equal(res.status, 1)
        assert_equal(res.t_events[0].size, 1)
        assert_equal(res.t_events[1].size, 0)
        assert_equal(res.t_events[2].size, 1)
        assert 5.3 < res.t_events[0][0] < 5.7
        assert 7.3 < res.t_events[2][0] < 7.5
        assert_equal(res.y_events[0].shape, (1, 2))
        assert_equal(res.y_events[1].shape, (0,))
        assert_equal(res.y_events[2].shape, (1, 2))
        _check_root(event_rational_1, res, 0)
        _check_root(event_rational_3, res, 2)

        res = solve_ivp(fun_rational, [5, 8], y0, method=method, events=event_rational_1, dense_output=True)
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 1)
        assert 5.3 < res.t_events[0][0] < 5.7
        assert_equal(res.y_events[0].shape, (1, 2))
        _check_root(event_rational_1, res, 0)
        tc = np.linspace(res.t[0], res.t[-1])
        assert np.all(compute_error(res.sol(tc), sol_rational(tc), 1e-3, 1e-6) < 5)
        assert np.allclose(sol_rational(res.t_events[0][0]), res.y_events[0][0], rtol=1e-3, atol=1e-6)
    finally:
        _reset()


@pytest.mark.parametrize("method", ENGINES)
def test_events_scipy_backward(method):
    y0 = [4 / 9, 20 / 81]
    try:
        _reset()
        res = solve_ivp(fun_rational, [8, 5], y0, method=method, events=(event_rational_1, event_rational_2))
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 1)
        assert_equal(res.t_events[1].size, 1)
        assert 5.3 < res.t_events[0][0] < 5.7
        assert 7.3 < res.t_events[1][0] < 7.7
        _check_root(event_rational_1, res, 0)
        _check_root(event_rational_2, res, 1)

        event_rational_1.direction = -1
        event_rational_2.direction = -1
        res = solve_ivp(fun_rational, [8, 5], y0, method=method, events=(event_rational_1, event_rational_2))
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 1)
        assert_equal(res.t_events[1].size, 0)
        assert 5.3 < res.t_events[0][0] < 5.7
        assert_equal(res.y_events[0].shape, (1, 2))
        assert_equal(res.y_events[1].shape, (0,))

        event_rational_1.direction = 1
        event_rational_2.direction = 1
        res = solve_ivp(fun_rational, [8, 5], y0, method=method, events=(event_rational_1, event_rational_2))
        assert_equal(res.status, 0)
        assert_equal(res.t_events[0].size, 0)
        assert_equal(res.t_events[1].size, 1)
        assert 7.3 < res.t_events[1][0] < 7.7

        _reset()
        res = solve_ivp(fun_rational, [8, 5], y0, method=method,
                        events=(event_rational_1, event_rational_2, event_rational_3), dense_output=True)
        assert_equal(res.status, 1)
        assert_equal(res.t_events[0].size, 0)
        assert_equal(res.t_events[1].size, 1)
        assert_equal(res.t_events[2].size, 1)
        assert 7.3 < res.t_events[1][0] < 7.7
        assert 7.3 < res.t_events[2][0] < 7.5
        assert_equal(res.y_events[0].shape, (0,))
        assert_equal(res.y_events[1].shape, (1, 2))
        assert_equal(res.y_events[2].shape, (1, 2))
        _check_root(event_rational_2, res, 1)
        _check_root(event_rational_3, res, 2)
        tc = np.linspace(res.t[-1], res.t[0])
        assert np.all(compute_error(res.sol(tc), sol_rational(tc), 1e-3, 1e-6) < 5)
        assert np.allclose(sol_rational(res.t_events[1][0]), res.y_events[1][0], rtol=1e-3, atol=1e-6)
        assert np.allclose(sol_rational(res.t_events[2][0]), res.y_events[2][0], rtol=1e-3, atol=1e-6)
    finally:
        _reset()


def early_event(t, y):
    return t - 7


early_event.terminal = True


@pytest.mark.parametrize("method", ENGINES)
def test_t_eval_early_event(method):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The following arguments have no effect", UserWarning)
        res = solve_ivp(fun_rational, [5, 9], [1 / 3, 2 / 9], rtol=1e-3, atol=1e-6, method=method,
                        t_eval=np.linspace(7.5, 9, 16), events=early_event, jac=jac_rational)
    assert res.success
    assert res.message == "A termination event occurred."
    assert res.status == 1
    assert res.t.size == 0 and res.y.size == 0
    assert len(res.t_events) == 1
    assert res.t_events[0].size == 1
    assert res.t_events[0][0] == 7


def test_event_dense_output_LSODA():
    def fun(t, y):
        return y * (t - 2)

    def jac(t, y):
        return jnp.reshape(t - 2, (1, 1))

    def sol_true(t):
        return np.exp(t ** 2 / 2 - 2 * t + np.log(0.05) - 6)

    def event_lsoda(t, y):
        return y[0] - 2.02e-5

    res = solve_ivp(fun, [-2, 2], [0.05], method="LSODA", dense_output=True, events=event_lsoda, first_step=1e-3,
                    max_step=1, rtol=1e-3, atol=1e-6, jac=jac)
    assert_equal(res.t[0], -2)
    assert_equal(res.t[-1], 2)
    assert_allclose(1e-3, np.abs(res.t[1] + 2))
    assert res.success and res.status == 0
    assert np.all(compute_error(res.y, sol_true(np.asarray(res.t)), 1e-3, 1e-6) < 5)
    tc = np.linspace(-2, 2)
    assert np.all(compute_error(res.sol(tc), sol_true(tc), 1e-3, 1e-6) < 5)
    assert_allclose(res.sol(res.t), res.y, rtol=1e-15, atol=1e-15)


def test_duplicate_timestamps():
    def upward_cannon(t, y):
        return jnp.stack([y[1], -9.80665 + 0.0 * y[0]])

    def hit_ground(t, y):
        return y[0]

    hit_ground.terminal = True
    hit_ground.direction = -1
    sol = solve_ivp(upward_cannon, [0, np.inf], [0, 0.01], max_step=0.05 * 0.001 / 9.80665,
                    events=hit_ground, dense_output=True)
    assert_allclose(sol.sol(0.01), np.asarray([-0.00039033, -0.08806632]), rtol=1e-5, atol=1e-8)
    assert_allclose(sol.t_events, np.asarray([[0.00203943]]), rtol=1e-5, atol=1e-8)
    assert_allclose(sol.y_events, [np.asarray([[0.0, -0.01]])], atol=1e-9)
    assert sol.success
    assert_equal(sol.status, 1)


@pytest.mark.parametrize("n_events", [3, 4])
def test_event_terminal_integer(n_events):
    def event(t, y):
        return y[0]

    event.terminal = n_events
    res = solve_ivp(osc, (0, 100), [1, 0], events=event)
    assert len(res.t_events[0]) == n_events
    assert len(res.y_events[0]) == n_events
    assert_allclose(res.y_events[0][:, 0], 0, atol=1e-14)


def test_event_terminal_iv():
    def event(t, y):
        return y[0]

    args = (osc, (0, 100), [1, 0])
    event.terminal = None
    res = solve_ivp(*args, events=event)
    event.terminal = 0
    ref = solve_ivp(*args, events=event)
    assert_allclose(res.t_events, ref.t_events)
    message = "The `terminal` attribute..."
    event.terminal = -1
    with pytest.raises(ValueError, match=message):
        solve_ivp(*args, events=event)
    event.terminal = 3.5
    with pytest.raises(ValueError, match=message):
        solve_ivp(*args, events=event)
