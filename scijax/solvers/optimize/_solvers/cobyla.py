"""COBYLA (Powell 1994) as an optimistix minimiser: linear models on a simplex, no derivatives.

M. J. D. Powell, "A direct search optimization method that models the objective and constraint
functions by linear interpolation" (Advances in Optimization and Numerical Analysis, 1994).

The state is a simplex of ``n + 1`` evaluated points, row 0 the best one under the merit function
``Phi(x) = f(x) + mu * v(x)``, ``v(x) = max(0, max_i -c_i(x))`` (constraints ``c_i(x) >= 0``).
Interpolation on the simplex gives linear models of ``f`` and of every ``c_i``. One step of the
engine (one trip of optimistix's loop) is one of:

- **trust-region step**: ``d`` minimises the linear model of ``f`` within ``||d|| <= delta``
  subject to the linearised constraints relaxed to the least violation attainable in the ball
  (Powell's two phases); the penalty ``mu`` is raised to twice the ratio of predicted objective
  increase to predicted violation decrease when it is below 1.5 times that ratio; the new point
  replaces the vertex Powell's rule picks (the one whose barycentric weight is largest, or one
  too far from the best vertex); a reduction ratio ``>= 0.1`` asks for another trust-region step;
- **geometry step**: when a vertex is further than ``2.1 delta`` from the best one, or closer
  than ``0.25 delta`` to the face opposite it, that vertex moves ``0.5 delta`` from the best one
  along the face's normal (the sign that lowers the model merit);
- **radius reduction**: after a short (``||d|| < rho / 2``) or poor trust-region step on an
  acceptable simplex with ``delta = rho``, ``rho`` halves (to ``rhoend`` once below
  ``1.5 rhoend``) and ``mu`` is reduced by Powell's rule; at ``rho = rhoend`` the run ends
  (SciPy's status 0).

In Powell's 1994 paper the trust-region radius is ``rho`` itself. Here, as in his later methods
(NEWUOA, BOBYQA) and in PRIMA's COBYLA that SciPy >= 1.16 runs, a second radius ``delta >= rho``
follows the reduction ratio (halved below 0.1, ``max(delta / 2, ||d||)`` up to 0.7, else
``max(delta / 2, 2 ||d||)``, and set to ``rho`` once below ``1.5 rho``); with ``delta = rho``
throughout it is the 1994 method. Without it, long curved valleys take several times more
evaluations than SciPy's.

Each trust-region subproblem (Powell's TRSTLP is an active-set method) is solved here by two
small primal-dual interior-point solves of the convex problems (the Euclidean ball as a quadratic
constraint, Boyd & Vandenberghe §11.7): phase 1 minimises the linearised violation ``t``, phase 2
minimises the model of ``f`` with the violation capped at phase 1's ``t``. The simplex inverse is
recomputed every step (Powell updates it). A trial point where ``f`` or a constraint is not
finite never enters the simplex.

The objective passed to the engine returns ``(f, c)`` with ``c`` all the constraint rows
(``>= 0`` when feasible).
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["COBYLA", "trust_region_lp", "COBYLA_INFO"]

COBYLA_INFO = {"small_tr_radius": 0, "ftarget": 1, "maxfun": 3, "nan_inf_f": -2, "nan_inf_x": -1}
"""SciPy's (PRIMA's) COBYLA status codes that this engine produces."""

_ALPHA, _BETA, _GAMMA, _DELTA = 0.25, 2.1, 0.5, 1.1


def _ipm(w, g_mat, h, nd, rho, z0, gap_scale, iters: int = 60):
    """``min w.z`` s.t. ``g_mat z <= h``, ``||z[:nd]|| <= rho``, from a strictly feasible ``z0``
    (Boyd & Vandenberghe's primal-dual interior-point method, Algorithm 11.2)."""
    dtype = z0.dtype
    k = z0.shape[0]
    mask = (jnp.arange(k) < nd).astype(dtype)
    m = g_mat.shape[0] + 1
    eps = jnp.finfo(dtype).eps
    tol = eps ** 0.6
    gap_scale = jnp.maximum(gap_scale, jnp.finfo(dtype).tiny / eps)

    def cons(z):
        return jnp.concatenate([g_mat @ z - h, (jnp.sum((z * mask) ** 2) - rho ** 2)[None]])

    def jac(z):
        return jnp.concatenate([g_mat, (2.0 * z * mask)[None, :]], 0)

    lam0 = gap_scale / m / -cons(z0)

    def cond(c):
        z, lam, i, done = c
        return (i < iters) & jnp.invert(done)

    def body(c):
        z, lam, i, _ = c
        f = cons(z)
        eta = -jnp.dot(f, lam)
        tau = 10.0 * m / eta
        df = jac(z)
        r_d = w + df.T @ lam
        r_c = -lam * f - 1.0 / tau
        hess = 2.0 * lam[-1] * jnp.diag(mask) + df.T @ ((-lam / f)[:, None] * df)
        hess = hess + (eps * (1.0 + jnp.max(jnp.abs(jnp.diag(hess))))) * jnp.eye(k, dtype=dtype)
        dz = jnp.linalg.solve(hess, -r_d - df.T @ (r_c / f))
        dlam = (r_c - lam * (df @ dz)) / f
        # Fraction to the boundary, for the multipliers and for the (linear and ball) constraints.
        s_dual = jnp.min(jnp.where(dlam < 0, -lam / jnp.where(dlam < 0, dlam, -1.0), jnp.inf))
        rate = g_mat @ dz
        s_lin = jnp.min(jnp.where(rate > 0, -f[:-1] / jnp.where(rate > 0, rate, 1.0), jnp.inf), initial=jnp.inf)
        qa, qb = jnp.sum((dz * mask) ** 2), 2.0 * jnp.sum(z * dz * mask)
        s_ball = (-qb + jnp.sqrt(qb * qb - 4.0 * qa * f[-1])) / (2.0 * jnp.where(qa > 0, qa, 1.0))
        s_ball = jnp.where(qa > 0, s_ball, jnp.inf)
        s = jnp.minimum(1.0, 0.99 * jnp.minimum(s_dual, jnp.minimum(s_lin, s_ball)))
        ok = jnp.all(jnp.isfinite(dz)) & jnp.all(jnp.isfinite(dlam)) & jnp.all(cons(z + s * dz) < 0) & (s > 0)
        z_new = jnp.where(ok, z + s * dz, z)
        lam_new = jnp.where(ok, lam + s * dlam, lam)
        f_new = cons(z_new)
        converged = (jnp.linalg.norm(w + jac(z_new).T @ lam_new) <= tol * (gap_scale / rho)) & (
            -jnp.dot(f_new, lam_new) <= tol * gap_scale)
        return z_new, lam_new, i + 1, converged | jnp.invert(ok)

    z, *_ = jax.lax.while_loop(cond, body, (z0, lam0, jnp.array(0), jnp.array(False)))
    return z


def _violation(c):
    return jnp.maximum(0.0, jnp.max(-c, initial=0.0))


def trust_region_lp(g: Array, c: Array, a: Array, rho: Array) -> tuple[Array, Array]:
    """COBYLA's trust-region subproblem: ``(d, predicted violation)``.

    Minimise ``g.d`` over ``||d|| <= rho`` among the ``d`` of least linearised violation
    ``max(0, max_i -(c_i + a[:, i].d))`` (``a`` holds the constraint gradients as columns).
    """
    n, m = a.shape
    dtype = g.dtype
    if m == 0:
        gn = jnp.linalg.norm(g)
        return jnp.where(gn > 0, -rho * g / jnp.where(gn > 0, gn, 1.0), 0.0), jnp.zeros((), dtype)
    amax = jnp.max(jnp.linalg.norm(a, axis=0))
    cscale = jnp.maximum(rho * amax, jnp.finfo(dtype).eps * (1.0 + jnp.max(jnp.abs(c))))
    slack = jnp.finfo(dtype).eps ** 0.75 * cscale
    # Variables (d, t) and the same shapes in both phases, so that one loop over the phases
    # compiles the interior-point solve once. Phase 1 minimises the violation t: rows
    # c + a.T d + t >= 0, 0 <= t <= 2 t0. Phase 2 minimises g.d from phase 1's point: rows
    # c + a.T d + t1 + slack >= 0, and -1 <= t <= 1 (t no longer enters the other rows).
    t0 = _violation(c) + cscale
    ones = jnp.ones((m, 1), dtype)
    pad = jnp.array([[-1.0], [1.0]], dtype)
    w1 = jnp.zeros((n + 1,), dtype).at[n].set(1.0)
    w2 = jnp.concatenate([g, jnp.zeros((1,), dtype)])

    def phase(k, z):
        second = k == 1
        top = jnp.concatenate([-a.T, jnp.where(second, 0.0, -1.0) * ones], 1)
        g_mat = jnp.concatenate([top, jnp.concatenate([jnp.zeros((2, n), dtype), pad], 1)], 0)
        h = jnp.concatenate([c + jnp.where(second, z[n] + slack, 0.0),
                             jnp.where(second, jnp.array([1.0, 1.0], dtype), jnp.stack([0.0 * t0, 2.0 * t0]))])
        z = jnp.where(second, z.at[n].set(0.0), z)
        scale = jnp.where(second, rho * jnp.linalg.norm(g) + slack, cscale)
        return _ipm(jnp.where(second, w2, w1), g_mat, h, n, rho, z, scale)

    z0 = jnp.zeros((n + 1,), dtype).at[n].set(t0)
    d = jax.lax.fori_loop(0, 2, phase, z0)[:n]
    return d, _violation(c + a.T @ d)


class _CobylaState(eqx.Module):
    pts: Array  # (n + 1, n) simplex vertices, row 0 the best under the current merit
    fval: Array  # (n + 1,)
    cval: Array  # (n + 1, m)
    rho: Array
    delta: Array  # the trust-region radius, >= rho
    mu: Array
    trust_next: Array  # the last trust-region step was good: another one, whatever the geometry
    reduce_next: Array  # the last trust-region step was short or poor: reduce rho (or fix geometry)
    f: Array
    nit: Array
    nfev: Array
    info: Array
    done: Array


def _order(pts, fval, cval, mu):
    """The simplex with its best vertex (least merit, then least violation) in row 0."""
    v = jax.vmap(_violation)(cval)
    phi = fval + mu * v
    best = jnp.argmin(jnp.where(phi == jnp.min(phi), v, jnp.inf))
    perm = jnp.arange(pts.shape[0]).at[0].set(best).at[best].set(0)
    return pts[perm], fval[perm], cval[perm], best != 0


class COBYLA(optx.AbstractMinimiser):
    """Powell's COBYLA; see the module docstring. ``maxfun`` bounds function evaluations."""

    rhobeg: float = 1.0
    rhoend: float = 1e-4
    maxfun: int = 1000
    ftarget: float = -float("inf")
    ctol: float | None = None  # None: sqrt(eps) of the dtype (SciPy's default for float64)
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _eval(self, fn, x, args):
        f, c = fn(x, args)
        return f, c

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        n = y.shape[0]
        pts = jnp.concatenate([y[None], y[None] + self.rhobeg * jnp.eye(n, dtype=y.dtype)], 0)
        fval, cval = jax.lax.map(lambda p: self._eval(fn, p, args), pts)
        pts, fval, cval, _ = _order(pts, fval, cval, jnp.zeros((), y.dtype))
        x_finite = jnp.all(jnp.isfinite(y))
        finite = jnp.all(jnp.isfinite(fval)) & jnp.all(jnp.isfinite(cval)) & x_finite
        info = jnp.where(finite, 0, jnp.where(x_finite, COBYLA_INFO["nan_inf_f"], COBYLA_INFO["nan_inf_x"]))
        false = jnp.array(False)
        rho = jnp.asarray(self.rhobeg, y.dtype)
        return _CobylaState(pts, fval, cval, rho, rho, jnp.zeros((), y.dtype), false, false, fval[0], jnp.array(0),
                            jnp.array(n + 1), info, jnp.invert(finite))

    def step(self, fn, y, args, options, state, tags):
        dtype = y.dtype
        pts, fval, cval = state.pts, state.fval, state.cval  # (ordered under mu by the last step)
        rho, delta, mu = state.rho, state.delta, state.mu
        x0, f0, c0 = pts[0], fval[0], cval[0]
        v0 = _violation(c0)
        sim = pts[1:] - x0
        simi = jnp.linalg.inv(sim)
        grads = simi @ jnp.concatenate([(fval[1:] - f0)[:, None], cval[1:] - c0], 1)
        g, a = grads[:, 0], grads[:, 1:]
        veta = jnp.linalg.norm(sim, axis=1)
        vsig = 1.0 / jnp.linalg.norm(simi, axis=0)
        acceptable = jnp.all(veta <= _BETA * delta) & jnp.all(vsig >= _ALPHA * delta)
        singular = jnp.invert(jnp.all(jnp.isfinite(grads)) & jnp.all(jnp.isfinite(simi)))
        zero = jnp.array(0)
        false, true = jnp.array(False), jnp.array(True)

        def evaluate(x):
            f, c = self._eval(fn, x, args)
            return f, c, jnp.isfinite(f) & jnp.all(jnp.isfinite(c))

        def geometry(_):
            far = veta > _BETA * delta
            j = jnp.where(jnp.any(far), jnp.argmax(veta), jnp.argmin(vsig))
            dx = _GAMMA * delta * vsig[j] * simi[:, j]
            model = lambda s: s * jnp.dot(g, dx) + mu * _violation(c0 + s * (a.T @ dx))  # noqa: E731
            dx = jnp.where(model(-1.0) < model(1.0), -dx, dx)
            f, c, finite = evaluate(x0 + dx)
            info = jnp.where(finite, 0, COBYLA_INFO["nan_inf_f"])
            new = (pts.at[j + 1].set(x0 + dx), fval.at[j + 1].set(f), cval.at[j + 1].set(c))
            return (*new, rho, delta, mu, false, false, jnp.array(1), info, jnp.invert(finite))

        def reduce(_):
            last = rho <= self.rhoend
            new_rho = 0.5 * rho
            new_rho = jnp.where(new_rho <= 1.5 * self.rhoend, jnp.asarray(self.rhoend, dtype), new_rho)
            # Powell's reduction of mu: the range of f over the simplex against the smallest
            # range of a constraint that is violated somewhere on it.
            cmin = jnp.minimum(jnp.min(cval, axis=0), 0.0)
            cmax = jnp.max(cval, axis=0)
            spread = jnp.where(cmin < 0.5 * cmax, jnp.maximum(cmax, 0.0) - cmin, jnp.inf)
            denom = jnp.min(spread, initial=jnp.inf)
            frange = jnp.max(fval) - jnp.min(fval)
            new_mu = jnp.where(jnp.isinf(denom) | (denom <= 0), 0.0,
                               jnp.where(frange < mu * denom, frange / jnp.where(denom > 0, denom, 1.0), mu))
            new_mu = jnp.where(mu > 0, new_mu, mu)
            # While delta > rho only delta shrinks (it did after the step that led here): try again.
            keep = delta > rho
            last = last & jnp.invert(keep)
            new_rho = jnp.where(keep | last, rho, new_rho)
            new_delta = jnp.where(keep | last, delta, jnp.maximum(0.5 * delta, new_rho))
            # As Powell's code: the step after a reduction is a trust-region step, whatever the geometry.
            return (pts, fval, cval, new_rho, new_delta, jnp.where(keep | last, mu, new_mu), true, false, zero,
                    jnp.asarray(COBYLA_INFO["small_tr_radius"]), last)

        def trust(_):
            d, vpred = trust_region_lp(g, c0, a, delta)
            dnorm = jnp.linalg.norm(d)
            short = dnorm < 0.5 * rho
            preref = -jnp.dot(g, d)
            prerec = v0 - vpred
            barmu = jnp.where(prerec > 0, -preref / jnp.where(prerec > 0, prerec, 1.0), 0.0)
            new_mu = jnp.where(mu < 1.5 * barmu, 2.0 * barmu, mu)
            reorder = _order(pts, fval, cval, new_mu)[3]

            def shrink(t):
                return jnp.where(t <= 1.5 * rho, rho, t)

            def take(_):
                f, c, finite = evaluate(x0 + d)
                vnew = _violation(c)
                prerem = preref + new_mu * prerec
                trured = f0 + new_mu * v0 - (f + new_mu * vnew)
                degenerate = (new_mu == 0) & (f == f0)
                prerem = jnp.where(degenerate, prerec, prerem)
                trured = jnp.where(degenerate, v0 - vnew, trured)
                trured = jnp.where(finite, trured, -jnp.inf)
                # Powell's choice of the vertex the new point replaces.
                weight = jnp.abs(simi.T @ d)
                floor = jnp.where(trured <= 0, 1.0, 0.0)
                j = jnp.argmax(weight)
                j = jnp.where(weight[j] > floor, j, -1)
                sigbar = weight * vsig
                dist = jnp.where(trured > 0, jnp.linalg.norm(d[None] - sim, axis=1), veta)
                eligible = ((sigbar >= _ALPHA * delta) | (sigbar >= vsig)) & (dist > _DELTA * delta)
                far = jnp.argmax(jnp.where(eligible, dist, -jnp.inf))
                j = jnp.where(jnp.any(eligible), far, j)
                j = jnp.where(finite, j, -1)
                keep = j >= 0
                jj = jnp.maximum(j, 0) + 1
                new = (jnp.where(keep, pts.at[jj].set(x0 + d), pts), jnp.where(keep, fval.at[jj].set(f), fval),
                       jnp.where(keep, cval.at[jj].set(c), cval))
                good = (trured > 0) & (trured >= 0.1 * prerem)
                # The trust-region radius of Powell's later methods (and PRIMA's COBYLA).
                ratio = jnp.where(prerem > 0, trured / jnp.where(prerem > 0, prerem, 1.0), -1.0)
                new_delta = jnp.where(ratio <= 0.1, 0.5 * delta,
                                      jnp.where(ratio <= 0.7, jnp.maximum(0.5 * delta, dnorm),
                                                jnp.maximum(0.5 * delta, 2.0 * dnorm)))
                return (*new, rho, shrink(new_delta), new_mu, good, jnp.invert(good), jnp.array(1), zero, false)

            def skip(_):  # short step: reduce rho next; mu raised and the best vertex changed: again
                new_delta = jnp.where(short, shrink(0.1 * delta), delta)
                return (pts, fval, cval, rho, new_delta, new_mu, jnp.invert(short), short, zero, zero, false)

            return jax.lax.cond(short | reorder, skip, take, None)

        mode = jnp.where(state.reduce_next, jnp.where(acceptable, 2, 0),
                         jnp.where(acceptable | state.trust_next, 1, 0))
        out = jax.lax.switch(mode, [geometry, trust, reduce], None)
        pts, fval, cval, rho, delta, mu, trust_next, reduce_next, evals, info, done = out
        nfev = state.nfev + evals
        info = jnp.where(singular, COBYLA_INFO["nan_inf_f"], info)
        done = done | singular
        best = _order(pts, fval, cval, mu)
        ctol = jnp.sqrt(jnp.finfo(dtype).eps) if self.ctol is None else self.ctol
        at_target = (best[1][0] <= self.ftarget) & (_violation(best[2][0]) <= ctol)
        out_of_budget = jnp.invert(done) & (nfev >= self.maxfun)
        info = jnp.where(at_target & jnp.invert(done), COBYLA_INFO["ftarget"],
                         jnp.where(out_of_budget, COBYLA_INFO["maxfun"], info))
        done = done | at_target | out_of_budget
        state = _CobylaState(best[0], best[1], best[2], rho, delta, mu, trust_next, reduce_next, best[1][0],
                             state.nit + evals, nfev, info, done)
        return best[0][0], state, best[2][0]

    def terminate(self, fn, y, args, options, state, tags):
        return state.done, optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        return state.pts[0], aux, {"nit": state.nit, "nfev": state.nfev, "info": state.info,
                                   "converged": state.info == 0}
