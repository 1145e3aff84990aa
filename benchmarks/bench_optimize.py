"""Benchmarks for scijax.solvers.optimize against SciPy, in one process.

    python benchmarks/bench_optimize.py           # full sizes
    python benchmarks/bench_optimize.py --small   # quick run

(a) Rosenbrock in 100 dimensions with L-BFGS-B, warm (compiled), against SciPy given the same
    analytic gradient: wall time per solve and per iteration.
(b) 10,000 fits of a 3-parameter model (a exp(-b t) + c, 50 points) in one vmapped ``curve_fit``
    call, against a SciPy ``curve_fit`` loop (the SciPy loop is timed on a subset and scaled).
(c) The gradient of a minimiser w.r.t. a parameter: implicit (scijax) against differentiating
    through the unrolled iterations (optimistix BFGS with RecursiveCheckpointAdjoint): time and
    the compiled program's temporary memory.
(d) First-call compile time of ``minimize`` for each method (a fresh function each time).
Timings are medians of several runs after a warm-up.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optimistix as optx  # noqa: E402
import scipy.optimize as so  # noqa: E402

from benchmarks._timing import median_time  # noqa: E402
from scijax.solvers.optimize import curve_fit, minimize  # noqa: E402


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def bench_rosenbrock(repeat):
    x0 = np.linspace(-1.2, 1.2, 100)
    solve = jax.jit(lambda x0: minimize(rosen, x0, method="L-BFGS-B"))
    res = solve(x0)
    t_ours = median_time(lambda: solve(x0), repeat)
    ref = so.minimize(so.rosen, x0, method="L-BFGS-B", jac=so.rosen_der)
    t_ref = median_time(lambda: so.minimize(so.rosen, x0, method="L-BFGS-B", jac=so.rosen_der), repeat)
    assert abs(float(res.fun) - ref.fun) < 1e-6, (res.fun, ref.fun)
    nit, nit_ref = int(res.nit), ref.nit
    return [
        ("(a) L-BFGS-B Rosenbrock n=100, per solve", t_ref, t_ours, f"nit scipy {nit_ref}, scijax {nit}"),
        ("(a) ... per iteration", t_ref / nit_ref, t_ours / nit, "same problem, analytic gradient"),
    ]


def model(t, a, b, c):
    return a * jnp.exp(-b * t) + c


def model_np(t, a, b, c):
    return a * np.exp(-b * t) + c


def bench_curve_fit(n_fits, n_scipy, repeat):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4, 50)
    truth = np.stack([rng.uniform(1, 3, n_fits), rng.uniform(0.5, 2, n_fits), rng.uniform(0, 1, n_fits)], 1)
    ys = model_np(t[None], *truth.T[..., None]) + 0.02 * rng.standard_normal((n_fits, 50))
    p0 = jnp.ones(3)
    fit = jax.jit(jax.vmap(lambda y: curve_fit(model, t, y, p0=p0)))
    popt, _ = fit(ys)
    t_ours = median_time(lambda: fit(ys), repeat)

    def scipy_loop():
        return [so.curve_fit(model_np, t, ys[i], p0=np.ones(3))[0] for i in range(n_scipy)]

    ref = np.array(scipy_loop())
    t_ref = median_time(scipy_loop, max(1, repeat // 2)) * n_fits / n_scipy
    np.testing.assert_allclose(np.asarray(popt[:n_scipy]), ref, rtol=1e-5, atol=1e-7)
    return [(f"(b) {n_fits} curve_fits, one vmapped call", t_ref, t_ours,
             f"SciPy loop timed on {n_scipy} fits and scaled")]


def bench_implicit_vs_unrolled(repeat):
    n = 50

    def objective(x, p):
        return jnp.sum((x - p) ** 2) + 0.5 * jnp.sum(x**4) + 0.1 * jnp.sum(x[1:] * x[:-1])

    def implicit_loss(p):
        return jnp.sum(minimize(objective, jnp.zeros(n), args=(p,), method="BFGS").x ** 2)

    def unrolled_loss(p):
        sol = optx.minimise(objective, optx.BFGS(rtol=1e-10, atol=1e-10), jnp.zeros(n), p,
                            adjoint=optx.RecursiveCheckpointAdjoint(), max_steps=2000, throw=False)
        return jnp.sum(sol.value ** 2)

    p = jnp.linspace(-1, 1, n)
    rows = []
    grads = []
    for name, loss in [("implicit", implicit_loss), ("unrolled", unrolled_loss)]:
        fn = jax.jit(jax.grad(loss))
        mem = fn.lower(p).compile().memory_analysis().temp_size_in_bytes
        grads.append(fn(p))
        rows.append((name, median_time(lambda fn=fn: fn(p), repeat), mem))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-8)
    (_, t_imp, m_imp), (_, t_unr, m_unr) = rows
    return [("(c) grad of a minimiser (n=50 BFGS), implicit vs unrolled", t_unr, t_imp,
             f"temp memory: unrolled {m_unr / 1e6:.2f} MB, implicit {m_imp / 1e6:.2f} MB")]


def bench_compile():
    rows = []
    methods = ["BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg", "trust-exact", "Nelder-Mead", "SLSQP"]
    x0 = np.array([-1.2, 1.0, 0.5, 0.3])
    for m in methods:
        f = lambda x, m=m: rosen(x)  # noqa: E731  (a fresh function: forces a compile)
        t0 = time.perf_counter()
        jax.block_until_ready(minimize(f, x0, method=m).x)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        jax.block_until_ready(minimize(f, x0, method=m).x)
        second = time.perf_counter() - t0
        rows.append((m, first, second))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="quick run with small sizes")
    a = parser.parse_args()
    repeat = 3 if a.small else 7
    n_fits, n_scipy = (1000, 100) if a.small else (10_000, 500)
    print(f"device: {jax.devices()[0].device_kind}, x64 on\n")
    rows = bench_rosenbrock(repeat) + bench_curve_fit(n_fits, n_scipy, repeat)
    rows += bench_implicit_vs_unrolled(repeat)
    print("| case | peer (ms) | scijax (ms) | speed-up | note |")
    print("| --- | --- | --- | --- | --- |")
    for case, t_peer, t_ours, note in rows:
        print(f"| {case} | {t_peer * 1e3:.3f} | {t_ours * 1e3:.3f} | {t_peer / t_ours:.2f}x | {note} |")
    print("\npeer: SciPy for (a), (b); differentiating through the unrolled iterations for (c).\n")
    print("| (d) method | first call incl. compile (s) | second call (ms) |")
    print("| --- | --- | --- |")
    for m, first, second in bench_compile():
        print(f"| {m} | {first:.2f} | {second * 1e3:.2f} |")


if __name__ == "__main__":
    main()
