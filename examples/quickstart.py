"""The README quickstart as a script: SciPy's call, the same call in scijax, then grad and vmap."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.solvers.integrate import solve_ivp

jax.config.update("jax_enable_x64", True)


def lotka_volterra(t, y, a, b, c, d):
    return jnp.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


t_eval = np.linspace(0.0, 15.0, 50)
params, tol = (1.5, 1.0, 3.0, 1.0), {"rtol": 1e-10, "atol": 1e-10}
ref = scipy_solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], args=params, t_eval=t_eval, **tol)
res = solve_ivp(lotka_volterra, (0.0, 15.0), jnp.array([10.0, 5.0]), args=params, t_eval=t_eval, **tol)
print("max |scijax - scipy|:", float(jnp.max(jnp.abs(res.y - ref.y))))

# Gradient of the final prey population with respect to the predation rate b.
final_prey = lambda b: solve_ivp(lotka_volterra, (0.0, 15.0), jnp.array([10.0, 5.0]), args=(1.5, b, 3.0, 1.0),
                                 t_eval=t_eval, rtol=1e-10, atol=1e-10).y[0, -1]
print("d prey(15) / d b:", float(jax.grad(final_prey)(1.0)))

# 1,000 predation rates in one compiled, batched call.
sweep = jax.vmap(final_prey)(jnp.linspace(0.5, 1.5, 1000))
print("swept 1000 parameter sets; prey(15) ranges over", float(sweep.min()), "to", float(sweep.max()))
