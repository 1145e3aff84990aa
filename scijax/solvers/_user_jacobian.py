"""One rule for a user-supplied Jacobian: it replaces JAX's derivative of the function in ``x``.

Every family lets users pass SciPy's ``jac=`` (``solve_ivp``'s ``jac(t, y)``, ``root``'s and
``least_squares``' Jacobians, ``minimize``'s gradient). :func:`with_user_jacobian` wraps the
function so that forward and reverse derivatives in ``x`` use that Jacobian (the solvers' Newton
steps, implicit gradients and adjoints all go through JAX's derivative rules), while derivatives
in the other inputs (``params``: times, ``args``) still come from differentiating the function.
"""

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["with_user_jacobian"]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _call(value: Callable[[Array, Any], Array], jacobian: Callable[[Array, Any], Any], x: Array,
          params: Any) -> Array:
    return value(x, params)


@_call.defjvp
def _call_jvp(value, jacobian, primals, tangents):
    x, params = primals
    dx, dparams = tangents
    out, d_params = jax.jvp(lambda p: value(x, p), (params,), (dparams,))
    jmat = jnp.asarray(jacobian(x, params), out.dtype).reshape(out.shape + x.shape)
    return out, jnp.tensordot(jmat, dx, axes=x.ndim) + d_params


def with_user_jacobian(value: Callable[[Array, Any], Array], jacobian: Callable[[Array, Any], Any],
                       x: Array, params: Any) -> Array:
    """``value(x, params)``, whose derivative in ``x`` is ``jacobian(x, params)``.

    ``jacobian`` returns an array reshapeable to ``value``'s shape followed by ``x``'s shape
    (a gradient for a scalar value, an ``(m, n)`` matrix for a vector, ``(1, n)`` for one
    residual). ``value`` and ``jacobian`` must not close over traced arrays: pass those in
    ``params``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> f = lambda x, p: jnp.sin(x) * p
    >>> wrong = lambda x, p: jnp.full(x.shape, 2.0)  # a user Jacobian is trusted, right or wrong
    >>> float(jax.grad(lambda x: with_user_jacobian(f, wrong, x, 3.0))(jnp.array(1.0)))
    2.0
    >>> float(jax.grad(lambda p: with_user_jacobian(f, wrong, jnp.array(1.0), p))(3.0))  # params: true one
    0.8414709848078965
    """
    return _call(value, jacobian, x, params)
