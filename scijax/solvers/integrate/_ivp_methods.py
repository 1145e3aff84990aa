"""Registry of ``solve_ivp`` methods: SciPy's method name -> diffrax stepper.

Adding a method means adding one entry to :data:`METHODS` and one row to the
compatibility table in ``docs/integrate.md``.
"""

from collections.abc import Callable
from typing import NamedTuple

import diffrax
import optimistix as optx

from ._bdf import BDF
from ._lsoda import LSODA
from ._radau import Radau
from ._rosenbrock import RODAS5, Rosenbrock

__all__ = ["MethodSpec", "METHODS", "ADJOINTS", "make_adjoint"]


class MethodSpec(NamedTuple):
    """How one SciPy method name maps onto a diffrax stepper.

    Attributes
    ----------
    solver : callable
        Factory returning a fresh diffrax solver.
    order : int
        Order of the propagated solution.
    implicit : bool
        Whether the stepper solves nonlinear systems (uses ``jac``).
    fevals_per_step : int
        Right-hand-side evaluations charged per step in ``nfev`` (for implicit
        methods an estimate: one per stage, plus Newton iterations are not counted).
    error_order : int
        Order of the embedded error estimate plus one; the step-size controller's
        exponent is ``-1/error_order``, as SciPy's ``-1/(error_estimator_order + 1)``.
    peer : str
        What SciPy itself uses under this name, for the docs.
    pid : tuple of float
        ``(pcoeff, icoeff)`` of diffrax's PID controller: SciPy's integral controller
        ``(0, 1)`` for explicit methods; a PI controller for the stiff ones, where it
        halves the rejected steps.
    error_scale : float
        SciPy's error estimate divided by the stepper's. diffrax's Dopri5 embeds a
        different 4th-order solution from SciPy's RK45; its error vector is exactly
        2/3 of SciPy's, so RK45 divides the tolerances it gives the controller by 1.5
        and then accepts and sizes steps exactly as SciPy does.
    """

    solver: Callable[[], diffrax.AbstractSolver]
    order: int
    error_order: int
    implicit: bool
    fevals_per_step: int
    peer: str
    pid: tuple[float, float] = (0.0, 1.0)
    error_scale: float = 1.0


def _rodas5() -> diffrax.AbstractSolver:
    return Rosenbrock(RODAS5)


def _stiff_kvaerno5() -> diffrax.AbstractSolver:
    # Full Newton (a fresh Jacobian each iteration) at the step controller's tolerances: on Van der Pol
    # (mu=1000) it takes 7x fewer steps than diffrax's default very-chord iteration, whose failures to
    # converge trigger step rejections.
    return diffrax.Kvaerno5(root_finder=diffrax.with_stepsize_controller_tols(optx.Newton)())


_PI = (0.3, 0.4)
METHODS: dict[str, MethodSpec] = {
    "RK45": MethodSpec(diffrax.Dopri5, 5, 5, False, 6, "Dormand-Prince 5(4); diffrax.Dopri5 is the same",
                       error_scale=1.5),
    "RK23": MethodSpec(diffrax.Bosh3, 3, 3, False, 3, "Bogacki-Shampine 3(2); diffrax.Bosh3 is the same"),
    "DOP853": MethodSpec(diffrax.Dopri8, 8, 8, False, 12, "DOP853; diffrax.Dopri8 is a different 8(7) pair"),
    "Tsit5": MethodSpec(diffrax.Tsit5, 5, 5, False, 6, "not in SciPy; Tsitouras 5(4)"),
    # One Jacobian + LU per step and 8 linear solves: on Van der Pol (mu=1000) 720 steps in ~9 ms where
    # SciPy's LSODA takes 1872 steps in ~20 ms; see benchmarks/bench_ivp.py.
    # Radau IIA (5) with RADAU5's simplified Newton, Jacobian reuse and error estimate (O(h^4): error_order 4).
    "Radau": MethodSpec(Radau, 5, 4, True, 8, "Radau IIA order 5 (RADAU5); the same method", _PI),
    # Shampine-Reichelt NDF orders 1-5 with its own step/order control (BDFController); error_order 2 gives
    # SciPy's initial step for an order-1 start. `pid` is unused (the method sizes its own steps).
    "BDF": MethodSpec(BDF, 5, 2, True, 2, "variable-order NDF/BDF 1-5 (Shampine & Reichelt); the same method"),
    # Dormand-Prince 5(4) with Hairer's stiffness test, switching to Rodas5 (and back); both 5(4), one PI
    # controller. `fevals_per_step` is the non-stiff step's 6 (the solver counts its own work; see _lsoda.py).
    "LSODA": MethodSpec(LSODA, 5, 5, True, 6, "Adams/BDF with stiffness switching; here Dormand-Prince 5(4) / "
                        "Rodas5 with stiffness switching", _PI),
    "Rodas5": MethodSpec(_rodas5, 5, 5, True, 8, "not in SciPy; Rosenbrock 5(4), Di Marzo 1993", _PI),
    "Kvaerno5": MethodSpec(_stiff_kvaerno5, 5, 5, True, 7, "not in SciPy; ESDIRK 5(4) with Newton", _PI),
}
"""SciPy method name -> diffrax stepper. Keys are the accepted ``method`` strings."""


ADJOINTS: dict[str, Callable[[], diffrax.AbstractAdjoint]] = {
    "checkpoint": diffrax.RecursiveCheckpointAdjoint,
    "backsolve": diffrax.BacksolveAdjoint,
    "forward": diffrax.ForwardMode,
    "direct": diffrax.DirectAdjoint,
}
"""Names accepted by the ``adjoint`` option -> diffrax adjoint factory."""


def make_adjoint(adjoint: str | diffrax.AbstractAdjoint) -> diffrax.AbstractAdjoint:
    """Translate the ``adjoint`` option into a diffrax adjoint."""
    if isinstance(adjoint, diffrax.AbstractAdjoint):
        return adjoint
    if not isinstance(adjoint, str) or adjoint not in ADJOINTS:
        raise ValueError(
            f"`adjoint` must be one of {sorted(ADJOINTS)} or a diffrax.AbstractAdjoint, "
            f"got {adjoint!r}."
        )
    return ADJOINTS[adjoint]()
