"""minimize(method='COBYQA') against SciPy's COBYQA: Rosenbrock unconstrained and with bounds (one
compiled solve with traced bounds), jit, vmap vs a loop, implicit Jacobian, float32, no
recompilation, status codes, bad inputs, non-finite objective."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize as so

from scijax.solvers.optimize import minimize

# A scaled Rosenbrock family: f = p1 (x1 - x0^2)^2 + (p0 - x0)^2, minimum at (p0, p0^2); with
# x0 <= hi0 < p0 the bound is active and the minimum is (hi0, hi0^2).
_X0 = np.array([-1.2, 1.0])
_INF = np.inf


def _f(x, p):
    return p[1] * (x[1] - x[0] ** 2) ** 2 + (p[0] - x[0]) ** 2


def _solve(p, lo, hi):
    return minimize(_f, jnp.asarray(_X0, p.dtype), args=(p,), method="COBYQA", bounds=list(zip(lo, hi, strict=True)))


SOLVE = jax.jit(_solve)
FREE = (np.array([-_INF, -_INF]), np.array([_INF, _INF]))
BOX = (np.array([-2.0, -2.0]), np.array([0.5, 2.0]))


def _scipy(p, lo, hi):
    bounds = None if np.all(np.isinf(lo)) and np.all(np.isinf(hi)) else so.Bounds(lo, hi)
    return so.minimize(lambda x: _f(x, p), _X0, method="COBYQA", bounds=bounds)


def test_rosenbrock_free_and_bounded_match_scipy_jit_no_recompile_nonfinite():
    p = np.array([1.0, 100.0])
    for lo, hi in (FREE, BOX):
        res, ref = SOLVE(jnp.asarray(p), jnp.asarray(lo), jnp.asarray(hi)), _scipy(p, lo, hi)
        assert int(res.status) == ref.status == 0 and bool(res.success) and ref.success
        assert res.message == ref.message
        # Both stop at final_tr_radius = 1e-6: x agrees to about that (1e-4 relative is the brief's bar).
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-4, atol=1e-9)
        assert np.all(np.asarray(res.x) >= lo) and np.all(np.asarray(res.x) <= hi)
        assert float(res.maxcv) == 0.0
        assert ref.nfev / 3 < int(res.nfev) < 3 * ref.nfev and 0 < int(res.nit) <= int(res.nfev)
    # Non-finite objective everywhere: no finite point, an honest failure.
    bad = SOLVE(jnp.array([np.nan, 100.0]), jnp.asarray(FREE[0]), jnp.asarray(FREE[1]))
    assert not bool(bad.success) and not np.isfinite(float(bad.fun))
    bad = SOLVE(jnp.asarray(p), jnp.asarray(FREE[0]), jnp.asarray(FREE[1]) + jnp.nan)  # x0 clipped to NaN
    assert int(bad.status) == -2 and not bool(bad.success) and bad.message == "A linear algebra error occurred"
    assert SOLVE._cache_size() == 1
    assert set(res.keys()) >= {"x", "fun", "status", "success", "message", "nfev", "nit", "maxcv"}


def test_vmap_matches_loop_and_implicit_jacobian():
    ps = jnp.array([[1.0, 100.0], [0.8, 10.0], [1.5, 50.0]])
    lo, hi = jnp.asarray(BOX[0]), jnp.array([1.2, 3.0])

    def x_of(q):
        x = _solve(q, lo, hi).x
        return x, x

    jac, xs = jax.jit(jax.vmap(jax.jacfwd(x_of, has_aux=True)))(ps)
    for i, p in enumerate(np.asarray(ps)):
        ref = _scipy(p, np.asarray(lo), np.asarray(hi))
        np.testing.assert_allclose(xs[i], ref.x, rtol=1e-4, atol=1e-5)
        x0_star = min(p[0], 1.2)  # x0 = p0 unless the bound x0 <= 1.2 is active
        active = p[0] > 1.2
        expect = np.zeros((2, 2)) if active else np.array([[1.0, 0.0], [2 * x0_star, 0.0]])
        np.testing.assert_allclose(jac[i], expect, atol=1e-4)


def test_float32_status_codes_and_bad_inputs():
    def rosen32(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    res = minimize(rosen32, jnp.array([-1.2, 1.0], jnp.float32), method="COBYQA",
                   options={"final_tr_radius": 1e-3, "maxfev": 30})
    ref = so.minimize(rosen32, [-1.2, 1.0], method="COBYQA", options={"final_tr_radius": 1e-3, "maxfev": 30})
    assert res.x.dtype == jnp.float32 and int(res.status) == ref.status == 5 and not bool(res.success)
    assert res.message == ref.message and int(res.nfev) == 30
    def stop_at_three():
        calls = []

        def callback(intermediate_result):
            calls.append(intermediate_result.fun)
            if len(calls) == 3:
                raise StopIteration

        return callback

    res = minimize(rosen32, jnp.array([-1.2, 1.0], jnp.float32), method="COBYQA", callback=stop_at_three())
    ref = so.minimize(rosen32, [-1.2, 1.0], method="COBYQA", callback=stop_at_three())
    assert int(res.status) == ref.status == 3 and bool(res.success) and ref.success and res.message == ref.message
    with pytest.raises(ValueError, match="initial_tr_radius"):
        minimize(rosen32, np.zeros(2), method="COBYQA", options={"initial_tr_radius": -1.0})
    with pytest.raises(ValueError, match="final_tr_radius"):
        minimize(rosen32, np.zeros(2), method="COBYQA", options={"final_tr_radius": 0.0})
    with pytest.raises(ValueError, match="bogus"):
        minimize(rosen32, np.zeros(2), method="COBYQA", options={"bogus": 1})
    with pytest.raises(NotImplementedError, match="constraints"):
        minimize(rosen32, np.zeros(2), method="COBYQA", constraints={"type": "ineq", "fun": lambda x: x[0]})
