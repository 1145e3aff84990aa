"""Method-of-lines PDE models: finite differences in space, an ODE system in time.

Each model is an :class:`AbstractODESystem` whose state is the flattened grid (``y.shape ==
(prod(shape),)``, or twice that for two fields), so ``solve_ivp(m.rhs, m.t_span, m.y0,
args=m.params)`` integrates it. The grid (``shape``, ``length``, ``bc``) is static; physical
coefficients are parameters. ``y0`` is the standard initial profile, the one ``solution`` starts
from where an analytic solution exists.
"""

import math
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._typing import Array, ArrayLike
from ._base import AbstractODESystem, as_param
from ._fd import BOUNDARY_CONDITIONS, gradient, grid, laplacian

__all__ = ["Heat", "Burgers", "Advection", "Wave", "GrayScott", "FisherKPP"]

# Slowest eigenmode per boundary condition: (profile, wavenumber * length).
_MODES = {"dirichlet": (jnp.sin, math.pi), "neumann": (jnp.cos, math.pi), "periodic": (jnp.sin, 2 * math.pi)}


def _check_shape(shape: int | Sequence[int], dims: tuple[int, ...]) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if len(shape) not in dims or not all(isinstance(n, int) for n in shape):
        raise ValueError(f"`shape` must be a tuple of {dims} integers, got {shape!r}.")
    if min(shape) < 3:
        raise ValueError(f"`shape` {shape} is too small: the 3-point stencil needs at least 3 points per axis.")
    return shape


def _check_bc(bc: str, allowed: tuple[str, ...] = BOUNDARY_CONDITIONS) -> str:
    if bc not in allowed:
        raise ValueError(f"`bc` must be one of {allowed}, got {bc!r}.")
    return bc


def _spacing(shape: tuple[int, ...], length: float, bc: str = "periodic") -> tuple[float, ...]:
    return tuple(grid(n, length, bc)[1] for n in shape)


def _mode(shape: tuple[int, ...], length: float, bc: str) -> tuple[Array, float]:
    """The slowest Laplacian eigenmode on the grid (flattened) and its wavenumber ``k``."""
    profile, kl = _MODES[bc]
    coords = [grid(n, length, bc)[0] for n in shape]
    k = kl / length
    mode = math.prod(profile(k * x) for x in jnp.meshgrid(*coords, indexing="ij"))
    return jnp.ravel(mode), k


class Heat(AbstractODESystem):
    r"""Heat equation :math:`u_t = D\,\Delta u` on :math:`[0, L]^d`, ``d`` = ``len(shape)`` in 1..3.

    ``y0`` is the slowest eigenmode for ``bc`` (a product of :math:`\sin(\pi x/L)` for Dirichlet,
    :math:`\cos(\pi x/L)` for Neumann, :math:`\sin(2\pi x/L)` for periodic), so the exact
    solution is :math:`u = e^{-D d k^2 t} u_0`; the discrete one agrees to :math:`O(h^2)`.
    Stiff: the fastest mode decays like :math:`4dD/h^2`.
    """

    D: Array
    y0: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    length: float = eqx.field(static=True)
    bc: str = eqx.field(static=True)
    param_names: ClassVar[tuple[str, ...]] = ("D",)
    stiff: ClassVar[bool] = True
    t_span: ClassVar[tuple[float, float]] = (0.0, 0.1)
    reference: ClassVar[str] = "J. Crank, The Mathematics of Diffusion, 2nd ed., OUP (1975)."

    def __init__(
        self,
        D: ArrayLike = 1.0,
        shape: int | Sequence[int] = (32,),
        length: float = 1.0,
        bc: str = "dirichlet",
    ):
        self.shape = _check_shape(shape, (1, 2, 3))
        self.length = float(length)
        self.bc = _check_bc(bc)
        self.D = as_param(D)
        self.y0 = _mode(self.shape, self.length, self.bc)[0]

    def vector_field(self, t, y, D):
        h = _spacing(self.shape, self.length, self.bc)
        return D * laplacian(y.reshape(self.shape), h, self.bc).ravel()

    def _solution(self, t):
        _, k = _mode(self.shape, self.length, self.bc)
        return jnp.exp(-self.D * len(self.shape) * k**2 * t) * self.y0


class Burgers(AbstractODESystem):
    r"""Viscous Burgers :math:`u_t + u u_x = \nu u_{xx}`, periodic on :math:`[0, L)`.

    Central differences in conservative form. The exact solution comes from the Cole-Hopf
    transform :math:`u = -2\nu\,\phi_x/\phi` of :math:`\phi = a + e^{-\nu k^2 t}\cos kx`
    (``k = 2 pi / L``, ``a > 1``):

    .. math:: u = \frac{2\nu k\,e^{-\nu k^2 t}\sin kx}{a + e^{-\nu k^2 t}\cos kx}.
    """

    nu: Array
    a: Array
    y0: Array
    n: int = eqx.field(static=True)
    length: float = eqx.field(static=True)
    param_names: ClassVar[tuple[str, ...]] = ("nu",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 2.0)
    reference: ClassVar[str] = "E. Hopf, CPAM 3 (1950) 201; J. D. Cole, Q. Appl. Math. 9 (1951) 225."

    def __init__(self, nu: ArrayLike = 0.1, n: int = 128, length: float = 2 * math.pi, a: ArrayLike = 1.5):
        self.n = _check_shape(n, (1,))[0]
        self.length = float(length)
        self.nu, self.a = as_param(nu), as_param(a)
        self.y0 = self._solution(0.0)

    def vector_field(self, t, y, nu):
        h = grid(self.n, self.length)[1]
        return -gradient(0.5 * y**2, h)[0] + nu * laplacian(y, h)

    def _solution(self, t):
        x = grid(self.n, self.length)[0]
        k = 2 * math.pi / self.length
        decay = jnp.exp(-self.nu * k**2 * t)
        return 2 * self.nu * k * decay * jnp.sin(k * x) / (self.a + decay * jnp.cos(k * x))


class Advection(AbstractODESystem):
    r"""Linear advection :math:`u_t + c u_x = 0`, periodic on :math:`[0, L)`, first-order upwind.

    The upwind direction follows the sign of ``c`` (flux splitting, so ``c`` may be traced).
    Exact solution :math:`u(x, t) = u_0(x - ct)` with :math:`u_0 = \exp\sin(2\pi x/L)`; the
    scheme is first-order accurate and numerically diffusive.
    """

    c: Array
    y0: Array
    n: int = eqx.field(static=True)
    length: float = eqx.field(static=True)
    param_names: ClassVar[tuple[str, ...]] = ("c",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 1.0)
    reference: ClassVar[str] = "R. J. LeVeque, Finite Volume Methods for Hyperbolic Problems, CUP (2002), 4.8."

    def __init__(self, c: ArrayLike = 1.0, n: int = 128, length: float = 1.0):
        self.n = _check_shape(n, (1,))[0]
        self.length = float(length)
        self.c = as_param(c)
        self.y0 = self._solution(0.0)

    def vector_field(self, t, y, c):
        h = grid(self.n, self.length)[1]
        back, fwd = y - jnp.roll(y, 1), jnp.roll(y, -1) - y
        return -(jnp.maximum(c, 0.0) * back + jnp.minimum(c, 0.0) * fwd) / h

    def _solution(self, t):
        x = grid(self.n, self.length)[0]
        return jnp.exp(jnp.sin(2 * math.pi * (x - self.c * t) / self.length))


class Wave(AbstractODESystem):
    r"""Wave equation :math:`u_{tt} = c^2 \Delta u` as the first-order system ``y = (u, u_t)`` (flattened).

    ``y0`` is the slowest standing mode at rest; exact solution :math:`u = \cos(\omega t) u_0` with
    :math:`\omega = c k\sqrt d`. Invariant: the semi-discrete energy
    :math:`\tfrac12\sum v^2 - \tfrac{c^2}{2}\sum u\,\Delta_h u`, times the cell volume.
    """

    c: Array
    y0: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    length: float = eqx.field(static=True)
    bc: str = eqx.field(static=True)
    param_names: ClassVar[tuple[str, ...]] = ("c",)
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 2.0)
    reference: ClassVar[str] = "R. J. LeVeque, Finite Difference Methods for ODEs and PDEs, SIAM (2007), ch. 10."

    def __init__(
        self,
        c: ArrayLike = 1.0,
        shape: int | Sequence[int] = (64,),
        length: float = 1.0,
        bc: str = "dirichlet",
    ):
        self.shape = _check_shape(shape, (1, 2, 3))
        self.length = float(length)
        self.bc = _check_bc(bc)
        self.c = as_param(c)
        mode = _mode(self.shape, self.length, self.bc)[0]
        self.y0 = jnp.concatenate([mode, jnp.zeros_like(mode)])

    def _lap(self, u):
        h = _spacing(self.shape, self.length, self.bc)
        return laplacian(u.reshape(self.shape), h, self.bc).ravel()

    def vector_field(self, t, y, c):
        u, v = jnp.split(y, 2)
        return jnp.concatenate([v, c**2 * self._lap(u)])

    def _invariant(self, y, c):
        u, v = jnp.split(y, 2)
        volume = math.prod(_spacing(self.shape, self.length, self.bc))
        return 0.5 * volume * (jnp.sum(v**2) - c**2 * jnp.sum(u * self._lap(u)))

    def _solution(self, t):
        mode, k = _mode(self.shape, self.length, self.bc)
        omega = self.c * k * math.sqrt(len(self.shape))
        return jnp.concatenate([jnp.cos(omega * t) * mode, -omega * jnp.sin(omega * t) * mode])


class GrayScott(AbstractODESystem):
    r"""Gray-Scott reaction-diffusion, periodic, ``y = (u, v)`` flattened.

    .. math::
        u_t = D_u\Delta u - uv^2 + F(1 - u),\qquad v_t = D_v\Delta v + uv^2 - (F + k)v

    Defaults: grid spacing 1, :math:`D_u = 0.16, D_v = 0.08, F = 0.060, k = 0.062` (spots). ``y0``
    is the rest state :math:`(1, 0)` with a perturbed square seeded in the centre, as in Pearson.
    No analytic solution; the rest state :math:`(u, v) = (1, 0)` is a fixed point.
    """

    Du: Array
    Dv: Array
    F: Array
    k: Array
    y0: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    length: float = eqx.field(static=True)
    param_names: ClassVar[tuple[str, ...]] = ("Du", "Dv", "F", "k")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 1000.0)
    reference: ClassVar[str] = "J. E. Pearson, Science 261 (1993) 189; P. Gray & S. K. Scott (1984)."

    def __init__(
        self,
        Du: ArrayLike = 0.16,
        Dv: ArrayLike = 0.08,
        F: ArrayLike = 0.060,
        k: ArrayLike = 0.062,
        shape: int | Sequence[int] = (32, 32),
        length: float | None = None,
    ):
        self.shape = _check_shape(shape, (1, 2, 3))
        self.length = float(self.shape[0] if length is None else length)
        self.Du, self.Dv, self.F, self.k = map(as_param, (Du, Dv, F, k))
        coords = jnp.meshgrid(*[grid(n, 1.0)[0] for n in self.shape], indexing="ij")
        seed = math.prod((jnp.abs(x - 0.5) < 0.1).astype(float) for x in coords)
        ripple = 0.01 * math.prod(jnp.sin(2 * math.pi * 3 * x) for x in coords)
        u = 1.0 - seed * (0.5 + ripple)
        v = seed * (0.25 + ripple)
        self.y0 = as_param(jnp.concatenate([jnp.ravel(u), jnp.ravel(v)]))

    def vector_field(self, t, y, Du, Dv, F, k):
        u, v = jnp.split(y, 2)
        h = _spacing(self.shape, self.length)
        lap = lambda w: laplacian(w.reshape(self.shape), h).ravel()
        uvv = u * v**2
        return jnp.concatenate([Du * lap(u) - uvv + F * (1 - u), Dv * lap(v) + uvv - (F + k) * v])


class FisherKPP(AbstractODESystem):
    r"""Fisher-KPP :math:`u_t = D u_{xx} + r u(1 - u)` on :math:`[0, L]`, zero-flux (Neumann) ends.

    ``y0`` is the exact travelling front of Ablowitz & Zeppetella (1979), centred at ``x0``:

    .. math:: u = \left(1 + \exp\left(\sqrt{r/6D}\,(x - x_0 - ct)\right)\right)^{-2},\quad
              c = 5\sqrt{rD/6},

    which ``solution`` follows while the front stays far (many widths :math:`\sqrt{6D/r}`) from
    both ends.
    """

    D: Array
    r: Array
    x0: Array
    y0: Array
    n: int = eqx.field(static=True)
    length: float = eqx.field(static=True)
    param_names: ClassVar[tuple[str, ...]] = ("D", "r")
    stiff: ClassVar[bool] = False
    t_span: ClassVar[tuple[float, float]] = (0.0, 10.0)
    reference: ClassVar[str] = "M. J. Ablowitz & A. Zeppetella, Bull. Math. Biol. 41 (1979) 835."

    def __init__(
        self,
        D: ArrayLike = 1.0,
        r: ArrayLike = 1.0,
        n: int = 200,
        length: float = 100.0,
        x0: ArrayLike = 30.0,
    ):
        self.n = _check_shape(n, (1,))[0]
        self.length = float(length)
        self.D, self.r, self.x0 = as_param(D), as_param(r), as_param(x0)
        self.y0 = self._solution(0.0)

    def vector_field(self, t, y, D, r):
        h = grid(self.n, self.length, "neumann")[1]
        return D * laplacian(y, h, "neumann") + r * y * (1.0 - y)

    def _solution(self, t):
        x = grid(self.n, self.length, "neumann")[0]
        speed = 5.0 * jnp.sqrt(self.r * self.D / 6.0)
        return (1.0 + jnp.exp(jnp.sqrt(self.r / (6.0 * self.D)) * (x - self.x0 - speed * t))) ** -2
