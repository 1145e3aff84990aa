"""SciPy's legacy object interface to ODE integrators: ``ode`` and ``complex_ode``.

``r = ode(f).set_integrator('dopri5', rtol=1e-8).set_initial_value(y0, t0)`` then
``r.integrate(t1)`` repeatedly. Each :meth:`ode.integrate` call is one compiled ``solve_ivp`` solve
from ``(r.t, r.y)`` to ``t`` (compiled once per function and integrator configuration: ``t``, ``y``,
``f_params`` and ``jac_params`` are traced inputs, so a loop of calls never recompiles).
"""

import dataclasses
import functools
import re
import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._userfn import NotTraceableError
from ._ivp import solve_ivp
from ._ivp_methods import METHODS
from ._ivp_result import FLAG_DTMIN, FLAG_MAX_STEPS, FLAG_NONFINITE, FLAG_NONLINEAR
from ._ode_solver import BDF, DOP853, LSODA, RK45, OdeSolver

__all__ = ["ode", "complex_ode"]

_VODE_MESSAGES = {
    -1: "Excess work done on this call. (Perhaps wrong MF.)",
    -2: "Excess accuracy requested. (Tolerances too small.)",
    -3: "Illegal input detected. (See printed message.)",
    -4: "Repeated error test failures. (Check all input.)",
    -5: "Repeated convergence failures. (Perhaps bad Jacobian supplied or wrong choice of MF or tolerances.)",
    -6: "Error weight became zero during problem. (Solution component i vanished, and ATOL or ATOL(i) = 0.)",
}
_LSODA_MESSAGES = {
    2: "Integration successful.", -1: "Excess work done on this call (perhaps wrong Dfun type).",
    -2: "Excess accuracy requested (tolerances too small).", -3: "Illegal input detected (internal error).",
    -4: "Repeated error test failures (internal error).",
    -5: "Repeated convergence failures (perhaps bad Jacobian or tolerances).",
    -6: "Error weight became zero during problem.", -7: "Internal workspace insufficient to finish (internal error).",
}
_DOPRI_MESSAGES = {1: "computation successful", 2: "computation successful (interrupted by solout)",
                   -1: "input is not consistent", -2: "larger nsteps is needed",
                   -3: "step size becomes too small", -4: "problem is probably stiff (interrupted)"}
# solve_ivp's failure flag -> the integrator family's return code
_VODE_CODES = {FLAG_MAX_STEPS: -1, FLAG_DTMIN: -4, FLAG_NONFINITE: -4, FLAG_NONLINEAR: -5}
_DOPRI_CODES = {FLAG_MAX_STEPS: -2, FLAG_DTMIN: -3, FLAG_NONFINITE: -3, FLAG_NONLINEAR: -3}


@dataclasses.dataclass(frozen=True)
class _Integrator:
    """One entry of the registry: SciPy's integrator name -> our ``solve_ivp`` method."""

    name: str
    methods: dict[str, str]  # SciPy's ``method=`` (None for the single-method ones) -> our method
    success_code: int
    messages: dict[int, str]
    codes: dict[int, int]
    solout: bool = False  # dopri5/dop853 only; they have no ``step`` (SciPy then runs to ``t``)
    complex: bool = False


_INTEGRATORS = (  # SciPy's search order for set_integrator('') and prefix matching
    _Integrator("vode", {"adams": "DOP853", "bdf": "BDF"}, 2, _VODE_MESSAGES, _VODE_CODES),
    _Integrator("zvode", {"adams": "DOP853", "bdf": "BDF"}, 2, _VODE_MESSAGES, _VODE_CODES, complex=True),
    _Integrator("dopri5", {"": "RK45"}, 1, _DOPRI_MESSAGES, _DOPRI_CODES, solout=True),
    _Integrator("dop853", {"": "DOP853"}, 1, _DOPRI_MESSAGES, _DOPRI_CODES, solout=True),
    _Integrator("lsoda", {"": "LSODA"}, 2, _LSODA_MESSAGES, _VODE_CODES),
)
# step=True drivers: the step-by-step class of the method each integrator runs.
_STEPPERS: dict[str, type[OdeSolver]] = {"RK45": RK45, "DOP853": DOP853, "BDF": BDF, "LSODA": LSODA}
_KNOWN_OPTIONS = {"method", "with_jacobian", "rtol", "atol", "lband", "uband", "order", "nsteps", "max_step",
                  "min_step", "first_step", "safety", "ifactor", "dfactor", "beta", "verbosity", "ixpr",
                  "max_hnil", "max_order_ns", "max_order_s"}


@dataclasses.dataclass(frozen=True)
class _WithParams:
    """``f(t, y, *f_params)`` (or ``jac(t, y, *jac_params)``) as ``solve_ivp`` calls it: ``g(t, y, fp, jp)``."""

    fun: Callable[..., Any]
    which: int

    def __call__(self, t, y, f_params, jac_params):
        return jnp.asarray(self.fun(t, y, *(f_params, jac_params)[self.which]))


def _solve_to(fun, jac, method, nsteps, t0, t1, y0, f_params, jac_params, rtol, atol, first_step, max_step):
    """One ``solve_ivp`` solve from ``(t0, y0)`` to ``t1``: the last point reached, status and flag."""
    options: dict[str, Any] = {"rtol": rtol, "atol": atol, "max_steps": nsteps, "max_saved_steps": nsteps + 1}
    if first_step is not None:
        options["first_step"] = first_step
    if max_step is not None:
        options["max_step"] = max_step
    if jac is not None and METHODS[method].implicit:
        options["jac"] = _WithParams(jac, 1)
    res = solve_ivp(_WithParams(fun, 0), (t0, t1), y0, method=method, args=(f_params, jac_params), **options)
    last = res.n_points - 1
    return res.t[last], res.y[:, last], res.status, res.flag


_solve_to_jit = eqx.filter_jit(_solve_to)


@functools.lru_cache(maxsize=64)
def _compiled(fun, jac, method, nsteps):
    """A plain ``jax.jit`` of one configuration (cheaper dispatch than ``filter_jit``), used when every
    parameter is an array."""
    return jax.jit(functools.partial(_solve_to, fun, jac, method, nsteps))


def _as_traced(params: tuple) -> tuple:
    """Numbers in ``params`` become arrays (traced inputs); arrays stay; anything else stays static."""
    def leaf(x):
        if isinstance(x, np.ndarray | jax.Array):
            return x
        return np.asarray(x) if isinstance(x, int | float | complex | np.number) and not isinstance(x, bool) else x
    return jax.tree_util.tree_map(leaf, tuple(params))


class ode:
    """A generic interface class to numeric integrators (SciPy's ``scipy.integrate.ode``).

    Solve ``dy/dt = f(t, y, *f_params)``; note the argument order ``f(t, y)``, as in ``solve_ivp``
    (``odeint`` uses ``f(y, t)``).

    Parameters
    ----------
    f : callable
        ``f(t, y, *f_params)``, returning an array of shape ``(n,)``; ``jax.numpy`` code compiles,
        NumPy code runs on the host (with a warning).
    jac : callable, optional
        ``jac(t, y, *jac_params)``, the ``(n, n)`` Jacobian ``df/dy``; used by the stiff methods
        (vode ``method='bdf'``, lsoda), otherwise ignored. Without it they use an autodiff Jacobian.

    Attributes
    ----------
    t : float
        Current time.
    y : ndarray
        Current state.

    Methods
    -------
    set_integrator(name, **params)
        ``'vode'`` (``method='adams'`` or ``'bdf'``), ``'zvode'`` (complex ``y``), ``'lsoda'``,
        ``'dopri5'``, ``'dop853'``; SciPy's options ``rtol``, ``atol`` (defaults 1e-6, 1e-12),
        ``nsteps`` (500 steps per :meth:`integrate` call), ``first_step``, ``max_step`` (0: automatic
        / unbounded); the others (``order``, ``lband``, ``safety``, ...) are accepted and ignored.
    set_initial_value(y, t=0.0), set_f_params(*args), set_jac_params(*args)
        As SciPy's; each returns the object.
    integrate(t, step=False, relax=False)
        Integrate to ``t`` and return ``y(t)``; ``r.t`` becomes ``t``.
    successful(), get_return_code()
        Whether the last call succeeded; SciPy's integrator return code (vode/zvode/lsoda: 2 on
        success, -1 step budget ``nsteps`` exceeded, -4 step size underflow or non-finite ``f``,
        -5 Newton failure; dopri5/dop853: 1, 2 (stopped by ``solout``), -2 ``nsteps`` exceeded,
        -3 step size too small), with SciPy's warning on failure.
    set_solout(solout)
        dopri5/dop853: ``solout(t, y)`` after each accepted step (and at the start); returning -1
        stops the integration there.

    Differences from SciPy
    ----------------------
    - The integrators are ``solve_ivp``'s methods: ``'dopri5'`` runs ``'RK45'`` (the same
      Dormand-Prince pair), ``'dop853'`` runs ``'DOP853'`` (diffrax's 8(7) pair, not Hairer's
      coefficients), vode/zvode ``method='bdf'`` runs ``'BDF'`` (variable-order NDF/BDF 1-5, vode
      goes to order 5 too), ``'lsoda'`` runs ``'LSODA'`` (Dormand-Prince 5(4) / Rodas5 switching), and
      vode/zvode ``method='adams'`` (Adams-Moulton orders 1-12 in VODE) runs ``'DOP853'``: an
      explicit high-order method for the same non-stiff, tight-tolerance use; we have no Adams code.
    - Each :meth:`integrate` call restarts the stepper at ``(t, y)`` (initial step selection,
      history), where VODE continues its step sequence across calls; results agree to the
      tolerance, not step for step. It compiles once per ``f``, integrator configuration and
      shapes; new ``t``, ``y`` and parameter values reuse the compiled solve.
    - ``integrate(t, relax=True)`` stops at ``t`` exactly (SciPy may pass it); ``step=True`` (vode,
      zvode, lsoda; ignored by dopri5/dop853, as in SciPy) takes one step of a step-by-step class
      toward ``t``, starting afresh (initial step selection): :class:`DOP853` for 'adams',
      :class:`BDF` for 'bdf', :class:`LSODA` for lsoda.
    - ``nsteps`` counts the steps of one call, as VODE's ``mxstep``; ``min_step``, ``order``,
      bands, the dopri controller constants and verbosity options have no effect.
    - zvode integrates complex ``y`` directly (SciPy's ZVODE does as well); ``complex_ode`` splits
      real and imaginary parts as SciPy's does.
    - Not usable inside ``jit``/``vmap``/``grad`` (it is a stateful object); for a differentiable
      solve use :func:`solve_ivp`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import ode
    >>> r = ode(lambda t, y, k: -k * y).set_integrator("dopri5", rtol=1e-8, atol=1e-10)
    >>> r = r.set_initial_value(jnp.array([1.0]), 0.0).set_f_params(0.5)
    >>> while r.successful() and r.t < 2.0:
    ...     y = r.integrate(r.t + 1.0)
    >>> r.t, round(float(r.y[0]), 6), r.get_return_code()
    (2.0, 0.367879, 1)
    """

    def __init__(self, f: Callable[..., Any], jac: Callable[..., Any] | None = None) -> None:
        if not callable(f):
            raise TypeError("`f` must be callable.")
        if jac is not None and not callable(jac):
            raise TypeError("`jac` must be callable or None.")
        self.stiff = 0
        self.f, self.jac = f, jac
        self.f_params: tuple = ()
        self.jac_params: tuple = ()
        self._y: np.ndarray = np.zeros((0,))
        self.t = 0.0
        self._spec: _Integrator | None = None
        self._method = ""
        self._opts: dict[str, Any] = {}
        self._code = 0
        self._solout: Callable[..., Any] | None = None
        self._eager = False

    @property
    def y(self) -> np.ndarray:
        return self._y

    def set_initial_value(self, y: Any, t: float = 0.0) -> "ode":
        """Set initial conditions ``y(t) = y``."""
        if self._spec is None:
            self.set_integrator("")
        assert self._spec is not None
        y = np.atleast_1d(np.asarray(y))
        single = y.dtype in (np.float32, np.complex64)  # float32 input stays float32; else SciPy's float64
        dtype = jnp.result_type(complex if self._spec.complex else float)
        y = np.array(y, dtype=np.complex64 if single and self._spec.complex else np.float32 if single else dtype)
        if y.ndim != 1:
            raise ValueError("`y` must be a scalar or 1-dimensional.")
        if not np.isfinite(t):
            raise ValueError("`t` must be finite.")
        self._y, self.t, self._code = y, float(t), self._spec.success_code
        return self

    def set_integrator(self, name: str, **integrator_params: Any) -> "ode":
        """Set the integrator by name (SciPy's prefix match: ``''`` is vode)."""
        if not isinstance(name, str):
            raise TypeError("`name` must be a string.")
        spec = next((s for s in _INTEGRATORS if re.match(name, s.name, re.I)), None)
        if spec is None:
            warnings.warn(f"No integrator name match with {name!r} or is not available.", stacklevel=2)
            return self
        unknown = set(integrator_params) - _KNOWN_OPTIONS
        if unknown:
            raise TypeError(f"{spec.name}() got unexpected keyword argument(s) {sorted(unknown)}.")
        choice = (integrator_params.get("method") or "adams") if len(spec.methods) > 1 else ""
        key = next((m for m in spec.methods if re.match(choice, m, re.I)), None) if choice else ""
        if key is None:
            raise ValueError(f"Unknown integration method {choice}")
        rtol, atol = integrator_params.get("rtol", 1e-6), integrator_params.get("atol", 1e-12)
        nsteps = integrator_params.get("nsteps", 500)
        if not isinstance(nsteps, int | np.integer) or nsteps <= 0:
            raise ValueError(f"`nsteps` must be a positive integer, got {nsteps!r}.")
        if np.any(np.asarray(rtol) < 0) or np.any(np.asarray(atol) < 0):
            raise ValueError("`rtol` and `atol` must be non-negative.")
        first, max_step = (float(integrator_params.get(k, 0.0)) for k in ("first_step", "max_step"))
        if first < 0 or max_step < 0:
            raise ValueError("`first_step` and `max_step` must be non-negative (0: automatic).")
        self._spec, self._method = spec, spec.methods[key]
        self._opts = {"rtol": rtol, "atol": atol, "nsteps": int(nsteps),
                      "first_step": first or None, "max_step": max_step or None}
        self._solout = None
        self._code = spec.success_code
        if not self._y.size:  # SciPy's start before set_initial_value: y = [0.0] at t = 0
            self.t, self._y = 0.0, np.zeros(1, jnp.result_type(complex if spec.complex else float))
        return self

    def set_f_params(self, *args: Any) -> "ode":
        """Set extra parameters for ``f``."""
        self.f_params = args
        return self

    def set_jac_params(self, *args: Any) -> "ode":
        """Set extra parameters for ``jac``."""
        self.jac_params = args
        return self

    def set_solout(self, solout: Callable[[float, np.ndarray], Any]) -> "ode":
        """Call ``solout(t, y)`` after every accepted step (dopri5 and dop853 only)."""
        if self._spec is None or not self._spec.solout:
            raise ValueError("selected integrator does not support solout, choose another one")
        self._solout = solout
        return self

    def successful(self) -> bool:
        """Whether the last :meth:`integrate` call succeeded."""
        if self._spec is None:
            self.set_integrator("")
        return self._code > 0

    def get_return_code(self) -> int:
        """SciPy's return code of the last call (> 0 success, < 0 failure; see the class docstring)."""
        return self._code

    def integrate(self, t: float, step: bool = False, relax: bool = False) -> np.ndarray:
        """Integrate from ``self.t`` to ``t``; set and return the new ``y``."""
        if self._spec is None:
            self.set_integrator("")
        assert self._spec is not None
        t = float(t)
        if not np.isfinite(t):
            raise ValueError("`t` must be finite.")
        if t == self.t:
            self._code = self._spec.success_code
            return self._y
        step = step and not self._spec.solout  # SciPy's dopri5/dop853 ignore step=True
        if step or self._solout is not None:
            t_new, y_new, code = self._by_steps(t, one=step)
        else:
            t_new, y_new, code = self._solve(t)
        self.t, self._y, self._code = t_new, y_new, code
        if code < 0:
            warnings.warn(f"{self._spec.name}: {self._spec.messages.get(code, 'unexpected istate')}",
                          UserWarning, stacklevel=2)
        return self._y

    def _problem(self) -> tuple[Callable[..., Any], Callable[..., Any] | None, np.ndarray]:
        """``(f, jac, y)`` as a real system: zvode's complex ``y`` interleaved, as ``complex_ode``."""
        assert self._spec is not None
        if not self._spec.complex:
            return self.f, self.jac, self._y
        jac = None if self.jac is None else _Complex(self.jac, jacobian=True)
        return _Complex(self.f), jac, np.stack([np.real(self._y), np.imag(self._y)], axis=-1).reshape(-1)

    def _unsplit(self, y: np.ndarray) -> np.ndarray:
        assert self._spec is not None
        return y[::2] + 1j * y[1::2] if self._spec.complex else y

    def _solve(self, t: float) -> tuple[float, np.ndarray, int]:
        assert self._spec is not None
        o = self._opts
        f, jac, y = self._problem()
        real = np.finfo(y.dtype).dtype
        inputs = (f, jac, self._method, o["nsteps"], np.asarray(self.t, real), np.asarray(t, real),
                  y, _as_traced(self.f_params), _as_traced(self.jac_params),
                  np.asarray(o["rtol"], real), np.asarray(o["atol"], real),
                  None if o["first_step"] is None else np.asarray(o["first_step"], real),
                  None if o["max_step"] is None else np.asarray(o["max_step"], real))
        if not self._eager:
            try:
                arrays = all(isinstance(v, np.ndarray | jax.Array) for v in jax.tree_util.tree_leaves(inputs[7:9]))
                out = _compiled(*inputs[:4])(*inputs[4:]) if arrays else _solve_to_jit(*inputs)
            except NotTraceableError:  # a NumPy-written f: eager solve_ivp runs it on the host
                self._eager = True
        if self._eager:
            out = _solve_to(*inputs)
        t_new, y_new, status, flag = jax.device_get(out)
        ok = int(status) == 0
        code = self._spec.success_code if ok else self._spec.codes.get(int(flag), -3)
        return (t if ok else float(t_new)), self._unsplit(np.array(y_new)), code

    def _by_steps(self, t: float, one: bool) -> tuple[float, np.ndarray, int]:
        """``step=True`` or ``solout``: the mapped method's step-by-step class, driven from Python."""
        assert self._spec is not None
        o, fp = self._opts, self.f_params
        f, _, y0 = self._problem()
        stepper = _STEPPERS[self._method](
            lambda s, y: f(s, y, *fp), self.t, jnp.asarray(y0), t, rtol=o["rtol"], atol=o["atol"],
            max_step=o["max_step"] or np.inf, first_step=o["first_step"])
        solout, code = self._solout, self._spec.success_code
        if solout is not None and solout(self.t, np.array(self._y)) == -1:
            return self.t, self._y, 2
        for _ in range(1 if one else o["nsteps"]):
            if stepper.status != "running":
                break
            if stepper.step() is not None:
                code = self._spec.codes[FLAG_DTMIN]
                break
            if solout is not None and solout(stepper.t, self._unsplit(np.array(stepper.y))) == -1:
                code = 2
                break
        else:
            if not one and stepper.status == "running":
                code = self._spec.codes[FLAG_MAX_STEPS]
        return stepper.t, self._unsplit(np.array(stepper.y)), code


@dataclasses.dataclass(frozen=True)
class _Complex:
    """A complex ``f`` (or ``jac``) on the interleaved real vector ``[re y0, im y0, re y1, ...]``."""

    fun: Callable[..., Any]
    jacobian: bool = False

    def __call__(self, t, y, *args):
        z = y[::2] + 1j * y[1::2]
        out = jnp.asarray(self.fun(t, z, *args))
        if not self.jacobian:
            return jnp.stack([out.real, out.imag], axis=-1).reshape(-1)
        block = jnp.stack([jnp.stack([out.real, -out.imag], -1), jnp.stack([out.imag, out.real], -1)], -3)
        n = out.shape[0]
        return block.reshape(2 * n, 2 * n)  # 2x2 blocks [[re, -im], [im, re]]


class complex_ode(ode):
    """A wrapper of :class:`ode` for complex systems (SciPy's ``scipy.integrate.complex_ode``).

    ``f(t, y, *f_params)`` with complex ``y`` is integrated as the real system of its interleaved
    real and imaginary parts, as SciPy does; ``y`` and :meth:`integrate` return complex arrays.
    ``jac`` (the complex ``(n, n)`` Jacobian, for an analytic ``f``) becomes the real ``2n x 2n``
    Jacobian of 2x2 blocks. Methods and differences as :class:`ode`; ``'zvode'`` is refused, as
    in SciPy.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import complex_ode
    >>> r = complex_ode(lambda t, y: 1j * y).set_integrator("dopri5", rtol=1e-9, atol=1e-12)
    >>> z = r.set_initial_value(jnp.array([1.0 + 0.0j]), 0.0).integrate(jnp.pi)
    >>> bool(abs(z[0] + 1.0) < 1e-6)
    True
    """

    def __init__(self, f: Callable[..., Any], jac: Callable[..., Any] | None = None) -> None:
        super().__init__(_Complex(f), None if jac is None else _Complex(jac, jacobian=True))
        self.cf, self.cjac = f, jac

    @property
    def y(self) -> np.ndarray:
        return self._y[::2] + 1j * self._y[1::2]

    def set_integrator(self, name: str, **integrator_params: Any) -> "complex_ode":
        if name == "zvode":
            raise ValueError("zvode must be used with ode, not complex_ode")
        super().set_integrator(name, **integrator_params)
        return self

    def set_initial_value(self, y: Any, t: float = 0.0) -> "complex_ode":
        y = np.atleast_1d(np.asarray(y))
        super().set_initial_value(np.stack([y.real, y.imag], axis=-1).reshape(-1), t)
        return self

    def integrate(self, t: float, step: bool = False, relax: bool = False) -> np.ndarray:
        super().integrate(t, step, relax)
        return self.y

    def set_solout(self, solout: Callable[[float, np.ndarray], Any]) -> "complex_ode":
        if self._spec is None or not self._spec.solout:
            raise TypeError("selected integrator does not support solouta, choose another one")
        self._solout = lambda t, y: solout(t, y[::2] + 1j * y[1::2])
        return self
