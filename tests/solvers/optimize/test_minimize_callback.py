"""``minimize(callback=...)``: SciPy's two signatures, ``StopIteration``, and the transformations.

Nelder-Mead is SciPy-faithful step for step, so its callback sequence is compared with SciPy's
iterate by iterate; for the line-search methods (different searches) the count equals ``nit``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import minimize, rosen

X0 = np.array([-1.2, 1.0])


def test_sequence_and_stop_match_scipy_nelder_mead():
    ours, ref = [], []
    res = minimize(rosen, X0, method="Nelder-Mead", callback=lambda xk: ours.append(xk))
    so.minimize(so.rosen, X0, method="Nelder-Mead", callback=lambda xk: ref.append(xk.copy()))
    assert len(ours) == len(ref) > 10
    np.testing.assert_allclose(np.array(ours), np.array(ref), rtol=1e-10, atol=1e-12)

    def stop(intermediate_result):
        if intermediate_result.fun < 1.0:
            raise StopIteration

    res = minimize(rosen, X0, method="Nelder-Mead", callback=stop)
    ref = so.minimize(so.rosen, X0, method="Nelder-Mead", callback=stop)
    assert (int(res.status), bool(res.success), res.message) == (ref.status, ref.success, ref.message)
    assert int(res.nit) == ref.nit
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10)


@pytest.mark.parametrize("method", ["BFGS", "SLSQP"])
def test_one_call_per_iteration(method):
    seen = []
    res = minimize(rosen, X0, method=method, callback=lambda intermediate_result: seen.append(
        (intermediate_result.x, intermediate_result.fun)))
    assert res.success and len(seen) == int(res.nit)
    np.testing.assert_allclose(seen[-1][0], res.x)
    assert seen[-1][1] == pytest.approx(float(res.fun), rel=1e-12, abs=1e-300)


def _quad(x, a):
    _quad.traces += 1
    return jnp.sum((x - a) ** 2) + 0.1 * jnp.sum(x**4)


_quad.traces = 0


def test_no_recompile_for_a_new_callback_and_transformations():
    calls = []
    loop = [minimize(_quad, np.zeros(2), args=(0.5,), callback=lambda x: calls.append(1)).x]
    traces = _quad.traces
    loop.append(minimize(_quad, np.zeros(2), args=(1.5,), callback=lambda x: calls.append(2)).x)
    assert _quad.traces == traces and 2 in calls

    jitted = jax.jit(lambda a: minimize(_quad, jnp.zeros(2), args=(a,), callback=lambda x: calls.append(3)).x)
    x_jit = jitted(1.5)
    loop = np.array(loop)
    n_before = len(calls)
    batched = jax.vmap(lambda a: minimize(_quad, jnp.zeros(2), args=(a,), callback=lambda x: calls.append(4)).x)(
        jnp.array([0.5, 1.5]))
    assert 3 in calls and len(calls) > n_before
    np.testing.assert_allclose(x_jit, loop[1], rtol=1e-8)
    np.testing.assert_allclose(batched, loop, rtol=1e-8)


def test_gradient_honest_when_stopped():
    def run(a, stop_early):
        def cb(xk):
            if stop_early:
                raise StopIteration
        return minimize(_quad, jnp.zeros(2), args=(a,), callback=cb).x.sum()

    g = jax.grad(run)(1.0, False)
    eps = 1e-6
    fd = (run(1.0 + eps, False) - run(1.0 - eps, False)) / (2 * eps)
    assert np.isfinite(g) and g == pytest.approx(float(fd), rel=1e-5)
    assert np.isnan(jax.grad(run)(1.0, True))


def test_bad_callback():
    with pytest.raises(TypeError, match="callback"):
        minimize(rosen, X0, callback=5)


def test_legacy_wrappers_pass_callback_and_fmin_powell_matches_scipy():
    from scijax.solvers.optimize import fmin, fmin_powell

    seen, ref_seen = [], []
    ours = fmin(rosen, X0, callback=lambda xk: seen.append(xk), disp=False)
    so.fmin(so.rosen, X0, callback=lambda xk: ref_seen.append(xk.copy()), disp=False)
    assert len(seen) == len(ref_seen) and np.allclose(ours, ref_seen[-1], atol=1e-4)
    a = fmin_powell(rosen, [1.3, 0.7], full_output=True, disp=False)
    b = so.fmin_powell(so.rosen, [1.3, 0.7], full_output=True, disp=False)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-8)
    assert a[3:] == b[3:]  # iterations, function calls, warnflag


def test_least_squares_callback_matches_scipy():
    from scijax.solvers.optimize import least_squares

    def fun(x):
        return jnp.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])

    def fun_np(x):
        return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])

    def jac_np(x):
        return np.array([[-20 * x[0], 10.0], [-1.0, 0.0]])

    ours, ref = [], []
    least_squares(fun, X0, callback=lambda intermediate_result: ours.append(intermediate_result.cost))
    so.least_squares(fun_np, X0, jac=jac_np, callback=lambda intermediate_result: ref.append(intermediate_result.cost))
    assert len(ours) == len(ref)
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-20)

    def stop(intermediate_result):
        if intermediate_result.cost < 1:
            raise StopIteration

    res, want = least_squares(fun, X0, callback=stop), so.least_squares(fun_np, X0, jac=jac_np, callback=stop)
    assert (int(res.status), res.message, bool(res.success)) == (want.status, want.message, want.success)
    assert int(least_squares(fun, X0, callback=lambda x: True).status) == -2
