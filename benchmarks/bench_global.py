"""differential_evolution against SciPy's on standard global test functions, same settings.

Both run SciPy's defaults for ``popsize``, ``tol``, ``mutation`` and ``recombination`` with the
L-BFGS-B polish; SciPy uses its default ``updating='immediate'`` (one evaluation at a time) and
``vectorized=False``, scijax its default ``'deferred'`` (a whole generation as one batch). For each
function and dimension: success rate over seeds (|f - f*| < 1e-4), median nfev and the median time
of a compiled call (scijax) against SciPy's call. Usage: ``python benchmarks/bench_global.py [--full]``.

``--solver dual_annealing``: both with SciPy's defaults (``maxiter=1000``, L-BFGS-B local search;
SciPy's uses finite differences, ours autodiff), the same seeds; success as above. Then 16 seeds
as one ``vmap``-ed call against a loop of 16 SciPy calls (multi-start batching).
``--solver direct``: DIRECT-L and DIRECT at SciPy's default budget (``maxfun = 1000 N``) on the
same functions (deterministic: one run each); the error |f - f*| both reach, nfev and time (scijax's
second call, its evaluations already compiled).
``--solver shgo``: SciPy's defaults on the same functions (deterministic), for each sampling method
(Sobol with ``n=128``); the error |f - f*| both reach, sample points, nfev and time (scijax's second
call, its sampling and local searches already compiled).
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize as so

jax.config.update("jax_enable_x64", True)

from scijax.solvers.optimize import differential_evolution, direct, dual_annealing, shgo  # noqa: E402

# name -> (jax function, numpy function, half-width of the box, f*)
FUNCTIONS = {
    "sphere": (lambda x: jnp.sum(x**2), lambda x: np.sum(x**2), 5.12, 0.0),
    "rosenbrock": (lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2), so.rosen, 2.048, 0.0),
    "rastrigin": (lambda x: 10 * x.size + jnp.sum(x**2 - 10 * jnp.cos(2 * jnp.pi * x)),
                  lambda x: 10 * x.size + np.sum(x**2 - 10 * np.cos(2 * np.pi * x)), 5.12, 0.0),
    "ackley": (lambda x: -20 * jnp.exp(-0.2 * jnp.sqrt(jnp.mean(x**2))) - jnp.exp(jnp.mean(jnp.cos(2 * jnp.pi * x)))
               + 20 + jnp.e,
               lambda x: -20 * np.exp(-0.2 * np.sqrt(np.mean(x**2))) - np.exp(np.mean(np.cos(2 * np.pi * x)))
               + 20 + np.e, 32.768, 0.0),
    "griewank": (lambda x: 1 + jnp.sum(x**2) / 4000 - jnp.prod(jnp.cos(x / jnp.sqrt(jnp.arange(1, x.size + 1)))),
                 lambda x: 1 + np.sum(x**2) / 4000 - np.prod(np.cos(x / np.sqrt(np.arange(1, x.size + 1)))),
                 600.0, 0.0),
}


def bench_dual_annealing(dims, seeds) -> None:
    print("| function | n | SciPy success | scijax success | SciPy nfev | scijax nfev | SciPy (ms) | scijax (ms) "
          "| speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (fj, fn, half, fstar) in FUNCTIONS.items():
        for n in dims:
            bounds = [(-half, half)] * n
            sp = {"ok": [], "nfev": [], "t": []}
            sj = {"ok": [], "nfev": [], "t": []}
            run = jax.jit(lambda key, b=bounds, f=fj: dual_annealing(f, b, rng=key))
            jax.block_until_ready(run(jax.random.key(99)))  # compile once
            for s in seeds:
                t0 = time.perf_counter()
                r = so.dual_annealing(fn, bounds, rng=s)
                sp["t"].append(time.perf_counter() - t0)
                sp["ok"].append(abs(r.fun - fstar) < 1e-4)
                sp["nfev"].append(r.nfev)
                t0 = time.perf_counter()
                q = jax.block_until_ready(run(jax.random.key(s)))
                sj["t"].append(time.perf_counter() - t0)
                sj["ok"].append(abs(float(q.fun) - fstar) < 1e-4)
                sj["nfev"].append(int(q.nfev))
            ts, tj = statistics.median(sp["t"]), statistics.median(sj["t"])
            print(f"| {name} | {n} | {sum(sp['ok'])}/{len(seeds)} | {sum(sj['ok'])}/{len(seeds)} | "
                  f"{statistics.median(sp['nfev']):.0f} | {statistics.median(sj['nfev']):.0f} | "
                  f"{ts * 1e3:.1f} | {tj * 1e3:.1f} | {ts / tj:.1f}x |")


def bench_dual_annealing_batch(n: int, batch: int) -> None:
    """``batch`` seeds as one ``jax.vmap``-ed call against a loop of SciPy calls (multi-start)."""
    print("| function | n | seeds | SciPy successes | scijax successes | SciPy loop (ms) | scijax vmap (ms) "
          "| speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ("rastrigin", "ackley"):
        fj, fn, half, fstar = FUNCTIONS[name]
        bounds = [(-half, half)] * n
        run = jax.jit(jax.vmap(lambda key, b=bounds, f=fj: dual_annealing(f, b, rng=key).fun))
        keys = jax.random.split(jax.random.key(0), batch)
        jax.block_until_ready(run(keys))
        t0 = time.perf_counter()
        ref = [so.dual_annealing(fn, bounds, rng=s).fun for s in range(batch)]
        ts = time.perf_counter() - t0
        t0 = time.perf_counter()
        funs = np.asarray(jax.block_until_ready(run(keys)))
        tj = time.perf_counter() - t0
        ok_s = sum(abs(f - fstar) < 1e-4 for f in ref)
        ok_j = int(np.sum(np.abs(funs - fstar) < 1e-4))
        print(f"| {name} | {n} | {batch} | {ok_s}/{batch} | {ok_j}/{batch} | {ts * 1e3:.1f} | {tj * 1e3:.1f} | "
              f"{ts / tj:.1f}x |")


def bench_direct(dims) -> None:
    print("| function | n | variant | SciPy abs(f - f*) | scijax abs(f - f*) | SciPy nfev | scijax nfev | SciPy (ms) "
          "| scijax (ms) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (fj, fn, half, fstar) in FUNCTIONS.items():
        for n in dims:
            bounds = [(-half, half)] * n
            for lb in (True, False):
                direct(fj, bounds, locally_biased=lb)  # compile the batched evaluations
                t0 = time.perf_counter()
                r = so.direct(fn, bounds, locally_biased=lb)
                ts = time.perf_counter() - t0
                t0 = time.perf_counter()
                q = direct(fj, bounds, locally_biased=lb)
                tj = time.perf_counter() - t0
                print(f"| {name} | {n} | {'DIRECT-L' if lb else 'DIRECT'} | {abs(r.fun - fstar):.2e} | "
                      f"{abs(float(q.fun) - fstar):.2e} | {r.nfev} | {int(q.nfev)} | {ts * 1e3:.1f} | "
                      f"{tj * 1e3:.1f} | {ts / tj:.1f}x |")


def bench_shgo(dims) -> None:
    print("| function | n | sampling | SciPy abs(f - f*) | scijax abs(f - f*) | SciPy nfev | scijax nfev | SciPy (ms) "
          "| scijax (ms) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (fj, fn, half, fstar) in FUNCTIONS.items():
        for n in dims:
            bounds = [(-half, half)] * n
            for method, size in (("simplicial", 100), ("sobol", 128)):
                shgo(fj, bounds, n=size, sampling_method=method)  # compile
                t0 = time.perf_counter()
                r = so.shgo(fn, bounds, n=size, sampling_method=method)
                ts = time.perf_counter() - t0
                t0 = time.perf_counter()
                q = shgo(fj, bounds, n=size, sampling_method=method)
                tj = time.perf_counter() - t0
                print(f"| {name} | {n} | {method} | {abs(r.fun - fstar):.2e} | {abs(float(q.fun) - fstar):.2e} | "
                      f"{r.nfev} | {int(q.nfev)} | {ts * 1e3:.1f} | {tj * 1e3:.1f} | {ts / tj:.1f}x |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="10 and 30 dimensions, 5 seeds (default: 5-D, 3 seeds)")
    ap.add_argument("--solver", choices=("differential_evolution", "dual_annealing", "direct", "shgo"),
                    default="differential_evolution")
    ap.add_argument("--dims", type=int, nargs="*", help="dimensions (overrides the defaults above)")
    opts = ap.parse_args()
    if opts.solver == "dual_annealing":
        bench_dual_annealing(opts.dims or ((10, 30) if opts.full else (5,)), range(5) if opts.full else range(3))
        bench_dual_annealing_batch((opts.dims or (5,))[0], 16)
        return
    if opts.solver == "direct":
        bench_direct(opts.dims or ((10, 30) if opts.full else (2, 5)))
        return
    if opts.solver == "shgo":
        bench_shgo(opts.dims or ((10,) if opts.full else (2, 5)))
        return
    dims, seeds, maxiter = ((10, 30), range(5), 1000) if opts.full else ((5,), range(3), 300)
    print("| function | n | SciPy success | scijax success | SciPy nfev | scijax nfev | SciPy (ms) | scijax (ms) "
          "| speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (fj, fn, half, fstar) in FUNCTIONS.items():
        for n in dims:
            bounds = [(-half, half)] * n
            sp = {"ok": [], "nfev": [], "t": []}
            sj = {"ok": [], "nfev": [], "t": []}
            run = jax.jit(lambda key, b=bounds, f=fj: differential_evolution(f, b, rng=key, maxiter=maxiter))
            jax.block_until_ready(run(jax.random.key(99)))  # compile once
            for s in seeds:
                t0 = time.perf_counter()
                r = so.differential_evolution(fn, bounds, rng=s, maxiter=maxiter)
                sp["t"].append(time.perf_counter() - t0)
                sp["ok"].append(abs(r.fun - fstar) < 1e-4)
                sp["nfev"].append(r.nfev)
                t0 = time.perf_counter()
                q = jax.block_until_ready(run(jax.random.key(s)))
                sj["t"].append(time.perf_counter() - t0)
                sj["ok"].append(abs(float(q.fun) - fstar) < 1e-4)
                sj["nfev"].append(int(q.nfev))
            ts, tj = statistics.median(sp["t"]), statistics.median(sj["t"])
            print(f"| {name} | {n} | {sum(sp['ok'])}/{len(seeds)} | {sum(sj['ok'])}/{len(seeds)} | "
                  f"{statistics.median(sp['nfev']):.0f} | {statistics.median(sj['nfev']):.0f} | "
                  f"{ts * 1e3:.1f} | {tj * 1e3:.1f} | {ts / tj:.1f}x |")


if __name__ == "__main__":
    main()
