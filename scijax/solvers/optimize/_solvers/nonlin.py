"""SciPy's inexact-Newton loop for ``scipy.optimize.nonlin`` (``broyden1``, ``broyden2``,
``anderson``, ``linearmixing``, ``diagbroyden``, ``excitingmixing``, ``newton_krylov``), as one
optimistix root finder.

The loop is Kelley's inexact Newton iteration (C. T. Kelley, *Iterative Methods for Linear and
Nonlinear Equations*, SIAM 1995), as SciPy's ``nonlin_solve`` documents it:

1. test convergence (SciPy's ``TerminationCondition``: ``|F| <= f_tol``, ``|F| <= f_rtol |F0|``,
   ``|dx| <= x_tol``, ``|dx| <= x_rtol |x|`` in ``tol_norm``, the max norm by default; or, with
   ``iter``, exactly ``iter`` steps);
2. ``dx = -J^-1 F`` from a Jacobian approximation (:mod:`.nonlin_jacobians`), asked to solve to
   the forcing tolerance ``min(eta, eta |F|)``;
3. a line search on ``|F|^2`` (or the full step), then ``J.update(x, F)``;
4. the Eisenstat-Walker forcing update ``eta = min(0.9999, 0.9 |F+|^2 / |F|^2)`` (safeguarded by
   ``0.9 eta^2`` once that exceeds 0.1).

``status`` follows SciPy's ``info``: 1 converged, 2 iteration limit (or ``iter`` steps done);
ours add 3 for a non-finite ``F`` and 4 when the Jacobian approximation gave a zero step (SciPy
raises ``ValueError`` there).

The line search halves the step from 1 (our shared :func:`.linesearch.backtrack`) until Armijo's
test ``phi(t) <= (1 - 1e-4 t) phi(0)`` holds on ``phi(t) = |F(x + t dx)|_2^2``: the slope
``-phi(0)`` is SciPy's choice for its 'armijo' search (half the slope of an exact Newton step).
SciPy then interpolates (quadratic, then cubic) where we halve. Like SciPy it gives up below
``t = 0.01`` and then takes the full step. ``'wolfe'`` runs the same search (documented at the
facades; SciPy runs MINPACK's Wolfe search there).
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .linesearch import backtrack, linear_model

__all__ = ["NonlinSolve", "NONLIN_MESSAGES", "max_norm"]

RUNNING, CONVERGED, MAXITER, NONFINITE, ZERO_STEP = 0, 1, 2, 3, 4

NONLIN_MESSAGES = (
    "",
    "A solution was found at the specified tolerance.",
    "The maximum number of iterations allowed has been reached.",
    "NaN result encountered.",
    "Jacobian inversion yielded zero vector. This indicates a bug in the Jacobian approximation.",
)


def max_norm(v: Array) -> Array:
    return jnp.max(jnp.abs(v))


class _State(eqx.Module):
    f: Array
    jac: Any
    f0_norm: Array
    f2: Array  # |F|_2 for the forcing term
    eta: Array
    checks: Array  # SciPy's ``nit``: the number of convergence checks
    steps: Array
    nfev: Array
    status: Array


class NonlinSolve(optx.AbstractRootFinder):
    """SciPy's ``nonlin_solve`` with the Jacobian approximation ``jacobian`` (see module docstring).

    ``jacobian`` provides ``init(x, f) -> state``, ``solve(state, f, tol, x, fn, args) -> J^-1 f``
    and ``update(state, x, f, dx, df) -> state``.
    """

    jacobian: Any
    f_tol: float = 6.0554544523933395e-06
    f_rtol: float = float("inf")
    x_tol: float = float("inf")
    x_rtol: float = float("inf")
    iter: int | None = eqx.field(default=None, static=True)
    maxiter: int = eqx.field(default=100, static=True)
    line_search: str | None = eqx.field(default="armijo", static=True)
    tol_norm: Callable = eqx.field(default=max_norm, static=True)
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _check(self, f, x, dx, f0_norm, checks):
        fn, xn, dxn = self.tol_norm(f), self.tol_norm(x), self.tol_norm(dx)
        if self.iter is not None:
            status = jnp.where(checks > self.iter, MAXITER, RUNNING)
        else:
            ok = (fn <= self.f_tol) & (fn / self.f_rtol <= f0_norm)
            ok = ok & (dxn <= self.x_tol) & (dxn / self.x_rtol <= xn)
            status = jnp.where(ok, CONVERGED, RUNNING)
        status = jnp.where(fn == 0, CONVERGED, status)
        return jnp.where(jnp.all(jnp.isfinite(f)), status, NONFINITE).astype(jnp.int32)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f = fn(y, args)[0]
        f0_norm = self.tol_norm(f)
        status = self._check(f, y, jnp.full_like(y, jnp.inf), f0_norm, 1)
        status = jnp.where(self.maxiter == 0, jnp.maximum(status, MAXITER), status)
        return _State(f, self.jacobian.init(y, f), f0_norm, jnp.linalg.norm(f),
                      jnp.asarray(1e-3, y.dtype), jnp.array(1), jnp.array(0), jnp.array(1), status)

    def _search(self, fn, y, args, s, dx):
        if self.line_search is None:
            f_new = fn(y + dx, args)[0]
            return dx, f_new, jnp.array(1)
        phi0 = jnp.dot(s.f, s.f)

        def phi(t):
            ft = fn(y + t * dx, args)[0]
            return jnp.dot(ft, ft), ft

        search = backtrack(phi, phi0, linear_model(-phi0), maxls=6)
        f_new = jax.lax.cond(search.found, lambda: search.aux, lambda: fn(y + dx, args)[0])
        t = jnp.where(search.found, search.step, 1.0)
        return t * dx, f_new, search.evals + jnp.invert(search.found)

    def step(self, fn, y, args, options, s, tags):
        tol = jnp.minimum(s.eta, s.eta * s.f2)
        dx = -self.jacobian.solve(s.jac, s.f, tol, y, fn, args)
        zero = jnp.all(dx == 0)
        step, f_new, evals = self._search(fn, y, args, s, dx)
        y_new = y + step
        jac = self.jacobian.update(s.jac, y_new, f_new, step, f_new - s.f)
        f2 = jnp.linalg.norm(f_new)
        eta_a = 0.9 * f2**2 / s.f2**2
        eta = jnp.where(0.9 * s.eta**2 < 0.1, jnp.minimum(0.9999, eta_a),
                        jnp.minimum(0.9999, jnp.maximum(eta_a, 0.9 * s.eta**2))).astype(s.eta.dtype)
        steps = s.steps + 1
        more = steps < self.maxiter
        checks = s.checks + more
        status = jnp.where(more, self._check(f_new, y_new, step, s.f0_norm, checks), MAXITER)
        status = jnp.where(jnp.all(jnp.isfinite(f_new)), status, NONFINITE)
        status = jnp.where(zero, ZERO_STEP, status).astype(jnp.int32)
        # On a zero step SciPy raises before moving; keep the old point.
        y_new = jnp.where(zero, y, y_new)
        f_new = jnp.where(zero, s.f, f_new)
        new = _State(f_new, jac, s.f0_norm, f2, eta, checks, steps, s.nfev + evals, status)
        return y_new, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return state.status != RUNNING, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return y, aux, {"nit": state.checks, "nfev": state.nfev, "status": state.status}
