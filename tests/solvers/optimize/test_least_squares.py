"""least_squares and curve_fit against SciPy: TRF is a port, so iterates and counts agree."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import curve_fit, least_squares

RNG = np.random.default_rng(0)
T = np.linspace(0, 10, 40)
Y = 3 * np.exp(-0.5 * T) + 0.05 * RNG.standard_normal(40)
Y[::7] += 2.0  # outliers


def decay_res(p, t, y):
    return p[0] * jnp.exp(-p[1] * t) - y


def decay_res_np(p, t, y):
    return p[0] * np.exp(-p[1] * t) - y


def rosen_res(x):
    return jnp.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def rosen_res_np(x):
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


@pytest.mark.parametrize("loss", ["linear", "soft_l1", "huber", "cauchy", "arctan"])
def test_robust_losses_with_outliers_match_scipy(loss):
    res = least_squares(decay_res, np.array([1.0, 1.0]), loss=loss, f_scale=0.1, args=(T, Y))
    ref = so.least_squares(decay_res_np, np.array([1.0, 1.0]), loss=loss, f_scale=0.1, args=(T, Y))
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7)
    np.testing.assert_allclose(res.cost, ref.cost, rtol=1e-9)
    # x agrees to 1e-7 relative, so residuals of O(1) data agree to ~1e-8 absolute: a 1.9e-4 residual
    # (huber) differs from SciPy's by 1.2e-9, above a 1e-9 floor.
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.jac, ref.jac, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(res.grad, ref.grad, atol=1e-6)
    assert int(res.nfev) == ref.nfev and int(res.status) == ref.status
    assert res.message == ref.message and bool(res.success)
    if loss != "linear":  # the robust fit ignores the outliers
        assert abs(float(res.x[1]) - 0.5) < 0.05


@pytest.mark.parametrize("kw", [{}, {"bounds": ([-np.inf, 1.5], np.inf)}, {"method": "lm"},
                                {"x_scale": "jac"}, {"bounds": ([-2.0, -2.0], [0.5, 3.0])}])
def test_rosenbrock_and_bounds_match_scipy(kw):
    res = least_squares(rosen_res, np.array([-1.0, 2.0]), **kw)
    ref = so.least_squares(rosen_res_np, np.array([-1.0, 2.0]), **kw)
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(res.active_mask, ref.active_mask)
    assert bool(res.success)
    assert float(res.optimality) < max(10 * ref.optimality, 1e-6)


def test_dogbox_matches_scipy():
    for kw in [{}, {"bounds": ([-np.inf, 1.5], np.inf)}, {"bounds": ([-2.0, -2.0], [0.5, 3.0])}]:
        res = least_squares(rosen_res, np.array([-1.0, 2.0]), method="dogbox", **kw)
        ref = so.least_squares(rosen_res_np, np.array([-1.0, 2.0]), method="dogbox", **kw)
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-10)
        np.testing.assert_array_equal(res.active_mask, ref.active_mask)
        assert int(res.nfev) == ref.nfev and int(res.status) == ref.status
    for loss in ["linear", "cauchy"]:
        kw = {"loss": loss, "f_scale": 0.1, "args": (T, Y), "method": "dogbox", "bounds": (0, [2.8, 10])}
        res = least_squares(decay_res, np.array([1.0, 1.0]), **kw)
        ref = so.least_squares(decay_res_np, np.array([1.0, 1.0]), **kw)
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-8)
        assert int(res.nfev) == ref.nfev
    # On the bound x0 = 2.8 the derivative w.r.t. the data is zero; the free one is implicit.
    jac = jax.jacobian(lambda y: least_squares(decay_res, jnp.ones(2), args=(T, y), method="dogbox",
                                               bounds=(0, [2.8, 10])).x)(jnp.asarray(Y))
    assert float(jnp.max(jnp.abs(jac[0]))) == 0.0 and float(jnp.max(jnp.abs(jac[1]))) > 0


def test_user_jac_and_kwargs():
    jac = lambda x: jnp.array([[-20 * x[0], 10.0], [-1.0, 0.0]])  # noqa: E731
    res = least_squares(rosen_res, np.array([2.0, 2.0]), jac=jac)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-10)
    res = least_squares(lambda x, t, y=None: decay_res(x, t, y), np.ones(2), args=(T,),
                        kwargs={"y": Y})
    np.testing.assert_allclose(res.x, so.least_squares(decay_res_np, np.ones(2), args=(T, Y)).x,
                               rtol=1e-7)


def test_implicit_grad_bounds_and_batching():
    # Linear least squares: x = argmin |A x - b|^2 -> dx/db = pinv(A); with x1 <= 0.1 active,
    # x1 is fixed and x0 solves the reduced problem.
    a = jnp.array([[1.0, 0.2], [0.3, 1.0], [0.5, 0.5]])

    def linear(x, b):
        return a @ x - b

    def solve(b, ub):
        return least_squares(linear, jnp.zeros(2), args=(b,), bounds=(-jnp.inf, ub)).x

    b = jnp.array([1.0, 2.0, 0.5])
    free = jax.jacobian(solve)(b, jnp.array([10.0, 10.0]))
    np.testing.assert_allclose(free, np.linalg.pinv(np.asarray(a)), atol=1e-7)
    ub = jnp.array([10.0, 0.1])
    x = solve(b, ub)
    assert abs(float(x[1]) - 0.1) < 1e-8
    jac = jax.jacobian(solve)(b, ub)
    col = np.asarray(a[:, 0])
    np.testing.assert_allclose(jac[0], col / col.dot(col), atol=1e-7)
    np.testing.assert_allclose(jac[1], 0.0, atol=1e-12)
    # vmap over data sets equals a loop, each with its own nfev.
    bs = jnp.stack([b, 2 * b, -b])

    def tanh_res(x, b):
        return jnp.tanh(a @ x) - 0.3 * b

    batched = jax.vmap(lambda b: least_squares(tanh_res, jnp.zeros(2), args=(b,)))(bs)
    for i, bi in enumerate(bs):
        one = least_squares(tanh_res, jnp.zeros(2), args=(bi,))
        np.testing.assert_allclose(batched.x[i], one.x, rtol=1e-12)
        assert int(batched.nfev[i]) == int(one.nfev)


def test_float32_jit_no_recompile():
    traces = []

    def res(p, y):
        traces.append(None)
        return p[0] * jnp.exp(-p[1] * jnp.asarray(T, p.dtype)) - y

    solve = jax.jit(lambda y: least_squares(res, jnp.ones(2, jnp.float32), args=(y,)).x)
    y32 = jnp.asarray(3 * np.exp(-0.5 * T), jnp.float32)
    x = solve(y32)
    n = len(traces)
    solve(y32 * 1.1)
    assert len(traces) == n and x.dtype == jnp.float32
    np.testing.assert_allclose(x, [3.0, 0.5], rtol=1e-4)


def test_least_squares_bad_inputs_and_nan():
    with pytest.raises(ValueError, match="method"):
        least_squares(rosen_res, np.zeros(2), method="dogleg")  # not a least_squares method
    with pytest.raises(ValueError, match="loss"):
        least_squares(rosen_res, np.zeros(2), loss="l2")
    with pytest.raises(ValueError, match="x0"):
        least_squares(rosen_res, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="bounds"):
        least_squares(rosen_res, np.zeros(2), bounds=(1.0, 0.0))
    with pytest.raises(ValueError, match="infeasible"):
        least_squares(rosen_res, np.zeros(2), bounds=(1.0, 2.0))
    with pytest.raises(ValueError, match="bounds"):
        least_squares(rosen_res, np.zeros(2), bounds=(0.0, 1.0), method="lm")
    with pytest.raises(ValueError, match="lm"):
        least_squares(lambda x: x[:1], np.zeros(2), method="lm")
    with pytest.raises(ValueError, match="not finite"):
        least_squares(lambda x: x * jnp.nan, np.zeros(2))
    with pytest.raises(ValueError, match="max_nfev"):
        least_squares(rosen_res, np.zeros(2), max_nfev=0)
    res = jax.jit(lambda x0: least_squares(lambda x: x - jnp.sqrt(x0), jnp.ones(2)))(jnp.array(-1.0))
    assert not bool(res.success) and int(res.status) == 5
    res = least_squares(rosen_res, np.array([-1.0, 2.0]), max_nfev=3)
    assert int(res.status) == 0 and "maximum number of function evaluations" in res.message


X_FIT = np.linspace(0, 4, 50)
Y_FIT = 2.5 * np.exp(-1.3 * X_FIT) + 0.5 + 0.05 * RNG.standard_normal(50)


def model(x, a, b, c):
    return a * jnp.exp(-b * x) + c


def model_np(x, a, b, c):
    return a * np.exp(-b * x) + c


@pytest.mark.parametrize("kw", [{}, {"bounds": (0, [3.0, 1.5, 0.6])},
                                {"sigma": 0.05 * np.ones(50)},
                                {"sigma": 0.05 * np.ones(50), "absolute_sigma": True},
                                {"sigma": np.diag(np.full(50, 0.05**2))}])
def test_curve_fit_matches_scipy_pcov(kw):
    popt, pcov = curve_fit(model, X_FIT, Y_FIT, **kw)
    ref_popt, ref_pcov = so.curve_fit(model_np, X_FIT, Y_FIT, **kw)
    np.testing.assert_allclose(popt, ref_popt, rtol=1e-6)
    # SciPy's 'lm' branch takes its covariance from MINPACK's QR at its own last iterate; the
    # agreement is limited by where the two solvers stop (rtol 1e-4), not by the formula.
    np.testing.assert_allclose(pcov, ref_pcov, rtol=1e-4)


def test_curve_fit_vmap_over_datasets_and_grad():
    ys = jnp.asarray(Y_FIT)[None] + 0.01 * jax.random.normal(jax.random.key(1), (4, 50))
    fit = jax.jit(jax.vmap(lambda y: curve_fit(model, X_FIT, y, p0=jnp.ones(3))))
    popts, pcovs = fit(ys)
    assert popts.shape == (4, 3) and pcovs.shape == (4, 3, 3)
    for i in range(4):
        ref, ref_cov = so.curve_fit(model_np, X_FIT, np.asarray(ys[i]), p0=np.ones(3))
        np.testing.assert_allclose(popts[i], ref, rtol=1e-6)
        np.testing.assert_allclose(pcovs[i], ref_cov, rtol=1e-3)
    # d popt / d ydata of a linear model is the pseudo-inverse of the design matrix.
    lin = lambda x, a, b: a * x + b  # noqa: E731
    jac = jax.jacobian(lambda y: curve_fit(lin, X_FIT, y, p0=jnp.ones(2))[0])(jnp.asarray(Y_FIT))
    design = np.stack([X_FIT, np.ones_like(X_FIT)], axis=1)
    np.testing.assert_allclose(jac, np.linalg.pinv(design), atol=1e-8)


def test_curve_fit_defaults_full_output_and_bad_inputs():
    popt, pcov, info, mesg, ier = curve_fit(model, X_FIT, Y_FIT, full_output=True)
    assert popt.shape == (3,) and info["fvec"].shape == (50,) and int(ier) in (1, 2, 3, 4)
    # 'lm' adds MINPACK's pivoted QR of the Jacobian: SciPy's is one iteration older and by forward
    # differences, so agreement is to the fit's tolerance (seen: 4e-7 relative in fjac).
    ref = so.curve_fit(model_np, X_FIT, Y_FIT, full_output=True)[2]
    assert set(info) == set(ref) and info["ipvt"].tolist() == ref["ipvt"].tolist()
    np.testing.assert_allclose(info["fjac"], ref["fjac"], atol=1e-5 * np.abs(ref["fjac"]).max())
    np.testing.assert_allclose(info["qtf"], ref["qtf"], atol=1e-4 * np.linalg.norm(ref["fvec"]))
    # nan_policy='omit' drops the appended NaN point: the same 50 points, so the same compiled fit.
    x_nan, y_nan = np.append(X_FIT, 5.0), np.append(Y_FIT, np.nan)
    for kw in ({"nan_policy": "omit"}, {"nan_policy": "omit", "check_finite": False}):
        np.testing.assert_allclose(curve_fit(model, x_nan, y_nan, **kw)[0],
                                   so.curve_fit(model_np, x_nan, y_nan, **kw)[0], rtol=1e-7)
    with pytest.raises(ValueError, match="lm"):
        curve_fit(model, X_FIT, Y_FIT, bounds=(0, 10), method="lm")
    with pytest.raises(ValueError, match="NaN"):
        curve_fit(model, X_FIT, np.full(50, np.nan))
    with pytest.raises(ValueError, match="sigma"):
        curve_fit(model, X_FIT, Y_FIT, sigma=np.ones(3))
    with pytest.raises(RuntimeError, match="Optimal parameters not found"):
        curve_fit(model, X_FIT, Y_FIT, maxfev=2)
    with pytest.warns(so.OptimizeWarning, match="Covariance"):
        curve_fit(lambda x, a, b, c: a * x + b + c, X_FIT, Y_FIT)
