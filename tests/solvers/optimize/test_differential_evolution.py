"""differential_evolution against SciPy, plus jit/vmap/grad/float32/no-recompile/bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import Bounds, differential_evolution


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def shifted_sphere(x, c):
    return jnp.sum((x - c) ** 2)


def ackley(x):
    return (-20 * jnp.exp(-0.2 * jnp.sqrt(0.5 * jnp.sum(x**2))) - jnp.exp(0.5 * jnp.sum(jnp.cos(2 * jnp.pi * x)))
            + jnp.e + 20)


@pytest.mark.parametrize("updating", ["deferred", "immediate"])
def test_rosenbrock_matches_scipy(updating):
    bounds = [(-2.0, 2.0)] * 3
    res = differential_evolution(rosen, bounds, rng=1, updating=updating)
    ref = so.differential_evolution(so.rosen, bounds, rng=1, updating=updating)
    assert bool(res.success) and ref.success
    assert res.message == ref.message
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert float(res.fun) <= ref.fun + 1e-10
    # Same method, different random streams: generation counts agree to within a third.
    assert abs(int(res.nit) - ref.nit) <= ref.nit / 3
    assert res.population.shape == (15 * 3, 3) and res.population_energies.shape == (45,)


def test_multimodal_ackley_finds_global_minimum():
    res = differential_evolution(ackley, Bounds([-5.0, -5.0], [5.0, 5.0]), rng=0)
    assert bool(res.success)
    np.testing.assert_allclose(res.x, 0.0, atol=1e-6)


@pytest.mark.parametrize("strategy", ["rand2exp", "currenttobest1exp", "randtobest1bin", "best2bin"])
def test_strategies_converge(strategy):
    c = jnp.array([0.3, -0.7])
    res = differential_evolution(shifted_sphere, [(-2, 2), (-2, 2)], args=(c,), strategy=strategy, rng=3,
                                 polish=False, tol=1e-8, maxiter=300)
    np.testing.assert_allclose(res.x, c, atol=1e-3)
    assert int(res.nfev) == 30 * (int(res.nit) + 1)  # popsize 15 x 2 variables, one initial generation


def test_budget_exhausted_is_not_success():
    res = differential_evolution(rosen, [(-2, 2)] * 3, rng=0, maxiter=3, polish=False)
    ref = so.differential_evolution(so.rosen, [(-2, 2)] * 3, rng=0, maxiter=3, polish=False)
    assert int(res.status) == 1 and not bool(res.success) and not ref.success
    assert res.message == ref.message


def test_seed_reproducible_and_key_accepted():
    a = differential_evolution(ackley, [(-5, 5)] * 2, rng=7, polish=False, maxiter=20)
    b = differential_evolution(ackley, [(-5, 5)] * 2, seed=7, polish=False, maxiter=20)
    c = differential_evolution(ackley, [(-5, 5)] * 2, rng=jax.random.key(7), polish=False, maxiter=20)
    np.testing.assert_array_equal(a.x, b.x)
    assert c.x.shape == (2,)


def test_jit_no_recompile_vmap_matches_loop_and_grad():
    traces = []

    def f(x, c):
        traces.append(None)
        return shifted_sphere(x, c)

    bounds = [(-2, 2), (-2, 2)]
    solve = jax.jit(lambda c: differential_evolution(f, bounds, args=(c,), rng=0))
    first = solve(jnp.array([0.5, 0.5]))
    n = len(traces)
    second = solve(jnp.array([-0.5, 1.0]))
    assert len(traces) == n and solve._cache_size() == 1
    np.testing.assert_allclose(first.x, [0.5, 0.5], atol=1e-7)
    np.testing.assert_allclose(second.x, [-0.5, 1.0], atol=1e-7)

    batch = jnp.array([[0.5, 0.5], [-0.5, 1.0], [1.5, -1.5]])
    res = jax.vmap(lambda c: differential_evolution(f, bounds, args=(c,), rng=0))(batch)
    for i, c in enumerate(batch):
        one = solve(c)  # the loop reuses the jitted program above (an eager call would compile anew)
        np.testing.assert_allclose(res.x[i], one.x, atol=1e-10)
        assert int(res.nit[i]) == int(one.nit)
    assert solve._cache_size() == 1

    # The polished minimiser x*(c) = c: its derivative is the identity (implicit, through L-BFGS-B).
    jac = jax.jacfwd(lambda c: differential_evolution(f, bounds, args=(c,), rng=0).x)(jnp.array([0.2, -0.4]))
    np.testing.assert_allclose(jac, np.eye(2), atol=1e-6)


def test_unpolished_gradient_is_nan():
    g = jax.jacfwd(lambda c: differential_evolution(shifted_sphere, [(-2, 2)] * 2, args=(c,), rng=0,
                                                    polish=False, maxiter=5).x)(jnp.array([0.2, -0.4]))
    assert np.all(np.isnan(g))


def test_float32():
    x0 = jnp.array([0.0, 0.0], dtype=jnp.float32)
    res = differential_evolution(rosen, [(-2, 2)] * 2, x0=x0, rng=0)
    assert res.x.dtype == jnp.float32 and bool(res.success)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=2e-3)


def test_non_finite_function_reports_failure():
    res = differential_evolution(lambda x: jnp.nan * jnp.sum(x), [(-1, 1)] * 2, rng=0, maxiter=5, polish=False)
    assert not bool(res.success) and int(res.status) == 3
    # NaN in part of the domain is treated as +inf, as in SciPy, and the search avoids it.
    part = lambda x: jnp.where(x[0] < -0.5, jnp.nan, jnp.sum((x - 0.3) ** 2))
    res = differential_evolution(part, [(-1, 1)] * 2, rng=0)
    assert bool(res.success)
    np.testing.assert_allclose(res.x, [0.3, 0.3], atol=1e-6)


@pytest.mark.parametrize("kwargs, name", [
    ({"strategy": "best3bin"}, "strategy"),
    ({"mutation": (0.5, 2.5)}, "mutation"),
    ({"mutation": "big"}, "mutation"),
    ({"recombination": 1.5}, "recombination"),
    ({"updating": "sometimes"}, "updating"),
    ({"init": "sobol"}, "init"),
    ({"init": np.zeros((3, 2))}, "init"),
    ({"x0": [0.0, 0.0, 0.0]}, "x0"),
    ({"rng": "seed"}, "rng"),
])
def test_bad_inputs_name_the_argument(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        differential_evolution(rosen, [(-2, 2)] * 2, **kwargs)


def test_bad_bounds_and_unsupported_options():
    with pytest.raises(ValueError, match="bounds"):
        differential_evolution(rosen, [(-2, np.inf)] * 2)
    with pytest.raises(ValueError, match="bounds"):
        differential_evolution(rosen, [(2, -2)] * 2)
    with pytest.raises(TypeError, match="callback"):
        differential_evolution(rosen, [(-2, 2)] * 2, callback=print)
