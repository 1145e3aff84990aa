"""SciPy's legacy optimize names (``fmin*``, ``fminbound``, ``brent``, ``golden``, ``bracket``,
``fsolve``, ``leastsq``) and test functions (``rosen*``, ``approx_fprime``, ``check_grad``), compared
with SciPy's own return tuples on the same problems."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers import optimize as sjo

X0 = np.array([1.3, 0.7, 0.8])


def test_rosen_family_matches_scipy():
    rng = np.random.default_rng(0)
    x, p = rng.normal(size=4), rng.normal(size=4)
    np.testing.assert_allclose(float(sjo.rosen(x)), so.rosen(x), rtol=1e-13)
    xs = rng.normal(size=(3, 5))
    np.testing.assert_allclose(np.asarray(sjo.rosen(xs)), so.rosen(xs), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(sjo.rosen_der(x)), so.rosen_der(x), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(sjo.rosen_hess(x)), so.rosen_hess(x), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(sjo.rosen_hess_prod(x, p)), so.rosen_hess_prod(x, p), rtol=1e-12)
    # traceable: jit and grad agree with the analytic derivative
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(sjo.rosen))(jnp.asarray(x))),
                               so.rosen_der(x), rtol=1e-12)


def test_approx_fprime_and_check_grad_match_scipy():
    x = np.array([1.5, 1.9, 0.4])
    np.testing.assert_allclose(sjo.approx_fprime(x, so.rosen), so.approx_fprime(x, so.rosen), rtol=1e-10)
    vec = lambda x: np.array([x[0] * x[1], np.sin(x[2])])  # noqa: E731
    np.testing.assert_allclose(sjo.approx_fprime(x, vec, 1e-7), so.approx_fprime(x, vec, 1e-7), rtol=1e-8)
    assert abs(sjo.check_grad(so.rosen, so.rosen_der, x) - so.check_grad(so.rosen, so.rosen_der, x)) < 1e-8
    err = sjo.check_grad(so.rosen, so.rosen_der, x, direction="random", seed=1)
    assert err < 1e-4  # a forward-difference error, like SciPy's (its random draw differs from ours)
    assert sjo.check_grad(so.rosen, lambda z: so.rosen_der(z) + 1.0, x, direction="random", seed=1) > 0.1
    traced = jax.jit(lambda z: sjo.approx_fprime(z, sjo.rosen))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(traced), so.approx_fprime(x, so.rosen), rtol=1e-6)
    with pytest.raises(ValueError, match="direction"):
        sjo.check_grad(so.rosen, so.rosen_der, x, direction="some")


def test_fmin_nelder_mead_tuple(capsys):
    ref = so.fmin(sjo.rosen, X0, full_output=True, disp=False, retall=True)
    out = sjo.fmin(sjo.rosen, X0, full_output=True, disp=True, retall=True)
    assert len(out) == len(ref) == 6
    np.testing.assert_allclose(out[0], ref[0], atol=1e-3)
    assert isinstance(out[1], float) and out[1] < 1e-6 and out[4] == ref[4] == 0
    assert isinstance(out[0], np.ndarray) and np.allclose(out[5][-1], out[0])
    assert "Optimization terminated successfully." in capsys.readouterr().out
    assert isinstance(sjo.fmin(sjo.rosen, X0, disp=False), np.ndarray)


def test_fmin_bfgs_cg_ncg_tuples():
    f, g = sjo.rosen, sjo.rosen_der
    out = sjo.fmin_bfgs(f, X0, fprime=g, full_output=True, disp=False)
    ref = so.fmin_bfgs(so.rosen, X0, fprime=so.rosen_der, full_output=True, disp=False)
    assert len(out) == len(ref) == 7
    np.testing.assert_allclose(out[0], ref[0], atol=1e-4)
    assert out[2].shape == ref[2].shape and out[3].shape == ref[3].shape == (3, 3) and out[6] == ref[6] == 0
    out = sjo.fmin_cg(f, X0, fprime=g, full_output=True, disp=False)
    ref = so.fmin_cg(so.rosen, X0, fprime=so.rosen_der, full_output=True, disp=False)
    assert len(out) == len(ref) == 5
    np.testing.assert_allclose(out[0], ref[0], atol=1e-4)
    out = sjo.fmin_ncg(f, X0, g, full_output=True, disp=False)
    ref = so.fmin_ncg(so.rosen, X0, so.rosen_der, full_output=True, disp=False)
    assert len(out) == len(ref) == 6
    np.testing.assert_allclose(out[0], ref[0], atol=1e-3)
    assert out[5] == ref[5] == 0


def test_fmin_l_bfgs_b_and_slsqp():
    fg = lambda x: (jnp.sum((x - 2.0) ** 2), 2 * (x - 2.0))  # noqa: E731 - returns (f, g)
    x, f, d = sjo.fmin_l_bfgs_b(fg, np.zeros(2), bounds=[(0, 1), (0, 5)])
    xr, fr, dr = so.fmin_l_bfgs_b(lambda x: (np.sum((x - 2.0) ** 2), 2 * (x - 2.0)), np.zeros(2),
                                  bounds=[(0, 1), (0, 5)])
    np.testing.assert_allclose(x, xr, atol=1e-6)
    assert f == pytest.approx(fr, abs=1e-8) and set(d) == set(dr) and d["warnflag"] == 0
    obj = lambda x: jnp.sum(x ** 2)  # noqa: E731
    out = sjo.fmin_slsqp(obj, [1.0, 1.0], eqcons=[lambda x: x[0] + x[1] - 1.0], full_output=True, iprint=0)
    ref = so.fmin_slsqp(lambda x: np.sum(x ** 2), [1.0, 1.0], eqcons=[lambda x: x[0] + x[1] - 1.0],
                        full_output=True, iprint=0)
    assert len(out) == len(ref) == 5
    np.testing.assert_allclose(out[0], ref[0], atol=1e-6)
    assert out[3] == ref[3] == 0


def test_scalar_legacy_tuples():
    f = lambda x: (x - 1.5) ** 2 + 0.1 * jnp.sin(3 * x)  # noqa: E731
    fn = lambda x: (x - 1.5) ** 2 + 0.1 * np.sin(3 * x)  # noqa: E731
    out, ref = sjo.fminbound(f, 0, 3, full_output=True), so.fminbound(fn, 0, 3, full_output=True)
    assert len(out) == len(ref) == 4 and out[2] == ref[2] == 0
    assert out[0] == pytest.approx(ref[0], abs=1e-5)
    out, ref = sjo.brent(f, full_output=True), so.brent(fn, full_output=True)
    assert len(out) == len(ref) == 4 and out[0] == pytest.approx(ref[0], abs=1e-7)
    out, ref = sjo.golden(f, full_output=True), so.golden(fn, full_output=True)
    assert len(out) == len(ref) == 3 and out[0] == pytest.approx(ref[0], abs=1e-7)
    out, ref = sjo.bracket(f), so.bracket(fn)
    assert len(out) == len(ref) == 7
    np.testing.assert_allclose(out[:6], ref[:6], rtol=1e-12)
    with pytest.raises(RuntimeError):
        sjo.bracket(lambda x: -x, maxiter=3)


def test_fsolve_and_leastsq_tuples():
    func = lambda x: jnp.array([x[0] * jnp.cos(x[1]) - 4, x[1] * x[0] - x[1] - 5])  # noqa: E731
    funcn = lambda x: [x[0] * np.cos(x[1]) - 4, x[1] * x[0] - x[1] - 5]  # noqa: E731
    out, ref = sjo.fsolve(func, [1.0, 1.0], full_output=True), so.fsolve(funcn, [1.0, 1.0], full_output=True)
    assert len(out) == len(ref) == 4 and out[2] == ref[2] == 1
    np.testing.assert_allclose(out[0], ref[0], rtol=1e-8)
    np.testing.assert_allclose(out[1]["fvec"], 0, atol=1e-8)
    t = np.linspace(0, 3, 20)
    y = 2.0 * np.exp(-1.3 * t) + 0.01 * np.cos(4 * t)
    res = lambda p: p[0] * jnp.exp(-p[1] * t) - y  # noqa: E731
    out = sjo.leastsq(res, [1.0, 1.0], full_output=True)
    ref = so.leastsq(lambda p: p[0] * np.exp(-p[1] * t) - y, [1.0, 1.0], full_output=True)
    assert len(out) == len(ref) == 5 and out[4] in (1, 2, 3, 4) and ref[4] in (1, 2, 3, 4)
    np.testing.assert_allclose(out[0], ref[0], rtol=1e-6)
    np.testing.assert_allclose(out[1], ref[1], rtol=1e-4)
    x, ier = sjo.leastsq(res, [1.0, 1.0])
    assert ier in (1, 2, 3, 4) and isinstance(x, np.ndarray)
