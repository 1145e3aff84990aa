"""Dense linear algebra against SciPy, in one process: Riccati, Toeplitz and pseudo-inverse solves.

    python benchmarks/bench_linalg_dense.py

On a shared or busy machine, pin both sides to one thread so neither spins on an oversubscribed
thread pool:

    OPENBLAS_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
        python benchmarks/bench_linalg_dense.py

Cases: ``solve_continuous_are`` (n=20 and n=100, m=n/4 inputs), ``solve_discrete_are`` (n=100),
``solve_toeplitz`` (n=500, one right-hand side) and ``pinv`` (200 x 100). scijax runs jitted, timed
after one warm-up call (compilation excluded); each time is the median of several runs. The
speed-up column is SciPy's time over ours (above 1: scijax is faster).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy.linalg as sl  # noqa: E402
from _timing import median_time, print_table  # noqa: E402

import scijax.solvers.linalg as L  # noqa: E402


def riccati_problem(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    m = max(1, n // 4)
    a = rng.standard_normal((n, n)) / np.sqrt(n)
    b = rng.standard_normal((n, m))
    return a, b, np.eye(n), np.eye(m)


def case(name, peer, ours, args, note="", repeat=9):
    fast = jax.jit(ours)
    jax.block_until_ready(fast(*args))  # compile
    err = np.abs(np.asarray(fast(*args)) - peer(*args)).max() / max(1.0, np.abs(peer(*args)).max())
    t_peer = median_time(lambda: peer(*args), repeat=repeat)
    t_ours = median_time(lambda: fast(*args), repeat=repeat)
    return name, t_peer, t_ours, f"{note}rel. diff {err:.1e}"


def main() -> None:
    rows = []
    for n in (20, 100):
        rows.append(case(f"solve_continuous_are n={n}", sl.solve_continuous_are, L.solve_continuous_are,
                         riccati_problem(n), "sign fn vs QZ; "))
    rows.append(case("solve_discrete_are n=100", sl.solve_discrete_are, L.solve_discrete_are,
                     riccati_problem(100, 1), "doubling vs QZ; "))
    rng = np.random.default_rng(2)
    c = np.concatenate([[10.0], rng.standard_normal(499) / 10])
    r = np.concatenate([[10.0], rng.standard_normal(499) / 10])
    b = rng.standard_normal(500)
    rows.append(case("solve_toeplitz n=500", lambda c, r, b: sl.solve_toeplitz((c, r), b),
                     lambda c, r, b: L.solve_toeplitz((c, r), b), (c, r, b), "Levinson both; "))
    a = rng.standard_normal((200, 100))
    rows.append(case("pinv 200x100", sl.pinv, L.pinv, (a,), "SVD both; "))
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}")
    print_table(rows, peer="SciPy")


if __name__ == "__main__":
    main()
