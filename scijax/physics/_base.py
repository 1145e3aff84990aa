"""The common shape of every model system: an abstract ``eqx.Module`` with a SciPy-style ``rhs``."""

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike, DTypeLike

__all__ = ["AbstractODESystem", "as_param"]


def as_param(x: ArrayLike) -> Array:
    """Convert a parameter or initial value to a floating JAX array.

    Arrays that are already floating keep their dtype (so float32 in gives float32 out); Python
    numbers and integer arrays become the default float type (float64 when x64 is enabled).
    """
    x = jnp.asarray(x)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.result_type(float)
    return jnp.asarray(x, dtype=dtype)  # also drops weak typing, which would split jit caches


class AbstractODESystem(eqx.Module):
    """A model system ``dy/dt = f(t, y, *params)`` with its metadata.

    Concrete systems are final ``equinox.Module`` subclasses whose physical parameters are array
    fields (listed, in order, by ``param_names``) and whose standard initial condition is the
    field ``y0``. Because parameters are pytree leaves, ``jax.grad`` with respect to a system, or
    to any of its parameters passed through ``args``, just works.

    Every system provides

    - ``rhs(t, y, *params)``: the right-hand side in SciPy's calling convention, so that
      ``solve_ivp(sys.rhs, sys.t_span, sys.y0, args=sys.params)`` works with SciPy and scijax
      alike. ``rhs`` reads parameters only from its arguments and holds no arrays, so it is
      hashable and ``jax.jit(sys.rhs)`` compiles once for all parameter values;
    - ``params``: the tuple of parameter arrays, in ``param_names`` order;
    - ``y0``, ``t_span``: a standard initial value and time interval;
    - ``stiff``: whether the problem is stiff at its default parameters;
    - ``reference``: the literature the equations and default values come from.

    and, where one exists, ``solution(t)`` (an analytic solution from ``y0`` at ``t = 0``) and
    ``invariant(y)`` (a conserved quantity). ``has_solution`` and ``has_invariant`` say which.
    """

    y0: eqx.AbstractVar[Array]
    param_names: eqx.AbstractClassVar[tuple[str, ...]]
    stiff: eqx.AbstractClassVar[bool]
    t_span: eqx.AbstractClassVar[tuple[float, float]]
    reference: eqx.AbstractClassVar[str]
    reference_solution: ClassVar[tuple[float, tuple[float, ...]] | None] = None
    """``(t, y(t))`` from the literature for the default problem, where the literature gives one."""

    @abc.abstractmethod
    def vector_field(self, t: ArrayLike, y: Array, *params: Array) -> Array:
        """The right-hand side; it must read parameters from ``params`` only, never from ``self``."""

    @property
    def params(self) -> tuple[Array, ...]:
        """The physical parameters, in the order ``rhs`` takes them."""
        return tuple(getattr(self, name) for name in self.param_names)

    @property
    def rhs(self) -> Callable[..., Array]:
        """The right-hand side ``rhs(t, y, *params)`` in SciPy's convention ``fun(t, y, *args)``.

        It depends on ``params`` only through its arguments, and holds no arrays itself, so it
        is hashable: ``jax.jit(sys.rhs)`` works, one compiled function serves every parameter
        value, and gradients flow through ``args``.
        """
        return eqx.partition(self, eqx.is_array)[1].vector_field

    @property
    def has_solution(self) -> bool:
        """Whether ``solution`` (an analytic solution) exists for this system."""
        return hasattr(self, "_solution")

    @property
    def has_invariant(self) -> bool:
        """Whether ``invariant`` (a conserved quantity) exists for this system."""
        return hasattr(self, "_invariant")

    def solution(self, t: ArrayLike) -> Array:
        """The exact solution from ``y0`` at ``t = 0``.

        A scalar ``t`` gives shape ``(n,)``; a 1-D ``t`` gives ``(n, len(t))``, the layout of
        ``solve_ivp(...).y``.
        """
        if not self.has_solution:
            raise NotImplementedError(f"{type(self).__name__} has no analytic solution.")
        t = jnp.asarray(t)
        if t.ndim == 0:
            return self._solution(t)  # pyright: ignore[reportAttributeAccessIssue] (optional hook, checked above)
        if t.ndim != 1:
            raise ValueError(f"`t` must be a scalar or 1-D, got shape {t.shape}.")
        return jax.vmap(self._solution, out_axes=1)(t)  # pyright: ignore[reportAttributeAccessIssue] (optional hook)

    def invariant(self, y: ArrayLike, *params: ArrayLike) -> Array:
        """The conserved quantity at a state ``y`` of shape ``(n,)``, or at each column of ``(n, m)``."""
        if not self.has_invariant:
            raise NotImplementedError(f"{type(self).__name__} has no known invariant.")
        params = params or self.params
        y = jnp.asarray(y)
        if y.ndim == 1:
            return self._invariant(y, *params)  # pyright: ignore[reportAttributeAccessIssue] (optional hook)
        if y.ndim != 2:
            raise ValueError(f"`y` must have shape (n,) or (n, n_points), got {y.shape}.")
        return jax.vmap(lambda col: self._invariant(col, *params), in_axes=1)(y)  # pyright: ignore[reportAttributeAccessIssue]

    def astype(self, dtype: DTypeLike) -> "AbstractODESystem":
        """A copy with every floating parameter and ``y0`` cast to ``dtype``."""
        cast = lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x
        return jax.tree_util.tree_map(cast, self)
