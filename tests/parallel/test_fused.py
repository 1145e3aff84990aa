"""The fused (Pallas) backend against the vmap path; on CPU it runs in Pallas interpret mode.

Kept tiny (interpret mode is slow): a few hundred members, short spans.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from scijax.parallel import ensemble_solve_ivp
from scijax.parallel._rowwise import rowwise_rhs

from .problems import cases

N = 200
CASES = {name: rest for name, *rest in cases(N)}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("stepping", ["adaptive", "fixed"])
def test_fused_matches_vmap(name, stepping):
    fun, t_span, y0s, params = CASES[name]
    t_eval = np.linspace(t_span[0], t_span[1], 4)
    kw = dict(rtol=1e-8, atol=1e-10) if stepping == "adaptive" else dict(dt=(t_span[1] - t_span[0]) / 40)
    method = "RK45" if stepping == "adaptive" else "Tsit5"
    fused = ensemble_solve_ivp(fun, t_span, y0s, params, method, t_eval, backend="fused", **kw)
    ref = ensemble_solve_ivp(fun, t_span, y0s, params, method, t_eval, backend="vmap", **kw)
    assert fused.backend == "fused" and fused.y.shape == (N, len(y0s[0]), 4)
    assert fused.success.all() and ref.success.all()
    tol = 1e-6 if stepping == "adaptive" else 1e-9  # fixed: the same steps, dense output differs slightly
    np.testing.assert_allclose(np.asarray(fused.y), np.asarray(ref.y), rtol=tol, atol=tol)


def test_fused_equals_lean_including_failures_and_clip():
    fun, t_span, y0s, params = CASES["van_der_pol"]
    y0s, params = y0s[:40], tuple(p[:40] for p in params)
    kw = dict(rtol=1e-9, atol=1e-8, t_eval_mode="clip", max_steps=32)  # some members run out of steps
    a = ensemble_solve_ivp(fun, t_span, y0s, params, "Tsit5", np.linspace(*t_span, 3), backend="fused", **kw)
    b = ensemble_solve_ivp(fun, t_span, y0s, params, "Tsit5", np.linspace(*t_span, 3), backend="lean", **kw)
    np.testing.assert_array_equal(np.asarray(a.status), np.asarray(b.status))
    np.testing.assert_array_equal(np.asarray(a.nfev), np.asarray(b.nfev))
    assert 0 < int((a.status < 0).sum()) < 40
    np.testing.assert_allclose(np.asarray(a.y), np.asarray(b.y), rtol=1e-12, atol=1e-12, equal_nan=True)


def _matrix_fun(t, y, a):
    m = jnp.array([[0.0, 1.0], [-1.0, -0.1]])
    return a * (m @ y) + jnp.sum(y**2) * jnp.where(y > 0, 0.0, 0.01) + jnp.concatenate([y[1:], y[:1]]) * 0.0


def test_rowwise_tracer_matches_direct_evaluation():
    y = np.array([[0.3, -0.2, 1.5], [0.7, 0.1, -2.0]])  # (n, members)
    a = np.array([1.0, 2.0, 0.5])
    rhs = rowwise_rhs(_matrix_fun, 2, [()], __import__("jax").tree.structure((0,)), jnp.float64)
    rows = rhs(jnp.zeros(3), tuple(jnp.asarray(y)), (jnp.asarray(a),))
    direct = np.stack([np.asarray(_matrix_fun(0.0, jnp.asarray(y[:, i]), a[i])) for i in range(3)], axis=1)
    np.testing.assert_allclose(np.stack(rows), direct, rtol=1e-14)


def test_untraceable_fun_is_reported():
    def gathers(t, y, k):
        return y[jnp.array([1, 0])] * k  # fancy indexing -> gather, not row-wise

    with pytest.raises(NotImplementedError, match="gather"):
        ensemble_solve_ivp(gathers, (0.0, 1.0), jnp.ones((3, 2)), (jnp.ones(3),), backend="fused")
    res = ensemble_solve_ivp(gathers, (0.0, 1.0), jnp.ones((3, 2)), (jnp.ones(3),))  # auto avoids fused
    assert res.backend in ("lean", "vmap") and res.success.all()
