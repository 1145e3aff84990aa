"""Variable-order (1-5), quasi-constant-step NDF/BDF as a diffrax solver with its own step controller.

The method of Shampine & Reichelt, "The MATLAB ODE suite" (SIAM J. Sci. Comput. 18, 1997),
section 2, which SciPy's ``'BDF'`` also implements, written from that description:

- **Formula.** The numerical differentiation formula of order ``k`` in backward-difference
  form: with the predictor ``y0 = sum_{m<=k} D_m`` (``D`` the modified divided differences
  of the past solution, scaled to the current step ``h``) and ``d = y_{n+1} - y0``, solve
  ``(1 - kappa_k) gamma_k d - h f(t_{n+1}, y0 + d) + sum_{m=1}^k gamma_m D_m = 0``, where
  ``gamma_k = sum_{j<=k} 1/j`` and ``kappa`` are the Klopfenstein-Shampine constants
  ``(-0.1850, -1/9, -0.0823, -0.0415, 0)`` (kappa = 0 gives BDF).
- **Newton.** Simplified Newton with ``I - (h / ((1 - kappa_k) gamma_k)) J``: at most 4
  iterations, stopped by the rate-based tests of the paper (tolerance
  ``max(10 eps / rtol, min(0.03, sqrt(rtol)))``). ``J`` is evaluated at the start and again
  only when the iteration fails with a stale ``J`` (the step is then retried with the fresh
  one); the LU factorisation is kept in the solver state and recomputed only when the step
  size or the order changes. With a banded ``jac_sparsity`` (``solver.algebra``, see
  ``_banded.py``) ``J`` is stored as block-tridiagonal blocks from one JVP per colour and
  factorised by a block LU: ``O(n b)`` memory and ``O(n b^2)`` work, no ``n x n`` array.
- **Error and steps.** The local error ``(kappa_k gamma_k + 1/(k+1)) d`` in the RMS norm
  scaled by ``atol + rtol |y_{n+1}|``. A rejected step shrinks ``h`` by
  ``max(0.2, safety err^(-1/(k+1)))``, a Newton failure by 1/2. The step size is kept
  constant for ``k + 1`` accepted steps (quasi-constant step size); then the errors of
  orders ``k - 1``, ``k`` and ``k + 1`` (from ``D_k`` and ``D_{k+2}``) give the order with the
  largest step ratio ``err^(-1/(order+1))``, at most 10. ``safety = 0.9 (2 M + 1) / (2 M + it)``
  with ``M = 4`` Newton iterations allowed and ``it`` taken. On any change of ``h`` the
  difference array is rescaled exactly (the ``D <- (R U)^T D`` formula of the paper).
- **Dense output.** The interpolating polynomial of the last ``k + 1`` solution values,
  in Newton form over the differences.

**How it plugs into diffrax.** The method decides acceptance, the next step size and the
order itself, so it comes with :class:`BDFController`. The solver's ``step`` returns, in
place of an error vector, ``(accepted, step ratio)``; the controller only applies the ratio,
``max_step`` and SciPy's minimum step (ten spacings of the current ``t``). The difference
array is kept scaled to the last accepted step; an attempt whose ``t1 - t0`` differs from it
(a rejected step's retry, the clipped last step, an order change) rescales it first. A
rejected step's solver state is discarded by diffrax, which is exactly what a retry needs;
the cost is that a Jacobian refreshed in a rejected step is lost (it is re-evaluated in the
retry if Newton fails again). Events, ``t_eval`` and dense output use diffrax's machinery
through :class:`BDFInterpolation`.

Derivatives: the corrector solve is wrapped in ``jax.lax.custom_root``, so ``grad``/``jvp``
(``adjoint='checkpoint'``, ``'forward'``, ``'direct'``) differentiate the converged
corrector equation, not the Newton loop; ``'backsolve'`` integrates the adjoint system with
this same method (the tangent system is solved with the same banded structure when there is one).
Complex ``y0`` is integrated as the real system of twice the size (with the dense linear
algebra: the real form of a banded complex system is not banded).
"""

from typing import Any, ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._banded import DENSE, BandedAlgebra
from ._stepsize import min_step

__all__ = ["BDF", "BDFController", "BDFInterpolation", "change_matrix"]

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR, MAX_FACTOR = 0.2, 10.0
_KAPPA = np.array([0.0, -0.1850, -1 / 9, -0.0823, -0.0415, 0.0])
_GAMMA = np.concatenate([[0.0], np.cumsum(1 / np.arange(1, MAX_ORDER + 1))])
_ALPHA = (1 - _KAPPA) * _GAMMA  # _ALPHA[0] = 0 is never used
_ERR_CONST = _KAPPA * _GAMMA + 1 / np.arange(1, MAX_ORDER + 2)
_ROWS = MAX_ORDER + 3  # D_0 .. D_{k+2}


def change_matrix(order, factor):
    """``(R U)^T`` of size ``MAX_ORDER + 1`` that rescales ``D_0..D_order`` from step ``h`` to ``factor h``.

    ``R_ij = prod_{r=1}^{i} (r - 1 - factor j) / r`` (``R_0j = 1``) and ``U`` is ``R`` at
    ``factor = 1``; rows and columns above ``order`` are the identity, so ``order`` may be traced.
    """
    size = MAX_ORDER + 1
    i = jnp.arange(1, size)[:, None]
    j = jnp.arange(1, size)[None, :]

    def r_matrix(f):
        m = jnp.ones((size, size), jnp.result_type(f))
        m = m.at[1:, 1:].set((i - 1 - f * j) / i)
        m = m.at[1:, 0].set(0.0)
        r = jnp.cumprod(m, axis=0)
        inside = (jnp.arange(size)[:, None] <= order) & (jnp.arange(size)[None, :] <= order)
        return jnp.where(inside, r, jnp.eye(size, dtype=r.dtype))

    return (r_matrix(factor) @ r_matrix(jnp.ones_like(factor))).T


def _rms(x):
    return jnp.sqrt(jnp.mean(jnp.abs(x) ** 2))


class BDFInterpolation(diffrax.AbstractLocalInterpolation):
    """The step's interpolating polynomial ``D_0 + sum_{j=1}^k D_j prod_{m<j} (t - t1 + m h) / ((m + 1) h)``."""

    t0: jax.Array
    t1: jax.Array
    h: jax.Array
    order: jax.Array
    d: Any  # a pytree like y, each leaf stacked (MAX_ORDER + 1, ...)

    def evaluate(self, t0, t1=None, left: bool = True):
        del left
        if t1 is not None:
            return self.evaluate(t1) - self.evaluate(t0)
        m = jnp.arange(MAX_ORDER)
        # A zero-length step (a finished member of a vmapped solve) must not put inf into derivatives.
        h = jnp.where(self.h == 0, 1, self.h)
        x = (t0 - (self.t1 - m * h)) / ((m + 1) * h)
        p = jnp.where(m < self.order, jnp.cumprod(x), 0)
        return jax.tree.map(lambda d: d[0] + jnp.tensordot(p.astype(d.dtype), d[1:], axes=1), self.d)


class BDFController(diffrax.AbstractAdaptiveStepSizeController):
    """Applies the step decision of :class:`BDF` (``y_error = (accepted, ratio)``), ``dtmax`` and the minimum step."""

    rtol: Any
    atol: Any
    dtmax: Any = None
    norm: Any = _rms

    def wrap(self, direction):
        return self

    def init(self, terms, t0, t1, y0, dt0, args, func, error_order):
        if dt0 is None:
            raise ValueError("BDFController needs an initial step `dt0`.")
        dt = dt0 if self.dtmax is None else jnp.minimum(dt0, self.dtmax)
        return t0 + dt, None

    def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state):
        accept = y_error[0] > 0.5
        ratio = jnp.where(jnp.isfinite(y_error[1]), y_error[1], 0.5)
        dt = ratio * (t1 - t0)
        if self.dtmax is not None:
            dt = jnp.minimum(dt, self.dtmax)
        next_t0 = jnp.where(accept, t1, t0)
        too_small = dt < min_step(next_t0)
        result = diffrax.RESULTS.where(too_small, diffrax.RESULTS.dt_min_reached, diffrax.RESULTS.successful)
        return accept, next_t0, next_t0 + dt, False, None, result


class BDF(diffrax.AbstractAdaptiveSolver):
    """Variable-order NDF/BDF of Shampine & Reichelt (see the module docstring); use with :class:`BDFController`."""

    rtol: jax.Array | float = 1e-3
    atol: jax.Array | float = 1e-6
    algebra: BandedAlgebra | None = eqx.field(static=True, default=None)  # None: dense Jacobian and LU
    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = BDFInterpolation

    def with_tolerances(self, rtol, atol) -> "BDF":
        return BDF(rtol=rtol, atol=atol, algebra=self.algebra)

    def with_algebra(self, algebra: BandedAlgebra) -> "BDF":
        """This solver with the block-tridiagonal Jacobian and LU of ``algebra`` (see ``_banded.py``)."""
        return BDF(rtol=self.rtol, atol=self.atol, algebra=algebra)

    def _linalg(self, m):
        banded = self.algebra is not None and self.algebra.n == m  # a complex y0 runs as 2n reals: dense
        return self.algebra if banded else DENSE

    def step_controller(self, rtol, atol, max_step) -> BDFController:
        return BDFController(rtol=rtol, atol=atol, dtmax=max_step)

    def order(self, terms):
        return 1

    def error_order(self, terms):
        return 2  # SciPy's initial-step rule for an order-1 start

    def _setup(self, terms, t0, t1, y_tree, args):
        y0, unravel = ravel_pytree(y_tree)
        n = y0.shape[0]
        cplx = jnp.iscomplexobj(y0)
        to_r = (lambda y: jnp.concatenate([y.real, y.imag])) if cplx else (lambda y: y)
        from_r = (lambda r: r[:n] + 1j * r[n:]) if cplx else (lambda r: r)
        h = t1 - t0  # diffrax's internal time runs forward; `sgn` maps its vector field back
        sgn = jnp.where(h != 0, terms.contr(t0, t1) / jnp.where(h != 0, h, 1), 1)
        g = lambda t, yr: to_r(ravel_pytree(jax.tree.map(lambda v: sgn * v, terms.vf(t, unravel(from_r(yr)), args)))[0])
        return to_r(y0), g, unravel, from_r, n, cplx

    def init(self, terms, t0, t1, y0, args):
        yr0, g, *_ = self._setup(terms, t0, t1, y0, args)
        m = yr0.shape[0]
        real = yr0.dtype
        h = t1 - t0
        d = jnp.zeros((_ROWS, m), real).at[0].set(yr0).at[1].set(h * g(t0, yr0))
        la = self._linalg(m)
        jac = jax.lax.stop_gradient(la.jacobian(lambda y: g(t0, y), yr0))
        lu = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(la.factor, jac, 1.0, -h))
        # (D, h of D, order, equal steps, J, LU factors, c of the LU (0: none), work counts)
        return (d, jnp.asarray(h, real), jnp.asarray(1), jnp.asarray(0), jac, lu,
                jnp.asarray(0.0, real), jnp.asarray([1, 1, 0]))

    def work_counts(self, solver_state, n_rejected):
        """``(nfev, njev, nlu)``: exact for accepted steps; a rejected one is charged one evaluation and one LU."""
        counts = solver_state[-1]
        return counts[0] + n_rejected + 2, counts[1], counts[2] + n_rejected

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        d_arr, h_d, k, n_equal, jac_old, lu_old, c_old, counts = solver_state
        yr0, g, unravel, from_r, n, cplx = self._setup(terms, t0, t1, y0, args)
        real = yr0.dtype
        if made_jump is not False:  # y jumped (backsolve's segments): the history is void, restart at order 1
            def restart():
                d = jnp.zeros_like(d_arr).at[0].set(yr0).at[1].set((t1 - t0) * g(t0, yr0))
                return d, jnp.asarray(t1 - t0, real), jnp.ones_like(k), jnp.zeros_like(n_equal), counts.at[0].add(1)

            jumped = jnp.asarray(made_jump)
            d_arr, h_d, k, n_equal, counts = jax.lax.cond(
                jumped, restart, lambda: (d_arr, h_d.astype(real), k, n_equal, counts))
        m = yr0.shape[0]
        rtol = jnp.asarray(self.rtol, real)
        atol = jnp.asarray(self.atol, real)
        atol = jnp.max(atol) if atol.size not in (1, n) else atol  # a per-component atol sized for another state
        atol = jnp.broadcast_to(atol, (n,))
        atol = jnp.concatenate([atol, atol]) if cplx else atol
        eps = jnp.finfo(real).eps
        tol = jnp.maximum(10 * eps / rtol, jnp.minimum(0.03, rtol ** 0.5))
        la = self._linalg(m)
        gamma, alpha, err_const = (jnp.asarray(a, real) for a in (_GAMMA, _ALPHA, _ERR_CONST))

        # Rescale D to this attempt's step unless it is (up to rounding of t0 + h) the step D is scaled to.
        h_try = t1 - t0
        ratio = jax.lax.stop_gradient(h_try / h_d)
        same = jnp.abs(ratio - 1) < 100 * eps
        h = jnp.where(same, h_d, h_try)
        top = jnp.where(same, d_arr[:MAX_ORDER + 1], change_matrix(k, ratio).astype(real) @ d_arr[:MAX_ORDER + 1])
        d_arr = d_arr.at[:MAX_ORDER + 1].set(top)
        n_equal = jnp.where(same, n_equal, 0)

        rows = jnp.arange(_ROWS)
        y_pred = jnp.sum(jnp.where((rows <= k)[:, None], d_arr, 0), axis=0)
        in_psi = (rows >= 1) & (rows <= k)
        psi = jnp.sum(jnp.where(in_psi[:, None], gamma[jnp.minimum(rows, MAX_ORDER)][:, None] * d_arr, 0), 0) / alpha[k]
        c = h / alpha[k]
        t_new = t0 + h
        scale = atol + rtol * jnp.abs(jax.lax.stop_gradient(y_pred))

        def residual(dd):
            return dd - c * g(t_new, y_pred + dd) + psi

        def factor(jac):
            return la.factor(jac, jnp.ones((), real), -jax.lax.stop_gradient(c))

        def newton(lu_piv, _):
            def body(carry):
                it, dd, norm_old, done, ok = carry
                f = g(t_new, y_pred + dd)
                dy = la.solve(lu_piv, c * f - psi - dd)
                dy_norm = _rms(dy / scale)
                rate = dy_norm / jnp.where(norm_old > 0, norm_old, 1)
                diverge = (it > 0) & ((rate >= 1) | (rate ** (NEWTON_MAXITER - it) / (1 - rate) * dy_norm > tol))
                bad = ~jnp.all(jnp.isfinite(f)) | ~jnp.isfinite(dy_norm) | diverge
                conv = ~bad & ((dy_norm == 0) | ((it > 0) & (rate / (1 - rate) * dy_norm < tol)))
                dd = jnp.where(bad, dd, dd + dy)
                return it + 1, dd, dy_norm, bad | conv | (it + 1 >= NEWTON_MAXITER), conv

            init = (jnp.asarray(0), jnp.zeros((m,), real), jnp.asarray(0.0, real), jnp.asarray(False),
                    jnp.asarray(False))
            it, dd, _, _, ok = jax.lax.while_loop(lambda cr: ~cr[3], body, init)
            return dd, ok, it

        def solve(_residual, dd0):
            refactor = c_old != jax.lax.stop_gradient(c)
            lu0 = jax.lax.cond(refactor, lambda: factor(jac_old), lambda: lu_old)
            dd, ok, it = newton(lu0, dd0)
            # A failure with the stale Jacobian: the same step again with a fresh one at the prediction.
            retry = ~ok
            jac1 = jax.lax.cond(retry, lambda: jax.lax.stop_gradient(la.jacobian(lambda y: g(t_new, y), y_pred)),
                                lambda: jac_old)
            lu1 = jax.lax.cond(retry, lambda: factor(jac1), lambda: lu0)
            dd, ok, it2 = jax.lax.cond(retry, lambda: newton(lu1, dd0), lambda: (dd, ok, it))
            work = jnp.stack([it + jnp.where(retry, it2, 0), retry.astype(int),
                              refactor.astype(int) + retry.astype(int)])
            # custom_root's JVP rule wants floating aux outputs: flags and pivots travel as floats.
            lu_f = jax.tree.map(lambda a: a.astype(real) if not jnp.issubdtype(a.dtype, jnp.inexact) else a, lu1)
            return dd, (jac1, lu_f, ok.astype(real), jnp.where(retry, it2, it).astype(real), work.astype(real))

        dd, (jac, lu, ok, n_iter, work) = jax.lax.custom_root(
            residual, jnp.zeros((m,), real), solve, la.tangent_solve, has_aux=True)
        ok, work = ok > 0, work.astype(int)
        lu = jax.tree.map(lambda a, old: a.astype(old.dtype), lu, lu_old)
        y_new = y_pred + dd
        ok = ok & jnp.all(jnp.isfinite(y_new))

        ds = jax.lax.stop_gradient(dd)
        err_scale = atol + rtol * jnp.abs(jax.lax.stop_gradient(y_new))
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        err_norm = _rms(err_const[k] * ds / err_scale)
        accept = ok & (err_norm <= 1)
        reject_ratio = jnp.where(ok, jnp.maximum(MIN_FACTOR, safety * err_norm ** (-1.0 / (k + 1))), 0.5)

        # Accepted: D_{k+2} = d - D_{k+1}, D_{k+1} = d, D_i += D_{i+1} for i = k .. 0.
        d_new = d_arr.at[k + 2].set(dd - d_arr[k + 1]).at[k + 1].set(dd)
        upto = jnp.where((rows <= k + 1)[:, None], d_new, 0)
        suffix = jnp.flip(jnp.cumsum(jnp.flip(upto, 0), 0), 0)
        d_new = jnp.where((rows <= k)[:, None], suffix, d_new)
        n_equal1 = n_equal + 1

        # Order and step after k + 1 equal steps: the largest of the ratios of orders k - 1, k, k + 1.
        dn = jax.lax.stop_gradient(d_new)
        err_m = jnp.where(k > 1, _rms(err_const[k - 1] * dn[k] / err_scale), jnp.inf)
        err_p = jnp.where(k < MAX_ORDER, _rms(err_const[jnp.minimum(k + 1, MAX_ORDER)] * dn[k + 2] / err_scale),
                          jnp.inf)
        norms = jnp.stack([err_m, err_norm, err_p])
        ratios = jnp.where(norms > 0, norms, eps) ** (-1.0 / (k + jnp.arange(3)))
        ratios = jnp.where(jnp.isfinite(norms), ratios, 0)
        best = jnp.argmax(ratios)
        change = n_equal1 >= k + 1
        k_new = jnp.where(change, k + best - 1, k)
        accept_ratio = jnp.where(change, jnp.minimum(MAX_FACTOR, safety * ratios[best]), 1.0)

        step_ratio = jnp.where(accept, accept_ratio, reject_ratio)
        counts = counts + work
        new_state = (d_new, h, k_new, jnp.where(change, 0, n_equal1),
                     jac, lu, jax.lax.stop_gradient(c), counts)
        # Rejected: diffrax discards this state, but the counts of the step are lost with it (see work_counts).
        y1 = unravel(from_r(jnp.where(accept, y_new, yr0)))
        y_error = jax.lax.stop_gradient(jnp.stack([accept.astype(real), step_ratio.astype(real)]))
        dense_d = jax.tree.map(lambda *ds_: jnp.stack(ds_), *[unravel(from_r(d_new[i])) for i in range(MAX_ORDER + 1)])
        dense_info = dict(h=h, order=k, d=dense_d)
        result = diffrax.RESULTS.successful
        return y1, y_error, dense_info, new_state, result
