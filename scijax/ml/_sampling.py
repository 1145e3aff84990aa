"""Noisy trajectories of catalog systems, for examples and tests."""

from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike
from ..physics import AbstractODESystem
from ..solvers.integrate import solve_ivp
from ._mlp import check_key

__all__ = ["Trajectories", "noisy_trajectories"]


class Trajectories(NamedTuple):
    """Sampled trajectories in ``solve_ivp``'s layout, batch first.

    Attributes
    ----------
    t : Array, shape (n_points,)
    y0 : Array, shape (n_trajectories, n)
        The initial states (exact, before noise).
    y : Array, shape (n_trajectories, n, n_points)
        Observations: the exact solution plus noise.
    y_true : Array, shape (n_trajectories, n, n_points)
        The exact (well, ``rtol``-accurate) solution.
    """

    t: Array
    y0: Array
    y: Array
    y_true: Array


class _Rhs(eqx.Module):
    """``system.rhs`` with its parameters as traced arguments: one compilation for every system value."""

    rhs: Callable = eqx.field(static=True)

    def __call__(self, t, y, *params):
        return self.rhs(t, y, *params)


@eqx.filter_jit
def _solve_all(rhs, params, y0s, t_eval, method, rtol, atol, max_steps):
    def one(y0):
        res = solve_ivp(rhs, (t_eval[0], t_eval[-1]), y0, method=method, t_eval=t_eval, args=params,
                        rtol=rtol, atol=atol, max_steps=max_steps)
        return jnp.where(res.success, res.y, jnp.nan)

    return jax.vmap(one)(y0s)


def noisy_trajectories(system: AbstractODESystem, t_eval: ArrayLike, *, key: Array, n_trajectories: int = 1,
                       noise: float = 0.0, y0_spread: float = 0.0, method: str | None = None,
                       rtol: float = 1e-8, atol: float = 1e-10, max_steps: int = 16384) -> Trajectories:
    """Solve a catalog system from (perturbed) initial states and add Gaussian noise.

    Parameters
    ----------
    system : AbstractODESystem
        Any catalog system, with its parameters; e.g. ``LotkaVolterra()`` or ``get_system("van_der_pol")``.
    t_eval : array_like, shape (n_points,)
        Observation times; ``t_eval[0]`` is the initial time.
    key : PRNG key
        Explicit randomness for the initial states and the noise.
    n_trajectories : int
        How many trajectories.
    noise : float
        Noise level, relative: each component gets Gaussian noise with standard deviation
        ``noise`` times that component's standard deviation over all clean samples.
    y0_spread : float
        Initial states are ``system.y0 * (1 + y0_spread * N(0, 1))`` componentwise, so positive
        states stay positive for small spreads; 0 repeats ``system.y0``.
    method : str, optional
        ``solve_ivp`` method; default ``'Radau'`` for stiff systems, ``'DOP853'`` otherwise.
    rtol, atol, max_steps
        Passed to ``solve_ivp``.

    Returns
    -------
    Trajectories
        ``t``, ``y0``, ``y`` (noisy) and ``y_true``; a failed solve shows up as ``nan``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.ml import noisy_trajectories
    >>> from scijax.physics import LotkaVolterra
    >>> data = noisy_trajectories(LotkaVolterra(), jnp.linspace(0.0, 2.0, 11), key=jax.random.key(0),
    ...                           n_trajectories=3, noise=0.05, y0_spread=0.1)
    >>> data.y.shape
    (3, 2, 11)
    """
    if not isinstance(system, AbstractODESystem):
        raise TypeError(f"`system` must be a scijax.physics system, got {type(system).__name__}.")
    key = check_key(key)
    if isinstance(n_trajectories, bool) or not isinstance(n_trajectories, int) or n_trajectories <= 0:
        raise ValueError(f"`n_trajectories` must be a positive integer, got {n_trajectories!r}.")
    if not noise >= 0 or not y0_spread >= 0:
        raise ValueError(f"`noise` and `y0_spread` must be >= 0, got {noise!r} and {y0_spread!r}.")
    dtype = system.y0.dtype
    t_eval = jnp.asarray(t_eval, dtype=dtype)
    if t_eval.ndim != 1 or t_eval.shape[0] < 2:
        raise ValueError(f"`t_eval` must be 1-D with at least 2 times, got shape {t_eval.shape}.")
    method = method or ("Radau" if system.stiff else "DOP853")
    k_y0, k_noise = jax.random.split(key)
    n = system.y0.shape[0]
    y0s = system.y0 * (1 + y0_spread * jax.random.normal(k_y0, (n_trajectories, n), dtype))
    y_true = _solve_all(_Rhs(system.rhs), system.params, y0s, t_eval, method, rtol, atol, max_steps)
    scale = jnp.std(y_true, axis=(0, 2), keepdims=True)
    y = y_true + noise * scale * jax.random.normal(k_noise, y_true.shape, dtype)
    return Trajectories(t_eval, y0s, y, y_true)
