"""Implicit differentiation of a solution through its optimality conditions.

Every solver in this package runs its iterations on inputs with their gradients stopped, and
then re-attaches derivatives with :func:`attach_implicit_gradient`: for a solution ``x*`` of
``residual(x*, params) = 0`` the tangent is ``-(d residual/dx)^-1 d residual/dparams``. This is
the implicit function theorem, so the memory of a gradient does not depend on the number of
iterations. It uses optimistix's ``implicit_jvp``, which both forward and reverse mode go
through.

A solve that did not succeed has no implicit derivative: given ``success``, the tangent of every
element that failed is NaN, in forward and reverse mode alike, so a gradient through such a
solve is NaN and never a plausible finite number. The NaN is put in outside the linear solve
(lineax refuses non-finite right-hand sides): a failed element's residual is replaced by
``x - x*`` (an identity row with no parameter dependence), and a separate linear term carries
NaN from the parameters to the failed elements.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import optimistix as optx
from jaxtyping import PyTree

__all__ = ["attach_implicit_gradient", "implicit_bounded_solution", "nan_unless"]

_DEFAULT_SOLVER = lx.AutoLinearSolver(well_posed=None)


def _primal(inputs):
    solution, _, _ = inputs
    return solution, None


def _rewrite(root, _, inputs):
    _, residual, params = inputs
    return residual(root, params)


@jax.custom_jvp
def _poison(x, inputs, ok):
    return x


@_poison.defjvp
def _poison_jvp(primals, tangents):
    x, inputs, ok = primals
    tx, t_inputs, _ = tangents
    leaves = [t for t in jax.tree_util.tree_leaves(t_inputs) if jnp.issubdtype(t.dtype, jnp.inexact)]
    total = sum((jnp.sum(t) for t in leaves), jnp.zeros((), jnp.result_type(x)))
    # Linear in the input tangents and NaN exactly where ``ok`` is False (``0 * nan`` is nan, so
    # a zero input tangent still gives NaN).
    nan_where_failed = jnp.where(ok, jnp.zeros((), x.dtype), jnp.asarray(jnp.nan, x.dtype))
    return x, tx + jnp.broadcast_to(nan_where_failed, x.shape) * total.astype(x.dtype)


def nan_unless(x: PyTree, ok) -> PyTree:
    """``x`` where ``ok`` and NaN elsewhere; derivatives pass through unchanged.

    For a value computed by a solver whose derivative is already NaN where it failed (such as
    :func:`attach_implicit_gradient` with ``success``): a plain ``jnp.where(ok, x, nan)`` would
    replace that NaN derivative by zero.
    """
    def one(leaf):
        if not eqx.is_inexact_array(leaf):
            return leaf
        okb = jnp.reshape(ok, jnp.shape(ok) + (1,) * (leaf.ndim - jnp.ndim(ok)))
        return leaf + jax.lax.stop_gradient(jnp.where(okb, 0, jnp.nan).astype(leaf.dtype))

    return jax.tree_util.tree_map(one, x)


def attach_implicit_gradient(
    solution: PyTree,
    residual: Callable[[PyTree, PyTree], PyTree],
    params: PyTree,
    linear_solver: lx.AbstractLinearSolver = _DEFAULT_SOLVER,
    success=None,
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
    success
        ``None`` (the solve succeeded), or a boolean array: scalar for one solve, or with
        ``solution``'s shape for elementwise solves. Where it is False the derivative is NaN.
        In reverse mode an elementwise failure makes the cotangent of every parameter NaN.
    """
    solution = jax.lax.stop_gradient(solution)
    ok = None
    if success is not None:
        ok = jax.lax.stop_gradient(jnp.asarray(success, bool))
        base = residual

        def guarded(x, p):
            # A failed element's condition becomes ``x = x*``: finite, and free of ``params``.
            return jax.tree_util.tree_map(lambda r, z: jnp.where(ok, r, z), base(x, p), x)

        residual = guarded
    residual = eqx.filter_closure_convert(residual, solution, params)
    root, _ = optx.internal.implicit_jvp(
        _primal, _rewrite, (solution, residual, params), frozenset(), linear_solver
    )
    if ok is not None:
        inputs = eqx.filter((residual, params), eqx.is_inexact_array)
        root = jax.tree_util.tree_map(lambda r: _poison(r, inputs, ok), root)
    return root


def implicit_bounded_solution(value: Callable, x_star, params, lower, upper, has_bounds: bool,
                              active=None, success=None):
    """Derivatives of a minimiser of ``value(x, params)`` subject to ``lower <= x <= upper``.

    Variables on a bound at the solution (or flagged by ``active``: -1 lower, +1 upper) keep
    that bound; the rest satisfy ``d value / dx = 0``: the KKT conditions with the active set
    held fixed. Gradients also flow to ``lower``/``upper``. ``success`` as in
    :func:`attach_implicit_gradient`.
    """
    grad = jax.grad(value)
    if not has_bounds:
        return attach_implicit_gradient(x_star, grad, params, success=success)
    if active is None:
        g = grad(x_star, jax.lax.stop_gradient(params))
        active = jnp.where((x_star <= lower) & (g >= 0), -1, jnp.where((x_star >= upper) & (g <= 0), 1, 0))
    at_lower = (active == -1).astype(x_star.dtype)
    at_upper = (active == 1).astype(x_star.dtype)

    def kkt(z, inputs):
        p, lo, hi = inputs
        free = grad(z, p)
        return jnp.where(at_lower > 0, z - lo, jnp.where(at_upper > 0, z - hi, free))

    return attach_implicit_gradient(x_star, kkt, (params, lower, upper), success=success)
