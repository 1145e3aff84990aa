"""SciPy's 'trust-constr' as one optimistix minimiser: Byrd-Omojokun SQP, inside a barrier method
when there are inequalities.

The objective passed to the engine returns ``(f, (c_eq, c_in))`` with ``c_eq(x) = 0`` and
``c_in(x) >= 0`` (bounds are inequality rows), as for SLSQP.

- Without inequality rows this is the equality-constrained trust-region SQP
  (:func:`.trust_constr_sqp.sqp_step`, SciPy's 'equality_constrained_sqp').
- With ``p`` inequality rows it is the interior-point method SciPy calls 'tr_interior_point'
  (Byrd, Hribar & Nocedal 1999): slacks ``s > 0`` turn the rows into ``c_in(x) - s = 0``, the
  objective becomes ``f - mu sum(log s)``, and every iteration is one SQP step on ``(x, s)``
  with the slack step scaled by ``S = diag(s)`` (so the barrier Hessian is ``mu I``) and cut
  back to keep ``s`` at least ``(1 - tau)`` of its value (fraction to the boundary,
  ``tau = 0.995``). When the barrier subproblem is solved to ``barrier_tolerance`` (or the radius
  falls below ``xtol``), ``mu`` and that tolerance shrink by 5.

The merit function is ``f - mu sum(log s) + nu |(c_eq, c_in - s)|``; a rejected step triggers one
second-order correction (the minimum-norm step back onto the linearised constraints) before
shrinking the radius. The stop follows SciPy: ``gtol`` on the Lagrangian gradient with the
constraint violation below ``gtol`` (status 1), the radius below ``xtol`` (status 2, or 4 when
the violation exceeds ``gtol``), ``maxiter`` (status 0); the barrier branch stops only once
``mu < barrier_tol``.
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

from .._hessian_update import HessianUpdateStrategy, quasi_newton_update
from .trust_constr_sqp import least_squares_multipliers, penalty_update, sqp_step

__all__ = ["TrustConstr", "TRUST_CONSTR_MESSAGES"]

TRUST_CONSTR_MESSAGES: tuple[str, ...] = (
    "The maximum number of function evaluations is exceeded.",
    "`gtol` termination condition is satisfied.",
    "`xtol` termination condition is satisfied.",
    "`callback` raised `StopIteration`.",
    "Constraint violation exceeds 'gtol'",
    "NaN result encountered.",
)
"""SciPy's trust-constr messages indexed by ``status``, plus 5 for a NaN."""

_TAU = 0.995  # fraction to the boundary
_ETA = 1e-8  # smallest accepted reduction ratio
_DECAY = 0.2  # barrier parameter and tolerance decrease
_MAX_RADIUS = 1e10


def _evaluate(fn, x, args):
    (f, cons), g = jax.value_and_grad(lambda z: fn(z, args), has_aux=True)(x)
    j_eq, j_in = jax.jacfwd(lambda z: fn(z, args)[1])(x)
    return f, g, cons[0], cons[1], j_eq, j_in


class _State(eqx.Module):
    s: Array
    f: Array
    g: Array
    c_eq: Array
    c_in: Array
    j_eq: Array
    j_in: Array
    lam_eq: Array
    lam_in: Array
    hmat: Array
    first: Array
    radius: Array
    nu: Array
    mu: Array
    sub_tol: Array
    nit: Array
    nfev: Array
    njev: Array
    nhev: Array
    code: Array
    bad_trial: Array


def _blocks(st: _State, h: Array, mu):
    n, p, me = st.g.shape[0], st.s.shape[0], st.c_eq.shape[0]
    gb = jnp.concatenate([st.g, jnp.full((p,), -1.0, st.g.dtype) * mu])
    hb = jnp.block([[h, jnp.zeros((n, p), h.dtype)], [jnp.zeros((p, n), h.dtype), mu * jnp.eye(p, dtype=h.dtype)]])
    cb = jnp.concatenate([st.c_eq, st.c_in - st.s])
    ab = jnp.block([[st.j_eq, jnp.zeros((me, p), h.dtype)], [st.j_in, -jnp.diag(st.s)]])
    return gb, hb, cb, ab


def _multipliers(st: _State, mu):
    """Least-squares multipliers of ``(c_eq, c_in - s)`` for the barrier problem in scaled slacks."""
    me, p = st.c_eq.shape[0], st.s.shape[0]
    ab = jnp.block([[st.j_eq, jnp.zeros((me, p), st.g.dtype)], [st.j_in, -jnp.diag(st.s)]])
    gb = jnp.concatenate([st.g, jnp.full((p,), -1.0, st.g.dtype) * mu])
    lam = least_squares_multipliers(gb, ab)
    return lam[:me], lam[me:]


def lagrangian_gradient(g, j_eq, j_in, lam_eq, lam_in):
    """``grad f - J_eq^T lam_eq - J_in^T lam_in``."""
    return g - j_eq.T @ lam_eq - j_in.T @ lam_in


def violation(c_eq, c_in):
    """The largest constraint violation."""
    return jnp.maximum(jnp.max(jnp.abs(c_eq), initial=0.0), jnp.max(-c_in, initial=0.0))


class TrustConstr(optx.AbstractMinimiser):
    """Trust-region SQP with an interior-point (barrier) outer method; see the module docstring."""

    gtol: float = 1e-8
    xtol: float = 1e-8
    barrier_tol: float = 1e-8
    initial_tr_radius: float = 1.0
    initial_constr_penalty: float = 1.0
    initial_barrier_parameter: float = 0.1
    initial_barrier_tolerance: float = 0.1
    maxiter: int = 1000
    hess: HessianUpdateStrategy | None = None
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _hessian(self, fn, x, args, st: _State):
        if self.hess is not None:
            return st.hmat
        def lagrangian(z):
            f, (c_eq, c_in) = fn(z, args)
            return f - jnp.dot(st.lam_eq, c_eq) - jnp.dot(st.lam_in, c_in)
        return jax.hessian(lagrangian)(x)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f, g, c_eq, c_in, j_eq, j_in = _evaluate(fn, y, args)
        dt = y.dtype
        s = jnp.maximum(1.5 * c_in, 1.0)
        scalar = lambda v: jnp.asarray(v, dt)  # noqa: E731
        zero = jnp.array(0)
        st = _State(s, f, g, c_eq, c_in, j_eq, j_in, jnp.zeros_like(c_eq), jnp.zeros_like(c_in),
                    jnp.eye(y.shape[0], dtype=dt), jnp.array(True), scalar(self.initial_tr_radius),
                    scalar(self.initial_constr_penalty), scalar(self.initial_barrier_parameter),
                    scalar(self.initial_barrier_tolerance), zero, jnp.array(1), jnp.array(1), zero,
                    jnp.where(jnp.isfinite(f), -1, 5), jnp.array(False))
        lam_eq, lam_in = _multipliers(st, st.mu)
        return eqx.tree_at(lambda t: (t.lam_eq, t.lam_in), st, (lam_eq, lam_in))

    def _merit(self, f, c_eq, c_in, s, mu, nu):
        return f - mu * jnp.sum(jnp.log(s)) + nu * jnp.linalg.norm(jnp.concatenate([c_eq, c_in - s]))

    def _fraction_to_boundary(self, d, n):
        dt = d[n:]
        cut = jnp.min(jnp.where(dt < 0, _TAU / jnp.where(dt < 0, -dt, 1.0), 1.0), initial=1.0)
        return d * jnp.minimum(cut, 1.0)

    def step(self, fn, y, args, options, state, tags):
        st = state
        n, p = y.shape[0], st.s.shape[0]
        h = self._hessian(fn, y, args, st)
        gb, hb, cb, ab = _blocks(st, h, st.mu)
        d, v, ab_pinv = sqp_step(gb, hb, cb, ab, st.radius)
        d = self._fraction_to_boundary(d, n)
        quad = jnp.dot(gb, d) + 0.5 * jnp.dot(d, hb @ d)
        infeas = jnp.linalg.norm(cb)
        nu = penalty_update(st.nu, quad, infeas - jnp.linalg.norm(cb + ab @ d))
        pred = -quad + nu * (infeas - jnp.linalg.norm(cb + ab @ d))
        merit0 = self._merit(st.f, st.c_eq, st.c_in, st.s, st.mu, nu)

        def trial(dd):
            x_t, s_t = y + dd[:n], st.s * (1 + dd[n:])
            f_t, (ce_t, ci_t) = fn(x_t, args)
            ratio = (merit0 - self._merit(f_t, ce_t, ci_t, s_t, st.mu, nu)) / jnp.where(pred > 0, pred, jnp.nan)
            return x_t, s_t, ce_t, ci_t, jnp.where(jnp.isfinite(ratio), ratio, -jnp.inf), jnp.isfinite(f_t)

        x1, s1, ce1, ci1, ratio1, fin1 = trial(d)
        # Second-order correction: back onto the linearised constraints at the trial point.
        soc_ok = (ratio1 < _ETA) & (jnp.linalg.norm(v) <= 0.1 * jnp.linalg.norm(d))
        c_trial = jnp.concatenate([ce1, ci1 - s1])
        corr = -ab_pinv @ c_trial
        d2 = self._fraction_to_boundary(d + jnp.where(jnp.all(jnp.isfinite(corr)), corr, 0.0), n)
        x2, s2, _, _, ratio2, fin2 = trial(d2)
        use2 = soc_ok & (ratio2 >= _ETA)
        x_new, s_new = jnp.where(use2, x2, x1), jnp.where(use2, s2, s1)
        ratio, d_used = jnp.where(use2, ratio2, ratio1), jnp.where(use2, d2, d)
        accept = ratio >= _ETA
        x_new, s_new = jnp.where(accept, x_new, y), jnp.where(accept, s_new, st.s)

        step_norm = jnp.linalg.norm(d_used)
        radius = jnp.where(ratio >= 0.9, jnp.maximum(st.radius, 7 * step_norm),
                           jnp.where(ratio >= 0.3, jnp.maximum(st.radius, 2 * step_norm),
                                     jnp.where(accept, st.radius, 0.25 * jnp.linalg.norm(d))))
        radius = jnp.minimum(radius, _MAX_RADIUS)

        f, g, c_eq, c_in, j_eq, j_in = _evaluate(fn, x_new, args)
        new = eqx.tree_at(lambda t: (t.s, t.f, t.g, t.c_eq, t.c_in, t.j_eq, t.j_in), st,
                          (s_new, f, g, c_eq, c_in, j_eq, j_in))
        lam_eq, lam_in = _multipliers(new, st.mu)
        lam_eq, lam_in = jnp.where(accept, lam_eq, st.lam_eq), jnp.where(accept, lam_in, st.lam_in)
        hmat, first = st.hmat, st.first
        if self.hess is not None:
            grad_l = lambda g_, je, ji: lagrangian_gradient(g_, je, ji, lam_eq, lam_in)  # noqa: E731
            yk = grad_l(g, j_eq, j_in) - grad_l(st.g, st.j_eq, st.j_in)
            updated = quasi_newton_update(self.hess, hmat, first, x_new - y, yk)
            hmat, first = jnp.where(accept, updated, hmat), first & ~accept

        lg = lagrangian_gradient(g, j_eq, j_in, lam_eq, lam_in)
        optimality = jnp.max(jnp.abs(lg))
        cv = violation(c_eq, c_in)
        mu, sub_tol = st.mu, st.sub_tol
        if p:
            sub_opt = jnp.maximum(optimality, jnp.max(jnp.abs(s_new * lam_in - mu)))
            sub_cv = jnp.max(jnp.abs(jnp.concatenate([c_eq, c_in - s_new])))
            sub_done = ((sub_opt < sub_tol) & (sub_cv < sub_tol)) | (radius < self.xtol)
            shrink = sub_done & (mu >= self.barrier_tol)
            mu, sub_tol = jnp.where(shrink, _DECAY * mu, mu), jnp.where(shrink, _DECAY * sub_tol, sub_tol)
            radius = jnp.where(shrink, jnp.maximum(radius, self.initial_tr_radius), radius)
            barrier_done = mu < self.barrier_tol
        else:
            barrier_done = jnp.array(True)
        gtol_done = (optimality < self.gtol) & (cv < self.gtol) & barrier_done
        xtol_done = (radius < self.xtol) & barrier_done
        nit = st.nit + 1
        code = jnp.where(gtol_done, 1, jnp.where(xtol_done, jnp.where(cv > self.gtol, 4, 2),
                                                  jnp.where(nit >= self.maxiter, 0, -1)))
        bad = ~jnp.where(use2, fin2, fin1) & ~accept
        code = jnp.where(xtol_done & ~gtol_done & bad, 5, code)
        new = _State(s_new, f, g, c_eq, c_in, j_eq, j_in, lam_eq, lam_in, hmat, first, radius, nu, mu,
                     sub_tol, nit, st.nfev + 1 + soc_ok.astype(st.nfev.dtype), st.njev + 1,
                     st.nhev + (self.hess is None), code.astype(st.code.dtype), bad)
        return x_new, new, (c_eq, c_in)

    def terminate(self, fn, y, args, options, state, tags):
        done = (state.code >= 0) | (state.nit >= self.maxiter)
        return done, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        st = state
        code = jnp.where(st.code >= 0, st.code, 0)
        lg = lagrangian_gradient(st.g, st.j_eq, st.j_in, st.lam_eq, st.lam_in)
        stats = {"nit": st.nit, "nfev": st.nfev, "njev": st.njev, "nhev": st.nhev, "code": code,
                 "converged": (code == 1) | (code == 2), "lam_eq": st.lam_eq, "lam_in": st.lam_in,
                 "lagrangian_grad": lg, "optimality": jnp.max(jnp.abs(lg), initial=0.0),
                 "constr_violation": violation(st.c_eq, st.c_in), "tr_radius": st.radius,
                 "constr_penalty": st.nu, "barrier_parameter": st.mu, "barrier_tolerance": st.sub_tol,
                 "j_eq": st.j_eq, "j_in": st.j_in}
        return y, aux, stats
