"""minimize(method='Powell' | 'TNC' | 'trust-krylov') against SciPy on SciPy's own test problems,
plus jit (no recompilation), vmap against a loop, implicit grad against finite differences,
float32, NaN and bad inputs. Problems are 2-D; each method compiles a handful of times."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import minimize

METHODS = ["Powell", "TNC", "trust-krylov"]


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _scipy(method, x0, fun=so.rosen, jac=so.rosen_der, hess=so.rosen_hess, **kw):
    """SciPy's minimize on NumPy versions of the problem (no JAX work on the SciPy side)."""
    extra = {} if method == "Powell" else {"jac": jac}
    if method == "trust-krylov":
        extra["hess"] = hess
    return so.minimize(fun, x0, method=method, **extra, **kw)


def test_powell_rosenbrock_matches_scipy_step_for_step():
    # (TNC and trust-krylov meet SciPy on Rosenbrock in tests/test_registries.py and below.)
    x0 = np.array([-1.2, 1.0])
    res = minimize(rosen, x0, method="Powell")
    ref = _scipy("Powell", x0)
    assert bool(res.success) and ref.success, res.message
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-10)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-8)
    # SciPy's algorithm step for step: the same iterations and evaluations.
    assert int(res.nit) == ref.nit and int(res.nfev) == ref.nfev
    assert res.jac is None and res.njev is None


def test_powell_bounds_match_scipy():
    # A box on x0 and a half-line on x1 (the tan map): SciPy's test_optimize bounded-Powell setting.
    x0 = np.array([0.0, 0.5])
    for bounds in ([(-0.5, 0.5), (0.0, None)], [(None, 0.5), (0.1, 2.0)]):
        res = minimize(rosen, x0, method="Powell", bounds=bounds)
        ref = _scipy("Powell", x0, bounds=bounds)
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-8)
        # Same iterations; evaluations agree until iterates sit exactly on a bound, where round-off
        # in the interval ends (8th digit) changes a bounded line search's length (440 vs 455).
        assert int(res.nit) == ref.nit and abs(int(res.nfev) - ref.nfev) <= 0.05 * ref.nfev
        lo, hi = np.array([b[0] if b[0] is not None else -np.inf for b in bounds]), np.array(
            [b[1] if b[1] is not None else np.inf for b in bounds])
        assert np.all(np.asarray(res.x) >= lo) and np.all(np.asarray(res.x) <= hi)


def test_powell_active_bound_implicit_derivative():
    # min |x - a|^2 + x0 x1 / 2 on x0 <= 1: for a = (2, -3) the bound is active, x = (1, a1 - 1/4),
    # so dx/da = [[0, 0], [0, 1]]. Powell's bounded line searches stop inside the bound; the
    # solution must still be on it, or the implicit derivative would be the unconstrained one.
    def q(x, a):
        return jnp.sum((x - a) ** 2) + 0.5 * x[0] * x[1]

    def solve(a):
        return minimize(q, jnp.zeros(2), args=(a,), method="Powell", bounds=[(-1.0, 1.0), (None, 0.5)],
                        options={"xtol": 1e-10, "ftol": 1e-14}).x

    a = jnp.array([2.0, -3.0])
    jac, x = jax.jacfwd(lambda a: (solve(a), solve(a)), has_aux=True)(a)  # one compilation
    np.testing.assert_allclose(x, [1.0, -3.25], atol=1e-8)
    assert float(x[0]) == 1.0
    np.testing.assert_allclose(jac, [[0.0, 0.0], [0.0, 1.0]], atol=1e-8)


@pytest.mark.filterwarnings("ignore:Initial guess is not within")
def test_tnc_scipy_bounded_problems():
    # test_tnc.py: test1fg (x1 >= -1.5, optimum (1, 1) inside) and test2fg (x1 >= 1.5, optimum on
    # the bound at (-1.2210262419616387, 1.5)), both 2-D Rosenbrock; one compilation serves both
    # (bounds are traced).
    for x0, bounds, xopt in (([-2.0, 1.0], [(-np.inf, None), (-1.5, None)], [1.0, 1.0]),
                             ([-2.0, 1.0], [(-np.inf, None), (1.5, None)], [-1.2210262419616387, 1.5])):
        res = minimize(rosen, np.array(x0), method="TNC", bounds=bounds)
        ref = _scipy("TNC", np.array(x0), bounds=bounds)
        assert bool(res.success), res.message
        np.testing.assert_allclose(res.x, xopt, atol=1e-5)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-4)
        assert float(res.x[1]) >= bounds[1][0]


def _quartic(x, a, xp=jnp):
    return xp.sum((x - a) ** 2) + 0.5 * x[0] * x[1] + 0.1 * xp.sum(x**4)


def _quartic_np(a):
    a = np.asarray(a)
    swap = np.array([[0.0, 0.5], [0.5, 0.0]])
    return (lambda x: _quartic(x, a, np), lambda x: 2 * (x - a) + swap @ x + 0.4 * x**3,
            lambda x: 2 * np.eye(2) + swap + np.diag(1.2 * x**2))


_TIGHT = {"Powell": {"xtol": 1e-10, "ftol": 1e-14}, "TNC": {"gtol": 1e-10},
          "trust-krylov": {"gtol": 1e-10}}


@pytest.mark.parametrize("method", METHODS)
def test_jit_vmap_and_implicit_grad(method):
    traces = []

    def f(x, a):
        traces.append(None)
        return _quartic(x, a)

    opts = _TIGHT[method]
    solve = jax.jit(lambda a: minimize(f, jnp.zeros(2), args=(a,), method=method, options=opts))
    batch = jnp.array([[1.0, 2.0], [0.0, 0.0], [-3.0, 0.5]])
    loop = [solve(a) for a in batch]
    n = len(traces)
    solve(jnp.array([0.3, -0.7]))
    assert len(traces) == n and solve._cache_size() == 1  # new values do not recompile

    def x_and_result(a):
        res = minimize(f, jnp.zeros(2), args=(a,), method=method, options=opts)
        return res.x, res

    # One compilation: vmap over the batch of (implicit) forward-mode Jacobians, plus the solutions.
    jac, res = jax.vmap(jax.jacfwd(x_and_result, has_aux=True))(batch)
    for i, one in enumerate(loop):
        assert bool(one.success)
        np.testing.assert_allclose(res.x[i], one.x, atol=1e-12)
        assert int(res.nit[i]) == int(one.nit)
    # Against SciPy on one element, and the implicit derivative against central differences
    # (step 1e-3: truncation error ~1e-7; a solve's own error d adds ~d / 1e-3: d ~ 1e-10 for the
    # gradient-based methods, but Powell stops on f alone, so its x is good to ~sqrt(ftol) ~ 1e-8).
    fun, grad, hess = _quartic_np(batch[0])
    ref = _scipy(method, np.zeros(2), fun, grad, hess)
    np.testing.assert_allclose(loop[0].x, ref.x, atol=1e-4)
    eps = 1e-3
    for k in (0, 2):
        a = batch[k]
        fd = np.stack([(solve(a.at[i].add(eps)).x - solve(a.at[i].add(-eps)).x) / (2 * eps) for i in range(2)], 1)
        np.testing.assert_allclose(jac[k], fd, rtol=1e-5, atol=2e-5 if method == "Powell" else 1e-6)


def _bowl(x, c):
    return jnp.sum((x - 0.5) ** 2) + 0.1 * jnp.sum(x**4) + c


@pytest.mark.parametrize("method", METHODS)
def test_float32_and_nan(method):
    x0 = jnp.array([-1.2, 1.0], dtype=jnp.float32)
    res = minimize(_bowl, x0, args=(jnp.float32(0.0),), method=method)
    assert res.x.dtype == jnp.float32 and bool(res.success), res.message
    ref = so.minimize(lambda x: np.sum((x - 0.5) ** 2) + 0.1 * np.sum(x**4), np.array([-1.2, 1.0]))
    np.testing.assert_allclose(res.x, ref.x, atol=2e-3)
    # A NaN objective (same compiled solve: c is traced) fails honestly.
    res = minimize(_bowl, x0, args=(jnp.float32(jnp.nan),), method=method)
    assert not bool(res.success) and int(res.status) == 3 and "NaN" in res.message


def test_bad_inputs():
    x0 = np.zeros(2)
    with pytest.raises(ValueError, match="options"):
        minimize(rosen, x0, method="Powell", options={"gtol": 1e-3})
    with pytest.raises(ValueError, match="options"):
        minimize(rosen, x0, method="TNC", options={"maxiter": 3})
    with pytest.raises(ValueError, match="scale"):
        minimize(rosen, x0, method="TNC", options={"scale": [1.0, 2.0]})
    with pytest.raises(ValueError, match="direc"):
        minimize(rosen, x0, method="Powell", options={"direc": np.eye(3)})
    with pytest.raises(ValueError, match="bounds"):
        minimize(rosen, x0, method="TNC", bounds=[(1, 0), (0, 1)])
    with pytest.warns(RuntimeWarning, match="cannot handle bounds"), pytest.raises(ValueError, match="options"):
        minimize(rosen, x0, method="trust-krylov", bounds=[(0, 1)] * 2, options={"xtol": 0.1})
