"""linear_sum_assignment and quadratic_assignment against SciPy (same problems, exact answers)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import linear_sum_assignment, quadratic_assignment

RNG = np.random.default_rng(11)
_ONE_COLUMN = np.full((4, 6), np.inf)
_ONE_COLUMN[:, 0] = 1.0  # four rows, one usable column: no complete assignment
LSA = jax.jit(jax.vmap(linear_sum_assignment))


def _costs(shape, maximize):
    c = RNG.standard_normal(shape)  # continuous costs: the optimum is unique
    c[RNG.random(shape) < 0.2] = -np.inf if maximize else np.inf
    return c


def test_lsa_matches_scipy():
    # One compiled solve: (6, 4) is solved as its transpose. Forbidden (inf) pairs included.
    for maximize in (False, True):
        for shape in [(4, 6), (6, 4), (4, 6)]:
            c = _costs(shape, maximize)
            try:
                want = so.linear_sum_assignment(c, maximize=maximize)
            except ValueError:
                with pytest.raises(ValueError, match="infeasible"):
                    linear_sum_assignment(c, maximize=maximize)
                continue
            got = linear_sum_assignment(c, maximize=maximize)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
        # Integer costs with ties: several optimal assignments, the optimal cost agrees.
        c = RNG.integers(0, 3, (4, 6))
        r, k = linear_sum_assignment(c, maximize=maximize)
        assert c[np.asarray(r), np.asarray(k)].sum() == c[so.linear_sum_assignment(c, maximize=maximize)].sum()


def test_lsa_transforms():
    # jit of vmap: a batch equals a Python loop over SciPy; new values do not recompile; an
    # infeasible problem gives col_ind of -1 (a traced call cannot raise).
    c = RNG.standard_normal((3, 4, 6))
    rows, cols = LSA(jnp.asarray(c))
    for b in range(3):
        want = so.linear_sum_assignment(c[b])
        np.testing.assert_array_equal(rows[b], want[0])
        np.testing.assert_array_equal(cols[b], want[1])
    rows, cols = LSA(jnp.asarray(np.stack([c[2], _ONE_COLUMN, c[0]])))
    np.testing.assert_array_equal(cols[1], -1)
    np.testing.assert_array_equal(cols[2], so.linear_sum_assignment(c[0])[1])
    assert LSA._cache_size() == 1
    # grad of the optimal cost is the 0/1 assignment matrix.
    g = jax.grad(lambda m: m[linear_sum_assignment(m)].sum())(jnp.asarray(c[2]))
    want = np.zeros((4, 6))
    want[so.linear_sum_assignment(c[2])] = 1.0
    np.testing.assert_array_equal(g, want)
    c32 = jnp.asarray(c[0], jnp.float32)
    np.testing.assert_array_equal(linear_sum_assignment(c32)[1], so.linear_sum_assignment(c[0])[1])


def test_lsa_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        linear_sum_assignment(np.ones(3))
    with pytest.raises(ValueError, match="invalid numeric"):
        linear_sum_assignment(np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="invalid numeric"):
        linear_sum_assignment(np.array([[np.inf, 1.0], [1.0, 1.0]]), maximize=True)
    with pytest.raises(ValueError, match="infeasible"):
        linear_sum_assignment(_ONE_COLUMN)
    with pytest.raises(TypeError, match="cost_matrix"):
        linear_sum_assignment(np.ones((2, 2), complex))
    r, k = linear_sum_assignment(np.zeros((0, 3)))
    assert r.shape == k.shape == (0,)


N_QAP = 6
# Continuous weights: integer (QAPLIB-style) data makes ties in the linear subproblems, which
# SciPy and we may break differently; test_qap_integer_instance covers that case by objective.
QA = RNG.uniform(0, 10, (N_QAP, N_QAP))
QB = RNG.uniform(0, 10, (N_QAP, N_QAP))


@pytest.mark.parametrize("maximize", [False, True])
def test_qap_matches_scipy(maximize):
    # Deterministic settings follow SciPy step for step: same permutation, objective and nit.
    guess = np.c_[np.arange(N_QAP), RNG.permutation(N_QAP)]
    free = guess[(guess[:, 0] != 1) & (guess[:, 1] != 1)]  # consistent with the seed (1, 1)
    cases = [("faq", {}), ("faq", {"partial_match": [[0, 2], [3, 3]]}), ("2opt", {"partial_guess": guess}),
             ("2opt", {"partial_guess": free, "partial_match": [[1, 1]]})]
    for method, opts in cases:
        opts = dict(opts, maximize=maximize)
        want = so.quadratic_assignment(QA, QB, method=method, options=opts)
        got = quadratic_assignment(QA, QB, method=method, options=opts)
        np.testing.assert_array_equal(got.col_ind, want.col_ind)
        np.testing.assert_allclose(float(got.fun), want.fun, rtol=1e-13)
        assert int(got.nit) == want.nit
        np.testing.assert_allclose(float(got["fun"]), (QA * QB[want.col_ind][:, want.col_ind]).sum(), rtol=1e-13)


def test_qap_integer_instance():
    # A QAPLIB-like integer instance (distances x flows): ties may send FAQ down another path than
    # SciPy's, so compare objectives: each a valid permutation, ours within 10% of SciPy's and
    # 2-opt polishing FAQ's answer never worse.
    n = N_QAP
    pts = RNG.integers(0, 5, (n, 2))
    dist = np.abs(pts[:, None] - pts[None]).sum(-1).astype(float)
    flow = RNG.integers(0, 6, (n, n)).astype(float)
    want = so.quadratic_assignment(flow, dist)
    got = quadratic_assignment(flow, dist)
    assert sorted(np.asarray(got.col_ind).tolist()) == list(range(n))
    assert float(got.fun) <= 1.1 * want.fun
    guess = np.c_[np.arange(n), np.asarray(got.col_ind)]
    polished = quadratic_assignment(flow, dist, method="2opt", options={"partial_guess": guess})
    assert float(polished.fun) <= float(got.fun)
    assert float(polished.fun) == so.quadratic_assignment(flow, dist, "2opt", {"partial_guess": guess}).fun


def test_qap_transforms_and_options():
    # vmap over A against a loop of SciPy calls (2-opt from a fixed start: FAQ batches the same
    # way, through the batched assignment solver tested above); fun differentiable at fixed col_ind.
    As = jnp.asarray(np.stack([QA, QA.T, QA + 1.0]))
    start = {"partial_guess": np.c_[np.arange(N_QAP), np.arange(N_QAP)[::-1]]}
    res = jax.vmap(lambda a: quadratic_assignment(a, QB, "2opt", start))(As)
    for b in range(3):
        want = so.quadratic_assignment(np.asarray(As[b]), QB, "2opt", start)
        np.testing.assert_array_equal(res.col_ind[b], want.col_ind)
        assert int(res.nit[b]) == want.nit
    g = jax.grad(lambda a: quadratic_assignment(a, QB).fun)(jnp.asarray(QA))
    perm = np.asarray(quadratic_assignment(QA, QB).col_ind)
    np.testing.assert_allclose(g, QB[perm][:, perm])
    # Randomised settings: a valid permutation no worse than the start, reproducible by seed.
    r1 = quadratic_assignment(QA, QB, options={"P0": "randomized", "rng": 3, "shuffle_input": True})
    r2 = quadratic_assignment(QA, QB, options={"P0": "randomized", "rng": 3, "shuffle_input": True})
    np.testing.assert_array_equal(r1.col_ind, r2.col_ind)
    assert sorted(np.asarray(r1.col_ind).tolist()) == list(range(N_QAP))
    guess = np.c_[np.arange(N_QAP), np.arange(N_QAP)]
    f32 = quadratic_assignment(QA.astype(np.float32), QB.astype(np.float32), "2opt", {"partial_guess": guess})
    assert f32.fun.dtype == jnp.float32
    want = so.quadratic_assignment(QA, QB, "2opt", {"partial_guess": guess})
    np.testing.assert_array_equal(f32.col_ind, want.col_ind)


def test_qap_bad_input():
    with pytest.raises(ValueError, match="method"):
        quadratic_assignment(QA, QB, method="nope")
    with pytest.raises(ValueError, match="Unknown `options`"):
        quadratic_assignment(QA, QB, options={"maxiters": 3})
    with pytest.raises(ValueError, match="square"):
        quadratic_assignment(QA[:2], QB)
    with pytest.raises(ValueError, match="equal size"):
        quadratic_assignment(QA, QB[:3, :3])
    with pytest.raises(ValueError, match="partial_match"):
        quadratic_assignment(QA, QB, options={"partial_match": [[0, 1], [1, 1]]})
    with pytest.raises(ValueError, match="P0"):
        quadratic_assignment(QA, QB, options={"P0": "bary"})
    with pytest.raises(ValueError, match="finite"):
        quadratic_assignment(np.full((2, 2), np.nan), np.ones((2, 2)))
