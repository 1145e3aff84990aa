"""The one explicit Runge-Kutta core: stages, error estimate, step-size rule, initial step, dense output.

Drivers own their loops and only call these functions: the ensemble stepper of
:mod:`scijax.parallel` (a ``while_loop`` with a step size per member, traced
into XLA or into a Pallas kernel) and the fixed-step scan of :mod:`scijax.ml`
(reverse-differentiable ``lax.scan``). ``solve_ivp``'s diffrax run uses
:func:`initial_step`. Methods are data (:mod:`._rk_tableaus`).

Every function works leaf-wise on a pytree state ``y`` with only element-wise
``jnp`` operations (so it traces into a kernel); a reduction over the state,
which depends on the driver's layout (per member, or over the whole state),
is passed in as ``norm`` or done by the caller. Coefficients are static Python
floats: zero coefficients cost nothing. The step ``h`` is either a scalar (all
of ``y`` takes one step; ``h`` is folded into the coefficients) or an array
that broadcasts against every leaf (one step per ensemble member).

Step-size control is SciPy's (``RungeKutta._step_impl``): the error is
``h * sum(e_i K_i)`` scaled by ``atol + rtol * max(|y|, |y_new|)``, a step is
accepted when the RMS of the scaled error is below one, and the next step is
the current one times ``0.9 * err**(-1/(error_order + 1))`` clipped to
``[0.2, 10]``, with no growth right after a rejection. ``pcoeff`` adds the
proportional term of a PI controller (diffrax's ``PIDController`` convention).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ._rk_tableaus import Tableau, dense_matrix

__all__ = ["SAFETY", "MIN_FACTOR", "MAX_FACTOR", "combine", "weighted", "rk_stages", "rk_step",
           "error_scale", "scaled_error", "step_factors", "initial_step", "dense_eval"]

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0

PyTree = Any


def weighted(h, coeffs: tuple[float, ...], ks) -> PyTree:
    """``h * sum(c_i * k_i)`` leaf-wise, skipping zero coefficients (they are static)."""
    terms = [(c, k) for c, k in zip(coeffs, ks, strict=False) if c != 0.0]
    scalar_h = jnp.ndim(h) == 0  # one step for all: fold h into the coefficients (one multiply fewer)

    def leaf(*k_leaves):
        scale = (lambda c: c * h) if scalar_h else (lambda c: c)
        acc = scale(terms[0][0]) * k_leaves[0]
        for (c, _), kl in zip(terms[1:], k_leaves[1:], strict=True):
            acc = acc + scale(c) * kl
        return acc if scalar_h else h * acc

    return jax.tree.map(leaf, *[k for _, k in terms])


def combine(y, h, coeffs: tuple[float, ...], ks) -> PyTree:
    """``y + h * sum(c_i * k_i)`` leaf-wise (stages with a zero coefficient may be ``None``)."""
    terms = [(c, k) for c, k in zip(coeffs, ks, strict=False) if c != 0.0]
    if not terms:
        return y
    if jnp.ndim(h) != 0:
        return jax.tree.map(jnp.add, y, weighted(h, coeffs, ks))

    def leaf(y_leaf, *k_leaves):  # scalar h: one multiply-add chain starting from y
        acc = y_leaf
        for (c, _), kl in zip(terms, k_leaves, strict=True):
            acc = acc + (c * h) * kl
        return acc

    return jax.tree.map(leaf, y, *[k for _, k in terms])


def _stages_needed(tab: Tableau) -> set[int]:
    """Stages that contribute to the solution ``b``, directly or through later stages."""
    used = {i for i, b in enumerate(tab.b) if b != 0.0}
    for i in range(len(tab.a) - 1, 0, -1):
        if i in used:
            used |= {j for j, a in enumerate(tab.a[i]) if a != 0.0}
    return used | {0}


def rk_stages(rhs: Callable, tab: Tableau, t, y, h, k0, *, solution_only: bool = False):
    """All stages of one step from ``(t, y)``; returns ``(y_new, ks)``. ``k0`` is ``rhs(t, y)``.

    With ``solution_only``, stages that the solution does not use (the FSAL stage of
    RK45/Tsit5, which only the error estimate and the next step need) are skipped and
    left as ``None`` in ``ks``.
    """
    needed = _stages_needed(tab) if solution_only else range(len(tab.c))
    ks = [k0]
    y_new = None
    for i in range(1, len(tab.c)):
        if i not in needed:
            ks.append(None)
            continue
        y_i = combine(y, h, tab.a[i], ks)
        ks.append(rhs(t + tab.c[i] * h, y_i))
        if tab.fsal and i == len(tab.c) - 1:
            y_new = y_i
    if y_new is None:
        y_new = combine(y, h, tab.b, ks)
    return y_new, tuple(ks)


def rk_step(rhs: Callable, tab: Tableau, t, y, h) -> PyTree:
    """One step of size ``h`` from ``(t, y)`` without error estimate: the new state only."""
    return rk_stages(rhs, tab, t, y, h, rhs(t, y), solution_only=True)[0]


def error_scale(y, y_new, rtol, atol) -> PyTree:
    """SciPy's error scale ``atol + rtol * max(|y|, |y_new|)`` (``rtol``/``atol`` floats or trees like ``y``)."""
    return jax.tree.map(lambda a, r, u, v: a + r * jnp.maximum(jnp.abs(u), jnp.abs(v)), atol, rtol, y, y_new)


def scaled_error(tab: Tableau, h, ks, y, y_new, rtol, atol) -> PyTree:
    """The local error estimate ``h * sum(e_i K_i)`` divided by :func:`error_scale`; the caller takes its RMS."""
    if tab.e is None:
        raise ValueError("this tableau has no embedded error estimate")
    return jax.tree.map(lambda x, s: x / s, weighted(h, tab.e, ks), error_scale(y, y_new, rtol, atol))


def step_factors(err2, rejected, error_order: int, pcoeff: float = 0.0, icoeff: float = 1.0, err_prev=None):
    """Step-size factors ``(if accepted, if rejected)`` from the mean-square scaled error ``err2``.

    ``err2 == 0`` gives the largest factor; a non-finite error gives the smallest.
    ``err_prev`` (the previous accepted RMS error) is needed only when ``pcoeff != 0``.
    """
    k_exp = 1.0 / (error_order + 1)
    exponent = -(icoeff + pcoeff) * k_exp * 0.5 * jnp.log(err2)
    if pcoeff != 0.0:
        if err_prev is None:
            raise ValueError("`err_prev` is needed when pcoeff != 0")
        exponent = exponent + pcoeff * k_exp * jnp.log(err_prev)
    fac = SAFETY * jnp.exp(exponent)
    fac_acc = jnp.minimum(MAX_FACTOR, fac)  # err == 0 gives inf -> MAX_FACTOR
    fac_acc = jnp.where(rejected, jnp.minimum(1.0, fac_acc), fac_acc)
    fac_rej = jnp.where(fac > MIN_FACTOR, fac, MIN_FACTOR)  # nan error -> shrink
    return fac_acc, fac_rej


def initial_step(rhs: Callable, t0, y0, f0, direction, error_order: int, rtol, atol, max_step, span,
                 norm: Callable[[PyTree], jax.Array]) -> jax.Array:
    """SciPy's ``select_initial_step`` (Hairer, Norsett and Wanner, II.4): one more evaluation of ``rhs``.

    ``f0 = rhs(t0, y0)``; ``error_order`` is the error estimator's order (the exponent is
    ``1 / (error_order + 1)``); ``norm`` is the RMS norm of a state-shaped tree (per member
    for an ensemble); ``span = |tf - t0|``.
    """
    scale = jax.tree.map(lambda a, r, y: a + jnp.abs(y) * r, atol, rtol, y0)
    ratio = lambda tree: jax.tree.map(lambda x, s: x / s, tree, scale)
    d0, d1 = norm(ratio(y0)), norm(ratio(f0))
    h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / jnp.where(d1 == 0, 1, d1))
    h0 = jnp.minimum(h0, span)
    step = direction * h0
    f1 = rhs(t0 + step, jax.tree.map(lambda y, f: y + step * f, y0, f0))
    d2 = norm(ratio(jax.tree.map(jnp.subtract, f1, f0))) / h0
    big = jnp.maximum(d1, d2)
    h1 = (0.01 / jnp.where(big == 0, 1, big)) ** (1 / (error_order + 1))
    h1 = jnp.where(big <= 1e-15, jnp.maximum(1e-6, h0 * 1e-3), h1)
    return jnp.minimum(jnp.minimum(100 * h0, h1), jnp.minimum(span, max_step))


def dense_eval(tab: Tableau, y_old, h, ks, x) -> PyTree:
    """The continuous extension at ``t_old + x h`` of the step ``(y_old, h, ks)`` (SciPy's ``RkDenseOutput``)."""
    p = dense_matrix(tab)
    powers = [x]
    for _ in range(1, len(p[0])):
        powers.append(powers[-1] * x)
    weights = [sum(pij * xj for pij, xj in zip(row, powers, strict=True) if pij != 0.0) for row in p]
    terms = [(w, k) for w, k in zip(weights, ks, strict=True) if not isinstance(w, int)]

    def leaf(y_leaf, *k_leaves):
        acc = terms[0][0] * k_leaves[0]
        for (w, _), kl in zip(terms[1:], k_leaves[1:], strict=True):
            acc = acc + w * kl
        return y_leaf + h * acc

    return jax.tree.map(leaf, y_old, *[k for _, k in terms])
