"""``solve_bvp`` against SciPy, in one process, on three of SciPy's test problems, plus a batch.

    python benchmarks/bench_bvp.py

On a shared or busy machine, pin both sides to one thread:

    OPENBLAS_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
        python benchmarks/bench_bvp.py

Cases: Bratu's problem from a guess that needs mesh refinement (25 nodes), the shock problem
(eps = 1e-3, ~100 nodes) and the Sturm-Liouville eigenvalue problem (unknown ``p``), each at SciPy's
default ``tol=1e-3``; scijax with ``max_nodes`` sized to the problem (256), jitted, timed after one
warm-up call (compilation excluded, and printed separately). The last rows solve Bratu's problem
for 64 values of the parameter: a SciPy loop against one ``vmap``, over [0.2, 3] (which includes a
start that fails near a fold and keeps the whole batch iterating) and over [1.5, 3]. The speed-up
column is SciPy's time over ours (above 1: scijax is faster).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.integrate as si  # noqa: E402
from _timing import median_time, print_table  # noqa: E402

from scijax.solvers.integrate import solve_bvp  # noqa: E402

MAX_NODES = 256
X5 = np.linspace(0.0, 1.0, 5)


def bratu(lib):
    return (lambda x, y, lam=1.0: lib.vstack([y[1], -lam * lib.exp(y[0])]),
            lambda ya, yb: lib.array([ya[0], yb[0]]))


def shock(lib, eps=1e-3):
    pi = np.pi
    return (lambda x, y: lib.vstack([y[1], -(x * y[1] + eps * pi**2 * lib.cos(pi * x)
                                             + pi * x * lib.sin(pi * x)) / eps]),
            lambda ya, yb: lib.array([ya[0] + 2, yb[0]]))


def sturm(lib):
    return (lambda x, y, p: lib.vstack([y[1], -p[0]**2 * y[0]]),
            lambda ya, yb, p: lib.array([ya[0], yb[0], ya[1] - p[0]]))


def case(name, make, x, y, p=None):
    f_np, bc_np = make(np)
    f_j, bc_j = make(jnp)
    ref = si.solve_bvp(f_np, bc_np, x, y, p=p)
    run = jax.jit(lambda y: solve_bvp(f_j, bc_j, x, y, p=p, max_nodes=MAX_NODES))
    start = time.perf_counter()
    ours = jax.block_until_ready(run(jnp.asarray(y)))
    compile_s = time.perf_counter() - start
    xs = np.linspace(x[0], x[-1], 101)
    diff = np.abs(np.asarray(ours.sol(xs)) - ref.sol(xs)).max()
    t_peer = median_time(lambda: si.solve_bvp(f_np, bc_np, x, y, p=p), repeat=5)
    t_ours = median_time(lambda: run(jnp.asarray(y)), repeat=5)
    note = (f"nodes {int(ours.n_nodes)} vs {ref.x.size}, max diff {diff:.1e}, "
            f"first call (compile) {compile_s:.1f} s")
    return name, t_peer, t_ours, note


def batch_case(n_batch=64, lo=0.2, hi=3.0):
    lams = np.linspace(lo, hi, n_batch)
    bc_np, bc_j = bratu(np)[1], bratu(jnp)[1]
    y0 = np.zeros((2, 5))
    y0[0] = 3.0  # needs refinement

    def peer():
        return [si.solve_bvp(lambda x, y, lam=lam: np.vstack([y[1], -lam * np.exp(y[0])]), bc_np, X5, y0)
                for lam in lams]

    def one(lam):
        res = solve_bvp(lambda x, y: jnp.vstack([y[1], -lam * jnp.exp(y[0])]), bc_j, X5, y0,
                        max_nodes=MAX_NODES)
        return res.sol(0.5)[0], res.status

    batched = jax.jit(jax.vmap(one))
    jax.block_until_ready(batched(jnp.asarray(lams)))
    ours, status = (np.asarray(v) for v in batched(jnp.asarray(lams)))
    refs = peer()
    both = (status == 0) & np.array([r.status == 0 for r in refs])
    same = np.abs(ours - np.array([r.sol(0.5)[0] for r in refs])) < 1e-5
    t_peer = median_time(peer, repeat=3)
    t_ours = median_time(lambda: batched(jnp.asarray(lams)), repeat=3)
    # Bratu has two solutions below lam = 3.51: a few starts reach the other branch than SciPy's.
    return (f"Bratu x{n_batch}, lam in [{lo}, {hi}] (vmap vs loop)", t_peer, t_ours,
            f"both converged {both.sum()}/{n_batch}, same solution {(same & both).sum()}")


def main() -> None:
    y_bratu = np.zeros((2, 5))
    y_bratu[0] = 3.0
    y_sl = np.zeros((2, 5))
    y_sl[0, 1], y_sl[0, 3] = 1.0, -1.0
    rows = [
        case("Bratu (25 nodes)", bratu, X5, y_bratu),
        case("shock eps=1e-3", shock, np.linspace(-1.0, 1.0, 5), np.zeros((2, 5))),
        case("Sturm-Liouville (p)", sturm, X5, y_sl, p=np.array([5.0])),
        batch_case(),
        batch_case(lo=1.5),
    ]
    print_table(rows, peer="SciPy")


if __name__ == "__main__":
    main()
