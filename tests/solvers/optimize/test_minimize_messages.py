"""L-BFGS-B's messages name the stopping test, as SciPy's do (issue #15); SciPy's finite-difference
`jac` strings are accepted (issue #16)."""

import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import minimize, rosen


@pytest.mark.parametrize("options", [{"gtol": 1e-3}, {"maxiter": 3}, {"ftol": 1e-2}])
def test_lbfgsb_message_names_the_test(options):
    x0 = np.array([0.5, 0.5])
    ours = minimize(rosen, x0, method="L-BFGS-B", options=options)
    ref = so.minimize(so.rosen, x0, method="L-BFGS-B", options=options)
    assert (int(ours.status), ours.message) == (ref.status, ref.message)
    assert "success_message" not in ours.keys() and "message" in ours.keys()


@pytest.mark.parametrize("method", ["L-BFGS-B", "SLSQP"])
def test_finite_difference_jac_strings_mean_autodiff(method):
    x0 = np.array([-1.2, 1.0])
    ref = minimize(rosen, x0, method=method)
    for scheme in ("2-point", "3-point", "cs"):
        res = minimize(rosen, x0, method=method, jac=scheme)
        np.testing.assert_array_equal(res.x, ref.x)
    with pytest.raises(ValueError, match="`jac`"):
        minimize(rosen, x0, method=method, jac="4-point")
