"""The traced engine of ``solve_bvp``: damped Newton, residual control and mesh refinement.

Everything works on fixed-size buffers of ``cap = 2**ceil(log2(max_nodes - 1)) + 1`` nodes (see
:mod:`._bvp_collocation`), with a live count ``m``; the outer ``while_loop`` alternates

1. a damped Newton solve of the collocation equations on the current mesh (at most 8 iterations, a
   fresh Jacobian each; the step is damped by backtracking ``1, 1/2, 1/4, 1/8`` on the affine-invariant
   test ``|J^-1 r(y + a dy)| < (1 - 2 a sigma) |J^-1 r(y)|`` with the current factorisation);
2. the RMS relative residual of the spline on each interval, and
3. node insertion where it exceeds ``tol``,

and stops with SciPy's statuses: 0 converged, 1 the next mesh would exceed ``max_nodes``, 2 singular
Jacobian, 3 boundary residual above ``bc_tol`` on iteration 10 with no node to add.

Derivatives: the loop runs on ``stop_gradient`` inputs. At the converged point ``z*`` one linear solve
``dz = J^-1 r(z*, theta)`` with the (constant) factorisation is subtracted with its value removed,
``z* - (dz - stop_gradient(dz))``: the value stays ``z*`` and the derivative is the implicit-function
theorem's ``-J^-1 dr/dtheta``, for the final mesh, in forward and reverse mode.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ..._typing import Array
from . import _bvp_linear as linear
from ._bvp_collocation import Problem, blocks, collocation, refine, rms_residuals

__all__ = ["State", "run"]

_MAX_NEWTON = 8
_SIGMA = 0.2
_TRIALS = 4
_MAX_BC_ITERATIONS = 10


class State(NamedTuple):
    x: Array
    y: Array
    p: Array
    m: Array
    status: Array  # -1 while running
    niter: Array
    f: Array
    rms: Array


class _Setup(NamedTuple):
    prob: Problem
    tol: Array
    bc_tol: Array
    max_nodes: int
    proj: Array | None  # I - pinv(S) S, applied to y(a) (singular term)


def _factor(prob: Problem, x: Array, y: Array, p: Array, y_mid: Array) -> linear.Factorization:
    a, b, c = blocks(prob, x, y, p, y_mid)
    ba, bb, bp = prob.bc_jac(y[0], y[-1], p)
    return linear.factor(a, b, c, ba, bb, bp)


def _residuals(s: _Setup, x: Array, y: Array, p: Array):
    res, y_mid, f, f_mid = collocation(s.prob, x, y, p)
    return res, s.prob.bc(y[0], y[-1], p), y_mid, f_mid


def _converged(s: _Setup, x: Array, m: Array, res: Array, bc: Array, f_mid: Array) -> Array:
    h = jnp.diff(x)[:, None]
    live = (jnp.arange(h.shape[0]) < m - 1)[:, None]
    col_ok = jnp.all(~live | (jnp.abs(res) < 2.0 / 3.0 * h * 5e-2 * s.tol * (1 + jnp.abs(f_mid))))
    return col_ok & jnp.all(jnp.abs(bc) < s.bc_tol)


def _project(s: _Setup, y: Array) -> Array:
    return y if s.proj is None else y.at[0].set(s.proj @ y[0])


def _newton(s: _Setup, x: Array, y: Array, p: Array, m: Array):
    """Damped Newton on the collocation system; returns ``(y, p, singular)``.

    One ``linear.solve`` site serves the Newton step and the backtracking tests: pass 0 of the
    inner loop solves at ``alpha = 0`` (the current point), which gives the step and its norm.
    """

    def cond(c):
        it, done, singular = c[3], c[4], c[5]
        return (it < _MAX_NEWTON) & ~done & ~singular

    def body(c):
        y, p, (res, bc, y_mid, f_mid), it, _, singular = c
        fac = _factor(s.prob, x, y, p, y_mid)
        zero = jnp.zeros((), y.dtype)

        def trial(t):
            j, alpha, dy, dp, cost0, _, _, rt, _ = t
            yt = _project(s, y - alpha * dy)
            pt = p - alpha * dp
            rt = jax.lax.cond(j == 0, lambda: rt, lambda: _residuals(s, x, yt, pt))
            sy, sp = linear.solve(fac, rt[0], rt[1])
            cost = jnp.sum(sy**2) + jnp.sum(sp**2)
            first = j == 0
            ok = ~first & (cost < (1 - 2 * alpha * _SIGMA) * cost0)
            bad = first & ~(jnp.all(jnp.isfinite(sy)) & jnp.all(jnp.isfinite(sp)))
            return (j + 1, jnp.where(first, 1.0, alpha / 2).astype(alpha.dtype), jnp.where(first, sy, dy),
                    jnp.where(first, sp, dp), jnp.where(first, cost, cost0), yt, pt, rt, ok | bad)

        init = (jnp.zeros((), jnp.int32), zero, jnp.zeros_like(y), jnp.zeros_like(p), zero, y, p,
                (res, bc, y_mid, f_mid), jnp.asarray(False))
        out = jax.lax.while_loop(lambda t: (t[0] <= _TRIALS) & ~t[8], trial, init)
        j, _, dy, dp, _, yn, pn, rn, _ = out
        bad = ~(jnp.all(jnp.isfinite(dy)) & jnp.all(jnp.isfinite(dp)))
        done = _converged(s, x, m, rn[0], rn[1], rn[3])
        yn, pn = jnp.where(bad, y, yn), jnp.where(bad, p, pn)
        return yn, pn, rn, it + 1, done & ~bad, singular | bad

    r0 = _residuals(s, x, y, p)
    out = jax.lax.while_loop(cond, body, (y, p, r0, jnp.zeros((), jnp.int32),
                                          jnp.asarray(False), jnp.asarray(False)))
    return out[0], out[1], out[5]


def _iteration(s: _Setup, st: State) -> State:
    y, p, singular = _newton(s, st.x, st.y, st.p, st.m)
    res, y_mid, f, f_mid = collocation(s.prob, st.x, y, p)
    bc = s.prob.bc(y[0], y[-1], p)
    rms = rms_residuals(s.prob, st.x, y, p, f, res, f_mid, st.m)
    niter = st.niter + 1
    new_x, new_y, new_m, added = refine(st.x, y, f, st.m, rms, s.tol)
    max_bc = jnp.max(jnp.abs(bc))
    status = jnp.where(singular, 2,
             jnp.where(new_m > s.max_nodes, 1,
             jnp.where(added > 0, -1,
             jnp.where(max_bc <= s.bc_tol, 0,
             jnp.where(niter >= _MAX_BC_ITERATIONS, 3, -1))))).astype(jnp.int32)  # fmt: skip
    go_on = (status == -1) & (added > 0)
    return State(jnp.where(go_on, new_x, st.x), jnp.where(go_on, new_y, y), p,
                 jnp.where(go_on, new_m, st.m).astype(st.m.dtype), status, niter, f, rms)


def run(make_problem: Callable[[Any], Problem], bundle: Any, x: Array, y: Array, p: Array, m: Array,
        tol: Array, bc_tol: Array, max_nodes: int, proj: Array | None) -> State:
    """Solve on buffers ``x`` (cap,), ``y`` (cap, n) with ``m`` live nodes; differentiable (see above).

    ``make_problem(bundle)`` builds the problem from the traced values the user's functions close over;
    the loop runs on ``stop_gradient(bundle)``, and only the final implicit step sees the real one.
    """
    sg = jax.lax.stop_gradient
    s_const = _Setup(make_problem(sg(bundle)), sg(tol), sg(bc_tol), max_nodes,
                     None if proj is None else sg(proj))
    y = _project(s_const, sg(y))
    st = State(sg(x), y, sg(p), m, jnp.asarray(-1, jnp.int32), jnp.zeros((), jnp.int32),
               jnp.zeros_like(y), jnp.zeros(x.shape[0] - 1, y.dtype))
    st = jax.lax.while_loop(lambda st: st.status < 0, lambda st: _iteration(s_const, st), st)
    return _implicit(_Setup(make_problem(bundle), tol, bc_tol, max_nodes, proj), st)


@jax.custom_jvp
def _nan_tangent_unless(x: Array, ok: Array) -> Array:
    return x


@_nan_tangent_unless.defjvp
def _nan_tangent_unless_jvp(primals, tangents):
    x, ok = primals
    return x, jnp.where(ok, tangents[0], jnp.nan)


def _implicit(s: _Setup, st: State) -> State:
    sg = jax.lax.stop_gradient
    res, bc, y_mid, _ = _residuals(s, st.x, st.y, st.p)
    fac = sg(_factor(s.prob, st.x, st.y, st.p, sg(y_mid)))
    dy, dp = linear.solve(fac, res, bc)
    # A derivative through a solve that did not converge is NaN (the contract), never plausible;
    # its value is the loop's (a singular system's non-finite correction is not added).
    ok = sg(st.status == 0)
    dy, dp = jnp.where(ok, dy, 0.0), jnp.where(ok, dp, 0.0)
    y = _nan_tangent_unless(st.y - (dy - sg(dy)), ok)
    p = _nan_tangent_unless(st.p - (dp - sg(dp)), ok)
    f = s.prob.fun(st.x, y, p)
    return st._replace(y=y, p=p, f=f)
