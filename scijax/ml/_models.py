"""ODE models with learned parts: a neural ODE, and a physics model plus a network correction.

Both are solved either adaptively by :func:`scijax.solvers.integrate.solve_ivp` (``dt=None``, the
default: error control, every ``solve_ivp`` method and adjoint) or, for training on large
batches, by the fixed-step path of :mod:`._fixed_step` (``dt=...``: the batch is one matrix
state and the steps run in a checkpointed ``lax.scan``). The choice is an option of the model,
not a different model: the same parameters work with both.
"""

import abc
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike, DTypeLike, PyTree
from ..physics import AbstractODESystem
from ..solvers.integrate import solve_ivp
from ..solvers.integrate.internal import ADJOINTS, METHODS
from ._fixed_step import FIXED_STEP_ADJOINTS, FIXED_STEP_METHODS, fixed_step_solve, substeps_for
from ._mlp import MLP

__all__ = ["AbstractODEModel", "NeuralODE", "HybridODE", "solve_model"]

def _check_solver_options(method, dt, adjoint, rtol, atol, max_steps) -> float | None:
    if dt is None:
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {sorted(METHODS)} (solve_ivp) when `dt` is None, "
                             f"got {method!r}.")
        if adjoint not in ADJOINTS:
            raise ValueError(f"`adjoint` must be one of {sorted(ADJOINTS)} when `dt` is None, got {adjoint!r}.")
    else:
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0:
            raise ValueError(f"`dt` must be a positive float or None, got {dt!r}.")
        if method not in FIXED_STEP_METHODS:
            raise ValueError(f"`method` must be one of {sorted(FIXED_STEP_METHODS)} with a fixed step `dt`, "
                             f"got {method!r}.")
        if adjoint not in FIXED_STEP_ADJOINTS:
            raise ValueError(f"`adjoint` must be one of {sorted(FIXED_STEP_ADJOINTS)} with a fixed step `dt`, "
                             f"got {adjoint!r}.")
    if not (rtol > 0 and atol >= 0):
        raise ValueError(f"`rtol` must be > 0 and `atol` >= 0, got {rtol!r} and {atol!r}.")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ValueError(f"`max_steps` must be a positive integer, got {max_steps!r}.")
    return None if dt is None else float(dt)


class AbstractODEModel(eqx.Module):
    """An ODE ``dy/dt = vector_field(t, y, params)`` whose parameters are a pytree kept outside.

    Subclasses define ``vector_field`` and ``init``; calling the model solves it. The solver
    options (``method``, ``dt``, ``adjoint``, ``rtol``, ``atol``, ``max_steps``) are static fields.
    """

    method: eqx.AbstractVar[str]
    dt: eqx.AbstractVar[float | None]
    adjoint: eqx.AbstractVar[str]
    rtol: eqx.AbstractVar[float]
    atol: eqx.AbstractVar[float]
    max_steps: eqx.AbstractVar[int]

    @abc.abstractmethod
    def vector_field(self, t: ArrayLike, y: Array, params: PyTree) -> Array:
        """The right-hand side for one state ``y`` of shape ``(n,)``."""

    @abc.abstractmethod
    def init(self, key: Array, dtype: DTypeLike | None = None) -> PyTree:
        """Fresh parameters from an explicit PRNG key."""

    @property
    @abc.abstractmethod
    def state_size(self) -> int:
        """The dimension ``n`` of the state."""

    def __call__(self, params: PyTree, y0: ArrayLike, t_eval: ArrayLike) -> Array:
        """Solve from ``y0`` at ``t_eval[0]``; the states at every time of ``t_eval``.

        Parameters
        ----------
        params : pytree
            The model's parameters (from ``init``, or trained).
        y0 : array_like, shape (n,) or (batch, n)
            Initial states; a batch is solved as one problem (fixed step) or by ``vmap`` (adaptive).
        t_eval : array_like, shape (n_points,)
            Monotonic times; the first is the initial time, as in :func:`~scijax.solvers.integrate.odeint`.
            With a fixed step ``dt`` it must be concrete (a constant), since it fixes the step count.

        Returns
        -------
        Array, shape (n, n_points) or (batch, n, n_points)
            The layout of ``solve_ivp(...).y``, with the batch first. A failed adaptive solve gives
            ``nan`` at the times it did not reach (never a plausible-looking wrong value).
        """
        substeps = None if self.dt is None else substeps_for(t_eval, self.dt)
        return solve_model(self, params, y0, t_eval, substeps)


def solve_model(model: AbstractODEModel, params: PyTree, y0: ArrayLike, t_eval: ArrayLike,
                substeps: int | None) -> Array:
    """``model(params, y0, t_eval)`` with the fixed-step count given (so ``t_eval`` may be traced)."""
    y0 = jnp.asarray(y0)
    if not jnp.issubdtype(y0.dtype, jnp.inexact):
        y0 = y0.astype(jnp.result_type(float))
    if y0.ndim not in (1, 2) or y0.shape[-1] != model.state_size:
        raise ValueError(f"`y0` must have shape ({model.state_size},) or (batch, {model.state_size}), "
                         f"got {y0.shape}.")
    t_eval = jnp.asarray(t_eval, dtype=jnp.finfo(y0.dtype).dtype)
    if t_eval.ndim != 1 or t_eval.shape[0] < 2:
        raise ValueError(f"`t_eval` must be 1-D with at least 2 times, got shape {t_eval.shape}.")
    dynamic, static = eqx.partition(model, eqx.is_array)
    if model.dt is not None:
        field = lambda t, y: model.vector_field(t, y, params)
        if y0.ndim == 2:
            one = field
            field = lambda t, y: jax.vmap(lambda row: one(t, row))(y)
        ys = fixed_step_solve(field, t_eval, y0, model.method, substeps, model.adjoint)  # pyright: ignore[reportArgumentType] (set when dt is)
        return jnp.moveaxis(ys, 0, -1)
    return _adaptive(_Field(static), dynamic, params, y0, t_eval)


class _Field(eqx.Module):
    """``fun(t, y, params, dynamic)`` for ``solve_ivp``: hashable, so repeated solves reuse the compilation."""

    static: AbstractODEModel = eqx.field(static=True)

    def __call__(self, t, y, params, dynamic):
        return eqx.combine(dynamic, self.static).vector_field(t, y, params)


@eqx.filter_jit
def _adaptive(field: _Field, dynamic, params, y0, t_eval):
    # Under this jit solve_ivp keeps its fixed-capacity, nan-padded output, so shapes never depend on success.
    m = field.static

    def one(y):
        res = solve_ivp(field, (t_eval[0], t_eval[-1]), y, method=m.method, t_eval=t_eval, args=(params, dynamic),
                        rtol=m.rtol, atol=m.atol, max_steps=m.max_steps, adjoint=m.adjoint)
        return jnp.where(res.success, res.y, jnp.nan)

    return one(y0) if y0.ndim == 1 else jax.vmap(one)(y0)


class NeuralODE(AbstractODEModel):
    """A neural ODE ``dy/dt = network(params, y)`` (Chen et al., NeurIPS 2018).

    Parameters
    ----------
    network : MLP
        Maps the state to its derivative: ``in_size == out_size == n``.
    method : str, optional
        A ``solve_ivp`` method (``'Tsit5'`` default) when ``dt`` is None; with a fixed ``dt``, a
        key of :data:`FIXED_STEP_METHODS` (every explicit Runge-Kutta method of the integrate
        family's tableau registry: ``solve_ivp``'s explicit ones plus ``'RK4'``, ``'Euler'``,
        ``'Midpoint'``, ``'Heun'``).
    dt : float, optional
        None (default): adaptive ``solve_ivp`` with ``rtol``/``atol``. A float: fixed steps of at
        most ``dt`` for the whole batch at once, the fast path for training.
    adjoint : str, optional
        ``'checkpoint'`` (default) or any ``solve_ivp`` adjoint; with ``dt``, ``'checkpoint'``
        (``jax.checkpoint`` around each step) or ``'direct'`` (store every stage).
    rtol, atol, max_steps
        Passed to ``solve_ivp`` (adaptive mode only).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.ml import MLP, NeuralODE
    >>> model = NeuralODE(MLP(2, 2, width=16, depth=1), dt=0.1)
    >>> params = model.init(jax.random.key(0))
    >>> model(params, jnp.ones((8, 2)), jnp.linspace(0.0, 1.0, 5)).shape
    (8, 2, 5)
    """

    network: MLP
    method: str = eqx.field(static=True)
    dt: float | None = eqx.field(static=True)
    adjoint: str = eqx.field(static=True)
    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(self, network: MLP, *, method: str = "Tsit5", dt: float | None = None, adjoint: str = "checkpoint",
                 rtol: float = 1e-6, atol: float = 1e-8, max_steps: int = 4096):
        if not isinstance(network, MLP):
            raise TypeError(f"`network` must be a scijax.ml.MLP, got {type(network).__name__}.")
        if network.in_size != network.out_size:
            raise ValueError(f"`network` must map the state to its derivative (in_size == out_size), got {network}.")
        self.network = network
        self.dt = _check_solver_options(method, dt, adjoint, rtol, atol, max_steps)
        self.method, self.adjoint, self.rtol, self.atol, self.max_steps = method, adjoint, rtol, atol, max_steps

    @property
    def state_size(self) -> int:
        return self.network.in_size

    def vector_field(self, t: ArrayLike, y: Array, params: PyTree) -> Array:
        return self.network(params, y)

    def init(self, key: Array, dtype: DTypeLike | None = None) -> PyTree:
        return self.network.init(key, dtype)


class HybridODE(AbstractODEModel):
    """A universal differential equation: known physics plus a learned correction.

    ``dy/dt = physics.rhs(t, y, *theta) + network(w, y)``, with the physical parameters ``theta``
    (those named in ``trainable``) and the weights ``w`` fitted jointly. Parameters are
    ``{"physics": {name: value}, "network": [...]}``; the physical parameters not in ``trainable``
    stay fixed at the values in ``physics``.

    Parameters
    ----------
    physics : AbstractODESystem
        A catalog system (e.g. ``LotkaVolterra(beta=0.0, delta=0.0)`` for prey growth and predator
        death without the interaction), whose ``rhs`` is the known part of the dynamics.
    network : MLP or None
        The correction, ``in_size == out_size == n``; None fits the physics alone.
    trainable : sequence of str, optional
        Physical parameters to fit; default all of ``physics.param_names``.
    method, dt, adjoint, rtol, atol, max_steps
        As for :class:`NeuralODE`.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.ml import MLP, HybridODE
    >>> from scijax.physics import LotkaVolterra
    >>> model = HybridODE(LotkaVolterra(beta=0.0, delta=0.0), MLP(2, 2, width=8, depth=1),
    ...                   trainable=("alpha", "gamma"))
    >>> params = model.init(jax.random.key(0))
    >>> sorted(params["physics"])
    ['alpha', 'gamma']
    >>> model(params, jnp.array([1.0, 1.0]), jnp.linspace(0.0, 1.0, 4)).shape
    (2, 4)
    """

    physics: AbstractODESystem
    network: MLP | None
    trainable: tuple[str, ...] = eqx.field(static=True)
    method: str = eqx.field(static=True)
    dt: float | None = eqx.field(static=True)
    adjoint: str = eqx.field(static=True)
    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)

    def __init__(self, physics: AbstractODESystem, network: MLP | None, *, trainable: Sequence[str] | None = None,
                 method: str = "Tsit5", dt: float | None = None, adjoint: str = "checkpoint",
                 rtol: float = 1e-6, atol: float = 1e-8, max_steps: int = 4096):
        if not isinstance(physics, AbstractODESystem):
            raise TypeError(f"`physics` must be a scijax.physics system, got {type(physics).__name__}.")
        n = physics.y0.shape[0]
        if network is not None and (not isinstance(network, MLP) or network.in_size != n or network.out_size != n):
            raise ValueError(f"`network` must be an MLP from {n} to {n} features for {type(physics).__name__}, "
                             f"got {network!r}.")
        trainable = physics.param_names if trainable is None else tuple(trainable)
        unknown = set(trainable) - set(physics.param_names)
        if unknown:
            raise ValueError(f"`trainable` names {sorted(unknown)} are not parameters of "
                             f"{type(physics).__name__}; choose from {physics.param_names}.")
        self.physics, self.network, self.trainable = physics, network, trainable
        self.dt = _check_solver_options(method, dt, adjoint, rtol, atol, max_steps)
        self.method, self.adjoint, self.rtol, self.atol, self.max_steps = method, adjoint, rtol, atol, max_steps

    @property
    def state_size(self) -> int:
        return self.physics.y0.shape[0]

    def physical_params(self, params: PyTree) -> tuple[Array, ...]:
        """All physical parameters in ``param_names`` order: trained ones from ``params``, the rest fixed."""
        phys = params["physics"]
        return tuple(phys[name] if name in self.trainable else getattr(self.physics, name)
                     for name in self.physics.param_names)

    def physics_term(self, t: ArrayLike, y: Array, params: PyTree) -> Array:
        """The known part ``physics.rhs(t, y, *theta)``."""
        return self.physics.rhs(t, y, *self.physical_params(params))

    def correction(self, y: Array, params: PyTree) -> Array:
        """The learned part ``network(w, y)`` (zero without a network)."""
        if self.network is None:
            return jnp.zeros_like(y)
        return self.network(params["network"], y)

    def vector_field(self, t: ArrayLike, y: Array, params: PyTree) -> Array:
        self._check_params(params)
        return self.physics_term(t, y, params) + self.correction(y, params)

    def init(self, key: Array, dtype: DTypeLike | None = None, final_scale: float = 0.1,
             physics: dict[str, ArrayLike] | None = None) -> PyTree:
        """Parameters: the physics' own values (or ``physics`` overrides) and a network scaled by ``final_scale``.

        A small ``final_scale`` starts the model close to its physics.
        """
        dtype = jnp.result_type(float) if dtype is None else dtype
        start = {name: getattr(self.physics, name) for name in self.trainable}
        if physics is not None:
            unknown = set(physics) - set(self.trainable)
            if unknown:
                raise ValueError(f"`physics` overrides {sorted(unknown)} that are not trainable {self.trainable}.")
            start.update(physics)
        params: dict[str, PyTree] = {"physics": {k: jnp.asarray(v, dtype) for k, v in start.items()}}
        if self.network is not None:
            params["network"] = self.network.init(key, dtype, final_scale=final_scale)
        return params

    def _check_params(self, params: PyTree) -> None:
        if not isinstance(params, dict) or "physics" not in params or set(params["physics"]) != set(self.trainable):
            raise ValueError(f"`params` must be a dict with 'physics' holding exactly {self.trainable} "
                             "(and 'network'); build them with model.init(key).")
        if self.network is not None and "network" not in params:
            raise ValueError("`params` has no 'network' entry; build them with model.init(key).")

