"""SciPy's ``callback=`` for ``minimize``: a host call once per iteration of the compiled loop.

Any minimiser engine is wrapped in :class:`WithCallback`. After each engine step that completes an
iteration (the engine's ``nit`` counter moved), the current iterate and its objective value go to
the host through ``jax.experimental.io_callback``; the user's function runs there with SciPy's
signature (``callback(intermediate_result)`` when its only parameter is named so, else
``callback(xk)``). A ``StopIteration`` raised by it stops the loop, and the facade reports SciPy's
status 99, ``success=False`` and "`callback` raised `StopIteration`.".

The callable never enters the compiled program: it is kept in a registry under an integer token
that the program carries as an ordinary (traced) value, so a new callback on the same problem
reuses the compiled loop.
"""

import inspect
import itertools
import threading
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.experimental import io_callback
from jaxtyping import Array

__all__ = ["WithCallback", "WithLeastSquaresCallback", "CALLBACK_STATUS", "CALLBACK_MESSAGE",
           "LSQ_CALLBACK_STATUS", "LSQ_CALLBACK_MESSAGE", "register", "release", "unwrap", "unwrap_solution"]

CALLBACK_STATUS = 99
CALLBACK_MESSAGE = "`callback` raised `StopIteration`."
LSQ_CALLBACK_STATUS = -2
LSQ_CALLBACK_MESSAGE = "Stopped because `callback` function raised `StopIteration` or returned `True`"

_REGISTRY: dict[int, Callable] = {}
_COUNTER = itertools.count(1)
_LOCK = threading.Lock()


def register(callback: Callable, *, true_stops: bool = False) -> int:
    """Keep ``callback`` under a fresh token (the compiled loop refers to it by this number).

    ``true_stops``: a return value of ``True`` stops the solve too (``least_squares``'s rule).
    """
    if not callable(callback):
        raise TypeError("`callback` must be callable or None.")
    call = _scipy_signature(callback)
    with _LOCK:
        token = next(_COUNTER)
        _REGISTRY[token] = (lambda x, fields: call(x, fields) is True) if true_stops else call
    return token


def release(token: int) -> None:
    """Forget a callback once the eager solve that used it has finished."""
    with _LOCK:
        _REGISTRY.pop(token, None)


def _scipy_signature(callback: Callable) -> Callable:
    """``callback(intermediate_result)`` if that is its only parameter's name, else ``callback(xk)``
    (SciPy's rule)."""
    try:
        params = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):  # builtins without a signature
        params = set()
    if params == {"intermediate_result"}:
        from scipy.optimize import OptimizeResult as HostResult  # scipy is a dependency; host side only

        return lambda x, fields: callback(intermediate_result=HostResult(x=x, **fields))
    return lambda x, fields: callback(x)


def _host(token, x, fields, new_iteration) -> np.ndarray:
    if not bool(new_iteration):
        return np.asarray(False)
    call = _REGISTRY.get(int(token))
    if call is None:  # released: an eager solve finished (cannot happen while it runs)
        return np.asarray(False)
    x = jax.tree_util.tree_map(lambda a: np.array(a, copy=True), x)
    fields = {k: (float(v) if np.ndim(v) == 0 else np.array(v, copy=True)) for k, v in fields.items()}
    try:
        return np.asarray(bool(call(x, fields)))
    except StopIteration:
        return np.asarray(True)


class _CallbackState(eqx.Module):
    inner: Any
    stop: Array


class _CallbackMixin(eqx.Module):
    """``inner``, with the registered callback ``token`` called after each completed iteration.

    The objective (residuals) is evaluated once more per iteration to hand ``fun`` (and ``cost``)
    to the callback; that evaluation is not counted in ``nfev``. An engine whose state has no
    ``nit`` counter calls the callback after every loop step.
    """

    inner: Any
    token: Array
    unravel: Callable = eqx.field(static=True)

    def _fields(self, value) -> dict:
        raise NotImplementedError

    @property
    def rtol(self) -> float:
        return self.inner.rtol

    @property
    def atol(self) -> float:
        return self.inner.atol

    @property
    def norm(self):
        return self.inner.norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        inner = self.inner.init(fn, y, args, options, f_struct, aux_struct, tags)
        return _CallbackState(inner, jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        new_y, inner, aux = self.inner.step(fn, y, args, options, state.inner, tags)
        before, after = getattr(state.inner, "nit", None), getattr(inner, "nit", None)
        new_iteration = jnp.array(True) if before is None or after is None else after > before
        out = jax.eval_shape(lambda z: fn(z, args)[0], new_y)
        value = jax.lax.cond(new_iteration, lambda z: fn(z, args)[0],
                             lambda z: jnp.zeros(out.shape, out.dtype), new_y)
        stop = io_callback(_host, jax.ShapeDtypeStruct((), jnp.bool_), self.token, self.unravel(new_y),
                           self._fields(value), new_iteration, ordered=False)
        return new_y, _CallbackState(inner, state.stop | stop), aux

    def terminate(self, fn, y, args, options, state, tags):
        done, result = self.inner.terminate(fn, y, args, options, state.inner, tags)
        return done | state.stop, optx.RESULTS.where(state.stop, optx.RESULTS.successful, result)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        y, aux, stats = self.inner.postprocess(fn, y, aux, args, options, state.inner, tags, result)
        return y, aux, {**stats, "callback_stop": state.stop}


class WithCallback(_CallbackMixin, optx.AbstractMinimiser):
    """A minimiser with ``minimize``'s callback (``intermediate_result`` has ``x`` and ``fun``)."""

    def _fields(self, value) -> dict:
        return {"fun": value}


class WithLeastSquaresCallback(_CallbackMixin, optx.AbstractLeastSquaresSolver):
    """A least-squares solver with ``least_squares``'s callback (``x``, ``fun`` (the residuals),
    ``cost``)."""

    def _fields(self, value) -> dict:
        return {"fun": value, "cost": 0.5 * jnp.sum(jnp.abs(value) ** 2)}


def unwrap(solver: Any) -> Any:
    """The engine inside a callback wrapper (drivers size their loops from it)."""
    return solver.inner if isinstance(solver, _CallbackMixin) else solver


def unwrap_solution(solver: Any, sol: optx.Solution) -> optx.Solution:
    """``sol`` with the engine's own state in place of :class:`WithCallback`'s, so that result
    packers see what they would without a callback."""
    if not isinstance(solver, _CallbackMixin):
        return sol
    return eqx.tree_at(lambda s: s.state, sol, sol.state.inner)
