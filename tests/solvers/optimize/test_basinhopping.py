"""basinhopping against SciPy on its documented examples, plus jit/vmap/grad and bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import basinhopping


def wavy(x):  # SciPy's docstring example: many local minima, global one near -0.195
    return jnp.cos(14.5 * x[0] - 0.3) + (x[0] + 0.2) * x[0]


def bowl(x, a):
    return jnp.sum((x - a) ** 2) + jnp.sin(3 * x[0])


def test_global_minimum_matches_scipy():
    ours = basinhopping(wavy, jnp.array([1.0]), niter=50, rng=0)
    ref = so.basinhopping(lambda x: np.cos(14.5 * x[0] - 0.3) + (x[0] + 0.2) * x[0], [1.0], niter=50, rng=0)
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(ours.fun, ref.fun, atol=1e-10)
    assert int(ours.nit) == ref.nit == 50 and bool(ours.success)
    assert ours.message == ref.message[0]
    assert int(ours.minimization_failures) == 0
    assert bool(ours.lowest_optimization_result.success)


def test_niter_success_stops_early_with_scipys_message():
    res = basinhopping(bowl, jnp.array([1.0, 1.0]), niter=50, rng=0, niter_success=3,
                       minimizer_kwargs={"args": (0.0,)})
    assert int(res.nit) < 50 and res.message == "success condition satisfied"


def test_jit_vmap_and_implicit_grad():
    solve = lambda a: basinhopping(bowl, jnp.array([1.0, 1.0]), niter=8, rng=0, minimizer_kwargs={"args": (a,)}).x
    eager = solve(0.3)  # computed once: a second eager call compiles parts of it again
    np.testing.assert_allclose(jax.jit(solve)(0.3), eager, atol=1e-10)
    batch = jax.vmap(solve)(jnp.array([0.0, 0.3]))
    np.testing.assert_allclose(batch[1], eager, atol=1e-8)
    # x*[1] = a at every local minimum, so the derivative is exactly 1 (reverse mode, through the loop).
    np.testing.assert_allclose(jax.grad(lambda a: solve(a)[1])(0.3), 1.0, atol=1e-6)


@pytest.mark.parametrize("kwargs, name", [
    ({"niter": -1}, "niter"), ({"T": -1.0}, "T"), ({"interval": 0}, "interval"),
    ({"stepwise_factor": 1.5}, "stepwise_factor"), ({"take_step": lambda x: x}, "take_step"),
    ({"callback": print}, "callback"),
])
def test_bad_inputs(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        basinhopping(wavy, jnp.array([1.0]), **kwargs)
