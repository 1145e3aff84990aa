"""eigsh, eigs and svds against scipy.sparse.linalg (ARPACK): values, vectors, shift-invert, the
generalized problem, sparse inputs, jit, vmap, grad, float32, compile counts, bad and non-finite input."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from jax.experimental import sparse as jsparse

from scijax.solvers import linalg as sla
from scijax.solvers.linalg._arnoldi import priority as _priority

N = 16
_rng = np.random.default_rng(12)
_G = _rng.standard_normal((N, N))
A_SYM = _G + _G.T  # symmetric indefinite, simple spectrum
A_GEN = _rng.standard_normal((N, N))  # nonsymmetric
_B = _rng.standard_normal((N, N))
M_SPD = _B @ _B.T + N * np.eye(N)
A_RECT = _rng.standard_normal((N + 4, N - 4))

_COMPILES = [0, False]


def _on_event(event: str, duration: float, **kwargs) -> None:
    if _COMPILES[1] and event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_on_event)


@contextlib.contextmanager
def _count_compiles():
    _COMPILES[:] = [0, True]
    box = []
    try:
        yield box
    finally:
        _COMPILES[1] = False
        box.append(_COMPILES[0])


def _same_set(w, ref, rtol):
    """The same (complex) values, in any order."""
    dist = np.abs(np.asarray(w)[:, None] - np.asarray(ref)[None, :])
    assert np.all(dist.min(axis=0) <= rtol * np.abs(ref)) and np.all(dist.min(axis=1) <= rtol * np.abs(ref).max())


def _same_vectors(v, ref, tol):
    """Columns equal up to a unit (sign or phase) factor."""
    overlap = np.abs(np.sum(np.conj(np.asarray(v)) * ref, axis=0))
    np.testing.assert_allclose(overlap, 1.0, atol=tol)


K, NCV = 3, 8  # ncv < N: the restarts run
_eigsh_vals = jax.jit(lambda a: sla.eigsh(a, k=K, ncv=NCV, return_eigenvectors=False))
_eigsh_grads = jax.jit(lambda a: (jax.grad(lambda m: jnp.sum(sla.eigsh(m, k=K, ncv=NCV)[0]))(a),
                                  jax.grad(lambda m: jnp.sum(sla.eigsh(m, k=K, ncv=NCV)[1] ** 2))(a)))


def test_priority_orders_like_arpack():
    priority = jax.jit(_priority, static_argnums=1)  # one small program per `which`
    theta = jnp.asarray(np.linalg.eigvalsh(A_SYM))
    th = np.asarray(theta)
    expect = {"LM": np.argsort(-np.abs(th)), "SM": np.argsort(np.abs(th)), "LA": np.argsort(-th),
              "SA": np.argsort(th)}
    for which, order in expect.items():
        np.testing.assert_array_equal(np.asarray(priority(theta, which)), order)
    be = np.asarray(priority(theta, "BE"))[:5]  # top, bottom, 2nd top, 2nd bottom, 3rd top
    np.testing.assert_array_equal(be, [N - 1, 0, N - 2, 1, N - 3])
    z = jnp.asarray(np.linalg.eigvals(A_GEN))
    zn = np.asarray(z)
    assert abs(zn[int(priority(z, "LI")[0])].imag) == np.max(np.abs(zn.imag))  # real problem: |Im|
    assert zn[int(priority(z, "SR")[0])].real == np.min(zn.real)


def test_eigsh_matches_scipy_without_recompiling():
    w, v = sla.eigsh(A_SYM, k=K, ncv=NCV)  # the one compilation of this configuration
    w_ref, v_ref = spl.eigsh(A_SYM, k=K, ncv=NCV)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-12)
    _same_vectors(v, v_ref, 1e-10)
    np.testing.assert_allclose(np.asarray(v).T @ np.asarray(v), np.eye(K), atol=1e-12)
    with _count_compiles() as compiles:
        a2 = A_SYM + 0.5 * np.diag(np.arange(N))
        w2, _ = sla.eigsh(a2, k=K, ncv=NCV, v0=np.ones(N), tol=1e-12)
        np.testing.assert_allclose(w2, spl.eigsh(a2, k=K)[0], rtol=1e-10)
        # too few restarts: SciPy's exception, carrying only the converged pairs
        with pytest.raises(sla.ArpackNoConvergence) as err:
            sla.eigsh(A_SYM, k=K, ncv=NCV, maxiter=1)
        assert err.value.eigenvalues.shape[0] < K
        bad = A_SYM.copy()
        bad[2, 3] = bad[3, 2] = np.nan
        with pytest.raises(sla.ArpackNoConvergence):
            sla.eigsh(bad, k=K, ncv=NCV)
    assert compiles[0] == 0
    # scipy.sparse and BCOO input share one compilation
    S = sp.random(N, N, density=0.3, random_state=3, format="csr")
    S = S + S.T + 4 * sp.eye(N)
    ref = spl.eigsh(S, k=K, return_eigenvectors=False)
    np.testing.assert_allclose(sla.eigsh(S, k=K, return_eigenvectors=False), ref, rtol=1e-11)
    bcoo = jsparse.BCOO.from_scipy_sparse(S)
    np.testing.assert_allclose(sla.eigsh(bcoo, k=K, return_eigenvectors=False), ref, rtol=1e-11)


def test_eigsh_shift_invert_generalized():
    # A x = w M x nearest sigma: both spectral transformations in one run; M-orthonormal vectors
    w, v = sla.eigsh(A_SYM, k=K, M=M_SPD, sigma=0.3)
    w_ref, v_ref = spl.eigsh(A_SYM, k=K, M=M_SPD, sigma=0.3)
    np.testing.assert_allclose(w, w_ref, rtol=1e-11)
    _same_vectors(M_SPD @ np.asarray(v), v_ref, 1e-9)
    np.testing.assert_allclose(np.asarray(v).T @ M_SPD @ np.asarray(v), np.eye(K), atol=1e-10)
    np.testing.assert_allclose(A_SYM @ v, M_SPD @ v * np.asarray(w), atol=1e-9)
    # complex Hermitian (SciPy returns these in its complex driver's order: compare sorted)
    herm = A_SYM + 1j * (A_GEN - A_GEN.T)
    w = sla.eigsh(herm, k=K, ncv=NCV, return_eigenvectors=False)
    np.testing.assert_allclose(np.sort(w), np.sort(spl.eigsh(herm, k=K, ncv=NCV, return_eigenvectors=False)),
                               rtol=1e-11)


def test_eigsh_jit_vmap_grad_float32():
    mats = jnp.stack([A_SYM + 0.3 * i * np.diag(np.linspace(-1, 1, N)) for i in range(3)])
    batched = jax.vmap(_eigsh_vals)(mats)
    looped = jnp.stack([_eigsh_vals(m) for m in mats])
    np.testing.assert_allclose(batched, looped, rtol=1e-12)
    np.testing.assert_allclose(looped[1], spl.eigsh(np.asarray(mats[1]), k=K, return_eigenvectors=False),
                               rtol=1e-11)
    # NaN matrix under jit: NaN, not an answer
    bad = A_SYM.copy()
    bad[2, 3] = bad[3, 2] = np.nan
    assert np.all(np.isnan(_eigsh_vals(bad)))
    # d(sum w)/dA = sum v v^T (simple eigenvalues), and a direction D against central differences
    # (both gradients in one compiled program: eigenvalues, and eigenvectors, which are not provided)
    g, gv = _eigsh_grads(jnp.asarray(A_SYM))
    _, v_ref = spl.eigsh(A_SYM, k=K)
    np.testing.assert_allclose(g, v_ref @ v_ref.T, atol=1e-10)
    D = np.diag(np.linspace(0, 1, N)) + 0.1
    h = 1e-6
    fd = (np.sum(_eigsh_vals(A_SYM + h * D)) - np.sum(_eigsh_vals(A_SYM - h * D))) / (2 * h)
    np.testing.assert_allclose(np.sum(g * D), fd, rtol=1e-6)
    assert np.all(np.isnan(gv))  # eigenvector derivatives: NaN, never a plausible number
    w32 = sla.eigsh(A_SYM.astype(np.float32), k=K, tol=1e-5, return_eigenvectors=False)
    assert w32.dtype == jnp.float32
    np.testing.assert_allclose(w32, spl.eigsh(A_SYM, k=K, return_eigenvectors=False), rtol=1e-4)


def test_eigsh_bad_inputs():
    with pytest.raises(ValueError, match="k must be greater than 0"):
        sla.eigsh(A_SYM, k=0)
    with pytest.raises(TypeError, match="LinearOperator"):
        sla.eigsh(sla.aslinearoperator(A_SYM), k=N)
    with pytest.warns(RuntimeWarning, match="k >= N"):
        w = sla.eigsh(A_SYM, k=N, return_eigenvectors=False)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(A_SYM), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="ncv"):
        sla.eigsh(A_SYM, k=3, ncv=3)
    with pytest.raises(ValueError, match="which"):
        sla.eigsh(A_SYM, k=3, which="LR")
    with pytest.raises(NotImplementedError, match="mode"):
        sla.eigsh(A_SYM, k=3, sigma=1.0, mode="cayley")
    with pytest.raises(ValueError, match="v0"):
        sla.eigsh(A_SYM, k=3, v0=np.ones(3))
    with pytest.raises(ValueError, match="tol"):
        sla.eigsh(A_SYM, k=3, tol=-1.0)
    with pytest.raises(ValueError, match="square"):
        sla.eigsh(A_RECT, k=2)
    with pytest.raises(ValueError, match="which"):
        sla.eigs(A_GEN, k=3, which="LA")
    with pytest.raises(ValueError, match="ncv"):
        sla.eigs(A_GEN, k=3, ncv=4)
    with pytest.raises(ValueError, match="`k`"):
        sla.svds(A_RECT, k=N - 4)
    with pytest.raises(ValueError, match="solver"):
        sla.svds(A_RECT, k=2, solver="lapack")


def test_eigs_matches_scipy():
    w, v = sla.eigs(A_GEN, k=4)
    w_ref = spl.eigs(A_GEN, k=4, return_eigenvectors=False)
    _same_set(w, w_ref, 1e-10)
    np.testing.assert_allclose(A_GEN @ np.asarray(v), np.asarray(v) * np.asarray(w), atol=1e-9)
    ws = sla.eigs(A_GEN, k=3, sigma=0.2 + 0.1j, return_eigenvectors=False)
    ws_ref = spl.eigs(A_GEN, k=3, sigma=0.2 + 0.1j)[0]  # (SciPy's values-only path gives zeros here)
    _same_set(ws, ws_ref, 1e-10)
    # simple eigenvalues of a non-normal matrix: d w = u^H dA v / (u^H v), against central differences
    f = lambda a: jnp.sum(sla.eigs(a, k=4)[0].real)  # noqa: E731 -- the configuration compiled above
    g = jax.jit(jax.grad(f))(jnp.asarray(A_GEN))
    D = np.random.default_rng(2).standard_normal((N, N))
    h = 1e-6
    np.testing.assert_allclose(np.sum(np.asarray(g) * D), (f(A_GEN + h * D) - f(A_GEN - h * D)) / (2 * h), rtol=1e-6)


def test_svds_matches_scipy_and_gradient():
    u, s, vh = sla.svds(A_RECT, k=3)
    u_ref, s_ref, vh_ref = spl.svds(A_RECT, k=3)
    np.testing.assert_allclose(s, s_ref, rtol=1e-11)
    np.testing.assert_allclose((np.asarray(u) * np.asarray(s)) @ np.asarray(vh), (u_ref * s_ref) @ vh_ref,
                               atol=1e-10)
    # d(sum s)/dA = sum u v^T (simple singular values)
    g = jax.jit(jax.grad(lambda a: jnp.sum(sla.svds(a, k=3, return_singular_vectors=False))))(jnp.asarray(A_RECT))
    np.testing.assert_allclose(g, u_ref @ vh_ref, atol=1e-9)


def test_lobpcg_matches_scipy():
    n = 5 * 3 + 5  # JAX's LOBPCG needs 5 k < N
    g = np.random.default_rng(3).standard_normal((n, n))
    a = g + g.T
    x0 = np.random.default_rng(4).standard_normal((n, 3))
    for largest in (True, False):
        w, v = sla.lobpcg(a, x0, largest=largest, maxiter=200)
        w_ref, v_ref = spl.lobpcg(a, x0, largest=largest, maxiter=200)
        np.testing.assert_allclose(w, w_ref, rtol=1e-9)
        _same_vectors(v, v_ref, 1e-7)
    g_a = jax.jit(jax.grad(lambda m: jnp.sum(sla.lobpcg(m, x0, maxiter=200)[0])))(jnp.asarray(a))
    v_top = np.linalg.eigh(a)[1][:, -3:]  # (SciPy's lobpcg vectors stop at its tolerance n sqrt(eps))
    np.testing.assert_allclose(g_a, v_top @ v_top.T, atol=1e-10)
    with pytest.warns(UserWarning, match="Exited"):  # tol=0 never converges (same compilation)
        sla.lobpcg(a, x0, maxiter=200, tol=0.0)
    with pytest.raises(NotImplementedError, match="`B`"):
        sla.lobpcg(a, x0, B=np.eye(n))
    with pytest.raises(ValueError, match="5 k < N"):
        sla.lobpcg(a, np.ones((n, 4)))


def test_laplacian_nd_matches_scipy():
    for bc in ("dirichlet", "neumann", "periodic"):
        L = sla.LaplacianNd((3, 2), boundary_conditions=bc)
        R = spl.LaplacianNd((3, 2), boundary_conditions=bc)
        dense = np.asarray(L.toarray())
        assert dense.dtype == R.toarray().dtype
        np.testing.assert_array_equal(dense, R.toarray())
        np.testing.assert_allclose(L.eigenvalues(), R.eigenvalues(), atol=1e-12)
        lam, V = np.asarray(L.eigenvalues(3)), np.asarray(L.eigenvectors(3))
        np.testing.assert_allclose(lam, R.eigenvalues(3), atol=1e-12)
        np.testing.assert_allclose(dense @ V, V * lam, atol=1e-12)  # a unit eigenbasis (ties: any basis)
        np.testing.assert_allclose(V.T @ V, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(L.matvec(np.arange(6.0)), R.matvec(np.arange(6.0)), atol=1e-14)
    np.testing.assert_array_equal(np.asarray(L.tosparse().todense()), R.toarray())
    with pytest.raises(ValueError, match="boundary_conditions"):
        sla.LaplacianNd((3,), boundary_conditions="robin")
