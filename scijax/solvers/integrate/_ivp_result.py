"""Result types of ``solve_ivp``: :class:`OdeResult` and :class:`OdeSolution`."""

from typing import Any

import diffrax
import equinox as eqx
import jax.core
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from .._display import format_fields

__all__ = ["OdeResult", "OdeSolution", "ConstantSolution", "FAILURE_MESSAGES", "status_message"]

# Index into this table is the ``flag`` field of an OdeResult.
FAILURE_MESSAGES: tuple[str, ...] = (
    "The solver successfully reached the end of the integration interval.",
    "A termination event occurred.",
    "The maximum number of steps (`max_steps`) was reached before the end of the interval. "
    "Raise `max_steps`, loosen `rtol`/`atol`, or use a stiff method ('Radau', 'BDF').",
    "Required step size is less than spacing between numbers. The problem may be stiff "
    "(try method='Radau' or 'BDF') or have a singularity.",
    "The right-hand side returned non-finite values (nan or inf).",
    "The nonlinear solver of the implicit method failed to converge (singular Jacobian?).",
    "The solver failed for an unclassified reason.",
    "An event occurred more often than `max_events` (an option, default 64) can record; later "
    "occurrences were dropped. Raise `max_events`.",
    "More steps were taken than the saved-step buffer holds (`max_saved_steps`, an option; default "
    "1024 under jit/vmap); the first steps are kept and the solve stopped. Pass `t_eval`, or raise "
    "`max_saved_steps`.",
)
FLAG_SUCCESS, FLAG_EVENT, FLAG_MAX_STEPS, FLAG_DTMIN, FLAG_NONFINITE, FLAG_NONLINEAR, FLAG_OTHER = range(7)
FLAG_EVENTS_LOST = 7
FLAG_BUFFER_FULL = 8


def status_message(flag: ArrayLike) -> str:
    """Return the human-readable message for a concrete ``flag``."""
    flag = np.asarray(flag)
    if flag.ndim == 0:
        return FAILURE_MESSAGES[int(flag)]
    return "; ".join(sorted({FAILURE_MESSAGES[int(f)] for f in flag.ravel()}))


def _is_traced(x: Any) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _eager_numpy(x: Array) -> Array | np.ndarray:
    """NumPy out of an eager evaluation (as SciPy's OdeSolution returns); JAX arrays under transforms."""
    return x if _is_traced(x) else np.asarray(x)


class OdeSolution(eqx.Module):
    """Continuous solution returned by ``solve_ivp(..., dense_output=True)``.

    Calling it evaluates the solver's own interpolant: ``sol(t)`` returns shape
    ``(n,)`` for a scalar ``t`` and ``(n, len(t))`` for a 1-D array, as SciPy's
    :class:`scipy.integrate.OdeSolution` does. It is a pytree, differentiable in
    ``t`` and in everything the solve depended on.

    Attributes
    ----------
    t_min, t_max : Array
        The interval covered by the interpolant.
    interpolation : diffrax.DenseInterpolation
        The underlying piecewise polynomial.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import solve_ivp
    >>> res = solve_ivp(lambda t, y: -y, (0.0, 1.0), jnp.array([1.0]), dense_output=True)
    >>> bool(abs(res.sol(0.5)[0] - jnp.exp(-0.5)) < 1e-3)
    True
    """

    interpolation: diffrax.DenseInterpolation
    t_min: Array
    t_max: Array
    t_end: Array  # last time reached and the state there, returned exactly when asked for
    y_end: Array

    @property
    def ts(self) -> Array:
        """Step end points of the interpolant (padded with ``inf`` under jit)."""
        return self.interpolation.ts

    def _evaluate(self, t: Array) -> Array:
        # Like SciPy, evaluate the nearest step's polynomial also outside [t_min, t_max]
        # (diffrax's own `evaluate` returns nan there).
        interp = self.interpolation
        td = t * interp.direction
        n = interp.ts_size
        ts = jnp.where(jnp.arange(interp.ts.shape[0]) < n, interp.ts, jnp.inf)
        # side="right": at a step time, use the next step's polynomial at its start, which returns
        # the stored state exactly (SciPy's tests compare sol(res.t) with res.y to 1e-15).
        i = jnp.clip(jnp.searchsorted(ts, td, side="right") - 1, 0, jnp.maximum(n - 2, 0))
        infos = jax.tree_util.tree_map(lambda x: x[i], interp.infos)
        local = interp.interpolation_cls(t0=interp.ts[i], t1=interp.ts[i + 1], **infos)
        return jnp.where(t == self.t_end, self.y_end, local.evaluate(td))

    def __call__(self, t: ArrayLike) -> Array | np.ndarray:
        t = jnp.asarray(t)
        if t.ndim == 0:
            return _eager_numpy(self._evaluate(t))
        if t.ndim != 1:
            raise ValueError("`t` must be a float or a 1-D array.")
        return _eager_numpy(jax.vmap(self._evaluate)(t).T)


class ConstantSolution(eqx.Module):
    """``sol`` of a zero-length integration: the initial state at every ``t`` (SciPy's ConstantDenseOutput)."""

    value: Array
    t_min: Array
    t_max: Array

    def __call__(self, t: ArrayLike) -> Array | np.ndarray:
        t = jnp.asarray(t)
        if t.ndim == 0:
            return _eager_numpy(self.value)
        if t.ndim != 1:
            raise ValueError("`t` must be a float or a 1-D array.")
        return _eager_numpy(jnp.broadcast_to(self.value[:, None], (self.value.shape[0], t.shape[0])))


class OdeResult(eqx.Module):
    """Result of :func:`solve_ivp`, with SciPy's field names.

    Attributes
    ----------
    t : Array, shape (n_points,)
        Time points. Under ``jit``/``vmap`` this is a fixed-capacity buffer padded
        with ``nan``; ``n_points`` counts the valid entries. Eager calls are trimmed and,
        like SciPy's, hold NumPy arrays and Python scalars (``sol`` stays a JAX object).
    y : Array, shape (n, n_points)
        Values of the solution at ``t``.
    sol : OdeSolution or None
        Continuous solution when ``dense_output=True``.
    t_events : list of Array or None
        For each event, the times at which it occurred (padded with ``nan`` under jit;
        ``n_events`` counts them).
    y_events : list of Array or None
        For each event, the solution values at ``t_events``, shape ``(k, n)``.
    nfev, njev, nlu : Array
        Function evaluations, Jacobian evaluations and LU decompositions (see the
        ``solve_ivp`` docstring for how these are counted).
    status : Array
        -1 failure, 0 end of interval reached, 1 a terminal event occurred.
    success : Array
        ``status >= 0``.
    n_points : Array
        Number of valid entries in ``t`` (not in SciPy).
    n_steps : Array
        Accepted steps (not in SciPy; rejected ones are in ``nfev`` only).
    n_events : Array or None
        Number of valid entries of each ``t_events`` array (not in SciPy).
    flag : Array
        Reason code behind ``message`` (not in SciPy).
    """

    t: Array
    y: Array
    sol: "OdeSolution | ConstantSolution | None"
    t_events: list[Array] | None
    y_events: list[Array] | None
    nfev: Array
    njev: Array
    nlu: Array
    status: Array
    success: Array
    n_points: Array
    n_steps: Array
    n_events: Array | None
    flag: Array

    @property
    def message(self) -> str:
        """SciPy's message, derived from ``flag`` (only readable outside traced code)."""
        if _is_traced(self.flag):
            raise TypeError("`message` is not available inside jit/vmap; read `status` instead.")
        return status_message(self.flag)

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def keys(self) -> list[str]:
        """Field names, as for SciPy's dict-like result."""
        return [*(f for f in self.__dataclass_fields__), "message"]

    def trimmed(self) -> "OdeResult":
        """SciPy's eager result: buffers cut to their valid length, as NumPy arrays and Python scalars.

        Only for concrete, unbatched results. ``sol`` stays a JAX :class:`OdeSolution`.
        """
        host = jax.device_get({k: getattr(self, k) for k in self.__dataclass_fields__ if k != "sol"})
        n = int(host["n_points"])
        t_ev, y_ev = host["t_events"], host["y_events"]
        if t_ev is not None:
            counts = [int(c) for c in host["n_events"]]
            t_ev = [np.asarray(te[:c]) for te, c in zip(t_ev, counts, strict=True)]
            # SciPy gives an event that never occurred `y_events[i].shape == (0,)`.
            y_ev = [np.asarray(ye[:c]) if c else np.empty((0,)) for ye, c in zip(y_ev, counts, strict=True)]
        # Eager: NumPy arrays and Python scalars, as SciPy returns (the fields are typed for the traced case).
        eager: dict[str, Any] = dict(
            t=np.asarray(host["t"][:n]), y=np.asarray(host["y"][:, :n]), sol=self.sol, t_events=t_ev,
            y_events=y_ev, nfev=int(host["nfev"]), njev=int(host["njev"]), nlu=int(host["nlu"]),
            status=int(host["status"]), success=bool(host["success"]), n_points=n, n_steps=int(host["n_steps"]),
            n_events=host["n_events"], flag=int(host["flag"]),
        )
        return OdeResult(**eager)

    def __repr__(self) -> str:
        if _is_traced(self.flag):
            return "OdeResult(<traced>)"
        names = ("success", "status", "t", "y", "sol", "t_events", "y_events", "nfev", "njev", "nlu")
        return format_fields([("message", self.message)] + [(k, getattr(self, k)) for k in names])
