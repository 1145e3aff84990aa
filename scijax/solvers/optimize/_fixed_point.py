"""``fixed_point``: SciPy's elementwise fixed-point iteration with optional Steffensen (del2)
acceleration, as an optimistix fixed-point solver (so derivatives w.r.t. ``args`` are implicit)."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.core
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike

from .._userfn import prepare_bound
from ._implicit import attach_implicit_gradient, nan_unless
from ._objective import prepare_args

__all__ = ["fixed_point"]


class _FPState(eqx.Module):
    nit: Array
    converged: Array


class _Steffensen(optx.AbstractFixedPointSolver):
    accelerate: bool
    xtol: float
    maxiter: int
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        return _FPState(jnp.array(0), jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        p0 = y
        p1 = fn(p0, args)[0]
        if self.accelerate:
            p2 = fn(p1, args)[0]
            d = p2 - 2.0 * p1 + p0
            p = jnp.where(d != 0, p0 - (p1 - p0) ** 2 / jnp.where(d != 0, d, 1.0), p2)
        else:
            p = p1
        relerr = jnp.where(p0 != 0, (p - p0) / jnp.where(p0 != 0, p0, 1.0), p)
        converged = jnp.all(jnp.abs(relerr) < self.xtol)
        return p, _FPState(state.nit + 1, converged), None

    def terminate(self, fn, y, args, options, state, tags):
        out = (state.nit >= self.maxiter) & jnp.invert(state.converged)
        result = optx.RESULTS.where(out, optx.RESULTS.nonlinear_max_steps_reached, optx.RESULTS.successful)
        return state.converged | out, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"converged": state.converged, "nit": state.nit}


class _Func(eqx.Module):
    func: Callable = eqx.field(static=True)

    def __call__(self, x, args):
        return jnp.asarray(self.func(x, *args), x.dtype).reshape(x.shape), None


_METHODS = {"del2": True, "iteration": False}
"""SciPy's method name -> whether to apply Steffensen's del2 acceleration."""


def fixed_point(func: Callable[..., ArrayLike], x0: ArrayLike, args: Any = (), xtol: float = 1e-8,
                maxiter: int = 500, method: str = "del2") -> Array:
    """Find a fixed point ``func(x, *args) = x``, elementwise (``scipy.optimize.fixed_point``).

    Parameters
    ----------
    func, x0, args, xtol, maxiter
        As in SciPy; stops when every element's relative change is below ``xtol``.
    method
        'del2' (Steffensen's acceleration, default) or 'iteration'.

    Returns
    -------
    The fixed point, with ``x0``'s shape.

    Differences from SciPy
    ----------------------
    Eagerly it raises ``RuntimeError`` on non-convergence as SciPy does; under ``jit``/``vmap``
    it cannot raise, so the result is NaN when it did not converge. ``jax.grad`` w.r.t. ``args``
    uses the implicit function theorem on ``func(x) - x = 0``.

    Notes
    -----
    A gradient through a solve that did not succeed is NaN (the traced result is NaN too).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import fixed_point
    >>> x = fixed_point(lambda x, c: jnp.sqrt(c / (x + 1.0)), jnp.array([1.0, 2.0]),
    ...                 args=(jnp.array([10.0, 12.0]),))
    >>> [round(float(v), 6) for v in x]
    [1.86746, 2.0]
    """
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {sorted(_METHODS)}; got {method!r}.")
    if maxiter < 1:
        raise ValueError("`maxiter` must be a positive integer.")
    x = jnp.asarray(x0)
    x = x.astype(jnp.result_type(x.dtype, 1.0))
    user, args = prepare_bound({"func": func}, (x,), prepare_args(args), solver="fixed_point")
    p, converged = _solve(_Func(user["func"]), _Steffensen(_METHODS[method], xtol, int(maxiter)), x, args)
    if not isinstance(converged, jax.core.Tracer):
        if not bool(converged):
            raise RuntimeError(f"Failed to converge after {maxiter} iterations, value is {np.asarray(p)}")
        return p
    return nan_unless(p, converged)


@eqx.filter_jit
def _solve(fn, solver, x, args):
    stopped = jax.tree_util.tree_map(
        lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, (x, args))
    sol = optx.fixed_point(fn, solver, *stopped, has_aux=True, max_steps=solver.maxiter + 1, throw=False)
    converged = sol.stats["converged"]
    p = attach_implicit_gradient(sol.value, lambda z, a: fn(z, a)[0] - z, args, success=converged)
    return p, converged
