"""Stiff test-set problems: scijax 'Radau' (Radau IIA), 'BDF' (variable-order NDF), 'LSODA' (Dormand-Prince 5(4) /
Rodas5 with stiffness switching) and 'Rodas5' against SciPy's Radau, BDF and LSODA, in one process.

Problems and reference solutions: the IVP test set of Mazzia and Magherini (tests/problems/stiff_testset.py).
For each problem and rtol (atol = the problem's factor * rtol) the table gives the median wall time of
warm runs (scijax jitted, compile excluded; SciPy plain calls), steps, nfev, njev, nlu, and the
significant correct digits scd = -log10(max relative error at the end time). The last column is the
time against SciPy's method of the same name (SciPy Radau for 'Rodas5').

Run from the repository root:
``PYTHONPATH=$PWD python benchmarks/bench_stiff.py [--repeat 5] [--rtols 1e-4,1e-7] [--ours Radau,BDF,LSODA,Rodas5]``.
"""

import argparse
import os
import sys

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


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rtols", default="1e-4,1e-7")
    parser.add_argument("--problems", default=",".join(STIFF_PROBLEMS))
    parser.add_argument("--ours", default=",".join(OURS))
    a = parser.parse_args()
    main(a.repeat, [float(r) for r in a.rtols.split(",")], a.problems.split(","), a.ours.split(","))
