"""LbfgsInvHessProduct, the Jacobian objects, show_options and linprog_verbose_callback against SciPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import (
    BroydenFirst,
    InverseJacobian,
    KrylovJacobian,
    LbfgsInvHessProduct,
    linprog_verbose_callback,
    minimize,
    show_options,
)

RNG = np.random.default_rng(3)
SK = RNG.standard_normal((4, 5))
YK = SK @ np.diag([1.0, 2.0, 3.0, 4.0, 5.0]) + 0.01 * RNG.standard_normal((4, 5))
MATVEC = jax.jit(lambda sk, yk, v: LbfgsInvHessProduct(sk, yk).matvec(v))


def test_lbfgs_inv_hess_product_matches_scipy():
    want, got = so.LbfgsInvHessProduct(SK, YK), LbfgsInvHessProduct(SK, YK)
    v, V = RNG.standard_normal(5), RNG.standard_normal((5, 2))
    np.testing.assert_allclose(got.todense(), want.todense(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got.matvec(v), want.matvec(v), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got @ V, want.dot(V), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got.rho, want.rho, rtol=1e-14)
    assert got.shape == want.shape and got.T is got and got.matvec(v[:, None]).shape == (5, 1)
    # jit (no recompilation for new pairs), vmap over vectors, grad vs central differences, float32.
    np.testing.assert_allclose(MATVEC(SK, YK, v), want.matvec(v), rtol=1e-12)
    MATVEC(SK + 1.0, YK, v)
    assert MATVEC._cache_size() == 1
    batch = jax.vmap(MATVEC, in_axes=(None, None, 0))(SK, YK, V.T)
    np.testing.assert_allclose(batch, want.dot(V).T, rtol=1e-12)
    u = RNG.standard_normal((4, 5))
    loss = lambda sk: jnp.sum(jnp.sin(MATVEC(sk, YK, v)))  # noqa: E731
    fd = (loss(SK + 1e-6 * u) - loss(SK - 1e-6 * u)) / 2e-6
    np.testing.assert_allclose(jnp.sum(jax.grad(loss)(jnp.asarray(SK)) * u), fd, rtol=1e-6)
    op32 = LbfgsInvHessProduct(SK.astype(np.float32), YK.astype(np.float32))
    assert op32.dtype == jnp.float32
    np.testing.assert_allclose(op32.todense(), want.todense(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="sk"):
        LbfgsInvHessProduct(SK, YK[:3])
    with pytest.raises(ValueError, match="dimension mismatch"):
        got.matvec(np.ones(4))


def test_lbfgsb_hess_inv_is_the_operator():
    # SciPy returns an LbfgsInvHessProduct; so do we. The newest pair satisfies the secant
    # equation H y = s exactly, and unused buffer rows (maxcor > pairs) leave H unchanged.
    A = np.diag([1.0, 3.0, 10.0])
    f = lambda x: 0.5 * x @ (A @ x) + jnp.sin(x[0])  # noqa: E731
    res = minimize(f, np.array([1.0, -1.0, 0.5]), method="L-BFGS-B", options={"maxcor": 20})
    assert isinstance(res.hess_inv, LbfgsInvHessProduct)
    H = res.hess_inv
    assert H.sk.shape == (20, 3)
    used = np.asarray(jnp.any(H.sk != 0, axis=1))
    s, y = H.sk[-1], H.yk[-1]
    np.testing.assert_allclose(H.matvec(y), s, rtol=1e-8, atol=1e-12)
    trimmed = so.LbfgsInvHessProduct(np.asarray(H.sk)[used], np.asarray(H.yk)[used])
    np.testing.assert_allclose(H.todense(), trimmed.todense(), rtol=1e-12, atol=1e-14)
    assert res.success and 1 < used.sum() < 20


def _F(x):
    return jnp.array([x[0] + 0.5 * x[1] ** 2 - 1.0, jnp.sin(x[1]) - 0.3 * x[0], x[2] ** 3 + x[0]])


def _F_np(x):
    return np.asarray(_F(jnp.asarray(x)))


@pytest.mark.parametrize("kind", ["broyden", "krylov"])
def test_jacobian_objects_match_scipy(kind):
    # SciPy's object protocol: setup, a few updates, then solve / matvec / todense / InverseJacobian.
    x0 = RNG.standard_normal(3)
    steps = [x0 + 0.1 * RNG.standard_normal(3) for _ in range(3)]
    if kind == "broyden":
        want, got = so.BroydenFirst(alpha=0.3), BroydenFirst(alpha=0.3)
    else:
        want, got = so.KrylovJacobian(), KrylovJacobian()
    want.setup(x0, _F_np(x0), _F_np)
    got.setup(x0, _F(x0), _F)
    for x in steps:
        want.update(x, _F_np(x))
        got.update(x, _F(x))
    v = RNG.standard_normal(3)
    tol = 1e-12 if kind == "broyden" else 1e-6  # SciPy's Krylov products are finite differences
    np.testing.assert_allclose(got.solve(v, tol=1e-12), want.solve(v, tol=1e-12), rtol=tol, atol=tol)
    np.testing.assert_allclose(got.matvec(v), want.matvec(v), rtol=tol, atol=tol)
    np.testing.assert_allclose(InverseJacobian(got).matvec(v), so.InverseJacobian(want).matvec(v), rtol=tol,
                               atol=tol)
    assert got.shape == want.shape == InverseJacobian(got).shape
    dense = want.todense() if kind == "broyden" else np.asarray(jax.jacfwd(_F)(jnp.asarray(steps[-1])))
    np.testing.assert_allclose(got.todense(), dense, rtol=tol, atol=tol)


def test_broyden_first_secant_dense_update_and_complex():
    # SciPy's test_nonlin checks: the secant condition on the newest pair only, the update equal to
    # Broyden's dense one on J, and (complex J) solve / rsolve / rmatvec against the dense matrix.
    xs = [np.array([1.0, 1, 1, 1, 1]), np.array([2.0, 3, 4, 5, 1]), np.array([3.0, 4, 5, 1, 2]),
          np.array([4.0, 5, 1, 2, 3]), np.array([9.0, 1, 9, 1, 3])]
    fs = [x**2 - 1 for x in xs]
    jac = BroydenFirst(alpha=0.1)
    jac.setup(xs[0], fs[0], None)
    B = -np.identity(5) / 0.1
    for j in range(1, len(xs)):
        dx, df = xs[j] - xs[j - 1], fs[j] - fs[j - 1]
        B += np.outer(df - B @ dx, dx) / (dx @ dx)
        jac.update(xs[j], fs[j])
        np.testing.assert_allclose(jac.todense(), B, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(jac.solve(df), dx, rtol=1e-10, atol=1e-12)
        if j > 1:
            assert not np.allclose(jac.solve(fs[j - 1] - fs[j - 2]), xs[j - 1] - xs[j - 2])
    A = RNG.random((3, 3)) + 1j * RNG.random((3, 3))
    x0 = RNG.random(3)
    cj = BroydenFirst()
    cj.setup(x0, x0**2 - 1 + A @ x0, None)
    x1 = RNG.random(3) + 1j * RNG.random(3)
    cj.update(x1, x1**2 - 1 + A @ x1)
    Jd, v = np.array(cj), RNG.random(3) + 1j * RNG.random(3)
    np.testing.assert_allclose(cj.solve(v), np.linalg.solve(Jd, v), rtol=1e-10)
    np.testing.assert_allclose(cj.rsolve(v), np.linalg.solve(Jd.conj().T, v), rtol=1e-10)
    np.testing.assert_allclose(cj.rmatvec(v), Jd.conj().T @ v, rtol=1e-10)


def test_jacobian_objects_bad_input():
    with pytest.raises(ValueError, match="inner_M"):
        KrylovJacobian(inner_M=InverseJacobian(BroydenFirst()))
    with pytest.raises(ValueError, match="method"):
        KrylovJacobian(method="cgs")
    with pytest.raises(ValueError, match="reduction_method"):
        BroydenFirst(reduction_method="nope")
    with pytest.raises(ValueError, match="setup"):
        BroydenFirst().solve(np.ones(2))
    with pytest.raises(TypeError, match="jacobian"):
        InverseJacobian(3)


def test_show_options_and_verbose_callback(capsys):
    text = show_options("minimize", "L-BFGS-B", disp=False)
    assert text is not None and "maxcor" in text and "maxls" in text
    everything = show_options(disp=False)
    assert everything is not None
    for solver in ("minimize", "minimize_scalar", "root", "root_scalar", "linprog", "quadratic_assignment"):
        assert f"{solver}(method=" in everything
    assert show_options("root", "krylov") is None and "jac_options" in capsys.readouterr().out
    with pytest.raises(ValueError, match="solver"):
        show_options("minimise")
    with pytest.raises(ValueError, match="method"):
        show_options("minimize", "nope")
    with pytest.raises(ValueError, match="solver"):
        show_options(method="bfgs")
    res = {"x": np.array([1.0, 2.0]), "fun": -3.0, "status": 2, "nit": 5, "message": "infeasible",
           "phase": 1, "complete": False}
    linprog_verbose_callback(res)
    out = capsys.readouterr().out
    assert "exited early with status 2" in out and "infeasible" in out and "2.0000" in out
    linprog_verbose_callback(dict(res, status=0))
    assert "Iteration 5  - Phase 1" in capsys.readouterr().out
