"""Radau IIA of order 5 (three stages) with simplified Newton iterations, as a diffrax solver.

The method of Hairer & Wanner's RADAU5 (Solving ODEs II, section IV.8), which SciPy's
``'Radau'`` also implements, written from that description:

- **Stages.** The collocation method at ``c = ((4 - sqrt 6)/10, (4 + sqrt 6)/10, 1)``
  solves ``Z = h (A x I) F(Z)`` for the stage increments ``Z_i = Y_i - y0``. The
  coefficients are computed below with NumPy at import: ``A`` from the Lagrange
  basis of ``c`` (``a_ij = int_0^{c_i} l_j``), then the eigen-decomposition
  ``T^{-1} A^{-1} T = [[gamma, 0, 0], [0, alpha, beta], [0, -beta, alpha]]``
  (one real eigenvalue and a complex pair).
- **Simplified Newton.** With ``W = T^{-1} Z`` the Newton system splits into one real
  ``n x n`` system with ``gamma/h I - J`` and one complex ``n x n`` system with
  ``(alpha - i beta)/h I - J``: two LU factorisations per step. ``J`` is kept in the
  solver state and re-evaluated only when the previous step's Newton iteration
  converged slowly (more than 2 iterations at a rate above 1e-3), or when the
  iteration fails with a stale ``J`` (then the same step is retried with a fresh
  one). The iteration stops on RADAU5's rate-based tests (at most 6 iterations,
  tolerance ``max(10 eps / rtol, min(0.03, sqrt(rtol)))`` in the RMS norm
  scaled by ``atol + |y0| rtol``). If it still fails, the step returns
  ``nonlinear_divergence`` with an infinite error, so diffrax's controller rejects
  it and shrinks the step.
- **Error estimate.** The embedded order-3 solution ``y0 + h (gamma0 f(t0, y0) + sum
  bhat_i F_i)`` with ``gamma0 = 1/gamma``; its difference from ``y1`` is filtered
  by ``(I - h gamma0 J)^{-1}``, that is one solve with the real LU. When that
  estimate exceeds the tolerance, the filter is applied once more with ``f``
  re-evaluated at ``y0 + err`` (RADAU5 and SciPy do this on the first step and after
  a rejection; a diffrax solver cannot tell that a step follows a rejection, so
  it is done for every estimate above 1).
- **Dense output** is the collocation polynomial through ``(0, 0)`` and ``(c_i, Z_i)``;
  it also extrapolates the initial Newton guess for the next step.

**Banded Jacobians.** With a banded ``jac_sparsity`` (``solver.algebra``, see ``_banded.py``)
``J`` is kept as compressed columns (one JVP per colour) and both systems are factorised by a
block LU (the complex one with complex blocks): ``O(n b)`` memory, no ``n x n`` array.

Derivatives: the stage solve is wrapped in ``jax.lax.custom_root``, so ``grad``/``jvp``
differentiate the converged collocation equations by the implicit function
theorem (one dense ``3n x 3n`` solve in the derivative pass, or, with a banded pattern, a
block LU of the stage system ordered state by state, whose half-bandwidth is ``3 max(l, u) + 2``),
not the Newton loop. Complex ``y0`` is integrated as the real system of twice the size (with
dense linear algebra: the real form of a banded complex system is not banded).

Step-size control is left to diffrax's PI controller with exponent ``1/4`` (the
estimate is ``O(h^4)``), not RADAU5's predictive controller with its
Newton-iteration-dependent safety factor.
"""

from typing import Any, ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._banded import DENSE, BandedAlgebra

__all__ = ["Radau", "RadauInterpolation", "radau_coefficients"]

NEWTON_MAXITER = 6


def radau_coefficients() -> dict[str, np.ndarray | float]:
    """Coefficients of Radau IIA order 5, computed from the nodes (see module docstring)."""
    s6 = np.sqrt(6.0)
    c = np.array([(4 - s6) / 10, (4 + s6) / 10, 1.0])
    powers = np.arange(1, 4)
    lagrange = np.linalg.inv(np.vander(c, 3, increasing=True))  # l_j(s) = sum_k lagrange[k, j] s^k
    a = (c[:, None] ** powers / powers) @ lagrange  # a_ij = int_0^{c_i} l_j(s) ds
    a_inv = np.linalg.inv(a)
    evals, evecs = np.linalg.eig(a_inv)
    evals, evecs = np.asarray(evals, complex), np.asarray(evecs, complex)
    i_real = int(np.argmin(np.abs(np.imag(evals))))
    i_cplx = int(np.argmax(np.imag(evals)))
    # Any (complex) scaling of the eigenvectors works; this one gives the last row (1, 1, 0), as Hairer's T.
    v_real = (evecs[:, i_real] / evecs[2, i_real]).real
    v_cplx = evecs[:, i_cplx] / evecs[2, i_cplx]
    t = np.column_stack([v_real, v_cplx.real, v_cplx.imag])
    t_inv = np.linalg.inv(t)
    m = t_inv @ a_inv @ t
    gamma, alpha, beta = m[0, 0], m[1, 1], m[1, 2]
    expected = np.array([[gamma, 0, 0], [0, alpha, beta], [0, -beta, alpha]])
    assert np.allclose(m, expected, atol=1e-12), m
    # Embedded order-3 weights: bhat0 + sum bhat = 1, sum bhat c = 1/2, sum bhat c^2 = 1/3, bhat0 = 1/gamma.
    gamma0 = 1 / gamma
    bhat = np.linalg.solve(np.vander(c, 3, increasing=True).T, [1 - gamma0, 1 / 2, 1 / 3])
    e = (bhat - a[2]) @ a_inv  # yhat1 - y1 = gamma0 h f0 + sum e_i Z_i
    return dict(c=c, a=a, t=t, t_inv=t_inv, gamma=gamma, alpha=alpha, beta=beta,
                e=e / gamma0, dense=np.linalg.inv(c[:, None] ** powers))


_C = radau_coefficients()


class RadauInterpolation(diffrax.AbstractLocalInterpolation):
    """The collocation polynomial of one step: ``y0 + sum_k q_k s^k``, ``s = (t - t0)/(t1 - t0)``."""

    t0: jax.Array
    t1: jax.Array
    y0: Any  # a pytree of arrays, like y
    q: Any  # the same pytree, each leaf stacked (3, ...)

    def evaluate(self, t0, t1=None, left: bool = True):
        del left
        if t1 is not None:
            return self.evaluate(t1) - self.evaluate(t0)
        # A zero-length step (a finished member of a vmapped solve) must not put inf into derivatives.
        h = self.t1 - self.t0
        s = (t0 - self.t0) / jnp.where(h == 0, 1, h)
        return jax.tree.map(lambda y, q: y + s * (q[0] + s * (q[1] + s * q[2])), self.y0, self.q)


def _rms(x):
    return jnp.sqrt(jnp.mean(jnp.abs(x) ** 2))


class Radau(diffrax.AbstractAdaptiveSolver):
    """Radau IIA order 5 with RADAU5's Newton iteration and error estimate (see module docstring).

    ``rtol`` and ``atol`` are the tolerances of the Newton iteration and of the
    error-estimate refinement; ``solve_ivp`` sets them to the user's.
    """

    rtol: jax.Array | float = 1e-3
    atol: jax.Array | float = 1e-6
    algebra: BandedAlgebra | None = eqx.field(static=True, default=None)  # None: dense Jacobian and LU
    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = RadauInterpolation

    def with_tolerances(self, rtol, atol) -> "Radau":
        return Radau(rtol=rtol, atol=atol, algebra=self.algebra)

    def with_algebra(self, algebra: BandedAlgebra) -> "Radau":
        """This solver with the block-tridiagonal Jacobian and LU of ``algebra`` (see ``_banded.py``)."""
        return Radau(rtol=self.rtol, atol=self.atol, algebra=algebra)

    def _linalg(self, m):
        banded = self.algebra is not None and self.algebra.n == m  # a complex y0 runs as 2n reals: dense
        return self.algebra if banded else DENSE

    def _stage_linalg(self, m):
        """The stage system's algebra, states outermost (``3 i + stage``): banded when ``J`` is."""
        if self._linalg(m) is DENSE:
            return DENSE
        la = self.algebra
        assert la is not None
        rows, cols = np.asarray(la.rows), np.asarray(la.cols)
        s = np.arange(3)
        r3 = (3 * rows[:, None, None] + s[:, None]).repeat(3, axis=2).ravel()
        c3 = (3 * cols[:, None, None] + s[None, None, :]).repeat(3, axis=1).ravel()
        return BandedAlgebra.from_pattern(r3, c3, 3 * m)

    def order(self, terms):
        return 5

    def error_order(self, terms):
        return 4

    def init(self, terms, t0, t1, y0, args):
        flat = ravel_pytree(y0)[0]
        m = flat.shape[0] * (2 if jnp.iscomplexobj(flat) else 1)
        real = jnp.finfo(flat.dtype).dtype
        la = self._linalg(m)
        jac = jax.eval_shape(lambda y: la.jacobian(lambda v: v, y), jnp.zeros((m,), real))
        # (J, recompute J, previous collocation coefficients, previous step, first step, work counts)
        return (jnp.zeros(jac.shape, real), jnp.asarray(True), jnp.zeros((3, m), real), jnp.asarray(1.0, real),
                jnp.asarray(True), jnp.zeros((3,), int))

    def work_counts(self, solver_state, n_rejected):
        """``(nfev, njev, nlu)`` from the final solver state.

        diffrax discards the state of a rejected step, so the work of accepted steps is
        counted exactly and each rejected step is charged its minimum: ``f(t0, y0)``,
        one Newton iteration (3 evaluations) and the two factorisations.
        """
        counts = solver_state[-1]
        return counts[0] + 4 * n_rejected + 2, counts[1], counts[2] + 2 * n_rejected

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        jac_old, recompute, q_prev, h_prev, first, counts = solver_state
        # Work on one flat vector (a pytree state, as in diffrax's backsolve adjoint, is raveled).
        y_tree = y0
        y0, unravel = ravel_pytree(y_tree)
        n = y0.shape[0]
        cplx = jnp.iscomplexobj(y0)
        to_r = (lambda y: jnp.concatenate([y.real, y.imag])) if cplx else (lambda y: y)
        from_r = (lambda r: r[:n] + 1j * r[n:]) if cplx else (lambda r: r)
        h = t1 - t0  # diffrax's internal time runs forward; `sgn` maps its vector field back
        sgn = jnp.where(h != 0, terms.contr(t0, t1) / jnp.where(h != 0, h, 1), 1)
        g = lambda t, yr: to_r(ravel_pytree(jax.tree.map(lambda v: sgn * v, terms.vf(t, unravel(from_r(yr)), args)))[0])
        yr0 = to_r(y0)
        real = yr0.dtype
        c = jnp.asarray(_C["c"], real)
        a, t_mat, t_inv = (jnp.asarray(_C[k], real) for k in ("a", "t", "t_inv"))
        gamma, alpha, beta = (float(_C[k]) for k in ("gamma", "alpha", "beta"))
        m_mat = jnp.asarray([[gamma, 0, 0], [0, alpha, beta], [0, -beta, alpha]], real)
        rtol = jnp.asarray(self.rtol, real)
        atol = jnp.asarray(self.atol, real)
        atol = jnp.max(atol) if atol.size not in (1, n) else atol  # a per-component atol sized for another state
        atol = jnp.broadcast_to(atol, (n,))
        atol = jnp.concatenate([atol, atol]) if cplx else atol
        scale = atol + jnp.abs(jnp.concatenate([y0, y0]) if cplx else y0) * rtol
        eps = jnp.finfo(real).eps
        tol = jnp.maximum(10 * eps / rtol, jnp.minimum(0.03, rtol ** 0.5))
        la = self._linalg(yr0.shape[0])

        def stage_f(z):
            return jnp.stack([g(t0 + c[i] * h, yr0 + z[i]) for i in range(3)])

        def residual(z):
            return z - h * (a @ stage_f(z))

        fresh_jac = lambda: jax.lax.stop_gradient(la.jacobian(lambda y: g(t0, y), yr0))

        def newton(jac, z0):
            lu_r = la.factor(jac, gamma / h, -1.0)
            lu_c = la.factor(jac, (alpha - 1j * beta) / h, -1.0)

            def body(carry):
                k, w, norm_old, rate, done, ok = carry
                f = stage_f(t_mat @ w)
                r = t_inv @ f - m_mat @ w / h
                dw0 = la.solve(lu_r, r[0])
                dwc = la.solve(lu_c, r[1] + 1j * r[2])
                dw = jnp.stack([dw0, dwc.real, dwc.imag])
                dw_norm = _rms(dw / scale)
                new_rate = dw_norm / jnp.where(norm_old > 0, norm_old, 1)
                diverge = (k > 0) & ((new_rate >= 1)
                                     | (new_rate ** (NEWTON_MAXITER - k) / (1 - new_rate) * dw_norm > tol))
                bad = ~jnp.all(jnp.isfinite(f)) | ~jnp.isfinite(dw_norm) | diverge
                conv = ~bad & ((dw_norm == 0) | ((k > 0) & (new_rate / (1 - new_rate) * dw_norm < tol)))
                w = jnp.where(bad, w, w + dw)
                rate = jnp.where(k > 0, new_rate, rate)
                return k + 1, w, dw_norm, rate, bad | conv | (k + 1 >= NEWTON_MAXITER), conv

            init = (jnp.asarray(0), t_inv @ z0, jnp.asarray(0.0, real), jnp.asarray(0.0, real), jnp.asarray(False),
                    jnp.asarray(False))
            k, w, _, rate, _, ok = jax.lax.while_loop(lambda cr: ~cr[4], body, init)
            return t_mat @ w, (ok, k, rate, lu_r)

        def solve(_residual, z0):
            jac0 = jax.lax.cond(recompute, fresh_jac, lambda: jac_old)
            z, info = newton(jac0, z0)
            retry = ~info[0] & ~recompute
            # A failure with a stale Jacobian: the same step again with a fresh one (RADAU5, SciPy).
            jac1 = jax.lax.cond(retry, fresh_jac, lambda: jac0)
            z, (ok, k, rate, lu) = jax.lax.cond(retry, lambda: newton(jac1, z0), lambda: (z, info))
            # Work: f evaluations (3 per iteration), Jacobians, LU factorisations (2 per attempt).
            work = jnp.stack([3 * (info[1] + jnp.where(retry, k, 0)), recompute.astype(int) + retry,
                              2 + 2 * retry.astype(int)])
            # custom_root's JVP rule wants floating aux outputs: flags and pivots travel as floats.
            lu = jax.tree.map(lambda a: a if jnp.issubdtype(a.dtype, jnp.inexact) else a.astype(real), lu)
            return z, (jac1, ok.astype(real), k.astype(real), rate, lu, work.astype(real))

        stage_la = self._stage_linalg(yr0.shape[0])

        def tangent_solve(lin, b):  # b: (3, n); the stage algebra orders unknowns state by state
            flat = lambda x: x.T.reshape(-1)
            lin_flat = lambda x: flat(lin(x.reshape(-1, 3).T))
            return stage_la.tangent_solve(lin_flat, flat(b)).reshape(-1, 3).T

        # Initial guess: the previous step's collocation polynomial, extrapolated.
        s = 1 + c * h / h_prev
        z_guess = sum(q_prev[k][None, :] * (s[:, None] ** (k + 1) - 1) for k in range(3))
        z_guess = jnp.where(first | made_jump, jnp.zeros_like(z_guess), z_guess)
        z, (jac, ok, n_iter, rate, lu_r, work) = jax.lax.custom_root(
            residual, jax.lax.stop_gradient(z_guess), solve, tangent_solve, has_aux=True)
        ok = ok > 0
        lu_r = jax.tree.map(lambda a, s: a.astype(s.dtype), lu_r,
                            jax.eval_shape(la.factor, jac, jnp.asarray(gamma, real), -1.0))

        yr1 = yr0 + z[2]
        # Error estimate, filtered by (I - h gamma0 J)^{-1} = (gamma/h I - J)^{-1} / (h gamma0).
        zs = jax.lax.stop_gradient(z)
        ze = jnp.asarray(_C["e"], real) @ zs / h
        f0 = g(t0, yr0)
        err = la.solve(lu_r, f0 + ze)
        err_scale = atol + jnp.maximum(jnp.abs(yr0), jnp.abs(yr1)) * rtol
        refine = _rms(err / err_scale) > 1
        err = jax.lax.cond(refine, lambda: la.solve(lu_r, g(t0, yr0 + err) + ze), lambda: err)

        ok = ok & jnp.all(jnp.isfinite(yr1))
        q = jnp.asarray(_C["dense"], real) @ z
        y1 = unravel(from_r(jnp.where(ok, yr1, yr0)))
        y_error = unravel(from_r(jnp.where(ok, err, jnp.inf)))
        work = work.astype(int) + jnp.stack([1 + refine.astype(int), 0, 0])  # f(t0, y0) and the refinement
        # SciPy's rule for a fresh J at the next step (RADAU5's theta > 0.001, after more than 2 iterations).
        new_state = (jac, ok & (n_iter > 2) & (rate > 1e-3), jax.lax.stop_gradient(q), h, jnp.asarray(False),
                     counts + work)
        new_state = jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_state, solver_state)
        dense_info = dict(y0=y_tree, q=jax.tree.map(lambda *qs: jnp.stack(qs), *[unravel(from_r(qi)) for qi in q]))
        result = diffrax.RESULTS.where(ok, diffrax.RESULTS.successful,
                                       diffrax.RESULTS.nonlinear_divergence)  # pyright: ignore[reportArgumentType]
        return y1, y_error, dense_info, new_state, result
