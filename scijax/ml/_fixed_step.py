"""Fixed-step explicit Runge-Kutta on a whole batch at once: the fast path of the ODE models.

``solve_ivp`` is adaptive, and batching it means ``jax.vmap`` over a ``while_loop`` whose step
sizes differ per sample. For training a neural ODE on many trajectories it is much cheaper to
take the same fixed steps for every sample, so that the batch is one matrix state and each stage
is one matrix product per layer. The steps run in a ``lax.scan`` of known length; with
``adjoint='checkpoint'`` each step is wrapped in ``jax.checkpoint`` (memory O(steps x state),
stage activations recomputed on the backward pass), with ``adjoint='direct'`` reverse mode goes
straight through and stores every stage.

This module owns only the scan: the step itself is the integrate family's one explicit
Runge-Kutta core, and the methods are its tableau registry
(:mod:`scijax.solvers.integrate.internal`), the same schemes ``solve_ivp`` runs under those
names; only the step-size control differs. Adding a method there adds it here.
"""

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._typing import Array
from ..solvers.integrate.internal import TABLEAUS, Tableau, rk_step

__all__ = ["FIXED_STEP_METHODS", "FIXED_STEP_ADJOINTS", "Tableau", "fixed_step_solve", "substeps_for"]


FIXED_STEP_METHODS: dict[str, Callable[[], Tableau]] = {name: (lambda tab=tab: tab) for name, tab in TABLEAUS.items()}
"""Method name -> tableau factory for the fixed-step path (``dt=...`` in the ODE models): every
explicit method of the integrate family's registry."""

FIXED_STEP_ADJOINTS: dict[str, Callable[[Callable], Callable]] = {
    "checkpoint": jax.checkpoint,
    "direct": lambda step: step,
}
"""Adjoint name -> wrapper of one step: recompute its stages on the backward pass, or store them."""


def substeps_for(t_eval, dt: float) -> int:
    """Steps per interval between save times: ``ceil(max gap / dt)``, from concrete ``t_eval``."""
    try:
        t = np.asarray(t_eval, dtype=float)
    except jax.errors.TracerArrayConversionError:
        raise ValueError(
            "`t_eval` must be concrete (a NumPy array or a constant closed over by the jitted function) "
            "for a fixed-step method, which fixes the number of steps before tracing; pass it as a "
            "constant, not as a traced argument."
        ) from None
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"`t_eval` must be 1-D with at least 2 times (the first is the initial time), "
                         f"got shape {t.shape}.")
    gaps = np.diff(t)
    if not (np.all(gaps > 0) or np.all(gaps < 0)):
        raise ValueError("`t_eval` must be strictly monotonic.")
    return max(1, math.ceil(float(np.max(np.abs(gaps))) / dt * (1 - 1e-12)))


def fixed_step_solve(
    f: Callable[[Array, Array], Array], t_eval: Array, y0: Array, method: str, substeps: int, adjoint: str
) -> Array:
    """States at ``t_eval`` (shape ``(len(t_eval), *y0.shape)``), starting from ``y0`` at ``t_eval[0]``.

    Each interval ``[t_eval[i], t_eval[i+1]]`` is crossed in ``substeps`` equal steps, so every save
    time is a step end (no interpolation) and no step exceeds the requested ``dt``.
    """
    tab = TABLEAUS[method]
    wrap = FIXED_STEP_ADJOINTS[adjoint]

    @wrap
    def one_step(y, t, h):
        return rk_step(f, tab, t, y, h)

    def interval(y, span):
        t0, t1 = span[0], span[1]
        h = (t1 - t0) / substeps
        if substeps == 1:  # no inner loop: one fewer while-loop per save time (it matters on GPUs)
            y = one_step(y, t0, h)
            return y, y

        def inner(y, i):
            return one_step(y, t0 + i * h, h), None

        y, _ = jax.lax.scan(inner, y, jnp.arange(substeps, dtype=t_eval.dtype))
        return y, y

    spans = jnp.stack([t_eval[:-1], t_eval[1:]], axis=1)
    _, ys = jax.lax.scan(interval, y0, spans)
    return jnp.concatenate([y0[None], ys], axis=0)
