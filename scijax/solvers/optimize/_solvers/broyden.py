"""Broyden's first ("good") method with an Armijo line search, as an optimistix root finder.

Follows SciPy's ``broyden1`` defaults: inverse Jacobian starting at ``-alpha I`` with
``alpha = 0.5 max(|x0|, 1) / max(|F(x0)|, 1)``, the step ``dx = -H F`` scaled by an Armijo
search on ``|F|^2`` (the shared one of :mod:`.linesearch`), a Sherman-Morrison update of ``H``,
and convergence when ``max|F| <= fatol`` (default ``eps^(1/3)``) and ``max|F| <= ftol * max|F(x0)|``.
"""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .linesearch import backtrack, linear_model

__all__ = ["Broyden1"]


class _BroydenState(eqx.Module):
    f: Array
    h: Array
    f0_norm: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array


class Broyden1(optx.AbstractRootFinder):
    fatol: float = 6.0554544523933395e-06
    ftol: float = float("inf")
    maxiter: int = 100
    alpha: float | None = None
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _converged(self, f, f0_norm):
        fn = jnp.max(jnp.abs(f))
        return (fn <= self.fatol) & (fn <= self.ftol * f0_norm)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f = fn(y, args)[0]
        f0_norm = jnp.max(jnp.abs(f))
        alpha = (0.5 * jnp.maximum(jnp.linalg.norm(y), 1) / jnp.maximum(jnp.linalg.norm(f), 1)
                 if self.alpha is None else self.alpha)
        h = -alpha * jnp.eye(y.shape[0], dtype=y.dtype)
        return _BroydenState(f, h, f0_norm, jnp.array(0), jnp.array(1), self._converged(f, f0_norm),
                             jnp.array(False))

    def step(self, fn, y, args, options, s, tags):
        dx = -s.h @ s.f
        phi0 = jnp.dot(s.f, s.f)

        def phi(t):  # |F|^2 along the step; aux is F itself
            ft = fn(y + t * dx, args)[0]
            return jnp.dot(ft, ft), ft

        # SciPy's test phi(t) <= (1 - c1 t) phi(0): a slope of -phi(0).
        search = backtrack(phi, phi0, linear_model(-phi0), maxls=20)
        ok = search.found
        t = jnp.where(ok, search.step, 1.0)
        f_new = jnp.where(ok, search.aux, fn(y + dx, args)[0])
        step = t * dx
        df = f_new - s.f
        hdf = s.h @ df
        denom = jnp.dot(step, hdf)
        safe = jnp.abs(denom) > jnp.finfo(y.dtype).tiny
        h = jnp.where(safe, s.h + jnp.outer(step - hdf, step @ s.h) / jnp.where(safe, denom, 1.0), s.h)
        new = _BroydenState(f_new, h, s.f0_norm, s.nit + 1, s.nfev + search.evals,
                            self._converged(f_new, s.f0_norm),
                            jnp.invert(jnp.all(jnp.isfinite(f_new))))
        return y + step, new, None

    def terminate(self, fn, y, args, options, state, tags):
        out = (state.nit >= self.maxiter) & jnp.invert(state.converged)
        result = optx.RESULTS.where(out, optx.RESULTS.nonlinear_max_steps_reached, optx.RESULTS.successful)
        result = optx.RESULTS.where(state.stalled, optx.RESULTS.nonfinite, result)
        return state.converged | out | state.stalled, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"nit": state.nit, "nfev": state.nfev, "converged": state.converged}
