"""isotonic_regression against SciPy on the same data (x, block weights and block starts)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import isotonic_regression

RNG = np.random.default_rng(5)
N = 12
ISO = jax.jit(lambda y, w: isotonic_regression(y, weights=w))


@pytest.mark.parametrize("increasing", [True, False])
def test_isotonic_matches_scipy(increasing):
    for y, w in [(RNG.standard_normal(N) + np.linspace(0, 2, N), RNG.uniform(0.5, 2.0, N)),
                 (np.array([3.0, 1, 2, 2, 5, 5, 1, 0, 4, 4, 4, 2]), None)]:  # ties pool, as SciPy
        want = so.isotonic_regression(y, weights=w, increasing=increasing)
        got = isotonic_regression(y, weights=w, increasing=increasing)
        np.testing.assert_allclose(got.x, want.x, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(got.weights, want.weights, rtol=1e-14)
        np.testing.assert_array_equal(got.blocks, want.blocks)


def test_isotonic_transforms():
    ys = RNG.standard_normal((3, N))
    w = RNG.uniform(0.5, 2.0, N)
    batch = jax.vmap(ISO, in_axes=(0, None))
    res = batch(ys, w)
    for b in range(3):
        want = so.isotonic_regression(ys[b], weights=w)
        np.testing.assert_allclose(res.x[b], want.x, rtol=1e-13)
        # Traced: the block buffers are padded; the valid prefix is SciPy's.
        k = len(want.weights)
        np.testing.assert_array_equal(res.blocks[b, : k + 1], want.blocks)
        assert np.all(np.asarray(res.blocks[b, k + 1:]) == -1) and np.all(np.isnan(res.weights[b, k:]))
        np.testing.assert_allclose(res.weights[b, :k], want.weights, rtol=1e-13)
    # grad: each x is its block's weighted mean (blocks fixed) -> compare with finite differences.
    y0, v = jnp.asarray(ys[0]), jnp.asarray(RNG.standard_normal(N))
    loss = lambda y: jnp.sum(jnp.sin(ISO(y, w).x))  # noqa: E731
    h = 1e-6
    fd = (loss(y0 + h * v) - loss(y0 - h * v)) / (2 * h)
    np.testing.assert_allclose(jnp.dot(jax.grad(loss)(y0), v), fd, rtol=1e-6)
    assert ISO._cache_size() == 1  # new values of y did not recompile
    x32 = isotonic_regression(ys[0].astype(np.float32)).x
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(x32, so.isotonic_regression(ys[0]).x, rtol=1e-5, atol=1e-6)


def test_isotonic_bad_input():
    with pytest.raises(ValueError, match="`y`"):
        isotonic_regression(np.ones((2, 2)))
    with pytest.raises(ValueError, match="weights"):
        isotonic_regression(np.ones(3), weights=np.ones(2))
    with pytest.raises(ValueError, match="weights"):
        isotonic_regression(np.ones(2), weights=[1.0, -1.0])
    # NaN passes through as in SciPy: no pooling across it, an honest nan in x.
    y = np.linspace(0.0, 1.0, N)
    y[4] = np.nan
    got, want = isotonic_regression(y), so.isotonic_regression(y)
    np.testing.assert_array_equal(got.x, want.x)
    np.testing.assert_array_equal(got.blocks, want.blocks)
    assert isotonic_regression(np.zeros(0)).blocks.tolist() == [0]
