"""Stiff problems with published reference solutions at the end time.

From the Test Set for IVP Solvers of F. Mazzia and C. Magherini (University of Bari,
https://archimede.uniba.it/~testset/, formerly http://www.dm.uniba.it/~testset/), whose
reference values were computed with RADAU5 in quadruple-like precision (uround 1e-19,
tolerances 1e-18 or finer); the problems are also in Hairer & Wanner, Solving ODEs II
(Robertson, HIRES, OREGO and Van der Pol with mu = 1000, section IV.10).

Each problem gives a JAX right-hand side and a NumPy one (for SciPy), ``y0``, the
span, the published ``y(tf)`` and the absolute tolerance as a multiple of ``rtol``
(as the test set's drivers do; Robertson's tiny ``y2`` needs a tiny one).
"""

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np


class StiffProblem(NamedTuple):
    name: str
    fun: Any  # jax.numpy right-hand side fun(t, y)
    fun_np: Any  # NumPy right-hand side for SciPy
    y0: tuple
    t_span: tuple
    ref: tuple
    atol_factor: float  # atol = atol_factor * rtol


def _hires(xp):
    def f(t, y):
        r = 280.0 * y[5] * y[7] - 1.81 * y[6]
        return xp.stack([
            -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
            1.71 * y[0] - 8.75 * y[1],
            -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
            8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
            -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
            -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
            r,
            -r,
        ])
    return f


def _orego(xp):
    def f(t, y):
        return xp.stack([
            77.27 * (y[1] + y[0] * (1 - 8.375e-6 * y[0] - y[1])),
            (y[2] - (1 + y[0]) * y[1]) / 77.27,
            0.161 * (y[0] - y[2]),
        ])
    return f


def _rober(xp):
    def f(t, y):
        return xp.stack([
            -0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2,
        ])
    return f


def _vdpolm(xp):
    # The test set's "Van der Pol modified" (vdpolm.f): mu = 1000 on [0, 2000].
    def f(t, y):
        return xp.stack([y[1], 1e3 * (1 - y[0] ** 2) * y[1] - y[0]])
    return f


STIFF_PROBLEMS = {
    p.name: p for p in [
        StiffProblem("hires", _hires(jnp), _hires(np), (1.0, 0, 0, 0, 0, 0, 0, 0.0057), (0.0, 321.8122),
                     (0.7371312573325668e-3, 0.1442485726316185e-3, 0.5888729740967575e-4,
                      0.1175651343283149e-2, 0.2386356198831331e-2, 0.6238968252742796e-2,
                      0.2849998395185769e-2, 0.2850001604814231e-2), 1e-4),
        StiffProblem("orego", _orego(jnp), _orego(np), (1.0, 2.0, 3.0), (0.0, 360.0),
                     (0.1000814870318523e1, 0.1228178521549917e4, 0.1320554942846706e3), 1.0),
        StiffProblem("rober", _rober(jnp), _rober(np), (1.0, 0.0, 0.0), (0.0, 1e11),
                     (0.2083340149701255e-7, 0.8333360770334713e-13, 0.9999999791665050), 1e-10),
        StiffProblem("vdpolm", _vdpolm(jnp), _vdpolm(np), (2.0, 0.0), (0.0, 2000.0),
                     (0.1706167732170469e1, -0.8928097010248125e-3), 1.0),
    ]
}


def scd(y_final, ref) -> float:
    """Significant correct digits: ``-log10`` of the largest relative error at the end time."""
    y_final, ref = np.asarray(y_final, dtype=float), np.asarray(ref, dtype=float)
    return float(-np.log10(np.max(np.abs(y_final - ref) / np.abs(ref))))
