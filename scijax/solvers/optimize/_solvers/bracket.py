"""Bracketing scalar root finders as optimistix root finders: SciPy's C ``brentq``, ``brenth``,
``bisect`` and ``ridder``, ported step for step (same tests, same counts).

The bracket comes in ``options['lower']``/``options['upper']``. ``flag`` follows SciPy's
codes: 0 converged, -1 sign error (``f(a)`` and ``f(b)`` have the same sign), -2 not converged
in ``maxiter`` iterations, -3 a NaN function value.
"""

import abc
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["BrentQ", "BrentH", "Bisect", "Ridder", "CONVERGED", "SIGNERR", "CONVERR", "VALUEERR"]

CONVERGED, SIGNERR, CONVERR, VALUEERR, RUNNING = 0, -1, -2, -3, 1


class _State(eqx.Module):
    xa: Array  # brent: xpre ; bisect/ridder: left end
    xb: Array  # brent: xblk ; bisect/ridder: right end
    xc: Array  # current estimate
    fa: Array
    fb: Array
    fc: Array
    spre: Array
    scur: Array
    nit: Array
    nfev: Array
    flag: Array


def _start(fn, args, options, dtype):
    a = jnp.asarray(options["lower"], dtype)
    b = jnp.asarray(options["upper"], dtype)
    fa, fb = fn(a, args)[0], fn(b, args)[0]
    flag = jnp.where(jnp.signbit(fa) == jnp.signbit(fb), SIGNERR, RUNNING)
    flag = jnp.where(fb == 0, CONVERGED, flag)
    flag = jnp.where(fa == 0, CONVERGED, flag)
    flag = jnp.where(jnp.isnan(fa) | jnp.isnan(fb), VALUEERR, flag)
    xc = jnp.where((fa == 0) | jnp.isnan(fa), a, b)  # SciPy evaluates f(a) first: a NaN there is reported at a
    zero = jnp.zeros((), dtype)
    return _State(a, b, xc, fa, fb, jnp.where(fa == 0, fa, fb), zero, zero, jnp.array(0),
                  jnp.array(2), flag)


class _AbstractBracketing(optx.AbstractRootFinder):
    xtol: eqx.AbstractVar[float]
    rtol: eqx.AbstractVar[float]
    maxiter: eqx.AbstractVar[int]

    @property
    def atol(self) -> float:
        return self.xtol

    @property
    def norm(self) -> Any:
        return optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        return _start(fn, args, options, y.dtype)

    @abc.abstractmethod
    def _update(self, fn, args, state: _State) -> _State: ...

    def step(self, fn, y, args, options, state, tags):
        new = self._update(fn, args, state)
        flag = jnp.where(jnp.isnan(new.fc), VALUEERR, new.flag)
        flag = jnp.where((flag == RUNNING) & (new.nit >= self.maxiter), CONVERR, flag)
        new = eqx.tree_at(lambda s: s.flag, new, flag)
        return new.xc, new, None

    def terminate(self, fn, y, args, options, state, tags):
        done = (state.flag != RUNNING) | (self.maxiter == 0)
        return done, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        flag = jnp.where(state.flag == RUNNING, CONVERR, state.flag)
        return state.xc, aux, {"nit": state.nit, "nfev": state.nfev, "flag": flag}


def _brent_update(fn, args, s: _State, xtol, rtol, hyperbolic: bool) -> _State:
    xpre, xcur, xblk, fpre, fcur, fblk, spre, scur = s.xa, s.xc, s.xb, s.fa, s.fc, s.fb, s.spre, s.scur
    new_block = (fpre != 0) & (fcur != 0) & (jnp.signbit(fpre) != jnp.signbit(fcur))
    xblk, fblk = jnp.where(new_block, xpre, xblk), jnp.where(new_block, fpre, fblk)
    spre = jnp.where(new_block, xcur - xpre, spre)
    scur = jnp.where(new_block, xcur - xpre, scur)
    swap = jnp.abs(fblk) < jnp.abs(fcur)
    xpre, xcur, xblk = jnp.where(swap, xcur, xpre), jnp.where(swap, xblk, xcur), jnp.where(swap, xcur, xblk)
    fpre, fcur, fblk = jnp.where(swap, fcur, fpre), jnp.where(swap, fblk, fcur), jnp.where(swap, fcur, fblk)
    delta = ((xtol + rtol * jnp.abs(xcur)) / 2).astype(xcur.dtype)
    sbis = (xblk - xcur) / 2
    done = (fcur == 0) | (jnp.abs(sbis) < delta)
    interpolate = xpre == xblk
    safe = lambda v: jnp.where(v == 0, 1.0, v)  # noqa: E731
    stry_secant = -fcur * (xcur - xpre) / safe(fcur - fpre)
    dpre = (fpre - fcur) / safe(xpre - xcur)
    dblk = (fblk - fcur) / safe(xblk - xcur)
    if hyperbolic:
        stry_extra = -fcur * (fblk - fpre) / safe(fblk * dpre - fpre * dblk)
    else:
        stry_extra = -fcur * (fblk * dblk - fpre * dpre) / safe(dblk * dpre * (fblk - fpre))
    stry = jnp.where(interpolate, stry_secant, stry_extra)
    try_interp = (jnp.abs(spre) > delta) & (jnp.abs(fcur) < jnp.abs(fpre))
    good = try_interp & (2 * jnp.abs(stry) < jnp.minimum(jnp.abs(spre), 3 * jnp.abs(sbis) - delta))
    new_spre = jnp.where(good, scur, sbis)
    new_scur = jnp.where(good, stry, sbis)
    step = jnp.where(jnp.abs(new_scur) > delta, new_scur, jnp.where(sbis > 0, delta, -delta))
    x_new = xcur + step
    f_new = fn(x_new, args)[0]
    keep = lambda old, new: jnp.where(done, old, new)  # noqa: E731
    return _State(
        xa=keep(xpre, xcur), xb=xblk, xc=keep(xcur, x_new), fa=keep(fpre, fcur), fb=fblk,
        fc=keep(fcur, f_new), spre=keep(spre, new_spre), scur=keep(scur, new_scur),
        nit=s.nit + 1, nfev=s.nfev + jnp.where(done, 0, 1),
        flag=jnp.where(done, CONVERGED, s.flag),
    )


class BrentQ(_AbstractBracketing):
    """Brent's method with inverse quadratic extrapolation (SciPy's ``brentq``)."""

    xtol: float = 2e-12
    rtol: float = 8.881784197001252e-16
    maxiter: int = 100

    def _update(self, fn, args, state):
        return _brent_update(fn, args, state, self.xtol, self.rtol, hyperbolic=False)


class BrentH(_AbstractBracketing):
    """Brent's method with hyperbolic extrapolation (SciPy's ``brenth``)."""

    xtol: float = 2e-12
    rtol: float = 8.881784197001252e-16
    maxiter: int = 100

    def _update(self, fn, args, state):
        return _brent_update(fn, args, state, self.xtol, self.rtol, hyperbolic=True)


class Bisect(_AbstractBracketing):
    """Bisection (SciPy's ``bisect``): ``xa`` keeps the sign of ``f(a)``."""

    xtol: float = 2e-12
    rtol: float = 8.881784197001252e-16
    maxiter: int = 100

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        s = _start(fn, args, options, y.dtype)
        return eqx.tree_at(lambda t: t.spre, s, s.xb - s.xa)  # spre holds dm

    def _update(self, fn, args, s):
        dm = 0.5 * s.spre
        xm = s.xa + dm
        fm = fn(xm, args)[0]
        xa = jnp.where(fm * s.fa >= 0, xm, s.xa)
        done = (fm == 0) | (jnp.abs(dm) < self.xtol + self.rtol * jnp.abs(xm))
        return _State(xa, s.xb, xm, s.fa, s.fb, fm, dm, s.scur, s.nit + 1, s.nfev + 1,
                      jnp.where(done, CONVERGED, s.flag))


class Ridder(_AbstractBracketing):
    """Ridders' method (SciPy's ``ridder``)."""

    xtol: float = 2e-12
    rtol: float = 8.881784197001252e-16
    maxiter: int = 100

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        s = _start(fn, args, options, y.dtype)
        return eqx.tree_at(lambda t: t.scur, s, jnp.asarray(self.xtol, y.dtype))  # scur holds tol

    def _update(self, fn, args, s):
        dm = 0.5 * (s.xb - s.xa)
        xm = s.xa + dm
        fm = fn(xm, args)[0]
        denom = jnp.sqrt(jnp.maximum(fm * fm - s.fa * s.fb, 0.0))
        dn = jnp.sign(s.fb - s.fa) * dm * fm / jnp.where(denom == 0, 1.0, denom)
        xn = xm - jnp.sign(dn) * jnp.minimum(jnp.abs(dn), jnp.abs(dm) - 0.5 * s.scur)
        fn_ = fn(xn, args)[0]
        flip = jnp.signbit(fn_) != jnp.signbit(fm)
        other = jnp.signbit(fn_) != jnp.signbit(s.fa)
        xa = jnp.where(flip, xn, jnp.where(other, s.xa, xn))
        fa = jnp.where(flip, fn_, jnp.where(other, s.fa, fn_))
        xb = jnp.where(flip, xm, jnp.where(other, xn, s.xb))
        fb = jnp.where(flip, fm, jnp.where(other, fn_, s.fb))
        tol = (self.xtol + self.rtol * jnp.abs(xn)).astype(xn.dtype)
        done = (fn_ == 0) | (jnp.abs(xb - xa) < tol)
        fc = jnp.where(jnp.isnan(fm), fm, fn_)
        return _State(xa, xb, xn, fa, fb, fc, s.spre, tol, s.nit + 1, s.nfev + 2,
                      jnp.where(done, CONVERGED, s.flag))
