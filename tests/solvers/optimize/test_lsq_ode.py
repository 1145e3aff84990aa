"""least_squares on a model that solves an ODE with solve_ivp's default (reverse-only) adjoint: the
Jacobian comes from reverse mode there (it used to fail: "can't apply forward-mode autodiff to a
custom_vjp function")."""

import jax.numpy as jnp
import numpy as np

from scijax.solvers.integrate import solve_ivp
from scijax.solvers.optimize import least_squares

T = np.linspace(0.5, 5.0, 12)
Y = 2.0 * np.exp(-0.7 * T)


def _residuals(q):
    sol = solve_ivp(lambda s, y, k: -k * y, (0.0, 5.0), jnp.array([q[1]]), args=(q[0],), t_eval=T,
                    rtol=1e-10, atol=1e-12)
    return sol.y[0] - Y


def test_least_squares_through_solve_ivp():
    res = least_squares(_residuals, np.array([1.0, 1.0]))  # (every method shares this Jacobian code)
    assert bool(res.success), res.message
    np.testing.assert_allclose(res.x, [0.7, 2.0], rtol=1e-6)
    # the Jacobian against the analytic one of 2 exp(-0.7 t): d/dk = -t y, d/dy0 = exp(-k t)
    np.testing.assert_allclose(res.jac, np.stack([-T * Y, np.exp(-0.7 * T)], axis=1), rtol=1e-5, atol=1e-8)
