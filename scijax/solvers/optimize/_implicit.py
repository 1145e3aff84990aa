"""Implicit differentiation of a solution through its optimality conditions.

Every solver in this package runs its iterations on inputs with their gradients stopped, and
then re-attaches derivatives with :func:`attach_implicit_gradient`: for a solution ``x*`` of
``residual(x*, params) = 0`` the tangent is ``-(d residual/dx)^-1 d residual/dparams``. This is
the implicit function theorem, so the memory of a gradient does not depend on the number of
iterations. It uses optimistix's ``implicit_jvp``, which both forward and reverse mode go
through.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import optimistix as optx
from jaxtyping import PyTree

__all__ = ["attach_implicit_gradient", "implicit_bounded_solution"]

_DEFAULT_SOLVER = lx.AutoLinearSolver(well_posed=None)


def _primal(inputs):
    solution, _, _ = inputs
    return solution, None


def _rewrite(root, _, inputs):
    _, residual, params = inputs
    return residual(root, params)


def attach_implicit_gradient(
    solution: PyTree,
    residual: Callable[[PyTree, PyTree], PyTree],
    params: PyTree,
    linear_solver: lx.AbstractLinearSolver = _DEFAULT_SOLVER,
) -> PyTree:
    """Return ``solution`` with derivatives w.r.t. ``params`` given by the implicit function theorem.

    Parameters
    ----------
    solution
        A root of ``residual(., params)``, computed without gradients (any gradient it carries
        is discarded).
    residual
        ``residual(x, params)``, with output of the same structure as ``x``. Arrays it closes
        over are differentiated too.
    params
        The pytree to differentiate with respect to.
    linear_solver
        Solver for the linear system with ``d residual / dx`` on the backward pass.
    """
    solution = jax.lax.stop_gradient(solution)
    residual = eqx.filter_closure_convert(residual, solution, params)
    root, _ = optx.internal.implicit_jvp(
        _primal, _rewrite, (solution, residual, params), frozenset(), linear_solver
    )
    return root


def implicit_bounded_solution(value: Callable, x_star, params, lower, upper, has_bounds: bool,
                              active=None):
    """Derivatives of a minimiser of ``value(x, params)`` subject to ``lower <= x <= upper``.

    Variables on a bound at the solution (or flagged by ``active``: -1 lower, +1 upper) keep
    that bound; the rest satisfy ``d value / dx = 0``: the KKT conditions with the active set
    held fixed. Gradients also flow to ``lower``/``upper``.
    """
    grad = jax.grad(value)
    if not has_bounds:
        return attach_implicit_gradient(x_star, grad, params)
    if active is None:
        g = grad(x_star, jax.lax.stop_gradient(params))
        active = jnp.where((x_star <= lower) & (g >= 0), -1, jnp.where((x_star >= upper) & (g <= 0), 1, 0))
    at_lower = (active == -1).astype(x_star.dtype)
    at_upper = (active == 1).astype(x_star.dtype)

    def kkt(z, inputs):
        p, lo, hi = inputs
        free = grad(z, p)
        return jnp.where(at_lower > 0, z - lo, jnp.where(at_upper > 0, z - hi, free))

    return attach_implicit_gradient(x_star, kkt, (params, lower, upper))
