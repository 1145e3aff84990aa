"""NeuralODE/HybridODE: the fixed-step path against diffrax and solve_ivp, its order, gradients,
vmap, float32, no recompilation, the adaptive solve_ivp path, losses and bad inputs."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.ml import FIXED_STEP_METHODS, MLP, HybridODE, NeuralODE, multiple_shooting_loss, trajectory_mse
from scijax.physics import LotkaVolterra

NET = MLP(2, 2, width=16, depth=2)
PARAMS = NET.init(jax.random.key(0))
T = np.linspace(0.0, 1.0, 11)
Y0 = jax.random.normal(jax.random.key(1), (5, 2))
FIXED = NeuralODE(NET, dt=0.05)
ADAPTIVE = NeuralODE(NET, rtol=1e-10, atol=1e-12)
TRACES = {"count": 0}


@jax.jit
def fixed_solve(params, y0):
    TRACES["count"] += 1
    return FIXED(params, y0, T)


def test_fixed_step_matches_diffrax_tsit5():
    ours = fixed_solve(PARAMS, Y0)
    term = diffrax.ODETerm(lambda t, y, p: NET(p, y))

    def one(y0):
        sol = diffrax.diffeqsolve(term, diffrax.Tsit5(), 0.0, 1.0, 0.05, y0, args=PARAMS,
                                  saveat=diffrax.SaveAt(ts=jnp.asarray(T)),
                                  stepsize_controller=diffrax.ConstantStepSize())
        return sol.ys.T

    ref = jax.vmap(one)(Y0)
    assert ours.shape == (5, 2, 11)
    # Same tableau, same steps: agreement to round-off.
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_fixed_step_agrees_with_scipy_to_its_truncation_error():
    ours = np.asarray(fixed_solve(PARAMS, Y0))
    f = jax.jit(lambda y: NET(PARAMS, y))
    for i in range(2):
        ref = scipy_solve_ivp(lambda t, y: np.asarray(f(y)), (0.0, 1.0), np.asarray(Y0[i]), t_eval=T,
                              rtol=1e-11, atol=1e-12).y
        np.testing.assert_allclose(ours[i], ref, atol=1e-7)


@pytest.mark.parametrize("method", sorted(FIXED_STEP_METHODS))
def test_fixed_step_convergence_order(method):
    # Linear test problem y' = A y with a known exponential solution; fit the slope of log(error) vs log(dt).
    order = FIXED_STEP_METHODS[method]().order
    A = jnp.array([[-0.5, 2.0], [-2.0, -0.5]])
    net = MLP(2, 2, width=1, depth=0)
    params = [{"W": A.T, "b": jnp.zeros(2)}]
    y0 = jnp.array([1.0, 0.0])
    exact = jax.scipy.linalg.expm(A * 1.0) @ y0
    dt0 = 0.1 if order <= 5 else 0.5  # high orders: keep the error well above round-off
    dts = [dt0, dt0 / 2, dt0 / 4]
    errs = [float(jnp.linalg.norm(NeuralODE(net, method=method, dt=dt)(params, y0, np.array([0.0, 1.0]))[:, -1]
                                  - exact)) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    # At least the method's order (DOP853's 13-stage pair exceeds it on a linear problem);
    # tests/solvers/integrate/test_rk_tableaus.py measures the exact orders on a nonlinear one.
    assert order - 0.35 < slope < order + 1.35, (errs, slope)


def test_registry_has_tableaus_with_consistent_weights():
    for name, build in FIXED_STEP_METHODS.items():
        tab = build()
        assert abs(sum(tab.b) - 1.0) < 1e-12, name
        for c, row in zip(tab.c, tab.a, strict=True):
            assert abs(sum(row) - c) < 1e-12, name


def test_adaptive_path_is_solve_ivp_and_agrees_with_fixed():
    y = ADAPTIVE(PARAMS, Y0[:2], T)
    fixed = fixed_solve(PARAMS, Y0)[:2]
    np.testing.assert_allclose(y, fixed, atol=1e-7)
    single = ADAPTIVE(PARAMS, Y0[0], T)
    np.testing.assert_allclose(single, y[0], atol=1e-12)


@pytest.mark.parametrize("adjoint", ["checkpoint", "direct"])
def test_gradient_matches_finite_differences(adjoint):
    model = NeuralODE(NET, dt=0.1, adjoint=adjoint)
    loss = lambda s: jnp.sum(model(jax.tree_util.tree_map(lambda a: s * a, PARAMS), Y0[:2], T) ** 2)
    g = jax.grad(loss)(1.0)
    eps = 1e-6
    fd = (loss(1.0 + eps) - loss(1.0 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_batch_equals_loop_and_vmap():
    batch = fixed_solve(PARAMS, Y0)
    single = jax.jit(lambda y: FIXED(PARAMS, y, T))
    loop = jnp.stack([single(y) for y in Y0])
    vm = jax.vmap(lambda y: FIXED(PARAMS, y, T))(Y0)
    np.testing.assert_allclose(batch, loop, atol=1e-13)
    np.testing.assert_allclose(batch, vm, atol=1e-13)


def test_no_recompilation_for_new_values():
    fixed_solve(PARAMS, Y0)
    before = TRACES["count"]
    fixed_solve(NET.init(jax.random.key(5)), Y0 + 1.0)
    assert TRACES["count"] == before


def test_float32():
    p32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), PARAMS)
    y = FIXED(p32, Y0.astype(jnp.float32), T)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y, fixed_solve(PARAMS, Y0), atol=1e-4)


def test_hybrid_vector_field_is_physics_plus_network():
    model = HybridODE(LotkaVolterra(beta=0.0, delta=0.0), MLP(2, 2, width=4, depth=1), trainable=("alpha",),
                      dt=0.05)
    p = model.init(jax.random.key(2), physics={"alpha": 2.0})
    y = jnp.array([1.5, 0.5])
    expected = jnp.array([2.0 * 1.5, -3.0 * 0.5]) + model.network(p["network"], y)
    np.testing.assert_allclose(model.vector_field(0.0, y, p), expected, rtol=1e-12)
    g = jax.grad(lambda q: jnp.sum(model(q, y, T)))(p)
    assert float(g["physics"]["alpha"]) > 0


def test_hybrid_without_network_reproduces_the_catalog_system():
    lv = LotkaVolterra()
    model = HybridODE(lv, None, dt=0.001, method="RK4")
    y = model(model.init(jax.random.key(0)), lv.y0, T)
    rhs = jax.jit(lv.rhs)  # compiled once for SciPy's many calls
    ref = scipy_solve_ivp(lambda t, y: np.asarray(rhs(t, y, *lv.params)), (0.0, 1.0), np.asarray(lv.y0),
                          t_eval=T, rtol=1e-11, atol=1e-11).y
    np.testing.assert_allclose(y, ref, rtol=1e-8)


def test_losses():
    y = fixed_solve(PARAMS, Y0)
    assert float(trajectory_mse(FIXED, PARAMS, T, y)) < 1e-25
    assert float(multiple_shooting_loss(FIXED, PARAMS, T, y, segment_length=5)) < 1e-25
    noisy = y + 0.1
    ms = multiple_shooting_loss(FIXED, PARAMS, T, noisy, segment_length=5, continuity_weight=0.0)
    assert float(ms) > 0
    with pytest.raises(ValueError, match="`segment_length`"):
        multiple_shooting_loss(FIXED, PARAMS, T, y, segment_length=3)
    with pytest.raises(ValueError, match="`y_obs`"):
        trajectory_mse(FIXED, PARAMS, T, y[..., :5])


@pytest.mark.parametrize(
    ("make", "match"),
    [(lambda: NeuralODE(NET, dt=-1.0), "`dt`"),
     (lambda: NeuralODE(NET, dt=0.1, method="Radau"), "`method`"),
     (lambda: NeuralODE(NET, method="Euler"), "`method`"),
     (lambda: NeuralODE(NET, dt=0.1, adjoint="backsolve"), "`adjoint`"),
     (lambda: NeuralODE(MLP(2, 3)), "`network`"),
     (lambda: HybridODE(LotkaVolterra(), MLP(3, 3)), "`network`"),
     (lambda: HybridODE(LotkaVolterra(), None, trainable=("omega",)), "`trainable`")],
)
def test_bad_construction(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_call_arguments():
    with pytest.raises(ValueError, match="`y0`"):
        FIXED(PARAMS, jnp.ones(3), T)
    with pytest.raises(ValueError, match="`t_eval`"):
        jax.jit(lambda t: FIXED(PARAMS, Y0, t))(T)
    with pytest.raises(ValueError, match="`params`"):
        FIXED(MLP(2, 2, width=3, depth=1).init(jax.random.key(0)), Y0, T)
