"""Alefeld, Potra and Shi's Algorithm 748 (ACM TOMS 21, 327 (1995)) as an optimistix root finder.

Each iteration shrinks an enclosing bracket ``[a, b]`` by ``k`` interpolation steps, a
double-length secant step and, if those did not halve the bracket, a bisection:

1. interpolation: inverse cubic interpolation through ``(a, b, d, e)`` (the current ends and the
   two previous ends ``d``, ``e``) when their ``f`` values are distinct and the result falls in
   ``(a, b)``; otherwise ``j + 2`` Newton steps on the quadratic through ``(a, b, d)``
   (``j = 0..k-1``), started at the end where the quadratic has the sign of its curvature;
2. ``u`` = the end with the smaller ``|f|``; ``c = u - 2 f(u) / f[a, b]``, or the midpoint when
   that moves more than half the bracket;
3. if the bracket did not shrink to ``mu = 0.5`` of its width at the start of the iteration,
   bisect.

Every new point is kept a distance ``delta`` (``0.7 tol``, ``tol = xtol + rtol |x|``) inside the
bracket, and the search stops when ``f(c) = 0`` or ``b - a <= tol``. The first iteration starts
with a secant step. Flags follow :mod:`.bracket` (0 converged, -1 sign error, -2 not converged,
-3 NaN value).
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .bracket import CONVERGED, CONVERR, RUNNING, SIGNERR, VALUEERR

__all__ = ["Toms748"]


class _State(eqx.Module):
    a: Array
    b: Array
    d: Array
    e: Array
    fa: Array
    fb: Array
    fd: Array
    fe: Array
    has_e: Array
    nit: Array
    nfev: Array
    flag: Array


def _where(pred, new, old):
    return jax.tree_util.tree_map(lambda n, o: jnp.where(pred, n, o), new, old)


def _safe(v):
    return jnp.where(v == 0, 1.0, v)


def _newton_quadratic(a, b, d, fa, fb, fd, steps):
    fab = (fb - fa) / _safe(b - a)
    fbd = (fd - fb) / _safe(d - b)
    curv = (fbd - fab) / _safe(d - a)
    r = jnp.where(jnp.sign(curv) * jnp.sign(fa) > 0, a, b)
    for _ in range(steps):
        p = fa + fab * (r - a) + curv * (r - a) * (r - b)
        dp = fab + curv * (2 * r - a - b)
        r = r - p / _safe(dp)
    secant = a - fa / _safe(fab)
    return jnp.where(curv == 0, secant, r)


def _inverse_cubic(xs, fs):
    c = 0.0
    for i in range(4):
        term = xs[i]
        for j in range(4):
            if j != i:
                term = term * fs[j] / _safe(fs[j] - fs[i])
        c = c + term
    return c


class Toms748(optx.AbstractRootFinder):
    """Algorithm 748 (see module docstring); bracket in ``options['lower']``/``options['upper']``."""

    xtol: float = 2e-12
    rtol: float = 8.881784197001252e-16
    maxiter: int = eqx.field(default=100, static=True)
    k: int = eqx.field(default=1, static=True)
    mu: float = 0.5
    atol: float = 0.0

    @property
    def norm(self) -> Any:
        return optx.max_norm

    def _tol(self, x):
        return (self.xtol + self.rtol * jnp.abs(x)).astype(x.dtype)

    def _bracket(self, fn, args, s: _State, c) -> _State:
        """Evaluate ``f(c)`` (``c`` moved inside the bracket) and keep the sign change."""
        running = s.flag == RUNNING
        delta = 0.7 * self._tol(c)
        width = s.b - s.a
        c = jnp.where(width <= 4 * delta, s.a + 0.5 * width,
                      jnp.clip(c, s.a + 2 * delta, s.b - 2 * delta))
        c = jnp.where(jnp.isfinite(c), c, s.a + 0.5 * width)
        fc = fn(c, args)[0]
        left = jnp.signbit(s.fa) != jnp.signbit(fc)  # root in [a, c]
        a, fa = jnp.where(left, s.a, c), jnp.where(left, s.fa, fc)
        b, fb = jnp.where(left, c, s.b), jnp.where(left, fc, s.fb)
        d, fd = jnp.where(left, s.b, s.a), jnp.where(left, s.fb, s.fa)
        a, b = jnp.where(fc == 0, c, a), jnp.where(fc == 0, c, b)
        fa, fb = jnp.where(fc == 0, fc, fa), jnp.where(fc == 0, fc, fb)
        u = jnp.where(jnp.abs(fa) < jnp.abs(fb), a, b)
        flag = jnp.where((fc == 0) | (b - a <= self._tol(u)), CONVERGED, RUNNING)
        flag = jnp.where(jnp.isnan(fc), VALUEERR, flag)
        new = _State(a, b, d, s.d, fa, fb, fd, s.fd, jnp.array(True), s.nit, s.nfev + 1, flag)
        return _where(running, new, s)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        a = jnp.asarray(options["lower"], y.dtype)
        b = jnp.asarray(options["upper"], y.dtype)
        a, b = jnp.minimum(a, b), jnp.maximum(a, b)
        fa, fb = fn(a, args)[0], fn(b, args)[0]
        flag = jnp.where(jnp.signbit(fa) == jnp.signbit(fb), SIGNERR, RUNNING)
        flag = jnp.where((fa == 0) | (fb == 0), CONVERGED, flag)
        flag = jnp.where(jnp.isnan(fa) | jnp.isnan(fb), VALUEERR, flag)
        a, b = jnp.where(fb == 0, b, a), jnp.where(fa == 0, a, b)
        nan = jnp.full((), jnp.nan, y.dtype)
        s = _State(a, b, nan, nan, fa, fb, nan, nan, jnp.array(False), jnp.array(0), jnp.array(2), flag)
        fab = (fb - fa) / _safe(b - a)
        return self._bracket(fn, args, s, a - fa / _safe(fab))  # a first secant step

    def step(self, fn, y, args, options, s, tags):
        start_width = s.b - s.a
        for j in range(self.k):
            fs = (s.fa, s.fb, s.fd, s.fe)
            distinct = s.has_e
            for i in range(4):
                for m in range(i + 1, 4):
                    distinct = distinct & (fs[i] != fs[m])
            cubic = _inverse_cubic((s.a, s.b, s.d, s.e), fs)
            inside = distinct & (cubic > s.a) & (cubic < s.b)
            quad = _newton_quadratic(s.a, s.b, s.d, s.fa, s.fb, s.fd, j + 2)
            s = self._bracket(fn, args, s, jnp.where(inside, cubic, quad))
        u_left = jnp.abs(s.fa) < jnp.abs(s.fb)
        u, fu = jnp.where(u_left, s.a, s.b), jnp.where(u_left, s.fa, s.fb)
        c = u - 2 * fu / _safe((s.fb - s.fa) / _safe(s.b - s.a))
        c = jnp.where(jnp.abs(c - u) > 0.5 * (s.b - s.a), s.a + 0.5 * (s.b - s.a), c)
        s = self._bracket(fn, args, s, c)
        bisect = (s.b - s.a) >= self.mu * start_width
        s = _where(bisect, self._bracket(fn, args, s, s.a + 0.5 * (s.b - s.a)), s)
        s = eqx.tree_at(lambda t: t.nit, s, s.nit + 1)
        flag = jnp.where((s.flag == RUNNING) & (s.nit >= self.maxiter), CONVERR, s.flag)
        s = eqx.tree_at(lambda t: t.flag, s, flag)
        return self._root(s), s, None

    def _root(self, s):
        return jnp.where(jnp.isnan(s.fa) | (jnp.abs(s.fa) < jnp.abs(s.fb)), s.a, s.b)  # a NaN at a: report a

    def terminate(self, fn, y, args, options, state, tags):
        return (state.flag != RUNNING) | (self.maxiter == 0), optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        flag = jnp.where(state.flag == RUNNING, CONVERR, state.flag)
        return self._root(state), aux, {"nit": state.nit, "nfev": state.nfev, "flag": flag}

