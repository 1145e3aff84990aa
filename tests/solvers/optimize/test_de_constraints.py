"""differential_evolution with ``constraints`` against SciPy: the docs' LinearConstraint example and
Hock-Schittkowski 21 (polished by trust-constr, one compiled program), a NonlinearConstraint with a
traced bound in float32 (jit, no recompilation, seeds, vmap vs a loop, an infeasible problem), and
bad constraint input. Three compiles in all; populations and budgets are SciPy's defaults or small."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import Bounds, LinearConstraint, NonlinearConstraint, differential_evolution

_INF = np.inf
_BOX = [(0.0, 2.0), (0.0, 2.0)]
_INFEASIBLE = "The solution does not satisfy the constraints, MAXCV = "


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_or_hs21(x, w):
    """``w = (1, 0)``: Rosenbrock (SciPy's docs example); ``w = (0, 1)``: Hock-Schittkowski 21."""
    return w[0] * rosen(x) + w[1] * (0.01 * x[0] ** 2 + x[1] ** 2 - 100.0)


def parabola(x):
    return x[0] ** 2 + x[1]


def test_linear_constraint_and_hs21_polished_match_scipy():
    cases = [  # (weights, bounds, constraint a @ x <= ub); all share one compiled program
        ((1.0, 0.0), _BOX, LinearConstraint([[1.0, 1.0]], -_INF, 1.9)),  # SciPy's docs example
        ((0.0, 1.0), [(2.0, 50.0), (-50.0, 50.0)], LinearConstraint([[-10.0, 1.0]], -_INF, -10.0)),  # HS 21
    ]
    for w, bounds, con in cases:
        res = differential_evolution(rosen_or_hs21, bounds, args=(jnp.array(w),), constraints=con, rng=1,
                                     maxiter=300)
        ref = so.differential_evolution(lambda x, w=w: float(rosen_or_hs21(x, np.array(w))), bounds,
                                        constraints=con, rng=1, maxiter=300)
        assert bool(res.success) and ref.success and res.message == ref.message
        # Both polish with trust-constr (tolerances ~1e-8 on the gradient): answers agree to ~1e-6.
        np.testing.assert_allclose(res.x, ref.x, atol=2e-5)
        assert abs(float(res.fun) - ref.fun) <= 1e-7 * (1.0 + abs(ref.fun))
        assert len(res.constr) == 1 and float(res.maxcv) == 0.0 == ref.maxcv
        assert float(con.A[0] @ np.asarray(res.x)) <= con.ub + 1e-12
        assert np.all(np.isfinite(res.jac))

    # No feasible point (x0 + x1 <= -1 on the box): SciPy's warning, then its message with maxcv.
    with pytest.warns(UserWarning, match="didn't find a solution satisfying the constraints"):
        res = differential_evolution(rosen_or_hs21, _BOX, args=(jnp.array([1.0, 0.0]),), rng=1, maxiter=300,
                                     constraints=LinearConstraint([[1.0, 1.0]], -_INF, -1.0))
    assert not bool(res.success) and int(res.status) == 4 and not np.isfinite(float(res.fun))
    assert res.message == _INFEASIBLE + f"{float(res.maxcv)}"
    np.testing.assert_allclose(float(res.maxcv), 1.0, atol=1e-2)  # least infeasible: x near (0, 0)


X0_32 = jnp.zeros(2, jnp.float32)  # float32 search


def _raw(ub, key):
    con = NonlinearConstraint(parabola, -_INF, ub)  # x0**2 + x1 <= ub, ub traced
    return differential_evolution(rosen, _BOX, constraints=con, rng=key, polish=False, x0=X0_32, tol=1e-6,
                                  maxiter=150)


RAW = jax.jit(_raw)


def test_nonlinear_constraint_float32_jit_seeds_vmap_and_infeasible():
    key = jax.random.key(1)
    ubs = jnp.array([1.9, 1.5, -1.0], jnp.float32)
    loop = [RAW(ub, key) for ub in ubs]
    assert RAW._cache_size() == 1  # new bound values do not recompile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SciPy's trust-constr "delta_grad == 0.0" notes
        refs = [so.differential_evolution(so.rosen, _BOX, rng=1, polish=p, maxiter=150,
                                          constraints=so.NonlinearConstraint(lambda x: x[0] ** 2 + x[1], -_INF, ub))
                for ub, p in ((1.9, True), (1.5, True), (-1.0, False))]
    for res, ref, ub in zip(loop[:2], refs[:2], ubs[:2], strict=True):
        assert res.x.dtype == jnp.float32 and bool(res.success) and res.message == ref.message
        np.testing.assert_allclose(res.x, ref.x, atol=3e-3)  # float32, unpolished, tol=1e-6
        assert float(res.maxcv) == 0.0 and float(parabola(res.x)) <= float(ub)
    bad, ref = loop[2], refs[2]
    assert int(bad.status) == 4 and not bool(bad.success) and not ref.success
    assert bad.message == _INFEASIBLE + f"{float(bad.maxcv)}" and ref.message.startswith(_INFEASIBLE)
    np.testing.assert_allclose(float(bad.maxcv), ref.maxcv, atol=1e-2)

    # Seeds: the same key repeats the search exactly, another key searches differently.
    again, other = RAW(ubs[0], key), RAW(ubs[0], jax.random.key(2))
    np.testing.assert_array_equal(again.population, loop[0].population)
    assert not np.array_equal(other.population, loop[0].population)

    batch = jax.vmap(RAW, in_axes=(0, None))(ubs, key)
    for i, one in enumerate(loop):
        np.testing.assert_array_equal(batch.x[i], one.x)
        assert int(batch.nit[i]) == int(one.nit) and int(batch.status[i]) == int(one.status)
    assert batch.message[2].startswith(_INFEASIBLE)


@pytest.mark.parametrize("constraints, match", [
    ({"type": "ineq", "fun": parabola}, "constraints"),
    (LinearConstraint([[1.0, 1.0, 1.0]], 0.0, 1.0), "constraints.*columns"),
    (NonlinearConstraint(parabola, 1.0, 0.0), "constraints.*lower bound"),
    ([Bounds([0.0, 0.0], [1.0, 1.0]), "x0 <= 1"], "constraints"),
])
def test_bad_constraints_name_the_argument(constraints, match):
    with pytest.raises(ValueError, match=match):
        differential_evolution(rosen, _BOX, constraints=constraints)
