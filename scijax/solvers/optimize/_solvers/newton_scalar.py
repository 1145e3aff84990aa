"""Newton, Halley and secant iterations, elementwise on arrays, as an optimistix root finder.

``fn(y, args)`` returns ``(f(y), (f'(y), f''(y)))`` (the derivatives as optimistix's aux), so
the implicit function theorem on ``f(y) = 0`` differentiates the root. Every element has its
own convergence test and stops moving once it passes, as SciPy's array ``newton`` does.
"""

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["NewtonFamily"]


class _NState(eqx.Module):
    p0: Array
    q0: Array
    p1: Array
    q1: Array
    active: Array
    converged: Array
    zero_der: Array
    nit: Array
    nfev: Array


class NewtonFamily(optx.AbstractRootFinder):
    """``order`` 0: secant (SciPy's default without ``fprime``), 1: Newton, 2: Halley."""

    order: int
    tol: float = 1.48e-8
    rtol: float = 0.0
    maxiter: int = 50

    @property
    def atol(self) -> float:
        return self.tol

    @property
    def norm(self) -> Any:
        return optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        q0 = fn(y, args)[0]
        x1 = options.get("x1")
        if x1 is None:
            p1 = y * (1 + 1e-4)
            p1 = p1 + jnp.where(p1 >= 0, 1e-4, -1e-4)
        else:
            p1 = jnp.broadcast_to(jnp.asarray(x1, y.dtype), y.shape)
        if self.order == 0:
            q1 = fn(p1, args)[0]
            swap = jnp.abs(q1) < jnp.abs(q0)
            p0, p1 = jnp.where(swap, p1, y), jnp.where(swap, y, p1)
            q0, q1 = jnp.where(swap, q1, q0), jnp.where(swap, q0, q1)
            nfev = 2
        else:
            p0, p1, q1, nfev = y, y, q0, 1
        false = jnp.zeros(y.shape, bool)
        return _NState(p0, q0, p1, q1, jnp.ones(y.shape, bool), false, false, jnp.array(0),
                       jnp.array(nfev))

    def step(self, fn, y, args, options, state, tags):
        if self.order == 0:
            return self._secant(fn, args, state)
        p0 = state.p1
        fval, aux = fn(p0, args)
        fder, fder2 = aux
        root_hit = fval == 0
        zero_der = (fder == 0) & jnp.invert(root_hit)
        safe_der = jnp.where(zero_der, 1.0, fder)
        dp = fval / safe_der
        if self.order == 2:
            adj = dp * fder2 / safe_der / 2
            dp = jnp.where(jnp.abs(adj) < 1, dp / (1.0 - adj), dp)
        p = p0 - dp
        close = jnp.abs(p - p0) <= self.tol + self.rtol * jnp.abs(p)
        moving = state.active & jnp.invert(root_hit | zero_der)
        p_new = jnp.where(moving, p, p0)
        converged = state.converged | (state.active & (root_hit | (moving & close)))
        zd = state.zero_der | (state.active & zero_der)
        active = state.active & moving & jnp.invert(close)
        new = _NState(p0, fval, p_new, fval, active, converged, zd, state.nit + 1,
                      state.nfev + jnp.where(self.order == 2, 3, 2))
        return p_new, new, aux

    def _secant(self, fn, args, s):
        same = s.q1 == s.q0
        ratio_big = jnp.abs(s.q1) > jnp.abs(s.q0)
        safe_q1 = jnp.where(s.q1 == 0, 1.0, s.q1)
        safe_q0 = jnp.where(s.q0 == 0, 1.0, s.q0)
        den1 = jnp.where(same, 1.0, 1 - s.q0 / safe_q1)
        den0 = jnp.where(same, 1.0, 1 - s.q1 / safe_q0)
        p = jnp.where(ratio_big, (-s.q0 / safe_q1 * s.p1 + s.p0) / den1,
                      (-s.q1 / safe_q0 * s.p0 + s.p1) / den0)
        p = jnp.where(same, (s.p1 + s.p0) / 2, p)
        close = same | (jnp.abs(p - s.p1) <= self.tol + self.rtol * jnp.abs(p))
        p_next = jnp.where(s.active, p, s.p1)
        q_next, aux = fn(p_next, args)
        keep_going = s.active & jnp.invert(close)
        new = _NState(
            jnp.where(keep_going, s.p1, s.p0), jnp.where(keep_going, s.q1, s.q0), p_next,
            jnp.where(s.active, q_next, s.q1), keep_going, s.converged | (s.active & close),
            s.zero_der, s.nit + 1, s.nfev + 1)
        return p_next, new, aux

    def terminate(self, fn, y, args, options, state, tags):
        return jnp.invert(jnp.any(state.active)) | (state.nit >= self.maxiter), optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.p1, aux, {"nit": state.nit, "nfev": state.nfev, "converged": state.converged,
                               "zero_der": state.zero_der}
