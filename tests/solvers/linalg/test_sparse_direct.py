"""spsolve, splu, spilu, factorized, spsolve_triangular and the structure queries against
scipy.sparse.linalg: values, permutations, jit, vmap, grad, float32, singular and bad input."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from jax.experimental import sparse as jsparse

from scijax.solvers import linalg as sla

N = 10
S = (sp.random(N, N, density=0.3, random_state=4, format="csc") + 3 * sp.eye(N)).tocsc()
AD = S.toarray()
B = np.random.default_rng(5).standard_normal(N)

_spsolve = jax.jit(sla.spsolve)


def test_spsolve_and_splu_match_scipy():
    np.testing.assert_allclose(sla.spsolve(S, B), spl.spsolve(S, B), rtol=1e-12)
    np.testing.assert_allclose(sla.spsolve(jsparse.BCOO.from_scipy_sparse(S), B), spl.spsolve(S, B), rtol=1e-12)
    B2 = np.stack([B, 2 * B + 1], axis=1)
    np.testing.assert_allclose(sla.spsolve(S, B2), spl.spsolve(S, B2), rtol=1e-12)
    assert sla.spsolve(S, B[:, None]).shape == (N,)  # SciPy's squeeze of an (N, 1) b
    lu, ref = sla.splu(S), spl.splu(S)
    Pr = np.zeros((N, N))
    Pr[np.asarray(lu.perm_r), np.arange(N)] = 1  # SciPy's definition of perm_r
    np.testing.assert_allclose(Pr @ AD[:, np.asarray(lu.perm_c)], np.asarray(lu.L @ lu.U), atol=1e-13)
    assert lu.shape == ref.shape
    for trans in "NTH":
        np.testing.assert_allclose(lu.solve(B, trans=trans), ref.solve(B, trans=trans), rtol=1e-12)
    np.testing.assert_allclose(sla.factorized(S)(B), spl.factorized(S)(B), rtol=1e-12)
    with pytest.raises(ValueError, match="trans"):
        lu.solve(B, trans="X")


def test_spilu_is_ilu0_and_preconditions():
    ilu = sla.spilu(S)
    pattern = (AD != 0) | np.eye(N, dtype=bool)
    LU = np.asarray(ilu.L @ ilu.U)
    np.testing.assert_allclose(LU[pattern], AD[pattern], atol=1e-13)  # ILU(0): exact on the pattern
    assert np.all(np.asarray(ilu.L)[~pattern & np.tri(N, k=-1, dtype=bool)] == 0)
    assert ilu.nnz == int(pattern.sum())
    # a tridiagonal matrix has no fill: ILU(0) is its LU, and agrees with SciPy's ILUTP
    T = sp.diags([[-1.0] * (N - 1), [4.0] * N, [-1.0] * (N - 1)], [-1, 0, 1]).tocsc()
    np.testing.assert_allclose(sla.spilu(T).solve(B), spl.spilu(T).solve(B), rtol=1e-12)
    M = sla.LinearOperator((N, N), ilu.solve)
    x, info = sla.gmres(S, B, M=M, rtol=1e-10)
    assert int(info) == 0
    np.testing.assert_allclose(x, spl.spsolve(S, B), rtol=1e-8)


def test_spsolve_jit_vmap_grad_float32_singular():
    np.testing.assert_allclose(_spsolve(AD, B), spl.spsolve(S, B), rtol=1e-12)
    bs = np.stack([B, B + 1, 2 * B])
    np.testing.assert_allclose(jax.vmap(_spsolve, in_axes=(None, 0))(AD, bs), np.stack([_spsolve(AD, b) for b in bs]),
                               rtol=1e-13)
    # d(sum x)/dA = -y x^T with A^T y = 1; and d/db = y
    ga, gb = jax.grad(lambda a, b: jnp.sum(_spsolve(a, b)), argnums=(0, 1))(jnp.asarray(AD), jnp.asarray(B))
    x, y = np.linalg.solve(AD, B), np.linalg.solve(AD.T, np.ones(N))
    np.testing.assert_allclose(ga, -np.outer(y, x), atol=1e-12)
    np.testing.assert_allclose(gb, y, rtol=1e-12)
    x32 = sla.spsolve(AD.astype(np.float32), B.astype(np.float32))
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(x32, spl.spsolve(S, B), rtol=1e-4)
    singular = np.ones((3, 3))
    with pytest.warns(sla.MatrixRankWarning):
        assert np.all(np.isnan(sla.spsolve(singular, np.ones(3))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.isnan(jax.jit(sla.spsolve)(singular, np.ones(3))))  # traced: NaN, no warning


def test_spsolve_triangular_and_structure():
    L = sp.csr_array(np.tril(AD))
    np.testing.assert_allclose(sla.spsolve_triangular(L, B), spl.spsolve_triangular(L, B), rtol=1e-12)
    U = sp.csr_array(np.triu(AD))
    np.testing.assert_allclose(sla.spsolve_triangular(U, B, lower=False), spl.spsolve_triangular(U, B, lower=False),
                               rtol=1e-12)
    np.testing.assert_allclose(sla.spsolve_triangular(L, B, unit_diagonal=True),
                               spl.spsolve_triangular(L, B, unit_diagonal=True), rtol=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        sla.spsolve_triangular(np.array([[0.0, 0.0], [1.0, 3.0]]), np.ones(2))
    for A in (S, L, U, sp.csr_array(np.diag(np.arange(1.0, 4.0)))):
        assert sla.is_sptriangular(A) == spl.is_sptriangular(sp.csr_array(A))
        assert sla.spbandwidth(A) == spl.spbandwidth(sp.csr_array(A))
    assert sla.spbandwidth(AD) == spl.spbandwidth(sp.csr_array(S))  # dense input too
    sla.use_solver(useUmfpack=False)
    with pytest.raises(TypeError, match="unexpected"):
        sla.use_solver(useUmfPack=False)


def test_bad_inputs():
    with pytest.raises(ValueError, match="square"):
        sla.spsolve(np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="`b`"):
        sla.spsolve(S, np.ones(N + 1))
    with pytest.raises(TypeError, match="LinearOperator"):
        sla.splu(sla.aslinearoperator(AD))
    with pytest.raises(ValueError, match="square"):
        sla.spilu(np.ones((2, 3)))
