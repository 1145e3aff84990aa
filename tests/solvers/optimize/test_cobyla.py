"""minimize(method='COBYLA') and fmin_cobyla against SciPy (SciPy's own COBYLA test problems and
Hock-Schittkowski 35); jit, vmap vs a loop, implicit gradients vs finite differences, float32, no
recompilation, bad inputs, non-finite values. Also line_search and fmin_tnc against SciPy."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize as so

from scijax.solvers.optimize import (
    LinearConstraint,
    NonlinearConstraint,
    fmin_cobyla,
    fmin_tnc,
    line_search,
    minimize,
    rosen,
)
from scijax.solvers.optimize._line_search import LineSearchWarning

# A family with parameters: min (x0 - p0)^2 + (x1 - p1)^2 s.t. p2 - x0 - x1 >= 0, x >= 0. One
# compiled solve serves every p (interior, constraint active, constraint and bound active);
# p3 shifts x0 (the solution does not depend on it).
_X0 = np.array([0.5, 0.5])
_BOUNDS = [(0.0, None), (0.0, None)]
_TOL = 1e-9


def _f(x, p):
    return (x[0] - p[0]) ** 2 + (x[1] - p[1]) ** 2


def _c(x, p):
    return p[2] - x[0] - x[1]


def _solve(p):
    return minimize(_f, jnp.asarray(_X0) + p[3], args=(p,), method="COBYLA", bounds=_BOUNDS,
                    constraints={"type": "ineq", "fun": _c, "args": (p,)}, options={"tol": _TOL})


SOLVE = jax.jit(_solve)
CASES = np.array([[0.2, 0.3, 5.0, 0.0],  # interior
                  [1.0, 1.5, 1.0, 0.0],  # x0 + x1 <= p2 active
                  [-1.0, 2.0, 1.0, 0.0]])  # x0 >= 0 and x0 + x1 <= p2 active
# d x / d p at each case, from the active sets
JACOBIANS = np.array([[[1, 0, 0, 0], [0, 1, 0, 0]],
                      [[0.5, -0.5, 0.5, 0], [-0.5, 0.5, 0.5, 0]],
                      [[0, 0, 0, 0], [0, 0, 1, 0]]], dtype=float)


def _scipy(p):
    return so.minimize(lambda x: _f(x, p), _X0, method="COBYLA", bounds=_BOUNDS,
                       constraints={"type": "ineq", "fun": lambda x: _c(x, p)}, options={"tol": _TOL})


def test_family_matches_scipy_jit_no_recompile_and_nonfinite():
    for p in CASES:
        res, ref = SOLVE(jnp.asarray(p)), _scipy(p)
        assert int(res.status) == ref.status == 0 and bool(res.success) and ref.success
        np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
        np.testing.assert_allclose(res.fun, ref.fun, atol=1e-7)
        assert float(res.maxcv) <= 1e-8
        # Same order of work as SciPy (PRIMA) on these small problems.
        assert int(res.nfev) < 3 * ref.nfev + 20
    bad = SOLVE(jnp.array([np.nan, 0.3, 5.0, 0.0]))  # f is NaN from the start
    assert int(bad.status) == -2 and not bool(bad.success)
    assert bad.message == "Return from COBYLA because the objective function returns NaN/+Inf."
    bad = SOLVE(jnp.array([0.2, 0.3, 5.0, np.nan]))  # x0 is NaN
    assert int(bad.status) == -1 and not bool(bad.success)
    assert bad.message == "Return from COBYLA because NaN or Inf occurs in x."
    assert SOLVE._cache_size() == 1
    assert res.message == ref.message and set(res.keys()) == set(ref.keys())


def test_vmap_matches_loop_and_implicit_jacobian_matches_finite_differences():
    both = jax.jit(jax.vmap(jax.jacfwd(lambda q: (lambda x: (x, x))(_solve(q).x), has_aux=True)))
    jac, xs = both(jnp.asarray(CASES))
    loop = np.stack([np.asarray(SOLVE(jnp.asarray(p)).x) for p in CASES])
    np.testing.assert_allclose(xs, loop, atol=1e-7)
    np.testing.assert_allclose(jac, JACOBIANS, atol=1e-6)
    h = 1e-4
    for k, p in enumerate(CASES):
        fd = np.stack([(np.asarray(SOLVE(jnp.asarray(p + h * e)).x) - np.asarray(SOLVE(jnp.asarray(p - h * e)).x))
                       / (2 * h) for e in np.eye(4)], 1)
        np.testing.assert_allclose(jac[k], fd, atol=1e-3)
    assert SOLVE._cache_size() == 1


def test_fmin_cobyla_scipy_test_simple():
    # SciPy's test_cobyla.py::test_simple: an equality as two inequalities.
    def fun(x):
        return x[0] ** 2 + abs(x[1]) ** 3

    def con1(x):
        return x[0] ** 2 + x[1] ** 2 - 25

    def con2(x):
        return -con1(x)

    ref = so.fmin_cobyla(fun, [1.0, 1.0], [con1, con2], rhobeg=1, rhoend=1e-5, maxfun=100)
    seen = []
    x = fmin_cobyla(fun, [1.0, 1.0], [con1, con2], rhobeg=1, rhoend=1e-5, maxfun=100, callback=seen.append)
    np.testing.assert_allclose(x, ref, atol=1e-4)
    np.testing.assert_allclose(x, [np.sqrt(25 - (2.0 / 3) ** 2), 2.0 / 3], atol=1e-4)
    assert len(seen) > 5 and isinstance(seen[0], np.ndarray)


def test_hs35_float32_linear_constraint_and_equality():
    # Hock-Schittkowski 35 (a LinearConstraint and bounds), in float32, against SciPy.
    def hs35(x):
        return (9 - 8 * x[0] - 6 * x[1] - 4 * x[2] + 2 * x[0] ** 2 + 2 * x[1] ** 2 + x[2] ** 2
                + 2 * x[0] * x[1] + 2 * x[0] * x[2])

    lin = LinearConstraint([[1.0, 1.0, 2.0]], -np.inf, 3.0)
    # An equality that the optimum satisfies (x0 = 3 x2), given as a NonlinearConstraint lb == ub.
    eq = NonlinearConstraint(lambda x: x[0] - 3.0 * x[2], 0.0, 0.0)
    kw = dict(method="COBYLA", bounds=[(0, None)] * 3, constraints=[lin, eq], options={"tol": 1e-4})
    ref = so.minimize(hs35, np.full(3, 0.5), **kw)
    res = minimize(hs35, jnp.full(3, 0.5, jnp.float32), **kw)
    assert res.x.dtype == jnp.float32 and res.fun.dtype == jnp.float32
    assert int(res.status) == ref.status == 0 and bool(res.success)
    np.testing.assert_allclose(res.x, ref.x, atol=2e-3)
    np.testing.assert_allclose(res.x, [4 / 3, 7 / 9, 4 / 9], atol=2e-3)
    np.testing.assert_allclose(res.fun, 1 / 9, atol=1e-5)
    assert float(res.maxcv) <= np.sqrt(np.finfo(np.float32).eps)


def test_infeasible_status_and_bad_inputs():
    p = np.array([1.0, 1.0, -1.0, 0.0])  # x0 + x1 <= -1 with x >= 0: no feasible point
    res, ref = SOLVE(jnp.asarray(p)), _scipy(p)
    assert SOLVE._cache_size() == 1
    assert not bool(res.success) and not ref.success
    assert int(res.status) == ref.status == 0 and res.message == ref.message
    assert float(res.maxcv) > 0.3  # (SciPy keeps x in the bounds: maxcv 1; ours balances rows: 1/3)

    def f(x):
        return x[0] ** 2 + x[1] ** 2

    with pytest.raises(ValueError, match="rhobeg"):
        minimize(f, jnp.zeros(2), method="COBYLA", options={"rhobeg": -1.0})
    with pytest.raises(ValueError, match="tol"):
        minimize(f, jnp.zeros(2), method="COBYLA", tol=0.0)
    with pytest.raises(ValueError, match="catol"):
        minimize(f, jnp.zeros(2), method="COBYLA", options={"catol": -1.0})
    with pytest.raises(ValueError, match="xtol"):
        minimize(f, jnp.zeros(2), method="COBYLA", options={"xtol": 1.0})
    with pytest.raises(TypeError, match="cons"):
        fmin_cobyla(f, [0.0, 0.0], [1.0])


def test_line_search_matches_scipy():
    def f(x):
        return jnp.sum(x ** 2)

    def g(x):
        return 2.0 * x

    xk, pk = np.array([1.8, 1.7]), np.array([-1.0, -1.0])
    alpha, fc, gc, new_f, old_f, new_g = line_search(f, g, xk, pk)
    ref = so.line_search(lambda x: np.sum(x ** 2), lambda x: 2 * x, xk, pk)
    np.testing.assert_allclose([alpha, new_f, old_f], [ref[0], ref[3], ref[4]], rtol=1e-12)
    np.testing.assert_allclose(new_g, ref[5], rtol=1e-12)
    # Rosenbrock from SciPy's start, with SciPy's first trial from old_old_fval: a strong-Wolfe point.
    x0 = np.array([-1.2, 1.0])
    p = -so.rosen_der(x0)
    out = line_search(rosen, None, x0, p, old_old_fval=30.0, c2=0.9)
    ref = so.line_search(so.rosen, so.rosen_der, x0, p, old_old_fval=30.0, c2=0.9)
    np.testing.assert_allclose(out[0], ref[0], rtol=1e-9)
    np.testing.assert_allclose(out[3], ref[3], rtol=1e-9)
    a = float(out[0])
    assert so.rosen(x0 + a * p) <= so.rosen(x0) + 1e-4 * a * (so.rosen_der(x0) @ p)
    assert abs(so.rosen_der(x0 + a * p) @ p) <= 0.9 * abs(so.rosen_der(x0) @ p)
    # An ascent direction: no step, SciPy's None and warning.
    with pytest.warns(LineSearchWarning):
        out = line_search(f, g, xk, -pk)
    assert out[0] is None and out[3] is None and out[5] is None
    with pytest.raises(ValueError, match="c1"):
        line_search(f, g, xk, pk, c1=0.95, c2=0.9)
    with pytest.raises(ValueError, match="pk"):
        line_search(f, g, xk, np.ones(3))
    with pytest.raises(TypeError, match="myfprime"):
        line_search(f, 3.0, xk, pk)


def test_line_search_jit_vmap_nan():
    def f(x):
        return jnp.sum(x ** 2)

    run = jax.jit(jax.vmap(lambda x, p: line_search(f, None, x, p)))
    xs = jnp.array([[1.8, 1.7], [1.0, 0.0]])
    ps = jnp.array([[-1.0, -1.0], [1.0, 0.0]])  # the second is an ascent direction
    alpha, _, _, new_f, _, _ = run(xs, ps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LineSearchWarning)
        loop = [line_search(f, None, x, p) for x, p in zip(xs, ps, strict=True)]
    assert float(alpha[0]) == pytest.approx(float(loop[0][0])) and np.isnan(alpha[1]) and np.isnan(new_f[1])
    assert loop[1][0] is None


def test_fmin_tnc_matches_scipy():
    def fg(x):
        return jnp.sum((x - 2.0) ** 2), 2.0 * (x - 2.0)

    bounds = [(0, 1), (0, 5)]
    x, nfeval, rc = fmin_tnc(fg, [0.0, 0.0], bounds=bounds)
    ref = so.fmin_tnc(lambda x: (np.sum((x - 2.0) ** 2), 2.0 * (x - 2.0)), [0.0, 0.0], bounds=bounds, disp=0)
    np.testing.assert_allclose(x, ref[0], atol=1e-6)
    assert rc in (0, 1, 2) and ref[2] in (0, 1, 2) and isinstance(nfeval, int)
    with pytest.raises(ValueError, match="scale"):
        fmin_tnc(fg, [0.0, 0.0], scale=[1.0, 1.0])
