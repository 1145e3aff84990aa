"""root and fixed_point against SciPy; plus the public surface (docstrings)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

import scijax.solvers.optimize as sopt
from scijax.solvers.optimize import fixed_point, root


def powell_badly_scaled(x):
    return jnp.array([1e4 * x[0] * x[1] - 1, jnp.exp(-x[0]) + jnp.exp(-x[1]) - 1.0001])


def powell_badly_scaled_np(x):
    return np.array([1e4 * x[0] * x[1] - 1, np.exp(-x[0]) + np.exp(-x[1]) - 1.0001])


def equilibrium(x, k):
    """A <-> 2B with equilibrium constant k and the mass balance a + b/2 = 1."""
    return jnp.array([x[1] ** 2 - k * x[0], x[0] + 0.5 * x[1] - 1.0])


METHODS = ["hybr", "lm", "broyden1"]


@pytest.mark.parametrize("method", METHODS)
def test_powell_badly_scaled_matches_scipy(method):
    res = root(powell_badly_scaled, np.array([0.0, 1.0]), method=method)
    ref = so.root(powell_badly_scaled_np, np.array([0.0, 1.0]), method="hybr")
    assert bool(res.success), res.message
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-5 if method == "broyden1" else 1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_chemical_equilibrium_grad_vmap(method):
    k = jnp.array(0.3)
    res = root(equilibrium, np.array([0.5, 0.5]), args=(k,), method=method)
    # Closed form: b^2 + (k/2) b - k = 0.
    b = (-k / 2 + jnp.sqrt(k**2 / 4 + 4 * k)) / 2
    tol = 1e-6 if method == "broyden1" else 1e-10
    np.testing.assert_allclose(res.x, [1 - b / 2, b], atol=tol)
    db = jax.grad(lambda k: root(equilibrium, jnp.array([0.5, 0.5]), args=(k,), method=method).x[1])(k)
    exact = jax.grad(lambda k: (-k / 2 + jnp.sqrt(k**2 / 4 + 4 * k)) / 2)(k)
    np.testing.assert_allclose(db, exact, rtol=1e-5)
    ks = jnp.array([0.1, 0.3, 2.0])
    batched = jax.vmap(lambda k: root(equilibrium, jnp.array([0.5, 0.5]), args=(k,), method=method))(ks)
    for i, ki in enumerate(ks):
        one = root(equilibrium, jnp.array([0.5, 0.5]), args=(ki,), method=method)
        np.testing.assert_allclose(batched.x[i], one.x, rtol=1e-12)
        assert int(batched.nit[i]) == int(one.nit)


def test_root_jac_forms_float32_and_failures():
    jac = jax.jacfwd(powell_badly_scaled)
    a = root(powell_badly_scaled, np.array([0.0, 1.0]), jac=jac)
    b = root(lambda x: (powell_badly_scaled(x), jac(x)), np.array([0.0, 1.0]), jac=True)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10)
    r32 = root(equilibrium, jnp.array([0.5, 0.5], jnp.float32), args=(jnp.float32(0.3),))
    assert r32.x.dtype == jnp.float32 and bool(r32.success)
    # x^2 + 1 has no real root: never reported as solved.
    res = root(lambda x: x**2 + 1.0, np.array([0.5]), options={"maxfev": 50})
    assert not bool(res.success) and int(res.status) in (2, 5)
    for method in METHODS:
        res = root(lambda x: x * jnp.nan, np.array([0.5]), method=method)
        assert not bool(res.success) and "NaN" in res.message
    with pytest.raises(ValueError, match="method"):
        root(equilibrium, np.zeros(2), args=(0.3,), method="krylovv")
    with pytest.raises(ValueError, match="options"):
        root(equilibrium, np.zeros(2), args=(0.3,), options={"xtoll": 1e-3})
    with pytest.raises(ValueError, match="x0"):
        root(equilibrium, np.zeros((2, 2)), args=(0.3,))


def _contraction(x, c):
    return jnp.sqrt(c / (x + 1.0))


@pytest.mark.parametrize("method", ["del2", "iteration"])
def test_fixed_point_matches_scipy_grad_vmap(method):
    c = jnp.array([10.0, 12.0])
    x = fixed_point(_contraction, jnp.array([1.0, 2.0]), args=(c,), method=method)
    ref = so.fixed_point(lambda x, c: np.sqrt(c / (x + 1.0)), np.array([1.0, 2.0]),
                         args=(np.asarray(c),), method=method)
    np.testing.assert_allclose(x, ref, rtol=1e-10)
    # x^2 (x + 1) = c  ->  dx/dc = 1 / (3x^2 + 2x)
    g = jax.grad(lambda c: fixed_point(_contraction, jnp.array(1.0), args=(c,), method=method))(10.0)
    xs = float(x[0])
    np.testing.assert_allclose(g, 1 / (3 * xs**2 + 2 * xs), rtol=1e-7)
    batched = jax.vmap(lambda c: fixed_point(_contraction, jnp.array(1.0), args=(c,), method=method))(c)
    loop = [fixed_point(_contraction, jnp.array(1.0), args=(ci,), method=method) for ci in c]
    np.testing.assert_allclose(batched, loop, rtol=1e-14)


def test_fixed_point_failures():
    with pytest.raises(RuntimeError, match="Failed to converge"):
        fixed_point(lambda x: 2.0 * x + 1.0, jnp.array(1.0), method="iteration", maxiter=5)
    out = jax.jit(lambda x0: fixed_point(lambda x: 2.0 * x + 1.0, x0, method="iteration", maxiter=5))(1.0)
    assert np.isnan(out)
    with pytest.raises(ValueError, match="method"):
        fixed_point(_contraction, 1.0, args=(1.0,), method="newton")
    x32 = fixed_point(_contraction, jnp.float32(1.0), args=(jnp.float32(10.0),), xtol=1e-6)
    assert x32.dtype == jnp.float32


def test_public_names_have_docstrings():
    # Their examples run once, per module, in tests/test_doctests.py (running them here too
    # doubled their cost in CI).
    for name in sopt.__all__:
        obj = getattr(sopt, name)
        assert obj.__doc__ and len(obj.__doc__) > 40, name
