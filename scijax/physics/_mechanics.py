"""Mechanical systems with conserved quantities: double pendulum, Kepler problem, gravitational N-body."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike
from ._base import AbstractODESystem, as_param

__all__ = [
    "DoublePendulum",
    "Kepler",
    "NBody",
    "nbody_accelerations",
    "nbody_energy",
    "nbody_momentum",
    "nbody_angular_momentum",
]


class DoublePendulum(AbstractODESystem):
    r"""Planar double pendulum (point masses on massless rods), state ``(theta1, theta2, w1, w2)``.

    Angles are measured from the downward vertical. Invariant: the total energy

    .. math::
        E = \tfrac12 (m_1 + m_2) l_1^2 \omega_1^2 + \tfrac12 m_2 l_2^2 \omega_2^2
            + m_2 l_1 l_2 \omega_1 \omega_2 \cos(\theta_1 - \theta_2)
            - (m_1 + m_2) g l_1 \cos\theta_1 - m_2 g l_2 \cos\theta_2 .
    """

    m1: Array = eqx.field(default=1.0, converter=as_param)
    m2: Array = eqx.field(default=1.0, converter=as_param)
    l1: Array = eqx.field(default=1.0, converter=as_param)
    l2: Array = eqx.field(default=1.0, converter=as_param)
    g: Array = eqx.field(default=9.81, converter=as_param)
    y0: Array = eqx.field(default=(jnp.pi / 2, jnp.pi / 2, 0.0, 0.0), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("m1", "m2", "l1", "l2", "g")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 10.0)
    reference: ClassVar[str] = "Goldstein, Classical Mechanics; T. Stachowiak & T. Okada, Chaos Sol. Fract. 29 (2006)."

    def vector_field(self, t, y, m1, m2, l1, l2, g):
        th1, th2, w1, w2 = y[0], y[1], y[2], y[3]
        delta = th1 - th2
        den = 2.0 * m1 + m2 - m2 * jnp.cos(2.0 * delta)
        a1 = (
            -g * (2.0 * m1 + m2) * jnp.sin(th1)
            - m2 * g * jnp.sin(th1 - 2.0 * th2)
            - 2.0 * jnp.sin(delta) * m2 * (w2**2 * l2 + w1**2 * l1 * jnp.cos(delta))
        ) / (l1 * den)
        a2 = (
            2.0
            * jnp.sin(delta)
            * (w1**2 * l1 * (m1 + m2) + g * (m1 + m2) * jnp.cos(th1) + w2**2 * l2 * m2 * jnp.cos(delta))
        ) / (l2 * den)
        return jnp.stack([w1, w2, a1, a2])

    def _invariant(self, y, m1, m2, l1, l2, g):
        th1, th2, w1, w2 = y[0], y[1], y[2], y[3]
        kinetic = (
            0.5 * (m1 + m2) * l1**2 * w1**2 + 0.5 * m2 * l2**2 * w2**2 + m2 * l1 * l2 * w1 * w2 * jnp.cos(th1 - th2)
        )
        return kinetic - (m1 + m2) * g * l1 * jnp.cos(th1) - m2 * g * l2 * jnp.cos(th2)


def _kepler_solve(mean_anomaly: Array, e: Array, iterations: int = 30) -> Array:
    """Solve Kepler's equation ``E - e sin E = M`` by Newton's method from ``E = M + e sin M``."""

    def newton(_, ecc_anomaly):
        f = ecc_anomaly - e * jnp.sin(ecc_anomaly) - mean_anomaly
        return ecc_anomaly - f / (1.0 - e * jnp.cos(ecc_anomaly))

    return jax.lax.fori_loop(0, iterations, newton, mean_anomaly + e * jnp.sin(mean_anomaly))


class Kepler(AbstractODESystem):
    r"""The Kepler two-body problem in the plane, :math:`\ddot{\mathbf q} = -\mu\,\mathbf q/|\mathbf q|^3`.

    State ``(x, y, vx, vy)``. The default starts at pericentre of an orbit with eccentricity
    :math:`e = 0.5` and period :math:`2\pi` (Hairer, Lubich & Wanner, GNI I.2.3).

    - ``solution(t)``: exact, through Kepler's equation (bound orbits, :math:`0 < e < 1`);
    - ``invariant``: the energy :math:`|v|^2/2 - \mu/|q|`; also ``angular_momentum``;
    - ``hamiltonian(q, p, mu)`` for :func:`solve_hamiltonian`.
    """

    mu: Array = eqx.field(default=1.0, converter=as_param)
    y0: Array = eqx.field(default=(0.5, 0.0, 0.0, 3.0**0.5), converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("mu",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 2.0 * 3.141592653589793)
    reference: ClassVar[str] = "Hairer, Lubich & Wanner, Geometric Numerical Integration, 2nd ed., I.2.3."

    def vector_field(self, t, y, mu):
        q, v = y[:2], y[2:]
        return jnp.concatenate([v, -mu * q / jnp.sum(q**2) ** 1.5])

    def _invariant(self, y, mu):
        return 0.5 * jnp.sum(y[2:] ** 2) - mu / jnp.sqrt(jnp.sum(y[:2] ** 2))

    def angular_momentum(self, y: ArrayLike) -> Array:
        """:math:`x v_y - y v_x` at a state ``(4,)`` or at each column of ``(4, m)``."""
        y = jnp.asarray(y)
        return y[0] * y[3] - y[1] * y[2]

    @staticmethod
    def hamiltonian(q: Array, p: Array, mu: ArrayLike = 1.0) -> Array:
        """:math:`H(q, p) = |p|^2/2 - \\mu/|q|`."""
        return 0.5 * jnp.sum(p**2) - mu / jnp.sqrt(jnp.sum(q**2))

    def _solution(self, t: Array) -> Array:
        mu, q0, v0 = self.mu, self.y0[:2], self.y0[2:]
        r0 = jnp.sqrt(jnp.sum(q0**2))
        a = 1.0 / (2.0 / r0 - jnp.sum(v0**2) / mu)
        h = q0[0] * v0[1] - q0[1] * v0[0]
        e_vec = ((jnp.sum(v0**2) - mu / r0) * q0 - jnp.dot(q0, v0) * v0) / mu
        e = jnp.sqrt(jnp.sum(e_vec**2))
        n = jnp.sqrt(mu / a**3)
        ecc0 = jnp.arctan2(jnp.dot(q0, v0) / jnp.sqrt(mu * a), 1.0 - r0 / a)
        ecc = _kepler_solve(ecc0 - e * jnp.sin(ecc0) + n * t, e)
        s, b = jnp.sign(h), a * jnp.sqrt(1.0 - e**2)
        denom = 1.0 - e * jnp.cos(ecc)
        q_pf = jnp.stack([a * (jnp.cos(ecc) - e), s * b * jnp.sin(ecc)])
        v_pf = jnp.stack([-a * n * jnp.sin(ecc), s * b * n * jnp.cos(ecc)]) / denom
        c, sn = e_vec / e
        rot = jnp.array([[c, -sn], [sn, c]])
        return jnp.concatenate([rot @ q_pf, rot @ v_pf])


def _separations(positions: Array) -> list[Array]:
    """Per coordinate, the ``(N, N)`` plane of ``x_j - x_i`` (planes vectorise better than ``(N, N, d)``)."""
    return [positions[None, :, k] - positions[:, None, k] for k in range(positions.shape[1])]


def _inverse_distances(diffs: list[Array], softening: ArrayLike) -> Array:
    """``1 / sqrt(|x_j - x_i|^2 + softening^2)``, zero on the diagonal (and safe to differentiate there)."""
    r2 = jnp.asarray(sum(d**2 for d in diffs) + softening**2)
    off_diagonal = ~jnp.eye(r2.shape[0], dtype=bool)
    return jnp.where(off_diagonal, jax.lax.rsqrt(jnp.where(off_diagonal, r2, 1.0)), 0.0)


def nbody_accelerations(
    positions: ArrayLike, masses: ArrayLike, G: ArrayLike = 1.0, softening: ArrayLike = 0.0
) -> Array:
    r"""Accelerations :math:`a_i = G\sum_{j\ne i} m_j (x_j - x_i)/(r_{ij}^2 + \epsilon^2)^{3/2}` of gravity.

    ``positions`` has shape ``(N, d)`` and ``masses`` ``(N,)``; all pairs are summed (O(N^2)).
    """
    positions, masses = jnp.asarray(positions), jnp.asarray(masses)
    diffs = _separations(positions)
    inv_r = _inverse_distances(diffs, softening)
    weights = inv_r**3 * masses[None, :]
    return jnp.asarray(G) * jnp.stack([jnp.sum(weights * d, axis=1) for d in diffs], axis=1)


def nbody_energy(
    positions: ArrayLike,
    velocities: ArrayLike,
    masses: ArrayLike,
    G: ArrayLike = 1.0,
    softening: ArrayLike = 0.0,
) -> Array:
    """Total energy: kinetic plus softened pairwise gravitational potential."""
    positions, velocities, masses = jnp.asarray(positions), jnp.asarray(velocities), jnp.asarray(masses)
    inv_r = _inverse_distances(_separations(positions), softening)
    return 0.5 * jnp.sum(masses[:, None] * velocities**2) - 0.5 * G * (masses @ inv_r @ masses)


def nbody_momentum(velocities: ArrayLike, masses: ArrayLike) -> Array:
    """Total linear momentum :math:`\\sum_i m_i v_i`, shape ``(d,)``."""
    return jnp.sum(jnp.asarray(masses)[:, None] * jnp.asarray(velocities), axis=0)


def nbody_angular_momentum(positions: ArrayLike, velocities: ArrayLike, masses: ArrayLike) -> Array:
    """Total angular momentum :math:`\\sum_i m_i\\, x_i \\times v_i`: a scalar in 2-D, ``(3,)`` in 3-D."""
    positions, velocities = jnp.asarray(positions), jnp.asarray(velocities)
    if positions.shape[-1] == 2:
        cross = positions[:, 0] * velocities[:, 1] - positions[:, 1] * velocities[:, 0]
    elif positions.shape[-1] == 3:
        cross = jnp.cross(positions, velocities)
    else:
        raise ValueError(f"`positions` must have 2 or 3 columns for an angular momentum, got {positions.shape}.")
    return jnp.tensordot(jnp.asarray(masses), cross, axes=1)


def _split(y: Array, n: int) -> tuple[Array, Array]:
    """``(positions, velocities)``, each ``(n, d)``, from a flat N-body state."""
    d = y.shape[0] // (2 * n)
    return y[: n * d].reshape(n, d), y[n * d :].reshape(n, d)


_FIGURE_EIGHT = (
    0.97000436, -0.24308753, -0.97000436, 0.24308753, 0.0, 0.0,
    0.466203685, 0.43236573, 0.466203685, 0.43236573, -0.93240737, -0.86473146,
)  # fmt: skip


class NBody(AbstractODESystem):
    r"""Gravitational N-body problem in ``d`` = 1, 2 or 3 dimensions.

    The state is flat, ``y = concat(positions.ravel(), velocities.ravel())`` with positions and
    velocities of shape ``(N, d)``; ``d`` is inferred from ``y0.size == 2 N d``. Parameters are
    ``masses`` ``(N,)``, the constant ``G`` and a Plummer ``softening`` length.

    The default is the three-body figure-eight choreography (Chenciner & Montgomery, 2000), which
    returns to its initial state after the period ``reference_solution[0]``. ``energy`` (the
    invariant), ``momentum`` and ``angular_momentum`` act on flat states; the module-level
    functions :func:`nbody_energy`, :func:`nbody_momentum`, :func:`nbody_angular_momentum` act on
    ``(N, d)`` arrays.
    """

    masses: Array = eqx.field(default=(1.0, 1.0, 1.0), converter=as_param)
    G: Array = eqx.field(default=1.0, converter=as_param)
    softening: Array = eqx.field(default=0.0, converter=as_param)
    y0: Array = eqx.field(default=_FIGURE_EIGHT, converter=as_param)
    param_names: ClassVar[tuple[str, ...]] = ("masses", "G", "softening")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 6.32591398)
    reference: ClassVar[str] = "A. Chenciner & R. Montgomery, Ann. Math. 152 (2000) 881; C. Simó (2002)."
    reference_solution: ClassVar[tuple[float, tuple[float, ...]]] = (6.32591398, _FIGURE_EIGHT)

    def __check_init__(self):
        if self.masses.ndim != 1:
            raise ValueError(f"`masses` must be 1-D, got shape {self.masses.shape}.")
        n = self.masses.shape[0]
        if self.y0.ndim != 1 or self.y0.size % (2 * n) or self.y0.size // (2 * n) not in (1, 2, 3):
            raise ValueError(
                f"`y0` must be flat with 2*N*d entries (N={n} bodies, d in 1..3), got shape {self.y0.shape}."
            )

    @property
    def dim(self) -> int:
        """The spatial dimension ``d``."""
        return self.y0.size // (2 * self.masses.shape[0])

    def split(self, y: ArrayLike) -> tuple[Array, Array]:
        """Positions and velocities, each ``(N, d)``, from a flat state."""
        return _split(jnp.asarray(y), self.masses.shape[0])

    def vector_field(self, t, y, masses, G, softening):
        x, v = _split(y, masses.shape[0])
        return jnp.concatenate([v.ravel(), nbody_accelerations(x, masses, G, softening).ravel()])

    def _invariant(self, y, masses, G, softening):
        return nbody_energy(*_split(y, masses.shape[0]), masses, G, softening)

    def energy(self, y: ArrayLike) -> Array:
        """Total energy at a flat state (the invariant)."""
        return self.invariant(y)

    def momentum(self, y: ArrayLike) -> Array:
        """Total linear momentum ``(d,)`` at a flat state."""
        return nbody_momentum(self.split(y)[1], self.masses)

    def angular_momentum(self, y: ArrayLike) -> Array:
        """Total angular momentum at a flat state (scalar in 2-D, ``(3,)`` in 3-D)."""
        return nbody_angular_momentum(*self.split(y), self.masses)

    @staticmethod
    def hamiltonian(q: Array, p: Array, masses: ArrayLike, G: ArrayLike = 1.0, softening: ArrayLike = 0.0) -> Array:
        """:math:`H = \\sum_i |p_i|^2 / 2m_i + V(q)` with ``q`` positions and ``p = m v``, both ``(N, d)``."""
        masses = jnp.asarray(masses)
        return nbody_energy(q, p / masses[:, None], masses, G, softening)
