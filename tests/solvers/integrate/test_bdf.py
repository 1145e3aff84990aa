"""'BDF': the variable-order NDF/BDF of Shampine & Reichelt (``_bdf.py``), against SciPy's BDF.

SciPy's ``'BDF'`` implements the same published method (NDF orders 1-5, quasi-constant step
size, order selection from orders k-1, k, k+1), so besides accuracy its step and Jacobian
counts are an oracle: they agree within a few percent (identical step counts on Robertson's
problem). That comparison on the stiff test set (Robertson, Van der Pol at rtol 1e-4 and 1e-7)
lives in test_stiff.py, which already compiles 'BDF' for those problems.
"""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from scijax.solvers.integrate import solve_ivp
from scijax.solvers.integrate._bdf import change_matrix
from scijax.solvers.integrate._ivp_result import FLAG_NONFINITE


def test_change_matrix_rescales_backward_differences():
    """(R U)^T maps the backward differences of a degree-k polynomial at step h to those at step r h."""
    for k, r in [(1, 0.5), (3, 2.0), (5, 0.37)]:
        p = np.poly1d(np.linspace(0.3, 1.7, k + 1))

        def diffs(h):
            rows = [p(2.0 - h * np.arange(k + 1))]
            for _ in range(k):
                rows.append(rows[-1][:-1] - rows[-1][1:])
            return np.array([row[0] for row in rows])

        mat = np.asarray(change_matrix(k, r))
        np.testing.assert_allclose(mat[:k + 1, :k + 1] @ diffs(0.1), diffs(0.1 * r), rtol=1e-12, atol=1e-13)
        np.testing.assert_array_equal(mat[k + 1:, k + 1:], np.eye(5 - k))  # rows above the order: identity


def test_order_on_a_smooth_problem():
    """Error against steps over tolerances 1e-5..1e-10 on the harmonic oscillator: the slope of order 5
    (the method climbs to its top order), as SciPy's BDF's."""
    f = lambda t, y: jnp.stack([y[1], -y[0]])
    exact = np.array([np.cos(10.0), -np.sin(10.0)])
    rtols = [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
    fits = []
    for impl in ["scijax", "scipy"]:
        errs, steps = [], []
        for rtol in rtols:
            if impl == "scijax":
                r = solve_ivp(f, (0.0, 10.0), jnp.array([1.0, 0.0]), method="BDF", rtol=rtol, atol=rtol,
                              t_eval=jnp.array([10.0]))
                y_end, n = np.asarray(r.y[:, -1]), int(r.n_steps)
            else:
                r = scipy.integrate.solve_ivp(lambda t, y: np.array([y[1], -y[0]]), (0, 10), [1.0, 0.0],
                                              method="BDF", rtol=rtol, atol=rtol)
                y_end, n = r.y[:, -1], len(r.t) - 1
            errs.append(np.max(np.abs(y_end - exact)))
            steps.append(n)
        fits.append(-np.polyfit(np.log(steps), np.log(errs), 1)[0])
    assert 4.6 < fits[0] < 6.0 and abs(fits[0] - fits[1]) < 0.3, fits


def _vdp(t, y, mu):
    return jnp.stack([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


_vdp_jit = jax.jit(_vdp)  # SciPy's reference solves call it thousands of times


_W = jnp.array([1.0, 0.3])


def _loss(mu, y0):
    y = solve_ivp(_vdp, (0.0, 1.0), y0, method="BDF", args=(mu,), t_eval=jnp.array([0.5, 1.0]),
                  rtol=1e-8, atol=1e-10, max_steps=256).y[:, -1]
    return jnp.dot(_W, y)


_VALUE_GRAD = jax.jit(jax.value_and_grad(_loss, argnums=(0, 1)))


def test_bdf_jit_vmap_grad_no_recompile():
    """One jitted value-and-gradient (default checkpoint adjoint, through the corrector equation's
    custom_root): against SciPy, central differences, its vmap and new values without recompiling."""
    mus = jnp.array([1.0, 3.0])
    y0 = jnp.array([2.0, 0.0])
    loop = [_VALUE_GRAD(m, y0) for m in mus]
    batched = jax.vmap(_VALUE_GRAD, in_axes=(0, None))(mus, y0)
    np.testing.assert_allclose(batched[0], [v for v, _ in loop], rtol=1e-12)
    # Gradients agree to 1e-9 (batched linear algebra rounds differently), far inside their 1e-6 accuracy.
    np.testing.assert_allclose(batched[1][0], [g[0] for _, g in loop], rtol=1e-7)
    ref = scipy.integrate.solve_ivp(lambda t, y: np.asarray(_vdp_jit(t, y, 3.0)), (0, 1), [2.0, 0.0],
                                    method="BDF", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loop[1][0], np.dot(_W, ref.y[:, -1]), rtol=1e-6)
    n_compiled = _VALUE_GRAD._cache_size()
    eps = 1e-4
    value = lambda mu, y: _VALUE_GRAD(mu, y)[0]
    g_mu, g_y0 = loop[1][1]
    np.testing.assert_allclose(g_mu, (value(mus[1] + eps, y0) - value(mus[1] - eps, y0)) / (2 * eps), rtol=1e-4)
    e0 = jnp.array([eps, 0.0])
    np.testing.assert_allclose(g_y0[0], (value(mus[1], y0 + e0) - value(mus[1], y0 - e0)) / (2 * eps), rtol=1e-4)
    assert _VALUE_GRAD._cache_size() == n_compiled  # new values of mu and y0: no recompilation


def test_bdf_backsolve_adjoint():
    """Backsolve runs BDF on diffrax's adjoint state, restarting at order 1 at each saved time (a jump)."""

    def y_end(y0, k):
        return solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), jnp.stack([y0]), method="BDF", t_eval=[1.0, 2.0],
                         args=(k,), rtol=1e-10, atol=1e-12, adjoint="backsolve").y[0, -1]

    gy0, gk = jax.grad(y_end, argnums=(0, 1))(1.5, 0.7)
    np.testing.assert_allclose(gy0, np.exp(-1.4), rtol=1e-6)
    np.testing.assert_allclose(gk, -2.0 * 1.5 * np.exp(-1.4), rtol=1e-6)


def test_bdf_dense_output_events_float32_backward_and_nonfinite():
    mu = 5.0
    ev = lambda t, y, mu: y[0]
    ev.terminal = True
    res = solve_ivp(_vdp, (0.0, 10.0), jnp.array([2.0, 0.0]), method="BDF", args=(mu,), events=ev,
                    dense_output=True, rtol=1e-8, atol=1e-10)
    ref = scipy.integrate.solve_ivp(lambda t, y: np.asarray(_vdp_jit(t, y, mu)), (0, 10), [2.0, 0.0],
                                    method="BDF", events=lambda t, y: y[0], rtol=1e-12, atol=1e-14,
                                    dense_output=True)
    assert int(res.status) == 1
    np.testing.assert_allclose(res.t_events[0][0], ref.t_events[0][0], rtol=1e-6)
    ts = np.linspace(0.0, float(res.t[-1]), 23)
    # Global error of a solve at rtol 1e-8 over a fast transition: about 1e-6 relative.
    np.testing.assert_allclose(np.asarray(res.sol(jnp.asarray(ts))), ref.sol(ts), rtol=1e-5, atol=1e-6)

    # float32, backwards in time, and a right-hand side that turns NaN: one compiled program.
    fun = lambda t, y, t_nan: jnp.where(t > t_nan, jnp.nan, -3 * y)
    y0 = jnp.array([1.0], jnp.float32)
    r32 = solve_ivp(fun, (1.0, 0.0), y0, method="BDF", args=(2.0,), rtol=1e-4)
    assert r32.y.dtype == jnp.float32 and int(r32.status) == 0
    np.testing.assert_allclose(r32.y[0, -1], np.exp(3.0), rtol=2e-3)
    bad = solve_ivp(fun, (0.0, 1.0), y0, method="BDF", args=(0.5,), rtol=1e-4)
    assert int(bad.status) == -1 and int(bad.flag) == FLAG_NONFINITE, bad.message
    assert float(bad.t[-1]) <= 0.5
