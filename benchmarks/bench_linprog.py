"""Benchmark: scijax ``linprog`` (homogeneous interior point in JAX) against SciPy's HiGHS.

    python benchmarks/bench_linprog.py           # n = 50, 500 and a 10^4-variable sparse-ish LP
    python benchmarks/bench_linprog.py --small   # n = 50 and 500 only

Random feasible, bounded LPs: ``A_ub`` (``m = 0.6 n`` rows, Gaussian, the large case with 1%
density), ``b_ub = A_ub @ x0 + slack`` with a feasible ``x0``, one dense equality row, box
bounds ``[-1, 1]``. Times are warm (compiled) medians; the table prints SciPy's time, ours,
the ratio (SciPy / scijax, above 1 means scijax is faster), |fun - fun_scipy| and the
interior-point iteration count. OpenBLAS runs single-threaded (see below). Also: 64 LPs of
size n = 50 solved as one ``vmap`` call against a SciPy loop.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
# LAPACK (OpenBLAS) threads oversubscribe a small, shared CPU: a 300x300 Cholesky then takes
# seconds instead of a millisecond. One thread is the fair setting here; override to compare.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy.optimize as so  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from benchmarks._timing import median_time  # noqa: E402
from scijax.solvers.optimize import linprog  # noqa: E402


def random_lp(n, m, density=1.0, seed=0):
    rng = np.random.default_rng(seed)
    if density < 1.0:
        A = sp.random(m, n, density=density, random_state=rng, data_rvs=rng.standard_normal)
        A = A.toarray()
    else:
        A = rng.standard_normal((m, n))
    x0 = rng.uniform(-0.5, 0.5, n)
    b = A @ x0 + rng.uniform(0.1, 1.0, m)
    A_eq = rng.standard_normal((1, n))
    b_eq = A_eq @ x0
    return rng.standard_normal(n), A, b, A_eq, b_eq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    cases = [("n=50, m=30", 50, 30, 1.0, 7), ("n=500, m=300", 500, 300, 1.0, 3)]
    if not args.small:
        cases.append(("n=10000, m=1000, 1% dense", 10_000, 1000, 0.01, 1))
    solve = jax.jit(lambda c, A, b, Ae, be: linprog(c, A, b, Ae, be, bounds=(-1, 1)))
    print(f"jax {jax.__version__}, backend {jax.default_backend()}")
    print("| LP | SciPy HiGHS (ms) | scijax (ms) | ratio | abs(fun - fun_scipy) | nit | compile (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, n, m, density, repeat in cases:
        c, A, b, Ae, be = random_lp(n, m, density)
        A_sc = sp.csr_matrix(A) if density < 1 else A
        ref = so.linprog(c, A_sc, b, Ae, be, bounds=(-1, 1))
        t0 = time.perf_counter()
        res = jax.block_until_ready(solve(c, A, b, Ae, be))
        compile_s = time.perf_counter() - t0
        t_sc = median_time(lambda: so.linprog(c, A_sc, b, Ae, be, bounds=(-1, 1)), repeat=repeat)
        t_us = median_time(lambda: solve(c, A, b, Ae, be), repeat=repeat)  # noqa: B023
        err = abs(float(res.fun) - ref.fun)
        print(
            f"| {name} | {t_sc * 1e3:.1f} | {t_us * 1e3:.1f} | {t_sc / t_us:.2f}x | {err:.1e} "
            f"| {int(res.nit)} | {compile_s - t_us:.1f} |"
        )
    # a batch of small LPs in one vmapped call
    batch = 64
    _, A, b, Ae, be = random_lp(50, 30)
    cs = np.random.default_rng(1).standard_normal((batch, 50))
    vsolve = jax.jit(jax.vmap(lambda c: linprog(c, A, b, Ae, be, bounds=(-1, 1))))
    res = jax.block_until_ready(vsolve(cs))
    refs = [so.linprog(ci, A, b, Ae, be, bounds=(-1, 1)) for ci in cs]
    t_sc = median_time(lambda: [so.linprog(ci, A, b, Ae, be, bounds=(-1, 1)) for ci in cs], 3)
    t_us = median_time(lambda: vsolve(cs), repeat=3)
    err = max(abs(float(f) - r.fun) for f, r in zip(res.fun, refs, strict=True))
    print(
        f"| {batch} x (n=50, m=30), vmap vs loop | {t_sc * 1e3:.1f} | {t_us * 1e3:.1f} "
        f"| {t_sc / t_us:.2f}x | {err:.1e} | {int(res.nit.max())} | |"
    )


if __name__ == "__main__":
    main()
