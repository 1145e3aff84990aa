"""``cubature`` against ``scipy.integrate.cubature`` on the same integrals; jit/vmap/grad, float32, bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
from scipy.special import erf

from scijax.solvers.integrate import cubature


def _singular(x, p):
    return jnp.stack([jnp.abs(x[:, 0]) ** -p, jnp.sin(x[:, 0])], -1)


def _gauss(x, c):
    return jnp.exp(-c * jnp.sum(x**2, axis=-1))


def test_matches_scipy_rules_subdivisions_and_status():
    for rule in ("gk15", "genz-malik"):
        res = cubature(_gauss, [0.0, 0.0], [1.0, 2.0], rule=rule, args=(1.0,))
        ref = si.cubature(lambda x: np.exp(-np.sum(x**2, axis=-1)), [0, 0], [1, 2], rule=rule)
        np.testing.assert_allclose(res.estimate, ref.estimate, rtol=1e-13)
        np.testing.assert_allclose(res.error, ref.error, rtol=1e-6)
        assert int(res.subdivisions) == ref.subdivisions and res.status == ref.status == "converged"
    # an array-valued integrand with an endpoint singularity, stopped by max_subdivisions, as SciPy
    res = cubature(_singular, [0.0], [1.0], max_subdivisions=5, args=(0.5,))
    ref = si.cubature(lambda x: np.stack([np.abs(x[:, 0]) ** -0.5, np.sin(x[:, 0])], -1), [0.0], [1.0],
                      max_subdivisions=5)
    np.testing.assert_allclose(res.estimate, ref.estimate, rtol=1e-12)
    assert int(res.subdivisions) == ref.subdivisions == 5 and res.status == ref.status == "not_converged"
    np.testing.assert_allclose(res.estimate[1], 1 - np.cos(1.0), rtol=1e-14)
    # a pole on a node: non-finite estimate, reported as not converged (no hang)
    pole = cubature(_singular, [-1.0], [1.0], max_subdivisions=5, args=(1.0,))
    assert pole.status == "not_converged" and not np.isfinite(pole.estimate[0])
    inf = cubature(_gauss, [-jnp.inf, 0.0], [jnp.inf, jnp.inf], args=(1.0,))
    np.testing.assert_allclose(inf.estimate, np.pi / 2, rtol=1e-9)
    assert inf.status == "converged"
    np.testing.assert_allclose(cubature(_gauss, [1.0, 0.0], [0.0, 1.0], args=(1.0,)).estimate,
                               -cubature(_gauss, [0.0, 0.0], [1.0, 1.0], args=(1.0,)).estimate, rtol=1e-14)


_VALUE_GRAD = jax.jit(jax.value_and_grad(
    lambda c, b: cubature(_gauss, jnp.zeros(2), jnp.stack([1.0, b]), args=(c,)).estimate, argnums=(0, 1)))


def test_jit_vmap_grad_float32_and_bad_inputs():
    value, (dc, db) = _VALUE_GRAD(1.0, 1.0)
    h = 1e-5
    def ref(c):  # the square of a 1-D Gaussian integral
        return (np.sqrt(np.pi / c) / 2 * erf(np.sqrt(c))) ** 2

    np.testing.assert_allclose(value, ref(1.0), rtol=1e-12)
    np.testing.assert_allclose(dc, (ref(1 + h) - ref(1 - h)) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(db, np.exp(-1.0) * si.quad(lambda x: np.exp(-x * x), 0, 1)[0], rtol=1e-8)
    _VALUE_GRAD(2.0, 0.5)
    assert _VALUE_GRAD._cache_size() == 1
    cs = jnp.array([0.5, 2.0])
    batched = jax.vmap(lambda c: _VALUE_GRAD(c, 1.0)[0])(cs)
    np.testing.assert_allclose(batched, [_VALUE_GRAD(c, 1.0)[0] for c in cs], rtol=1e-13)
    with jax.enable_x64(False):
        r = cubature(_gauss, jnp.zeros(2, jnp.float32), jnp.ones(2, jnp.float32), args=(jnp.float32(1.0),),
                     rtol=1e-5)
    assert r.estimate.dtype == jnp.float32 and r.status == "converged"
    np.testing.assert_allclose(r.estimate, ref(1.0), rtol=1e-5)
    with pytest.raises(ValueError, match="`rule`"):
        cubature(_gauss, [0.0], [1.0], rule="simpson", args=(1.0,))
    with pytest.raises(ValueError, match="genz-malik"):
        cubature(_gauss, [0.0], [1.0], rule="genz-malik", args=(1.0,))
    with pytest.raises(ValueError, match="`a` and `b`"):
        cubature(_gauss, [0.0, 0.0], [1.0], args=(1.0,))
    with pytest.raises(NotImplementedError, match="`points`"):
        cubature(_gauss, [0.0], [1.0], points=[[0.5]], args=(1.0,))
    with pytest.raises(TypeError, match="`f`"):
        cubature(None, [0.0], [1.0])
