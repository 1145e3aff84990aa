"""Result containers shared by every optimize facade (SciPy's ``OptimizeResult`` fields)."""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, PyTree

from .._display import format_fields
from ._callback import CALLBACK_MESSAGE, CALLBACK_STATUS, LSQ_CALLBACK_MESSAGE, LSQ_CALLBACK_STATUS

_CALLBACK_MESSAGES = {CALLBACK_STATUS: CALLBACK_MESSAGE, LSQ_CALLBACK_STATUS: LSQ_CALLBACK_MESSAGE}

__all__ = ["OptimizeResult", "ResultFields", "status_from_optx", "MINIMIZE_MESSAGES"]

MINIMIZE_MESSAGES: tuple[str, ...] = (
    "Optimization terminated successfully.",
    "Maximum number of iterations has been exceeded.",
    "Desired error not necessarily achieved due to precision loss.",
    "NaN result encountered.",
    "Iteration limit reached in the inner solve; constraints may not be satisfied.",
)
"""Messages indexed by ``status`` (SciPy's codes for ``minimize``)."""


def status_from_optx(result: optx.RESULTS, converged: Array) -> Array:
    """Translate an optimistix result plus our own convergence flag to SciPy's status codes.

    0 converged, 1 iteration limit, 3 non-finite values, 2 any other stop (stagnation,
    line-search failure, linear-solve failure).
    """
    ok = result == optx.RESULTS.successful
    status = jnp.where(result == optx.RESULTS.nonlinear_max_steps_reached, 1, 2)
    status = jnp.where(result == optx.RESULTS.nonfinite, 3, status)
    return jnp.where(ok & converged, 0, jnp.where(ok, 2, status)).astype(jnp.int32)


class ResultFields(eqx.Module):
    """SciPy's dict-style access to a result's fields (``res['x']``, ``'x' in res``, ``res.keys()``)
    and, for results with a static ``messages`` table, ``message`` derived from ``status``.

    Shared by every optimize result; it has no fields of its own.
    """

    @property
    def message(self) -> str | list[str]:
        messages = getattr(self, "messages")  # noqa: B009 (declared by each result)
        status = np.asarray(getattr(self, "status"))  # noqa: B009 (raises under tracing, by design)

        success_code = getattr(self, "success_message", None)
        success_code = None if success_code is None else np.asarray(success_code).ravel()

        def text(i: int, code: int) -> str:
            if code in _CALLBACK_MESSAGES:
                return _CALLBACK_MESSAGES[code]
            if code == 0 and success_code is not None:  # which convergence test fired
                return messages[int(success_code[i])]
            return messages[code]

        if status.ndim == 0:
            return text(0, int(status))
        return [text(i, int(s)) for i, s in enumerate(status.ravel())]

    def keys(self) -> list[str]:
        fields = self.__dataclass_fields__  # pyright: ignore[reportAttributeAccessIssue] (a dataclass)
        names = [n for n in fields if n not in ("messages", "success_message") and getattr(self, n) is not None]
        return names + (["message"] if "messages" in fields else [])

    def __getitem__(self, name: str) -> Any:
        if name not in self.keys():
            raise KeyError(name)
        return getattr(self, name)

    def __contains__(self, name: object) -> bool:
        return name in self.keys()


class OptimizeResult(ResultFields):
    """Result of ``minimize``, ``root`` and ``least_squares``, with SciPy's field names.

    A pytree, so it passes through ``jax.jit`` and ``jax.vmap``. Fields a method does not
    produce are ``None``. ``message`` is derived from ``status`` and is only available when
    ``status`` is concrete (outside ``jit``); under ``vmap`` it is a list of messages.
    Dict-style access (``res['x']``, ``'x' in res``, ``res.keys()``) works as in SciPy.
    """

    x: PyTree[Array]
    success: Array
    status: Array
    fun: Any = None
    jac: Any = None
    hess_inv: Any = None
    nit: Any = None
    nfev: Any = None
    njev: Any = None
    nhev: Any = None
    maxcv: Any = None
    cost: Any = None
    grad: Any = None
    optimality: Any = None
    active_mask: Any = None
    multipliers: Any = None
    final_simplex: Any = None
    population: Any = None
    population_energies: Any = None
    minimization_failures: Any = None
    lowest_optimization_result: Any = None
    success_message: Any = None  # index into `messages` for status 0, where a method has several
    messages: tuple[str, ...] = eqx.field(static=True, default=MINIMIZE_MESSAGES)
    method: str | None = eqx.field(static=True, default=None)  # set by ``root``, as SciPy's result is

    def __repr__(self) -> str:
        try:
            msg = self.message
        except Exception:  # traced status: no message yet
            fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.keys() if k != "message")
            return f"OptimizeResult(message=<traced>, {fields})"
        first = ["success", "status"]
        rest = [k for k in self.keys() if k not in first and k != "message"]
        return format_fields([("message", msg)] + [(k, getattr(self, k)) for k in first + rest])
