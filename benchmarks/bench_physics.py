"""scijax.physics against SciPy/NumPy on the same discretisations, one process.

Run:  python benchmarks/bench_physics.py [--small]

(a) 2-D heat equation on a 256x256 grid (Dirichlet, method of lines), RK45 at the same tolerances:
    scijax ``solve_ivp(Heat(...).rhs, ...)`` against SciPy's ``solve_ivp`` on a NumPy 5-point
    Laplacian. The explicit method is stability-limited (~1,000 steps); a stiff solver with a dense
    Jacobian is not an option at 65,536 unknowns on either side.
(b) 1,000 leapfrog steps of N = 1,024 gravitating bodies (all pairs, softened): scijax
    ``solve_hamiltonian`` (forces by autodiff, steps in ``lax.scan``) against a vectorised NumPy
    velocity Verlet with the analytic force.

Times are medians of warm runs (compilation excluded; it is reported separately).
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from _timing import median_time, print_table
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.physics import Heat, NBody, nbody_accelerations, solve_hamiltonian
from scijax.solvers.integrate import solve_ivp

jax.config.update("jax_enable_x64", True)
TOL = {"rtol": 1e-6, "atol": 1e-9}


def heat_rhs_numpy(t, y, D, n, h):
    """The same Dirichlet 5-point Laplacian as ``scijax.physics.laplacian``, in NumPy."""
    u = np.zeros((n + 2, n + 2))
    u[1:-1, 1:-1] = y.reshape(n, n)
    lap = (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4 * u[1:-1, 1:-1]) / h**2
    return D * lap.ravel()


def bench_heat(n: int, t_end: float, repeat: int):
    model = Heat(D=1.0, shape=(n, n), bc="dirichlet")
    h = 1.0 / (n + 1)
    t_eval = np.array([t_end])
    # A hot square: unlike the smooth eigenmode ``model.y0`` it excites every grid mode, so the
    # explicit method is held to its stability limit, as in practice.
    x = (np.arange(n) + 1) * h
    hot = ((np.abs(x[:, None] - 0.5) < 0.2) & (np.abs(x[None, :] - 0.5) < 0.2)).astype(float).ravel()

    def ours():
        return solve_ivp(model.rhs, (0.0, t_end), hot, t_eval=t_eval, args=model.params, max_steps=16384, **TOL)

    def peer():
        return scipy_solve_ivp(heat_rhs_numpy, (0.0, t_end), hot, t_eval=t_eval, args=(1.0, n, h), **TOL)

    start = time.perf_counter()
    res = ours()
    compile_s = time.perf_counter() - start
    ref = peer()
    diff = float(np.max(np.abs(np.asarray(res.y) - ref.y)))
    note = f"{int(ref.nfev)} vs {int(res.nfev)} fevals; max diff {diff:.1e}; first call {compile_s:.1f} s"
    return (f"heat 2-D {n}x{n}, t=[0, {t_end:g}]", median_time(peer, repeat), median_time(ours, repeat), note)


def nbody_numpy(q, v, masses, G, eps, dt, steps):
    """Velocity Verlet with the analytic pairwise force, vectorised over all pairs."""

    def acc(x):
        d = x[None, :, :] - x[:, None, :]
        inv = (np.einsum("ijk,ijk->ij", d, d) + eps**2) ** -1.5
        np.fill_diagonal(inv, 0.0)
        return G * np.einsum("ijk,ij,j->ik", d, inv, masses)

    a = acc(q)
    for _ in range(steps):
        v = v + 0.5 * dt * a
        q = q + dt * v
        a = acc(q)
        v = v + 0.5 * dt * a
    return q, v


def bench_nbody(n_bodies: int, steps: int, repeat: int):
    rng = np.random.default_rng(0)
    masses = rng.uniform(0.5, 1.5, n_bodies) / n_bodies
    q0 = rng.standard_normal((n_bodies, 3))
    v0 = 0.1 * rng.standard_normal((n_bodies, 3))
    dt, eps, G = 1e-3, 0.05, 1.0
    args = (jnp.asarray(masses), G, eps)

    @jax.jit
    def run(q0, p0, args):
        sol = solve_hamiltonian(NBody.hamiltonian, q0, p0, (0.0, dt * steps), n_steps=steps, args=args,
                                save_every=steps)  # fmt: skip
        return sol.q[-1], sol.p[-1]

    p0 = jnp.asarray(masses[:, None] * v0)
    start = time.perf_counter()
    jax.block_until_ready(run(jnp.asarray(q0), p0, args))
    compile_s = time.perf_counter() - start
    ours = lambda: run(jnp.asarray(q0), p0, args)
    peer = lambda: nbody_numpy(q0, v0, masses, G, eps, dt, steps)
    q_ours, _ = ours()
    q_peer, _ = peer()
    diff = float(np.max(np.abs(np.asarray(q_ours) - q_peer)))
    # sanity: autodiff forces equal the analytic ones
    force_diff = float(np.max(np.abs(
        -jax.grad(lambda q: NBody.hamiltonian(q, p0, *args))(jnp.asarray(q0)) / masses[:, None]
        - nbody_accelerations(q0, masses, G, eps)
    )))  # fmt: skip
    note = f"max position diff {diff:.1e}; force check {force_diff:.1e}; first call {compile_s:.1f} s"
    return (f"N-body N={n_bodies}, {steps} leapfrog steps", median_time(peer, repeat), median_time(ours, repeat), note)


def main(small: bool) -> None:
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; float64")
    rows = [
        bench_heat(64 if small else 256, 1e-2 if small else 2e-3, 3),
        bench_nbody(256 if small else 1024, 100 if small else 1000, 3),
    ]
    print_table(rows, peer="SciPy/NumPy")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="64x64 heat and 256 bodies x 100 steps, for a quick check")
    main(parser.parse_args().small)
