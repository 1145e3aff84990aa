"""'BDF': the variable-order NDF/BDF of Shampine & Reichelt (``_bdf.py``), against SciPy's BDF.

SciPy's ``'BDF'`` implements the same published method (NDF orders 1-5, quasi-constant step
size, order selection from orders k-1, k, k+1), so besides accuracy its step and Jacobian
counts are an oracle: they agree within a few percent here (identical step counts on
Robertson's problem; diffrax discards a rejected step's state, which costs a few extra
factorisations).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

from scijax.solvers.integrate import solve_ivp
from scijax.solvers.integrate._bdf import change_matrix
from scijax.solvers.integrate._ivp_result import FLAG_NONFINITE
from tests.problems.stiff_testset import STIFF_PROBLEMS, scd


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


@pytest.mark.parametrize("name", ["rober", "vdpolm"])
def test_testset_against_scipy_bdf(name):
    """Success, correct digits (>= SciPy BDF's - 0.3) and work counts comparable to SciPy's BDF."""
    p = STIFF_PROBLEMS[name]
    for rtol in [1e-4, 1e-7]:
        atol = p.atol_factor * rtol
        # The same options as test_stiff.py's solves, so the compiled program is shared.
        res = solve_ivp(p.fun, p.t_span, jnp.asarray(p.y0), method="BDF", rtol=rtol, atol=atol, max_steps=20000,
                        t_eval=jnp.asarray([p.t_span[1]]))
        ref = scipy.integrate.solve_ivp(p.fun_np, p.t_span, p.y0, method="BDF", rtol=rtol, atol=atol)
        assert bool(res.success) and ref.success
        ours, theirs = scd(res.y[:, -1], p.ref), scd(ref.y[:, -1], p.ref)
        assert ours >= theirs - 0.3, (name, rtol, ours, theirs)
        steps = len(ref.t) - 1
        assert 0.8 * steps <= int(res.n_steps) <= 1.1 * steps, (int(res.n_steps), steps)
        assert int(res.njev) <= 1.2 * ref.njev + 2, (int(res.njev), ref.njev)
        assert int(res.nlu) <= 1.5 * ref.nlu, (int(res.nlu), ref.nlu)
        assert int(res.nfev) <= 1.2 * ref.nfev, (int(res.nfev), ref.nfev)


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


def _final(mu, y0, adjoint="checkpoint"):
    return solve_ivp(_vdp, (0.0, 1.0), y0, method="BDF", args=(mu,), t_eval=jnp.array([0.5, 1.0]),
                     rtol=1e-8, atol=1e-10, max_steps=256, adjoint=adjoint).y[:, -1]


_FINAL_JIT = jax.jit(_final, static_argnames="adjoint")


def test_bdf_jit_vmap_grad_no_recompile():
    mus = jnp.array([1.0, 3.0])
    y0 = jnp.array([2.0, 0.0])
    batched = jax.vmap(_FINAL_JIT, in_axes=(0, None))(mus, y0)
    loop = np.stack([np.asarray(_FINAL_JIT(m, y0)) for m in mus])
    np.testing.assert_allclose(batched, loop, rtol=1e-12, atol=1e-14)
    ref = scipy.integrate.solve_ivp(lambda t, y: np.asarray(_vdp(t, jnp.asarray(y), 3.0)), (0, 1), [2.0, 0.0],
                                    method="BDF", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loop[1], ref.y[:, -1], rtol=1e-6)
    assert _FINAL_JIT._cache_size() == 1  # new values of mu: no recompilation
    # grad through the corrector equation (custom_root) with the default adjoint, against central differences.
    w = jnp.array([1.0, 0.3])
    loss = lambda mu, y0: jnp.dot(w, _final(mu, y0))
    g_mu, g_y0 = jax.grad(loss, argnums=(0, 1))(3.0, y0)
    eps = 1e-4
    np.testing.assert_allclose(g_mu, (loss(3.0 + eps, y0) - loss(3.0 - eps, y0)) / (2 * eps), rtol=1e-4)
    e0 = jnp.array([eps, 0.0])
    np.testing.assert_allclose(g_y0[0], (loss(3.0, y0 + e0) - loss(3.0, y0 - e0)) / (2 * eps), rtol=1e-4)


@pytest.mark.parametrize("adjoint", ["backsolve", "forward"])
def test_bdf_other_adjoints(adjoint):
    """Backsolve runs BDF on diffrax's adjoint state (restarting at order 1 at each saved time)."""

    def y_end(y0, k):
        return solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), jnp.stack([y0]), method="BDF", t_eval=[1.0, 2.0],
                         args=(k,), rtol=1e-10, atol=1e-12, adjoint=adjoint).y[0, -1]

    diff = jax.grad if adjoint == "backsolve" else jax.jacfwd
    gy0, gk = diff(y_end, argnums=(0, 1))(1.5, 0.7)
    np.testing.assert_allclose(gy0, np.exp(-1.4), rtol=1e-6)
    np.testing.assert_allclose(gk, -2.0 * 1.5 * np.exp(-1.4), rtol=1e-6)


def test_bdf_dense_output_events_float32_complex_and_nonfinite():
    mu = 5.0
    ev = lambda t, y, mu: y[0]
    ev.terminal = True
    res = solve_ivp(_vdp, (0.0, 10.0), jnp.array([2.0, 0.0]), method="BDF", args=(mu,), events=ev,
                    dense_output=True, rtol=1e-8, atol=1e-10)
    ref = scipy.integrate.solve_ivp(lambda t, y: np.asarray(_vdp(t, jnp.asarray(y), mu)), (0, 10), [2.0, 0.0],
                                    method="BDF", events=lambda t, y: y[0], rtol=1e-12, atol=1e-14,
                                    dense_output=True)
    assert int(res.status) == 1
    np.testing.assert_allclose(res.t_events[0][0], ref.t_events[0][0], rtol=1e-6)
    ts = np.linspace(0.0, float(res.t[-1]), 23)
    np.testing.assert_allclose(np.asarray(res.sol(jnp.asarray(ts))), ref.sol(ts), atol=1e-6)

    r32 = solve_ivp(lambda t, y: -3 * y, (0.0, 1.0), jnp.array([1.0], jnp.float32), method="BDF", rtol=1e-4)
    assert r32.y.dtype == jnp.float32 and int(r32.status) == 0
    np.testing.assert_allclose(r32.y[0, -1], np.exp(-3.0), rtol=1e-3)

    with pytest.warns(UserWarning, match="Complex"):  # diffrax's own warning about complex dtypes
        rc = solve_ivp(lambda t, y: (-1 + 10j) * y, (1.0, 0.0), jnp.array([1.0 + 0j]), method="BDF",
                       rtol=1e-8, atol=1e-10)  # backwards in time too
    rc_ref = scipy.integrate.solve_ivp(lambda t, y: (-1 + 10j) * y, (1.0, 0.0), [1.0 + 0j], method="BDF",
                                       rtol=1e-8, atol=1e-10)
    assert int(rc.status) == 0
    np.testing.assert_allclose(rc.y[0, -1], np.exp(-(-1 + 10j)), rtol=1e-5)
    assert abs(complex(rc.y[0, -1]) - np.exp(1 - 10j)) < 3 * abs(rc_ref.y[0, -1] - np.exp(1 - 10j))

    bad = solve_ivp(lambda t, y: jnp.where(t > 0.5, jnp.nan, -y), (0.0, 1.0), jnp.array([1.0]), method="BDF")
    assert int(bad.status) == -1 and int(bad.flag) == FLAG_NONFINITE, bad.message
    assert float(bad.t[-1]) <= 0.5
