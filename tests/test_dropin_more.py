"""Drop-in leftovers of issue #16, each checked against SciPy 1.17 on the same small problem.

- ``LinearOperator`` products and ``SuperLU.solve``/``factorized``'s solver return NumPy eagerly;
- ``curve_fit``'s ``nan_policy`` and its ``full_output`` infodict (MINPACK's ``fjac``/``ipvt``/``qtf``);
- ``nquad(full_output=True)``'s ``neval``;
- ``fixed_point``'s 0-d ndarray;
- ``odeint(full_output=True)``'s per-interval infodict;
- long-double inputs converted to float64 with one ``PrecisionWarning`` naming the argument.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.optimize as so
import scipy.sparse as sparse
import scipy.sparse.linalg as sla
from scipy.sparse.linalg import MatrixRankWarning

from scijax import PrecisionWarning
from scijax.solvers import integrate, linalg, optimize

_A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.5, 0.0, 2.0]])
_B = np.array([1.0, 2.0, -1.0])


def _quadratic(x, a, b, c):
    return a * x + b * x**2 + c


def _quadratic_jac(x, a, b, c):
    return jnp.stack([x, x**2, jnp.ones_like(x)], axis=1)


def _quadratic_jac_np(x, a, b, c):
    return np.stack([x, x**2, np.ones_like(x)], axis=1)


def test_operator_and_superlu_products_are_numpy_eagerly_and_jax_under_jit():
    op, ref = linalg.aslinearoperator(_A), sla.aslinearoperator(_A)
    user = linalg.LinearOperator((3, 3), matvec=lambda x: 2.0 * x)
    eye = np.eye(3)[:, :2]
    pairs = [(op @ _B, ref @ _B), (op.matvec(_B), ref.matvec(_B)), (op.rmatvec(_B), ref.rmatvec(_B)),
             (op.matmat(eye), ref.matmat(eye)), (op.rmatmat(eye), ref.rmatmat(eye)), (op.dot(_B), ref.dot(_B)),
             (op(_B), ref(_B)), (_B @ op, _B @ ref), ((2 * op + op.T).matvec(_B), (2 * ref + ref.T).matvec(_B)),
             (op.matvec(_B[:, None]), ref.matvec(_B[:, None])), (user @ _B, 2.0 * _B)]
    lu, ref_lu = linalg.splu(_A), sla.splu(sparse.csc_array(_A))
    pairs += [(lu.solve(_B), ref_lu.solve(_B)), (lu.solve(_B, trans="T"), ref_lu.solve(_B, trans="T")),
              (linalg.factorized(_A)(_B), ref_lu.solve(_B))]
    for i, (ours, theirs) in enumerate(pairs):
        assert type(ours) is np.ndarray and ours.shape == theirs.shape, i
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-14, err_msg=str(i))
    traced = jax.jit(lambda b: (op @ b, op.rmatvec(b), lu.solve(b)))(_B)
    assert all(isinstance(t, jax.Array) for t in traced)
    np.testing.assert_allclose(traced[2], ref_lu.solve(_B), rtol=1e-13)
    with pytest.warns(MatrixRankWarning) as rec:  # SciPy's warning, at the caller's line
        out = linalg.splu(np.zeros((2, 2))).solve(np.ones(2))
    assert rec[0].filename == __file__ and np.all(np.isnan(out))


def _fit_outcome(fit, *args, **kwargs):
    try:
        return "ok", np.asarray(fit(*args, **kwargs)[0])
    except ValueError as err:
        return "ValueError", str(err)


def test_curve_fit_nan_policy_and_lm_infodict_match_scipy():
    # One compiled fit serves every call: 6 data points after 'omit', the same sigma transform.
    x = np.linspace(0.0, 3.0, 7)
    y = 0.3 * x + 2.0 * x**2 + 1.0 + 0.05 * np.sin(5 * x)
    y_nan, sigma = y.copy(), np.linspace(1.0, 2.0, 7)
    y_nan[2] = np.nan
    for policy in (None, "raise", "omit", "propagate", "bogus"):
        for check_finite in (None, True, False):
            if policy is None and check_finite is False:
                continue  # SciPy fits NaN data to garbage; ours reports non-finite residuals (ValueError)
            kw = {"nan_policy": policy, "check_finite": check_finite, "sigma": sigma}
            ours = _fit_outcome(optimize.curve_fit, _quadratic, x, y_nan, jac=_quadratic_jac, **kw)
            ref = _fit_outcome(so.curve_fit, _quadratic, x, y_nan, jac=_quadratic_jac_np, **kw)
            assert ours[0] == ref[0], (policy, check_finite, ours, ref)
            if ref[0] == "ok":  # 'omit' dropped the NaN point and its sigma, as SciPy does
                np.testing.assert_allclose(ours[1], ref[1], rtol=1e-8)
            else:
                assert ours[1] == ref[1]
    with pytest.raises(ValueError, match="nan_policy='omit'"):
        jax.jit(lambda yy: optimize.curve_fit(_quadratic, x, yy, nan_policy="omit")[0])(y_nan)

    # full_output for 'lm': MINPACK's fjac (R and the Householder vectors), ipvt (0-based), qtf.
    keep = ~np.isnan(y_nan)
    xs, ys = x[keep], y[keep] + 0.01 * np.cos(7 * x[keep])
    ours = optimize.curve_fit(_quadratic, xs, ys, jac=_quadratic_jac, sigma=sigma[keep], full_output=True)
    ref = so.curve_fit(_quadratic, xs, ys, jac=_quadratic_jac_np, sigma=sigma[keep], full_output=True)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-7)  # pcov
    assert set(ours[2]) == set(ref[2]) == {"nfev", "njev", "fvec", "fjac", "ipvt", "qtf"}
    assert ours[2]["ipvt"].dtype == np.int32 and ours[2]["ipvt"].tolist() == ref[2]["ipvt"].tolist()
    np.testing.assert_allclose(ours[2]["fjac"], ref[2]["fjac"], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ours[2]["fvec"], ref[2]["fvec"], rtol=1e-7, atol=1e-10)
    scale = np.linalg.norm(ref[2]["fvec"])
    np.testing.assert_allclose(ours[2]["qtf"], ref[2]["qtf"], atol=1e-6 * scale)  # at the solution, ~0


def _xy(x, y):
    return x * y


def test_nquad_full_output_counts_evaluations_like_scipy():
    # The outer level counts the inner quads at every node it evaluated (rebuilt from its final
    # partition). One GK21 interval per level on a polynomial, in QUADPACK and here: 21 * 21.
    # (Checked by hand, too costly for CI: sqrt(x + y), where both levels bisect, gives SciPy's 6447.)
    ranges = [(0.0, 1.0), (0.0, 1.0)]
    val, err, info = integrate.nquad(_xy, ranges, full_output=True)
    ref = si.nquad(_xy, ranges, full_output=True)
    assert type(info["neval"]) is int and info["neval"] == ref[2]["neval"] == 441
    assert abs(val - ref[0]) < 1e-14
    with pytest.raises(ValueError, match="full_output"):  # raised before anything is traced
        jax.jit(lambda c: integrate.nquad(_xy, [(0.0, c), (0.0, 1.0)], full_output=True)[0])(1.0)


def test_fixed_point_returns_scipy_shapes_and_types():
    ours, ref = optimize.fixed_point(jnp.cos, 0.5), so.fixed_point(np.cos, 0.5)
    assert type(ours) is np.ndarray and ours.shape == () == np.shape(ref) and abs(ours - ref) < 1e-8
    ours, ref = optimize.fixed_point(jnp.cos, [0.5, 0.6]), so.fixed_point(np.cos, [0.5, 0.6])
    assert type(ours) is np.ndarray and ours.shape == ref.shape == (2,)
    np.testing.assert_allclose(ours, ref, atol=1e-8)
    assert isinstance(jax.jit(lambda x: optimize.fixed_point(jnp.cos, x))(0.5), jax.Array)


def test_odeint_infodict_has_scipys_per_interval_arrays():
    t = np.linspace(0.0, 2.0, 5)
    y, info = integrate.odeint(lambda y, t: -2.0 * y, np.array([1.0, 2.0]), t, full_output=True)
    _, ref = si.odeint(lambda y, t: -2.0 * y, np.array([1.0, 2.0]), t, full_output=True)
    assert set(ref) <= set(info)
    for k, v in ref.items():
        if isinstance(v, np.ndarray):
            assert isinstance(info[k], np.ndarray) and info[k].shape == v.shape == (4,) and info[k].dtype == v.dtype, k
        else:
            assert type(info[k]) is type(v), k
    assert (info["lenrw"], info["leniw"], info["imxer"], info["message"]) == (ref["lenrw"], ref["leniw"], -1,
                                                                              ref["message"])
    nst, tcur, hu = info["nst"], info["tcur"], info["hu"]
    assert np.all(np.diff(nst) > 0) and np.all(np.diff(info["nfe"]) >= 0) and np.all(info["mused"] == 1)
    assert np.all(tcur >= t[1:] - 1e-12) and np.all(tcur - hu < t[1:]) and np.all(hu > 0)  # the covering step
    assert tcur[-1] == pytest.approx(2.0) and np.all(info["tolsf"] == 0) and np.all(info["tsw"] == 0.0)
    np.testing.assert_allclose(y, si.odeint(lambda y, t: -2.0 * y, [1.0, 2.0], t), rtol=1e-6)
    # A single output time: nothing to integrate, as SciPy reports it.
    _, one = integrate.odeint(lambda y, t: -2.0 * y, np.array([1.0, 2.0]), t[:1], full_output=True)
    _, ref_one = si.odeint(lambda y, t: -2.0 * y, np.array([1.0, 2.0]), t[:1], full_output=True)
    assert one["message"] == ref_one["message"] and one["nst"].shape == ref_one["nst"].shape == (0,)


@pytest.mark.skipif(np.finfo(np.longdouble).bits <= 64, reason="long double is float64 on this platform")
def test_long_double_inputs_are_converted_with_one_warning():
    a = _A.astype(np.longdouble)
    with pytest.warns(PrecisionWarning, match="solve: `a` is long double") as rec:
        x = linalg.solve(a, _B)
    assert rec[0].filename == __file__
    np.testing.assert_allclose(x, np.linalg.solve(_A, _B), rtol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)  # once per (function, argument)
        linalg.solve(a, _B)
    with pytest.warns(PrecisionWarning, match="fixed_point: `x0`"):  # optimize; reuses the compile above
        p = optimize.fixed_point(jnp.cos, np.longdouble(0.5))
    assert p.dtype == np.float64 and abs(p - so.fixed_point(np.cos, 0.5)) < 1e-8
    with pytest.warns(PrecisionWarning, match="cumulative_trapezoid: `y`"):  # integrate; complex too
        c = integrate.cumulative_trapezoid(np.ones(3, np.clongdouble), dx=0.5)
    assert c.dtype == np.complex128 and c.tolist() == si.cumulative_trapezoid(np.ones(3), dx=0.5).tolist()


def test_linalg_accepts_scipys_overwrite_arguments():
    """Every function whose SciPy counterpart takes ``overwrite_*`` takes it too (a documented no-op)."""
    import inspect

    import scipy.linalg as sl

    checked = 0
    for name in linalg.__all__:
        ours, ref = getattr(linalg, name), getattr(sl, name, None) or getattr(sla, name, None)
        if isinstance(ours, type) or not callable(ref):
            continue
        try:
            wanted = [p for p in inspect.signature(ref).parameters if p.startswith("overwrite")]
        except (TypeError, ValueError):
            continue
        if wanted:
            checked += 1
            assert set(wanted) <= set(inspect.signature(ours).parameters), (name, wanted)
    assert checked >= 30  # solve, lu, cholesky, eigh, svd, qr, ... (35 in SciPy 1.17)
