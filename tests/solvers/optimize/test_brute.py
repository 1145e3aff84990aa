"""brute against SciPy: the same grid, values and finish; jit, vmap, grad; bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import brute


def f(x, a):
    return jnp.sum((x - a) ** 2) + 0.1 * jnp.sin(5 * x[0])


def f_np(x, a):
    return np.sum((x - a) ** 2) + 0.1 * np.sin(5 * x[0])


def test_matches_scipy_with_finish_and_full_output():
    ranges = ((-2, 2), slice(-1, 1, 0.25))
    ours = brute(f, ranges, args=(0.5,), full_output=True, finish=None)
    ref = so.brute(f_np, ranges, args=(0.5,), full_output=True, finish=None)
    np.testing.assert_allclose(ours[0], ref[0])
    np.testing.assert_allclose(ours[1], ref[1])
    np.testing.assert_allclose(ours[2], ref[2])
    np.testing.assert_allclose(ours[3], ref[3], rtol=1e-12)
    x = brute(f, ((-2, 2), (-2, 2)), args=(0.5,), Ns=21)
    np.testing.assert_allclose(x, so.brute(f_np, ((-2, 2), (-2, 2)), args=(0.5,), Ns=21), atol=1e-4)


def test_one_variable_returns_scalar_like_scipy():
    g = lambda x: (x[0] - 0.3) ** 2
    ours = brute(g, ((-1, 1),), Ns=5, full_output=True, finish=None)
    ref = so.brute(g, ((-1, 1),), Ns=5, full_output=True, finish=None)
    assert np.ndim(ours[0]) == 0 and float(ours[0]) == float(ref[0])
    assert ours[2].shape == ref[2].shape == (5,)


def test_jit_vmap_grad():
    solve = lambda a: brute(f, ((-2, 2), (-2, 2)), args=(a,), Ns=11)
    np.testing.assert_allclose(jax.jit(solve)(0.5), solve(0.5), atol=1e-12)
    batch = jax.vmap(solve)(jnp.array([0.5, 1.0]))
    for i, a in enumerate((0.5, 1.0)):
        np.testing.assert_allclose(batch[i], solve(a), atol=1e-10)
    # x*[1] = a exactly, so d x*[1] / d a = 1 through the Nelder-Mead finish's implicit derivative.
    assert abs(float(jax.grad(lambda a: solve(a)[1])(0.5)) - 1.0) < 1e-4


def test_nan_region_is_skipped():
    g = lambda x: jnp.where(x[0] < 0, jnp.nan, (x[0] - 0.5) ** 2 + x[1] ** 2)
    x = brute(g, ((-1, 1), (-1, 1)), Ns=9, finish=None)
    np.testing.assert_allclose(x, [0.5, 0.0])


@pytest.mark.parametrize("ranges, Ns, name", [
    ((), 5, "ranges"), (((0, 1), "ab"), 5, r"ranges\[1\]"), (((0, 1),), 0, "Ns"), ((slice(1, 0, 0.1),), 5, "ranges"),
])
def test_bad_inputs(ranges, Ns, name):
    with pytest.raises(ValueError, match=name):
        brute(lambda x: jnp.sum(x**2), ranges, Ns=Ns)
