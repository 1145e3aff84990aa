"""dual_annealing and direct against SciPy on SciPy's global test functions, plus jit/vmap/grad,
float32, bad inputs and non-finite objectives.

dual_annealing draws from a JAX random stream, so its iterates differ from SciPy's for the same
seed: it is compared by the minimum both reach. direct is deterministic: on these runs it
evaluates SciPy's points (same x, fun, nit and nfev).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import direct, dual_annealing

BOX = [(-5.12, 5.12)] * 2


def rastrigin(x, a):  # shifted: the global minimum 0 sits at x = a
    z = x - a
    return jnp.sum(z * z - 10 * jnp.cos(2 * jnp.pi * z)) + 10 * z.size


def rastrigin_np(x, a):
    z = x - a
    return np.sum(z * z - 10 * np.cos(2 * np.pi * z)) + 10 * z.size


# One compiled search shared by the tests below (a traced shift `a` and key).
_da = jax.jit(lambda a, key: dual_annealing(rastrigin, BOX, args=(a,), maxiter=300, rng=key))
SHIFT = jnp.array([0.3, -0.2])


def test_dual_annealing_finds_scipys_minimum_reproducibly():
    ours = [_da(SHIFT, jax.random.key(s)) for s in range(2)]
    refs = [so.dual_annealing(rastrigin_np, BOX, args=(np.asarray(SHIFT),), maxiter=300, rng=s) for s in range(2)]
    for res, ref in zip(ours, refs, strict=True):
        assert abs(ref.fun) < 1e-8  # SciPy's reference: the global minimum
        np.testing.assert_allclose(res.fun, ref.fun, atol=1e-8)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
        assert bool(res.success) and int(res.nit) == ref.nit == 300
        assert res.message == ref.message[0]
        assert 0 < int(res.nfev) < 4 * ref.nfev  # autodiff gradients: fewer evaluations than SciPy's FD
    again = _da(SHIFT, jax.random.key(0))
    np.testing.assert_array_equal(again.x, ours[0].x)  # the same key gives the same search
    _da(SHIFT + 0.1, jax.random.key(0))
    assert _da._cache_size() == 1  # new values of args and key do not recompile


def test_dual_annealing_grad_is_implicit():
    # x*(a) = a, so dx0/da0 = 1 through the best point's optimality conditions (reverse mode).
    g = jax.grad(lambda a: _da(a, jax.random.key(0)).x[0])(SHIFT)
    h = 1e-3
    fd = (_da(SHIFT.at[0].add(h), jax.random.key(0)).x[0] - _da(SHIFT.at[0].add(-h), jax.random.key(0)).x[0]) / (2 * h)
    np.testing.assert_allclose(g, [fd, 0.0], atol=1e-5)
    np.testing.assert_allclose(g, [1.0, 0.0], atol=1e-6)


# Plain annealing in float32 (its dtype from x0), shared by the vmap and float32 checks.
_plain = jax.jit(lambda a, key, x0: dual_annealing(rastrigin, BOX, args=(a,), x0=x0, maxiter=300, rng=key,
                                                   no_local_search=True))


def test_dual_annealing_float32_vmap_and_budget():
    x0 = jnp.array([1.0, 1.0], jnp.float32)
    shifts = jnp.array([[0.3, -0.2], [-1.1, 0.4]], jnp.float32)
    keys = jax.random.split(jax.random.key(1), 2)
    batch = jax.vmap(_plain, in_axes=(0, 0, None))(shifts, keys, x0)
    assert batch.x.dtype == jnp.float32 and batch.fun.dtype == jnp.float32
    for i in range(2):
        single = _plain(shifts[i], keys[i], x0)
        np.testing.assert_allclose(batch.x[i], single.x, atol=1e-6)
        np.testing.assert_allclose(batch.x[i], shifts[i], atol=0.05)  # plain annealing: near, not on it
        ref = so.dual_annealing(rastrigin_np, BOX, args=(np.asarray(shifts[i]),), x0=np.asarray(x0), maxiter=300,
                                rng=i, no_local_search=True)
        assert float(single.fun) < 0.5 and ref.fun < 0.5
    shift = np.asarray(shifts[0])
    cut = dual_annealing(rastrigin, BOX, args=(shift,), x0=x0, maxfun=50, rng=0, no_local_search=True)
    ref = so.dual_annealing(rastrigin_np, BOX, args=(shift,), maxfun=50, rng=0, no_local_search=True)
    assert int(cut.nfev) == ref.nfev == 50 and not bool(cut.success) and cut.message == ref.message[0]


def test_dual_annealing_non_finite_objective():
    def holey(x, cut):  # NaN for x0 > cut: a hole (cut = 0) or everywhere (cut = -inf)
        return jnp.where(x[0] > cut, jnp.nan, jnp.sum((x + 1.0) ** 2))

    run = jax.jit(lambda cut: dual_annealing(holey, BOX, args=(cut,), maxiter=50, rng=0, x0=jnp.array([2.0, 2.0]),
                                             no_local_search=True))
    res = run(0.0)
    assert bool(res.success) and float(res.fun) < 0.1 and float(res.x[0]) < 0  # restarted where finite
    bad = run(-jnp.inf)
    assert int(bad.status) == 3 and not bool(bad.success) and "NaN" in bad.message
    with pytest.raises(ValueError, match="NaN"):
        so.dual_annealing(lambda x: np.inf, BOX, maxiter=5, rng=0)  # SciPy raises; we report it


@pytest.mark.parametrize("kwargs, name", [
    ({"maxiter": -1}, "maxiter"), ({"visit": 3.5}, "visit"), ({"accept": 0.0}, "accept"),
    ({"initial_temp": 0.0}, "initial_temp"), ({"restart_temp_ratio": 1.0}, "restart_temp_ratio"),
    ({"maxfun": 0}, "maxfun"), ({"callback": print}, "callback"), ({"x0": [9.0, 0.0]}, "x0"),
    ({"x0": [0.0]}, "x0"), ({"bounds": [(1.0, 0.0)]}, "bounds"), ({"bounds": [(0.0, np.inf)]}, "bounds"),
])
def test_dual_annealing_bad_inputs(kwargs, name):
    kwargs = {"bounds": BOX, **kwargs}
    with pytest.raises((ValueError, TypeError), match=name):
        dual_annealing(lambda x: jnp.sum(x**2), **kwargs)


# --- direct ---------------------------------------------------------------------------------------

def styblinski_tang(x):
    return 0.5 * jnp.sum(x**4 - 16 * x**2 + 5 * x)


def eggholder(x):
    return (-(x[1] + 47) * jnp.sin(jnp.sqrt(jnp.abs(x[0] / 2 + x[1] + 47)))
            - x[0] * jnp.sin(jnp.sqrt(jnp.abs(x[0] - x[1] - 47))))


def rosen(x):
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _np(f):
    return lambda x: float(f(jnp.asarray(x)))


@pytest.mark.parametrize("f, bounds, kwargs", [
    (styblinski_tang, [(-4.0, 4.0)] * 2, {"len_tol": 1e-3}),
    (rosen, [(-5.0, 5.0)] * 3, {"len_tol": 1e-3}),
    (rosen, [(-5.0, 5.0)] * 3, {"len_tol": 1e-3, "locally_biased": False}),
    (eggholder, [(-512.0, 512.0)] * 2, {"len_tol": 1e-3}),
    (eggholder, [(-512.0, 512.0)] * 2, {"locally_biased": False, "len_tol": 1e-3}),
])
def test_direct_matches_scipy(f, bounds, kwargs):
    # Deterministic and, on these runs, the same sequence of evaluated points as SciPy's.
    res = direct(f, bounds, **kwargs)
    ref = so.direct(_np(f), bounds, **kwargs)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-9)
    assert int(res.status) == ref.status and bool(res.success) == ref.success and res.message == ref.message
    assert (int(res.nit), int(res.nfev)) == (ref.nit, ref.nfev)


@pytest.mark.parametrize("kwargs", [
    {"f_min": -78.33, "f_min_rtol": 1e-3}, {"vol_tol": 1e-4}, {"maxiter": 8}, {"maxfun": 100},
])
def test_direct_stopping_rules_follow_scipy(kwargs):
    seen = []
    res = direct(styblinski_tang, [(-4.0, 4.0)] * 2, callback=seen.append, **kwargs)
    ref = so.direct(_np(styblinski_tang), [(-4.0, 4.0)] * 2, **kwargs)
    assert int(res.status) == ref.status and res.message == ref.message and bool(res.success) == ref.success
    assert (int(res.nit), int(res.nfev)) == (ref.nit, ref.nfev)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-12)
    assert len(seen) >= 1 and all(np.shape(s) == (2,) for s in seen)


def test_direct_float32_non_finite_and_not_traceable():
    f32 = lambda x: styblinski_tang(x.astype(jnp.float32))  # noqa: E731
    res = direct(f32, [(-4.0, 4.0)] * 2, len_tol=1e-3)
    np.testing.assert_allclose(res.x, [-2.9035, -2.9035], atol=1e-2)
    walled = lambda x: jnp.where(x[0] > 1.0, jnp.inf, styblinski_tang(x))  # noqa: E731
    res = direct(walled, [(-4.0, 4.0)] * 2, len_tol=1e-3)
    ref = so.direct(_np(walled), [(-4.0, 4.0)] * 2, len_tol=1e-3)
    np.testing.assert_allclose(res.fun, ref.fun, atol=1e-2)
    with pytest.raises(TypeError, match="args"):
        jax.jit(lambda a: direct(lambda x, a: jnp.sum((x - a) ** 2), [(-1.0, 1.0)], args=(a,)).fun)(0.1)


@pytest.mark.parametrize("kwargs, name", [
    ({"bounds": [(1.0, 0.0)]}, "bounds"), ({"bounds": [(0.0, np.inf)]}, "bounds"), ({"bounds": 3.0}, "bounds"),
    ({"vol_tol": 2.0}, "vol_tol"), ({"len_tol": -1.0}, "len_tol"), ({"f_min_rtol": 2.0}, "f_min_rtol"),
    ({"maxfun": -1}, "maxfun"), ({"maxiter": 1.5}, "maxiter"), ({"locally_biased": "yes"}, "locally_biased"),
])
def test_direct_bad_inputs(kwargs, name):
    kwargs = {"bounds": [(-1.0, 1.0)], **kwargs}
    with pytest.raises((ValueError, TypeError), match=name):
        direct(lambda x: jnp.sum(x**2), **kwargs)
