"""SciPy's line-search Newton-CG minimiser (``_minimize_newtoncg``) as an optimistix minimiser.

The Hessian is never formed: the direction comes from truncated CG on Hessian-vector products
(forward-over-reverse autodiff), stopped when ``|r|_1 <= min(1/2, sqrt|g|_1) |g|_1`` or at
non-positive curvature (then the current CG iterate, or at the first CG step the steepest
descent step scaled by the curvature), and the step length comes from the strong-Wolfe line
searches of BFGS and CG (:func:`.more_thuente.wolfe12`; ``c1 = 1e-4``, ``c2 = 0.9``, first trial ``1``, then
``min(1, 2.02 (f_prev - f) / g.p)``), as in SciPy. It stops, as SciPy does, when
``|step|_1 <= xtol * n``; a search that finds no Wolfe point stops it with "precision loss"
(status 2), or with status 3 where its first trial lands on a non-finite value.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .more_thuente import wolfe12
from .stopping import scipy_stats, scipy_terminate
from .trust_region import hvp, truncated_cg

__all__ = ["NewtonCG", "newton_cg_direction"]


def newton_cg_direction(hvp_fn, g: Array, maxiter: int) -> Array:
    """SciPy's inner CG for Newton-CG: ``H p = -g`` to ``|r|_1 <= min(.5, sqrt|g|_1) |g|_1``."""
    maggrad = jnp.sum(jnp.abs(g))
    termcond = jnp.minimum(0.5, jnp.sqrt(maggrad)) * maggrad
    eps = jnp.finfo(g.dtype).eps

    def truncate(z, d, dhd, z_next, rr, i):
        negative = dhd < 0
        steepest = rr / jnp.where(negative, -dhd, 1.0) * d  # d = -g at the first iteration
        return dhd <= 3 * eps, jnp.where((i == 0) & negative, steepest, z)

    p, _ = truncated_cg(hvp_fn, g, maxiter=maxiter, truncate=truncate,
                        converged=lambda r: jnp.invert(jnp.sum(jnp.abs(r)) > termcond))
    return p


class _NewtonCGState(eqx.Module):
    f: Array
    f_prev: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array
    hit_nonfinite: Array  # the failed search started on a non-finite value: a NaN region ahead


class NewtonCG(optx.AbstractMinimiser):
    """Line-search Newton with a truncated-CG direction (SciPy's 'Newton-CG')."""

    xtol: float = 1e-5
    maxiter: int = 200
    c1: float = 1e-4
    c2: float = 0.9
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f = fn(y, args)[0]
        zero = jnp.array(0)
        return _NewtonCGState(f, jnp.full_like(f, jnp.inf), zero, jnp.array(1), jnp.array(False),
                              jnp.array(False), jnp.array(False))

    def step(self, fn, y, args, options, state, tags):
        value = lambda z: fn(z, args)[0]  # noqa: E731
        grad_fn = jax.grad(value)
        g = grad_fn(y)
        p = newton_cg_direction(hvp(grad_fn, y), g, 20 * y.shape[0])
        slope = jnp.dot(g, p)
        value_and_grad = jax.value_and_grad(value)

        def phi(t):
            v, gt = value_and_grad(y + t * p)
            return v, jnp.dot(gt, p), None

        t0 = 1.01 * 2 * (state.f - state.f_prev) / slope  # (f_prev = inf at the start: t0 = 1)
        t0 = jnp.where(jnp.isfinite(t0) & (t0 > 0), jnp.minimum(1.0, t0), 1.0)
        search = wolfe12(phi, state.f, slope, t0, c1=self.c1, c2=self.c2)
        ok = search.found & (slope < 0)
        update = jnp.where(ok, search.step * p, 0.0)
        # A zero direction (CG stopped at once on a curvature below 3 eps, as near a minimum
        # with |g| ~ 1e-9) is a zero update, which passes SciPy's step test.
        zero = jnp.all(p == 0)
        converged = ok & (jnp.sum(jnp.abs(update)) <= self.xtol * y.shape[0]) | zero
        stalled = jnp.invert(ok) & jnp.invert(converged)
        # Where the search failed because the first trial lands where f is NaN or infinite (a
        # minimum behind the edge of the domain), say so: status 3, not "precision loss".
        hit_nonfinite = stalled & jax.lax.cond(stalled, lambda: jnp.invert(jnp.isfinite(value(y + t0 * p))),
                                               lambda: jnp.array(False))
        new_state = _NewtonCGState(jnp.where(ok, search.value, state.f), jnp.where(ok, state.f, state.f_prev),
                                   state.nit + (ok | zero), state.nfev + search.evals, converged, stalled,
                                   hit_nonfinite)
        return y + update, new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        done, result = scipy_terminate(state, self.maxiter)
        return done, optx.RESULTS.where(state.hit_nonfinite, optx.RESULTS.nonfinite, result)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, scipy_stats(state)
