"""cgs, bicg, qmr, tfqmr, lgmres, gcrotmk and lsmr against scipy.sparse.linalg, and the compile
count of every Krylov solver (a repeated eager call with new values compiles nothing)."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spl

from scijax.solvers import linalg as sla

from ...problems.linear_problems import convection_diffusion_2d, indefinite_symmetric

A_NS = convection_diffusion_2d(4, peclet=10.0)  # 16 x 16, nonsymmetric
B = np.random.default_rng(0).standard_normal(16)
A_SYM = indefinite_symmetric(4, shift=0.6)  # 16 x 16, symmetric indefinite (the same shapes: no new compilation)
B_SYM = np.random.default_rng(1).standard_normal(16)
# Small restart/recycling sizes so that the cycles, augmentation and truncation all run on N = 16.
NEW = {
    "cgs": (sla.cgs, spl.cgs, {}),
    "bicg": (sla.bicg, spl.bicg, {}),
    "qmr": (sla.qmr, spl.qmr, {}),
    "tfqmr": (sla.tfqmr, spl.tfqmr, {}),
    "lgmres": (sla.lgmres, spl.lgmres, {"inner_m": 4, "outer_k": 2}),
    "gcrotmk": (sla.gcrotmk, spl.gcrotmk, {"m": 4, "k": 2}),
}

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


def _residual(A, x, b):
    return np.linalg.norm(np.asarray(A) @ np.asarray(x) - b)


@pytest.mark.parametrize("name", list(NEW))
def test_matches_scipy_without_recompiling(name):
    ours, ref, kw = NEW[name]
    x, info = ours(A_NS, B, **kw)  # the one compilation
    with _count_compiles() as compiles:
        # maxiter=1: SciPy's gcrotmk tests convergence only at the top of the next outer iteration, so
        # it reports info = maxiter when the last allowed one converged (ours then reports 0).
        for extra in ({}, {"rtol": 1e-10}, {"maxiter": 1}, {"atol": 1e-3, "rtol": 0.0}):
            x, info = ours(A_NS, B, **kw, **extra)
            x_ref, info_ref = ref(A_NS, B, **kw, **extra)
            assert int(info) == info_ref, extra
            if info_ref == 0:  # both meet the tolerance; they agree to the conditioning of that
                tol = max(extra.get("rtol", 1e-5) * np.linalg.norm(B), extra.get("atol", 0.0))
                assert _residual(A_NS, x, B) <= tol
                np.testing.assert_allclose(x, x_ref, rtol=0, atol=100 * tol)
            else:  # same iterates, to round-off
                np.testing.assert_allclose(x, x_ref, rtol=1e-8, atol=1e-10)
        # New values, same shapes (x0 included): nothing compiles; the answer follows the values.
        x2, info2 = ours(2.0 * A_NS, B + 1.0, np.ones(16), **kw, rtol=1e-9)
        assert int(info2) == 0
        np.testing.assert_allclose(x2, np.linalg.solve(2.0 * A_NS, B + 1.0), rtol=1e-6, atol=1e-8)
        # Non-finite b: NaN with info = maxiter, never a false success (SciPy: NaN and info > 0;
        # its lgmres/gcrotmk raise instead).
        b_bad = B.copy()
        b_bad[3] = np.inf
        x_bad, info_bad = ours(A_NS, b_bad, **kw, maxiter=5)
        assert int(info_bad) == 5 and np.all(np.isnan(np.asarray(x_bad)))
    assert compiles[0] == 0, compiles


@pytest.mark.parametrize("name", list(NEW))
def test_symmetric_indefinite_and_preconditioned_float32(name):
    ours, ref, kw = NEW[name]
    x, info = ours(A_SYM, B_SYM, **kw, rtol=1e-10)
    assert int(info) == 0
    np.testing.assert_allclose(x, np.linalg.solve(A_SYM, B_SYM), rtol=1e-7, atol=1e-9)
    # float32 in, float32 out, with a (Jacobi) preconditioner.
    jac = sla.jacobi_preconditioner(A_NS.astype(np.float32))
    pre = {"M1": jac} if name == "qmr" else {"M": jac}
    x32, info32 = ours(jnp.asarray(A_NS, jnp.float32), jnp.asarray(B, jnp.float32), **kw, **pre, rtol=1e-5)
    assert x32.dtype == jnp.float32 and int(info32) == 0
    np.testing.assert_allclose(x32, np.linalg.solve(A_NS, B), rtol=1e-3, atol=1e-4)


def _combo(name):
    ours, _, kw = NEW[name]

    @jax.jit
    def combo(A, bs, w):  # one program: batched solves and their reverse-mode derivatives
        def solve_and_pullback(b):
            x, pullback = jax.vjp(lambda A, b: ours(A, b, **kw, rtol=1e-11)[0], A, b)
            return x, pullback(w)

        return jax.vmap(solve_and_pullback)(bs)

    return combo


@pytest.mark.parametrize("name", list(NEW))
def test_jit_vmap_grad(name):
    ours, _, kw = NEW[name]
    A, w = jnp.asarray(A_NS), jnp.asarray(np.random.default_rng(5).standard_normal(16))
    bs = jnp.stack([jnp.asarray(B), jnp.asarray(B) ** 2 - 1.0])
    xs, (gA, gb) = _combo(name)(A, bs, w)
    loop = [ours(A_NS, b, **kw, rtol=1e-11)[0] for b in np.asarray(bs)]  # eager: the first test's compilation
    np.testing.assert_allclose(xs, np.stack(loop), rtol=1e-9, atol=1e-11)
    # d(w.x)/db = A^-T w and d(w.x)/dA = -(A^-T w) x^T, exactly.
    lam = np.linalg.solve(A_NS.T, np.asarray(w))
    for i, b in enumerate(np.asarray(bs)):
        x = np.linalg.solve(A_NS, b)
        np.testing.assert_allclose(xs[i], x, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(gb[i], lam, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(gA[i], -np.outer(lam, x), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", list(NEW))
def test_bad_inputs(name):
    ours, _, kw = NEW[name]
    with pytest.raises(ValueError, match="`rtol`"):
        ours(A_NS, B, **kw, rtol=-1.0)
    with pytest.raises(ValueError, match="`maxiter`"):
        ours(A_NS, B, **kw, maxiter=0)
    with pytest.raises(ValueError, match="`b`"):
        ours(A_NS, B[:-1], **kw)
    with pytest.raises(ValueError, match="`A` must be square"):
        ours(A_NS[:, :-1], B, **kw)
    with pytest.raises(ValueError, match="`M1`" if name == "qmr" else "`M`"):
        ours(A_NS, B, **kw, **({"M1": np.eye(3)} if name == "qmr" else {"M": np.eye(3)}))
    with pytest.raises(TypeError, match="`callback`"):
        ours(A_NS, B, **kw, callback=3)


def test_restart_options_are_checked():
    for bad in ({"inner_m": 0}, {"outer_k": -1}, {"outer_v": []}):
        with pytest.raises((ValueError, NotImplementedError), match="inner_m|outer_k|outer_v"):
            sla.lgmres(A_NS, B, **bad)
    for bad in ({"m": 0}, {"k": -1}, {"CU": []}, {"truncate": "newest"}, {"truncate": "smallest"}):
        with pytest.raises((ValueError, NotImplementedError), match="`m`|`k`|CU|truncate"):
            sla.gcrotmk(A_NS, B, **bad)
    with pytest.raises(NotImplementedError, match="show"):
        sla.tfqmr(A_NS, B, show=True)


# --- lsmr ------------------------------------------------------------------------------------------
LS_A = np.random.default_rng(3).standard_normal((20, 6))
LS_B = np.random.default_rng(4).standard_normal(20)


def test_lsmr_matches_scipy_without_recompiling():
    sla.lsmr(LS_A, LS_B)  # the one compilation
    with _count_compiles() as compiles:
        for kw in ({}, {"damp": 0.5}, {"maxiter": 3}, {"atol": 1e-10, "btol": 1e-10}, {"conlim": 5.0},
                   {"x0": np.ones(6)}):
            ours = sla.lsmr(LS_A, LS_B, **kw)
            ref = spl.lsmr(LS_A, LS_B, **kw)
            assert len(ours) == len(ref) == 8
            assert (int(ours.istop), int(ours.itn)) == (ref[1], ref[2]), kw
            np.testing.assert_allclose(ours.x, ref[0], rtol=1e-9, atol=1e-12)
            # normr, norma, conda, normx to round-off; normar (a vanishing quantity) to its scale.
            stats = np.array([float(v) for v in ours[3:]])
            np.testing.assert_allclose(stats[[0, 2, 3, 4]], np.array(ref[3:])[[0, 2, 3, 4]], rtol=1e-9)
            assert abs(stats[1] - ref[4]) <= 1e-9 * ref[5] * ref[3] + 1e-12 * abs(ref[4])
        b_bad = LS_B.copy()
        b_bad[0] = np.nan
        bad = sla.lsmr(LS_A, b_bad)
        assert int(bad.istop) == 7 and np.all(np.isnan(np.asarray(bad.x)))  # SciPy: NaN, istop 7
    assert compiles[0] == 0, compiles
    with pytest.raises(ValueError, match="`b`"):
        sla.lsmr(LS_A, LS_B[:-1])
    with pytest.raises(ValueError, match="`atol`"):
        sla.lsmr(LS_A, LS_B, atol=-1.0)
    with pytest.raises(ValueError, match="`maxiter`"):
        sla.lsmr(LS_A, LS_B, maxiter=0)


@jax.jit
def _lsmr_combo(A, bs, w):
    def solve_and_pullback(b):
        x, pullback = jax.vjp(lambda A, b: sla.lsmr(A, b, atol=1e-12, btol=1e-12).x, A, b)
        return x, pullback(w)

    return jax.vmap(solve_and_pullback)(bs)


def test_lsmr_jit_vmap_grad_float32():
    w = np.random.default_rng(6).standard_normal(6)
    bs = np.stack([LS_B, LS_B**2])
    xs, (gA, gb) = _lsmr_combo(jnp.asarray(LS_A), jnp.asarray(bs), jnp.asarray(w))
    loop = [sla.lsmr(LS_A, b, atol=1e-12, btol=1e-12).x for b in bs]  # eager: the first test's compilation
    np.testing.assert_allclose(xs, np.stack(loop), rtol=1e-9, atol=1e-12)
    # x = (A^T A)^-1 A^T b: d(w.x)/db = A lam and d(w.x)/dA = r lam^T - A lam x^T, lam = (A^T A)^-1 w.
    lam = np.linalg.solve(LS_A.T @ LS_A, w)
    for i, b in enumerate(bs):
        x = np.linalg.lstsq(LS_A, b, rcond=None)[0]
        r = b - LS_A @ x
        np.testing.assert_allclose(xs[i], x, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(gb[i], LS_A @ lam, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(gA[i], np.outer(r, lam) - np.outer(LS_A @ lam, x), rtol=1e-7, atol=1e-9)
    res32 = sla.lsmr(jnp.asarray(LS_A, jnp.float32), jnp.asarray(LS_B, jnp.float32))
    assert res32.x.dtype == jnp.float32
    np.testing.assert_allclose(res32.x, np.linalg.lstsq(LS_A, LS_B, rcond=None)[0], rtol=1e-3, atol=1e-4)


# --- the older Krylov solvers: compile once per eager configuration (issue 15) ------------------------
SPD = np.diag(np.arange(1.0, 9.0)) + 0.3 * (np.eye(8, k=1) + np.eye(8, k=-1))
RHS = np.linspace(-1.0, 1.0, 8)


@pytest.mark.parametrize("name", ["gmres", "bicgstab", "minres"])  # cg: the lambda test below
def test_old_solvers_compile_once(name):
    f = getattr(sla, name)
    x, info = f(SPD, RHS)
    with _count_compiles() as compiles:
        for k in (2.0, 3.0):
            x, info = f(k * SPD, RHS + k, maxiter=40 + int(k))
            assert int(info) == 0
            assert _residual(k * SPD, x, RHS + k) <= 1e-5 * np.linalg.norm(RHS + k)
    assert compiles[0] == 0, compiles


def test_lambda_operator_recreated_in_a_loop_compiles_once():
    """cg with a matvec lambda re-created per value of `k`: the closed-over `k` and array are traced."""
    dense = jnp.asarray(SPD)
    counts = []
    for k in (1.0, 2.0, 4.0):
        with _count_compiles() as compiles:
            x, info = sla.cg(lambda v: k * (dense @ v), RHS, rtol=1e-10)  # noqa: B023
        counts.append(compiles[0])
        np.testing.assert_allclose(x, np.linalg.solve(k * SPD, RHS), rtol=1e-8)
    assert counts[1] == counts[2] == 0, counts
