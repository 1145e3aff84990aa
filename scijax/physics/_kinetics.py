"""Mass-action kinetics: Robertson's stiff chemistry and the SIR/SEIR compartment models."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._typing import Array
from ._base import AbstractODESystem, as_param

__all__ = ["Robertson", "SIR", "SEIR"]


class Robertson(AbstractODESystem):
    r"""Robertson's chemical kinetics, the classic stiff test problem.

    .. math::
        y_1' = -k_1 y_1 + k_3 y_2 y_3,\quad
        y_2' = k_1 y_1 - k_2 y_2^2 - k_3 y_2 y_3,\quad
        y_3' = k_2 y_2^2

    Invariant: the total mass :math:`y_1 + y_2 + y_3`. ``reference_solution`` is the value at
    :math:`t = 40` given by Hairer & Wanner.
    """

    k1: Array = eqx.field(default=0.04, converter=as_param)
    k2: Array = eqx.field(default=3.0e7, converter=as_param)
    k3: Array = eqx.field(default=1.0e4, converter=as_param)
    y0: Array = eqx.field(default=(1.0, 0.0, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("k1", "k2", "k3")
    stiff: ClassVar[bool] = True
    t_span: ClassVar[tuple[float, float]] = (0.0, 40.0)
    reference: ClassVar[str] = "H. H. Robertson (1966); Hairer & Wanner, Solving ODEs II, 2nd ed., IV.1 and IV.10."
    reference_solution: ClassVar[tuple[float, tuple[float, ...]]] = (
        40.0,
        (0.7158270687193687, 9.185534764529430e-06, 0.2841637457458413),
    )

    def vector_field(self, t, y, k1, k2, k3):
        y1, y2, y3 = y[0], y[1], y[2]
        return jnp.stack([-k1 * y1 + k3 * y2 * y3, k1 * y1 - k2 * y2**2 - k3 * y2 * y3, k2 * y2**2])

    def _invariant(self, y, k1, k2, k3):
        return y[0] + y[1] + y[2]


class SIR(AbstractODESystem):
    r"""Kermack-McKendrick SIR epidemic model with frequency-dependent transmission.

    .. math::
        S' = -\beta S I / N,\quad I' = \beta S I / N - \gamma I,\quad R' = \gamma I,
        \qquad N = S + I + R

    The state may hold fractions (the default) or counts. Invariant: the population :math:`N`.
    """

    beta: Array = eqx.field(default=0.3, converter=as_param)
    gamma: Array = eqx.field(default=0.1, converter=as_param)
    y0: Array = eqx.field(default=(0.99, 0.01, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("beta", "gamma")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 160.0)
    reference: ClassVar[str] = "W. O. Kermack & A. G. McKendrick, Proc. R. Soc. A 115 (1927) 700."

    def vector_field(self, t, y, beta, gamma):
        s, i = y[0], y[1]
        infection = beta * s * i / jnp.sum(y, axis=0)
        return jnp.stack([-infection, infection - gamma * i, gamma * i])

    def _invariant(self, y, beta, gamma):
        return jnp.sum(y)


class SEIR(AbstractODESystem):
    r"""SEIR epidemic model: SIR with an exposed (latent) compartment.

    .. math::
        S' = -\beta S I / N,\quad E' = \beta S I / N - \sigma E,\quad
        I' = \sigma E - \gamma I,\quad R' = \gamma I

    Invariant: the population :math:`N = S + E + I + R`.
    """

    beta: Array = eqx.field(default=0.5, converter=as_param)
    sigma: Array = eqx.field(default=0.2, converter=as_param)
    gamma: Array = eqx.field(default=0.1, converter=as_param)
    y0: Array = eqx.field(default=(0.99, 0.0, 0.01, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("beta", "sigma", "gamma")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 200.0)
    reference: ClassVar[str] = "R. M. Anderson & R. M. May, Infectious Diseases of Humans, OUP (1991)."

    def vector_field(self, t, y, beta, sigma, gamma):
        s, e, i = y[0], y[1], y[2]
        infection = beta * s * i / jnp.sum(y, axis=0)
        return jnp.stack([-infection, infection - sigma * e, sigma * e - gamma * i, gamma * i])

    def _invariant(self, y, beta, sigma, gamma):
        return jnp.sum(y)
