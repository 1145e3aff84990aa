"""Powell's conjugate-direction method (SciPy's ``method='Powell'``) as an optimistix minimiser.

The method of Powell (1964) in the modified form of Press et al. (Numerical Recipes, ch. 10.7),
as SciPy runs it. One iteration minimises along each of the ``n`` stored directions in turn,
then tries the extrapolated point ``x + (x - x_prev)`` (``x_prev``: the point after the
previous iteration's ``n`` line searches); when Powell's test

    ``2 (f0 - 2 f + fe) ((f0 - f) - delta)^2 < delta (f0 - fe)^2``

holds (``f0``, ``f``, ``fe`` the values at the iteration's start, end and extrapolated point,
``delta`` the largest decrease along one direction), it minimises along ``x - x_prev`` and that
(scaled) direction replaces the one of largest decrease. Iterations stop when
``2 (f0 - f) <= ftol (|f0| + |f|) + 1e-20``.

Each line minimisation is Brent's method from the bracket ``(0, 1)`` with relative tolerance
``100 xtol`` (:class:`.scalar_min.Brent` and :func:`.scalar_min.find_bracket`). With bounds, the
line is cut to the feasible interval ``[lmin, lmax]`` of ``alpha`` and minimised by the bounded
scalar method (:class:`.scalar_min.Bounded`, ``xatol = xtol``); an interval open on one side is
mapped to a finite one through ``alpha = tan(u)``, as SciPy does.

Bounds come in ``options['lower']``/``options['upper']`` (absent: unbounded, and no bounded
search is compiled); an initial direction set in ``options['direc']``. With bounds, a final
coordinate within ``10 xtol (1 + |bound|)`` of a bound, with the gradient pushing outwards, is
put onto the bound (when that does not raise ``f``): the bounded line searches stop up to about
``xtol`` inside, and the implicit derivative needs the active set.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .scalar_min import Bounded, Brent, find_bracket
from .stopping import scipy_stats

__all__ = ["Powell", "line_for_search", "line_minimise"]

_NO_TAGS: frozenset = frozenset()


def line_for_search(x: Array, d: Array, lower: Array, upper: Array) -> tuple[Array, Array]:
    """The interval ``[lmin, lmax]`` of ``alpha`` for which ``lower <= x + alpha d <= upper``
    (components with ``d = 0`` impose nothing; ``(0, 0)`` for ``d = 0``)."""
    moving = d != 0
    safe = jnp.where(moving, d, 1.0)
    low, high = (lower - x) / safe, (upper - x) / safe
    lo = jnp.where(d > 0, low, high)
    hi = jnp.where(d > 0, high, low)
    lmin = jnp.max(jnp.where(moving, lo, -jnp.inf))
    lmax = jnp.min(jnp.where(moving, hi, jnp.inf))
    anything = jnp.any(moving)
    return jnp.where(anything, lmin, 0.0), jnp.where(anything, lmax, 0.0)


def _run(solver: optx.AbstractMinimiser, phi: Callable, y0: Array, options: dict):
    """Iterate a scalar engine of :mod:`.scalar_min` on ``phi`` until its own ``terminate``."""
    fn = lambda t, _: (phi(t), None)  # noqa: E731
    state = solver.init(fn, y0, None, options, None, None, _NO_TAGS)

    def cond(carry):
        y, s = carry
        return jnp.invert(solver.terminate(fn, y, None, options, s, _NO_TAGS)[0])

    def body(carry):
        y, s = carry
        y, s, _ = solver.step(fn, y, None, options, s, _NO_TAGS)
        return y, s

    _, state = jax.lax.while_loop(cond, body, (y0, state))
    return state


def _brent(phi, tol, dtype):
    bracket = find_bracket(phi, jnp.zeros((), dtype), jnp.ones((), dtype))
    s = _run(Brent(xtol=tol), phi, bracket[1], {"bracket": bracket})
    # No valid bracket (the line falls without bound, or is flat): as SciPy, the lowest of the
    # three points the bracket search ended with (NaN if any of them is NaN).
    xs, fs = jnp.stack(bracket[:3]), jnp.stack(bracket[3:6])
    i = jnp.argmin(fs)
    nan = jnp.any(jnp.isnan(xs)) | jnp.any(jnp.isnan(fs))
    x_fail, f_fail = jnp.where(nan, jnp.nan, xs[i]), jnp.where(nan, jnp.nan, fs[i])
    valid = bracket[7]
    return jnp.where(valid, s.x, x_fail), jnp.where(valid, s.fx, f_fail), s.nfev


def _bounded(phi, lo, hi, xatol):
    s = _run(Bounded(xatol=xatol), phi, lo, {"lower": lo, "upper": hi})
    return s.xf, s.fx, s.nfev


def line_minimise(value: Callable, x: Array, d: Array, tol: float, lower: Array | None,
                  upper: Array | None) -> tuple[Array, Array, Array]:
    """Minimise ``value(x + alpha d)`` over ``alpha``: returns ``(f, alpha d, nfev)``.

    Brent's method without bounds (``xtol = tol``); with bounds, the bounded scalar method on the
    feasible interval (``xatol = tol / 100``), through ``alpha = tan(u)`` when one end is infinite.
    """
    phi = lambda t: value(x + t * d)  # noqa: E731
    if lower is None or upper is None:
        alpha, f, nfev = _brent(phi, tol, x.dtype)
    else:
        lmin, lmax = line_for_search(x, d, lower, upper)
        case = jnp.where(jnp.isneginf(lmin) & jnp.isposinf(lmax), 0,
                         jnp.where(jnp.isfinite(lmin) & jnp.isfinite(lmax), 1, 2))

        def tangent(_):
            u, f, nfev = _bounded(lambda u: phi(jnp.tan(u)), jnp.arctan(lmin), jnp.arctan(lmax), tol / 100)
            return jnp.tan(u), f, nfev

        alpha, f, nfev = jax.lax.switch(case, [lambda _: _brent(phi, tol, x.dtype),
                                               lambda _: _bounded(phi, lmin, lmax, tol / 100), tangent], None)
    return f, alpha * d, nfev


class _PowellState(eqx.Module):
    f: Array
    x1: Array  # the point after the previous iteration's n line searches (x0 at first)
    direc: Array
    nit: Array
    nfev: Array
    converged: Array


class Powell(optx.AbstractMinimiser):
    """Powell's method (SciPy's modified form); see the module docstring."""

    xtol: float = 1e-4
    ftol: float = 1e-4
    maxiter: int = 1000
    maxfev: int = 1000
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        n = y.shape[0]
        direc = options.get("direc")
        if direc is not None and direc.shape != (n, n):
            raise ValueError(f"`direc` must have shape (N, N) = {(n, n)} for `x0` of size {n}; "
                             f"got {direc.shape}.")
        direc = jnp.eye(n, dtype=y.dtype) if direc is None else direc.astype(y.dtype)
        return _PowellState(fn(y, args)[0], y, direc, jnp.array(0), jnp.array(1), jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        value = lambda z: fn(z, args)[0]  # noqa: E731
        lower, upper = options.get("lower"), options.get("upper")
        n = y.shape[0]
        fx = state.f

        def extrapolate(x, fval, delta, nfev):
            # After the n line searches: SciPy's stopping tests, then Powell's extrapolation test.
            converged = 2.0 * (fx - fval) <= self.ftol * (jnp.abs(fx) + jnp.abs(fval)) + 1e-20
            stop = converged | (nfev >= self.maxfev) | (state.nit + 1 >= self.maxiter) | (
                jnp.isnan(fx) & jnp.isnan(fval))
            d = x - state.x1
            lmax = jnp.inf if lower is None or upper is None else line_for_search(x, d, lower, upper)[1]
            fx2 = jax.lax.cond(stop, lambda: fval, lambda: value(x + jnp.minimum(lmax, 1.0) * d))
            t = 2.0 * (fx + fx2 - 2.0 * fval) * (fx - fval - delta) ** 2 - delta * (fx - fx2) ** 2
            search = jnp.invert(stop) & (fx > fx2) & (t < 0.0)
            return d, search, converged, nfev + jnp.invert(stop)

        def body(i, carry):
            x, x1, fval, direc, delta, bigind, nfev, converged = carry
            last = i == n
            x1 = jnp.where(last, x, x1)  # before the extrapolated search, as SciPy
            d, search, conv_now, nfev = jax.lax.cond(
                last, lambda: extrapolate(x, fval, delta, nfev),
                lambda: (direc[jnp.minimum(i, n - 1)], jnp.array(True), converged, nfev))
            search = search & jnp.any(d != 0)
            f_new, xi, ev = jax.lax.cond(
                search, lambda: line_minimise(value, x, d, 100.0 * self.xtol, lower, upper),
                lambda: (fval, jnp.zeros_like(x), jnp.array(0)))
            gain = fval - f_new
            larger = jnp.invert(last) & (gain > delta)
            replace = last & search & jnp.any(xi != 0)
            direc = jnp.where(replace, direc.at[bigind].set(direc[-1]).at[-1].set(xi), direc)
            return (x + xi, x1, f_new, direc, jnp.where(larger, gain, delta), jnp.where(larger, i, bigind),
                    nfev + ev, conv_now)

        zero = jnp.zeros((), fx.dtype)
        init = (y, state.x1, fx, state.direc, zero, jnp.array(0), state.nfev, jnp.array(False))
        x, x1, fval, direc, _, _, nfev, converged = jax.lax.fori_loop(0, n + 1, body, init)
        return x, _PowellState(fval, x1, direc, state.nit + 1, nfev, converged), None

    def terminate(self, fn, y, args, options, state, tags):
        budget = ((state.nit >= self.maxiter) | (state.nfev >= self.maxfev)) & jnp.invert(state.converged)
        nonfinite = jnp.invert(jnp.isfinite(state.f))
        result = optx.RESULTS.where(budget, optx.RESULTS.nonlinear_max_steps_reached, optx.RESULTS.successful)
        result = optx.RESULTS.where(nonfinite, optx.RESULTS.nonfinite, result)
        return state.converged | budget | nonfinite, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        lower, upper = options.get("lower"), options.get("upper")
        if lower is not None and upper is not None:
            y = self._onto_active_bounds(lambda z: fn(z, args)[0], y, state.f, lower, upper)
        return y, aux, {**scipy_stats(state), "direc": state.direc}

    def _onto_active_bounds(self, value, x, f, lower, upper):
        """A bounded line search stops up to about ``xtol`` inside a bound; put a coordinate that
        close, with the gradient pushing outwards, onto the bound (if that does not raise ``f``),
        so the solution's active set, and so its implicit derivative, is the right one."""
        g = jax.grad(value)(x)
        near = 10.0 * self.xtol
        to_lower = (x - lower <= near * (1 + jnp.abs(lower))) & (g > 0)
        to_upper = (upper - x <= near * (1 + jnp.abs(upper))) & (g < 0)
        snapped = jnp.where(to_lower, lower, jnp.where(to_upper, upper, x))
        return jnp.where(value(snapped) <= f, snapped, x)
