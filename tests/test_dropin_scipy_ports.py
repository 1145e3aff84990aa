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
