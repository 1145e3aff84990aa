"""solve_hamiltonian: long-time conservation, design orders, transformations, errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scijax.physics import HarmonicOscillator, Kepler, NBody, nbody_angular_momentum, solve_hamiltonian

KEPLER = Kepler()
Q0, P0 = KEPLER.y0[:2], KEPLER.y0[2:]


def test_kepler_energy_drift_is_bounded_over_1e5_leapfrog_steps():
    sol = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, 1000.0), n_steps=100_000, save_every=100)
    assert sol.n_steps == 100_000 and sol.q.shape == (1001, 2) and bool(sol.success)
    energy = jax.vmap(Kepler.hamiltonian)(sol.q, sol.p)
    error = np.abs(np.asarray(energy - energy[0]))
    # dt = 0.01 on an e = 0.5 orbit: leapfrog's energy error oscillates at O(dt^2) ...
    assert error.max() < 1e-3
    # ... and does not grow: the last tenth of the run (~16 orbits) is no worse than the first.
    assert error[-100:].max() < 2 * error[:100].max()
    # The force is central, so leapfrog conserves angular momentum up to round-off.
    ang = sol.q[:, 0] * sol.p[:, 1] - sol.q[:, 1] * sol.p[:, 0]
    np.testing.assert_allclose(ang, ang[0], atol=1e-10)


@pytest.mark.parametrize(("method", "order"), [("symplectic_euler", 1), ("leapfrog", 2), ("yoshida4", 4)])
def test_convergence_order_on_kepler(method, order):
    t_end = 2.0
    exact = KEPLER.solution(t_end)
    sizes = np.array([50, 100, 200])
    errors = []
    for n in sizes:
        sol = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, t_end), n_steps=int(n), method=method)
        errors.append(float(jnp.max(jnp.abs(jnp.concatenate([sol.q[-1], sol.p[-1]]) - exact))))
    observed = -np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert order - 0.25 < observed < order + 0.4, (observed, errors)


def test_velocity_verlet_is_leapfrog_and_dt_lands_on_t_end():
    a = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, 1.0), dt=0.03, method="velocity_verlet")
    b = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, 1.0), n_steps=34, method="leapfrog")
    assert a.n_steps == 34  # ceil(1 / 0.03)
    np.testing.assert_allclose(a.q, b.q, rtol=1e-14)
    np.testing.assert_allclose(a.t[-1], 1.0, rtol=1e-14)
    np.testing.assert_allclose(a["t"], jnp.linspace(0.0, 1.0, 35), rtol=1e-14)


def test_nbody_conserves_momentum_and_angular_momentum():
    rng = np.random.default_rng(0)
    masses = jnp.asarray(rng.uniform(0.5, 2.0, 5))
    q0 = jnp.asarray(rng.standard_normal((5, 3)))
    p0 = masses[:, None] * jnp.asarray(0.3 * rng.standard_normal((5, 3)))
    args = (masses, 1.0, 0.5)  # softened: no close encounter spoils the energy check
    sol = solve_hamiltonian(NBody.hamiltonian, q0, p0, (0.0, 5.0), n_steps=2000, args=args, save_every=20)
    momentum = sol.p.sum(axis=1)
    np.testing.assert_allclose(momentum, np.broadcast_to(momentum[0], momentum.shape), atol=1e-12)
    ang = jax.vmap(lambda q, p: nbody_angular_momentum(q, p / masses[:, None], masses))(sol.q, sol.p)
    np.testing.assert_allclose(ang, np.broadcast_to(ang[0], ang.shape), atol=1e-11)
    energy = jax.vmap(lambda q, p: NBody.hamiltonian(q, p, *args))(sol.q, sol.p)
    np.testing.assert_allclose(energy, energy[0], rtol=1e-3)
    # Positions moved, so the conservation above is not trivially true.
    assert float(jnp.max(jnp.abs(sol.q[-1] - q0))) > 0.1


def test_time_reversible():
    fwd = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, 3.0), n_steps=300)
    back = solve_hamiltonian(Kepler.hamiltonian, fwd.q[-1], fwd.p[-1], (3.0, 0.0), n_steps=300)
    np.testing.assert_allclose(back.q[-1], Q0, atol=1e-11)
    np.testing.assert_allclose(back.p[-1], P0, atol=1e-11)


@functools.partial(jax.jit, static_argnames="method")
def oscillator_end(q0, p0, omega, t_end, method="yoshida4"):
    sol = solve_hamiltonian(HarmonicOscillator.hamiltonian, q0, p0, (0.0, t_end), n_steps=64, args=(omega,),
                            method=method)  # fmt: skip
    return sol.q[-1, 0]


def test_grad_matches_finite_differences():
    q0, p0, omega, t_end = jnp.array([1.0]), jnp.array([0.5]), jnp.array(1.3), jnp.array(2.0)
    grads = jax.grad(oscillator_end, argnums=(0, 1, 2, 3))(q0, p0, omega, t_end)
    eps = 1e-6
    fd = [
        (oscillator_end(q0 + eps, p0, omega, t_end) - oscillator_end(q0 - eps, p0, omega, t_end)) / (2 * eps),
        (oscillator_end(q0, p0 + eps, omega, t_end) - oscillator_end(q0, p0 - eps, omega, t_end)) / (2 * eps),
        (oscillator_end(q0, p0, omega + eps, t_end) - oscillator_end(q0, p0, omega - eps, t_end)) / (2 * eps),
        (oscillator_end(q0, p0, omega, t_end + eps) - oscillator_end(q0, p0, omega, t_end - eps)) / (2 * eps),
    ]
    for g, f in zip(grads, fd, strict=True):
        np.testing.assert_allclose(jnp.ravel(g), jnp.ravel(f), rtol=1e-6)
    # and both agree with the exact flow to the method's accuracy
    x = lambda q0, p0, w, t: q0 * jnp.cos(w * t) + p0 / w * jnp.sin(w * t)
    exact = jax.grad(x, argnums=2)(1.0, 0.5, 1.3, 2.0)
    np.testing.assert_allclose(grads[2], exact, rtol=1e-5)


def test_vmap_matches_loop_and_no_recompilation():
    q0s = jnp.linspace(0.5, 1.5, 4)[:, None]
    batched = jax.vmap(oscillator_end, in_axes=(0, None, None, None))(q0s, jnp.array([0.0]), 1.0, 2.0)
    looped = jnp.stack([oscillator_end(q, jnp.array([0.0]), 1.0, 2.0) for q in q0s])
    np.testing.assert_allclose(batched, looped, rtol=1e-13)

    traces = []

    @jax.jit
    def run(q0, omega, t_end):
        traces.append(None)
        return solve_hamiltonian(HarmonicOscillator.hamiltonian, q0, jnp.zeros(1), (0.0, t_end), n_steps=10,
                                 args=(omega,)).q[-1]  # fmt: skip

    run(jnp.array([1.0]), 1.0, 1.0)
    run(jnp.array([2.0]), 3.0, 0.5)
    assert len(traces) == 1


def test_float32():
    sol = solve_hamiltonian(Kepler.hamiltonian, Q0.astype(jnp.float32), P0.astype(jnp.float32), (0.0, 1.0), dt=0.01)
    assert sol.q.dtype == sol.p.dtype == sol.t.dtype == jnp.float32
    ref = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, 1.0), dt=0.01)
    np.testing.assert_allclose(sol.q, ref.q, atol=1e-4)


def test_non_finite_state_is_reported():
    sol = solve_hamiltonian(lambda q, p: 0.5 * jnp.sum(p**2) - jnp.sum(q**4), jnp.array([10.0]), jnp.array([0.0]),
                            (0.0, 10.0), dt=0.5)  # fmt: skip
    assert not bool(sol.success) and int(sol.status) == -1
    assert "non-finite" in sol.message
    ok = solve_hamiltonian(Kepler.hamiltonian, Q0, P0, (0.0, 1.0), dt=0.1)
    assert bool(ok.success) and "end" in ok.message


def test_bad_inputs_raise_clear_errors():
    H = HarmonicOscillator.hamiltonian
    one = jnp.ones(1)
    with pytest.raises(ValueError, match="`method`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0), dt=0.1, method="rk4")
    with pytest.raises(ValueError, match="`q0` and `p0`"):
        solve_hamiltonian(H, one, jnp.ones(2), (0.0, 1.0), dt=0.1)
    with pytest.raises(ValueError, match="exactly one of `dt` and `n_steps`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0))
    with pytest.raises(ValueError, match="exactly one of `dt` and `n_steps`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0), dt=0.1, n_steps=10)
    with pytest.raises(ValueError, match="`dt`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0), dt=-0.1)
    with pytest.raises(ValueError, match="`n_steps`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0), n_steps=0)
    with pytest.raises(ValueError, match="`t_span`"):
        solve_hamiltonian(H, one, one, (1.0, 1.0), dt=0.1)
    with pytest.raises(ValueError, match="`t_span`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0, 2.0), dt=0.1)
    with pytest.raises(ValueError, match="`H` must return a scalar"):
        solve_hamiltonian(lambda q, p: q * p, jnp.ones(2), jnp.ones(2), (0.0, 1.0), dt=0.1)
    with pytest.raises(ValueError, match="`save_every`"):
        solve_hamiltonian(H, one, one, (0.0, 1.0), n_steps=10, save_every=3)
    with pytest.raises(TypeError, match="`n_steps`"):
        jax.jit(lambda t1: solve_hamiltonian(H, one, one, (0.0, t1), dt=0.1).q)(1.0)
