"""odeint against scipy.integrate.odeint, plus ports of the odeint tests in SciPy's
``scipy/integrate/tests/test_integrate.py`` (1.17)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
from numpy.testing import assert_allclose, assert_array_equal

from scijax.solvers.integrate import odeint
from tests.problems.ivp_problems import get

LOTKA = get("lotka")
T = np.linspace(0.0, 5.0, 11)


def lotka_yfirst(y, t, a, b, c, d):
    return LOTKA.fun()(t, y, a, b, c, d)


def lotka_yfirst_np(y, t, a, b, c, d):
    return LOTKA.fun(np)(t, y, a, b, c, d)


def lotka_jac_yfirst(y, t, a, b, c, d):
    return LOTKA.jac()(t, y, a, b, c, d)


def lotka_tfirst(t, y, a, b, c, d):
    return LOTKA.fun()(t, y, a, b, c, d)


TOL = 1.49012e-8  # odeint's default rtol and atol


@pytest.fixture(scope="module")
def scipy_lotka():
    return scipy.integrate.odeint(lotka_yfirst_np, np.asarray(LOTKA.y0), T, args=LOTKA.args)


@pytest.fixture(scope="module")
def reference_lotka():
    return scipy.integrate.solve_ivp(LOTKA.fun(np), (0.0, 5.0), np.asarray(LOTKA.y0), method="DOP853", t_eval=T,
                                     args=LOTKA.args, rtol=1e-13, atol=1e-14).y.T


def _scaled_error(y, ref):
    return np.max(np.abs(np.asarray(y) - ref) / (TOL + TOL * np.abs(ref)))


def test_matches_scipy(scipy_lotka, reference_lotka):
    """At the default tolerances our error is no worse than SciPy's LSODA (which is ~100x tol here)."""
    y = odeint(lotka_yfirst, jnp.asarray(LOTKA.y0), T, args=LOTKA.args)
    assert y.shape == (len(T), 2)
    assert _scaled_error(y, reference_lotka) < max(10.0, 2 * _scaled_error(scipy_lotka, reference_lotka))
    assert_allclose(y, scipy_lotka, rtol=1e-5)


def test_tfirst_and_dfun(scipy_lotka):
    y = odeint(lotka_tfirst, jnp.asarray(LOTKA.y0), T, args=LOTKA.args, tfirst=True)
    assert_allclose(y, scipy_lotka, rtol=1e-5)
    y = odeint(lotka_yfirst, jnp.asarray(LOTKA.y0), T, args=LOTKA.args, Dfun=lotka_jac_yfirst)
    assert_allclose(y, scipy_lotka, rtol=1e-5)


def test_full_output(scipy_lotka):
    y, info = odeint(lotka_yfirst, jnp.asarray(LOTKA.y0), T, args=LOTKA.args, full_output=True)
    assert_allclose(y, scipy_lotka, rtol=1e-5)
    # SciPy's keys, types and per-output-interval shapes (values: our method's, see odeint's docstring).
    _, ref = scipy.integrate.odeint(lambda y, t: -y, [1.0, 2.0], T, full_output=True)
    for k, v in ref.items():
        if isinstance(v, np.ndarray):
            assert isinstance(info[k], np.ndarray) and info[k].shape == v.shape == (len(T) - 1,), k
            assert info[k].dtype == v.dtype, k
        else:
            assert type(info[k]) is type(v), k
    assert (info["lenrw"], info["leniw"], info["imxer"]) == (ref["lenrw"], ref["leniw"], -1)
    assert info["message"] == "Integration successful."
    nst, tcur, hu = info["nst"], info["tcur"], info["hu"]
    assert np.all(np.diff(nst) >= 0) and nst[-1] > 0 and np.all(np.diff(info["nfe"]) >= 0) and info["nfe"][-1] > 0
    assert_allclose(tcur, T[1:])  # output times and the mean step (no step times are kept)
    assert_allclose(hu, (T[-1] - T[0]) / nst[-1])
    assert np.all(info["mused"] == 1) and np.all(info["nqu"] == 5) and np.all(info["tsw"] == T[0])


def test_backward_times():
    t = np.linspace(2.0, 0.0, 5)
    y = odeint(lambda y, t: -0.5 * y, jnp.array([1.0]), t)
    assert_allclose(y[:, 0], np.exp(-0.5 * (t - 2.0)), rtol=1e-7)


def test_scalar_y0_and_single_time():
    # SciPy test_odeint_trivial_time (gh-4282).
    y, info = odeint(lambda y, t: -y, 1, [0], full_output=True)
    assert_array_equal(y, np.array([[1]]))
    _, ref = scipy.integrate.odeint(lambda y, t: -y, 1, [0], full_output=True)  # nothing to integrate
    assert info["message"] == ref["message"] and info["nst"].shape == ref["nst"].shape == (0,)


def test_repeated_t_values():
    # SciPy gh-8217.
    def func(x, t):
        return -0.25 * x

    t = np.zeros(10)
    sol = odeint(func, [1.0], t)
    assert_array_equal(sol, np.ones((len(t), 1)))

    tau = 4 * np.log(2)
    t = [0] * 9 + [tau, 2 * tau, 2 * tau, 3 * tau]
    sol = odeint(func, [1, 2], t, rtol=1e-12, atol=1e-12)
    expected_sol = np.array([[1.0, 2.0]] * 9 + [[0.5, 1.0], [0.25, 0.5], [0.25, 0.5], [0.125, 0.25]])
    assert_allclose(sol, expected_sol)

    with pytest.raises(ValueError):
        odeint(func, [1.0], [0, 1, 0.5, 0])
    with pytest.raises(ValueError):
        odeint(func, [1, 2, 3], [0, -1, -2, 3])


def test_empty_t():
    # SciPy: an empty time sequence gives an empty (0, n) result.
    sol = odeint(lambda x, t: -0.25 * x, [1.0], [])
    assert_array_equal(sol, np.array([], dtype=np.float64).reshape((0, 1)))


def test_default_tolerances_are_scipys():
    """Default rtol = atol = 1.49012e-8: the error on a closed-form problem is of that size."""
    t = np.linspace(0.0, 2.0, 5)
    y = odeint(lambda y, t: -y, jnp.array([1.0]), t)
    err = np.abs(np.asarray(y[:, 0]) - np.exp(-t)).max()
    assert err < 1e-6
    y_loose = odeint(lambda y, t: -y, jnp.array([1.0]), t, rtol=1e-3, atol=1e-3)
    assert np.abs(np.asarray(y_loose[:, 0]) - np.exp(-t)).max() > err


# --- SciPy's TestOdeint problems -------------------------------------------------------------------
def oscillator(z, t):
    return jnp.stack([z[1], -4.0 * z[0]])


def oscillator_jac(z, t):
    return jnp.array([[0.0, 1.0], [-4.0, 0.0]])


LMBD = np.array([0.17, 0.23, 0.29])


def coupled_decay(z, t):
    return jnp.stack([-LMBD[0] * z[0], -LMBD[1] * z[1] + LMBD[0] * z[0], -LMBD[2] * z[2] + LMBD[1] * z[1]])


def coupled_decay_exact(t, z0):
    d10, d21, d20 = LMBD[1] - LMBD[0], LMBD[2] - LMBD[1], LMBD[2] - LMBD[0]
    e0, e1, e2 = (np.exp(-lm * t) for lm in LMBD)
    return np.vstack((
        z0[0] * e0,
        z0[1] * e1 + z0[0] * LMBD[0] / d10 * (e0 - e1),
        z0[2] * e2 + z0[1] * LMBD[1] / d21 * (e1 - e2)
        + LMBD[1] * LMBD[0] * z0[0] / d10 * (1 / d20 * (e0 - e2) - 1 / d21 * (e1 - e2)),
    )).T


def test_scipy_problem_simple_oscillator():
    t = np.arange(0.0, 1.09, 0.05)
    z0 = np.array([1.0, 0.1])
    u = z0[0] * np.cos(2 * t) + z0[1] * np.sin(2 * t) / 2
    z, info = odeint(oscillator, z0, t, full_output=True)
    assert np.allclose(u, z[:, 0], atol=1e-6, rtol=1e-5)
    z, info = odeint(oscillator, z0, t, full_output=True, Dfun=oscillator_jac)
    assert np.allclose(u, z[:, 0], atol=1e-6, rtol=1e-5)
    z, info = odeint(lambda t, y: oscillator(y, t), z0, t, full_output=True, tfirst=True,
                     Dfun=lambda t, y: oscillator_jac(y, t))
    assert np.allclose(u, z[:, 0], atol=1e-6, rtol=1e-5)


def test_scipy_problem_coupled_decay():
    t = np.arange(0.0, 0.5, 0.05)
    z0 = [5.0, 7.0, 13.0]
    z = odeint(coupled_decay, z0, t)
    assert np.allclose(coupled_decay_exact(t, z0), z, atol=1e-6, rtol=1e-5)


def test_odeint_full_and_transposed_jacobian():
    # SciPy test_odeint_banded_jacobian, the full-Jacobian parts (banded ml/mu have no effect here).
    c = np.array([[-205, 0.01, 0.00, 0.0], [0.1, -2.50, 0.02, 0.0], [1e-3, 0.01, -2.0, 0.01], [0.00, 0.00, 0.1, -1.0]])

    def func(y, t, c):
        return c @ y

    def jac(y, t, c):
        return c

    def jac_transpose(y, t, c):
        return c.T

    y0 = np.ones(4)
    t = np.array([0, 5, 10, 100])
    kw = dict(args=(c,), full_output=True, atol=1e-13, rtol=1e-11, mxstep=10000)
    sol1, info1 = odeint(func, y0, t, Dfun=jac, **kw)
    sol2, info2 = odeint(func, y0, t, Dfun=jac_transpose, col_deriv=True, **kw)
    assert_allclose(sol1, sol2, err_msg="sol1 != sol2")
    assert_array_equal(info1["nje"], info2["nje"])
    sol1ty, _ = odeint(lambda t, y, c: func(y, t, c), y0, t, Dfun=lambda t, y, c: jac(y, t, c), tfirst=True, **kw)
    assert_allclose(sol1, sol1ty, rtol=1e-12, err_msg="sol1 != sol1ty")
    ref = scipy.integrate.odeint(lambda y, t: c @ y, y0, t, atol=1e-13, rtol=1e-11, mxstep=10000)
    assert_allclose(sol1, ref, rtol=1e-7, atol=1e-12)


def test_odeint_errors():
    def sys1d(x, t):
        return -100 * x

    def bad1(x, t):
        return 1.0 / 0

    def bad2(x, t):
        return "foo"

    def bad_jac1(x, t):
        return 1.0 / 0

    def bad_jac2(x, t):
        return [["foo"]]

    with pytest.raises(ZeroDivisionError):
        odeint(bad1, 1.0, [0, 1])
    with pytest.raises(ValueError):
        odeint(bad2, 1.0, [0, 1])
    with pytest.raises(ZeroDivisionError):
        odeint(sys1d, 1.0, [0, 1], Dfun=bad_jac1)
    with pytest.raises(ValueError):
        odeint(sys1d, 1.0, [0, 1], Dfun=bad_jac2)


def test_odeint_bad_shapes():
    def badrhs(x, t):
        return jnp.array([1.0, -1.0])

    def sys1(x, t):
        return -100 * x

    def badjac(x, t):
        return jnp.array([[0.0, 0.0, 0.0]])

    with pytest.raises(ValueError):
        odeint(sys1, [[0, 0], [0, 0]], [0, 1])
    with pytest.raises(ValueError):
        odeint(sys1, [10.0], [[0, 1], [2, 3]])
    # SciPy raises RuntimeError for a right-hand side or Dfun of the wrong shape.
    with pytest.raises(RuntimeError):
        odeint(badrhs, 10, [0, 1])
    with pytest.raises(RuntimeError):
        odeint(sys1, [10, 10], [0, 1], Dfun=badjac)


# --- transformations ---------------------------------------------------------------------------
_odeint_jit = jax.jit(lambda y0, p: odeint(lotka_yfirst, y0, T, args=tuple(p)))


def test_jit_and_vmap_over_y0():
    y0s = jnp.array([[10.0, 5.0], [4.0, 2.0]])
    p = jnp.asarray(LOTKA.args)
    batched = jax.vmap(lambda y0: _odeint_jit(y0, p))(y0s)
    assert batched.shape == (2, len(T), 2)
    for i, y0 in enumerate(y0s):
        assert_allclose(batched[i], _odeint_jit(y0, p), rtol=1e-12)
    ref = scipy.integrate.odeint(lotka_yfirst_np, np.asarray(y0s[1]), T, args=LOTKA.args)
    assert_allclose(batched[1], ref, rtol=1e-5)


def test_grad_wrt_y0_and_args():
    """Against central differences (odeint's default tolerances make FD accurate to ~1e-5)."""
    y0 = jnp.asarray(LOTKA.y0)
    p = jnp.asarray(LOTKA.args)
    loss = lambda y0, p: jnp.sum(odeint(lotka_yfirst, y0, T, args=tuple(p), rtol=1e-11, atol=1e-12)[-1])  # noqa: E731
    # One compiled value-and-gradient serves the gradient and the central differences (one compile, not two).
    value_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    loss_jit = lambda *a: value_grad(*a)[0]  # noqa: E731
    g_y0, g_p = value_grad(y0, p)[1]
    h = 1e-4
    for g, x, which in [(g_y0, y0, 0), (g_p, p, 1)]:
        for i in range(x.shape[0]):
            e = jnp.zeros_like(x).at[i].set(h * max(1.0, abs(float(x[i]))))
            args_p = [y0, p]
            args_m = [y0, p]
            args_p[which] = x + e
            args_m[which] = x - e
            fd = (loss_jit(*args_p) - loss_jit(*args_m)) / (2 * e[i])
            assert_allclose(g[i], fd, rtol=1e-5, atol=1e-7)


def test_mxstep_failure_warns_and_pads_with_nan():
    with pytest.warns(scipy.integrate.ODEintWarning):
        y, info = odeint(lotka_yfirst, jnp.asarray(LOTKA.y0), T, args=LOTKA.args, mxstep=2, full_output=True)
    assert y.shape == (len(T), 2)
    assert np.all(np.isnan(np.asarray(y[-1])))
    assert not bool(info["success"])
