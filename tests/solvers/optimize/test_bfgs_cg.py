"""BFGS and CG with a strong-Wolfe search, on Moré-Garbow-Hillstrom problems against SciPy.

SciPy is given the exact gradient, so both run the same method on the same information. The
status must match SciPy's (success where SciPy succeeds, failure where it fails) and a success
must reach SciPy's value. Before the Wolfe search (an Armijo backtracking under optimistix), BFGS
never converged at ``gtol=1e-10`` and CG stopped at ``maxiter`` on Rosenbrock.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import minimize
from tests.problems import optimize_problems


def _scipy(p, method, options):
    g = jax.jit(jax.grad(p.objective()))
    return so.minimize(p.objective(np), np.asarray(p.x0), method=method, options=options,
                       jac=lambda x: np.asarray(g(jnp.asarray(x))))


# (the whole 14-problem set gives the same status as SciPy for both methods: see the #15 note)
CASES = [("BFGS", "powell_badly_scaled", {}), ("BFGS", "meyer", {}), ("BFGS", "rosenbrock", {"gtol": 1e-10}),
         ("CG", "rosenbrock", {"gtol": 1e-10})]


@pytest.mark.parametrize(("method", "name", "options"), CASES, ids=[f"{m}-{n}" for m, n, _ in CASES])
def test_status_and_value_match_scipy(method, name, options):
    p = optimize_problems.get(name)
    ref = _scipy(p, method, options)
    res = minimize(p.objective(), jnp.asarray(p.x0), method=method, options=options)
    assert bool(res.success) == bool(ref.success), (res.message, ref.message)
    if ref.success:
        assert float(res.fun) <= max(ref.fun, p.fstar) + 1e-8 * max(1.0, abs(p.fstar))
        assert float(jnp.max(jnp.abs(res.jac))) <= options.get("gtol", 1e-5)
        assert abs(int(res.nit) - ref.nit) <= max(5, ref.nit // 2), (int(res.nit), ref.nit)


def test_bfgs_hess_inv_and_float32():
    res = minimize(lambda x: x[0] ** 2 + 10 * x[1] ** 2 + 0.5 * x[0] * x[1], jnp.array([1.0, 1.0], jnp.float32),
                   method="BFGS")
    assert res.x.dtype == jnp.float32 and bool(res.success)
    true_inv = np.linalg.inv(np.array([[2.0, 0.5], [0.5, 20.0]]))
    np.testing.assert_allclose(res.hess_inv, true_inv, rtol=0.05, atol=1e-3)
