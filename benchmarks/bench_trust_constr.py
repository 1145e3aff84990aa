"""minimize(method='trust-constr') against SciPy's on SciPy's own constrained test problems.

Both sides get the exact gradient and objective Hessian (SciPy through jitted JAX callables, so the peer
does not pay for finite differences); the constraints' Hessians are SciPy's default for a
``NonlinearConstraint`` (``BFGS()``) and exact (autodiff) in scijax. scijax's call is compiled once and
timed after a warm-up. For each problem: SciPy's and our iteration counts, ``f - f_scipy`` (negative:
ours is lower), median times, and the ratio. The last row
solves 64 perturbed HS71 problems in one vmapped call against a SciPy loop.
Usage: ``python benchmarks/bench_trust_constr.py``.
"""

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize as so
from scipy.optimize import Bounds, LinearConstraint, NonlinearConstraint

jax.config.update("jax_enable_x64", True)

from scijax.solvers.optimize import minimize  # noqa: E402


def hs71(x, a):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + a * x[2]


HS71 = dict(constraints=[NonlinearConstraint(lambda x: x[0] * x[1] * x[2] * x[3], 25, np.inf),
                         NonlinearConstraint(lambda x: jnp.sum(x ** 2), 40, 40)], bounds=Bounds([1.0] * 4, [5.0] * 4))


def maratos(x, a):
    return 2 * a * (x[0] ** 2 + x[1] ** 2 - 1) - x[0]


MARATOS = dict(constraints=[NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, 1, 1)])


def rosen(x, a):
    return a * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2


ROSEN = dict(constraints=[LinearConstraint([[1.0, 2.0]], -np.inf, 1.0)], bounds=Bounds([0.0, -0.5], [1.0, 2.0]))

PROBLEMS = {
    "HS71 (interior point)": (hs71, np.array([1.0, 5, 5, 1]), 1.0, HS71),
    "Maratos (equality SQP)": (maratos, np.array([np.cos(np.pi / 4), np.sin(np.pi / 4)]), 1.0, MARATOS),
    "Rosenbrock + linear + bounds": (rosen, np.array([0.5, 0.0]), 100.0, ROSEN),
}


def _median_ms(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)


def _scipy(f, x0, a, kw):
    g = jax.jit(jax.grad(f))
    h = jax.jit(jax.hessian(f))
    return so.minimize(lambda x: float(f(jnp.asarray(x), a)), x0, args=(), method="trust-constr",
                       jac=lambda x: np.asarray(g(jnp.asarray(x), a)), hess=lambda x: np.asarray(h(jnp.asarray(x), a)),
                       **kw)


def main() -> None:
    print("| problem | SciPy nit | scijax nit | f - f_scipy | SciPy (ms) | scijax (ms) | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (f, x0, a, kw) in PROBLEMS.items():
        solve = jax.jit(lambda a, f=f, x0=x0, kw=kw: minimize(f, jnp.asarray(x0), args=(a,), method="trust-constr",
                                                            **kw))
        a_j = jnp.asarray(a)
        ours = solve(a_j)
        ref = _scipy(f, x0, a, kw)
        t_ref = _median_ms(lambda: _scipy(f, x0, a, kw).x, repeats=3)
        t_ours = _median_ms(lambda: solve(a_j).x)
        print(f"| {name} | {ref.nit} | {int(ours.nit)} | {float(ours.fun) - ref.fun:.1e} | {t_ref:.1f} | "
              f"{t_ours:.1f} | {t_ref / t_ours:.1f}x |")
    # A batch: 64 HS71 problems with the x3 weight a in [0.5, 1.5].
    a_batch = jnp.linspace(0.5, 1.5, 64)
    batch = jax.jit(jax.vmap(lambda a: minimize(hs71, jnp.array([1.0, 5, 5, 1]), args=(a,), method="trust-constr",
                                                **HS71)))
    res = batch(a_batch)
    t_ours = _median_ms(lambda: batch(a_batch).x, repeats=3)
    t0 = time.perf_counter()
    refs = [_scipy(hs71, np.array([1.0, 5, 5, 1]), float(a), HS71) for a in np.asarray(a_batch)[:8]]
    t_ref = 1e3 * (time.perf_counter() - t0) * 8
    err = max((float(res.fun[i]) - r.fun for i, r in enumerate(refs)), key=abs)
    print(f"| 64 x HS71, one vmapped call vs a SciPy loop (8 timed, x8) | - | max {int(jnp.max(res.nit))} | "
          f"{err:.1e} | {t_ref:.1f} | {t_ours:.1f} | {t_ref / t_ours:.1f}x |")


if __name__ == "__main__":
    main()
