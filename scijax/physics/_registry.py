"""The catalog: every model system by name, so tests, docs and notebooks can iterate over them."""

from collections.abc import Mapping
from types import MappingProxyType

from ._base import AbstractODESystem
from ._classic import (
    Brusselator,
    DampedDrivenPendulum,
    ExponentialDecay,
    FitzHughNagumo,
    HarmonicOscillator,
    Lorenz63,
    LotkaVolterra,
    Rossler,
    VanDerPol,
)
from ._kinetics import SEIR, SIR, Robertson
from ._mechanics import DoublePendulum, Kepler, NBody
from ._mol import Advection, Burgers, FisherKPP, GrayScott, Heat, Wave

__all__ = ["SYSTEMS", "get_system"]

SYSTEMS: Mapping[str, type[AbstractODESystem]] = MappingProxyType(
    {
        "exponential_decay": ExponentialDecay,
        "harmonic_oscillator": HarmonicOscillator,
        "damped_driven_pendulum": DampedDrivenPendulum,
        "lotka_volterra": LotkaVolterra,
        "van_der_pol": VanDerPol,
        "lorenz63": Lorenz63,
        "rossler": Rossler,
        "fitzhugh_nagumo": FitzHughNagumo,
        "robertson": Robertson,
        "brusselator": Brusselator,
        "sir": SIR,
        "seir": SEIR,
        "double_pendulum": DoublePendulum,
        "kepler": Kepler,
        "nbody": NBody,
        "heat": Heat,
        "burgers": Burgers,
        "advection": Advection,
        "wave": Wave,
        "gray_scott": GrayScott,
        "fisher_kpp": FisherKPP,
    }
)
"""Every model system, by name: the ODE catalog, then the method-of-lines PDE models.

Each value is a class; ``SYSTEMS[name]()`` builds the system with its default parameters, and the
class attributes ``stiff``, ``t_span``, ``reference`` and ``reference_solution`` describe it.
"""


def get_system(name: str, **kwargs) -> AbstractODESystem:
    """Build the system registered as ``name``, with keyword arguments for its parameters.

    Examples
    --------
    >>> from scijax.physics import get_system
    >>> sys = get_system("lorenz63", rho=20.0)
    >>> sys.param_names, float(sys.rho)
    (('sigma', 'rho', 'beta'), 20.0)
    """
    if name not in SYSTEMS:
        raise ValueError(f"`name` must be one of {tuple(SYSTEMS)}, got {name!r}.")
    return SYSTEMS[name](**kwargs)
