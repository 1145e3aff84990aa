"""'LSODA': automatic switching between a non-stiff and a stiff method, as a diffrax solver.

SciPy's ``'LSODA'`` (Hindmarsh and Petzold's ODEPACK code) starts with variable-order Adams
methods, watches for stiffness, moves to variable-order BDF when the problem is stiff and back
when it is not. What runs here keeps that behaviour with a different pair of methods:

- **Non-stiff mode: Dormand-Prince 5(4)**, SciPy's ``RK45`` pair (the tableau, error weights and
  continuous extension of :mod:`._rk_tableaus`), first-same-as-last. No Jacobian is evaluated.
- **Stiffness test** (Hairer & Wanner, *Solving ODEs II*, IV.2, and their code DOPRI5): after
  each step, ``h rho = |h| ||k7 - k6|| / ||y1 - y6||`` estimates ``h`` times the dominant eigenvalue
  of the Jacobian from the last two stages, which are both evaluated at ``t + h``. A value above
  :data:`STIFF_BOUND` is one positive; :data:`STIFF_AFTER` (15) positives switch to the stiff
  method, and six negatives in a row reset their count, as in DOPRI5. Steps limited by stability,
  not accuracy, are what this detects. DOPRI5's bound is 3.25 (the method's stability region
  reaches about -3.3 on the negative real axis); here it is 2.0, because the PI controller settles
  stability-limited steps where the estimate reads between 2 and 3.2: on Robertson's problem at
  rtol 1e-7 a bound of 3.25 never fired in 1,079 such steps (1,509 steps in all against 522 with
  2.0). With 2.0 no Jacobian is evaluated on Lorenz, Arenstorf, Lotka-Volterra or ``y' = -y`` at
  rtol 1e-3 to 1e-10 (``tests/solvers/integrate/test_lsoda.py`` checks some of them).
- **Stiff mode: Rodas5** (Di Marzo 1993; the tableau of :mod:`._rosenbrock`), L-stable, one
  Jacobian (autodiff or the ``jac`` option) and one LU factorisation per step.
- **Back to non-stiff.** The Rodas step has the Jacobian ``J`` at hand; a few steps of power
  iteration per step (the vector is kept from step to step) estimate its spectral radius ``rho``.
  When the step the controller will propose next (its integral part, ``0.9 err^(-1/5)`` times
  this one, from the solver's own error estimate) times ``rho`` stays below :data:`BACK_BELOW`
  for :data:`BACK_AFTER` consecutive steps, an explicit step of that size would be stable, and
  the explicit method's accuracy-limited step is about the same (both are of order 5), so the
  solver returns to Dormand-Prince.

Why not Adams/BDF: both branches here are one-step methods of order 5 with an embedded
estimate of order 4, so one PI step-size controller serves both and a switch needs no
restart of a multistep history; dense output is a quartic in either mode. A variable-order
Adams code needs a Nordsieck history and its own order control, which diffrax's loop does not
provide (our ``'BDF'`` brings its own controller). On small stiff problems Rodas5 takes fewer
steps than SciPy's BDF (see ``benchmarks/bench_stiff.py``).

Work counts. ``njev`` and ``nlu`` count the steps taken in stiff mode (one each); ``nfev`` counts
6 evaluations per non-stiff step and 9 per stiff step (7 stages, ``f(t1, y1)`` for the next step,
and the derivative in ``t``, one JVP). diffrax discards the state of a rejected step, so rejected
steps are charged to each mode in proportion to its accepted steps (an estimate; exact when
the solve never switched).

Under ``jax.vmap`` the mode is per member and ``lax.cond`` becomes a select: every step runs
both methods for all members (about the cost of a Rodas5 step plus a Dormand-Prince step),
while the work counts still follow each member's mode.
"""

from typing import ClassVar

import diffrax
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax.flatten_util import ravel_pytree

from ._rk_tableaus import TABLEAUS
from ._rosenbrock import RODAS5

__all__ = ["LSODA", "LSODAInterpolation", "STIFF_AFTER", "BACK_BELOW", "BACK_AFTER"]

STIFF_AFTER = 15  # consecutive positive stiffness tests before switching to Rodas5 (DOPRI5's 15)
RESET_AFTER = 6  # consecutive negatives that reset the count (DOPRI5's 6)
STIFF_BOUND = 2.0  # h * rho above this is a positive test (DOPRI5 uses 3.25; see the module docstring)
BACK_BELOW = 3.25  # stiff mode: the next step times rho below this ...
BACK_AFTER = 5  # ... for this many consecutive steps switches back
POWER_ITERS = 3  # power-iteration steps per stiff step

_DP = TABLEAUS["RK45"]  # SciPy's Dormand-Prince pair: error weights and continuous extension
_DP_E = np.asarray(_DP.e)
_DP_P = np.asarray(_DP.p)
_NONSTIFF, _STIFF = 0, 1
# Work counts in the solver state: nfev, njev, nlu, accepted stiff steps, switches, accepted non-stiff steps.
_NFEV, _NJEV, _NLU, _NSTIFF, _NSWITCH, _NNONSTIFF = range(6)


def _rms(x):
    return jnp.sqrt(jnp.mean(jnp.abs(x) ** 2))


class LSODAInterpolation(diffrax.AbstractLocalInterpolation):
    """The step's quartic ``y0 + s c1 + s^2 c2 + s^3 c3 + s^4 c4``, ``s = (t - t0) / (t1 - t0)``, in either mode."""

    t0: jax.Array
    t1: jax.Array
    y0: jax.Array
    c: jax.Array  # a pytree like y, each leaf stacked (4, ...)

    def evaluate(self, t0, t1=None, left: bool = True):
        del left
        if t1 is not None:
            return self.evaluate(t1) - self.evaluate(t0)
        dt = self.t1 - self.t0
        s = (t0 - self.t0) / jnp.where(dt == 0, 1, dt)

        def leaf(y, c):
            acc = c[3]
            for j in (2, 1, 0):
                acc = c[j] + s * acc
            return y + s * acc

        return jax.tree.map(leaf, self.y0, self.c)


def _dp_step(g, t0, dtau, h, y0, f0):
    """One Dormand-Prince 5(4) step: ``(y1, f1, error, dense rows, h rho)``."""
    ks = [f0]
    points = [y0]
    for i in range(1, len(_DP.c)):
        y_i = y0 + sum((h * a) * k for a, k in zip(_DP.a[i], ks, strict=False) if a != 0.0)
        points.append(y_i)
        ks.append(g(t0 + _DP.c[i] * dtau, y_i))
    y1, f1 = points[-1], ks[-1]  # first same as last
    err = h * sum(float(e) * k for e, k in zip(_DP_E, ks, strict=True) if e != 0.0)
    rows = jnp.stack([h * sum(float(_DP_P[i, j]) * ks[i] for i in range(len(ks)) if _DP_P[i, j] != 0.0)
                      for j in range(_DP_P.shape[1])])
    # Hairer's stiffness estimate from the two stages at t + h.
    num, den = _rms(ks[-1] - ks[-2]), _rms(points[-1] - points[-2])
    h_rho = jnp.where(den > 0, jnp.abs(h) * num / jnp.where(den > 0, den, 1), 0.0)
    return y1, f1, err, rows, h_rho


def _rodas_step(g, t0, dtau, h, y0, f0, v):
    """One Rodas5 step: ``(y1, f1, error, dense rows, h rho, power vector)``."""
    tab = RODAS5
    a, c_mat = np.asarray(tab.a), np.asarray(tab.c_mat)
    holo = jnp.iscomplexobj(y0)
    jac = jax.jacfwd(lambda y: g(t0, y), holomorphic=holo)(y0)
    _, f_tau = jax.jvp(lambda t: g(t, y0), (t0,), (jnp.ones_like(t0),))
    lu = jsl.lu_factor(jnp.eye(y0.shape[0], dtype=jac.dtype) / (h * tab.gamma) - jac)
    ks = []
    u = y0
    for i in range(len(tab.c)):
        u = y0 + sum((float(a[i, j]) * ks[j] for j in range(i) if a[i, j] != 0), jnp.zeros_like(y0))
        f_i = f0 if i == 0 else g(t0 + tab.c[i] * dtau, u)
        rhs = f_i + tab.d[i] * dtau * f_tau
        rhs = rhs + sum((float(c_mat[i, j]) / h * ks[j] for j in range(i) if c_mat[i, j] != 0), jnp.zeros_like(y0))
        ks.append(jsl.lu_solve(lu, rhs.astype(lu[0].dtype)).astype(y0.dtype))
    y1 = u + ks[-1]
    q = jnp.asarray(tab.h_dense, dtype=y0.dtype) @ jnp.stack(ks)
    # (1 - s) y0 + s (y1 + (1 - s)(q1 + s q2 + s^2 q3)) in powers of s.
    rows = jnp.stack([y1 - y0 + q[0], q[1] - q[0], q[2] - q[1], -q[2]])
    # Power iteration on the Jacobian for its spectral radius (a threshold: no derivative).
    jac_s = jax.lax.stop_gradient(jac)
    rho = jnp.zeros((), jnp.finfo(y0.dtype).dtype)
    for _ in range(POWER_ITERS):
        w = jac_s @ v
        norm_w, norm_v = jnp.linalg.norm(w), jnp.linalg.norm(v)
        rho = norm_w / jnp.where(norm_v > 0, norm_v, 1)
        v = jnp.where(norm_w > 0, w / jnp.where(norm_w > 0, norm_w, 1), v)
    v = jnp.where(jnp.all(jnp.isfinite(v)), v, _start_vector(v.shape[0], v.dtype))
    return y1, g(t0 + dtau, y1), ks[-1], rows, jnp.abs(h) * rho, v


def _start_vector(n, dtype):
    return (jnp.cos(jnp.arange(n) * 1.618) + 1.5).astype(dtype) / n ** 0.5  # not orthogonal to simple vectors


class LSODA(diffrax.AbstractAdaptiveSolver):
    """Dormand-Prince 5(4) / Rodas5 with a stiffness test and automatic switching (see the module docstring).

    The solver state is ``(f(t0, y0), mode, test counters, work counts, power vector)``; ``mode`` is
    0 (non-stiff) or 1 (stiff). :meth:`work_counts` gives ``(nfev, njev, nlu)`` and
    :meth:`mode_stats` the final mode, the accepted stiff steps and the number of switches.
    """

    rtol: jax.Array | float = 1e-3
    atol: jax.Array | float = 1e-6
    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = LSODAInterpolation

    def with_tolerances(self, rtol, atol) -> "LSODA":
        return LSODA(rtol=rtol, atol=atol)

    def order(self, terms):
        return 5

    def error_order(self, terms):
        return 5

    def init(self, terms, t0, t1, y0, args):
        flat, unravel = ravel_pytree(y0)
        f0 = ravel_pytree(terms.vf(t0, y0, args))[0].astype(flat.dtype)
        counts = jnp.zeros((6,), jnp.int32).at[_NFEV].set(1)
        return (f0, jnp.asarray(_NONSTIFF, jnp.int32), jnp.zeros((2,), jnp.int32), counts,
                _start_vector(flat.shape[0], flat.dtype))

    def work_counts(self, solver_state, n_rejected):
        """``(nfev, njev, nlu)``: exact for accepted steps (plus 2 evaluations of the initial-step rule);
        rejected steps are charged to the two modes in proportion to their accepted steps."""
        counts = solver_state[3]
        n_stiff = counts[_NSTIFF]
        total = jnp.maximum(n_stiff + counts[_NNONSTIFF], 1)
        rej_stiff = jnp.round(n_rejected * n_stiff / total).astype(counts.dtype)
        rej_nonstiff = n_rejected - rej_stiff
        nfev = counts[_NFEV] + 9 * rej_stiff + 6 * rej_nonstiff + 2
        return nfev, counts[_NJEV] + rej_stiff, counts[_NLU] + rej_stiff

    def mode_stats(self, solver_state):
        """``(final mode, accepted stiff steps, switches)`` from the final solver state."""
        counts = solver_state[3]
        return solver_state[1], counts[_NSTIFF], counts[_NSWITCH]

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        f0, mode, count, counts, v = solver_state
        yf0, unravel = ravel_pytree(y0)
        # diffrax runs backward solves in a negated time tau: `vf` maps tau back to t, `contr` is the real step.
        dtau = t1 - t0
        h = terms.contr(t0, t1)
        g = lambda t, y: ravel_pytree(terms.vf(t, unravel(y), args))[0].astype(yf0.dtype)
        if made_jump is not False:  # y jumped (backsolve's segments): f(t0, y0) is stale
            jumped = jnp.asarray(made_jump)
            f0 = jax.lax.cond(jumped, lambda: g(t0, yf0), lambda: f0)
            counts = counts.at[_NFEV].add(jumped.astype(counts.dtype))

        def nonstiff():
            y1, f1, err, rows, h_rho = _dp_step(g, t0, dtau, h, yf0, f0)
            h_rho = jax.lax.stop_gradient(h_rho)
            positive = h_rho > STIFF_BOUND
            # DOPRI5's counters: positives since the last reset, and consecutive negatives (six reset the first).
            negatives = jnp.where(positive, 0, count[1] + 1)
            positives = jnp.where(positive, count[0] + 1, jnp.where(negatives >= RESET_AFTER, 0, count[0]))
            switch = positives >= STIFF_AFTER
            new = jnp.where(switch, 0, jnp.stack([positives, negatives]))
            work = jnp.asarray([6, 0, 0, 0, 0, 1], jnp.int32).at[_NSWITCH].set(switch.astype(jnp.int32))
            return (y1, f1, err, rows, jnp.where(switch, _STIFF, _NONSTIFF).astype(jnp.int32),
                    new.astype(jnp.int32), work, v)

        def stiff():
            y1, f1, err, rows, h_rho, v1 = _rodas_step(g, t0, dtau, h, yf0, f0, v)
            # The step the controller will propose next (its integral part), times rho.
            n = yf0.shape[0]
            atol = jnp.asarray(self.atol, h_rho.dtype)
            atol = jnp.broadcast_to(jnp.max(atol) if atol.size not in (1, n) else atol, (n,))
            scale = atol + self.rtol * jnp.maximum(jnp.abs(yf0), jnp.abs(y1))
            err_norm = jax.lax.stop_gradient(_rms(err / scale))
            grow = jnp.clip(0.9 * jnp.where(err_norm > 0, err_norm, 1e-10) ** -0.2, 0.2, 10.0)
            small = jax.lax.stop_gradient(h_rho) * grow < BACK_BELOW
            small_steps = jnp.where(small, count[0] + 1, 0)
            switch = small_steps >= BACK_AFTER
            new = jnp.stack([jnp.where(switch, 0, small_steps), jnp.zeros_like(small_steps)])
            work = jnp.asarray([9, 1, 1, 1, 0, 0], jnp.int32).at[_NSWITCH].set(switch.astype(jnp.int32))
            return (y1, f1, err, rows, jnp.where(switch, _NONSTIFF, _STIFF).astype(jnp.int32),
                    new.astype(jnp.int32), work, jax.lax.stop_gradient(v1))

        y1, f1, err, rows, mode1, count1, work, v1 = jax.lax.cond(mode == _STIFF, stiff, nonstiff)
        new_state = (f1, mode1, count1, counts + work, v1)
        rows_tree = jax.tree.map(lambda *r: jnp.stack(r), *[unravel(r) for r in rows])
        dense_info = dict(y0=y0, c=rows_tree)
        return unravel(y1), unravel(err), dense_info, new_state, diffrax.RESULTS.successful
