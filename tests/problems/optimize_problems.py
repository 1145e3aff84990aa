"""Unconstrained test problems of Moré, Garbow and Hillstrom, written once for SciPy and scijax.

J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained optimization software",
ACM Trans. Math. Softw. 7(1), 17-41 (1981). Each problem is a sum of squares
``f(x) = sum_i f_i(x)^2``; ``residuals(xp)`` returns the ``f_i`` written against an array namespace
``xp`` (``numpy`` for SciPy, ``jax.numpy`` for scijax), and ``x0`` and ``fstar`` are the paper's
standard starting point and reported minimum value (the numbers of the paper's problem list are
given in brackets).
"""

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

__all__ = ["MghProblem", "PROBLEMS", "get"]


class MghProblem(NamedTuple):
    """One problem: ``make(xp)`` returns the residual function ``x -> (f_1(x), ..., f_m(x))``."""

    name: str
    make: Callable[[Any], Callable]
    x0: tuple[float, ...]
    fstar: float  # the paper's minimum value f*
    xstar: tuple[float, ...] | None  # a minimiser, where the paper gives one in closed form

    def residuals(self, xp=jnp) -> Callable:
        return _made(self.make, xp)

    def objective(self, xp=jnp) -> Callable:
        """``f(x) = sum f_i(x)^2``; the same object on every call, so jit caches hit."""
        return _objective(self.make, xp)


@functools.cache
def _made(make, xp):
    return make(xp)


@functools.cache
def _objective(make, xp):
    r = _made(make, xp)
    return lambda x: xp.sum(r(x) ** 2)


def _rosenbrock(xp):  # (1)
    return lambda x: xp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def _freudenstein_roth(xp):  # (2)
    return lambda x: xp.stack([-13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
                               -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1]])


def _powell_badly_scaled(xp):  # (3)
    return lambda x: xp.stack([1e4 * x[0] * x[1] - 1.0, xp.exp(-x[0]) + xp.exp(-x[1]) - 1.0001])


def _brown_badly_scaled(xp):  # (4)
    return lambda x: xp.stack([x[0] - 1e6, x[1] - 2e-6, x[0] * x[1] - 2.0])


def _beale(xp):  # (5)
    y, i = np.array([1.5, 2.25, 2.625]), np.arange(1.0, 4.0)
    return lambda x: y - x[0] * (1.0 - x[1] ** i)


def _jennrich_sampson(xp):  # (6), m = 10
    i = np.arange(1.0, 11.0)
    return lambda x: 2.0 + 2.0 * i - (xp.exp(i * x[0]) + xp.exp(i * x[1]))


def _helical_valley(xp):  # (7)
    def r(x):
        theta = xp.arctan2(x[1], x[0]) / (2 * math.pi)  # the paper's branch: theta in (-1/2, 1/2]
        return xp.stack([10.0 * (x[2] - 10.0 * theta), 10.0 * (xp.sqrt(x[0] ** 2 + x[1] ** 2) - 1.0), x[2]])

    return r


_BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39])


def _bard(xp):  # (8)
    u = np.arange(1.0, 16.0)
    v = 16.0 - u
    w = np.minimum(u, v)
    return lambda x: _BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


_GAUSS_Y = np.array([0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989, 0.3521, 0.2420, 0.1295,
                     0.0540, 0.0175, 0.0044, 0.0009])


def _gaussian(xp):  # (9)
    t = (8.0 - np.arange(1.0, 16.0)) / 2.0
    return lambda x: x[0] * xp.exp(-x[1] * (t - x[2]) ** 2 / 2.0) - _GAUSS_Y


_MEYER_Y = np.array([34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0, 8261.0, 7030.0,
                     6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0])


def _meyer(xp):  # (10)
    t = 45.0 + 5.0 * np.arange(1.0, 17.0)
    return lambda x: x[0] * xp.exp(x[1] / (t + x[2])) - _MEYER_Y


def _gulf(xp):  # (11), m = 10
    t = np.arange(1.0, 11.0) / 100.0
    y = 25.0 + (-50.0 * np.log(t)) ** (2.0 / 3.0)
    return lambda x: xp.exp(-xp.abs(y - x[1]) ** x[2] / x[0]) - t


def _box3d(xp):  # (12), m = 10
    t = 0.1 * np.arange(1.0, 11.0)
    return lambda x: xp.exp(-t * x[0]) - xp.exp(-t * x[1]) - x[2] * (np.exp(-t) - np.exp(-10.0 * t))


def _powell_singular(xp):  # (13)
    return lambda x: xp.stack([x[0] + 10.0 * x[1], math.sqrt(5.0) * (x[2] - x[3]), (x[1] - 2.0 * x[2]) ** 2,
                               math.sqrt(10.0) * (x[0] - x[3]) ** 2])


def _wood(xp):  # (14)
    return lambda x: xp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0], math.sqrt(90.0) * (x[3] - x[2] ** 2),
                               1.0 - x[2], math.sqrt(10.0) * (x[1] + x[3] - 2.0), (x[1] - x[3]) / math.sqrt(10.0)])


PROBLEMS: dict[str, MghProblem] = {p.name: p for p in (
    MghProblem("rosenbrock", _rosenbrock, (-1.2, 1.0), 0.0, (1.0, 1.0)),
    MghProblem("freudenstein_roth", _freudenstein_roth, (0.5, -2.0), 0.0, (5.0, 4.0)),  # local min 48.9842...
    MghProblem("powell_badly_scaled", _powell_badly_scaled, (0.0, 1.0), 0.0, (1.098e-5, 9.106)),
    MghProblem("brown_badly_scaled", _brown_badly_scaled, (1.0, 1.0), 0.0, (1e6, 2e-6)),
    MghProblem("beale", _beale, (1.0, 1.0), 0.0, (3.0, 0.5)),
    MghProblem("jennrich_sampson", _jennrich_sampson, (0.3, 0.4), 124.362, (0.2578, 0.2578)),
    MghProblem("helical_valley", _helical_valley, (-1.0, 0.0, 0.0), 0.0, (1.0, 0.0, 0.0)),
    MghProblem("bard", _bard, (1.0, 1.0, 1.0), 8.21487e-3, None),
    MghProblem("gaussian", _gaussian, (0.4, 1.0, 0.0), 1.12793e-8, None),
    MghProblem("meyer", _meyer, (0.02, 4000.0, 250.0), 87.9458, None),
    MghProblem("gulf", _gulf, (5.0, 2.5, 0.15), 0.0, (50.0, 25.0, 1.5)),
    MghProblem("box3d", _box3d, (0.0, 10.0, 20.0), 0.0, (1.0, 10.0, 1.0)),
    MghProblem("powell_singular", _powell_singular, (3.0, -1.0, 0.0, 1.0), 0.0, (0.0, 0.0, 0.0, 0.0)),
    MghProblem("wood", _wood, (-3.0, -1.0, -3.0, -1.0), 0.0, (1.0, 1.0, 1.0, 1.0)),
)}


def get(name: str) -> MghProblem:
    return PROBLEMS[name]
