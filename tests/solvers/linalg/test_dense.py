"""Dense structured solves against scipy.linalg."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl

from scijax.solvers.linalg import (
    cho_factor,
    cho_solve,
    inv,
    lstsq,
    lu_factor,
    lu_solve,
    solve,
    solve_banded,
    solve_triangular,
)

RNG = np.random.default_rng(0)
N = 6
G = RNG.standard_normal((N, N)) + 3 * np.eye(N)
S = G + G.T
P = G @ G.T + np.eye(N)
H = P + 1j * (np.triu(G, 1) - np.triu(G, 1).T)
MATRICES = {
    "gen": G,
    "general": G,
    "sym": S,
    "symmetric": S,
    "her": H,
    "hermitian": H,
    "pos": P,
    "positive definite": P,
    "diagonal": np.diag(RNG.uniform(1, 2, N)),
    "tridiagonal": np.triu(np.tril(G, 1), -1),
    "banded": np.triu(np.tril(G, 1), -2),
    "upper triangular": np.triu(G),
    "lower triangular": np.tril(G),
}
B = RNG.standard_normal((N, 2))


@pytest.mark.parametrize("assume_a", list(MATRICES))
@pytest.mark.parametrize("lower", [False, True])
def test_solve_matches_scipy(assume_a, lower):
    a = MATRICES[assume_a]
    if assume_a in ("sym", "symmetric", "her", "hermitian", "pos", "positive definite"):
        a = np.tril(a) if lower else np.triu(a)  # only one triangle may be read
    for b in (B, B[:, 0]):
        ref = sl.solve(a, b, assume_a=assume_a, lower=lower)
        np.testing.assert_allclose(solve(a, b, assume_a=assume_a, lower=lower), ref, rtol=1e-10, atol=1e-12)
    if not np.iscomplexobj(a):
        ref = sl.solve(a, B, assume_a=assume_a, lower=lower, transposed=True)
        ours = solve(a, B, assume_a=assume_a, lower=lower, transposed=True)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


SOLVE = jax.jit(solve, static_argnames=("assume_a", "lower"))


@pytest.mark.parametrize("assume_a", ["gen", "sym", "pos", "diagonal", "tridiagonal", "upper triangular"])
def test_solve_grad_vmap_jit(assume_a):
    a = jnp.asarray(MATRICES[assume_a])
    w = jnp.asarray(RNG.standard_normal(N))
    b = jnp.asarray(B[:, 0])
    f = lambda a, b: w @ SOLVE(a, b, assume_a=assume_a)  # noqa: E731
    ga, gb = jax.grad(f, argnums=(0, 1))(a, b)
    x = np.linalg.solve(a, b)
    lam = np.linalg.solve(np.asarray(a).T, w)
    np.testing.assert_allclose(gb, lam, rtol=1e-9)
    # the gradient lives on the entries the structure reads; compare there
    eps = 1e-6
    i, j = (1, 0) if assume_a not in ("diagonal", "upper triangular") else (1, 1)
    if assume_a == "upper triangular":
        i, j = 0, 1
    E = np.zeros((N, N))
    E[i, j] = eps
    fd = (f(a + E, b) - f(a - E, b)) / (2 * eps)
    np.testing.assert_allclose(ga[i, j], fd, rtol=1e-6, atol=1e-9)
    if assume_a == "gen":
        np.testing.assert_allclose(ga, -np.outer(lam, x), rtol=1e-8, atol=1e-12)
    bs = jnp.stack([b, 2 * b, b - 1])
    xs = jax.vmap(lambda bb: SOLVE(a, bb, assume_a=assume_a))(bs)
    np.testing.assert_allclose(xs, np.stack([SOLVE(a, bb, assume_a=assume_a) for bb in bs]), rtol=1e-12)


def test_batched_solve_and_float32():
    a = np.stack([G, P])
    np.testing.assert_allclose(solve(a, B), sl.solve(a, B), rtol=1e-10)
    x32 = solve(G.astype(np.float32), B.astype(np.float32))
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(x32, np.linalg.solve(G, B), rtol=1e-4, atol=1e-5)


def test_no_recompile():
    traces = []

    @jax.jit
    def f(a, b):
        traces.append(1)
        return solve(a, b, assume_a="pos")

    f(P, B)
    f(P + np.eye(N), B * 3)
    assert len(traces) == 1


def test_singular_raises_eagerly_gives_nan_under_jit():
    with pytest.raises(sl.LinAlgError):  # as SciPy
        solve(np.ones((3, 3)), np.ones(3))
    with pytest.warns(sl.LinAlgWarning):  # non-finite input let through: NaN, with a warning
        x = solve(np.ones((3, 3)), np.array([1.0, np.nan, 1.0]), check_finite=False)
    assert np.all(np.isnan(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = jax.jit(solve)(jnp.zeros((3, 3)), jnp.ones(3))  # traced: no warning, still NaN
    assert np.all(np.isnan(x))


def test_solve_bad_inputs():
    with pytest.raises(ValueError, match="`assume_a`"):
        solve(G, B, assume_a="spd")
    with pytest.raises(ValueError, match="`a` must be square"):
        solve(G[:, :-1], B)
    with pytest.raises(ValueError, match="incompatible shapes"):
        solve(G, B[:-1])
    with pytest.raises(ValueError, match="`b`"):
        solve(G, np.full(N, np.nan))


@pytest.mark.parametrize("l_and_u", [(1, 1), (1, 2), (0, 0), (2, 0)])
def test_solve_banded(l_and_u):
    lo, up = l_and_u
    ab = RNG.standard_normal((lo + up + 1, N))
    ab[up] += 5
    for b in (B, B[:, 0]):
        np.testing.assert_allclose(solve_banded(l_and_u, ab, b), sl.solve_banded(l_and_u, ab, b), rtol=1e-10)
    g = jax.grad(lambda ab: solve_banded(l_and_u, ab, B[:, 0]).sum())(jnp.asarray(ab))
    E = np.zeros_like(ab)
    E[up, 2] = 1e-6
    ref = lambda ab: sl.solve_banded(l_and_u, ab, B[:, 0]).sum()  # noqa: E731
    fd = (ref(ab + E) - ref(ab - E)) / 2e-6
    np.testing.assert_allclose(g[up, 2], fd, rtol=1e-6)
    with pytest.raises(ValueError, match="l\\+u\\+1"):
        solve_banded((lo + 1, up), ab, B)


def test_inv_lstsq():
    np.testing.assert_allclose(inv(G), sl.inv(G), rtol=1e-10)
    np.testing.assert_allclose(inv(P, assume_a="pos"), sl.inv(P), rtol=1e-10)
    with pytest.raises(ValueError, match="`a`"):
        inv(G[:, :-1])
    for a, b in [(G[:, :3], B[:, 0]), (G[:, :3], B), (G[:3], B[:3, 0]), (np.ones((N, 3)), B[:, 0])]:
        ours, ref = lstsq(a, b), sl.lstsq(a, b)
        np.testing.assert_allclose(ours[0], ref[0], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ours[1], ref[1], rtol=1e-8)
        assert np.shape(ours[1]) == np.shape(ref[1])
        assert int(ours[2]) == ref[2]
        np.testing.assert_allclose(ours[3], ref[3], rtol=1e-10)
    g = jax.grad(lambda a: lstsq(a, B[:, 0])[0].sum())(jnp.asarray(G[:, :3]))
    E = np.zeros((N, 3))
    E[2, 1] = 1e-6
    fd = (sl.lstsq(G[:, :3] + E, B[:, 0])[0].sum() - sl.lstsq(G[:, :3] - E, B[:, 0])[0].sum()) / 2e-6
    np.testing.assert_allclose(g[2, 1], fd, rtol=1e-6)
    xs = jax.vmap(lambda b: lstsq(G[:, :3], b)[0])(B.T)
    np.testing.assert_allclose(xs, sl.lstsq(G[:, :3], B)[0].T, rtol=1e-9)


def test_reexported_factorisations_match_scipy():
    for lower in (False, True):
        c = cho_factor(P, lower=lower)
        ref = sl.cho_solve(sl.cho_factor(P, lower=lower), B)
        np.testing.assert_allclose(cho_solve(c, B), ref, rtol=1e-10)
        tri = np.tril(G) if lower else np.triu(G)
        for trans in (0, 1):
            np.testing.assert_allclose(solve_triangular(tri, B, trans=trans, lower=lower),
                                       sl.solve_triangular(tri, B, trans=trans, lower=lower), rtol=1e-10)
    lu, piv = lu_factor(G)
    lu_ref, piv_ref = sl.lu_factor(G)
    np.testing.assert_allclose(lu, lu_ref, rtol=1e-10)
    np.testing.assert_array_equal(piv, piv_ref)
    for trans in (0, 1):
        ref = sl.lu_solve((lu_ref, piv_ref), B, trans=trans)
        np.testing.assert_allclose(lu_solve((lu, piv), B, trans=trans), ref, rtol=1e-10)
    g = jax.grad(lambda a: cho_solve(cho_factor(a), B[:, 0]).sum())(jnp.asarray(P))
    gg = jax.grad(lambda a: solve(a, B[:, 0]).sum())(jnp.asarray(P))
    np.testing.assert_allclose(g + g.T - jnp.diag(jnp.diag(g)), gg + gg.T - jnp.diag(jnp.diag(gg)), rtol=1e-8)
    x32 = lu_solve(lu_factor(G.astype(np.float32)), B.astype(np.float32))
    assert x32.dtype == jnp.float32
