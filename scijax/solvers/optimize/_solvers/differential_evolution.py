"""Differential evolution (Storn and Price, 1997) as an optimistix minimiser, population batched.

The population lives in the unit hypercube and is scaled to the bounds for every evaluation, as
in SciPy. One optimistix step is one generation: a mutant per member from the chosen strategy
(``best1``, ``rand1``, ``currenttobest1``, ``best2``, ``rand2``, ``randtobest1``), binomial or
exponential crossover with one forced parameter, out-of-range parameters redrawn uniformly,
then greedy selection. With ``updating='deferred'`` the whole generation's trials are evaluated
as one ``vmap``-batched call (one kernel on an accelerator); ``'immediate'`` walks the members
in order and lets each replacement (and a new best) take effect at once, as SciPy's default does.
Dithering (a ``(min, max)`` mutation) draws a new mutation constant each generation.

Constraints (Lampinen 2002, as SciPy): ``fn`` returns the objective and, as its aux, the
``(M,)`` constraint violations (0 where satisfied; ``M = 0`` without constraints). A member is
feasible when its violations sum to 0, and an infeasible member's energy is +inf. A trial
replaces its member when both are feasible and the trial's energy is lower or equal, when only
the trial is feasible, or when the trial is infeasible and no violation is larger than the
member's. The best member (the base of ``best*`` strategies and the answer) is the feasible one
of lowest energy, or, if none is feasible, the one of smallest total violation.

Convergence is SciPy's: ``std(energies) <= atol + tol * |mean(energies)|`` with every energy
finite (so every member feasible), tested after each generation; optimistix's loop owns the
generation budget.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["DifferentialEvolution", "STRATEGIES", "scale_to_bounds"]

# strategy name -> (base: "best" | "rand" | "current" | "randtobest", number of difference pairs)
_BASES: dict[str, tuple[str, int]] = {
    "best1": ("best", 1),
    "rand1": ("rand", 1),
    "best2": ("best", 2),
    "rand2": ("rand", 2),
    "currenttobest1": ("current", 1),
    "randtobest1": ("randtobest", 1),
}
STRATEGIES: tuple[str, ...] = tuple(f"{b}{x}" for b in _BASES for x in ("bin", "exp"))
"""SciPy's strategy names: a mutation base and a crossover (``bin`` or ``exp``)."""


def scale_to_bounds(u: Array, lower: Array, upper: Array) -> Array:
    """Map points of the unit hypercube onto the box ``[lower, upper]``."""
    return lower + u * (upper - lower)


class _DEState(eqx.Module):
    pop: Array
    energies: Array
    cv: Array  # (size, M) constraint violations
    key: Array
    nit: Array
    nfev: Array
    converged: Array


def _energy(fn, u, lower, upper):
    """``(energy, violations)`` at a unit-cube point: +inf energy where NaN or infeasible, as SciPy."""
    e, cv = fn(scale_to_bounds(u, lower, upper))
    e = jnp.where(jnp.isnan(e) | (jnp.sum(cv) > 0), jnp.inf, e)
    return e, cv


def _accept(e_new, cv_new, e_old, cv_old):
    """Lampinen's rule, as SciPy's: does the new point replace the old one?"""
    feas_new, feas_old = jnp.sum(cv_new, -1) <= 0, jnp.sum(cv_old, -1) <= 0
    return jnp.where(feas_new, jnp.where(feas_old, e_new <= e_old, True), jnp.all(cv_new <= cv_old, -1))


def _best(energies, cv):
    """The feasible member of lowest energy; without one, the member of smallest total violation."""
    total = jnp.sum(cv, -1)
    return jnp.lexsort((total, jnp.where(total <= 0, energies, 0.0), total > 0))[0]


class DifferentialEvolution(optx.AbstractMinimiser):
    """One generation per step. ``options`` carries ``key`` and ``init_population`` (unit cube)."""

    lower: Array
    upper: Array
    strategy: str = eqx.field(static=True, default="best1bin")
    mutation: tuple[float, float] = eqx.field(static=True, default=(0.5, 1.0))
    recombination: float = 0.7
    rtol: float = 0.01  # SciPy's ``tol``
    atol: float = 0.0
    maxiter: int = eqx.field(static=True, default=1000)
    updating: str = eqx.field(static=True, default="deferred")
    norm: Any = optx.max_norm

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f = lambda x: fn(x, args)  # noqa: E731
        pop = options["init_population"].astype(y.dtype)
        energies, cv = jax.vmap(lambda u: _energy(f, u, self.lower, self.upper))(pop)
        return _DEState(pop, energies, cv, options["key"], jnp.array(0), jnp.array(pop.shape[0]),
                        jnp.array(False))

    # -- one trial vector -------------------------------------------------------------------
    def _trial(self, key: Array, i: Array, pop: Array, best: Array, scale: Array) -> Array:
        size, n = pop.shape
        base, pairs = _BASES[self.strategy[:-3]]
        k_idx, k_cross, k_fill, k_fix = jax.random.split(key, 4)
        others = jnp.where(jnp.arange(size) == i, 0.0, 1.0)
        r = jax.random.choice(k_idx, size, (5,), replace=False, p=others / others.sum())
        x = pop[r]
        if base == "best":
            bprime = pop[best] + scale * (x[0] - x[1] if pairs == 1 else x[0] + x[1] - x[2] - x[3])
        elif base == "rand":
            bprime = x[0] + scale * (x[1] - x[2] if pairs == 1 else x[1] + x[2] - x[3] - x[4])
        elif base == "current":
            bprime = pop[i] + scale * (pop[best] - pop[i] + x[0] - x[1])
        else:  # randtobest
            bprime = x[0] + scale * (pop[best] - x[0] + x[1] - x[2])
        fill = jax.random.randint(k_fill, (), 0, n)
        draws = jax.random.uniform(k_cross, (n,), pop.dtype) < self.recombination
        if self.strategy.endswith("bin"):
            take = draws | (jnp.arange(n) == fill)
        else:  # exp: a run of parameters from `fill`, continued while draws succeed
            run = 1 + jnp.sum(jnp.cumprod(draws[1:].astype(jnp.int32)))
            take = ((jnp.arange(n) - fill) % n) < run
        trial = jnp.where(take, bprime, pop[i])
        outside = (trial < 0.0) | (trial > 1.0)
        return jnp.where(outside, jax.random.uniform(k_fix, (n,), pop.dtype), trial)

    def step(self, fn, y, args, options, state, tags):
        f = lambda x: fn(x, args)  # noqa: E731
        size = state.pop.shape[0]
        key, k_scale, k_trials = jax.random.split(state.key, 3)
        lo, hi = self.mutation
        scale = jax.random.uniform(k_scale, (), state.pop.dtype, lo, hi) if hi > lo else jnp.asarray(lo)
        keys = jax.random.split(k_trials, size)
        if self.updating == "deferred":
            best = _best(state.energies, state.cv)
            trials = jax.vmap(lambda k, i: self._trial(k, i, state.pop, best, scale))(keys, jnp.arange(size))
            e_trial, cv_trial = jax.vmap(lambda u: _energy(f, u, self.lower, self.upper))(trials)
            better = _accept(e_trial, cv_trial, state.energies, state.cv)
            pop = jnp.where(better[:, None], trials, state.pop)
            energies = jnp.where(better, e_trial, state.energies)
            cv = jnp.where(better[:, None], cv_trial, state.cv)
        else:
            def member(i, carry):
                pop, energies, cv, best = carry
                trial = self._trial(keys[i], i, pop, best, scale)
                e, c = _energy(f, trial, self.lower, self.upper)
                better = _accept(e, c, energies[i], cv[i])
                pop = pop.at[i].set(jnp.where(better, trial, pop[i]))
                energies = energies.at[i].set(jnp.where(better, e, energies[i]))
                cv = cv.at[i].set(jnp.where(better, c, cv[i]))
                # A new best: feasible and strictly lower, or feasible where the best is not, or
                # (both infeasible) a smaller total violation.
                tot, tot_best = jnp.sum(c), jnp.sum(cv[best])
                wins = jnp.where(tot <= 0, (tot_best > 0) | (e < energies[best]), tot < tot_best)
                best = jnp.where(better & wins, i, best)
                return pop, energies, cv, best

            pop, energies, cv, _ = jax.lax.fori_loop(
                0, size, member, (state.pop, state.energies, state.cv, _best(state.energies, state.cv)))
        converged = jnp.all(jnp.isfinite(energies)) & (
            jnp.std(energies) <= self.atol + self.rtol * jnp.abs(jnp.mean(energies)))
        new = _DEState(pop, energies, cv, key, state.nit + 1, state.nfev + size, converged)
        best = _best(energies, cv)
        return scale_to_bounds(pop[best], self.lower, self.upper), new, cv[best]  # aux: the best's violations

    def terminate(self, fn, y, args, options, state, tags):
        out_of_budget = (state.nit >= self.maxiter) & jnp.invert(state.converged)
        result = optx.RESULTS.where(out_of_budget, optx.RESULTS.nonlinear_max_steps_reached,
                                    optx.RESULTS.successful)
        return state.converged | out_of_budget, result

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        best = _best(state.energies, state.cv)
        return scale_to_bounds(state.pop[best], self.lower, self.upper), aux, {
            "nit": state.nit, "nfev": state.nfev, "converged": state.converged,
            "best_violation": state.cv[best],
            "population": scale_to_bounds(state.pop, self.lower, self.upper),
            "population_energies": state.energies}
