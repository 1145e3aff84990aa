"""cg against scipy.sparse.linalg.cg on Poisson problems given in every form A may take."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spl
from jax.experimental import sparse as jsparse

from scijax.solvers.linalg import (
    LinearOperator,
    aslinearoperator,
    cg,
    chebyshev_preconditioner,
    jacobi_preconditioner,
)

from .problems import indefinite, poisson1d, poisson2d, poisson2d_matvec, rhs, spd

M2 = 12
P2 = poisson2d(M2)
B2 = rhs(M2 * M2)
X2 = np.linalg.solve(P2.toarray(), B2)
COND2 = np.linalg.cond(P2.toarray())


def _forms(csr, matvec=None):
    dense = jnp.asarray(csr.toarray())
    forms = {
        "dense": dense,
        "scipy.sparse": csr,
        "bcoo": jsparse.BCOO.from_scipy_sparse(csr),
        "bcsr": jsparse.BCSR.from_scipy_sparse(csr),
        "LinearOperator": LinearOperator(csr.shape, matvec=matvec or (lambda x: dense @ x)),
        "callable": matvec or (lambda x: dense @ x),
    }
    return forms


@pytest.mark.parametrize("form", list(_forms(P2)))
def test_poisson2d_all_forms_match_scipy(form):
    A = _forms(P2, poisson2d_matvec(M2))[form]
    x, info = cg(A, B2, rtol=1e-10)
    x_ref, info_ref = spl.cg(P2, B2, rtol=1e-10)
    assert int(info) == info_ref == 0
    assert np.linalg.norm(P2 @ x - B2) <= 1e-10 * np.linalg.norm(B2)
    np.testing.assert_allclose(x, x_ref, atol=COND2 * 1e-10 * np.abs(X2).max())


def test_poisson1d_and_spd_dense():
    for A in (poisson1d(40), spd(20)):
        b = rhs(A.shape[0])
        x, info = cg(A, b)
        x_ref, info_ref = spl.cg(A, b)
        assert int(info) == info_ref == 0
        assert np.linalg.norm(A @ np.asarray(x) - b) <= 1e-5 * np.linalg.norm(b)
        np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-4 * np.abs(x_ref).max())


def test_maxiter_reported_like_scipy():
    x, info = cg(P2, B2, maxiter=3)
    x_ref, info_ref = spl.cg(P2, B2, maxiter=3)
    assert int(info) == info_ref == 3
    np.testing.assert_allclose(x, x_ref, rtol=1e-10)


def test_x0_atol_and_zero_rhs():
    x, info = cg(P2, B2, x0=X2 + 1e-3, rtol=1e-10)
    assert int(info) == 0 and np.linalg.norm(P2 @ x - B2) <= 1e-10 * np.linalg.norm(B2)
    x, info = cg(P2, B2, rtol=0.0, atol=1e-3)
    assert int(info) == 0 and np.linalg.norm(P2 @ x - B2) <= 1e-3
    x, info = cg(P2, np.zeros_like(B2), x0=B2)
    assert int(info) == 0 and not np.any(np.asarray(x))


def test_indefinite_is_not_reported_as_success():
    A = indefinite(30)
    b = rhs(30)
    x, info = cg(A, b, maxiter=20)
    assert int(info) != 0
    assert np.linalg.norm(A @ np.asarray(x) - b) > 1e-5 * np.linalg.norm(b)


def test_preconditioners_cut_iterations():
    counts = {}
    for name, M in [("none", None), ("jacobi", jacobi_preconditioner(P2)),
                    ("chebyshev", chebyshev_preconditioner(P2, degree=6))]:
        seen = []
        x, info = cg(P2, B2, rtol=1e-8, M=M, callback=lambda xk: seen.append(1))
        jax.effects_barrier()
        assert int(info) == 0 and np.linalg.norm(P2 @ x - B2) <= 1e-8 * np.linalg.norm(B2)
        counts[name] = len(seen)
    ref_count = []
    spl.cg(P2, B2, rtol=1e-8, callback=lambda xk: ref_count.append(1))
    assert abs(counts["none"] - len(ref_count)) <= 1
    assert counts["chebyshev"] < counts["none"] / 2
    # Jacobi on a matrix with a varying diagonal
    D = np.diag(np.linspace(1, 100, M2 * M2))
    A = D @ P2.toarray() @ D
    it = {}
    for name, M in [("none", None), ("jacobi", jacobi_preconditioner(A))]:
        seen = []
        cg(A, B2, rtol=1e-8, M=M, callback=lambda xk: seen.append(1))
        jax.effects_barrier()
        it[name] = len(seen)
    assert it["jacobi"] < it["none"] / 2


SOLVE = jax.jit(lambda A, b: cg(A, b, rtol=1e-10))
TRACES = []


@jax.jit
def _counted(A, b):
    TRACES.append(1)
    return cg(A, b, rtol=1e-10)


def test_jit_vmap_and_no_recompile():
    A = jnp.asarray(P2.toarray())
    x, info = SOLVE(A, B2)
    assert int(info) == 0
    bs = np.stack([B2, 2 * B2 + 1, -B2])
    xs, infos = jax.vmap(SOLVE, in_axes=(None, 0))(A, bs)
    loop = [SOLVE(A, b)[0] for b in bs]
    np.testing.assert_allclose(xs, np.stack(loop), rtol=1e-9, atol=1e-12)
    assert not np.any(infos)
    _counted(A, B2)
    _counted(2 * A, B2 + 1)
    assert len(TRACES) == 1


def test_grad_b_matrix_and_closure():
    A = jnp.asarray(spd(8))
    b = jnp.asarray(rhs(8))
    w = jnp.asarray(rhs(8, seed=5))
    x = np.linalg.solve(A, b)
    lam = np.linalg.solve(A.T, w)
    gb = jax.grad(lambda b: w @ cg(A, b, rtol=1e-12)[0])(b)
    np.testing.assert_allclose(gb, lam, rtol=1e-8)
    gA = jax.grad(lambda A: w @ cg(A, b, rtol=1e-12)[0])(A)
    np.testing.assert_allclose(gA, -np.outer(lam, x), rtol=1e-7, atol=1e-10)

    # an operator closing over a parameter: A(s) = A + s I, dx/ds = -A(s)^{-1} x
    def f(s):
        op = LinearOperator((8, 8), matvec=lambda v: A @ v + s * v)
        return w @ cg(op, b, rtol=1e-12)[0]

    s = 0.3
    xs = np.linalg.solve(A + s * np.eye(8), b)
    expected = -w @ np.linalg.solve(A + s * np.eye(8), xs)
    np.testing.assert_allclose(jax.grad(f)(s), expected, rtol=1e-7)
    fd = (f(s + 1e-5) - f(s - 1e-5)) / 2e-5
    np.testing.assert_allclose(jax.grad(f)(s), fd, rtol=1e-5)
    # BCOO data
    Asp = jsparse.BCOO.fromdense(A)
    gdata = jax.grad(lambda d: w @ cg(jsparse.BCOO((d, Asp.indices), shape=A.shape), b, rtol=1e-12)[0])(
        Asp.data)
    idx = np.asarray(Asp.indices)
    np.testing.assert_allclose(gdata, -np.outer(lam, x)[idx[:, 0], idx[:, 1]], rtol=1e-7, atol=1e-10)


def test_float32():
    A = jnp.asarray(P2.toarray(), jnp.float32)
    b = jnp.asarray(B2, jnp.float32)
    x, info = cg(A, b, rtol=1e-5)
    assert x.dtype == jnp.float32 and int(info) == 0
    assert np.linalg.norm(P2 @ np.asarray(x, np.float64) - B2) <= 2e-5 * np.linalg.norm(B2)


def test_bad_inputs():
    A = P2.toarray()
    with pytest.raises(ValueError, match="`rtol`"):
        cg(A, B2, rtol=-1.0)
    with pytest.raises(ValueError, match="`atol`"):
        cg(A, B2, atol=-1.0)
    with pytest.raises(ValueError, match="`maxiter`"):
        cg(A, B2, maxiter=0)
    with pytest.raises(ValueError, match="`b`"):
        cg(A, B2[:-1])
    with pytest.raises(ValueError, match="`A` must be square"):
        cg(A[:, :-1], B2)
    with pytest.raises(ValueError, match="`x0`"):
        cg(A, B2, x0=np.ones(3))
    with pytest.raises(ValueError, match="`M`"):
        cg(A, B2, M=np.eye(3))
    with pytest.raises(TypeError, match="`A`"):
        cg("A", B2)
    with pytest.raises(TypeError, match="`A`"):
        jacobi_preconditioner(aslinearoperator(A))
