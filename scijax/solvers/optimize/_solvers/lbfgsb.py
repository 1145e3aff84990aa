"""L-BFGS-B: limited-memory BFGS with bounds that are honoured exactly, as an optimistix minimiser.

Each iteration fixes the variables held at a bound by the gradient (the binding set), takes an
L-BFGS direction in the free variables (two-loop recursion on the free components), and
backtracks along the projected path ``clip(x + t d, lb, ub)`` until Armijo's condition holds
(the shared search of :mod:`.linesearch`, with the model ``g . (x(t) - x)``).
Iterates are always feasible. SciPy's Fortran code finds a generalised Cauchy point and then
minimises over the subspace; both stop at the same first-order points, with SciPy's tests:
``max|proj grad| <= pgtol`` or a relative decrease of ``f`` below ``ftol``.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .linesearch import backtrack
from .stopping import scipy_stats, scipy_terminate

__all__ = ["LBFGSB", "projected_gradient"]


def projected_gradient(x: Array, g: Array, lower: Array, upper: Array) -> Array:
    """``P(x - g) - x``: zero exactly at a first-order point of the bounded problem."""
    return jnp.clip(x - g, lower, upper) - x


class _LBFGSBState(eqx.Module):
    f: Array
    g: Array
    s_hist: Array
    y_hist: Array
    n_pairs: Array
    nit: Array
    nfev: Array
    converged: Array
    stalled: Array
    pg_converged: Array  # which test fired: the projected gradient (else the relative decrease of f)


def _two_loop(g, s_hist, y_hist, n_pairs, free):
    """Apply the L-BFGS inverse Hessian of the free subspace to ``g`` (newest pair in row 0)."""
    m = s_hist.shape[0]
    s_hist = s_hist * free
    y_hist = y_hist * free
    sy = jnp.sum(s_hist * y_hist, axis=1)
    valid = (jnp.arange(m) < n_pairs) & (sy > 0)
    rho = jnp.where(valid, 1.0 / jnp.where(valid, sy, 1.0), 0.0)

    def backward(q, i):
        alpha = rho[i] * jnp.dot(s_hist[i], q)
        return q - alpha * y_hist[i], alpha

    q, alphas = jax.lax.scan(backward, g * free, jnp.arange(m))
    yy = jnp.dot(y_hist[0], y_hist[0])
    gamma = jnp.where(valid[0] & (yy > 0), sy[0] / jnp.where(yy > 0, yy, 1.0), 1.0)
    r = gamma * q

    def forward(r, i):
        beta = rho[i] * jnp.dot(y_hist[i], r)
        return r + (alphas[i] - beta) * s_hist[i], None

    r, _ = jax.lax.scan(forward, r, jnp.arange(m - 1, -1, -1))
    return r * free


class LBFGSB(optx.AbstractMinimiser):
    """Bound-constrained L-BFGS. Bounds come in ``options['lower']``/``options['upper']``."""

    maxcor: int = 10
    ftol: float = 2.220446049250313e-09
    gtol: float = 1e-5
    maxiter: int = 15000
    maxls: int = 20
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f, g = jax.value_and_grad(lambda x: fn(x, args)[0])(y)
        m, n = self.maxcor, y.shape[0]
        zero = jnp.array(0)
        return _LBFGSBState(
            f=f, g=g, s_hist=jnp.zeros((m, n), y.dtype), y_hist=jnp.zeros((m, n), y.dtype),
            n_pairs=zero, nit=zero, nfev=jnp.array(1), converged=self._pg_small(y, g, options),
            stalled=jnp.array(False), pg_converged=self._pg_small(y, g, options),
        )

    def _pg_small(self, x, g, options):
        pg = projected_gradient(x, g, options["lower"], options["upper"])
        return jnp.max(jnp.abs(pg), initial=0.0) <= self.gtol

    def step(self, fn, y, args, options, state, tags):
        lower, upper = options["lower"], options["upper"]
        x, g = y, state.g
        free = jnp.invert(((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0)))
        d = -_two_loop(g, state.s_hist, state.y_hist, state.n_pairs, free)
        descent = jnp.dot(d, g) < 0
        d = jnp.where(descent, d, -g * free)
        # SciPy starts the very first line search at a unit step in x.
        t0 = jnp.where(state.n_pairs == 0, jnp.minimum(1.0, 1.0 / jnp.linalg.norm(d)), 1.0)
        value = lambda z: fn(z, args)[0]  # noqa: E731

        def phi(t):  # along the projected path; aux is the trial point
            x_t = jnp.clip(x + t * d, lower, upper)
            return value(x_t), x_t

        search = backtrack(phi, state.f, lambda t, x_t: jnp.dot(g, x_t - x), t0, maxls=self.maxls)
        ok = search.found & jnp.isfinite(search.value) & (search.value <= state.f)
        x_new = jnp.where(ok, search.aux, x)
        f_new = jnp.where(ok, search.value, state.f)
        g_new = jax.grad(value)(x_new)
        s, yv = x_new - x, g_new - g
        curvature = jnp.dot(s, yv) > jnp.finfo(x.dtype).eps * jnp.dot(yv, yv)
        s_hist = jnp.where(curvature, jnp.roll(state.s_hist, 1, axis=0).at[0].set(s), state.s_hist)
        y_hist = jnp.where(curvature, jnp.roll(state.y_hist, 1, axis=0).at[0].set(yv), state.y_hist)
        n_pairs = jnp.minimum(state.n_pairs + curvature, self.maxcor)
        rel_decrease = (state.f - f_new) / jnp.maximum(jnp.maximum(jnp.abs(state.f), jnp.abs(f_new)), 1.0)
        pg_small = self._pg_small(x_new, g_new, options)
        converged = pg_small | (ok & (rel_decrease <= self.ftol))
        new_state = _LBFGSBState(
            f=f_new, g=g_new, s_hist=s_hist, y_hist=y_hist, n_pairs=n_pairs, nit=state.nit + 1,
            nfev=state.nfev + search.evals + 1, converged=converged, stalled=jnp.invert(ok),
            pg_converged=pg_small,
        )
        return x_new, new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        return scipy_terminate(state, self.maxiter)

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {**scipy_stats(state), "pg_converged": state.pg_converged}
