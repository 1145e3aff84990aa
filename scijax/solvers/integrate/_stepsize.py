"""Step-size control for ``solve_ivp``: diffrax's PID controller with SciPy's minimum-step rule.

SciPy's solvers give up when the next step would be smaller than
``10 * |nextafter(t, direction * inf) - t|``, ten floating-point spacings of the
*current* time. diffrax's ``PIDController`` only knows a constant ``dtmin``;
scaling a constant by the end of the span (``10 * eps * |tf|``) makes long spans
such as Robertson's problem on ``[0, 1e11]`` fail at ``t = 0``, where the
natural first steps are ``1e-6``. :class:`SpacingController` wraps a
``PIDController`` (built without ``dtmin``) and applies SciPy's rule at every step.
"""

from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp

__all__ = ["SpacingController", "min_step"]


def min_step(t):
    """SciPy's smallest allowed step at time ``t``: ten spacings of ``t`` (direction-free)."""
    t = jax.lax.stop_gradient(jnp.asarray(t))  # a threshold: no derivative (and nextafter has none)
    return 10 * jnp.abs(jnp.nextafter(t, jnp.asarray(jnp.inf, t.dtype)) - t)


class SpacingController(diffrax.AbstractAdaptiveStepSizeController):
    """A ``PIDController`` whose step fails (``dt_min_reached``) below :func:`min_step` of the current time.

    diffrax runs backward solves in negated time; the spacing of ``|t|`` is the same there.
    """

    inner: diffrax.PIDController
    rtol: float
    atol: float
    norm: Callable

    def __init__(self, inner: diffrax.PIDController):
        if inner.dtmin is not None:
            raise ValueError("`inner` must have dtmin=None; SpacingController applies the minimum step.")
        self.inner = inner
        # Mirrors of the inner controller's fields (diffrax reads them); equinox allows assignment in __init__.
        self.rtol, self.atol, self.norm = inner.rtol, inner.atol, inner.norm  # pyright: ignore[reportAttributeAccessIssue]

    def wrap(self, direction):
        return SpacingController(self.inner.wrap(direction))

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        return self.inner.init(terms, t0, t1, y0, dt0, args, func, error_order)

    def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state):
        keep, next_t0, next_t1, jump, state, result = self.inner.adapt_step_size(
            t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state)
        too_small = (next_t1 - next_t0) < min_step(next_t0)
        result = diffrax.RESULTS.where(too_small, diffrax.RESULTS.dt_min_reached, result)
        return keep, next_t0, next_t1, jump, state, result
