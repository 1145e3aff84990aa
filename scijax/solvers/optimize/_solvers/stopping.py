"""SciPy's stopping rules and counters around an optimistix minimiser.

Optimistix's gradient-based minimisers stop on small steps in ``x`` and ``f`` (a Cauchy test);
SciPy stops on ``max|grad| <= gtol`` and counts iterations as accepted steps. The wrapper
below composes with any optimistix minimiser whose state carries ``f_info.grad`` and
``first_step`` (BFGS, L-BFGS, nonlinear CG). It keeps optimistix's loop in charge of
``max_steps``, non-finite checks and ``throw``. :func:`scipy_terminate` is the matching
``terminate`` of our own minimisers (Newton-CG, trust regions, L-BFGS-B, SLSQP).
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import jax.tree_util as jtu
import optimistix as optx
from jaxtyping import Array, PyTree, Scalar

__all__ = ["SciPyStopping", "gradient_converged", "scipy_terminate", "scipy_stats"]


class gradient_converged(eqx.Module):  # noqa: N801 (used like a function)
    """SciPy's gradient test ``||grad||_norm <= gtol`` (on the last accepted point)."""

    gtol: float
    norm: float

    def __call__(self, state):
        g = jnp.linalg.norm(jnp.ravel(state.f_info.grad), ord=self.norm)
        return (g <= self.gtol) & jnp.invert(state.first_step)


class _StoppingState(eqx.Module):
    inner: Any
    nit: Array
    nfev: Array
    converged: Array


class SciPyStopping(optx.AbstractMinimiser):
    """Run ``inner`` under SciPy's convergence test and iteration limit.

    ``nit`` counts accepted steps (steps that moved ``x``) when ``count_accepted`` is true,
    and all steps otherwise.
    """

    inner: optx.AbstractMinimiser
    converged: Callable[[Any], Array]
    maxiter: int
    count_accepted: bool = True
    evals_per_step: int = 1

    @property
    def rtol(self) -> float:
        return self.inner.rtol

    @property
    def atol(self) -> float:
        return self.inner.atol

    @property
    def norm(self) -> Callable[[PyTree], Scalar]:
        return self.inner.norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        inner = self.inner.init(fn, y, args, options, f_struct, aux_struct, tags)
        zero = jnp.array(0)
        return _StoppingState(inner, zero, zero, jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        new_y, inner, aux = self.inner.step(fn, y, args, options, state.inner, tags)
        if self.count_accepted:
            moved = jtu.tree_reduce(jnp.logical_or, jtu.tree_map(lambda a, b: jnp.any(a != b), new_y, y))
            nit = state.nit + moved.astype(state.nit.dtype)
        else:
            nit = state.nit + 1
        converged = self.converged(inner)
        new_state = _StoppingState(inner, nit, state.nfev + self.evals_per_step, converged)
        return new_y, new_state, aux

    def terminate(self, fn, y, args, options, state, tags):
        done, result = self.inner.terminate(fn, y, args, options, state.inner, tags)
        out_of_iters = (state.nit >= self.maxiter) & jnp.invert(state.converged)
        result = optx.RESULTS.where(out_of_iters, optx.RESULTS.nonlinear_max_steps_reached, result)
        return done | state.converged | out_of_iters, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        y, aux, stats = self.inner.postprocess(fn, y, aux, args, options, state.inner, tags, result)
        return y, aux, {**stats, "nit": state.nit, "nfev": state.nfev, "converged": state.converged}


def scipy_terminate(state: Any, maxiter: int) -> tuple[Array, optx.RESULTS]:
    """The ``terminate`` of our own minimisers, from their state's ``converged``, ``stalled``
    (no acceptable step), ``nit`` and ``f``: stop when converged, at ``maxiter`` iterations,
    when stalled (``nonlinear_divergence``, SciPy's status 2) or on a non-finite ``f``."""
    out_of_iters = (state.nit >= maxiter) & jnp.invert(state.converged)
    nonfinite = jnp.invert(jnp.isfinite(state.f))
    result = optx.RESULTS.where(out_of_iters, optx.RESULTS.nonlinear_max_steps_reached,
                                optx.RESULTS.successful)
    result = optx.RESULTS.where(state.stalled & jnp.invert(state.converged),
                                optx.RESULTS.nonlinear_divergence, result)
    result = optx.RESULTS.where(nonfinite, optx.RESULTS.nonfinite, result)
    return state.converged | out_of_iters | state.stalled | nonfinite, result


def scipy_stats(state: Any) -> dict[str, Array]:
    """The counters every engine reports to its facade."""
    return {"nit": state.nit, "nfev": state.nfev, "converged": state.converged}
