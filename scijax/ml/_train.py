"""``fit``: a jitted optax training loop with early stopping and progress, and an L-BFGS finish."""

import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._typing import Array, PyTree
from ..solvers.optimize import OptimizeResult, minimize
from ._data import DataLoader

__all__ = ["fit", "FitResult", "lbfgs_finish"]


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes
    ----------
    params : pytree
        The trained parameters (the best ones seen, if early stopping fired).
    loss_history : numpy.ndarray
        The loss of every optimiser step, then of every L-BFGS iteration's end point if any.
    best_loss : float
        The lowest monitored loss (per step, or per epoch mean with ``epochs``).
    n_steps : int
        Optimiser steps taken (not counting L-BFGS).
    stopped_early : bool
        Whether early stopping, a callback or a non-finite loss ended training before the budget.
    message : str
        Why training stopped.
    lbfgs : OptimizeResult or None
        The ``minimize`` result of the L-BFGS finish.
    """

    params: PyTree
    loss_history: np.ndarray
    best_loss: float
    n_steps: int
    stopped_early: bool
    message: str
    lbfgs: OptimizeResult | None = None


class _Progress:
    """A one-line text progress bar on stderr, redrawn at most every ``interval`` seconds."""

    def __init__(self, enabled: bool, total: int, unit: str, interval: float = 0.25):
        self.enabled, self.total, self.unit, self.interval = enabled, total, unit, interval
        self.start = self.last = time.perf_counter()

    def update(self, done: int, loss: float, best: float, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last < self.interval and not force):
            return
        self.last = now
        width = 24
        filled = int(width * done / max(self.total, 1))
        rate = done / max(now - self.start, 1e-9)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.unit} {done}/{self.total}  "
                         f"loss {loss:.4e}  best {best:.4e}  {rate:.1f} {self.unit}/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _strong_types(tree: PyTree) -> PyTree:
    """Array leaves with JAX's weak-type flag dropped (same dtype, same values).

    ``jnp.asarray(1.3)`` is weakly typed; the optimiser's update returns strongly typed arrays,
    so without this the jitted step sees a new input type on its second call and compiles again.
    """
    def strong(x):
        if eqx.is_array(x) and getattr(x, "weak_type", False):
            return jnp.asarray(x, dtype=x.dtype)
        return x

    return jax.tree_util.tree_map(strong, tree)


def _make_step(loss_fn: Callable, optimizer: optax.GradientTransformation):
    @jax.jit
    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


def _check_budget(steps, epochs, batch_size, key, patience, data):
    if (steps is None) == (epochs is None):
        raise ValueError("Give exactly one of `steps` and `epochs`.")
    for name, value in (("steps", steps), ("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"`{name}` must be an integer, got {value!r}.")
        if value <= 0:
            raise ValueError(f"`{name}` must be > 0, got {value}.")
    if batch_size is not None and key is None:
        raise ValueError("`key` is required with `batch_size`: minibatches are shuffled from an explicit PRNG key.")
    if batch_size is not None and data is None:
        raise ValueError("`data` is required with `batch_size`.")


def fit(
    loss_fn: Callable[[PyTree, Any], Array],
    params: PyTree,
    data: Any = None,
    *,
    optimizer: optax.GradientTransformation | None = None,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    key: Array | None = None,
    callbacks: Sequence[Callable[[int, PyTree, float], bool | None]] = (),
    progress: bool = True,
    patience: int | None = None,
    min_delta: float = 0.0,
    lbfgs_steps: int = 0,
) -> FitResult:
    """Train ``params`` to minimise ``loss_fn(params, batch)`` with an optax optimiser.

    Each step is one jitted call (loss, gradient, optimiser update). Minibatches come from a
    :class:`DataLoader` over ``data`` when ``batch_size`` is given (shuffled by ``key``, last
    short batch dropped so the step compiles once); otherwise every step sees all of ``data``.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params, batch) -> scalar``, written in JAX.
    params : pytree
        Initial parameters.
    data : pytree of arrays, optional
        Training data with a leading sample axis (passed whole when ``batch_size`` is None; it may
        then be anything, e.g. collocation points or None).
    optimizer : optax.GradientTransformation, optional
        Default ``optax.adam(1e-3)``.
    steps, epochs : int
        The budget: exactly one. ``epochs`` counts passes over ``data`` (one step each without
        ``batch_size``); ``steps`` counts optimiser steps.
    batch_size : int, optional
        Minibatch size (needs ``key``).
    key : PRNG key, optional
        Shuffles the minibatches.
    callbacks : sequence of callables
        ``callback(step, params, loss)`` after every step (on the host); returning True stops.
    progress : bool
        Show a one-line progress bar with the loss on stderr (default True).
    patience : int, optional
        Early stopping: stop after ``patience`` steps (or epochs, with ``epochs``) without the
        monitored loss improving by more than ``min_delta``, and return the best parameters. The
        monitored loss is the step loss, or the epoch's mean step loss with ``epochs``.
    min_delta : float
        Smallest decrease that counts as an improvement.
    lbfgs_steps : int
        If > 0, finish with :func:`lbfgs_finish` on the full ``data`` for at most this many iterations.

    Returns
    -------
    FitResult
        ``params``, ``loss_history``, ``best_loss``, ``n_steps``, ``stopped_early``, ``message``, ``lbfgs``.

    Notes
    -----
    A non-finite loss stops training at once and returns the last parameters with a finite loss,
    with ``stopped_early=True`` and a message that says so.

    Examples
    --------
    >>> import jax.numpy as jnp, optax
    >>> from scijax.ml import fit
    >>> res = fit(lambda p, d: jnp.sum((p["w"] - d) ** 2), {"w": jnp.zeros(2)}, jnp.array([1.0, -2.0]),
    ...           optimizer=optax.adam(0.1), steps=300, progress=False)
    >>> bool(jnp.allclose(res.params["w"], jnp.array([1.0, -2.0]), atol=1e-2)), res.n_steps
    (True, 300)
    """
    if not callable(loss_fn):
        raise TypeError("`loss_fn` must be callable as loss_fn(params, batch).")
    _check_budget(steps, epochs, batch_size, key, patience, data)
    if not all(callable(c) for c in callbacks):
        raise TypeError("`callbacks` must be a sequence of callables callback(step, params, loss).")
    optimizer = optax.adam(1e-3) if optimizer is None else optimizer
    step_fn = _make_step(loss_fn, optimizer)
    loader = None
    if batch_size is not None:
        loader = DataLoader(data, batch_size, key=key, shuffle=True, drop_last=True)
        if len(loader) == 0:
            raise ValueError(f"`batch_size` ({batch_size}) is larger than the data ({loader.n_samples} samples).")
    per_epoch = 1 if loader is None else len(loader)
    total = steps if steps is not None else epochs * per_epoch

    params = _strong_types(params)  # a weak-typed leaf (a Python float) would compile the step twice
    opt_state = optimizer.init(params)
    history: list[float] = []
    best, best_params, since_best = math.inf, params, 0
    last_good = params
    message, stopped = f"finished the budget of {total} steps", False
    bar = _Progress(progress, total, "step")
    epoch_losses: list[float] = []
    done = 0
    while done < total and not stopped:
        epoch = done // per_epoch
        batches = [data] if loader is None else loader.epoch(epoch)
        for batch in batches:
            new_params, opt_state, loss = step_fn(params, opt_state, batch)
            loss = float(loss)
            history.append(loss)
            done += 1
            if not math.isfinite(loss):
                message, stopped = f"stopped: non-finite loss ({loss}) at step {done}", True
                params = last_good
                break
            last_good, params = params, new_params
            epoch_losses.append(loss)
            monitor_now = epochs is None or done % per_epoch == 0
            if monitor_now:
                monitored = loss if epochs is None else float(np.mean(epoch_losses))
                epoch_losses = []
                if monitored < best - min_delta:
                    best, best_params, since_best = monitored, last_good, 0
                else:
                    since_best += 1
                if patience is not None and since_best >= patience:
                    unit = "epochs" if epochs is not None else "steps"
                    message, stopped = f"early stopping: no improvement in {patience} {unit}", True
                    params = best_params
            bar.update(done, loss, best)
            if any(cb(done, params, loss) for cb in callbacks) and not stopped:
                message, stopped = f"stopped by a callback at step {done}", True
            if stopped or done >= total:
                break
    bar.update(done, history[-1] if history else math.nan, best, force=True)
    bar.close()

    lbfgs = None
    if lbfgs_steps:
        params, lbfgs = lbfgs_finish(loss_fn, params, data, maxiter=lbfgs_steps)
        history.append(float(lbfgs.fun))
        best = min(best, float(lbfgs.fun))
    return FitResult(params, np.asarray(history), best, done, stopped, message, lbfgs)


def lbfgs_finish(loss_fn: Callable[[PyTree, Any], Array], params: PyTree, data: Any = None, *,
                 maxiter: int = 200, gtol: float = 1e-8) -> tuple[PyTree, OptimizeResult]:
    """Polish parameters with L-BFGS (``minimize(method='L-BFGS-B')``) on the full data.

    After Adam has found the right basin, a quasi-Newton finish typically lowers a smooth,
    deterministic loss by orders of magnitude in a few hundred iterations. The whole run is one
    compiled call; ``data`` is an argument of it, so new data values do not recompile.

    Returns
    -------
    params : pytree
        The final parameters, if L-BFGS ended with a finite loss no larger than the start;
        otherwise the parameters passed in (so a failed finish never makes things worse).
    result : OptimizeResult
        The ``minimize`` result, with ``status``, ``message`` and ``nit``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.ml import lbfgs_finish
    >>> p, res = lbfgs_finish(lambda p, d: jnp.sum((p["w"] - d) ** 4), {"w": jnp.zeros(2)}, jnp.ones(2))
    >>> bool(res.fun < 1e-8)
    True
    """
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter <= 0:
        raise ValueError(f"`maxiter` must be a positive integer, got {maxiter!r}.")

    @jax.jit
    def run(p, d):
        start = loss_fn(p, d)
        res = minimize(lambda q, dd: loss_fn(q, dd), p, args=(d,), method="L-BFGS-B",
                       options={"maxiter": maxiter, "gtol": gtol, "ftol": 1e-15})
        better = jnp.isfinite(res.fun) & (res.fun <= start)
        chosen = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), res.x, p)
        return chosen, res

    return run(params, data)
