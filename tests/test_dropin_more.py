"""Drop-in leftovers of issue #16, each checked against SciPy 1.17 on the same small problem.

- ``LinearOperator`` products and ``SuperLU.solve``/``factorized``'s solver return NumPy eagerly;
- ``curve_fit``'s ``nan_policy`` (its fits and the 'lm' infodict's MINPACK ``fjac``/``ipvt``/``qtf`` are
  checked in tests/solvers/optimize/test_least_squares.py, on the fit that file already compiles);
- ``nquad(full_output=True)``'s ``neval``;
- ``fixed_point``'s 0-d ndarray;
- ``odeint(full_output=True)``'s per-interval infodict (checked in tests/solvers/integrate/test_odeint.py,
  on the solve that file already compiles);
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", so.OptimizeWarning)  # SciPy's exact fit: no covariance
            return "ok", np.asarray(fit(*args, **kwargs)[0])
    except ValueError as err:
        return "ValueError", str(err)


def test_curve_fit_nan_policy_errors_match_scipy():
    # The fits themselves ('omit', and the 'lm' infodict's fjac/ipvt/qtf) are compared with SciPy in
    # tests/solvers/optimize/test_least_squares.py, on the compiled fit that file already pays for.
    x = np.linspace(0.0, 3.0, 7)
    y_nan = 0.3 * x + 2.0 * x**2 + 1.0
    y_nan[2] = np.nan
    checked = 0
    for policy in (None, "raise", "omit", "propagate", "bogus"):
        for check_finite in (None, True, False):
            kw = {"nan_policy": policy, "check_finite": check_finite}
            ref = _fit_outcome(so.curve_fit, _quadratic, x, y_nan, **kw)
            if ref[0] == "ok" or (policy, check_finite) == (None, False):
                continue  # a fit (compiled elsewhere), or SciPy fitting NaN data to garbage
            assert _fit_outcome(optimize.curve_fit, _quadratic, x, y_nan, **kw) == ref, (policy, check_finite)
            checked += 1
    assert checked == 12
    with pytest.raises(ValueError, match="nan_policy='omit'"):  # changes the data's length
        jax.jit(lambda yy: optimize.curve_fit(_quadratic, x, yy, nan_policy="omit")[0])(y_nan)


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
