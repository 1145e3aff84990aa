"""Drop-in costs: NumPy-written user functions on the host path, and lambdas re-created in a loop.

1. Host path: the same NumPy-written function solved by SciPy and by scijax (which runs it through
   ``jax.pure_callback`` inside its compiled loop). Prints total time, function evaluations, and
   the time per evaluation of each, so the per-call overhead of the callback is visible.
2. Loop closures: ``for k in ks: solver(lambda ...: ... k ...)``; the median time of iterations
   2.. against a repeat call with one fixed function (target: within 3x).

Run: ``PYTHONPATH=$PWD python benchmarks/bench_dropin.py``.
"""

import math
import statistics
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate as si
import scipy.optimize as so
from _timing import median_time

from scijax import NotTraceableWarning
from scijax.solvers import integrate as sji
from scijax.solvers import optimize as sjo

jax.config.update("jax_enable_x64", True)
warnings.simplefilter("ignore", NotTraceableWarning)


def oscillator(t, y, k):
    return np.array([y[1], -k * y[0]])


def oscillator_jnp(t, y, k):
    return jnp.array([y[1], -k * y[0]])


def quartic(x):
    return float(np.sum((x - 1.0) ** 4 + (x - 1.0) ** 2))  # float(): not traceable


def quartic_jnp(x):
    return jnp.sum((x - 1.0) ** 4 + (x - 1.0) ** 2)


def residuals(p, t, y):
    return p[0] * np.exp(-p[1] * t) - y


def residuals_jnp(p, t, y):
    return p[0] * jnp.exp(-p[1] * t) - y


def host_path() -> None:
    """Per call: SciPy, scijax on the host path, and scijax with the same function in jax.numpy.

    ``(host - compiled) / nfev`` is the cost of one host evaluation inside our compiled loop (the
    ``pure_callback`` round trip plus our wrapper); SciPy's ``total / nfev`` is its cost per
    evaluation (its Python loop plus the function)."""
    t = np.linspace(0.0, 3.0, 30)
    y = 2.0 * np.exp(-1.3 * t)
    x0 = np.array([3.0, -1.0, 0.5])
    cases = [
        ("solve_ivp RK45", lambda m, f: m.solve_ivp(f, (0.0, 10.0), np.array([1.0, 0.0]), args=(2.0,), rtol=1e-8,
                                                    atol=1e-10), lambda r: r.nfev, (si, sji),
         (oscillator, oscillator_jnp)),
        ("minimize BFGS (host: 2-point gradient)", lambda m, f: m.minimize(f, x0, method="BFGS"),
         lambda r: r.nfev, (so, sjo), (quartic, quartic_jnp)),
        ("quad", lambda m, f: m.quad(f, 0.0, 3.0, full_output=1), lambda r: r[2]["neval"], (si, sji),
         (lambda x: math.exp(-x * x), lambda x: jnp.exp(-x * x))),
        ("least_squares", lambda m, f: m.least_squares(f, [1.0, 1.0], args=(t, y)), lambda r: r.nfev,
         (so, sjo), (residuals, residuals_jnp)),
    ]
    print("## Host path (NumPy-written functions): SciPy vs scijax host path vs scijax compiled\n")
    print("| case | SciPy (ms) | scijax host (ms) | scijax jnp (ms) | SciPy per eval (us) | host per eval (us) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, run, nfev, (peer, ours), (f_np, f_jnp) in cases:
        run(ours, f_np)  # compile
        run(ours, f_jnp)
        t_peer = median_time(lambda: run(peer, f_np))
        t_host = median_time(lambda: run(ours, f_np))
        t_jnp = median_time(lambda: run(ours, f_jnp))
        n_peer, n_host = int(nfev(run(peer, f_np))), int(nfev(run(ours, f_np)))
        print(f"| {name} | {t_peer * 1e3:.2f} | {t_host * 1e3:.2f} | {t_jnp * 1e3:.2f} | "
              f"{t_peer / n_peer * 1e6:.1f} (nfev {n_peer}) | {(t_host - t_jnp) / n_host * 1e6:.1f} (nfev {n_host}) |")


def _loop(make_call, ks) -> list[float]:
    times = []
    for k in ks:
        start = time.perf_counter()
        jax.block_until_ready(make_call(k))
        times.append(time.perf_counter() - start)
    return times


def loop_closures() -> None:
    ks = [0.5 + 0.25 * i for i in range(8)]
    y0 = jnp.array([1.0, 2.0])
    cases = {
        "solve_ivp": lambda k: sji.solve_ivp(lambda t, y: -k * y, (0.0, 1.0), y0).y,
        "minimize": lambda k: sjo.minimize(lambda x: jnp.sum((x - k) ** 2), jnp.zeros(2)).x,
        "least_squares": lambda k: sjo.least_squares(lambda p: p - k, jnp.zeros(2)).x,
        "root": lambda k: sjo.root(lambda x: x ** 3 - k, jnp.ones(2)).x,
        "quad": lambda k: sji.quad(lambda x: jnp.exp(-k * x * x), 0.0, 2.0)[0],
    }
    print("\n## Lambdas re-created in a loop (median of iterations 2..8) vs a repeat call with a fixed function\n")
    print("| solver | first iteration (s) | later iterations (ms) | fixed function (ms) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, call in cases.items():
        times = _loop(call, ks)
        fixed_k = 0.7
        fixed = {
            "solve_ivp": lambda t, y: -fixed_k * y,
            "minimize": lambda x: jnp.sum((x - fixed_k) ** 2),
            "least_squares": lambda p: p - fixed_k,
            "root": lambda x: x ** 3 - fixed_k,
            "quad": lambda x: jnp.exp(-fixed_k * x * x),
        }[name]
        fixed_call = {
            "solve_ivp": lambda: sji.solve_ivp(fixed, (0.0, 1.0), y0).y,
            "minimize": lambda: sjo.minimize(fixed, jnp.zeros(2)).x,
            "least_squares": lambda: sjo.least_squares(fixed, jnp.zeros(2)).x,
            "root": lambda: sjo.root(fixed, jnp.ones(2)).x,
            "quad": lambda: sji.quad(fixed, 0.0, 2.0)[0],
        }[name]
        jax.block_until_ready(fixed_call())
        t_fixed = median_time(fixed_call, repeat=7)
        later = statistics.median(times[1:])
        print(f"| {name} | {times[0]:.2f} | {later * 1e3:.2f} | {t_fixed * 1e3:.2f} | {later / t_fixed:.2f}x |")


if __name__ == "__main__":
    host_path()
    loop_closures()
