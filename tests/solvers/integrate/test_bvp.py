"""solve_bvp against SciPy on SciPy's own test problems; jit, vmap, grad, float32, bad inputs.

Agreement: both codes run the same collocation method with the same node-insertion rule, so they
take the same meshes (node counts and iteration counts are compared exactly). The solutions then
differ only by where each Newton iteration stopped: the collocation residuals are below
``tol * 1e-2 * h`` there, so the splines agree to far better than ``tol`` (1e-5 is asserted).

Compiles are the cost here (~3 s each), so the problems that differ only in constants share one
code (``_family``: exp, Bratu and shock; the constants are traced closure values), which also serves
the jit+vmap+grad (one compile) and failure checks.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si

from scijax.solvers.integrate import solve_bvp

X5 = np.linspace(0.0, 1.0, 5)
XS = np.linspace(0.0, 1.0, 11)


def _family(c_lin, c_exp, ya0, y0=None, dtype=jnp.float64, x=X5, shock=0.0, tol=1e-3):
    """``y'' = c_lin y + c_exp exp(y) + shock * (...)``, ``y(x0) = ya0``, ``y(x1) = 0``: SciPy's exp,
    Bratu and shock problems in one code, so that they share one compiled solve (the constants are
    traced closure values; ``max_nodes`` is static and the same for all)."""
    pi = np.pi

    def fun(x, y):
        shock_term = -(x * y[1] + 1e-3 * pi**2 * jnp.cos(pi * x) + pi * x * jnp.sin(pi * x)) / 1e-3
        return jnp.vstack([y[1], c_lin * y[0] + c_exp * jnp.exp(y[0]) + shock * shock_term])

    bc = lambda ya, yb: jnp.array([ya[0] - ya0, yb[0]])
    y = jnp.zeros((2, 5), dtype) if y0 is None else y0
    return solve_bvp(fun, bc, jnp.asarray(x, dtype), y, max_nodes=256, tol=tol)


def _bratu(lam, y0=None, dtype=jnp.float64):
    return _family(0.0, -lam, 0.0, y0, dtype)


def _scipy_bratu(lam, y0):
    return si.solve_bvp(lambda x, y: np.vstack([y[1], -lam * np.exp(y[0])]),
                        lambda ya, yb: np.array([ya[0], yb[0]]), X5, y0)


def _compare(ours, ref, xs=XS, atol=1e-5):
    assert ours.status == ref.status and ours.success == ref.success
    assert ours.x.shape == ref.x.shape and ours.niter == ref.niter
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-12)
    np.testing.assert_allclose(ours.sol(xs), ref.sol(xs), atol=atol)
    np.testing.assert_allclose(ours.y, ref.y, atol=atol)
    np.testing.assert_allclose(ours.yp, ref.yp, atol=atol * 100)
    np.testing.assert_allclose(ours.rms_residuals, ref.rms_residuals, rtol=0.05, atol=1e-8)
    assert ours.message == ref.message


def test_bratu_matches_scipy_and_fields():
    # Starting at 3 the solver needs mesh refinement (SciPy: 25 nodes, 4 iterations).
    y0 = np.zeros((2, 5))
    y0[0] = 3.0
    ours, ref = _bratu(1.0, jnp.asarray(y0)), _scipy_bratu(1.0, y0)
    _compare(ours, ref)
    assert ours.p is None and isinstance(ours.x, np.ndarray) and ours.y.shape == (2, ref.x.size)
    np.testing.assert_allclose(ours.sol(0.5, 1), ref.sol(0.5, 1), atol=1e-5)  # derivative
    # A non-finite parameter: the Newton step is not finite, reported as SciPy's status 2.
    bad = _bratu(float("nan"))
    assert bad.status == 2 and not bad.success and "singular" in bad.message


def test_exponential_unknown_parameter_and_singular_term_match_scipy():
    # SciPy's exp problem: y'' = y, y(0) = 1, y(1) = 0.
    ours = _family(1.0, 0.0, 1.0)
    ref = si.solve_bvp(lambda x, y: np.vstack([y[1], y[0]]), lambda a, b: np.array([a[0] - 1, b[0]]),
                       X5, np.zeros((2, 5)))
    _compare(ours, ref)
    exact = (np.exp(1 - XS) - np.exp(XS - 1)) / (np.e - 1 / np.e)
    np.testing.assert_allclose(ours.sol(XS)[0], exact, atol=1e-4)

    # Sturm-Liouville eigenvalue (unknown p): y'' + p^2 y = 0, y(0) = y(1) = 0, y'(0) = p.
    y0 = np.zeros((2, 5))
    y0[0, 1], y0[0, 3] = 1.0, -1.0
    # (with the user's fun_jac and bc_jac in SciPy's layout; the other problems use autodiff)
    def fun_jac(x, y, p):
        one, zero = jnp.ones_like(x), jnp.zeros_like(x)
        df_dy = jnp.stack([jnp.stack([zero, one]), jnp.stack([-p[0]**2 * one, zero])])
        df_dp = jnp.stack([zero[None], (-2 * p[0] * y[0])[None]])
        return df_dy, df_dp

    def bc_jac(a, b, p):
        return (jnp.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), jnp.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]),
                jnp.array([[0.0], [0.0], [-1.0]]))

    ours = solve_bvp(lambda x, y, p: jnp.vstack([y[1], -p[0]**2 * y[0]]),
                     lambda a, b, p: jnp.array([a[0], b[0], a[1] - p[0]]), X5, y0, p=[5.0], max_nodes=64,
                     fun_jac=fun_jac, bc_jac=bc_jac)
    ref = si.solve_bvp(lambda x, y, p: np.vstack([y[1], -p[0]**2 * y[0]]),
                       lambda a, b, p: np.array([a[0], b[0], a[1] - p[0]]), X5, y0, p=[5.0])
    _compare(ours, ref)
    np.testing.assert_allclose(ours.p, ref.p, rtol=1e-8)
    np.testing.assert_allclose(ours.p[0], 2 * np.pi, rtol=1e-4)

    # Emden's equation with the singular term S: y'' + 2 y' / x + y^5 = 0, y'(0) = 0, y(1) = sqrt(3/4).
    S = np.array([[0.0, 0.0], [0.0, -2.0]])
    y0 = np.stack([np.full(5, 0.75**0.5), np.full(5, 1e-4)])
    ours = solve_bvp(lambda x, y: jnp.vstack([y[1], -y[0]**5]), lambda a, b: jnp.array([a[1], b[0] - 0.75**0.5]),
                     X5, y0, S=S, max_nodes=64)
    ref = si.solve_bvp(lambda x, y: np.vstack([y[1], -y[0]**5]), lambda a, b: np.array([a[1], b[0] - 0.75**0.5]),
                       X5, y0, S=S)
    _compare(ours, ref)
    np.testing.assert_allclose(ours.sol(XS)[0], (1 + XS**2 / 3) ** -0.5, atol=1e-4)  # exact solution


def test_many_nodes_and_max_nodes_match_scipy():
    # SciPy's shock problem (eps = 1e-3) needs ~100 nodes at tol=1e-3; at tol=1e-5 it exceeds 256.
    x = np.linspace(-1.0, 1.0, 5)
    pi = np.pi
    fun = lambda x, y: np.vstack([y[1], -(x * y[1] + 1e-3 * pi**2 * np.cos(pi * x) + pi * x * np.sin(pi * x)) / 1e-3])
    bc = lambda a, b: np.array([a[0] + 2, b[0]])
    xs = np.linspace(-1.0, 1.0, 41)
    for tol in (1e-3, 1e-5):
        ours = _family(0.0, 0.0, -2.0, x=x, shock=1.0, tol=tol)
        ref = si.solve_bvp(fun, bc, x, np.zeros((2, 5)), tol=tol, max_nodes=256)
        _compare(ours, ref, xs)
    assert ours.status == 1
    assert ref.x.size > 200


def _value_at_half(lam):
    res = _bratu(lam)
    return res.sol(0.5)[0], (res.n_nodes, res.status)


def test_jit_vmap_grad_no_recompile():
    # One compiled program: jit of vmap of value_and_grad, against a loop of eager solves.
    batched = jax.jit(jax.vmap(jax.value_and_grad(_value_at_half, has_aux=True)))
    lams = jnp.array([0.5, 1.0, 2.0])
    (vals, (nodes, status)), grads = batched(lams)
    h = 1e-5
    for i, lam in enumerate(np.asarray(lams)):
        one = _bratu(float(lam))
        assert int(nodes[i]) == one.x.size and int(status[i]) == one.status == 0
        np.testing.assert_allclose(vals[i], one.sol(0.5)[0], rtol=1e-10)
        # d y(0.5) / d lam by the implicit function theorem, against central differences of
        # converged solves on the same mesh (h = 1e-5: truncation ~1e-10, Newton noise ~1e-11 / h).
        fd = (_bratu(float(lam) + h).sol(0.5)[0] - _bratu(float(lam) - h).sol(0.5)[0]) / (2 * h)
        np.testing.assert_allclose(grads[i], fd, rtol=1e-5)
        assert grads[i] > 0
    batched(lams + 0.1)
    assert batched._cache_size() == 1


def test_float32():
    res = _bratu(1.0, dtype=jnp.float32)
    assert res.y.dtype == np.float32 and res.status == 0
    ref = _scipy_bratu(1.0, np.zeros((2, 5)))
    np.testing.assert_allclose(res.sol(XS), ref.sol(XS), atol=1e-5)


def test_bad_inputs():
    fun = lambda x, y: jnp.vstack([y[1], -y[0]])
    bc = lambda ya, yb: jnp.array([ya[0], yb[0] - 1])
    y = np.zeros((2, 5))
    with pytest.raises(ValueError, match="`x`"):
        solve_bvp(fun, bc, X5[::-1], y)
    with pytest.raises(ValueError, match="`x`"):
        solve_bvp(fun, bc, X5.reshape(1, 5), y)
    with pytest.raises(ValueError, match="`y`"):
        solve_bvp(fun, bc, X5, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="`y`"):
        solve_bvp(fun, bc, X5, np.full((2, 5), np.nan))
    with pytest.raises(ValueError, match="`bc` return"):
        solve_bvp(fun, lambda ya, yb: jnp.array([ya[0]]), X5, y)
    with pytest.raises(ValueError, match="`fun` return"):
        solve_bvp(lambda x, y: y[:1], bc, X5, y)
    with pytest.raises(ValueError, match="`S`"):
        solve_bvp(fun, bc, X5, y, S=np.eye(3))
    with pytest.raises(ValueError, match="`max_nodes`"):
        solve_bvp(fun, bc, X5, y, max_nodes=4)
    with pytest.raises(TypeError, match="`max_nodes`"):
        solve_bvp(fun, bc, X5, y, max_nodes=10.0)
    with pytest.raises(ValueError, match="`tol`"):
        solve_bvp(fun, bc, X5, y, tol=-1.0)
    with pytest.raises(TypeError, match="`fun`"):
        solve_bvp(None, bc, X5, y)
