"""linprog against scipy.optimize.linprog(method='highs') on SciPy's kinds of test problems,
plus jit, vmap, grad (KKT implicit differentiation vs finite differences), float32,
no recompilation and bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as sopt

from scijax.solvers.optimize import linprog

# fmt: off
PROBLEMS = {
    # SciPy's test_linprog "nontrivial problem": inequalities and one equality.
    "nontrivial": dict(
        c=[-1, 8, 4, -6],
        A_ub=[[-7, -7, 6, 9], [1, -1, -3, 0], [10, -10, -7, 7], [6, -1, 3, 4]],
        b_ub=[-3, 6, -6, 6], A_eq=[[-10, 1, 1, -8]], b_eq=[-4]),
    # SciPy's docstring example: a free variable and a shifted lower bound.
    "free_and_shifted": dict(
        c=[-1, 4], A_ub=[[-3, 1], [1, 2]], b_ub=[6, 4], bounds=[(None, None), (-3, None)]),
    # Minimum-cost network flow: equality constraints only.
    "network_flow": dict(
        c=[2, 4, 9, 11, 4, 3, 8, 7, 0, 15, 16, 18],
        A_eq=[[-1, -1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0], [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0],
              [0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0],
              [0, 0, 0, 0, -1, -1, -1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 1]],
        b_eq=[0, 19, -16, 33, 0, 0], bounds=(0, 20)),
    # Bounds only, with a lower-only, an upper-only and a boxed variable.
    "bounds_only": dict(c=[1, -2, 3], bounds=[(1, None), (None, 5), (-2, 4)]),
    # Equality-only with redundant (linearly dependent) rows.
    "redundant_eq": dict(
        c=[1, 2, 3], A_eq=[[1, 1, 1], [2, 2, 2], [1, -1, 0]], b_eq=[3, 6, 0]),
    # Free variables everywhere, bounded by the constraints.
    "free_vars": dict(
        c=[1, 2], A_ub=[[-1, 0], [0, -1], [-1, -1]], b_ub=[1, 2, 2], bounds=(None, None)),
    # Beale's cycling example (degenerate vertex).
    "beale_degenerate": dict(
        c=[-0.75, 150, -0.02, 6],
        A_ub=[[0.25, -60, -0.04, 9], [0.5, -90, -0.02, 3], [0, 0, 1, 0]], b_ub=[0, 0, 1]),
    # Non-unique optimum (objective parallel to a constraint): only fun is compared.
    "nonunique": dict(c=[-1, -1], A_ub=[[1, 1]], b_ub=[1]),
    "infeasible": dict(c=[1, 1], A_ub=[[1, 1]], b_ub=[-1]),
    "infeasible_eq": dict(c=[1, 1], A_eq=[[1, 1], [1, 1]], b_eq=[1, 2], bounds=(None, None)),
    "infeasible_bounds": dict(c=[1, 1], A_eq=[[1, 1]], b_eq=[5], bounds=(0, 2)),
    "unbounded": dict(c=[-1, -1], A_ub=[[1, -1]], b_ub=[1]),
    "unbounded_free": dict(c=[1, 2], bounds=[(1, 3), (None, 5)]),
}
# fmt: on
UNIQUE_X = {"nontrivial", "free_and_shifted", "bounds_only", "free_vars", "beale_degenerate"}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_against_scipy(name):
    p = PROBLEMS[name]
    ref = sopt.linprog(**p, method="highs")
    res = linprog(**p)
    assert int(res.status) == ref.status, res.message
    assert bool(res.success) == ref.success
    if ref.status != 0:
        assert np.all(np.isnan(res.x)) and np.isnan(res.fun)
        return
    assert res.message == "Optimization terminated successfully."
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.slack, ref.slack, atol=1e-7)
    np.testing.assert_allclose(res.con, ref.con, atol=1e-7)
    if name in UNIQUE_X:
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-8)
        for field in ("ineqlin", "eqlin", "lower", "upper"):
            np.testing.assert_allclose(res[field].marginals, ref[field].marginals, atol=1e-7)
            np.testing.assert_allclose(res[field].residual, ref[field].residual, atol=1e-7)


def test_marginals_are_derivatives_of_fun():
    """SciPy's sign conventions: marginals are d fun / d rhs, checked by a small step."""
    p = PROBLEMS["nontrivial"]
    res = linprog(**p)
    h = 1e-4
    b_ub = np.array(p["b_ub"], float)
    for i in range(4):
        bp = b_ub.copy()
        bp[i] += h
        fd = (float(linprog(**{**p, "b_ub": bp}).fun) - float(res.fun)) / h
        np.testing.assert_allclose(res.ineqlin.marginals[i], fd, atol=1e-6)


def _random_lp(seed, n=6, m=9):
    """Random bounded, feasible LP with a unique nondegenerate optimum (almost surely)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(m, n))
    x0 = rng.uniform(-0.5, 0.5, n)
    b = A @ x0 + rng.uniform(0.1, 1.0, m)
    A_eq = rng.normal(size=(1, n))
    b_eq = A_eq @ x0
    return rng.normal(size=n), A, b, A_eq, b_eq


BOX = (-2.0, 2.0)
solve_jit = jax.jit(lambda c, A_ub, b_ub, A_eq, b_eq: linprog(c, A_ub, b_ub, A_eq, b_eq, bounds=BOX))


def test_random_and_jit_vs_scipy():
    for seed in range(3):
        c, A, b, Ae, be = _random_lp(seed)
        ref = sopt.linprog(c, A, b, Ae, be, bounds=BOX)
        res = solve_jit(c, A, b, Ae, be)
        assert int(res.status) == 0
        np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-7)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-7)
        np.testing.assert_allclose(res.ineqlin.marginals, ref.ineqlin.marginals, atol=1e-7)


def test_no_recompilation():
    c, A, b, Ae, be = _random_lp(0)
    solve_jit(c, A, b, Ae, be)
    before = solve_jit._cache_size()
    c2, A2, b2, Ae2, be2 = _random_lp(7)
    solve_jit(c2, A2, b2, Ae2, be2)
    assert solve_jit._cache_size() == before


def test_vmap_over_c_matches_loop():
    _, A, b, Ae, be = _random_lp(1)
    cs = np.random.default_rng(5).normal(size=(4, A.shape[1]))
    batched = jax.vmap(lambda c: solve_jit(c, A, b, Ae, be))(cs)
    for i, c in enumerate(cs):
        single = solve_jit(c, A, b, Ae, be)
        np.testing.assert_allclose(batched.x[i], single.x, atol=1e-10)
        np.testing.assert_allclose(batched.fun[i], single.fun, atol=1e-10)
        assert int(batched.status[i]) == int(single.status)
    assert batched.message == [single.message] * 4


def _fd(f, x, h=1e-5):
    x = np.asarray(x, float)
    g = np.zeros((np.size(f(x)), x.size))
    for i in range(x.size):
        e = np.zeros(x.size)
        e.flat[i] = h
        g[:, i] = (np.ravel(f(x + e.reshape(x.shape))) - np.ravel(f(x - e.reshape(x.shape)))) / (2 * h)
    return g


def test_grad_vs_finite_differences():
    """jacrev of fun and x with respect to every LP array, against central differences (the
    polished solution is an exact vertex, so the differences are exact up to rounding)."""
    c, A, b, Ae, be = _random_lp(2)
    args = (c, A, b, Ae, be)
    argnums = tuple(range(5))
    j_fun = jax.jacrev(lambda *a: solve_jit(*a).fun, argnums)(*args)
    j_x = jax.jacrev(lambda *a: solve_jit(*a).x, argnums)(*args)
    for i in argnums:

        def solve(v, i=i):
            return solve_jit(*args[:i], v, *args[i + 1 :])

        fd_fun = _fd(lambda v: solve(v).fun, args[i])
        fd_x = _fd(lambda v: solve(v).x, args[i])
        np.testing.assert_allclose(np.ravel(j_fun[i]), fd_fun.ravel(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(j_x[i].reshape(fd_x.shape), fd_x, rtol=1e-6, atol=1e-7)


def test_grad_of_failed_solve_is_nan():
    p = PROBLEMS["infeasible"]
    g = jax.grad(lambda b: linprog(p["c"], p["A_ub"], b).fun)(jnp.asarray(p["b_ub"], float))
    assert np.all(np.isnan(g))


def test_float32():
    c, A, b, Ae, be = _random_lp(0)
    ref = sopt.linprog(c, A, b, Ae, be, bounds=BOX)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    res = linprog(f32(c), f32(A), f32(b), f32(Ae), f32(be), bounds=BOX)
    assert res.x.dtype == jnp.float32
    assert int(res.status) == 0
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-4)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-3)


def test_iteration_limit_status():
    res = linprog(**PROBLEMS["nontrivial"], options={"maxiter": 2})
    assert int(res.status) == 1 and not bool(res.success)
    assert res.message == "Iteration limit reached."


@pytest.mark.parametrize("method", ["highs-ds", "highs-ipm", "interior-point", "simplex"])
def test_method_names(method):
    res = linprog(**PROBLEMS["nontrivial"], method=method)
    np.testing.assert_allclose(res.fun, 7083 / 1391, rtol=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(c=[1, 2], A_ub=[[1, 2, 3]], b_ub=[1]), "A_ub"),
        (dict(c=[1, 2], A_ub=[[1, 2]], b_ub=[1, 2]), "b_ub"),
        (dict(c=[1, 2], A_eq=[[1, 2]], b_eq=[[1], [2]]), "b_eq"),
        (dict(c=[1, 2], A_eq=[[1, 2]]), "b_eq"),
        (dict(c=[[1, 2]]), "c"),
        (dict(c=[1, np.nan]), "c"),
        (dict(c=[1, np.inf]), "c"),
        (dict(c=[1, 2], A_ub=[[1, np.nan]], b_ub=[1]), "A_ub"),
        (dict(c=[1, 2], bounds=[(0, 1)] * 3), "bounds"),
        (dict(c=[1, 2], method="dual"), "method"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        linprog(**kwargs)


def test_scipy_warnings_and_inconsistent_bounds():
    """As SciPy: bounds no point satisfies are an infeasible problem found before any iteration;
    unknown options, integrality outside 'highs' and the legacy method names warn."""
    for bounds in ([(5, 0), (1, 2)], [(1, 2), (np.inf, np.inf)], [(1, 2), (-np.inf, -np.inf)]):
        ours, ref = linprog([1, 2], bounds=bounds), sopt.linprog([1, 2], bounds=bounds)
        assert int(ours.status) == ref.status == 2 and int(ours.nit) == ref.nit == 0 and not ours.success
    kwargs = dict(A_ub=[[-1, 1], [3, 2], [2, 3]], b_ub=[1, 12, 12], integrality=[1, 1])
    with pytest.warns(sopt.OptimizeWarning, match="Unrecognized options detected: {'spam': 42}"), \
            pytest.warns(sopt.OptimizeWarning, match="Only `method='highs'` supports integer constraints"), \
            pytest.warns(DeprecationWarning, match="`method='simplex'` is deprecated"):
        res = linprog([0, -1], method="simplex", options={"spam": 42}, b_eq=None, **kwargs)
    np.testing.assert_allclose(res.x, [1.8, 2.8], atol=1e-7)  # the relaxed problem, as SciPy's test expects
    assert int(res.crossover_nit) == 0


# ---- milp ----


def _knapsack():
    rng = np.random.default_rng(0)
    values = rng.integers(5, 30, 12).astype(float)
    weights = rng.integers(3, 20, 12).astype(float)
    return dict(
        c=-values,
        integrality=np.ones(12),
        bounds=sopt.Bounds(0, 1),
        constraints=sopt.LinearConstraint(weights[None], -np.inf, 50),
    )


def _assignment(k=4):
    cost = np.random.default_rng(1).uniform(1, 10, (k, k))
    rows = [np.kron(np.eye(k)[i], np.ones(k)) for i in range(k)]
    cols = [np.kron(np.ones(k), np.eye(k)[j]) for j in range(k)]
    return dict(
        c=cost.ravel(),
        integrality=np.ones(k * k),
        bounds=sopt.Bounds(0, 1),
        constraints=sopt.LinearConstraint(np.array(rows + cols), 1, 1),
    )


@pytest.mark.parametrize("make", [_knapsack, _assignment])
def test_milp_vs_scipy(make):
    from scijax.solvers.optimize import milp

    p = make()
    ref = sopt.milp(**p)
    res = milp(**p)
    assert int(res.status) == ref.status == 0
    assert res.message == "Optimization terminated successfully."
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-9)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-9)
    assert float(res.mip_gap) <= 1e-4 and int(res.mip_node_count) >= 1
    np.testing.assert_allclose(res.mip_dual_bound, ref.fun, rtol=1e-4)


def test_milp_infeasible_and_linprog_integrality():
    from scijax.solvers.optimize import milp

    p = dict(c=[1.0, 1.0], integrality=[1, 1], bounds=sopt.Bounds(0.2, 0.8))
    res = milp(**p)
    assert int(res.status) == sopt.milp(**p).status == 2
    assert np.all(np.isnan(res.x))
    kw = dict(c=[0, -1], A_ub=[[-1, 1], [3, 2], [2, 3]], b_ub=[1, 12, 12], integrality=[1, 1])
    ref = sopt.linprog(**kw)
    res = linprog(**kw)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-9)
    np.testing.assert_allclose(res.fun, ref.fun, atol=1e-9)
    with pytest.raises(ValueError, match="integrality"):
        milp(c=[1.0, 1.0], integrality=[2, 0])
