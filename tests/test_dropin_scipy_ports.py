"""Drop-in details that SciPy's own test files check (found by ``tools/scipy_tests.py``).

Each test runs SciPy on the same call and compares the SciPy-visible detail: a result field, a
warning, an exception class.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers import optimize as sjo


def _lin(x):
    return x - 1.0


def test_root_result_names_its_method_and_warns_on_unused_jac():
    # SciPy's test__root.py::test_method_in_result and ::test_gh_10370.
    x0 = np.array([0.5])
    ours = sjo.root(_lin, x0, method="hybr")
    ref = so.root(_lin, x0, method="hybr")
    assert ours.method == ref.method == "hybr"
    assert "method" in ours.keys() and "method" in ref.keys()
    np.testing.assert_allclose(np.asarray(ours.x), ref.x, rtol=1e-10)

    def jac(x):
        return np.eye(1)

    with pytest.warns(RuntimeWarning, match="Method broyden1 does not use the jacobian") as rec:
        ours = sjo.root(_lin, x0, method="broyden1", jac=jac)
    with pytest.warns(RuntimeWarning, match="Method broyden1 does not use the jacobian") as rec_ref:
        so.root(_lin, x0, method="broyden1", jac=jac)
    assert str(rec[0].message) == str(rec_ref[0].message)
    assert ours.method == "broyden1" and bool(ours.success)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # hybr and lm use jac: no warning
        assert sjo.root(_lin, x0, method="hybr", jac=jac).method == "hybr"


def test_solve_ill_conditioned_warning_and_scalar_a():
    # SciPy's linalg test_basic.py::TestSolve::test_ill_condition_warning, ::test_scalar_a_and_1D_b,
    # ::test_singular_scalar.
    import scipy.linalg as sl

    from scijax.solvers import linalg as sjl

    a = np.diag(np.logspace(0, 50, 4))
    b = np.arange(1.0, 5.0)
    for structure in ("general", "positive definite"):
        with pytest.warns(sl.LinAlgWarning, match="An ill-conditioned matrix"):
            ref = sl.solve(a, b, assume_a=structure)
        with pytest.warns(sl.LinAlgWarning, match="An ill-conditioned matrix"):
            ours = sjl.solve(a, b, assume_a=structure)
        np.testing.assert_allclose(np.asarray(ours), ref, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sl.LinAlgWarning)  # a well-conditioned matrix: no warning
        sjl.solve(np.eye(4) + 1.0, b)
    for a1, b1 in ((2, 3), (2.0, [1.0, 2.0, 3.0]), ([[2.0]], [4.0])):
        ref = sl.solve(a1, b1)
        ours = sjl.solve(a1, b1)
        assert ours.shape == ref.shape
        np.testing.assert_allclose(np.asarray(ours), ref, rtol=1e-15)
    for a0 in (0, [[0.0]]):
        with pytest.raises(sl.LinAlgError):
            sl.solve(a0, [0.0, 1.0])
        with pytest.raises(sl.LinAlgError):
            sjl.solve(a0, [0.0, 1.0])


def test_check_grad_size1_output_and_rng_keyword():
    # SciPy's test_optimize.py::test_check_grad: ``func`` returns a size-1 array, ``rng=`` is accepted.
    def expit(x):
        return 1 / (1 + np.exp(-x))

    def der_expit(x):
        return np.exp(-x) / (1 + np.exp(-x)) ** 2

    x0 = np.array([1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy-written functions: the host path warns once
        ours = sjo.check_grad(expit, der_expit, x0, epsilon=1e-1, direction="random", rng=1234)
        small = sjo.check_grad(expit, der_expit, x0, epsilon=1e-6, direction="random", rng=1234)
    ref = so.check_grad(expit, der_expit, x0, epsilon=1e-1, direction="random", rng=1234)
    assert isinstance(ours, float) and 1e-7 < ours < 10 * ref  # same forward-difference error scale
    assert small < 1e-6


def test_root_scalar_halley_names_the_missing_derivative():
    # SciPy's test_zeros.py::TestNewton::test_root_scalar_fail: SciPy's message for each missing one.
    def f(x):
        return x**2 - 2.0

    for kwargs, missing in (({"fprime": lambda x: 2 * x}, "fprime2"), ({"fprime2": lambda x: 2.0}, "fprime")):
        with pytest.raises(ValueError, match=f"{missing} must be specified for halley") as ref:
            so.root_scalar(f, method="halley", x0=3.0, **kwargs)
        with pytest.raises(ValueError, match=str(ref.value)):
            sjo.root_scalar(f, method="halley", x0=3.0, **kwargs)


def test_cumulative_simpson_single_point_like_scipy():
    # SciPy's test_quadrature.py TestCumulativeSimpson cases where ``y`` has one point along ``axis``.
    import scipy.integrate as si

    from scijax.solvers import integrate as sji

    for y, kwargs in ((np.array([1.0]), {}), (np.ones((3, 1)), {"axis": -1, "initial": 2.0})):
        ref = si.cumulative_simpson(y, **kwargs)
        ours = np.asarray(sji.cumulative_simpson(y, **kwargs))
        assert ours.shape == ref.shape
        np.testing.assert_array_equal(ours, ref)
