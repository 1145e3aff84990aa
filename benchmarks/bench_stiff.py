"""Stiff test-set problems: scijax 'Radau' (Radau IIA), 'BDF' (variable-order NDF), 'LSODA' (Dormand-Prince 5(4) /
Rodas5 with stiffness switching) and 'Rodas5' against SciPy's Radau, BDF and LSODA, in one process.

Problems and reference solutions: the IVP test set of Mazzia and Magherini (tests/problems/stiff_testset.py).
For each problem and rtol (atol = the problem's factor * rtol) the table gives the median wall time of
warm runs (scijax jitted, compile excluded; SciPy plain calls), steps, nfev, njev, nlu, and the
significant correct digits scd = -log10(max relative error at the end time). The last column is the
time against SciPy's method of the same name (SciPy Radau for 'Rodas5').

Run from the repository root:
``PYTHONPATH=$PWD python benchmarks/bench_stiff.py [--repeat 5] [--rtols 1e-4,1e-7] [--ours Radau,BDF,LSODA,Rodas5]``.

``--large heat64,bruss16`` runs the large-system cases instead (``heat<N>``: 2-D heat equation on an N x N
grid; ``bruss<N>``: 2-D Brusselator with 2 N^2 states), with ``jac_sparsity`` at rtol 1e-6 (``--rtols``):
scijax 'BDF' and 'Radau' (banded block LU) against SciPy 'BDF' with ``jac_sparsity`` and SciPy 'LSODA' with
``lband``/``uband``; times include and exclude compilation, with the peak resident memory of the process.
Both keep only the end point (``t_eval``). On a loaded machine pin the process to one core
(``taskset -c 1``, ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``): XLA's thread hand-offs inside the
block LU's ``scan`` otherwise wait for time slices and the timings swing a hundredfold.
"""

import argparse
import os
import resource
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from _timing import median_time
from scipy.integrate import solve_ivp as scipy_solve_ivp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
jax.config.update("jax_enable_x64", True)

from scijax.solvers.integrate import solve_ivp  # noqa: E402
from tests.problems.stiff_testset import STIFF_PROBLEMS, scd  # noqa: E402

OURS = ["Radau", "BDF", "LSODA", "Rodas5"]
PEERS = ["Radau", "BDF", "LSODA"]


def main(repeat: int, rtols: list[float], names: list[str], ours: list[str]) -> None:
    print(f"jax {jax.__version__}, backend {jax.default_backend()}; medians of {repeat} warm runs")
    print("| problem | rtol | solver | time (ms) | steps | nfev | njev | nlu | scd | time / SciPy same name |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        p = STIFF_PROBLEMS[name]
        y0 = np.asarray(p.y0, dtype=float)
        for rtol in rtols:
            atol = p.atol_factor * rtol
            rows = []
            for m in PEERS:
                run = lambda m=m: scipy_solve_ivp(p.fun_np, p.t_span, y0, method=m, rtol=rtol, atol=atol)
                res = run()
                t = median_time(run, repeat=repeat)
                rows.append((f"SciPy {m}", t, res.t.size - 1, res.nfev, res.njev, res.nlu,
                             scd(res.y[:, -1], p.ref) if res.success else float("nan")))
            for m in ours:
                fn = jax.jit(lambda y, r, a, m=m: solve_ivp(p.fun, p.t_span, y, method=m, rtol=r, atol=a,
                                                             max_steps=20000))
                args = (jnp.asarray(y0), jnp.asarray(rtol), jnp.asarray(atol))
                res = jax.block_until_ready(fn(*args))
                t = median_time(lambda fn=fn, args=args: fn(*args).y, repeat=repeat)
                k = int(res.n_points) - 1
                label = f"scijax {m}"
                rows.append((label, t, int(res.n_steps), int(res.nfev), int(res.njev), int(res.nlu),
                             scd(np.asarray(res.y[:, k]), p.ref) if bool(res.success) else float("nan")))
            peer_time = {label.split()[-1]: t for label, t, *_ in rows[:len(PEERS)]}
            for label, t, steps, nfev, njev, nlu, digits in rows:
                t_ref = peer_time.get(label.split()[1], peer_time["Radau"])
                print(f"| {name} | {rtol:.0e} | {label} | {t * 1e3:.1f} | {steps} | {nfev} | {njev} | {nlu} | "
                      f"{digits:.2f} | {t / t_ref:.2f} |", flush=True)


def _laplacian_np(u):
    """5-point Laplacian of an (N, N) grid (natural ordering), zero Dirichlet values outside."""
    p = np.pad(u, 1)
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u


def _laplacian_jnp(u):
    p = jnp.pad(u, 1)
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u


def _neumann_laplacian(xp, u):
    """5-point Laplacian with zero-flux (mirror) boundaries: keeps the pattern banded, unlike periodic ones."""
    p = xp.pad(u, 1, mode="edge")
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u


def _large_problem(name: str):
    """(numpy f, jax f, y0, t_span, pattern, lower/upper bandwidth) of a large-system case."""
    import scipy.sparse as sp

    if name.startswith("heat"):
        n = int(name[4:])
        x = np.linspace(0, 1, n + 2)[1:-1]
        y0 = (16 * np.outer(x * (1 - x), x * (1 - x)) + np.exp(-100 * ((x[:, None] - 0.3) ** 2 + (x - 0.6) ** 2)))
        c = (n + 1) ** 2
        f_np = lambda t, y: c * _laplacian_np(y.reshape(n, n)).ravel()
        f_jx = lambda t, y: c * _laplacian_jnp(y.reshape(n, n)).ravel()
        t1 = sp.diags([1, 1, 1], [-1, 0, 1], shape=(n, n))
        pattern = sp.kron(sp.eye(n), t1) + sp.kron(t1, sp.eye(n))
        return f_np, f_jx, y0.ravel(), (0.0, 0.1), pattern, n
    n = int(name[5:])  # Brusselator (Hairer & Wanner II, IV.10), species interleaved per grid point
    alpha = 0.1 * (n + 1) ** 2 / 1.0
    x = np.linspace(0, 1, n)
    u0 = 22 * np.outer(x, (1 - x) ** 1.5)
    v0 = 27 * np.outer(x ** 1.5 * (1 - x), np.ones(n)) * 0 + 27 * np.outer(x * (1 - x) ** 1.5, np.ones(n)).T

    def make(xp):
        def f(t, y):
            w = y.reshape(n, n, 2)
            u, v = w[..., 0], w[..., 1]
            du = 1 + u * u * v - 4.4 * u + alpha * _neumann_laplacian(xp, u)
            dv = 3.4 * u - u * u * v + alpha * _neumann_laplacian(xp, v)
            return xp.stack([du, dv], axis=-1).reshape(-1)
        return f

    point = sp.csr_matrix(np.ones((2, 2)))
    t1 = sp.diags([1, 1, 1], [-1, 0, 1], shape=(n, n))
    grid = sp.kron(sp.eye(n), t1) + sp.kron(t1, sp.eye(n))
    pattern = sp.kron(grid, point)
    return make(np), make(jnp), np.stack([u0, v0], -1).ravel(), (0.0, 1.0), pattern, 2 * n + 1


def large(names: list[str], rtol: float, repeat: int, methods: list[str]) -> None:
    print(f"jax {jax.__version__}, backend {jax.default_backend()}; rtol {rtol:g}, atol {rtol * 1e-3:g}; "
          f"medians of {repeat} warm runs")
    print("| case | states | solver | first call (s) | warm (s) | steps | nfev | njev | nlu | max rel. diff. "
          "to SciPy BDF | warm / SciPy BDF | warm / SciPy LSODA |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        f_np, f_jx, y0, span, pattern, band = _large_problem(name)
        atol = rtol * 1e-3
        rows, ref = [], None
        for label, kw in [("SciPy BDF jac_sparsity", dict(method="BDF", jac_sparsity=pattern)),
                          ("SciPy LSODA lband/uband", dict(method="LSODA", lband=band, uband=band))]:
            run = lambda kw=kw: scipy_solve_ivp(f_np, span, y0, rtol=rtol, atol=atol, t_eval=[span[1]], **kw)
            start = time.perf_counter()
            res = run()
            first = time.perf_counter() - start
            ref = res.y[:, -1] if ref is None else ref
            t = median_time(run, repeat=repeat)
            steps = scipy_solve_ivp(f_np, span, y0, rtol=rtol, atol=atol, **kw).t.size - 1
            rows.append((label, first, t, steps, res.nfev, res.njev, res.nlu, res.y[:, -1]))
        for m in methods:
            # Only the end point is kept (t_eval): a buffer of every step would hold max_steps x n values.
            fn = jax.jit(lambda y, m=m: solve_ivp(f_jx, span, y, method=m, rtol=rtol, atol=atol, jac_sparsity=pattern,
                                                  t_eval=jnp.asarray([span[1]]), max_steps=5000))
            start = time.perf_counter()
            res = jax.block_until_ready(fn(jnp.asarray(y0)))
            first = time.perf_counter() - start
            t = median_time(lambda fn=fn: fn(jnp.asarray(y0)).y, repeat=repeat)
            k = int(res.n_points) - 1
            rows.append((f"scijax {m} jac_sparsity", first, t, int(res.n_steps), int(res.nfev), int(res.njev),
                         int(res.nlu), np.asarray(res.y[:, k])))
        for label, first, t, steps, nfev, njev, nlu, y_end in rows:
            diff = np.max(np.abs(y_end - ref)) / np.max(np.abs(ref))
            print(f"| {name} | {y0.size} | {label} | {first:.2f} | {t:.3f} | {steps} | {nfev} | {njev} | {nlu} | "
                  f"{diff:.1e} | {t / rows[0][2]:.2f} | {t / rows[1][2]:.2f} |", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak resident memory of the process: {peak:.2f} GB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rtols", default="1e-4,1e-7")
    parser.add_argument("--problems", default=",".join(STIFF_PROBLEMS))
    parser.add_argument("--ours", default=",".join(OURS))
    parser.add_argument("--large", default="", help="large-system cases, e.g. heat64,bruss16,heat256")
    a = parser.parse_args()
    if a.large:
        rtol = float(a.rtols.split(",")[0]) if a.rtols != "1e-4,1e-7" else 1e-6
        large(a.large.split(","), rtol, a.repeat, [m for m in a.ours.split(",") if m in ("BDF", "Radau")])
        sys.exit(0)
    main(a.repeat, [float(r) for r in a.rtols.split(",")], a.problems.split(","), a.ours.split(","))
