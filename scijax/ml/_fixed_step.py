"""Fixed-step explicit Runge-Kutta on a whole batch at once: the fast path of the ODE models.

``solve_ivp`` is adaptive, and batching it means ``jax.vmap`` over a ``while_loop`` whose step
sizes differ per sample. For training a neural ODE on many trajectories it is much cheaper to
take the same fixed steps for every sample, so that the batch is one matrix state and each stage
is one matrix product per layer. The steps run in a ``lax.scan`` of known length; with
``adjoint='checkpoint'`` each step is wrapped in ``jax.checkpoint`` (memory O(steps x state),
stage activations recomputed on the backward pass), with ``adjoint='direct'`` reverse mode goes
straight through and stores every stage.

The Butcher tableaus are diffrax's own (the ones ``solve_ivp`` uses for the same method names), so
``method='Tsit5'`` here and in ``solve_ivp`` are the same scheme; only the step-size control
differs. Methods are data: adding one is one entry in :data:`FIXED_STEP_METHODS`.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from .._typing import Array

__all__ = ["FIXED_STEP_METHODS", "FIXED_STEP_ADJOINTS", "Tableau", "fixed_step_solve", "substeps_for"]


class Tableau(NamedTuple):
    """An explicit Butcher tableau: nodes ``c`` (stages 2..s), lower rows ``a``, weights ``b``."""

    c: tuple[float, ...]
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]


def _from_diffrax(solver: Callable[[], diffrax.AbstractSolver]) -> Callable[[], Tableau]:
    def build() -> Tableau:
        tab = solver().tableau  # pyright: ignore[reportAttributeAccessIssue] (diffrax's explicit RK solvers)
        return Tableau(tuple(float(c) for c in tab.c), tuple(tuple(float(x) for x in row) for row in tab.a_lower),
                       tuple(float(b) for b in tab.b_sol))

    return build


FIXED_STEP_METHODS: dict[str, Callable[[], Tableau]] = {
    "Tsit5": _from_diffrax(diffrax.Tsit5),
    "RK45": _from_diffrax(diffrax.Dopri5),
    "RK23": _from_diffrax(diffrax.Bosh3),
    "DOP853": _from_diffrax(diffrax.Dopri8),
    "Heun": _from_diffrax(diffrax.Heun),
    "Midpoint": _from_diffrax(diffrax.Midpoint),
    "RK4": lambda: Tableau((0.5, 0.5, 1.0), ((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)), (1 / 6, 1 / 3, 1 / 3, 1 / 6)),
    "Euler": lambda: Tableau((), (), (1.0,)),
}
"""Method name -> explicit tableau for the fixed-step path (``dt=...`` in the ODE models)."""

FIXED_STEP_ADJOINTS: dict[str, Callable[[Callable], Callable]] = {
    "checkpoint": jax.checkpoint,
    "direct": lambda step: step,
}
"""Adjoint name -> wrapper of one step: recompute its stages on the backward pass, or store them."""


def _combine(y: Array, h: Array, weights: tuple[float, ...], ks: list[Array]) -> Array:
    terms = [w * k for w, k in zip(weights, ks, strict=False) if w != 0.0]
    return y if not terms else y + h * sum(terms[1:], terms[0])


def rk_step(f: Callable[[Array, Array], Array], tab: Tableau, t: Array, y: Array, h: Array) -> Array:
    """One explicit Runge-Kutta step of size ``h`` from ``(t, y)``; ``f(t, y)`` acts on the whole batch."""
    ks = [f(t, y)]
    used = _stages_used(tab)
    for i, (c, row) in enumerate(zip(tab.c, tab.a, strict=True)):
        if i + 1 not in used:  # e.g. the FSAL stage of Tsit5/Dopri5, which the solution weights skip
            ks.append(None)  # pyright: ignore[reportArgumentType] (a placeholder the weights skip)
            continue
        ks.append(f(t + c * h, _combine(y, h, row, ks)))
    return _combine(y, h, tab.b, ks)


def _stages_used(tab: Tableau) -> set[int]:
    """Stages that contribute to the solution, directly or through later stages."""
    used = {i for i, b in enumerate(tab.b) if b != 0.0}
    for i in range(len(tab.a), 0, -1):
        if i in used:
            used |= {j for j, a in enumerate(tab.a[i - 1]) if a != 0.0}
    return used | {0}


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
    tab = FIXED_STEP_METHODS[method]()
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
