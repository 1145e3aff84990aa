"""Decompositions, pseudo-inverses, structured solves and matrix equations against SciPy.

Matrices are small, random and well conditioned (fixed seeds); float64 results are compared to
SciPy's at a few hundred ulps of the problem's scale, gradients to central differences of SciPy's
own solution (step 1e-6, so about 1e-8 relative agreement is all a difference quotient gives).
"""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl
from scipy.linalg import LinAlgError

import scijax.solvers.linalg as L
from scijax.solvers.linalg import _decomp, _decomp_extra, _ldl, _matrix_eq, _reexport, _riccati, _structured

RNG = np.random.default_rng(12)
N, M = 5, 2
A = RNG.standard_normal((N, N))
A_RECT = RNG.standard_normal((6, 4))
SPD = A.T @ A + N * np.eye(N)
B = RNG.standard_normal((N, M))
Q = np.eye(N) + 0.1 * np.ones((N, N))
R = np.array([[2.0, 0.3], [0.3, 1.0]])
E = np.eye(N) + 0.1 * RNG.standard_normal((N, N))
S = 0.1 * RNG.standard_normal((N, M))
W = RNG.standard_normal((N, N))
TOL = 1e-12


def close(x, y, tol=TOL):
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == y.shape, (x.shape, y.shape)
    np.testing.assert_allclose(x, y, atol=tol * max(1.0, np.abs(y).max()), rtol=0)


def central_diff(f, x, eps=1e-6, sym=False):
    out = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        d = np.zeros(x.shape)
        d[idx] = eps
        if sym:
            d = d + d.T - np.diag(np.diag(d))
        out[idx] = (f(x + d) - f(x - d)) / (2 * eps)
    return out


def unit_phase(v):
    """Columns scaled to unit norm and a real, positive largest entry (eigenvectors up to phase)."""
    v = np.asarray(v, complex)
    v = v / np.linalg.norm(v, axis=0)
    k = np.argmax(np.abs(v), axis=0)
    ph = v[k, np.arange(v.shape[1])]
    return v / (ph / np.abs(ph))


# ---------------------------------------------------------------- re-exports and thin wrappers


def test_reexports_match_scipy():
    close(L.det(A), sl.det(A))
    close(L.cholesky(SPD), sl.cholesky(SPD))
    close(L.cholesky(SPD, lower=True), sl.cholesky(SPD, lower=True))
    q, r = L.qr(A_RECT, mode="economic")
    close(np.abs(r), np.abs(sl.qr(A_RECT, mode="economic")[1]))
    close(q @ r, A_RECT)
    c = RNG.standard_normal((6, 3))
    cq, rr = L.qr_multiply(A_RECT, c.T, mode="right")
    cq_s, rr_s = sl.qr_multiply(A_RECT, c.T, mode="right")
    close(np.abs(cq), np.abs(cq_s))
    close(L.svd(A, compute_uv=False), sl.svd(A, compute_uv=False))
    u, p = L.polar(A)
    u_s, p_s = sl.polar(A)
    close(u, u_s, 1e-10)
    close(p, p_s, 1e-10)
    close(L.expm(A / 3), sl.expm(A / 3))
    t, z = sl.schur(A)
    tc, zc = L.rsf2csf(t, z)
    close(zc @ tc @ zc.conj().T, A)


def test_lu_matches_scipy_all_forms():
    p, l_, u = L.lu(A)
    ps, ls, us = sl.lu(A)
    close(p, ps)
    close(l_, ls)
    close(u, us)
    perm, l_, u = L.lu(A, p_indices=True)
    np.testing.assert_array_equal(perm, sl.lu(A, p_indices=True)[0])
    close(l_[perm] @ u, A)
    pl, u = L.lu(A_RECT, permute_l=True)
    close(pl, sl.lu(A_RECT, permute_l=True)[0])


def test_schur_and_hessenberg():
    t, z = L.schur(A)
    close(z @ t @ z.T, A)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(t)), np.sort_complex(np.linalg.eigvals(A)))
    t, z = L.schur(A, "complex")
    close(z @ t @ z.conj().T, A)
    assert np.abs(np.tril(t, -1)).max() == 0
    with pytest.raises(NotImplementedError, match="sort"):
        L.schur(A, sort="lhp")
    h, q = L.hessenberg(A, True)
    hs, qs = sl.hessenberg(A, True)
    close(np.abs(h), np.abs(hs))
    close(q @ h @ q.T, A)


def test_eigh_standard_generalized_and_subsets():
    w, v = L.eigh(SPD - 3 * np.eye(N))
    ws, vs = sl.eigh(SPD - 3 * np.eye(N))
    close(w, ws)
    close(np.abs(v), np.abs(vs), 1e-10)
    for type_ in (1, 2, 3):
        w, v = L.eigh(A + A.T, SPD, type=type_)
        ws, vs = sl.eigh(A + A.T, SPD, type=type_)
        close(w, ws, 1e-11)
        close(np.abs(v), np.abs(vs), 1e-10)
    upper = np.triu(A + A.T) + 100 * np.tril(np.ones((N, N)), -1)  # the lower triangle is garbage
    close(L.eigh(upper, lower=False, eigvals_only=True), sl.eigh(upper, lower=False, eigvals_only=True))
    close(L.eigvalsh(A + A.T, subset_by_index=[1, 3]), sl.eigvalsh(A + A.T, subset_by_index=[1, 3]))
    close(L.eigvalsh(A + A.T, subset_by_value=[-1, 2]), sl.eigvalsh(A + A.T, subset_by_value=[-1, 2]))
    with pytest.raises(ValueError, match="subset_by_value"):
        jax.jit(lambda a: L.eigvalsh(a, subset_by_value=[-1, 2]))(A + A.T)


def test_eigh_tridiagonal():
    d, e = RNG.standard_normal(N), RNG.standard_normal(N - 1)
    close(L.eigh_tridiagonal(d, e, eigvals_only=True), sl.eigh_tridiagonal(d, e, eigvals_only=True), 1e-11)
    w, v = L.eigh_tridiagonal(d, e)
    ws, vs = sl.eigh_tridiagonal(d, e)
    close(w, ws, 1e-11)
    close(np.abs(v), np.abs(vs), 1e-10)
    close(L.eigh_tridiagonal(d, e, True, "i", (1, 2)), sl.eigh_tridiagonal(d, e, True, "i", (1, 2)), 1e-11)


# ---------------------------------------------------------------- spectral helpers


def test_pinv_pinvh_svdvals():
    close(L.pinv(A_RECT), sl.pinv(A_RECT))
    low_rank = A_RECT[:, :2] @ RNG.standard_normal((2, 4))
    out, rank = L.pinv(low_rank, return_rank=True)
    out_s, rank_s = sl.pinv(low_rank, return_rank=True)
    close(out, out_s, 1e-10)
    assert int(rank) == rank_s == 2
    close(L.pinv(A_RECT, atol=1.0, rtol=0.1), sl.pinv(A_RECT, atol=1.0, rtol=0.1))
    sym = low_rank.T @ low_rank
    close(L.pinvh(sym), sl.pinvh(sym), 1e-10)
    close(L.pinvh(A + A.T), sl.pinvh(A + A.T))
    close(L.svdvals(A_RECT), sl.svdvals(A_RECT))
    with pytest.raises(ValueError, match="positive"):
        L.pinv(A, atol=-1.0)


def test_null_space_and_orth_eager_and_jit():
    low_rank = RNG.standard_normal((4, 2)) @ RNG.standard_normal((2, 5))
    z, zs = L.null_space(low_rank), sl.null_space(low_rank)
    assert z.shape == zs.shape == (5, 3)
    close(z @ z.T, zs @ zs.T)  # same subspace (projector)
    o, os_ = L.orth(low_rank), sl.orth(low_rank)
    assert o.shape == os_.shape == (4, 2)
    close(o @ o.T, os_ @ os_.T)
    zj = jax.jit(L.null_space)(low_rank)  # fixed shape, NaN past the rank
    assert zj.shape == (5, 5)
    close(zj[:, :3], z)
    assert np.isnan(zj[:, 3:]).all()


def test_eig_and_eigvals():
    w, vl, vr = L.eig(A, left=True)
    ws, vls, vrs = sl.eig(A, left=True)
    order, order_s = np.argsort(np.asarray(w)), np.argsort(ws)
    close(np.asarray(w)[order], ws[order_s])
    close(unit_phase(np.asarray(vr)[:, order]), unit_phase(vrs[:, order_s]), 1e-10)
    close(unit_phase(np.asarray(vl)[:, order]), unit_phase(vls[:, order_s]), 1e-10)
    w, vl, vr = L.eig(A, SPD, left=True)
    ws = sl.eigvals(A, SPD)
    close(np.sort_complex(np.asarray(w)), np.sort_complex(ws), 1e-11)
    close(A @ vr, SPD @ vr * w[None, :], 1e-11)
    close(vl.conj().T @ A, w[:, None] * (vl.conj().T @ SPD), 1e-11)
    close(np.sort_complex(np.asarray(L.eigvals(A))), np.sort_complex(sl.eigvals(A)))
    hw = L.eigvals(A, homogeneous_eigvals=True)
    assert hw.shape == (2, N)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("kind", ["real", "hermitian", "complex symmetric", "zero diagonal"])
def test_ldl_matches_scipy(kind, lower):
    rng = np.random.default_rng(len(kind))
    a = rng.standard_normal((6, 6)) + (1j * rng.standard_normal((6, 6)) if "complex" in kind or kind == "hermitian"
                                       else 0)
    a = a + (a.T if kind == "complex symmetric" else a.conj().T)
    if kind == "zero diagonal":
        np.fill_diagonal(a, 0.0)  # forces 2x2 pivots
    herm = kind != "complex symmetric"
    lu, d, perm = L.ldl(a, lower=lower, hermitian=herm)
    lu_s, d_s, perm_s = sl.ldl(a, lower=lower, hermitian=herm)
    close(lu, lu_s)
    close(d, d_s)
    np.testing.assert_array_equal(perm, perm_s)
    close(lu @ d @ (lu.conj().T if herm else lu.T), a)


# ---------------------------------------------------------------- structured


def band_storage(a, u, lower):
    n = a.shape[0]
    ab = np.zeros((u + 1, n))
    for k in range(u + 1):
        if lower:
            ab[k, : n - k] = np.diagonal(a, -k)
        else:
            ab[k, u - k:] = np.diagonal(a, u - k)
    return ab


BANDED = np.diag(np.full(N, 4.0)) + np.diag(RNG.standard_normal(N - 1), 1) + np.diag(RNG.standard_normal(N - 2), 2)
BANDED = np.triu(BANDED) + np.triu(BANDED, 1).T


@pytest.mark.parametrize("lower", [False, True])
def test_banded_cholesky_family(lower):
    ab = band_storage(BANDED, 2, lower)
    rhs = RNG.standard_normal((N, 2))
    close(L.cholesky_banded(ab, lower=lower), sl.cholesky_banded(ab, lower=lower))
    close(L.solveh_banded(ab, rhs, lower=lower), sl.solveh_banded(ab, rhs, lower=lower))
    cb = sl.cholesky_banded(ab, lower=lower)
    close(L.cho_solve_banded((cb, lower), rhs[:, 0]), sl.cho_solve_banded((cb, lower), rhs[:, 0]))


def test_solve_circulant():
    c = RNG.standard_normal(N)
    c[0] = 5
    rhs = RNG.standard_normal((N, 3))
    close(L.solve_circulant(c, rhs), sl.solve_circulant(c, rhs))
    cs = RNG.standard_normal((3, N))
    cs[:, 0] = 5
    close(L.solve_circulant(cs, rhs.T, baxis=1, caxis=1, outaxis=1),
          sl.solve_circulant(cs, rhs.T.copy(), baxis=1, caxis=1, outaxis=1))
    singular = np.ones(4)
    with pytest.raises(LinAlgError):
        L.solve_circulant(singular, np.arange(4.0))
    close(L.solve_circulant(singular, np.arange(4.0), singular="lstsq"),
          sl.solve_circulant(singular, np.arange(4.0), singular="lstsq"))
    assert np.isnan(jax.jit(L.solve_circulant)(singular, np.arange(4.0))).all()


TOE_C = np.concatenate([[6.0], RNG.standard_normal(7)])
TOE_R = np.concatenate([[6.0], RNG.standard_normal(7)])
TOE_B = RNG.standard_normal((8, 2))


def test_solve_toeplitz():
    close(L.solve_toeplitz((TOE_C, TOE_R), TOE_B), sl.solve_toeplitz((TOE_C, TOE_R), TOE_B))
    close(L.solve_toeplitz(TOE_C, TOE_B[:, 0]), sl.solve_toeplitz(TOE_C, TOE_B[:, 0]))
    cc = TOE_C + 0.5j * np.concatenate([[0.0], RNG.standard_normal(7)])
    close(L.solve_toeplitz(cc, TOE_B), sl.solve_toeplitz(cc, TOE_B))


def test_solve_toeplitz_grad_vs_finite_differences():
    wt = RNG.standard_normal(TOE_B.shape)

    def ours(c, r):
        return jnp.sum(wt * L.solve_toeplitz((c, r), TOE_B))

    gc, gr = jax.grad(ours, argnums=(0, 1))(TOE_C, TOE_R)
    close(gc, central_diff(lambda c: np.sum(wt * sl.solve_toeplitz((c, TOE_R), TOE_B)), TOE_C), 1e-8)
    close(gr, central_diff(lambda r: np.sum(wt * sl.solve_toeplitz((TOE_C, r), TOE_B)), TOE_R), 1e-8)


# ---------------------------------------------------------------- matrix equations


def test_sylvester_and_lyapunov():
    bb = RNG.standard_normal((3, 3)) + 4 * np.eye(3)
    qq = RNG.standard_normal((N, 3))
    close(L.solve_sylvester(A, bb, qq), sl.solve_sylvester(A, bb, qq))
    close(L.solve_continuous_lyapunov(A, Q), sl.solve_continuous_lyapunov(A, Q))
    a_c = A + 1j * RNG.standard_normal((N, N))
    close(L.solve_continuous_lyapunov(a_c, Q), sl.solve_continuous_lyapunov(a_c, Q))
    for method in (None, "direct", "bilinear"):
        close(L.solve_discrete_lyapunov(A / 4, Q, method), sl.solve_discrete_lyapunov(A / 4, Q, method))
    big = RNG.standard_normal((11, 11)) / 8
    close(L.solve_discrete_lyapunov(big, np.eye(11)), sl.solve_discrete_lyapunov(big, np.eye(11)))


def test_lyapunov_grad_vs_finite_differences():
    ga, gq = jax.grad(lambda a, q: jnp.sum(W * L.solve_continuous_lyapunov(a, q)), argnums=(0, 1))(A, Q)
    close(ga, central_diff(lambda a: np.sum(W * sl.solve_continuous_lyapunov(a, Q)), A), 1e-8)
    close(gq, central_diff(lambda q: np.sum(W * sl.solve_continuous_lyapunov(A, q)), Q), 1e-8)


def test_stable_engines():
    stable = A - 4 * np.eye(N)
    c = RNG.standard_normal((N, N))
    y = _matrix_eq.stable_sylvester(stable.T, stable, c)
    close(stable.T @ y + y @ stable, c, 1e-11)
    contr = A / (1.5 * np.abs(np.linalg.eigvals(A)).max())
    y = _matrix_eq.stable_stein(contr.T, contr, c)
    close(contr.T @ y @ contr - y, c, 1e-11)


ARE_CASES = [{}, {"e": E, "s": S}]  # e and s enter through independent reductions; both run in "e+s"


@pytest.mark.parametrize("kw", ARE_CASES, ids=["plain", "e+s"])
@pytest.mark.parametrize("ours,theirs", [(L.solve_continuous_are, sl.solve_continuous_are),
                                         (L.solve_discrete_are, sl.solve_discrete_are)], ids=["care", "dare"])
def test_riccati_matches_scipy(ours, theirs, kw):
    close(ours(A, B, Q, R, **kw), theirs(A, B, Q, R, **kw), 1e-11)


@pytest.mark.parametrize("ours,theirs", [(L.solve_continuous_are, sl.solve_continuous_are),
                                         (L.solve_discrete_are, sl.solve_discrete_are)], ids=["care", "dare"])
def test_riccati_without_stabilising_solution_is_nan(ours, theirs):
    a = np.diag([2.0, -0.5])  # the unstable first mode is not controllable from b
    b = np.array([[0.0], [1.0]])
    with pytest.raises(LinAlgError):
        theirs(a, b, np.eye(2), np.eye(1))
    assert np.isnan(ours(a, b, np.eye(2), np.eye(1))).all()


def test_riccati_complex():
    a = A + 0.3j * W
    b = B + 0.2j * S
    close(L.solve_discrete_are(a, b, Q, R), sl.solve_discrete_are(a, b, Q, R), 1e-10)
    close(L.solve_continuous_are(a, b, Q, R), sl.solve_continuous_are(a, b, Q, R), 1e-10)


@pytest.mark.parametrize("ours,theirs", [(L.solve_continuous_are, sl.solve_continuous_are),
                                         (L.solve_discrete_are, sl.solve_discrete_are)], ids=["care", "dare"])
def test_riccati_grad_vs_finite_differences(ours, theirs):
    def loss(a, b, q, r):
        return jnp.sum(W * ours(a, b, q, (r + r.T) / 2))

    ga, gb, gq, gr = jax.grad(loss, argnums=(0, 1, 2, 3))(A, B, Q, R)
    # Central differences of SciPy's solution (error ~1e-14 |X|) at step 1e-6 are good to ~1e-8 |X|.
    tol = 3e-6
    close(ga, central_diff(lambda a: np.sum(W * theirs(a, B, Q, R)), A), tol)
    close(gb, central_diff(lambda b: np.sum(W * theirs(A, b, Q, R)), B), tol)
    gq_sym = gq + gq.T - np.diag(np.diag(gq))
    close(gq_sym, central_diff(lambda q: np.sum(W * theirs(A, B, q, R)), Q, sym=True), tol)
    gr_sym = gr + gr.T - np.diag(np.diag(gr))
    close(gr_sym, central_diff(lambda r: np.sum(W * theirs(A, B, Q, r)), R, sym=True), tol)


def test_pinv_grad_vs_finite_differences():
    wt = RNG.standard_normal((4, 6))
    g = jax.grad(lambda a: jnp.sum(wt * L.pinv(a)))(A_RECT)
    close(g, central_diff(lambda a: np.sum(wt * sl.pinv(a)), A_RECT), 1e-8)
    g = jax.grad(lambda a: jnp.sum(W * L.pinvh(a)))(SPD)
    gs = central_diff(lambda a: np.sum(W * sl.pinvh(a)), SPD)  # pinvh reads the lower triangle
    close(np.tril(g + np.triu(g, 1).T), np.tril(gs), 1e-8)


# ---------------------------------------------------------------- transformations


def test_jit_and_no_recompile():
    care = jax.jit(L.solve_continuous_are)
    close(care(A, B, Q, R), sl.solve_continuous_are(A, B, Q, R), 1e-11)
    care(A + 0.1, B, Q, R)
    toe = jax.jit(L.solve_toeplitz)
    close(toe((TOE_C, TOE_R), TOE_B), sl.solve_toeplitz((TOE_C, TOE_R), TOE_B))
    toe((TOE_C * 1.1, TOE_R), TOE_B)
    pinv = jax.jit(L.pinv)
    pinv(A_RECT)
    pinv(A_RECT + 1)
    assert care._cache_size() == toe._cache_size() == pinv._cache_size() == 1


def test_vmap_matches_loop():
    scales = np.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda s: L.solve_continuous_are(A * s, B, Q, R))(scales)
    for s, x in zip(scales, batched, strict=True):
        close(x, sl.solve_continuous_are(A * s, B, Q, R), 1e-11)
    batched = jax.vmap(lambda s: L.solve_discrete_are(A * s, B, Q, R))(scales)
    for s, x in zip(scales, batched, strict=True):
        close(x, sl.solve_discrete_are(A * s, B, Q, R), 1e-11)
    cs = np.stack([TOE_C * s for s in scales])
    batched = jax.vmap(lambda c: L.solve_toeplitz((c, TOE_R), TOE_B))(cs)
    for c, x in zip(cs, batched, strict=True):
        close(x, sl.solve_toeplitz((c, TOE_R), TOE_B))
    mats = np.stack([A_RECT * s for s in scales])
    close(jax.vmap(L.pinv)(mats), np.stack([sl.pinv(m) for m in mats]))
    close(jax.vmap(lambda a: L.solve_continuous_lyapunov(a, Q))(np.stack([A * s for s in scales])),
          np.stack([sl.solve_continuous_lyapunov(A * s, Q) for s in scales]))


def test_float32():
    f32 = np.float32
    x = L.solve_continuous_are(A.astype(f32), B.astype(f32), Q.astype(f32), R.astype(f32))
    assert x.dtype == jnp.float32
    close(x, sl.solve_continuous_are(A, B, Q, R), 1e-4)
    x = L.solve_discrete_are(A.astype(f32), B.astype(f32), Q.astype(f32), R.astype(f32))
    assert x.dtype == jnp.float32
    close(x, sl.solve_discrete_are(A, B, Q, R), 1e-4)
    x = L.solve_toeplitz((TOE_C.astype(f32), TOE_R.astype(f32)), TOE_B.astype(f32))
    assert x.dtype == jnp.float32
    close(x, sl.solve_toeplitz((TOE_C, TOE_R), TOE_B), 1e-5)
    x = L.pinv(A_RECT.astype(f32))
    assert x.dtype == jnp.float32
    close(x, sl.pinv(A_RECT), 1e-5)
    x = L.solve_continuous_lyapunov(A.astype(f32), Q.astype(f32))
    assert x.dtype == jnp.float32
    close(x, sl.solve_continuous_lyapunov(A, Q), 1e-4)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("call,name", [
    (lambda: L.schur(A_RECT), "a"),
    (lambda: L.hessenberg(A_RECT), "a"),
    (lambda: L.eigh(A_RECT), "a"),
    (lambda: L.eigh(SPD, A_RECT), "b"),
    (lambda: L.eig(A_RECT), "a"),
    (lambda: L.eigvals(A, A_RECT), "b"),
    (lambda: L.pinvh(A_RECT), "a"),
    (lambda: L.ldl(A_RECT), "A"),
    (lambda: L.solve_sylvester(A_RECT, A, A), "a"),
    (lambda: L.solve_sylvester(A, A, A_RECT), "q"),
    (lambda: L.solve_continuous_lyapunov(A_RECT, Q), "a"),
    (lambda: L.solve_discrete_lyapunov(A, A_RECT), "q"),
    (lambda: L.solve_continuous_are(A_RECT, B, Q, R), "a"),
    (lambda: L.solve_discrete_are(A, B, Q, A_RECT), "r"),
    (lambda: L.solve_continuous_are(A, B, Q, R, e=A_RECT), "e"),
    (lambda: L.solve_discrete_are(A, B, Q, R, s=A), "s"),
    (lambda: L.solve_continuous_are(A, B, A, R), "q"),
    (lambda: L.solve_toeplitz((TOE_C, TOE_R[:3]), TOE_B), "c_or_cr"),
    (lambda: L.solve_toeplitz(TOE_C, TOE_B[:3]), "b"),
    (lambda: L.solveh_banded(np.ones(3), np.ones(3)), "ab"),
    (lambda: L.solve_circulant(np.ones(3), np.ones(3), singular="x"), "singular"),
    (lambda: L.solve_discrete_lyapunov(A, Q, method="x"), "method"),
    (lambda: L.eigh(SPD, driver="x"), "driver"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        call()


def test_check_finite():
    bad = A.copy()
    bad[0, 0] = np.nan
    for fn in (L.lu, L.pinv, L.svdvals, L.eig, L.schur, L.solve_continuous_lyapunov):
        args = (bad, Q) if fn is L.solve_continuous_lyapunov else (bad,)
        with pytest.raises(ValueError, match="infs or NaNs"):
            fn(*args)


def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    count = 0
    for mod in (_decomp, _decomp_extra, _ldl, _matrix_eq, _reexport, _riccati, _structured):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if getattr(obj, "__module__", "") != mod.__name__:
                continue
            for test in finder.find(obj, name):
                count += len(test.examples)
                runner.run(test)
    assert runner.failures == 0
    assert count > 40
