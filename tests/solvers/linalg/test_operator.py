import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from jax.experimental import sparse as jsparse

from scijax.solvers.linalg import LinearOperator, aslinearoperator

RNG = np.random.default_rng(0)
A_NP = RNG.standard_normal((4, 3))
B_NP = RNG.standard_normal((4, 3))
X = RNG.standard_normal(3)
Y = RNG.standard_normal(4)


def _ops():
    a = jnp.asarray(A_NP)
    return {
        "dense": aslinearoperator(A_NP),
        "scipy": aslinearoperator(sp.csr_matrix(A_NP)),
        "bcoo": aslinearoperator(jsparse.BCOO.fromdense(a)),
        "bcsr": aslinearoperator(jsparse.BCSR.fromdense(a)),
        "function": LinearOperator((4, 3), matvec=lambda x: a @ x),
        "function+rmatvec": LinearOperator((4, 3), matvec=lambda x: a @ x, rmatvec=lambda y: a.T @ y),
    }


@pytest.mark.parametrize("kind", list(_ops()))
def test_apply_matches_scipy(kind):
    op = _ops()[kind]
    ref = spl.aslinearoperator(A_NP)
    assert op.shape == ref.shape and op.dtype == ref.dtype
    np.testing.assert_allclose(op.matvec(X), ref.matvec(X), rtol=1e-12)
    np.testing.assert_allclose(op @ X, ref @ X, rtol=1e-12)
    np.testing.assert_allclose(op.rmatvec(Y), ref.rmatvec(Y), rtol=1e-12)
    np.testing.assert_allclose(op.matmat(np.eye(3)), A_NP, rtol=1e-12)
    np.testing.assert_allclose(op.rmatmat(np.eye(4)), A_NP.T, rtol=1e-12)
    assert op.matvec(X[:, None]).shape == (4, 1)
    np.testing.assert_allclose(Y @ op, Y @ A_NP, rtol=1e-12)


def test_algebra_matches_scipy():
    a, b = aslinearoperator(A_NP), aslinearoperator(B_NP)
    ra, rb = spl.aslinearoperator(A_NP), spl.aslinearoperator(B_NP)
    cases = [(a + b, ra + rb), (2.5 * a, 2.5 * ra), (a * 2.0, ra * 2.0), (-a, -ra), (a - b, ra - rb),
             (a.T, ra.T), (a.H, ra.H), (a.T @ b, ra.T @ rb), (a / 2.0, ra / 2.0)]
    for ours, ref in cases:
        assert ours.shape == ref.shape
        n = ours.shape[1]
        v = RNG.standard_normal(n)
        np.testing.assert_allclose(ours.matvec(v), ref.matvec(v), rtol=1e-12)
        w = RNG.standard_normal(ours.shape[0])
        np.testing.assert_allclose(ours.rmatvec(w), ref.rmatvec(w), rtol=1e-12)
    sq = aslinearoperator(A_NP[:3])
    np.testing.assert_allclose((sq**2).matvec(X), A_NP[:3] @ A_NP[:3] @ X, rtol=1e-12)


def test_complex_transpose_and_adjoint():
    c = A_NP + 1j * B_NP
    op = aslinearoperator(c)
    fn = LinearOperator((4, 3), matvec=lambda x: jnp.asarray(c) @ x, dtype=np.complex128)
    w = Y + 0.5j * Y[::-1]
    for o in (op, fn):
        np.testing.assert_allclose(o.T.matvec(w), c.T @ w, rtol=1e-12)
        np.testing.assert_allclose(o.H.matvec(w), c.conj().T @ w, rtol=1e-12)


def test_dtype_inferred_like_scipy():
    op = LinearOperator((3, 3), matvec=lambda x: 2 * x)
    assert op.dtype == np.float64
    op32 = LinearOperator((3, 3), matvec=lambda x: (2 * x).astype(jnp.float32))
    assert op32.dtype == np.float32
    assert aslinearoperator(np.eye(3, dtype=np.float32)).dtype == np.float32


def test_operator_is_a_pytree_under_jit_vmap_grad():
    f = jax.jit(lambda op, x: op @ x)
    op = aslinearoperator(A_NP)
    np.testing.assert_allclose(f(op, X), A_NP @ X, rtol=1e-12)
    batched = jax.vmap(lambda a: (2.0 * aslinearoperator(a)).T @ jnp.asarray(Y))(jnp.stack([A_NP, B_NP]))
    np.testing.assert_allclose(batched, 2 * np.stack([A_NP.T @ Y, B_NP.T @ Y]), rtol=1e-12)
    g = jax.grad(lambda a: jnp.sum((aslinearoperator(a) + aslinearoperator(a)).matvec(X)))(jnp.asarray(A_NP))
    np.testing.assert_allclose(g, 2 * np.outer(np.ones(4), X), rtol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="`shape`"):
        LinearOperator((3,), matvec=lambda x: x)
    with pytest.raises(TypeError, match="`matvec`"):
        LinearOperator((3, 3), matvec=3)
    op = aslinearoperator(A_NP)
    with pytest.raises(ValueError, match="dimension mismatch"):
        op.matvec(np.ones(4))
    with pytest.raises(ValueError, match="cannot add"):
        op + op.T
    with pytest.raises(ValueError, match="Scalar"):
        op @ 2.0
    with pytest.raises(TypeError, match="type not understood"):
        aslinearoperator("matrix")
    with pytest.raises(ValueError, match="2-D"):
        aslinearoperator(np.ones(3))
