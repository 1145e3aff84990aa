"""Small ODE problems written once, run through scijax's backends and SciPy."""

import jax
import jax.numpy as jnp
import numpy as np


def lorenz(t, y, rho):
    x, v, z = y[0], y[1], y[2]
    return jnp.stack([10.0 * (v - x), x * (rho - z) - v, x * v - 8.0 / 3.0 * z])


def van_der_pol(t, y, mu):
    return jnp.stack([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


def damped_oscillator(t, y, omega, zeta):
    return jnp.array([y[1], -2.0 * zeta * omega * y[1] - omega**2 * y[0]])


def blow_up(t, y, c):
    """``y' = c y^2``: with y0 = 1 the solution 1/(1 - c t) is singular at t = 1/c."""
    return c * y**2


def numpy_fun(fun):
    """The same right-hand side for SciPy (float64 numpy in, numpy out).

    Compiled once: SciPy calls it thousands of times, and op-by-op dispatch of the jnp body cost
    seconds per reference solve.
    """
    compiled = jax.jit(fun)
    return lambda t, y, *args: np.asarray(compiled(t, y, *args))


def cases(n_members):
    """(name, fun, t_span, y0s, params) for the three comparison problems."""
    k = np.arange(n_members) / max(n_members - 1, 1)
    return [
        ("lorenz", lorenz, (0.0, 0.5),
         np.tile([1.0, 0.0, 0.0], (n_members, 1)) + 0.1 * k[:, None], (5.0 + 16.0 * k,)),
        ("van_der_pol", van_der_pol, (0.0, 2.0),
         np.stack([2.0 - k, np.zeros(n_members)], axis=1), (np.ones(n_members),)),
        ("damped_oscillator", damped_oscillator, (0.0, 3.0),
         np.stack([np.ones(n_members), k], axis=1), (1.0 + k, 0.1 + 0.2 * k)),
    ]
