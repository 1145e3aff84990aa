"""SciPy's Nelder-Mead simplex method as an optimistix minimiser.

``optimistix.NelderMead`` uses different reflection constants and stagnates on the 4-D
Rosenbrock function where SciPy's reaches the minimum, so this follows SciPy's
``_minimize_neldermead`` step for step: the same initial simplex (5% of each coordinate, or
0.00025 for zeros), the same reflect/expand/contract/shrink rules and the same stopping test
(simplex within ``xatol`` and its values within ``fatol``). ``adaptive=True`` uses Gao and
Han's dimension-dependent coefficients, as SciPy does.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["NelderMead", "initial_simplex"]

_LONG_AGO = 1 << 20


def initial_simplex(x0: Array) -> Array:
    """SciPy's default simplex: ``x0`` and ``n`` points each moving one coordinate by 5%."""
    n = x0.shape[0]
    moved = jnp.where(x0 != 0, 1.05 * x0, 0.00025)
    return jnp.concatenate([x0[None], jnp.where(jnp.eye(n, dtype=bool), moved[None], x0[None])])


class _NMState(eqx.Module):
    sim: Array
    fsim: Array
    nit: Array
    nfev: Array
    converged: Array
    since_nonfinite: Array  # iterations since a trial point gave a non-finite value


class NelderMead(optx.AbstractMinimiser):
    """SciPy-faithful Nelder-Mead. An initial simplex may come in ``options['initial_simplex']``."""

    xatol: float = 1e-4
    fatol: float = 1e-4
    maxiter: int = 200
    maxfev: int = 200
    adaptive: bool = False
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _coefficients(self, n):
        if self.adaptive:
            return 1.0, 1.0 + 2.0 / n, 0.75 - 1.0 / (2.0 * n), 1.0 - 1.0 / n
        return 1.0, 2.0, 0.5, 0.5

    def _converged(self, sim, fsim):
        return (jnp.max(jnp.abs(sim[1:] - sim[0])) <= self.xatol) & (
            jnp.max(jnp.abs(fsim[0] - fsim[1:])) <= self.fatol)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        sim = options.get("initial_simplex")
        if sim is not None and sim.shape != (y.shape[0] + 1, y.shape[0]):
            n = y.shape[0]
            raise ValueError(f"`initial_simplex` should be an array of shape (N+1, N) = {(n + 1, n)} "
                             f"for `x0` of size {n}, got shape {sim.shape}.")
        sim = initial_simplex(y) if sim is None else sim.astype(y.dtype)
        fsim = jax.vmap(lambda v: fn(v, args)[0])(sim)
        order = jnp.argsort(fsim)
        sim, fsim = sim[order], fsim[order]
        since = jnp.where(jnp.all(jnp.isfinite(fsim)), _LONG_AGO, 0)
        return _NMState(sim, fsim, jnp.array(1), jnp.array(sim.shape[0]), self._converged(sim, fsim), since)

    def step(self, fn, y, args, options, state, tags):
        rho, chi, psi, sigma = self._coefficients(y.shape[0])
        f = lambda v: fn(v, args)[0]  # noqa: E731
        sim, fsim = state.sim, state.fsim
        xbar = jnp.mean(sim[:-1], axis=0)
        worst = sim[-1]
        xr = (1 + rho) * xbar - rho * worst
        fxr = f(xr)

        def expand(_):
            xe = (1 + rho * chi) * xbar - rho * chi * worst
            fxe = f(xe)
            better = fxe < fxr
            return jnp.where(better, xe, xr), jnp.where(better, fxe, fxr), jnp.array(False), 1, fxe

        def contract(_):
            def outside(_):
                xc = (1 + psi * rho) * xbar - psi * rho * worst
                fxc = f(xc)
                return xc, fxc, fxc > fxr

            def inside(_):
                xcc = (1 - psi) * xbar + psi * worst
                fxcc = f(xcc)
                return xcc, fxcc, fxcc >= fsim[-1]

            xc, fxc, shrink = jax.lax.cond(fxr < fsim[-1], outside, inside, None)
            return xc, fxc, shrink, 1, fxc

        def reflect_or_contract(_):
            accept_reflection = fxr < fsim[-2]
            return jax.lax.cond(
                accept_reflection, lambda _: (xr, fxr, jnp.array(False), 0, fxr), contract, None)

        x_new, f_new, shrink, extra, f_other = jax.lax.cond(fxr < fsim[0], expand, reflect_or_contract,
                                                             None)
        replaced_sim = sim.at[-1].set(x_new)
        replaced_fsim = fsim.at[-1].set(f_new)

        def do_shrink(_):
            shrunk = sim[0] + sigma * (sim - sim[0])
            return shrunk, jax.vmap(f)(shrunk).at[0].set(fsim[0])

        sim, fsim = jax.lax.cond(shrink, do_shrink, lambda _: (replaced_sim, replaced_fsim), None)
        order = jnp.argsort(fsim)
        sim, fsim = sim[order], fsim[order]
        nfev = state.nfev + 1 + extra + jnp.where(shrink, sim.shape[0] - 1, 0)
        finite = jnp.isfinite(fxr) & jnp.isfinite(f_other) & jnp.all(jnp.isfinite(fsim))
        since = jnp.where(finite, jnp.minimum(state.since_nonfinite + 1, _LONG_AGO), 0)
        new_state = _NMState(sim, fsim, state.nit + 1, nfev, self._converged(sim, fsim), since)
        return sim[0], new_state, None

    def terminate(self, fn, y, args, options, state, tags):
        out_of_budget = ((state.nit >= self.maxiter) | (state.nfev >= self.maxfev)) & jnp.invert(
            state.converged)
        # Converging while trial points keep landing on non-finite values means the simplex has
        # collapsed against the edge of a region where ``fun`` is NaN: not a minimum.
        at_nan_edge = state.converged & (state.since_nonfinite <= y.shape[0] + 1)
        nonfinite = jnp.invert(jnp.isfinite(state.fsim[0])) | at_nan_edge
        result = optx.RESULTS.where(out_of_budget, optx.RESULTS.nonlinear_max_steps_reached,
                                    optx.RESULTS.successful)
        result = optx.RESULTS.where(nonfinite, optx.RESULTS.nonfinite, result)
        return state.converged | out_of_budget | nonfinite, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.sim[0], aux, {"nit": state.nit, "nfev": state.nfev, "converged": state.converged,
                                   "final_simplex": (state.sim, state.fsim)}
