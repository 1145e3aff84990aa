"""Classic low-dimensional ODE systems: decay, oscillators, predator-prey, chaotic flows."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._typing import Array, ArrayLike
from ._base import AbstractODESystem, as_param

__all__ = [
    "ExponentialDecay",
    "HarmonicOscillator",
    "DampedDrivenPendulum",
    "LotkaVolterra",
    "VanDerPol",
    "Lorenz63",
    "Rossler",
    "FitzHughNagumo",
    "Brusselator",
]


class ExponentialDecay(AbstractODESystem):
    r"""Exponential decay :math:`y' = -k y`, exact solution :math:`y(t) = y_0 e^{-k t}`.

    Examples
    --------
    >>> from scijax.physics import ExponentialDecay
    >>> sys = ExponentialDecay(k=2.0)
    >>> float(sys.solution(1.0)[0])  # doctest: +ELLIPSIS
    0.1353...
    """

    k: Array = eqx.field(default=1.0, converter=as_param)
    y0: Array = eqx.field(default=(1.0,), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("k",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 5.0)
    reference: ClassVar[str] = "Radioactive decay law (Rutherford & Soddy, 1903)."

    def vector_field(self, t: ArrayLike, y: Array, k: Array) -> Array:
        return -k * y

    def _solution(self, t: Array) -> Array:
        return self.y0 * jnp.exp(-self.k * t)


class HarmonicOscillator(AbstractODESystem):
    r"""Harmonic oscillator :math:`x' = v,\ v' = -\omega^2 x`, state ``(x, v)``.

    Exact solution :math:`x = x_0\cos\omega t + (v_0/\omega)\sin\omega t`; invariant the energy
    :math:`E = v^2/2 + \omega^2 x^2/2`. ``hamiltonian(q, p, omega)`` gives the same system for
    :func:`solve_hamiltonian`.
    """

    omega: Array = eqx.field(default=1.0, converter=as_param)
    y0: Array = eqx.field(default=(1.0, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("omega",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 10.0)
    reference: ClassVar[str] = "Goldstein, Poole & Safko, Classical Mechanics, 3rd ed., ch. 6."

    def vector_field(self, t: ArrayLike, y: Array, omega: Array) -> Array:
        return jnp.stack([y[1], -(omega**2) * y[0]])

    def _solution(self, t: Array) -> Array:
        x0, v0 = self.y0
        c, s = jnp.cos(self.omega * t), jnp.sin(self.omega * t)
        return jnp.stack([x0 * c + v0 / self.omega * s, -x0 * self.omega * s + v0 * c])

    def _invariant(self, y: Array, omega: Array) -> Array:
        return 0.5 * y[1] ** 2 + 0.5 * omega**2 * y[0] ** 2

    @staticmethod
    def hamiltonian(q: Array, p: Array, omega: ArrayLike = 1.0) -> Array:
        """:math:`H(q, p) = p^2/2 + \\omega^2 q^2/2`, summed over components."""
        return 0.5 * jnp.sum(p**2) + 0.5 * omega**2 * jnp.sum(q**2)


class DampedDrivenPendulum(AbstractODESystem):
    r"""Damped, driven pendulum :math:`\theta'' + \gamma\theta' + \omega_0^2\sin\theta = A\cos(\omega_d t)`.

    State ``(theta, omega)``. The defaults (:math:`\gamma = 1/2`, :math:`A = 1.15`,
    :math:`\omega_d = 2/3`) are in the chaotic regime of Baker & Gollub.
    """

    gamma: Array = eqx.field(default=0.5, converter=as_param)
    omega0: Array = eqx.field(default=1.0, converter=as_param)
    amplitude: Array = eqx.field(default=1.15, converter=as_param)
    omega_d: Array = eqx.field(default=2.0 / 3.0, converter=as_param)
    y0: Array = eqx.field(default=(0.2, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("gamma", "omega0", "amplitude", "omega_d")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 20.0)
    reference: ClassVar[str] = "G. L. Baker & J. P. Gollub, Chaotic Dynamics: An Introduction, CUP (1996)."

    def vector_field(self, t, y, gamma, omega0, amplitude, omega_d):
        theta, omega = y[0], y[1]
        forcing = amplitude * jnp.cos(omega_d * t)
        return jnp.stack([omega, -gamma * omega - omega0**2 * jnp.sin(theta) + forcing])


class LotkaVolterra(AbstractODESystem):
    r"""Lotka-Volterra predator-prey model :math:`x' = \alpha x - \beta xy,\ y' = \delta xy - \gamma y`.

    Invariant :math:`V = \delta x - \gamma\ln x + \beta y - \alpha\ln y`. The defaults are those
    of SciPy's ``solve_ivp`` documentation example.
    """

    alpha: Array = eqx.field(default=1.5, converter=as_param)
    beta: Array = eqx.field(default=1.0, converter=as_param)
    gamma: Array = eqx.field(default=3.0, converter=as_param)
    delta: Array = eqx.field(default=1.0, converter=as_param)
    y0: Array = eqx.field(default=(10.0, 5.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 15.0)
    reference: ClassVar[str] = "A. J. Lotka (1925); V. Volterra (1926); Hairer, Norsett & Wanner I, I.16."

    def vector_field(self, t, y, alpha, beta, gamma, delta):
        x, z = y[0], y[1]
        return jnp.stack([alpha * x - beta * x * z, delta * x * z - gamma * z])

    def _invariant(self, y, alpha, beta, gamma, delta):
        x, z = y[0], y[1]
        return delta * x - gamma * jnp.log(x) + beta * z - alpha * jnp.log(z)


class VanDerPol(AbstractODESystem):
    r"""Van der Pol oscillator :math:`x' = v,\ v' = \mu(1 - x^2)v - x`.

    Non-stiff at the default :math:`\mu = 1`; stiff for :math:`\mu \gtrsim 100` (the ``stiff``
    flag describes the default).
    """

    mu: Array = eqx.field(default=1.0, converter=as_param)
    y0: Array = eqx.field(default=(2.0, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("mu",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 20.0)
    reference: ClassVar[str] = "B. van der Pol, Phil. Mag. 2 (1926) 978; Hairer & Wanner II, IV.1."

    def vector_field(self, t, y, mu):
        return jnp.stack([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


class Lorenz63(AbstractODESystem):
    r"""Lorenz-63 :math:`x' = \sigma(y - x),\ y' = x(\rho - z) - y,\ z' = xy - \beta z` (chaotic)."""

    sigma: Array = eqx.field(default=10.0, converter=as_param)
    rho: Array = eqx.field(default=28.0, converter=as_param)
    beta: Array = eqx.field(default=8.0 / 3.0, converter=as_param)
    y0: Array = eqx.field(default=(1.0, 1.0, 1.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("sigma", "rho", "beta")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 20.0)
    reference: ClassVar[str] = "E. N. Lorenz, J. Atmos. Sci. 20 (1963) 130."

    def vector_field(self, t, y, sigma, rho, beta):
        x, v, z = y[0], y[1], y[2]
        return jnp.stack([sigma * (v - x), x * (rho - z) - v, x * v - beta * z])


class Rossler(AbstractODESystem):
    r"""Rössler system :math:`x' = -y - z,\ y' = x + ay,\ z' = b + z(x - c)` (chaotic)."""

    a: Array = eqx.field(default=0.2, converter=as_param)
    b: Array = eqx.field(default=0.2, converter=as_param)
    c: Array = eqx.field(default=5.7, converter=as_param)
    y0: Array = eqx.field(default=(1.0, 1.0, 1.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("a", "b", "c")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 50.0)
    reference: ClassVar[str] = "O. E. Rössler, Phys. Lett. A 57 (1976) 397."

    def vector_field(self, t, y, a, b, c):
        x, v, z = y[0], y[1], y[2]
        return jnp.stack([-v - z, x + a * v, b + z * (x - c)])


class FitzHughNagumo(AbstractODESystem):
    r"""FitzHugh-Nagumo neuron :math:`v' = v - v^3/3 - w + I,\ w' = (v + a - b w)/\tau`."""

    a: Array = eqx.field(default=0.7, converter=as_param)
    b: Array = eqx.field(default=0.8, converter=as_param)
    tau: Array = eqx.field(default=12.5, converter=as_param)
    current: Array = eqx.field(default=0.5, converter=as_param)
    y0: Array = eqx.field(default=(-1.0, 1.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("a", "b", "tau", "current")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 100.0)
    reference: ClassVar[str] = "R. FitzHugh, Biophys. J. 1 (1961) 445; J. Nagumo et al., Proc. IRE 50 (1962)."

    def vector_field(self, t, y, a, b, tau, current):
        v, w = y[0], y[1]
        return jnp.stack([v - v**3 / 3.0 - w + current, (v + a - b * w) / tau])


class Brusselator(AbstractODESystem):
    r"""Brusselator :math:`x' = A + x^2 y - (B + 1)x,\ y' = Bx - x^2 y`.

    A limit cycle exists for :math:`B > 1 + A^2` (the defaults :math:`A = 1, B = 3`).
    """

    a: Array = eqx.field(default=1.0, converter=as_param)
    b: Array = eqx.field(default=3.0, converter=as_param)
    y0: Array = eqx.field(default=(1.5, 3.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("a", "b")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 20.0)
    reference: ClassVar[str] = "Prigogine & Lefever, J. Chem. Phys. 48 (1968); Hairer, Norsett & Wanner I, II.10."

    def vector_field(self, t, y, a, b):
        x, v = y[0], y[1]
        return jnp.stack([a + x**2 * v - (b + 1.0) * x, b * x - x**2 * v])
