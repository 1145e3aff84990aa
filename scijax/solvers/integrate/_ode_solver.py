"""SciPy's step-by-step ODE solver classes: ``RK45``, ``RK23``, ``DOP853``, ``Radau``, ``BDF``, ``LSODA``.

Each class is the same stepper ``solve_ivp`` runs under that method name (the registry in
``_ivp_methods.py``), driven one accepted step per :meth:`OdeSolver.step` call from Python: a step
is one compiled call that tries steps from the current ``(t, y)`` until the step-size controller
accepts one (SciPy's controller rules, minimum step included). The solver's and the controller's
state (FSAL stage, Jacobian, last step size) are carried between calls. The classes may also be
passed as ``solve_ivp(..., method=RK45)``, as in SciPy.

Differences from SciPy
----------------------
- ``step()`` is an eager, host-driven loop (one compiled call per step): for whole solves and for
  ``jit``/``vmap``/``grad``, use ``solve_ivp``.
- ``nfev`` is charged per attempted step from the method's stage count (for the implicit methods
  an estimate, as in ``solve_ivp``); ``njev`` and ``nlu`` are not counted (0).
- ``dense_output()`` interpolates the last step with the stepper's own interpolant.
- ``'BDF'`` and ``'LSODA'`` run what ``solve_ivp`` runs under those names (see its docstring).
"""

import warnings
from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._userfn import prepare
from ._ivp_core import initial_step
from ._ivp_methods import METHODS
from ._stepsize import SpacingController

__all__ = ["OdeSolver", "DenseOutput", "RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"]

_MAX_ATTEMPTS = 64


class DenseOutput:
    """The interpolant of the last step, callable on ``t`` in ``[t_min, t_max]`` (SciPy's
    ``DenseOutput``): ``sol(t)`` has shape ``(n,)``, ``sol(ts)`` shape ``(n, len(ts))``."""

    def __init__(self, t_old: float, t: float, interpolant: Callable[[Any], Any]):
        self.t_old, self.t = t_old, t
        self.t_min, self.t_max = min(t_old, t), max(t_old, t)
        self._interpolant = interpolant

    def __call__(self, t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if t.ndim > 1:
            raise ValueError("`t` must be a float or a 1-D array.")
        values = np.stack([np.asarray(self._interpolant(float(s))) for s in np.atleast_1d(t)], axis=-1)
        return values[:, 0] if t.ndim == 0 else values


def _stepper(method: str, rtol, atol) -> diffrax.AbstractSolver:
    solver = METHODS[method].solver()
    if hasattr(solver, "with_tolerances"):  # Radau's Newton iteration uses the user's tolerances
        solver = solver.with_tolerances(rtol, atol)  # pyright: ignore[reportAttributeAccessIssue] (hasattr)
    return solver


def _controller(method: str, solver, rtol, atol, max_step):
    """The step-size controller ``solve_ivp`` pairs with this stepper ('BDF' brings its own)."""
    if hasattr(solver, "step_controller"):  # variable-order BDF decides steps and orders itself
        return solver.step_controller(rtol, atol, max_step)
    spec = METHODS[method]
    return SpacingController(diffrax.PIDController(
        rtol=rtol / spec.error_scale, atol=atol / spec.error_scale, dtmax=max_step,
        error_order=spec.error_order, pcoeff=spec.pid[0], icoeff=spec.pid[1]))


@eqx.filter_jit
def _advance(method: str, fun, t, y, h, t_bound, direction, args, rtol, atol, max_step, solver_state,
             controller_state):
    """Attempt steps from ``(t, y)`` with ``h`` until one is accepted (in ``tau = direction * t``)."""
    spec = METHODS[method]
    term = diffrax.ODETerm(lambda tau, z, a: direction * jnp.asarray(fun(direction * tau, z, *a), z.dtype))
    solver = _stepper(method, rtol, atol)
    controller = _controller(method, solver, rtol, atol, max_step)
    tau, tau_bound = direction * t, direction * t_bound

    def attempt(carry):
        h, _, k, _, _, _, _ = carry
        tau1 = jnp.minimum(tau + h, tau_bound)
        y1, y_err, dense, s_state, result = solver.step(term, tau, tau1, y, args, solver_state, False)
        keep, next_t0, next_t1, _, c_state, c_result = controller.adapt_step_size(
            tau, tau1, y, y1, args, y_err, spec.error_order, controller_state)
        failed = (result != diffrax.RESULTS.successful) | (c_result != diffrax.RESULTS.successful)
        accepted = keep & jnp.invert(failed) & jnp.all(jnp.isfinite(y1))
        return (next_t1 - next_t0, accepted | failed, k + 1, (tau1, y1, dense), s_state, c_state, failed)

    def cond(carry):
        return jnp.invert(carry[1]) & (carry[2] < _MAX_ATTEMPTS)

    first = attempt((h, False, jnp.array(0), None, None, None, False))
    h_next, _, k, (tau1, y1, dense), s_state, c_state, failed = jax.lax.while_loop(cond, attempt, first)
    return direction * tau1, y1, h_next, dense, s_state, c_state, k, failed | (k >= _MAX_ATTEMPTS)


class OdeSolver:
    """SciPy's ``OdeSolver`` interface over one of our steppers (see the module docstring).

    Parameters
    ----------
    fun : callable
        ``fun(t, y)``, jax.numpy (a NumPy-written function runs on the host, with a warning).
    t0 : float
        Initial time.
    y0 : array_like, shape (n,)
        Initial state.
    t_bound : float
        Boundary time; the integration does not go past it.
    vectorized : bool, optional
        Accepted for SciPy's signature; has no effect.
    rtol, atol : float or array_like, optional
        Tolerances, SciPy's defaults 1e-3 and 1e-6.
    max_step : float, optional
        Largest allowed step (default: no bound).
    first_step : float, optional
        Initial step (default: SciPy's selection rule).
    **extraneous
        Other solvers' options (``jac``, ``jac_sparsity``, ...) are ignored with a warning.

    Attributes
    ----------
    n, status, t_bound, direction, t, y, t_old, step_size, nfev, njev, nlu
        As SciPy's. ``status`` is ``'running'``, ``'finished'`` or ``'failed'``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import RK45
    >>> solver = RK45(lambda t, y: -y, 0.0, jnp.array([1.0]), 1.0, rtol=1e-8, atol=1e-10)
    >>> while solver.status == "running":
    ...     message = solver.step()
    >>> round(float(solver.y[0]), 4), solver.t
    (0.3679, 1.0)
    """

    _method: str = "RK45"
    TOO_SMALL_STEP = "Required step size is less than spacing between numbers."

    def __init__(self, fun: Callable, t0: float, y0: Any, t_bound: float, vectorized: bool = False,
                 rtol: Any = 1e-3, atol: Any = 1e-6, max_step: float = np.inf, first_step: float | None = None,
                 **extraneous: Any) -> None:
        if extraneous:
            warnings.warn(f"The following arguments have no effect for a chosen solver: "
                          f"{', '.join(f'`{x}`' for x in extraneous)}.", stacklevel=2)
        if not callable(fun):
            raise TypeError("`fun` must be callable.")
        y0 = jnp.asarray(y0)
        if y0.ndim != 1:
            raise ValueError("`y0` must be 1-dimensional.")
        if not jnp.issubdtype(y0.dtype, jnp.inexact):
            y0 = y0.astype(jnp.result_type(float))
        if max_step <= 0:
            raise ValueError("`max_step` must be positive.")
        self.t_old: float | None = None
        self.t, self.t_bound = float(t0), float(t_bound)
        self.direction = float(np.sign(self.t_bound - self.t)) if self.t_bound != self.t else 1.0
        self.n = y0.shape[0]
        self.vectorized = vectorized
        self._y = y0
        self._fun = prepare(fun, (jnp.asarray(t0, y0.real.dtype), y0), solver=type(self).__name__)
        self._tols = (jnp.asarray(rtol, y0.real.dtype), jnp.asarray(atol, y0.real.dtype))
        self._max_step = jnp.asarray(max_step, y0.real.dtype)
        self.status = "running"
        self.nfev, self.njev, self.nlu = 0, 0, 0
        spec = METHODS[self._method]
        args: tuple = ()
        self._args = args
        span = abs(self.t_bound - self.t)
        if first_step is None:
            h = initial_step(self._rhs, jnp.asarray(self.t), y0, args, self.direction, spec.error_order, *self._tols,
                             self._max_step, span) if self.n and span else jnp.asarray(0.0)
            self.nfev += 2
        else:
            if not 0 < first_step <= max(span, 0):
                raise ValueError("`first_step` must be positive and not exceed the integration span.")
            h = jnp.asarray(first_step)
        self.step_size: float | None = None
        self._h = h
        self._state: tuple | None = None
        self._dense: Any = None

    def _rhs(self, t, y, args):
        return jnp.asarray(self._fun(t, y, *args), y.dtype)

    @property
    def y(self) -> np.ndarray:
        return np.asarray(self._y)

    def _init_state(self):
        spec = METHODS[self._method]
        direction = self.direction
        term = diffrax.ODETerm(lambda tau, z, a: direction * self._rhs(direction * tau, z, a))
        tau0 = direction * self.t
        solver = _stepper(self._method, *self._tols)
        s_state = solver.init(term, tau0, tau0 + self._h, self._y, self._args)
        controller = _controller(self._method, solver, *self._tols, self._max_step)
        _, c_state = controller.init(term, tau0, tau0 + self._h, self._y, self._h, self._args, solver.func,
                                     spec.error_order)
        return s_state, c_state

    def step(self) -> str | None:
        """Advance by one accepted step; returns ``None``, or a message if the solver failed."""
        if self.status != "running":
            raise RuntimeError("Attempt to step on a failed or finished solver.")
        if self.n == 0 or self.t == self.t_bound:
            self.t_old, self.t = self.t, self.t_bound
            self.status = "finished"
            return None
        if self._state is None:
            self._state = self._init_state()
        spec = METHODS[self._method]
        out = _advance(self._method, self._fun, jnp.asarray(self.t), self._y, self._h, jnp.asarray(self.t_bound),
                       self.direction, self._args, *self._tols, self._max_step, *self._state)
        t_new, y_new, h_next, dense, s_state, c_state, attempts, failed = out
        self.nfev += spec.fevals_per_step * int(attempts)
        if bool(failed):
            self.status = "failed"
            return self.TOO_SMALL_STEP
        t_new = float(t_new)
        self.t_old, self.t, self._y = self.t, t_new, y_new
        self.step_size = abs(t_new - self.t_old)
        self._h, self._state, self._dense = h_next, (s_state, c_state), dense
        if self.direction * (self.t - self.t_bound) >= 0:
            self.t = self.t_bound
            self.status = "finished"
        return None

    def dense_output(self) -> DenseOutput:
        """The interpolant of the last step (SciPy's ``dense_output``)."""
        if self.t_old is None:
            raise RuntimeError("Dense output is available after a successful step was made.")
        spec = METHODS[self._method]
        direction, t_old, t = self.direction, self.t_old, self.t
        interp = spec.solver().interpolation_cls(t0=direction * t_old, t1=direction * t, **self._dense) \
            if self._dense is not None else None
        if interp is None:  # a zero-length final step (n == 0 or t0 == t_bound)
            y = self._y
            return DenseOutput(t_old, t, lambda s: y)
        return DenseOutput(t_old, t, lambda s: interp.evaluate(direction * s))


def _solver_class(name: str) -> type[OdeSolver]:
    doc = (f"SciPy's ``{name}`` step-by-step interface: ``solve_ivp``'s ``method='{name}'`` stepper "
           f"({METHODS[name].peer}), one accepted step per :meth:`step`. See :class:`OdeSolver`.")
    return type(name, (OdeSolver,), {"_method": name, "__doc__": doc, "__module__": __name__})


RK45 = _solver_class("RK45")
RK23 = _solver_class("RK23")
DOP853 = _solver_class("DOP853")
Radau = _solver_class("Radau")
BDF = _solver_class("BDF")
LSODA = _solver_class("LSODA")
