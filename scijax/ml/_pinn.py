"""Physics-informed networks: residuals of catalog equations by autodiff, condition terms, collocation points.

A *field* is a function ``field(params, x)`` of one point (an ``MLP`` is one): for an ODE ``x`` is
the time (shape ``()`` or ``(1,)``) and the output the state ``(n,)``; for a PDE ``x`` is
``(x_1, ..., x_d, t)`` (or just the space coordinates for Poisson) and the output a scalar (or
shape ``(1,)``). Derivatives come from ``jax.jacfwd``/``jax.hessian`` at each point, and every
loss ``vmap``s over the points.
"""

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike, PyTree
from ..physics import SYSTEMS, AbstractODESystem, Advection, Burgers, FisherKPP, Heat, Wave
from ._mlp import check_key

__all__ = [
    "PDE_RESIDUALS",
    "ode_residual",
    "pde_residual",
    "residual_loss",
    "boundary_loss",
    "initial_loss",
    "sample_collocation",
    "sample_boundary",
    "COLLOCATION_METHODS",
]

Field = Callable[[PyTree, Array], Array]


def _scalar(field: Field, params: PyTree) -> Callable[[Array], Array]:
    def u(x):
        out = jnp.asarray(field(params, x))
        if out.size != 1:
            raise ValueError(f"`field` must return one value per point for a PDE, got shape {out.shape}.")
        return out.reshape(())

    return u


def _space_time(u, x):
    """``u``, its time derivative, its space gradient and the diagonal of its space Hessian at ``x = (space, t)``."""
    grad = jax.grad(u)(x)
    hess = jax.hessian(u)(x)
    return u(x), grad[-1], grad[:-1], jnp.diagonal(hess)[:-1], hess[-1, -1]


def _heat(system: Heat, u, x, source):
    _, u_t, _, u_xx, _ = _space_time(u, x)
    return u_t - system.D * jnp.sum(u_xx)


def _burgers(system: Burgers, u, x, source):
    val, u_t, u_x, u_xx, _ = _space_time(u, x)
    return u_t + val * u_x[0] - system.nu * u_xx[0]


def _advection(system: Advection, u, x, source):
    _, u_t, u_x, _, _ = _space_time(u, x)
    return u_t + system.c * u_x[0]


def _wave(system: Wave, u, x, source):
    _, _, _, u_xx, u_tt = _space_time(u, x)
    return u_tt - system.c**2 * jnp.sum(u_xx)


def _fisher_kpp(system: FisherKPP, u, x, source):
    val, u_t, _, u_xx, _ = _space_time(u, x)
    return u_t - system.D * jnp.sum(u_xx) - system.r * val * (1 - val)


def _poisson(system, u, x, source):
    if source is None:
        raise ValueError("`source` is required for 'poisson': a function f(x) with -laplacian(u) = f.")
    return -jnp.trace(jax.hessian(u)(x)) - source(x)


PDE_RESIDUALS: dict[str, Callable] = {
    "heat": _heat,
    "burgers": _burgers,
    "advection": _advection,
    "wave": _wave,
    "fisher_kpp": _fisher_kpp,
    "poisson": _poisson,
}
"""Catalog name -> continuous residual. ``'poisson'`` is :func:`scijax.physics.solve_poisson`'s
:math:`-\\Delta u = f`; the others are the PDEs behind the catalog's method-of-lines models, with
their coefficients read from the model instance (``D``, ``nu``, ``c``, ``r``)."""


def ode_residual(system: AbstractODESystem, field: Field) -> Callable[[PyTree, ArrayLike], Array]:
    """Residual ``du/dt - system.rhs(t, u, *system.params)`` of a field ``u(params, t)``.

    Returns
    -------
    callable
        ``residual(params, t) -> (n,)`` for one time ``t``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.ml import ode_residual
    >>> from scijax.physics import ExponentialDecay
    >>> exact = lambda params, t: jnp.exp(-2.0 * jnp.reshape(t, (1,)))
    >>> r = ode_residual(ExponentialDecay(k=2.0), exact)
    >>> float(jnp.abs(r(None, 0.3))[0]) < 1e-6
    True
    """
    if not isinstance(system, AbstractODESystem):
        raise TypeError(f"`system` must be a scijax.physics system, got {type(system).__name__}.")
    rhs, theta = system.rhs, system.params

    def residual(params, t):
        t = jnp.asarray(t, dtype=jnp.result_type(float))
        shape = jnp.shape(t)
        u_of_t = lambda s: jnp.asarray(field(params, s.reshape(shape)))
        u, du = jax.jvp(u_of_t, (t.reshape(()),), (jnp.ones((), t.dtype),))
        return du - rhs(t.reshape(()), u, *theta)

    return residual


def pde_residual(system: AbstractODESystem | str, field: Field,
                 source: Callable[[Array], Array] | None = None) -> Callable[[PyTree, ArrayLike], Array]:
    """Residual of a catalog PDE for a field ``u(params, x)``, by autodiff.

    Parameters
    ----------
    system : Heat, Burgers, Advection, Wave, FisherKPP instance, or 'poisson'
        The equation; the model's coefficients are used, its grid is not (a PINN has none).
        Time-dependent equations take ``x = (x_1, ..., x_d, t)``; ``'poisson'`` takes ``x``.
    field : callable
        ``field(params, x)`` returning one value.
    source : callable, optional
        ``f(x)`` for ``'poisson'`` (:math:`-\\Delta u = f`).

    Returns
    -------
    callable
        ``residual(params, x) -> scalar`` for one point.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.ml import pde_residual
    >>> from scijax.physics import Heat
    >>> exact = lambda params, x: jnp.exp(-jnp.pi**2 * x[1]) * jnp.sin(jnp.pi * x[0])
    >>> r = pde_residual(Heat(D=1.0), exact)
    >>> abs(float(r(None, jnp.array([0.3, 0.1])))) < 1e-5
    True
    """
    if isinstance(system, str):
        name = system
    else:
        names = {cls: key for key, cls in SYSTEMS.items()}
        name = names.get(type(system))
    if name not in PDE_RESIDUALS:
        raise ValueError(f"`system` must be one of the PDEs {sorted(PDE_RESIDUALS)} (an instance, or the "
                         f"string 'poisson'), got {system!r}. For an ODE system use ode_residual.")
    if source is not None and name != "poisson":
        raise ValueError("`source` is only used by 'poisson'.")
    rule = PDE_RESIDUALS[name]

    def residual(params, x):
        x = jnp.asarray(x, dtype=jnp.result_type(float))
        if x.ndim != 1:
            raise ValueError(f"`x` must be one point of shape (d,), got {x.shape}; residual_loss vmaps over points.")
        return rule(system, _scalar(field, params), x, source)

    return residual


def residual_loss(residual: Callable[[PyTree, Array], Array], params: PyTree, points: ArrayLike) -> Array:
    """Mean squared residual over collocation points of shape ``(n_points, d)`` (or ``(n_points,)`` of times)."""
    points = jnp.asarray(points)
    if points.ndim not in (1, 2):
        raise ValueError(f"`points` must have shape (n_points,) or (n_points, d), got {points.shape}.")
    r = jax.vmap(lambda x: residual(params, x))(points)
    return jnp.mean(r**2)


def boundary_loss(field: Field, params: PyTree, points: ArrayLike,
                  target: ArrayLike | Callable[[Array], Array]) -> Array:
    """Mean squared misfit ``field(params, x) - g(x)`` at boundary points (Dirichlet conditions).

    ``target`` is an array of values at ``points`` (shape ``(n_points,)`` or ``(n_points, m)``) or
    a function ``g(x)`` of one point.
    """
    points = jnp.asarray(points)
    if points.ndim not in (1, 2):
        raise ValueError(f"`points` must have shape (n_points,) or (n_points, d), got {points.shape}.")
    pred = jax.vmap(lambda x: field(params, x))(points)
    values = jax.vmap(target)(points) if callable(target) else jnp.asarray(target)
    if pred.size != values.size or pred.shape[0] != values.shape[0]:
        raise ValueError(f"`target` must give one value per point and output: predictions have shape "
                         f"{pred.shape}, target {values.shape}.")
    return jnp.mean((pred.reshape(values.shape) - values) ** 2)


def initial_loss(field: Field, params: PyTree, points: ArrayLike, target: ArrayLike | Callable[[Array], Array],
                 t0: float = 0.0) -> Array:
    """:func:`boundary_loss` on the initial slice: ``points`` are space coordinates ``(n_points, d)``, ``t = t0``."""
    points = jnp.asarray(points)
    if points.ndim == 1:
        points = points[:, None]
    full = jnp.concatenate([points, jnp.full((points.shape[0], 1), t0, points.dtype)], axis=1)
    values = (lambda x: target(x[:-1])) if callable(target) else target
    return boundary_loss(field, params, full, values)


def _check_bounds(bounds) -> tuple[Array, Array]:
    b = jnp.asarray(bounds, dtype=jnp.result_type(float))
    if b.ndim != 2 or b.shape[1] != 2:
        raise ValueError(f"`bounds` must be a sequence of (low, high) pairs, one per coordinate, got shape {b.shape}.")
    if not bool(jnp.all(b[:, 1] > b[:, 0])):
        raise ValueError("`bounds` must have high > low for every coordinate.")
    return b[:, 0], b[:, 1]


def _uniform(key, n, d, dtype):
    return jax.random.uniform(key, (n, d), dtype)


def _latin(key, n, d, dtype):
    k_perm, k_off = jax.random.split(key)
    perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(k_perm, d)).T
    return (perms + jax.random.uniform(k_off, (n, d), dtype)) / n


def _grid(key, n, d, dtype):
    m = round(n ** (1 / d))
    if m**d != n:
        raise ValueError(f"`n` must be a perfect {d}-th power for method 'grid', got {n}.")
    axis = (jnp.arange(m, dtype=dtype) + 0.5) / m
    return jnp.stack(jnp.meshgrid(*([axis] * d), indexing="ij"), axis=-1).reshape(n, d)


COLLOCATION_METHODS: dict[str, Callable] = {"uniform": _uniform, "latin": _latin, "grid": _grid}
"""Sampling scheme -> generator of ``n`` points in the unit cube: i.i.d. uniform, Latin hypercube
(one point per row and column stratum), or the cell centres of a regular grid (no randomness)."""


def sample_collocation(key: Array, n: int, bounds: Sequence[tuple[float, float]], method: str = "uniform") -> Array:
    """``n`` collocation points in the box ``bounds``, shape ``(n, len(bounds))``.

    Examples
    --------
    >>> import jax
    >>> from scijax.ml import sample_collocation
    >>> pts = sample_collocation(jax.random.key(0), 100, [(0.0, 1.0), (0.0, 0.5)], method="latin")
    >>> pts.shape, bool(pts[:, 1].max() <= 0.5)
    ((100, 2), True)
    """
    key = check_key(key)
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"`n` must be a positive integer, got {n!r}.")
    if method not in COLLOCATION_METHODS:
        raise ValueError(f"`method` must be one of {sorted(COLLOCATION_METHODS)}, got {method!r}.")
    low, high = _check_bounds(bounds)
    unit = COLLOCATION_METHODS[method](key, n, low.shape[0], low.dtype)
    return low + (high - low) * unit


def sample_boundary(key: Array, n: int, bounds: Sequence[tuple[float, float]],
                    axes: Sequence[int] | None = None) -> Array:
    """``n`` points on the faces of the box ``bounds`` normal to ``axes`` (default every axis).

    For a space-time box ``[(0, L), (0, T)]`` use ``axes=(0,)``: the points lie on ``x = 0`` or
    ``x = L`` at uniformly random times. Faces are chosen with equal probability.
    """
    key = check_key(key)
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"`n` must be a positive integer, got {n!r}.")
    low, high = _check_bounds(bounds)
    d = low.shape[0]
    axes = tuple(range(d)) if axes is None else tuple(axes)
    if not axes or any(not 0 <= a < d for a in axes):
        raise ValueError(f"`axes` must name coordinates in 0..{d - 1}, got {axes}.")
    k_pts, k_face, k_side = jax.random.split(key, 3)
    pts = low + (high - low) * jax.random.uniform(k_pts, (n, d), low.dtype)
    face = jnp.asarray(axes)[jax.random.randint(k_face, (n,), 0, len(axes))]
    side = jax.random.bernoulli(k_side, 0.5, (n,))
    value = jnp.where(side, high[face], low[face])
    return pts.at[jnp.arange(n), face].set(value)
