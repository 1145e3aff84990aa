"""Every entry of the explicit Runge-Kutta registry: structure, order conditions, measured orders.

The tests iterate over ``TABLEAUS``, so a new method is checked by adding it there. The step
runs through the shared core (``rk_step``/``rk_stages``/``dense_eval``) on NumPy arrays (a
Python-float step keeps the core in NumPy: no compiles), on a nonlinear, non-autonomous system
with a closed-form solution.
"""

import numpy as np
import pytest

from scijax.solvers.integrate.internal import TABLEAUS, dense_eval, evals_per_step, rk_stages, rk_step

NAMES = sorted(TABLEAUS)


def _arrays(tab):
    s = len(tab.c)
    a = np.zeros((s, s))
    for i, row in enumerate(tab.a):
        a[i, : len(row)] = row
    return np.asarray(tab.c), a, np.asarray(tab.b)


def _order_residuals(c, a, b, order):
    """Residuals of the Butcher order conditions up to ``min(order, 4)`` (all trees through order 4)."""
    ac = a @ c
    conditions = [(b.sum(), 1.0)]
    if order >= 2:
        conditions += [(b @ c, 1 / 2)]
    if order >= 3:
        conditions += [(b @ c**2, 1 / 3), (b @ ac, 1 / 6)]
    if order >= 4:
        conditions += [(b @ c**3, 1 / 4), (b @ (c * ac), 1 / 8), (b @ (a @ c**2), 1 / 12), (b @ (a @ ac), 1 / 24)]
    return [lhs - rhs for lhs, rhs in conditions]


@pytest.mark.parametrize("name", NAMES)
def test_structure_and_order_conditions(name):
    tab = TABLEAUS[name]
    s = len(tab.c)
    assert tab.c[0] == 0.0 and len(tab.a) == len(tab.b) == s
    assert all(len(row) == i for i, row in enumerate(tab.a)), "a must be strictly lower triangular"
    c, a, b = _arrays(tab)
    np.testing.assert_allclose(a.sum(axis=1), c, atol=1e-14, err_msg="row sums of a must equal c")
    np.testing.assert_allclose(_order_residuals(c, a, b, tab.order), 0.0, atol=1e-13)
    if tab.fsal:
        assert tab.c[-1] == 1.0 and tab.b[-1] == 0.0 and tuple(tab.a[-1]) == tuple(tab.b[:-1])
        assert evals_per_step(tab) == s - 1
    if tab.e is not None:  # the embedded solution b - e has the error estimator's order
        assert len(tab.e) == s and tab.error_order < tab.order
        np.testing.assert_allclose(_order_residuals(c, a, b - np.asarray(tab.e), tab.error_order), 0.0,
                                   atol=1e-13)
        if tab.error_order < 4:  # ... and not one more (where the conditions above can tell)
            assert abs(_order_residuals(c, a, b - np.asarray(tab.e), tab.error_order + 1)[-1]) > 1e-6
    if tab.p is not None:  # the continuous extension ends at the step's solution
        assert len(tab.p) == s
        np.testing.assert_allclose(np.sum(tab.p, axis=1), b, atol=1e-12)  # DOP853's are good to ~2e-13


def _rhs(t, y):
    """y' = (1 + t)(1 + |y|^2) J y: |y| is conserved and the angle is (1 + |y0|^2)(t + t^2/2)."""
    w = (1.0 + t) * (1.0 + y[0] ** 2 + y[1] ** 2)
    return np.array([-w * y[1], w * y[0]])


Y0 = np.array([0.6, 0.0])


def _exact(t):
    theta = (1.0 + Y0 @ Y0) * (t + t**2 / 2)
    return 0.6 * np.array([np.cos(theta), np.sin(theta)])


def _solve(tab, n_steps, t_end=1.0):
    h, y = t_end / n_steps, Y0
    for i in range(n_steps):
        y = rk_step(_rhs, tab, i * h, y, h)
    return y


def _slope(hs, errs):
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


@pytest.mark.parametrize("name", NAMES)
def test_measured_convergence_order(name):
    tab = TABLEAUS[name]
    n0 = min(256, int(np.ceil(10 ** (6 / tab.order))))  # errors near 1e-6: asymptotic, above round-off
    ns = np.array([n0, 2 * n0, 4 * n0])
    errs = [np.linalg.norm(_solve(tab, n) - _exact(1.0)) for n in ns]
    assert abs(_slope(1.0 / ns, errs) - tab.order) < 0.35, errs


@pytest.mark.parametrize("name", [n for n in NAMES if TABLEAUS[n].e is not None])
def test_error_estimate_and_dense_output(name):
    tab = TABLEAUS[name]
    hs = 0.04 * 2 ** (tab.error_order / 2) * np.array([1.0, 0.5, 0.25])  # local errors above round-off
    t0, y0 = 0.3, _exact(0.3)
    local, dense_end, dense_mid = [], [], []
    for h in hs:
        y_new, ks = rk_stages(_rhs, tab, t0, y0, h, _rhs(t0, y0))
        err = h * sum(e * k for e, k in zip(tab.e, ks, strict=True) if e != 0.0)
        local.append(np.linalg.norm(err))
        dense_end.append(np.max(np.abs(dense_eval(tab, y0, h, ks, 1.0) - y_new)))
        dense_mid.append(np.linalg.norm(dense_eval(tab, y0, h, ks, 0.5) - _exact(t0 + h / 2)))
    # The estimate is the local error of the embedded solution: O(h^(error_order + 1)) (DOP853's
    # higher-order terms still show at these step sizes, so allow up to one order more).
    assert tab.error_order + 0.65 < _slope(hs, local) < tab.error_order + 2, local
    np.testing.assert_allclose(dense_end, 0.0, atol=1e-13)
    assert _slope(hs, dense_mid) > 1.8  # the interpolant is at least first order (local error O(h^2))
