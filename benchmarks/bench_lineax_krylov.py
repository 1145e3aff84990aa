"""scijax's cg/gmres/bicgstab against lineax's CG/GMRES/BiCGStab on the same problems, in one process.

    python benchmarks/bench_lineax_krylov.py            # Laplacian 32^2, 64^2, 128^2; convection-diffusion 32^2, 64^2
    python benchmarks/bench_lineax_krylov.py --small    # quick run

The question (issue 10, section 4): should scijax's Krylov facade run lineax's solvers instead of its own
cores? Both sides get the same matrix-free operator and right-hand side and are asked for SciPy's criterion
``||b - A x||_2 <= rtol * ||b||_2``: scijax takes ``rtol`` directly; lineax is given ``rtol=0``,
``atol=rtol * ||b||`` and ``norm=two_norm``, the closest lineax can come (its own test is componentwise,
``|r_i| <= atol + rtol |b_i|`` in the max norm, and adds a test on the size of the last update). Reported per
solve: the median time of the jitted solve (compilation excluded), iterations (scijax: per-iteration callback
count; lineax: ``stats["num_steps"]``, which for GMRES counts restart cycles of ``restart`` inner steps), the
*true* relative residual of the returned ``x``, and what each side says about convergence (scijax's ``info``,
lineax's ``RESULTS``). A last block shows lineax under its own ``rtol`` semantics on a right-hand side with
zero entries, which SciPy's criterion handles and lineax's componentwise scale does not.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import lineax as lx  # noqa: E402
import optimistix as optx  # noqa: E402  (lineax 0.1.1 does not export its norms)

from scijax.solvers.linalg import LinearOperator, bicgstab, cg, gmres  # noqa: E402

RTOL = 1e-8
RESTART = 20


def laplacian(m: int):
    """The 5-point 2-D Laplacian (negated: SPD) on an m x m interior grid, matrix-free."""

    def mv(x):
        u = jnp.pad(x.reshape(m, m), 1)
        return (4 * u[1:-1, 1:-1] - u[:-2, 1:-1] - u[2:, 1:-1] - u[1:-1, :-2] - u[1:-1, 2:]).ravel()

    return mv


def convection_diffusion(m: int, peclet: float = 20.0):
    """``-Laplace(u) + peclet * (u_x + u_y)`` (central differences, h = 1/(m+1)), scaled by h^2: nonsymmetric."""
    h = 1.0 / (m + 1)
    c = peclet * h / 2

    def mv(x):
        u = jnp.pad(x.reshape(m, m), 1)
        lap = 4 * u[1:-1, 1:-1] - u[:-2, 1:-1] - u[2:, 1:-1] - u[1:-1, :-2] - u[1:-1, 2:]
        conv = c * (u[2:, 1:-1] - u[:-2, 1:-1] + u[1:-1, 2:] - u[1:-1, :-2])
        return (lap + conv).ravel()

    return mv


def median_time(fn, repeat: int) -> float:
    jax.block_until_ready(fn())  # compile
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ours(name: str, mv, n: int, b):
    op = LinearOperator((n, n), mv, mv if name == "cg" else None, dtype=jnp.float64)
    solver = {"cg": cg, "gmres": gmres, "bicgstab": bicgstab}[name]
    kw = {"restart": RESTART} if name == "gmres" else {}
    solve = jax.jit(lambda b: solver(op, b, rtol=RTOL, **kw))
    count = []
    cb_kw = {"callback_type": "pr_norm"} if name == "gmres" else {}
    solver(op, b, rtol=RTOL, callback=lambda *_: count.append(1), **kw, **cb_kw)  # iterations (eager, once)
    x, info = solve(b)
    return solve, x, int(info), len(count)


def theirs(name: str, mv, n: int, b, rtol=0.0, atol=None, norm=optx.two_norm):
    tags = (lx.symmetric_tag, lx.positive_semidefinite_tag) if name == "cg" else ()
    op = lx.FunctionLinearOperator(mv, jax.ShapeDtypeStruct((n,), jnp.float64), tags=tags)
    atol = RTOL * float(jnp.linalg.norm(b)) if atol is None else atol
    solver = {"cg": lx.CG(rtol=rtol, atol=atol, norm=norm, max_steps=10 * n),
              "gmres": lx.GMRES(rtol=rtol, atol=atol, norm=norm, restart=RESTART, max_steps=10 * n),
              "bicgstab": lx.BiCGStab(rtol=rtol, atol=atol, norm=norm, max_steps=10 * n)}[name]

    def run(b):
        sol = lx.linear_solve(op, b, solver, throw=False)
        return sol.value, sol.result, sol.stats["num_steps"]

    solve = jax.jit(run)
    x, result, steps = solve(b)
    return (lambda b: solve(b)[0]), x, result, int(steps)


def relres(mv, x, b) -> float:
    return float(jnp.linalg.norm(b - mv(x)) / jnp.linalg.norm(b))


def result_name(result) -> str:
    for name in ("successful", "max_steps_reached", "singular", "breakdown", "stagnation"):
        if hasattr(lx.RESULTS, name) and bool(result == getattr(lx.RESULTS, name)):
            return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    small = parser.parse_args().small
    repeat = 3 if small else 7
    sizes = ((16, 32), (16, 32)) if small else ((32, 64, 128), (32, 64))
    cases = [("laplacian", m, laplacian(m), ("cg", "gmres", "bicgstab")) for m in sizes[0]]
    cases += [("conv-diff", m, convection_diffusion(m), ("gmres", "bicgstab")) for m in sizes[1]]
    print(f"SciPy criterion ||r|| <= {RTOL:g} ||b||; restart={RESTART}; median of {repeat} jitted solves")
    print("| problem | n | method | scijax (ms) | lineax (ms) | lineax/scijax | iters scijax | steps lineax "
          "| true relres scijax | true relres lineax | scijax info | lineax result |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    key = jax.random.key(0)
    for problem, m, mv, methods in cases:
        n = m * m
        b = jax.random.normal(key, (n,))
        for name in methods:
            f_ours, x_ours, info, it_ours = ours(name, mv, n, b)
            f_lx, x_lx, res_lx, it_lx = theirs(name, mv, n, b)
            t_ours = median_time(lambda f=f_ours: f(b), repeat)
            t_lx = median_time(lambda f=f_lx: f(b), repeat)
            steps = f"{it_lx} cycles" if name == "gmres" else str(it_lx)
            print(f"| {problem} | {n} | {name} | {t_ours * 1e3:.2f} | {t_lx * 1e3:.2f} | {t_lx / t_ours:.2f} | "
                  f"{it_ours} | {steps} | {relres(mv, x_ours, b):.1e} | {relres(mv, x_lx, b):.1e} | {info} | "
                  f"{result_name(res_lx)} |")

    print("\nlineax under its own semantics (rtol=1e-8, atol=0, max norm), b with zero entries (a point source):")
    m = 16 if small else 32
    n, mv = m * m, laplacian(m)
    b = jnp.zeros(n).at[n // 2 + m // 2].set(1.0)
    for name in ("cg", "gmres", "bicgstab"):
        _, x_lx, res_lx, it_lx = theirs(name, mv, n, b, rtol=RTOL, atol=0.0, norm=optx.max_norm)
        _, x_ours, info, it_ours = ours(name, mv, n, b)
        print(f"  {name}: lineax {result_name(res_lx)} after {it_lx} steps, true relres {relres(mv, x_lx, b):.1e}; "
              f"scijax info={info} after {it_ours} iterations, true relres {relres(mv, x_ours, b):.1e}")


if __name__ == "__main__":
    main()
