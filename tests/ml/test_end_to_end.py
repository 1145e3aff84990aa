"""End-to-end: models trained through the solvers recover known physics (small, CPU, stated bounds)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.integrate

from scijax.ml import MLP, HybridODE, NeuralODE, Trajectories, fit, multiple_shooting_loss, trajectory_mse
from scijax.physics import DampedDrivenPendulum, LotkaVolterra


def rel_rms(a, b):
    return float(jnp.sqrt(jnp.mean((a - b) ** 2) / jnp.mean(b**2)))


def scipy_trajectories(system, t, *, key, n_trajectories=1, noise=0.0, y0_spread=0.0):
    """Noisy data as ``scijax.ml.noisy_trajectories`` makes it (the same random draws; tested in
    test_data.py), solved by SciPy's DOP853 instead: the data come from an independent solver, and the
    module compiles one program fewer per system (each ~3 s of CPU)."""
    k_y0, k_noise = jax.random.split(key)
    n = system.y0.shape[0]
    y0s = system.y0 * (1 + y0_spread * jax.random.normal(k_y0, (n_trajectories, n)))
    rhs = jax.jit(system.rhs)
    y_true = jnp.asarray(np.stack([
        scipy.integrate.solve_ivp(lambda s, y: np.asarray(rhs(s, y, *system.params)), (t[0], t[-1]), np.asarray(y0),
                                  method="DOP853", t_eval=t, rtol=1e-10, atol=1e-12).y
        for y0 in y0s]))
    scale = jnp.std(y_true, axis=(0, 2), keepdims=True)
    y = y_true + noise * scale * jax.random.normal(k_noise, y_true.shape)
    return Trajectories(jnp.asarray(t), y0s, y, y_true)


# Lotka-Volterra x' = a x - b x y, y' = d x y - c y. The UDE knows the linear terms (a, c) and
# learns the interaction (-b x y, d x y) with a network. Training: 4 noisy (1%) trajectories on
# [0, 6] (about one cycle); held out: a fifth trajectory, on [0, 6] and extrapolated to [6, 12].
LV = LotkaVolterra(alpha=1.3, beta=0.9, gamma=0.8, delta=1.8, y0=(0.44, 4.6))
T_LONG = np.linspace(0.0, 12.0, 61)
T_TRAIN = T_LONG[:31]
N_TRAIN = 4


@pytest.fixture(scope="module")
def lv_data():
    return scipy_trajectories(LV, T_LONG, key=jax.random.key(1), n_trajectories=N_TRAIN + 1, noise=0.01,
                              y0_spread=0.2)


def _train(model, data):
    loss = lambda p, y: multiple_shooting_loss(model, p, T_TRAIN, y, segment_length=5)
    res = fit(loss, model.init(jax.random.key(3)), data.y[:N_TRAIN, :, :31], optimizer=optax.adam(1e-2),
              steps=300, progress=False, lbfgs_steps=100)
    held_out = data.y_true[N_TRAIN:]
    pred = model(res.params, held_out[:, :, 0], T_LONG)
    return res, rel_rms(pred[..., :31], held_out[..., :31]), rel_rms(pred[..., 31:], held_out[..., 31:])


@pytest.fixture(scope="module")
def ude(lv_data):
    known = LotkaVolterra(alpha=1.3, beta=0.0, gamma=0.8, delta=0.0)
    model = HybridODE(known, MLP(2, 2, width=16, depth=1), trainable=(), dt=0.2)
    return (model, *_train(model, lv_data))


def test_ude_learns_the_missing_lotka_volterra_interaction(ude, lv_data):
    """Bounds: held-out trajectory relative RMS error < 8% on the training window; the network's
    output matches the true interaction term along the trajectories within 25% relative RMS."""
    model, res, err_window, _ = ude
    assert err_window < 0.08, err_window
    states = jnp.moveaxis(lv_data.y_true[..., :31], 1, 2).reshape(-1, 2)
    x, y = states[:, 0], states[:, 1]
    true_term = jnp.stack([-0.9 * x * y, 1.8 * x * y], axis=1)
    assert rel_rms(model.correction(states, res.params), true_term) < 0.25


def test_hybrid_extrapolates_better_than_a_pure_network(ude, lv_data):
    """Same data, loss and budget; on [6, 12] (never seen) the hybrid's error is below 35% and
    below the pure network's."""
    _, _, _, hybrid_extrap = ude
    pure = NeuralODE(MLP(2, 2, width=16, depth=2), dt=0.2)
    _, _, pure_extrap = _train(pure, lv_data)
    assert hybrid_extrap < 0.35, hybrid_extrap
    assert hybrid_extrap < pure_extrap, (hybrid_extrap, pure_extrap)


def test_neural_ode_fits_a_spiral():
    """Damped linear spiral y' = A y, A = [[-0.1, 1], [-1, -0.1]], y(0) = (2, 0), on [0, 2 pi].
    Bound: relative RMS error of the fitted trajectory < 3%."""
    A = jnp.array([[-0.1, 1.0], [-1.0, -0.1]])
    t = np.linspace(0.0, 2 * np.pi, 41)
    y0 = jnp.array([2.0, 0.0])
    y_true = jax.vmap(lambda s: jax.scipy.linalg.expm(A * s) @ y0, out_axes=1)(jnp.asarray(t))
    model = NeuralODE(MLP(2, 2, width=32, depth=1), dt=0.2)
    loss = lambda p, y: trajectory_mse(model, p, t, y)
    res = fit(loss, model.init(jax.random.key(0)), y_true, optimizer=optax.adam(1e-2), steps=400, progress=False,
              lbfgs_steps=100)
    err = rel_rms(model(res.params, y0, t), y_true)
    assert err < 0.03, err


def test_pendulum_damping_recovered_through_solve_ivp():
    """Damped pendulum theta'' + gamma theta' + omega0^2 sin(theta) = 0, gamma = 0.3, omega0 = 1.2,
    one trajectory with 1% noise on [0, 10]. gamma and omega0 are fitted jointly from (0.1, 1.0)
    through the adaptive solve_ivp (Tsit5, rtol 1e-6). Bound: both within 2% of the truth."""
    true = DampedDrivenPendulum(gamma=0.3, omega0=1.2, amplitude=0.0, y0=(1.0, 0.0))
    t = np.linspace(0.0, 10.0, 51)
    data = scipy_trajectories(true, t, key=jax.random.key(0), noise=0.01)
    model = HybridODE(DampedDrivenPendulum(gamma=0.1, omega0=1.0, amplitude=0.0), None,
                      trainable=("gamma", "omega0"), method="Tsit5", rtol=1e-6, atol=1e-8)
    assert model.dt is None  # the adaptive solve_ivp path
    loss = lambda p, y: trajectory_mse(model, p, t, y)
    res = fit(loss, model.init(jax.random.key(1)), data.y, optimizer=optax.adam(2e-2), steps=150, progress=False)
    gamma, omega0 = (float(res.params["physics"][k]) for k in ("gamma", "omega0"))
    assert abs(gamma - 0.3) < 0.02 * 0.3, gamma
    assert abs(omega0 - 1.2) < 0.02 * 1.2, omega0
