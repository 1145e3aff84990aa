"""``tanhsinh`` against ``scipy.integrate.tanhsinh`` on the same integrals; jit/vmap/grad, float32, log,
statuses, bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si

from scijax.solvers.integrate import nsum, tanhsinh

# one elementwise problem with many cases: each element picks its integrand with `k`
_A = np.array([0.0, 0.0, -np.inf, -np.inf, 3.0, 0.0, 2.0])
_B = np.array([1.0, np.inf, np.inf, 0.0, 0.0, 1.0, 2.0])
_K = np.array([0, 1, 2, 3, 4, 5, 4])


def _mixed(x, k, xp):
    safe = xp.where(x > 0, x, 1.0)
    return xp.where(k == 0, safe ** -0.5,  # endpoint singularity
           xp.where(k == 1, 1.0 / (1.0 + x * x),  # half-infinite, algebraic decay
           xp.where(k == 2, xp.exp(-x * x),  # doubly infinite
           xp.where(k == 3, xp.exp(xp.minimum(x, 0.0)),  # (-inf, 0]
           xp.where(k == 4, xp.sin(x),  # reversed limits, and a == b
                    xp.log(safe))))))  # log singularity


def test_matches_scipy_elementwise():
    res = tanhsinh(lambda x, k: _mixed(x, k, jnp), _A, _B, args=(_K,))
    ref = si.tanhsinh(lambda x, k: _mixed(x, k, np), _A, _B, args=(_K,))
    np.testing.assert_allclose(res.integral, ref.integral, rtol=1e-13, atol=1e-15)
    exact = [2.0, np.pi / 2, np.sqrt(np.pi), 1.0, np.cos(3.0) - 1.0, -1.0, 0.0]
    np.testing.assert_allclose(res.integral, exact, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(res.status, ref.status)
    np.testing.assert_array_equal(res.success, ref.success)
    live = _A != _B
    np.testing.assert_array_equal(res.maxlevel[live], ref.maxlevel[live])  # the same refinement levels
    assert np.all(np.abs(res.nfev[live] - ref.nfev[live]) <= 2)  # 17 nodes at level 0, SciPy counts 19
    assert np.all(res.error[live] <= 1e-12 * np.maximum(1.0, np.abs(res.integral[live])))


_DECAY = jax.jit(jax.value_and_grad(
    lambda c, b: tanhsinh(lambda x, c: jnp.exp(-c * x), 0.0, b, args=(c,)).integral, argnums=(0, 1)))


def test_jit_vmap_grad_no_recompile():
    value, (dc, db) = _DECAY(1.5, 2.0)
    exact = lambda c, b: (1.0 - np.exp(-c * b)) / c  # noqa: E731
    np.testing.assert_allclose(value, exact(1.5, 2.0), rtol=1e-13)
    h = 1e-6
    np.testing.assert_allclose(dc, (exact(1.5 + h, 2.0) - exact(1.5 - h, 2.0)) / (2 * h), rtol=1e-8)
    np.testing.assert_allclose(db, np.exp(-3.0), rtol=1e-8)
    _DECAY(0.5, 3.0)  # new values: no recompilation
    assert _DECAY._cache_size() == 1
    cs = jnp.array([0.5, 1.0, 4.0])
    batched = jax.vmap(lambda c: _DECAY(c, 2.0))(cs)  # value and gradient, batched
    loop = [_DECAY(c, 2.0) for c in cs]
    np.testing.assert_allclose(batched[0], [v for v, _ in loop], rtol=1e-14)
    np.testing.assert_allclose(batched[1][0], [g[0] for _, g in loop], rtol=1e-12)


def test_log_float32_callback():
    res = tanhsinh(lambda x: -x * x / 2, -jnp.inf, jnp.inf, log=True)
    ref = si.tanhsinh(lambda x: -x * x / 2, -np.inf, np.inf, log=True)
    np.testing.assert_allclose(res.integral, ref.integral, rtol=1e-14)
    np.testing.assert_allclose(res.integral, 0.5 * np.log(2 * np.pi), rtol=1e-14)
    assert res.success and res.maxlevel == ref.maxlevel
    with jax.enable_x64(False):
        r = tanhsinh(lambda x: jnp.exp(-x), jnp.float32(0), jnp.float32(1))
    assert r.integral.dtype == jnp.float32 and r.success
    np.testing.assert_allclose(r.integral, 1 - np.exp(-1), rtol=1e-6)
    seen = []

    def callback(res):
        seen.append(int(res.maxlevel))
        assert res.status == 1
        if res.maxlevel >= 3:
            raise StopIteration

    res = tanhsinh(lambda x: jnp.exp(-x * x), -jnp.inf, jnp.inf, callback=callback)
    assert seen == [2, 3] and res.status == -4 and not res.success


def test_statuses_and_bad_inputs():
    # a pole on a node: non-finite value, status -3; a too small maxlevel: -2 with the estimate so far
    res = tanhsinh(lambda x: 1.0 / x, jnp.array([-1.0, 0.5]), 1.0, maxlevel=1)
    assert list(res.status) == [-3, -2] and not np.any(res.success)
    np.testing.assert_allclose(res.integral[1], np.log(2.0), rtol=1e-3)
    assert np.isnan(res.error[1])  # no estimate before level 2, as SciPy
    f = lambda x: x  # noqa: E731
    with pytest.raises(TypeError, match="`f`"):
        tanhsinh(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="`maxlevel`"):
        tanhsinh(f, 0.0, 1.0, maxlevel=-1)
    with pytest.raises(ValueError, match="`rtol`"):
        tanhsinh(f, 0.0, 1.0, rtol=-1.0)
    with pytest.raises(ValueError, match="`a` and `b`"):
        tanhsinh(f, 0.0, 1.0j)
    with pytest.raises(ValueError, match="`a` and `b`"):
        tanhsinh(f, np.nan, 1.0)
    with pytest.raises(ValueError, match="`log`"):
        tanhsinh(f, 0.0, 1.0, log=1)
    with pytest.raises(ValueError, match="`callback`"):
        jax.jit(lambda b: tanhsinh(f, 0.0, b, callback=print).integral)(1.0)


# nsum: direct sum plus an integral tail (same module of tests: it runs tanhsinh for the tail)
def _power(k, p):
    return (k + 1.0) ** -p


def test_nsum_matches_scipy_and_statuses():
    a = np.array([1.0, 1.0, 0.0, 2.0, 2.0, 0.0])
    b = np.array([np.inf, 100.0, np.inf, 1e7, 1.0, np.inf])
    p = np.array([2.0, 1.0, 1.0, 3.0, 2.0, 2.0])
    step = np.array([1.0, 1.0, 1.0, 1.0, 1.0, -1.0])
    res = nsum(_power, a, b, step=step, args=(p,))
    ref = si.nsum(_power, a, b, step=np.where(step > 0, step, 1.0), args=(p,))
    ok = step > 0
    np.testing.assert_array_equal(res.status[ok], ref.status[ok])  # 0, 0, -2 (divergent), 0, 0 (empty)
    conv = ok & (ref.status == 0)
    assert np.all(np.abs(res.sum - ref.sum)[conv] <= (res.error + ref.error)[conv])  # within both estimates
    np.testing.assert_allclose(res.sum[0], np.pi**2 / 6 - 1, rtol=1e-12)
    assert np.all(res.error[conv] <= 1e-8 * np.maximum(1.0, res.sum[conv]))
    assert res.status[-1] == -1 and np.isnan(res.sum[-1])  # invalid step
    with pytest.raises(ValueError, match="`maxterms`"):
        nsum(_power, 1.0, 2.0, maxterms=0)
    with pytest.raises(ValueError, match="`tolerances`"):
        nsum(_power, 1.0, 2.0, tolerances={"xtol": 1.0})


def test_nsum_grad():
    from scipy.special import zeta

    g = jax.grad(lambda p: nsum(_power, 0.0, jnp.inf, args=(p,)).sum)(3.0)
    h = 1e-6
    np.testing.assert_allclose(g, (zeta(3 + h) - zeta(3 - h)) / (2 * h), rtol=1e-7)
