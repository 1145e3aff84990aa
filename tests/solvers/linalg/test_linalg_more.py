"""The remaining scipy.linalg names (matrix functions, rq/qz-free decompositions, QR updates, special
matrices, structure queries) against SciPy on tiny inputs, plus jit/vmap/grad/float32/no-recompile/bad-input
checks on a few shared compiles."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl

from scijax.solvers import linalg as ours
from scijax.solvers.linalg import _matfuncs

RNG = np.random.default_rng(7)
A3 = RNG.standard_normal((3, 3)) + 3 * np.eye(3)  # eigenvalues near 3: real principal logarithm
B3 = RNG.standard_normal((3, 3))
C3 = A3 + 0.5j * RNG.standard_normal((3, 3))
NEG = np.array([[-1.0, 2.0, 0.0], [0.0, 2.0, 1.0], [0.0, 0.0, 3.0]])  # a negative eigenvalue: complex log
E3 = RNG.standard_normal((3, 3))
M43 = RNG.standard_normal((4, 3))
BAND = RNG.standard_normal((2, 4))
D4, E4 = RNG.standard_normal(4), RNG.standard_normal(3)
W, V = np.linalg.eig(np.array([[1.0, 2.0, 0.0], [-3.0, 1.0, 0.0], [0.0, 0.0, 5.0]]))
SCALED = np.diag([1e-3, 1.0, 1e3]) @ B3 @ np.diag([1e3, 1.0, 1e-3])
SYM = B3 + B3.T


def _absfirst(out):
    """``rq``'s factors are unique up to signs: compare magnitudes."""
    return tuple(np.abs(np.asarray(x)) for x in out)


# (label, our call, SciPy call, rtol). Tolerances: 1e-10 relative for backward-stable O(n^3) algorithms on
# well-conditioned 3x3 inputs (errors seen ~1e-14); iterative matrix functions agree to ~1e-13.
CASES = [
    ("logm", lambda m: m.logm(A3), 1e-10),
    ("logm-complex", lambda m: m.logm(C3), 1e-10),
    ("logm-negative-eigenvalue", lambda m: m.logm(NEG), 1e-8),
    ("signm", lambda m: m.signm(B3), 1e-10),
    ("fractional_matrix_power", lambda m: m.fractional_matrix_power(A3, 0.3), 1e-10),
    ("fractional_matrix_power-int", lambda m: m.fractional_matrix_power(A3, -2), 1e-10),
    *[(f, (lambda f: lambda m: getattr(m, f)(B3))(f), 1e-10) for f in ("sinm", "cosm", "tanm", "sinhm", "coshm",
                                                                        "tanhm")],
    ("cosm-complex", lambda m: m.cosm(C3), 1e-10),
    ("signm-batched", lambda m: m.signm(np.stack([B3, B3.T])), 1e-10),
    ("expm_frechet-SPS", lambda m: m.expm_frechet(B3, E3), 1e-10),
    ("expm_frechet-block", lambda m: m.expm_frechet(B3, E3, method="blockEnlarge", compute_expm=False), 1e-10),
    ("expm_cond", lambda m: m.expm_cond(B3), 1e-10),
    ("rq", lambda m: _absfirst(m.rq(M43.T)), 1e-10),
    ("rq-economic", lambda m: _absfirst(m.rq(M43, mode="economic")), 1e-10),
    ("rq-batched", lambda m: _absfirst(m.rq(np.stack([A3, B3]))), 1e-10),
    ("cdf2rdf", lambda m: m.cdf2rdf(W, V), 1e-12),
    ("cdf2rdf-batched", lambda m: m.cdf2rdf(*np.linalg.eig(np.stack([B3, B3.T + A3]))), 1e-12),
    ("matrix_balance", lambda m: m.matrix_balance(SCALED, permute=False, separate=True), 1e-12),
    ("matrix_balance-permute", lambda m: m.matrix_balance(np.triu(SCALED, -1) * (np.arange(3) != 1)), 1e-12),
    ("matrix_balance-batched", lambda m: m.matrix_balance(np.stack([SCALED, SCALED.T])), 1e-12),
    ("eig_banded-values", lambda m: m.eig_banded(BAND, lower=True)[0], 1e-10),
    ("eigvals_banded-index", lambda m: m.eigvals_banded(BAND, select="i", select_range=(1, 2)), 1e-10),
    ("eigvals_banded-value", lambda m: m.eigvals_banded(BAND, select="v", select_range=(-1.0, 1.0)), 1e-10),
    ("eigvalsh_tridiagonal", lambda m: m.eigvalsh_tridiagonal(D4, E4), 1e-10),
    ("orthogonal_procrustes", lambda m: m.orthogonal_procrustes(M43, M43 @ sl.expm(B3 - B3.T)), 1e-10),
    ("subspace_angles", lambda m: m.subspace_angles(M43, M43[:, :2] + 1e-6 * M43[:, 2:]), 1e-8),
    ("khatri_rao", lambda m: m.khatri_rao(M43, M43[:2]), 1e-15),
    ("diagsvd", lambda m: m.diagsvd(D4[:3], 3, 5), 0),
    ("matmul_toeplitz", lambda m: m.matmul_toeplitz((D4, E4), M43[:3]), 1e-12),
    ("solve_lyapunov", lambda m: m.solve_lyapunov(-A3, SYM), 1e-10),
    ("issymmetric", lambda m: (m.issymmetric(SYM), m.issymmetric(B3), m.issymmetric(SYM + 1e-12, atol=1e-9)), 0),
    ("ishermitian", lambda m: (m.ishermitian(SYM + 1j * (B3 - B3.T)), m.ishermitian(C3)), 0),
    ("bandwidth", lambda m: m.bandwidth(np.triu(np.tril(M43, 1), -2)), 0),
]
EXACT = [("pascal", (5, "symmetric")), ("pascal", (4, "lower", False)), ("invpascal", (5, "upper")),
         ("invpascal", (6,)), ("invhilbert", (5,)), ("invhilbert", (6, True))]


@pytest.mark.parametrize(("label", "call", "rtol"), CASES, ids=[c[0] for c in CASES])
def test_matches_scipy(label, call, rtol):
    got, want = call(ours), call(sl)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape
        assert np.iscomplexobj(w) or not np.iscomplexobj(g)  # a real SciPy result is real here too
        if np.iscomplexobj(w) and np.max(np.abs(w.imag), initial=0) > 1e-8:  # SciPy may keep a real result complex
            assert np.iscomplexobj(g)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(w), initial=0))))


@pytest.mark.parametrize(("name", "args"), EXACT, ids=[f"{n}{a}" for n, a in EXACT])
def test_integer_matrices_exact(name, args):
    got, want = getattr(ours, name)(*args), getattr(sl, name)(*args)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.asarray(got), want)


def _check_qr(q, r, target, ref_r):
    q, r = np.asarray(q), np.asarray(r)
    np.testing.assert_allclose(q @ r, target, atol=1e-12)
    np.testing.assert_allclose(q.conj().T @ q, np.eye(q.shape[1]), atol=1e-12)
    np.testing.assert_allclose(np.tril(r, -1), 0, atol=1e-12)
    np.testing.assert_allclose(np.abs(r), np.abs(ref_r), atol=1e-12)  # R is unique up to row signs


def test_qr_updates_against_scipy():
    q, r = np.linalg.qr(M43, mode="complete")  # real, full Q: rank-k update (shared with the vmap/grad test)
    u, v = RNG.standard_normal((4, 2)), RNG.standard_normal((3, 2))
    twice = sl.qr_update(*sl.qr_update(q, r, u[:, 0], v[:, 0]), u[:, 1], v[:, 1])  # SciPy's rank-2 path fails here
    _check_qr(*ours.qr_update(q, r, u, v), M43 + u @ v.T, twice[1])
    a = M43 + 0.5j * RNG.standard_normal((4, 3))  # complex, full Q: inserts and deletes
    q, r = sl.qr(a)
    row = a[1] + 1
    for k in (0, 2, 4):
        _check_qr(*ours.qr_insert(q, r, row, k), np.insert(a, k, row, axis=0), sl.qr_insert(q, r, row, k)[1])
    _check_qr(*ours.qr_delete(q, r, 1, 1, "col"), a[:, [0, 2]], sl.qr_delete(q, r, 1, 1, "col")[1])
    _check_qr(*ours.qr_delete(q, r, 1, 2), np.delete(a, [1, 2], axis=0), sl.qr_delete(q, r, 1, 2)[1])
    qe, re = sl.qr(M43, mode="economic")  # real, economic Q: the bordered insert (a column in range(Q) too)
    for new in (u[:, 0], M43[:, 0]):
        _check_qr(*ours.qr_insert(qe, re, new, 3, "col"), np.insert(M43, 3, new, axis=1),
                  sl.qr_insert(qe, re, new, 3, "col")[1])
    with pytest.raises(ValueError, match="`Q`"):
        ours.qr_delete(qe, re, 1)


def _fd(f, x, direction, h=1e-6):
    return (f(x + h * direction) - f(x - h * direction)) / (2 * h)


def test_jit_vmap_grad_match_loop_and_finite_differences():
    """One compile each: jit(vmap(value_and_grad)) against eager values and central differences."""
    logm_loss = lambda a: jnp.sum(B3 * ours.logm(a))  # noqa: E731  (reverse mode: the Frechet derivative)
    stack = np.stack([A3, A3.T + 0.1 * B3, NEG, np.full((3, 3), np.nan)])
    values, grads = jax.jit(jax.vmap(jax.value_and_grad(logm_loss)))(stack)
    for x, value, grad in zip(stack[:2], values, grads, strict=False):
        np.testing.assert_allclose(value, logm_loss(x), rtol=1e-12)
        np.testing.assert_allclose(jnp.vdot(grad, E3), _fd(logm_loss, x, E3), rtol=1e-6)
    assert np.all(np.isnan(values[2:]))  # traced real input with a complex logarithm, or NaN input: NaN

    q, r = np.linalg.qr(M43, mode="complete")
    qr_loss = lambda uv: jnp.sum(M43 * ours.qr_update(q, r, uv[:, 0], uv[:3, 1])[1])  # noqa: E731
    uvs = RNG.standard_normal((2, 4, 2))
    values, grads = jax.jit(jax.vmap(jax.value_and_grad(qr_loss)))(uvs)
    for uv, value, grad in zip(uvs, values, grads, strict=True):
        np.testing.assert_allclose(value, qr_loss(uv), rtol=1e-12)
        np.testing.assert_allclose(jnp.vdot(grad, uvs[0]), _fd(qr_loss, uv, uvs[0]), rtol=1e-6)


def test_float32_follows_input():
    a = A3.astype(np.float32)
    for f, ref, tol in [(ours.logm, sl.logm, 1e-4)]:
        got = f(a)
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(np.abs(got), np.abs(ref(A3)), rtol=tol, atol=tol)


def test_new_values_do_not_recompile():
    ours.logm(A3)
    before = _matfuncs._logm._cache_size()
    ours.logm(A3 + 0.5)
    ours.logm(A3.T)
    assert _matfuncs._logm._cache_size() == before


@pytest.mark.parametrize(("call", "name"), [
    (lambda: ours.logm(np.ones((2, 3))), "`A`"),
    (lambda: ours.logm(np.full((3, 3), np.inf)), "`A`"),
    (lambda: ours.expm_frechet(A3, E3, method="Pade"), "`method`"),
    (lambda: ours.expm_frechet(A3, E3[:2, :2]), "`A` and `E`"),
    (lambda: ours.fractional_matrix_power(A3, np.ones(2)), "`t`"),
    (lambda: ours.rq(A3, mode="raw"), "`mode`"),
    (lambda: ours.matrix_balance(M43), "`A`"),
    (lambda: ours.cdf2rdf(W, V[:2]), "`v`"),
    (lambda: ours.eig_banded(BAND, select="x"), "`select`"),
    (lambda: ours.eigvals_banded(BAND, select="i"), "`select_range`"),
    (lambda: ours.eigvalsh_tridiagonal(D4, E4, lapack_driver="geev"), "`lapack_driver`"),
    (lambda: ours.orthogonal_procrustes(M43, A3), "`A` and `B`"),
    (lambda: ours.subspace_angles(M43, A3[:2]), "`A` and `B`"),
    (lambda: ours.khatri_rao(M43, A3[:, :2]), "`a`"),
    (lambda: ours.diagsvd(D4, 2, 3), "`s`"),
    (lambda: ours.matmul_toeplitz((D4, E4), D4), "`x`"),
    (lambda: ours.issymmetric(M43), "`a`"),
    (lambda: ours.pascal(3, kind="diag"), "`kind`"),
    (lambda: ours.invhilbert(20, exact=True), "`n`"),
    (lambda: ours.qr_update(*np.linalg.qr(A3), D4, D4[:3]), "`u`"),
    (lambda: ours.qr_insert(*np.linalg.qr(A3), D4[:3], 9), "`k`"),
    (lambda: ours.qr_delete(*np.linalg.qr(A3), 0, which="diag"), "`which`"),
])
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
