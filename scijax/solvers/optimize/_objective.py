"""Translate SciPy's calling conventions (``fun(x, *args)``, ``jac=True``/callable, pytree
``x0``) into the ``f(x, params)`` form that the engines use, on a flat 1-D ``x``."""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, PyTree

from .._user_jacobian import with_user_jacobian

__all__ = ["prepare_args", "prepare_x0", "Objective", "check_options", "ToShape"]


def prepare_args(args: Any) -> tuple:
    """SciPy's ``args``: a tuple (a lone value is wrapped); Python floats become arrays so that
    new values do not recompile."""
    if not isinstance(args, tuple):
        args = (args,)
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a) if isinstance(a, float) else a, args)


def prepare_x0(x0: Any, name: str = "x0") -> tuple[Array, Callable[[Array], PyTree], bool]:
    """Return ``(flat_x0, unravel, is_pytree)``.

    An array ``x0`` must be at most 1-D (SciPy raises for 2-D); a dict, list or tuple of
    arrays is flattened and ``unravel`` rebuilds its structure.
    """
    if isinstance(x0, (dict, list, tuple)) and not _is_number_sequence(x0):
        leaves = jax.tree_util.tree_leaves(x0)
        if not leaves:
            raise ValueError(f"`{name}` must contain at least one array.")
        x0 = jax.tree_util.tree_map(_as_inexact, x0)
        flat, unravel = ravel_pytree(x0)
        return flat, unravel, True
    x = _as_inexact(x0)
    if x.ndim > 1:
        raise ValueError(f"`{name}` must only have one dimension; got shape {x.shape}. "
                         "Pass a pytree (e.g. a dict of arrays) for structured parameters.")
    return jnp.atleast_1d(x), ToShape(x.shape), False


class ToShape(eqx.Module):
    """``v.reshape(shape)``; a value-comparable callable so that compiled solves are reused."""

    shape: tuple = eqx.field(static=True)

    def __call__(self, v):
        return v.reshape(self.shape)


def _is_number_sequence(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(v, (int, float, np.number)) for v in x)


def _as_inexact(x: Any) -> Array:
    if isinstance(x, (np.ndarray, np.generic, int, float, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"`x0` must be numeric; got dtype {arr.dtype}.")
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def check_options(options: dict | None, allowed: frozenset[str], method: str) -> dict:
    """Reject misspelt options instead of silently ignoring them."""
    options = dict(options or {})
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"Unknown `options` for method {method!r}: {sorted(unknown)}; "
                         f"accepted: {sorted(allowed)}.")
    if "maxiter" in options and options["maxiter"] is not None and options["maxiter"] < 0:
        raise ValueError("`maxiter` must be non-negative.")
    return options


class Objective(eqx.Module):
    """``f(x_flat, params) -> scalar`` for a SciPy ``fun``/``jac`` pair.

    ``params`` holds the inexact arrays of ``args`` (what gradients flow to); everything else in
    ``args`` is static. With ``jac`` given, the derivative in ``x`` uses it (through a custom
    JVP); derivatives in ``params`` still come from autodiff of ``fun``.
    """

    fun: Callable = eqx.field(static=True)
    jac: Any = eqx.field(static=True)
    unravel: Callable = eqx.field(static=True)
    static_args: Any = eqx.field(static=True)

    def full_args(self, params):
        return eqx.combine(params, self.static_args)

    def raw(self, x, params):
        """``fun`` as the user wrote it (it may return ``(f, g)`` when ``jac=True``)."""
        return self.fun(self.unravel(x), *self.full_args(params))

    def value(self, x, params):
        if self.jac is None or self.jac is False:
            return _scalar(self.raw(x, params))
        return _with_jac(self, x, params)

    def __call__(self, x, params):
        """optimistix's ``fn(y, args) -> (value, aux)`` convention."""
        return self.value(x, params), None

    def gradient(self, x, params):
        return jax.grad(self.value)(x, params)


def _scalar(out):
    out = jnp.asarray(out)
    if out.size != 1:
        raise ValueError(f"The user-provided objective function must return a scalar value; "
                         f"got shape {out.shape}.")
    return out.reshape(())


def _user_grad(obj: Objective, x, params):
    if obj.jac is True:
        _, g = obj.raw(x, params)
    else:
        g = obj.jac(obj.unravel(x), *obj.full_args(params))
    g, _ = ravel_pytree(g)
    if g.size != x.size:
        raise ValueError(f"`jac` must return the gradient with the shape of `x0` ({x.size} "
                         f"values); got {g.size} values.")
    return jnp.asarray(g, dtype=x.dtype).reshape(x.shape)


def _with_jac(obj: Objective, x, params):
    def value(x, params):
        out = obj.raw(x, params)
        return _scalar(out[0] if obj.jac is True else out)

    return with_user_jacobian(value, lambda x, params: _user_grad(obj, x, params), x, params)
