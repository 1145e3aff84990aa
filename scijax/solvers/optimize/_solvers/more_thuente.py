"""Moré and Thuente's line search (MINPACK-2's ``dcsrch``), the search SciPy's BFGS, CG and
Newton-CG try first (``line_search_wolfe1``).

J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient decrease",
ACM Trans. Math. Softw. 20(3), 286-307 (1994). The search keeps an interval of uncertainty
``[stx, sty]`` around a point of the strong Wolfe conditions and picks each trial step from
cubic and quadratic interpolants of the best point and the trial (the four cases of the paper's
``dcstep``), with extrapolation bounded to ``[1.1, 4]`` times the last step before a bracket is
found, and a bisection whenever the interval fails to shrink by a third in two trials. While
no point is known to have ``phi'(a) >= 0`` with sufficient decrease, it works on the auxiliary
function ``phi(a) - phi(0) - c1 a phi'(0)`` (the paper's first stage).

:func:`more_thuente` returns :class:`.wolfe.WolfeResult`; ``found`` is false when the search
stopped on one of the paper's warnings (the interval shrank below ``xtol`` relative, rounding
errors prevent progress, a step bound was reached) or on a non-finite value, where SciPy's
callers fall back to :func:`.wolfe.strong_wolfe`, which is what :func:`wolfe12` does.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .wolfe import WolfeResult, strong_wolfe

__all__ = ["more_thuente", "wolfe12"]


def _cubic_gamma(theta, s, da, db):
    return s * jnp.sqrt(jnp.maximum(0.0, (theta / s) ** 2 - (da / s) * (db / s)))


def _safe_div(a, b):
    return a / jnp.where(b == 0, 1.0, b)


def _gamma_x(stx, fx, dx, stp, fp, dp):
    """``theta`` and ``gamma`` of the cubic through ``(stx, fx, dx)`` and ``(stp, fp, dp)``."""
    theta = 3.0 * _safe_div(fx - fp, stp - stx) + dx + dp
    s = jnp.maximum(jnp.maximum(jnp.abs(theta), jnp.abs(dx)), jnp.abs(dp))
    s = jnp.where(s == 0, 1.0, s)
    return theta, _cubic_gamma(theta, s, dx, dp)


def _case1(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    # A higher value: the minimum is bracketed; the cubic step, or halfway to the quadratic one.
    theta, gamma = _gamma_x(stx, fx, dx, stp, fp, dp)
    gamma = jnp.where(stp < stx, -gamma, gamma)
    stpc = stx + _safe_div((gamma - dx) + theta, ((gamma - dx) + gamma) + dp) * (stp - stx)
    stpq = stx + _safe_div(dx, _safe_div(fx - fp, stp - stx) + dx) / 2.0 * (stp - stx)
    return jnp.where(jnp.abs(stpc - stx) < jnp.abs(stpq - stx), stpc, stpc + (stpq - stpc) / 2.0)


def _case2(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    # A lower value, derivatives of opposite sign: bracketed; the cubic or the secant step.
    theta, gamma = _gamma_x(stx, fx, dx, stp, fp, dp)
    gamma = jnp.where(stp > stx, -gamma, gamma)
    stpc = stp + _safe_div((gamma - dp) + theta, ((gamma - dp) + gamma) + dx) * (stx - stp)
    stpq = stp + _safe_div(dp, dp - dx) * (stx - stp)
    return jnp.where(jnp.abs(stpc - stp) > jnp.abs(stpq - stp), stpc, stpq)


def _case3(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    # A lower value, same sign, the derivative decreases in magnitude.
    theta, gamma = _gamma_x(stx, fx, dx, stp, fp, dp)
    gamma = jnp.where(stp > stx, -gamma, gamma)
    r = _safe_div((gamma - dp) + theta, (gamma + (dx - dp)) + gamma)
    stpc = jnp.where((r < 0) & (gamma != 0), stp + r * (stx - stp), jnp.where(stp > stx, stpmax, stpmin))
    stpq = stp + _safe_div(dp, dp - dx) * (stx - stp)
    near = jnp.where(jnp.abs(stpc - stp) < jnp.abs(stpq - stp), stpc, stpq)
    cap = stp + 0.66 * (sty - stp)
    near = jnp.where(stp > stx, jnp.minimum(cap, near), jnp.maximum(cap, near))
    far = jnp.clip(jnp.where(jnp.abs(stpc - stp) > jnp.abs(stpq - stp), stpc, stpq), stpmin, stpmax)
    return jnp.where(brackt, near, far)


def _case4(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    # A lower value, same sign, the derivative does not decrease: the cubic through y, or a bound.
    theta, gamma = _gamma_x(sty, fy, dy, stp, fp, dp)
    gamma = jnp.where(stp > sty, -gamma, gamma)
    stpc = stp + _safe_div((gamma - dp) + theta, ((gamma - dp) + gamma) + dy) * (sty - stp)
    return jnp.where(brackt, stpc, jnp.where(stp > stx, stpmax, stpmin))


def _dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """One trial-step update (the paper's four cases, one branch each); returns the new interval
    and step."""
    sgnd = dp * jnp.sign(dx)
    case1 = fp > fx
    case2 = jnp.invert(case1) & (sgnd < 0)
    case3 = jnp.invert(case1 | case2) & (jnp.abs(dp) < jnp.abs(dx))
    index = jnp.where(case1, 0, jnp.where(case2, 1, jnp.where(case3, 2, 3)))
    operands = (stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax)
    stpf = jax.lax.switch(index, (_case1, _case2, _case3, _case4), *operands)
    brackt = brackt | case1 | case2
    # The new interval: the trial replaces y on a higher value, else becomes x (and x becomes y
    # when the derivatives have opposite signs).
    swap = jnp.invert(case1) & (sgnd < 0)
    sty, fy, dy = (jnp.where(case1, b, jnp.where(swap, a, c)) for a, b, c in
                   ((stx, stp, sty), (fx, fp, fy), (dx, dp, dy)))
    stx, fx, dx = (jnp.where(case1, a, b) for a, b in ((stx, stp), (fx, fp), (dx, dp)))
    return stx, fx, dx, sty, fy, dy, stpf, brackt


def _step_bounds(dtype, amin: float, amax: float) -> tuple[float, float]:
    """SciPy's step bounds (1e-100, 1e100), cut to what ``dtype`` holds (float32: 1e-38, 1e38)."""
    info = jnp.finfo(dtype)
    return max(amin, float(info.tiny)), min(amax, float(info.max) / 4)


def more_thuente(
    phi: Callable[[Array], tuple[Array, Array, Any]],
    phi0: Array,
    dphi0: Array,
    t0: Array | float = 1.0,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    xtol: float = 1e-14,
    amin: float = 1e-100,
    amax: float = 1e100,
    maxiter: int = 100,
) -> WolfeResult:
    """A strong-Wolfe step for ``phi`` (``phi(a) -> (value, slope, aux)``) from ``phi(0) = phi0``,
    ``phi'(0) = dphi0 < 0``, by Moré and Thuente's search (see the module docstring); at most
    ``maxiter`` evaluations of ``phi``."""
    dtype = jnp.result_type(phi0)
    amin, amax = _step_bounds(dtype, amin, amax)
    t0 = jnp.clip(jnp.asarray(t0, dtype), amin, amax)
    gtest = c1 * dphi0
    v0, s0, aux0 = phi(t0)
    zero = jnp.zeros((), dtype)
    init = dict(stp=t0, f=v0, g=s0, aux=aux0, stx=zero, fx=phi0, gx=dphi0, sty=zero, fy=phi0, gy=dphi0,
                brackt=jnp.array(False), stage1=jnp.array(True), stmin=zero, stmax=t0 + 4.0 * t0,
                width=jnp.asarray(amax - amin, dtype), width1=jnp.asarray(2.0 * (amax - amin), dtype),
                evals=jnp.array(1), done=jnp.array(False), found=jnp.array(False))

    def check(c):
        stp, f, g = c["stp"], c["f"], c["g"]
        ftest = phi0 + stp * gtest
        converged = (f <= ftest) & (jnp.abs(g) <= -c2 * dphi0) & jnp.isfinite(f)
        brackt = c["brackt"]
        warn = ((brackt & ((stp <= c["stmin"]) | (stp >= c["stmax"])))
                | (brackt & (c["stmax"] - c["stmin"] <= xtol * c["stmax"]))
                | ((stp == amax) & (f <= ftest) & (g <= gtest))
                | ((stp == amin) & ((f > ftest) | (g >= gtest)))
                | jnp.invert(jnp.isfinite(f) & jnp.isfinite(g)))
        return converged, converged | warn

    def cond(c):
        return jnp.invert(c["done"]) & (c["evals"] < maxiter)

    def body(c):
        stp, f, g = c["stp"], c["f"], c["g"]
        ftest = phi0 + stp * gtest
        stage1 = c["stage1"] & jnp.invert((f <= ftest) & (g >= 0))
        # In the first stage, a point with f <= fx but without sufficient decrease: work on the
        # auxiliary function psi(a) = phi(a) - phi0 - a gtest.
        modified = stage1 & (f <= c["fx"]) & (f > ftest)
        shift = jnp.where(modified, gtest, 0.0)
        stx, fx, gx, sty, fy, gy, new_stp, brackt = _dcstep(
            c["stx"], c["fx"] - c["stx"] * shift, c["gx"] - shift, c["sty"], c["fy"] - c["sty"] * shift,
            c["gy"] - shift, stp, f - stp * shift, g - shift, c["brackt"], c["stmin"], c["stmax"])
        fx, gx, fy, gy = fx + stx * shift, gx + shift, fy + sty * shift, gy + shift
        width, width1 = c["width"], c["width1"]
        bisect = brackt & (jnp.abs(sty - stx) >= 0.66 * width1)
        new_stp = jnp.where(bisect, stx + 0.5 * (sty - stx), new_stp)
        width1 = jnp.where(brackt, width, width1)
        width = jnp.where(brackt, jnp.abs(sty - stx), width)
        stmin = jnp.where(brackt, jnp.minimum(stx, sty), new_stp + 1.1 * (new_stp - stx))
        stmax = jnp.where(brackt, jnp.maximum(stx, sty), new_stp + 4.0 * (new_stp - stx))
        new_stp = jnp.clip(new_stp, amin, amax)
        stuck = brackt & ((new_stp <= stmin) | (new_stp >= stmax) | (stmax - stmin <= xtol * stmax))
        new_stp = jnp.where(stuck | jnp.invert(jnp.isfinite(new_stp)), stx, new_stp)
        nv, ns, naux = phi(new_stp)
        out = dict(stp=new_stp, f=nv, g=ns, aux=naux, stx=stx, fx=fx, gx=gx, sty=sty, fy=fy, gy=gy,
                   brackt=brackt, stage1=stage1, stmin=stmin, stmax=stmax, width=width, width1=width1,
                   evals=c["evals"] + 1)
        found, done = check(out)
        return {**out, "done": done, "found": found}

    found, done = check(init)
    out: dict[str, Any] = jax.lax.while_loop(cond, body, {**init, "done": done, "found": found})
    return WolfeResult(out["stp"], out["f"], out["g"], out["aux"], out["evals"], out["found"])


def wolfe12(
    phi: Callable[[Array], tuple[Array, Array, Any]],
    phi0: Array,
    dphi0: Array,
    t0: Array | float = 1.0,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    extra: Callable[[Array, Any], Array] | None = None,
) -> WolfeResult:
    """SciPy's ``_line_search_wolfe12``: :func:`more_thuente` first; where it finds no point (or
    one that fails ``extra``), :func:`.wolfe.strong_wolfe` from the same first trial.
    ``evals`` counts both."""
    first = more_thuente(phi, phi0, dphi0, t0, c1=c1, c2=c2)
    ok = first.found if extra is None else first.found & extra(first.step, first.aux)

    def fallback(_):
        amax = _step_bounds(jnp.result_type(phi0), 1e-100, 1e100)[1]
        second = strong_wolfe(phi, phi0, dphi0, t0, c1=c1, c2=c2, amax=amax, extra=extra)
        return second._replace(evals=second.evals + first.evals)

    return jax.lax.cond(ok, lambda _: first, fallback, None)
