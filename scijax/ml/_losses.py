"""Losses for fitting ODE models to observed trajectories."""

import jax
import jax.numpy as jnp
import numpy as np

from .._typing import Array, ArrayLike, PyTree
from ._fixed_step import substeps_for
from ._models import AbstractODEModel, solve_model

__all__ = ["mse", "trajectory_mse", "multiple_shooting_loss"]


def mse(pred: ArrayLike, target: ArrayLike) -> Array:
    """Mean squared error; the shapes must match exactly (no silent broadcasting).

    Examples
    --------
    >>> from scijax.ml import mse
    >>> float(mse([1.0, 2.0], [1.0, 4.0]))
    2.0
    """
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"`pred` and `target` must have the same shape, got {pred.shape} and {target.shape}.")
    return jnp.mean((pred - target) ** 2)


def _check_obs(model: AbstractODEModel, t_eval, y_obs) -> Array:
    y_obs = jnp.asarray(y_obs)
    n_t = np.shape(t_eval)[0] if np.ndim(t_eval) == 1 else None
    if y_obs.ndim not in (2, 3) or y_obs.shape[-2] != model.state_size or y_obs.shape[-1] != n_t:
        raise ValueError(f"`y_obs` must have shape (n, n_points) or (batch, n, n_points) with n = "
                         f"{model.state_size} and n_points = len(t_eval) = {n_t}, got {y_obs.shape}.")
    return y_obs


def trajectory_mse(model: AbstractODEModel, params: PyTree, t_eval: ArrayLike, y_obs: ArrayLike,
                   y0: ArrayLike | None = None) -> Array:
    """MSE between the model solved at the observation times and the observations.

    The model is solved once from ``y0`` (default: the first observation ``y_obs[..., 0]``) with
    ``t_eval`` as the save times: for an adaptive model that is ``solve_ivp(..., t_eval=t_eval)``.

    Parameters
    ----------
    model : NeuralODE or HybridODE
    params : pytree
        The model's parameters.
    t_eval : array_like, shape (n_points,)
        Observation times; the first is the initial time.
    y_obs : array_like, shape (n, n_points) or (batch, n, n_points)
        Observations in ``solve_ivp``'s layout.
    y0 : array_like, optional
        Initial states; default ``y_obs[..., 0]``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.ml import MLP, NeuralODE, trajectory_mse
    >>> model = NeuralODE(MLP(2, 2, width=8, depth=1), dt=0.1)
    >>> params = model.init(jax.random.key(0))
    >>> t = jnp.linspace(0.0, 1.0, 6)
    >>> y = model(params, jnp.ones(2), t)
    >>> float(trajectory_mse(model, params, t, y))
    0.0
    """
    y_obs = _check_obs(model, t_eval, y_obs)
    y0 = y_obs[..., 0] if y0 is None else y0
    return mse(model(params, y0, t_eval), y_obs)


def multiple_shooting_loss(model: AbstractODEModel, params: PyTree, t_eval: ArrayLike, y_obs: ArrayLike,
                           segment_length: int, continuity_weight: float = 1.0) -> Array:
    """Multiple-shooting loss: short segments, each started from its first observation.

    The observation grid is cut into segments of ``segment_length`` intervals that share their
    end points. Each segment is solved from the observed state at its start (all segments at
    once, under ``vmap``), so an early error does not spoil the whole trajectory and long
    horizons stay trainable. The loss is the mean squared error over every segment's
    predictions, plus ``continuity_weight`` times the mean squared mismatch between each
    segment's predicted end and the observation the next segment starts from (the DiffEqFlux
    ``multiple_shoot`` form).

    Parameters
    ----------
    segment_length : int
        Intervals per segment; ``len(t_eval) - 1`` must be a multiple of it.
    continuity_weight : float
        Weight of the continuity term.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.ml import MLP, NeuralODE, multiple_shooting_loss
    >>> model = NeuralODE(MLP(2, 2, width=8, depth=1), dt=0.1)
    >>> params = model.init(jax.random.key(0))
    >>> t = jnp.linspace(0.0, 1.2, 13)
    >>> y = model(params, jnp.ones(2), t)
    >>> float(multiple_shooting_loss(model, params, t, y, segment_length=4)) < 1e-10
    True
    """
    y_obs = _check_obs(model, t_eval, y_obs)
    if isinstance(segment_length, bool) or not isinstance(segment_length, int) or segment_length < 1:
        raise ValueError(f"`segment_length` must be a positive integer, got {segment_length!r}.")
    n_int = y_obs.shape[-1] - 1
    if n_int % segment_length:
        raise ValueError(f"`segment_length` ({segment_length}) must divide the number of intervals "
                         f"len(t_eval) - 1 = {n_int}.")
    substeps = None if model.dt is None else substeps_for(t_eval, model.dt)
    n_seg = n_int // segment_length
    idx = np.arange(n_seg)[:, None] * segment_length + np.arange(segment_length + 1)[None, :]
    t_seg = jnp.asarray(t_eval)[idx]  # (n_seg, segment_length + 1)
    obs = jnp.moveaxis(y_obs[..., idx], -2, 0)  # (n_seg, ..., n, segment_length + 1)
    pred = jax.vmap(lambda t, y0: solve_model(model, params, y0, t, substeps))(t_seg, obs[..., 0])
    fit = jnp.mean((pred - obs) ** 2)
    continuity = jnp.mean((pred[:-1, ..., -1] - obs[1:, ..., 0]) ** 2) if n_seg > 1 else 0.0
    return fit + continuity_weight * continuity
