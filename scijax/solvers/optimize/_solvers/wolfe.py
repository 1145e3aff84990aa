"""A strong-Wolfe line search: bracketing, then zoom with safeguarded cubic interpolation.

Nocedal & Wright, *Numerical Optimization* (2nd ed.), Algorithms 3.5 and 3.6, written as one
``lax.while_loop`` whose every trip evaluates ``phi`` and its slope once:

- **bracket**: from ``a = t0`` grow the step (doubling, capped at ``amax``) until ``[a_lo, a_hi]``
  is known to hold a point of the strong Wolfe conditions;
- **zoom**: shrink the bracket, each trial the minimiser of the cubic through both ends
  (values and slopes), kept at least 10% of the bracket's width from either end (else bisect).

A trial is accepted when ``phi(a) <= phi(0) + c1 a phi'(0)`` and ``|phi'(a)| <= c2 |phi'(0)|``.
A non-finite value counts as a failed sufficient-decrease test (the step shrinks), so the search
walks back out of a region where ``f`` is NaN or infinite. ``extra(a, aux)`` may add a condition
an accepted point must also meet (nonlinear CG's descent test of the next direction).

This is the search SciPy's BFGS, CG and Newton-CG fall back on (``scalar_search_wolfe2``); they
try MINPACK's Moré-Thuente search (``dcsrch``, :mod:`.more_thuente`) first, and so do ours
(:func:`.more_thuente.wolfe12`). ``line_search`` runs this search alone, as SciPy's does.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["WolfeResult", "strong_wolfe"]


class WolfeResult(NamedTuple):
    """``found`` is false when no strong-Wolfe point was found within ``maxiter`` trials; the
    other fields are then those of the last trial, which the caller should not take (SciPy's
    BFGS and CG stop there with "precision loss")."""

    step: Array
    value: Array
    slope: Array
    aux: Any
    evals: Array
    found: Array


def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic interpolating ``(a, fa, da)`` and ``(b, fb, db)``, or NaN."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    d2 = jnp.sign(b - a) * jnp.sqrt(jnp.maximum(disc, 0.0))
    t = b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2)
    return jnp.where(disc >= 0, t, jnp.nan)


def strong_wolfe(
    phi: Callable[[Array], tuple[Array, Array, Any]],
    phi0: Array,
    dphi0: Array,
    t0: Array | float = 1.0,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    amax: float = 1e10,
    maxiter: int = 30,
    extra: Callable[[Array, Any], Array] | None = None,
) -> WolfeResult:
    """A step ``a`` meeting the strong Wolfe conditions for ``phi`` from ``phi(0) = phi0``,
    ``phi'(0) = dphi0 < 0``.

    ``phi(a) -> (value, slope, aux)``; ``aux`` (the gradient at the trial point, say) is handed
    back for the accepted step. At most ``maxiter`` evaluations of ``phi``.
    """
    dtype = jnp.result_type(phi0)
    t0 = jnp.asarray(t0, dtype)
    v0, s0, aux0 = phi(t0)
    zero = jnp.zeros((), dtype)

    def accept(a, v, s, aux):
        ok = (v <= phi0 + c1 * a * dphi0) & (jnp.abs(s) <= -c2 * dphi0) & jnp.isfinite(v)
        return ok if extra is None else ok & extra(a, aux)

    # carry: trial (a, v, s, aux); bracket ends lo (a, v, s), hi (a, v, s); zooming; evals; done;
    # best sufficient-decrease trial (a, v, s, aux) as a fallback
    init = dict(a=t0, v=v0, s=s0, aux=aux0, lo=(zero, phi0, dphi0), hi=(zero, phi0, dphi0),
                zoom=jnp.array(False), evals=jnp.array(1), done=accept(t0, v0, s0, aux0),
                first=jnp.array(True))

    def cond(c):
        return jnp.invert(c["done"]) & (c["evals"] < maxiter)

    def body(c):
        a, v, s = c["a"], c["v"], c["s"]
        armijo_fails = jnp.invert(jnp.isfinite(v)) | (v > phi0 + c1 * a * dphi0)
        lo, hi = c["lo"], c["hi"]
        # --- bracketing phase (Algorithm 3.5): decide the bracket from the trial ---
        b_fail = armijo_fails | (jnp.invert(c["first"]) & (v >= lo[1]))
        b_pos = jnp.invert(b_fail) & (s >= 0)
        start_zoom = b_fail | b_pos
        b_lo = jax.tree_util.tree_map(lambda p, q: jnp.where(b_fail, p, q), lo, (a, v, s))
        b_hi = jax.tree_util.tree_map(lambda p, q: jnp.where(b_fail, p, q), (a, v, s), lo)
        grow = jnp.minimum(2.0 * a, amax)
        # --- zoom phase (Algorithm 3.6): update the bracket with the trial ---
        z_hi_is_trial = armijo_fails | (v >= lo[1])
        flip = jnp.invert(z_hi_is_trial) & (s * (hi[0] - lo[0]) >= 0)
        z_lo = jax.tree_util.tree_map(lambda p, q: jnp.where(z_hi_is_trial, p, q), lo, (a, v, s))
        z_hi = jax.tree_util.tree_map(lambda p, q, r: jnp.where(z_hi_is_trial, p, jnp.where(flip, q, r)),
                                      (a, v, s), lo, hi)
        zoom = c["zoom"]
        new_lo = jax.tree_util.tree_map(lambda p, q, r: jnp.where(zoom, p, jnp.where(start_zoom, q, r)),
                                        z_lo, b_lo, (a, v, s))
        new_hi = jax.tree_util.tree_map(lambda p, q, r: jnp.where(zoom, p, jnp.where(start_zoom, q, r)),
                                        z_hi, b_hi, hi)
        zooming = zoom | start_zoom
        # next trial: the safeguarded cubic minimiser inside the bracket, or the grown step
        (la, lv, ls), (ha, hv, hs) = new_lo, new_hi
        finite_hi = jnp.isfinite(hv) & jnp.isfinite(hs)
        cubic = jnp.where(finite_hi, _cubic_min(la, lv, ls, ha, hv, hs), jnp.nan)
        width = jnp.abs(ha - la)
        left, right = jnp.minimum(la, ha), jnp.maximum(la, ha)
        safe = jnp.isfinite(cubic) & (cubic > left + 0.1 * width) & (cubic < right - 0.1 * width)
        trial = jnp.where(zooming, jnp.where(safe, cubic, 0.5 * (la + ha)), grow)
        nv, ns, naux = phi(trial)
        return dict(a=trial, v=nv, s=ns, aux=naux, lo=new_lo, hi=new_hi, zoom=zooming,
                    evals=c["evals"] + 1, done=accept(trial, nv, ns, naux), first=jnp.array(False))

    out: dict[str, Any] = jax.lax.while_loop(cond, body, init)
    return WolfeResult(out["a"], out["v"], out["s"], out["aux"], out["evals"], out["done"])
