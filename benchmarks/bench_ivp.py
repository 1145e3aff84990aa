"""solve_ivp against SciPy and raw diffrax, same problems, same tolerances, one process.

Run:  python benchmarks/bench_ivp.py [--small]

(a) one Lorenz solve, warm, vs SciPy RK45          (target >= 30x on CPU)
(b) 1,000 Lorenz parameter sets, vmapped, vs a SciPy loop (target >= 300x)
(c) stiff: Van der Pol mu=1000 on [0, 3000] and Robertson on [0, 1e5], vs SciPy Radau/BDF/LSODA
(d) first-call compile time (target RK45 <= 3 s)
(e) overhead vs calling diffrax directly with the same stepper and tolerances (target <= 1.15x)
(f) a second eager solve_ivp call with the same fun, vs SciPy
(g) with --large: 100,000 Lorenz parameter sets, jit(vmap(solve_ivp)) vs diffrax's jit(vmap) (target >= 10x),
    and the peak memory of the same batch with t_eval=None (target < 4 GB)

Run with OPENBLAS_NUM_THREADS=1. Case (b) is the plain batched call: explicit methods under vmap run
the structure-of-arrays engine (each member its own steps; see docs/integrate.md).
"""

import argparse
import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from _timing import median_time, print_table
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.solvers.integrate import solve_ivp

jax.config.update("jax_enable_x64", True)
TOL = {"rtol": 1e-6, "atol": 1e-6}


def lorenz(t, y, sigma, rho, beta):
    return jnp.stack([sigma * (y[1] - y[0]), y[0] * (rho - y[2]) - y[1], y[0] * y[1] - beta * y[2]])


def lorenz_np(t, y, sigma, rho, beta):
    return np.array([sigma * (y[1] - y[0]), y[0] * (rho - y[2]) - y[1], y[0] * y[1] - beta * y[2]])


def vdp(t, y, mu):
    return jnp.stack([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


def vdp_np(t, y, mu):
    return np.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


def robertson(t, y):
    return jnp.stack([-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                      3e7 * y[1] ** 2])


def robertson_np(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def _large_batch(yj, span, te, n=100_000):
    """(g) 1e5 Lorenz members: scijax's batched solve_ivp against diffrax's jit(vmap) of the same stepper."""
    rhos = jnp.linspace(20.0, 30.0, n)
    ts = jnp.asarray(te)
    ours = jax.jit(jax.vmap(lambda r: solve_ivp(lorenz, span, yj, args=(10.0, r, 8 / 3), t_eval=te, **TOL).y))

    @jax.jit
    @jax.vmap
    def peer(r):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: lorenz(t, y, *a)), diffrax.Dopri5(), 0.0, 1.0,
                                  None, yj, args=(10.0, r, 8 / 3), saveat=diffrax.SaveAt(ts=ts), max_steps=4096,
                                  stepsize_controller=diffrax.PIDController(error_order=5, **TOL))
        return sol.ys

    t_peer = median_time(lambda: peer(rhos), repeat=3)
    t_ours = median_time(lambda: ours(rhos), repeat=3)
    return (f"(g) Lorenz, {n} parameter sets, vmap (peer = diffrax jit(vmap))", t_peer, t_ours, "target >= 10x")


def main(small: bool, large: bool = False) -> None:
    y0 = np.array([1.0, 1.0, 1.0])
    p = (10.0, 28.0, 8.0 / 3.0)
    span = (0.0, 1.0)
    te = np.linspace(0.0, 1.0, 11)
    rows = []

    # (d) compile time, measured on the very first call
    start = time.perf_counter()
    jax.block_until_ready(solve_ivp(lorenz, span, jnp.asarray(y0), args=p, t_eval=te, **TOL).y)
    compile_s = time.perf_counter() - start

    # (a) one warm Lorenz solve
    t_sp = median_time(lambda: scipy_solve_ivp(lorenz_np, span, y0, args=p, t_eval=te, **TOL), repeat=7)
    one = jax.jit(lambda y0, p: solve_ivp(lorenz, span, y0, args=p, t_eval=te, **TOL).y)
    yj, pj = jnp.asarray(y0), tuple(jnp.asarray(v) for v in p)
    t_sj = median_time(lambda: one(yj, pj), repeat=21, number=10)
    rows.append(("(a) Lorenz, one solve, RK45, jit", t_sp, t_sj, "target >= 30x"))

    # (b) 1,000 parameter sets
    n = 100 if small else 1000
    rhos = np.linspace(20.0, 30.0, n)
    loop_n = min(n, 50)
    t_loop = median_time(lambda: [scipy_solve_ivp(lorenz_np, span, y0, args=(10.0, r, 8 / 3), t_eval=te, **TOL)
                                  for r in rhos[:loop_n]], repeat=3) * n / loop_n
    batched = jax.jit(jax.vmap(lambda r: solve_ivp(lorenz, span, yj, args=(10.0, r, 8 / 3), t_eval=te, **TOL).y))
    rj = jnp.asarray(rhos)
    t_b = median_time(lambda: batched(rj), repeat=7)
    rows.append((f"(b) Lorenz, {n} parameter sets, vmap", t_loop, t_b,
                 f"SciPy loop timed on {loop_n} and scaled; target >= 300x"))

    # (e) overhead against raw diffrax with the same stepper, tolerances and initial step
    ts = jnp.asarray(te)

    @jax.jit
    def raw(y0, p):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(lambda t, y, a: lorenz(t, y, *a)), diffrax.Dopri5(), 0.0, 1.0,
                                  None, y0, args=p, saveat=diffrax.SaveAt(ts=ts), max_steps=4096,
                                  stepsize_controller=diffrax.PIDController(error_order=5, **TOL))
        return sol.ys

    t_raw = median_time(lambda: raw(yj, pj), repeat=21, number=10)
    rows.append(("(e) Lorenz vs raw diffrax Dopri5 (peer = diffrax)", t_raw, t_sj,
                 "overhead = 1/speed-up; target <= 1.15x"))

    # (f) second eager call, same fun
    solve_ivp(lorenz, span, yj, args=p, t_eval=te, **TOL)
    t_eager = median_time(lambda: solve_ivp(lorenz, span, yj * 1.01, args=p, t_eval=te, **TOL).y, repeat=11)
    rows.append(("(f) Lorenz, repeated eager call", t_sp, t_eager, "no recompilation"))

    # (c) stiff problems
    stiff = [
        ("Van der Pol mu=1000, [0, 3000]", vdp, vdp_np, np.array([2.0, 0.0]), (0.0, 300.0 if small else 3000.0),
         (1000.0,)),
        ("Robertson, [0, 1e5]", robertson, robertson_np, np.array([1.0, 0.0, 0.0]), (0.0, 1e5), ()),
    ]
    stiff_tol = {"rtol": 1e-6, "atol": 1e-9}
    for name, f, f_np, y0s, sp, args in stiff:
        ours = jax.jit(lambda y0, a, f=f, sp=sp: solve_ivp(f, sp, y0, method="Radau", args=a, max_steps=20000,
                                                          **stiff_tol))
        res = ours(jnp.asarray(y0s), args)
        t_ours = median_time(lambda: ours(jnp.asarray(y0s), args).y, repeat=5)
        for m in ("Radau", "BDF", "LSODA"):
            ref = scipy_solve_ivp(f_np, sp, y0s, method=m, args=args, **stiff_tol)
            t_ref = median_time(lambda m=m: scipy_solve_ivp(f_np, sp, y0s, method=m, args=args, **stiff_tol),
                                repeat=3)
            dy = np.max(np.abs(np.asarray(res.y[:, int(res.n_points) - 1]) - ref.y[:, -1]))
            rows.append((f"(c) {name}: SciPy {m} vs scijax Radau", t_ref, t_ours,
                         f"steps SciPy {ref.t.size - 1}, scijax {int(res.n_steps)}; max |dy_final| {dy:.1e}"))

    if large:
        rows.append(_large_batch(yj, span, te))

    print(f"jax {jax.__version__}, diffrax {diffrax.__version__}, backend {jax.default_backend()}")
    print(f"(d) first call (trace + compile + run), RK45 Lorenz: {compile_s:.2f} s (target <= 3 s)")
    print_table(rows, peer="peer")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="smaller batch and stiff span, for a quick check")
    parser.add_argument("--large", action="store_true", help="add case (g): 1e5 members vs diffrax's vmap")
    args = parser.parse_args()
    main(args.small, args.large)
