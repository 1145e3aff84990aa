"""nnls and lsq_linear against SciPy, plus jit, vmap, grad, float32, recompilation, bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as sopt

from scijax.solvers.optimize import lsq_linear, nnls


def _problem(seed, m=12, n=6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=m), rng.uniform(0.0, 0.5, n)


def test_nnls_scipy_docstring_examples():
    A = np.array([[1.0, 0], [1, 0], [0, 1]])
    for b in ([2.0, 1, 1], [-1.0, -1, -1]):
        x_ref, r_ref = sopt.nnls(A, np.array(b))
        x, r = nnls(A, b)
        np.testing.assert_allclose(x, x_ref, atol=1e-14)
        np.testing.assert_allclose(r, r_ref, rtol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_nnls_vs_scipy(seed):
    A, b, _ = _problem(seed)
    x_ref, r_ref = sopt.nnls(A, b)
    x, r = nnls(A, b)
    np.testing.assert_allclose(x, x_ref, atol=1e-12)
    np.testing.assert_allclose(r, r_ref, rtol=1e-12)


@pytest.mark.parametrize("method", ["bvls", "trf"])
@pytest.mark.parametrize("seed", range(3))
def test_lsq_linear_vs_scipy(method, seed):
    A, b, ub = _problem(seed)
    bounds = (-0.2, ub)
    ref = sopt.lsq_linear(A, b, bounds, method=method, tol=1e-12)
    res = lsq_linear(A, b, bounds, method=method)
    assert int(res.status) == 1 and bool(res.success)
    assert res.message == "The first-order optimality measure is less than `tol`."
    # SciPy's trf is accurate to about its tol; ours is exact either way
    atol = 1e-12 if method == "bvls" else 1e-7
    np.testing.assert_allclose(res.x, ref.x, atol=atol)
    np.testing.assert_allclose(res.cost, ref.cost, rtol=1e-9)
    np.testing.assert_allclose(res.fun, ref.fun, atol=atol)
    np.testing.assert_array_equal(res.active_mask, np.asarray(ref.active_mask, int))
    assert float(res.optimality) < 1e-10


def test_lsq_linear_unconstrained_and_one_sided():
    A, b, _ = _problem(9)
    ref = sopt.lsq_linear(A, b)
    res = lsq_linear(A, b)
    assert int(res.status) == ref.status == 3 and int(res.nit) == 0
    np.testing.assert_allclose(res.x, ref.x, atol=1e-12)
    ref = sopt.lsq_linear(A, b, bounds=(0.05, np.inf), method="bvls")
    res = lsq_linear(A, b, bounds=(0.05, np.inf))
    np.testing.assert_allclose(res.x, ref.x, atol=1e-12)


solve_jit = jax.jit(lambda A, b, ub: lsq_linear(A, b, (-0.2, ub)))


def test_jit_vmap_and_no_recompilation():
    problems = [_problem(s) for s in range(3)]
    As, bs, ubs = (np.stack(p) for p in zip(*problems, strict=True))
    batched = jax.vmap(solve_jit)(As, bs, ubs)
    for i, (A, b, ub) in enumerate(problems):
        single = solve_jit(A, b, ub)
        np.testing.assert_allclose(batched.x[i], single.x, atol=1e-13)
        np.testing.assert_array_equal(batched.active_mask[i], single.active_mask)
    before = solve_jit._cache_size()
    solve_jit(*_problem(11))
    assert solve_jit._cache_size() == before


def test_grad_vs_finite_differences():
    A, b, ub = _problem(1)
    x = solve_jit(A, b, ub).x
    assert np.any(x == -0.2) and np.any((x > -0.2) & (x < ub))  # a mixed active set

    def fd(f, v, h=1e-6):
        cols = []
        for i in range(v.size):
            e = np.zeros(v.size)
            e[i] = h
            e = e.reshape(v.shape)
            cols.append((np.ravel(f(v + e)) - np.ravel(f(v - e))) / (2 * h))
        return np.stack(cols, axis=-1)

    for argnum, v in ((0, A), (1, b), (2, ub)):
        args = [A, b, ub]

        def f(w, argnum=argnum):
            return solve_jit(*args[:argnum], w, *args[argnum + 1 :]).x

        jac = jax.jacrev(f)(jnp.asarray(v))
        np.testing.assert_allclose(jac.reshape(x.size, -1), fd(f, v), atol=1e-7)


def test_nnls_grad_and_jit():
    A, b, _ = _problem(2)
    f = jax.jit(lambda b: nnls(A, b)[1] ** 2)
    g = jax.grad(f)(jnp.asarray(b))
    x, _ = nnls(A, b)
    np.testing.assert_allclose(g, 2 * (b - A @ x), atol=1e-12)  # envelope theorem


def test_float32():
    A, b, ub = _problem(0)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    ref = sopt.lsq_linear(A, b, (-0.2, ub), method="bvls")
    res = lsq_linear(f32(A), f32(b), (f32(-0.2), f32(ub)))
    assert res.x.dtype == jnp.float32 and int(res.status) == 1
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    x, r = nnls(f32(A), f32(b))
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(x, sopt.nnls(A, b)[0], atol=1e-5)


def test_iteration_limit():
    A, b, ub = _problem(0)
    res = lsq_linear(A, b, (-0.2, ub), max_iter=1)
    assert int(res.status) == 0 and not bool(res.success)
    assert res.message == "The maximum number of iterations is exceeded."
    with pytest.raises(RuntimeError, match="Maximum number of iterations"):
        nnls(A, b, maxiter=1)
    x, r = jax.jit(lambda A, b: nnls(A, b, maxiter=1))(A, b)
    assert np.all(np.isnan(x)) and np.isnan(r)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: nnls(np.ones(3), np.ones(3)), "A"),
        (lambda: nnls(np.ones((3, 2)), np.ones(4)), "b"),
        (lambda: nnls(np.ones((3, 2)), [1.0, np.nan, 1.0]), "b"),
        (lambda: lsq_linear(np.ones((3, 2)), np.ones(3), method="dogbox"), "method"),
        (lambda: lsq_linear(np.ones((3, 2)), np.ones(3), bounds=(1.0, 0.0)), "bounds"),
        (lambda: lsq_linear([[np.inf, 1.0]], [1.0]), "A"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
