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
import lineax as lx
import optimistix as optx
from jaxtyping import PyTree

__all__ = ["attach_implicit_gradient"]

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
