"""SciPy's BFGS and nonlinear CG: one accepted step per iteration, each with SciPy's strong-Wolfe
searches (Moré-Thuente first, the Nocedal-Wright zoom where it fails: :func:`.more_thuente.wolfe12`).

- **BFGS** (Nocedal & Wright, Algorithm 6.1): the direction ``-H g`` from the inverse-Hessian
  approximation ``H`` (identity at the start), updated after every step with
  ``H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T``, ``rho = 1/(y.s)`` (a large ``rho``
  when ``y.s = 0``, as SciPy does). Wolfe constants ``c1 = 1e-4``, ``c2 = 0.9``.
- **CG**: Polak-Ribière+ (``beta = max(0, (g_new - g).g_new / g.g)``) with ``c2 = 0.4``; the line
  search accepts a point only where the next direction is a descent direction,
  ``d_new . g_new <= -0.01 |g_new|^2`` (SciPy's extra condition).

Both take SciPy's first trial step ``min(1, 2.02 (f_prev - f) / g.d)`` (``f_prev`` starts at
``f + |g|/2``), stop when ``||g||_norm <= gtol`` (success), when the search finds no Wolfe point
(status 2, "precision loss"), at ``maxiter`` (status 1) or on a non-finite ``f`` (status 3).
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .more_thuente import wolfe12
from .stopping import scipy_stats, scipy_terminate

__all__ = ["WolfeBFGS", "WolfeCG"]


class _State(eqx.Module):
    f: Array
    g: Array
    f_prev: Array
    memory: Array  # BFGS: the inverse Hessian; CG: the current search direction
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array


class _WolfeMinimiser(optx.AbstractMinimiser):
    gtol: float
    maxiter: int
    norm_ord: float = float("inf")
    c1: float = 1e-4
    c2: float = 0.9
    xrtol: float = 0.0
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = eqx.field(static=True, default=optx.max_norm)

    def _gnorm(self, g):
        return jnp.linalg.norm(g, ord=self.norm_ord)

    def _initial_memory(self, g) -> Array:
        raise NotImplementedError

    def _direction(self, g, memory) -> Array:
        raise NotImplementedError

    def _update(self, memory, s, y, g, g_new, d) -> Array:
        raise NotImplementedError

    def _extra(self, g, d):
        return None

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f, g = jax.value_and_grad(lambda x: fn(x, args)[0])(y)
        zero = jnp.array(0)
        return _State(f=f, g=g, f_prev=f + jnp.linalg.norm(g) / 2, memory=self._initial_memory(g),
                      nit=zero, nfev=jnp.array(1), converged=self._gnorm(g) <= self.gtol,
                      stalled=jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        g, f = state.g, state.f
        d = self._direction(g, state.memory)
        slope = jnp.dot(g, d)
        value_and_grad = jax.value_and_grad(lambda x: fn(x, args)[0])

        def phi(t):
            v, gt = value_and_grad(y + t * d)
            return v, jnp.dot(gt, d), gt

        t0 = 1.01 * 2 * (f - state.f_prev) / slope
        t0 = jnp.where(jnp.isfinite(t0) & (t0 > 0), jnp.minimum(1.0, t0), 1.0)
        search = wolfe12(phi, f, slope, t0, c1=self.c1, c2=self.c2, extra=self._extra(g, d))
        ok = search.found & (slope < 0) & jnp.all(jnp.isfinite(search.aux))
        step = search.step * d
        x_new = jnp.where(ok, y + step, y)
        g_new = jnp.where(ok, search.aux, g)
        f_new = jnp.where(ok, search.value, f)
        memory = jnp.where(ok, self._update(state.memory, step, g_new - g, g, g_new, d), state.memory)
        small_step = jnp.linalg.norm(step) <= self.xrtol * (self.xrtol + jnp.linalg.norm(y))
        converged = ok & ((self._gnorm(g_new) <= self.gtol) | small_step)
        new_state = _State(f=f_new, g=g_new, f_prev=jnp.where(ok, f, state.f_prev), memory=memory,
                           nit=state.nit + ok.astype(state.nit.dtype), nfev=state.nfev + search.evals,
                           converged=converged, stalled=jnp.invert(ok))
        return x_new, new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        return scipy_terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, scipy_stats(state)


class WolfeBFGS(_WolfeMinimiser):
    """SciPy's BFGS (see the module docstring); ``memory`` is the inverse Hessian ``hess_inv``."""

    def _initial_memory(self, g):
        return jnp.eye(g.shape[0], dtype=g.dtype)

    def _direction(self, g, memory):
        return -memory @ g

    def _update(self, memory, s, y, g, g_new, d):
        ys = jnp.dot(y, s)
        rho = jnp.where(ys == 0, 1000.0, 1.0 / jnp.where(ys == 0, 1.0, ys))
        eye = jnp.eye(s.shape[0], dtype=s.dtype)
        left = eye - rho * jnp.outer(s, y)
        return left @ memory @ left.T + rho * jnp.outer(s, s)


class WolfeCG(_WolfeMinimiser):
    """SciPy's nonlinear CG, Polak-Ribière+ (see the module docstring)."""

    c2: float = 0.4

    def _initial_memory(self, g):
        return -g

    def _direction(self, g, memory):
        return memory

    def _next(self, g, g_new, d):
        beta = jnp.maximum(0.0, jnp.dot(g_new - g, g_new) / jnp.dot(g, g))
        return -g_new + beta * d

    def _update(self, memory, s, y, g, g_new, d):
        return self._next(g, g_new, d)

    def _extra(self, g, d):
        def descent(t, g_new):
            d_new = self._next(g, g_new, d)
            descends = jnp.dot(d_new, g_new) <= -0.01 * jnp.dot(g_new, g_new)
            return descends | (self._gnorm(g_new) <= self.gtol)

        return descent
