"""quad on endpoint singularities (QAGS/QAGI with Wynn-epsilon extrapolation) against SciPy, in one process.

(a) one integral per call: SciPy's ``quad`` with a NumPy integrand against scijax's compiled ``quad``
    (eager call, compiled once per integrand and reused), with the evaluation counts of both;
(b) a batch of ``x**p`` over many ``p`` in one vmapped, jitted call against a SciPy loop.

Run: ``python benchmarks/bench_quad.py [--small]``.
"""

import argparse
import sys
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.integrate as si  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _timing import is_quick, median_time, print_table  # noqa: E402

from scijax.solvers.integrate._quad import quad  # noqa: E402

CASES = [  # (name, jax integrand, NumPy integrand, a, b)
    ("x**-0.9 on (0, 1)", lambda x: x**-0.9, lambda x: x**-0.9, 0.0, 1.0),
    ("1/sqrt(x) on (0, 1)", lambda x: 1 / jnp.sqrt(x), lambda x: 1 / np.sqrt(x), 0.0, 1.0),
    ("log(x) on (0, 1)", jnp.log, np.log, 0.0, 1.0),
    ("x**-0.5 log(x) on (0, 1)", lambda x: x**-0.5 * jnp.log(x), lambda x: x**-0.5 * np.log(x), 0.0, 1.0),
    ("exp(-x)/sqrt(x) on (0, inf)", lambda x: jnp.exp(-x) / jnp.sqrt(x), lambda x: np.exp(-x) / np.sqrt(x),
     0.0, np.inf),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    small = parser.parse_args().small or is_quick()
    repeat, batch = (3, 100) if small else (7, 1000)
    rows = []
    for name, f, g, a, b in CASES:
        ours = quad(f, a, b, full_output=1)  # compile
        ref = si.quad(g, a, b, full_output=1)
        t_peer = median_time(lambda g=g, a=a, b=b: si.quad(g, a, b), repeat)
        t_ours = median_time(lambda f=f, a=a, b=b: quad(f, a, b), repeat)
        note = (f"neval {int(ours[2]['neval'])} vs {ref[2]['neval']}; |diff| "
                f"{abs(float(ours[0]) - ref[0]):.1e}")
        rows.append((name, t_peer, t_ours, note))
    ps = np.linspace(-0.9, 0.5, batch)

    def loop():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [si.quad(lambda x, p: x**p, 0.0, 1.0, (p,))[0] for p in ps]

    batched = jax.jit(jax.vmap(lambda p: quad(lambda x, p: x**p, 0.0, 1.0, (p,))[0]))
    got = batched(jnp.asarray(ps))
    err = float(np.max(np.abs(np.asarray(got) - np.asarray(loop()))))
    rows.append((f"x**p on (0, 1), {batch} values of p (vmap vs loop)", median_time(loop, repeat),
                 median_time(lambda: batched(jnp.asarray(ps)), repeat), f"max |diff| {err:.1e}"))
    print_table(rows, peer="SciPy")


if __name__ == "__main__":
    main()
