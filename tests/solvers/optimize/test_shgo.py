"""shgo against SciPy on SciPy's shgo test problems (sphere, Rosenbrock, Eggholder, the constrained
7-D Hock-Schittkowski 100), plus the stopping options, bad inputs, non-finite objectives and float32.

In 2-D the first simplicial iteration and the Sobol/Halton points are SciPy's own samples, so
the minimiser pools match and the local searches (ours L-BFGS-B/SLSQP, SciPy's) end at the same
minima: ``x``/``fun`` agree to the local searches' tolerance, and the local minima ``funl`` found
from the Sobol pool agree as a set, up to the odd search that ends in another basin.
shgo runs an eager loop (no jit/vmap/grad, documented); tracing its ``args`` raises.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import Bounds, NonlinearConstraint, shgo


def eggholder(x):
    return (-(x[1] + 47) * jnp.sin(jnp.sqrt(jnp.abs(x[0] / 2 + (x[1] + 47))))
            - x[0] * jnp.sin(jnp.sqrt(jnp.abs(x[0] - (x[1] + 47)))))


def eggholder_np(x):
    return (-(x[1] + 47) * np.sin(np.sqrt(abs(x[0] / 2 + (x[1] + 47))))
            - x[0] * np.sin(np.sqrt(abs(x[0] - (x[1] + 47)))))


def rosen(x, a):
    return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (a - x[:-1]) ** 2)


def sphere(x):
    return jnp.sum((x - 0.25) ** 2)


EGG = [(-512.0, 512.0)] * 2


@pytest.mark.parametrize("method", ["simplicial", "sobol"])
def test_eggholder_matches_scipy(method):
    ours = shgo(eggholder, EGG, sampling_method=method)
    ref = so.shgo(eggholder_np, EGG, sampling_method=method)
    assert bool(ours.success) and ref.success
    # the local searches stop at tolerance ~1e-8 in f: x to ~1e-5 of the box
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-4)
    np.testing.assert_allclose(ours.fun, ref.fun, rtol=1e-9)
    assert ours.nit == ref.nit == 1
    assert ours.tnev == ours.nfev - ours.nlfev  # no constraints: every sample point is feasible
    if method == "sobol":  # same samples, same pool: the same set of local minima
        assert ours.tnev == ref.nfev - ref.nlfev == 128
        # each pool point's local search may end in a different basin where the two line searches
        # part (one of 22 on this run): at least 20 of SciPy's local minima must be among ours
        ours_funl = np.asarray(ours.funl)
        found = [np.min(np.abs(ours_funl - f)) < 1e-5 for f in np.unique(np.round(ref.funl, 7))]
        assert sum(found) >= 20 and abs(ours_funl.size - ref.funl.size) <= 2
        assert np.all(np.diff(ours.funl) >= 0) and ours.xl.shape == (ours.funl.size, 2)
        np.testing.assert_allclose(ours.xl[0], ours.x)


def test_rosenbrock_halton_and_options():
    box = [(-2.0, 2.0)] * 2
    ref = so.shgo(so.rosen, box, sampling_method="halton")
    ours = shgo(rosen, box, args=(1.0,), sampling_method="halton")
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-4)
    assert abs(float(ours.fun)) < 1e-9 and ours.tnev == 100 == ref.nfev - ref.nlfev
    # stopping options: iterations continue until f_min is met / maxiter; every iteration adds n points
    seen = []
    res = shgo(rosen, box, args=(1.0,), n=16, sampling_method="halton", callback=seen.append,
               options={"maxiter": 3, "minimize_every_iter": False, "local_iter": 1})
    assert res.nit == 3 and res.tnev == 48 and len(seen) == 3 and res.xl.shape[0] == 1
    res = shgo(rosen, box, args=(1.0,), n=16, sampling_method="halton", options={"f_min": 0.0, "f_tol": 1e-6})
    assert res.nit == 1 and float(res.fun) < 1e-6
    # a second simplicial iteration refines the complex (3^2 grid points) and finds the same minimum
    res = shgo(rosen, box, args=(1.0,), iters=2)
    assert res.nit == 2 and res.tnev == 9
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-4)


def hs100(x):  # SciPy's shgo test problem 4 (Hock & Schittkowski 100): 7-D, four inequalities
    return ((x[0] - 10) ** 2 + 5 * (x[1] - 12) ** 2 + x[2] ** 4 + 3 * (x[3] - 11) ** 2 + 10 * x[4] ** 6
            + 7 * x[5] ** 2 + x[6] ** 4 - 4 * x[5] * x[6] - 10 * x[5] - 8 * x[6])


HS100_G = (lambda x: -(2 * x[0] ** 2 + 3 * x[1] ** 4 + x[2] + 4 * x[3] ** 2 + 5 * x[4] - 127),
           lambda x: -(7 * x[0] + 3 * x[1] + 10 * x[2] ** 2 + x[3] - x[4] - 282.0),
           lambda x: -(23 * x[0] + x[1] ** 2 + 6 * x[5] ** 2 - 8 * x[6] - 196),
           lambda x: -(4 * x[0] ** 2 + x[1] ** 2 - 3 * x[0] * x[1] + 2 * x[2] ** 2 + 5 * x[5] - 11 * x[6]))


def test_constrained_matches_scipy():
    box = [(-10.0, 10.0)] * 7
    ref = so.shgo(hs100, box, constraints=tuple({"type": "ineq", "fun": g} for g in HS100_G))
    # ours with two dicts and two NonlinearConstraint objects: both forms feed the sampling test
    cons = ({"type": "ineq", "fun": HS100_G[0]}, {"type": "ineq", "fun": HS100_G[1]},
            NonlinearConstraint(HS100_G[2], 0.0, np.inf), NonlinearConstraint(HS100_G[3], 0.0, np.inf))
    ours = shgo(hs100, box, constraints=cons)
    assert bool(ours.success) and ref.success
    np.testing.assert_allclose(ours.fun, ref.fun, rtol=1e-8)  # 680.6300573...
    np.testing.assert_allclose(ours.x, ref.x, atol=2e-5)
    assert ours.tnev == 2 ** 7 + 1 and all(float(g(ours.x)) >= -1e-6 for g in HS100_G)
    # no feasible sample point: SciPy's message, success False, NaN x
    f = lambda x: jnp.sum((x - 1.5) ** 2)  # noqa: E731
    bad = ({"type": "ineq", "fun": lambda x: -1.0 - x[0]},)
    ref = so.shgo(lambda x: np.sum((x - 1.5) ** 2), [(0.0, 3.0)] * 2, constraints=bad, sampling_method="sobol",
                  n=32)
    ours = shgo(f, [(0.0, 3.0)] * 2, constraints=bad, sampling_method="sobol", n=32)
    assert not ref.success and not bool(ours.success) and ours.message == ref.message
    assert np.all(np.isnan(ours.x)) and ours.tnev == 32 and ours.nfev == 0


def test_nonfinite_objective_and_float32():
    res = shgo(lambda x: jnp.nan * jnp.sum(x), [(0.0, 1.0)] * 2)
    assert not bool(res.success) and np.all(np.isnan(res.x)) and res.status == 1
    # NaN on half the box: those points never enter the pool; the finite half's minimum is found
    half = lambda x: jnp.where(x[0] > 0.6, jnp.nan, jnp.sum((x - jnp.array([0.2, 0.3])) ** 2))  # noqa: E731
    res = shgo(half, [(0.0, 1.0)] * 2, sampling_method="sobol", n=16)
    assert bool(res.success) and res.nfev - res.nlfev == 16
    np.testing.assert_allclose(res.x, [0.2, 0.3], atol=1e-6)
    lo, hi = np.full(2, -1.0, np.float32), np.full(2, 2.0, np.float32)
    res32 = shgo(sphere, Bounds(lo, hi))
    assert res32.x.dtype == jnp.float32 and res32.fun.dtype == jnp.float32
    np.testing.assert_allclose(res32.x, [0.25, 0.25], atol=1e-3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="bounds"):
        shgo(sphere, [(1.0, 0.0)])
    with pytest.raises(ValueError, match="bounds"):
        shgo(sphere, [(0.0, np.inf)])
    with pytest.raises(ValueError, match="`n`"):
        shgo(sphere, EGG, n=0)
    with pytest.raises(ValueError, match="`iters`"):
        shgo(sphere, EGG, iters=1.5)
    with pytest.raises(ValueError, match="sampling_method"):
        shgo(sphere, EGG, sampling_method="grid")
    with pytest.raises(ValueError, match="options"):
        shgo(sphere, EGG, options={"maxfevs": 3})
    with pytest.raises(ValueError, match="workers"):
        shgo(sphere, EGG, workers=2)
    with pytest.raises(ValueError, match="constraints"):
        shgo(sphere, EGG, constraints=({"type": "bogus", "fun": sphere},))
    with pytest.raises(NotImplementedError, match="symmetry"):
        shgo(sphere, EGG, options={"symmetry": True})
    with pytest.raises(TypeError, match="args"):
        jax.jit(lambda a: shgo(rosen, EGG, args=(a,)).fun)(1.0)
