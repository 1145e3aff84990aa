"""Scalar minimisers as optimistix minimisers, ported from SciPy's ``_optimize.py`` rule for rule:
Brent's parabolic method (``Brent``), the bounded variant (``fminbound``, ``Bounded``) and
golden-section search (``Golden``); plus SciPy's downhill ``bracket`` search.

The state holds SciPy's local variables; each optimistix step is one iteration of SciPy's loop.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["Brent", "Bounded", "Golden", "find_bracket"]

_GOLD = 1.618034
_CG = 0.3819660


def find_bracket(f, xa, xb, grow_limit: float = 110.0, maxiter: int = 1000):
    """SciPy's ``bracket``: walk downhill from ``(xa, xb)`` to ``xa, xb, xc`` with ``f(xb)`` lowest.

    Returns ``(xa, xb, xc, fa, fb, fc, nfev, valid)``; ``valid`` is SciPy's three-condition test.
    """
    fa, fb = f(xa), f(xb)
    swap = fa < fb
    xa, xb, fa, fb = (jnp.where(swap, xb, xa), jnp.where(swap, xa, xb), jnp.where(swap, fb, fa),
                      jnp.where(swap, fa, fb))
    xc = xb + _GOLD * (xb - xa)
    fc = f(xc)
    tiny = 1e-21

    def cond(c):
        xa, xb, xc, fa, fb, fc, nfev, it, done = c
        return (fc < fb) & jnp.invert(done) & (it <= maxiter)

    def body(c):
        xa, xb, xc, fa, fb, fc, nfev, it, _ = c
        tmp1 = (xb - xa) * (fb - fc)
        tmp2 = (xb - xc) * (fb - fa)
        val = tmp2 - tmp1
        denom = jnp.where(jnp.abs(val) < tiny, 2.0 * tiny, 2.0 * val)
        w = xb - ((xb - xc) * tmp2 - (xb - xa) * tmp1) / denom
        wlim = xb + grow_limit * (xc - xb)

        def between(_):  # w between xb and xc
            fw = f(w)
            w2 = xc + _GOLD * (xc - xb)
            fw2 = f(w2)
            lower = fw < fc
            higher = jnp.invert(lower) & (fw > fb)
            # lower: (xb, w, xc) is a bracket; higher: (xa, xb, w) is a bracket
            shifted = (xb, xc, w2, fb, fc, fw2)
            done = lower | higher
            out = (jnp.where(lower, xb, jnp.where(higher, xa, shifted[0])),
                   jnp.where(lower, w, jnp.where(higher, xb, shifted[1])),
                   jnp.where(lower, xc, jnp.where(higher, w, shifted[2])),
                   jnp.where(lower, fb, jnp.where(higher, fa, shifted[3])),
                   jnp.where(lower, fw, jnp.where(higher, fb, shifted[4])),
                   jnp.where(lower, fc, jnp.where(higher, fw, shifted[5])))
            return (*out, jnp.where(done, 1, 2), done)

        def at_limit(_):
            fw = f(wlim)
            return xb, xc, wlim, fb, fc, fw, 1, jnp.array(False)

        def toward_limit(_):
            fw = f(w)
            w2 = w + _GOLD * (w - xc)
            fw2 = f(w2)
            better = fw < fc
            return (jnp.where(better, xc, xb), jnp.where(better, w, xc), jnp.where(better, w2, w),
                    jnp.where(better, fc, fb), jnp.where(better, fw, fc),
                    jnp.where(better, fw2, fw), jnp.where(better, 2, 1), jnp.array(False))

        def default(_):
            w2 = xc + _GOLD * (xc - xb)
            return xb, xc, w2, fb, fc, f(w2), 1, jnp.array(False)

        case = jnp.where((w - xc) * (xb - w) > 0.0, 0,
                         jnp.where((w - wlim) * (wlim - xc) >= 0.0, 1,
                                   jnp.where((w - wlim) * (xc - w) > 0.0, 2, 3)))
        *new, inc, done = jax.lax.switch(case, [between, at_limit, toward_limit, default], None)
        return (*new, nfev + inc, it + 1, done)

    init = (xa, xb, xc, fa, fb, fc, jnp.array(3), jnp.array(0), jnp.array(False))
    xa, xb, xc, fa, fb, fc, nfev, _, _ = jax.lax.while_loop(cond, body, init)
    cond1 = ((fb < fc) & (fb <= fa)) | ((fb < fa) & (fb <= fc))
    cond2 = ((xa < xb) & (xb < xc)) | ((xc < xb) & (xb < xa))
    cond3 = jnp.isfinite(xa) & jnp.isfinite(xb) & jnp.isfinite(xc)
    return xa, xb, xc, fa, fb, fc, nfev, cond1 & cond2 & cond3


class _BrentState(eqx.Module):
    a: Array
    b: Array
    x: Array
    w: Array
    v: Array
    fx: Array
    fw: Array
    fv: Array
    deltax: Array
    rat: Array
    nit: Array
    nfev: Array
    converged: Array
    valid: Array


def _scalar_stats(state):
    return {"nit": state.nit, "nfev": state.nfev, "converged": state.converged, "valid": state.valid}


class Brent(optx.AbstractMinimiser):
    """Brent's method; the bracket ``(xa, xb, xc, fa, fb, fc, nfev, valid)`` is in
    ``options['bracket']``."""

    xtol: float = 1.48e-8
    maxiter: int = 500
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        xa, xb, xc, fa, fb, fc, nfev, valid = options["bracket"]
        a, b = jnp.minimum(xa, xc), jnp.maximum(xa, xc)
        zero = jnp.zeros_like(xb)
        s = _BrentState(a, b, xb, xb, xb, fb, fb, fb, zero, zero, jnp.array(0), nfev,
                        jnp.array(False), valid)
        return eqx.tree_at(lambda t: t.converged, s, self._converged(s))

    def _converged(self, s):
        tol2 = 2.0 * (self.xtol * jnp.abs(s.x) + 1e-11)
        return jnp.abs(s.x - 0.5 * (s.a + s.b)) < (tol2 - 0.5 * (s.b - s.a))

    def step(self, fn, y, args, options, s, tags):
        tol1 = (self.xtol * jnp.abs(s.x) + 1e-11).astype(s.x.dtype)
        tol2 = 2.0 * tol1
        xmid = 0.5 * (s.a + s.b)
        x, a, b = s.x, s.a, s.b
        golden_delta = jnp.where(x >= xmid, a - x, b - x)
        # parabolic trial
        tmp1 = (x - s.w) * (s.fx - s.fv)
        tmp2 = (x - s.v) * (s.fx - s.fw)
        p = (x - s.v) * tmp2 - (x - s.w) * tmp1
        tmp2 = 2.0 * (tmp2 - tmp1)
        p = jnp.where(tmp2 > 0.0, -p, p)
        tmp2 = jnp.abs(tmp2)
        dx_temp = s.deltax
        use_parabola = (jnp.abs(s.deltax) > tol1) & (p > tmp2 * (a - x)) & (p < tmp2 * (b - x)) & (
            jnp.abs(p) < jnp.abs(0.5 * tmp2 * dx_temp))
        rat_p = p / jnp.where(tmp2 == 0, 1.0, tmp2)
        u_p = x + rat_p
        rat_p = jnp.where(((u_p - a) < tol2) | ((b - u_p) < tol2),
                          jnp.where(xmid - x >= 0, tol1, -tol1), rat_p)
        deltax = jnp.where(use_parabola, s.rat, golden_delta)
        deltax = jnp.where(jnp.abs(s.deltax) <= tol1, golden_delta, deltax)
        rat = jnp.where(use_parabola, rat_p, _CG * deltax)
        u = jnp.where(jnp.abs(rat) < tol1, jnp.where(rat >= 0, x + tol1, x - tol1), x + rat)
        fu = fn(u, args)[0]
        worse = fu > s.fx
        a = jnp.where(worse, jnp.where(u < x, u, a), jnp.where(u >= x, x, a))
        b = jnp.where(worse, jnp.where(u < x, b, u), jnp.where(u >= x, b, x))
        first = worse & ((fu <= s.fw) | (s.w == x))
        second = worse & jnp.invert(first) & ((fu <= s.fv) | (s.v == x) | (s.v == s.w))
        v = jnp.where(first, s.w, jnp.where(second, u, jnp.where(worse, s.v, s.w)))
        fv = jnp.where(first, s.fw, jnp.where(second, fu, jnp.where(worse, s.fv, s.fw)))
        w = jnp.where(first, u, jnp.where(worse, s.w, x))
        fw = jnp.where(first, fu, jnp.where(worse, s.fw, s.fx))
        x_new = jnp.where(worse, x, u)
        fx = jnp.where(worse, s.fx, fu)
        new = _BrentState(a, b, x_new, w, v, fx, fw, fv, deltax, rat, s.nit + 1, s.nfev + 1,
                          s.converged, s.valid)
        new = eqx.tree_at(lambda t: t.converged, new, self._converged(new))
        return x_new, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return _scalar_terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.x, aux, {**_scalar_stats(state), "fun": state.fx}


def _scalar_terminate(state, maxiter):
    out = (state.nit >= maxiter) & jnp.invert(state.converged)
    bad = jnp.invert(state.valid) | jnp.isnan(state.x)
    result = optx.RESULTS.where(out, optx.RESULTS.nonlinear_max_steps_reached, optx.RESULTS.successful)
    result = optx.RESULTS.where(bad, optx.RESULTS.nonfinite, result)
    return state.converged | out | bad, result


class _GoldenState(eqx.Module):
    x0: Array
    x1: Array
    x2: Array
    x3: Array
    f1: Array
    f2: Array
    x: Array
    nit: Array
    nfev: Array
    converged: Array
    valid: Array


class Golden(optx.AbstractMinimiser):
    """Golden-section search inside a bracket (``options['bracket']``)."""

    xtol: float = 1.4901161193847656e-08
    maxiter: int = 5000
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        xa, xb, xc, fa, fb, fc, nfev, valid = options["bracket"]
        gc = 1.0 - 0.61803399
        right = jnp.abs(xc - xb) > jnp.abs(xb - xa)
        x1 = jnp.where(right, xb, xb - gc * (xb - xa))
        x2 = jnp.where(right, xb + gc * (xc - xb), xb)
        f1, f2 = fn(x1, args)[0], fn(x2, args)[0]
        s = _GoldenState(xa, x1, x2, xc, f1, f2, jnp.where(f1 < f2, x1, x2), jnp.array(0), nfev + 2,
                         jnp.array(False), valid)
        return eqx.tree_at(lambda t: t.converged, s, self._converged(s))

    def _converged(self, s):
        return jnp.abs(s.x3 - s.x0) <= self.xtol * (jnp.abs(s.x1) + jnp.abs(s.x2))

    def step(self, fn, y, args, options, s, tags):
        gr, gc = 0.61803399, 1.0 - 0.61803399
        right = s.f2 < s.f1
        x0 = jnp.where(right, s.x1, s.x0)
        x3 = jnp.where(right, s.x3, s.x2)
        x1 = jnp.where(right, s.x2, gr * s.x1 + gc * s.x0)
        x2 = jnp.where(right, gr * s.x2 + gc * s.x3, s.x1)
        f_new = fn(jnp.where(right, x2, x1), args)[0]
        f1 = jnp.where(right, s.f2, f_new)
        f2 = jnp.where(right, f_new, s.f1)
        new = _GoldenState(x0, x1, x2, x3, f1, f2, jnp.where(f1 < f2, x1, x2), s.nit + 1, s.nfev + 1,
                           s.converged, s.valid)
        new = eqx.tree_at(lambda t: t.converged, new, self._converged(new))
        return new.x, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return _scalar_terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.x, aux, {**_scalar_stats(state), "fun": jnp.minimum(state.f1, state.f2)}


class _BoundedState(eqx.Module):
    a: Array
    b: Array
    xf: Array
    fx: Array
    nfc: Array
    fnfc: Array
    fulc: Array
    ffulc: Array
    e: Array
    rat: Array
    nit: Array
    nfev: Array
    converged: Array
    valid: Array


class Bounded(optx.AbstractMinimiser):
    """SciPy's ``fminbound``; bounds in ``options['lower']``/``options['upper']``."""

    xatol: float = 1e-5
    maxiter: int = 500
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _tols(self, xf):
        tol1 = (jnp.sqrt(2.2e-16) * jnp.abs(xf) + self.xatol / 3.0).astype(xf.dtype)
        return tol1, 2.0 * tol1

    def _converged(self, s):
        _, tol2 = self._tols(s.xf)
        return jnp.invert(jnp.abs(s.xf - 0.5 * (s.a + s.b)) > (tol2 - 0.5 * (s.b - s.a)))

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        a, b = options["lower"], options["upper"]
        fulc = a + 0.5 * (3.0 - jnp.sqrt(5.0)) * (b - a)
        fx = fn(fulc, args)[0]
        zero = jnp.zeros_like(fulc)
        s = _BoundedState(a, b, fulc, fx, fulc, fx, fulc, fx, zero, zero, jnp.array(0), jnp.array(1),
                          jnp.array(False), jnp.array(True))
        return eqx.tree_at(lambda t: t.converged, s, self._converged(s))

    def step(self, fn, y, args, options, s, tags):
        golden_mean = 0.5 * (3.0 - jnp.sqrt(5.0))
        tol1, tol2 = self._tols(s.xf)
        xf, a, b = s.xf, s.a, s.b
        xm = 0.5 * (a + b)
        try_parabola = jnp.abs(s.e) > tol1
        r = (xf - s.nfc) * (s.fx - s.ffulc)
        q = (xf - s.fulc) * (s.fx - s.fnfc)
        p = (xf - s.fulc) * q - (xf - s.nfc) * r
        q = 2.0 * (q - r)
        p = jnp.where(q > 0.0, -p, p)
        q = jnp.abs(q)
        accept = try_parabola & (jnp.abs(p) < jnp.abs(0.5 * q * s.e)) & (p > q * (a - xf)) & (
            p < q * (b - xf))
        rat_p = p / jnp.where(q == 0, 1.0, q)
        x_p = xf + rat_p
        si = jnp.sign(xm - xf) + ((xm - xf) == 0)
        rat_p = jnp.where(((x_p - a) < tol2) | ((b - x_p) < tol2), tol1 * si, rat_p)
        e_golden = jnp.where(xf >= xm, a - xf, b - xf)
        e = jnp.where(accept, s.rat, e_golden)
        rat = jnp.where(accept, rat_p, golden_mean * e_golden)
        si = jnp.sign(rat) + (rat == 0)
        x = xf + si * jnp.maximum(jnp.abs(rat), tol1)
        fu = fn(x, args)[0]
        better = fu <= s.fx
        a_new = jnp.where(better, jnp.where(x >= xf, xf, a), jnp.where(x < xf, x, a))
        b_new = jnp.where(better, jnp.where(x >= xf, b, xf), jnp.where(x < xf, b, x))
        first = jnp.invert(better) & ((fu <= s.fnfc) | (s.nfc == xf))
        second = jnp.invert(better | first) & ((fu <= s.ffulc) | (s.fulc == xf) | (s.fulc == s.nfc))
        fulc = jnp.where(better | first, s.nfc, jnp.where(second, x, s.fulc))
        ffulc = jnp.where(better | first, s.fnfc, jnp.where(second, fu, s.ffulc))
        nfc = jnp.where(better, xf, jnp.where(first, x, s.nfc))
        fnfc = jnp.where(better, s.fx, jnp.where(first, fu, s.fnfc))
        new = _BoundedState(a_new, b_new, jnp.where(better, x, xf), jnp.where(better, fu, s.fx), nfc,
                            fnfc, fulc, ffulc, e, rat, s.nit + 1, s.nfev + 1, s.converged,
                            jnp.invert(jnp.isnan(fu)))
        new = eqx.tree_at(lambda t: t.converged, new, self._converged(new))
        return new.xf, new, None

    def terminate(self, fn, y, args, options, state, tags):
        out = (state.nfev >= self.maxiter) & jnp.invert(state.converged)
        bad = jnp.invert(state.valid) | jnp.isnan(state.fx)
        result = optx.RESULTS.where(out, optx.RESULTS.nonlinear_max_steps_reached,
                                    optx.RESULTS.successful)
        result = optx.RESULTS.where(bad, optx.RESULTS.nonfinite, result)
        return state.converged | out | bad, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.xf, aux, {**_scalar_stats(state), "fun": state.fx, "nit": state.nfev}
