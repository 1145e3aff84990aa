"""Initial value problems written once and run through both SciPy and scijax.

Each right-hand side is written against an array namespace ``xp`` (``numpy`` for
SciPy, ``jax.numpy`` for scijax), so the two solvers integrate exactly the same
function. ``reference`` gives the oracle: the closed form where there is one,
otherwise SciPy at tight tolerance (DOP853 for non-stiff, Radau for stiff
problems), cached per process.
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import scipy.integrate

__all__ = ["IvpProblem", "PROBLEMS", "get", "compute_error", "fun_rational", "sol_rational", "jac_rational"]


class IvpProblem(NamedTuple):
    """One test problem: ``make(xp)`` returns ``(fun, jac)`` written in namespace ``xp``."""

    name: str
    make: Callable[[Any], tuple[Callable, Callable | None]]
    t_span: tuple[float, float]
    y0: tuple
    args: tuple
    exact: Callable[[np.ndarray], np.ndarray] | None  # exact(t) -> shape (n, len(t))
    stiff: bool
    rtol: float  # tolerances at which the accuracy tests run
    atol: float

    def fun(self, xp=jnp):
        """The right-hand side in namespace ``xp``; the same object on every call (so jit caches hit)."""
        return _made(self.make, xp)[0]

    def jac(self, xp=jnp):
        return _made(self.make, xp)[1]

    def t_eval(self, k: int = 7) -> np.ndarray:
        return np.linspace(*self.t_span, k)


@functools.cache
def _made(make, xp):
    return make(xp)


# --- exponential decay: y' = -k y -------------------------------------------------------------
def _decay(xp):
    def fun(t, y, k):
        return -k * y

    def jac(t, y, k):
        return -k * xp.eye(y.shape[0], dtype=y.dtype)

    return fun, jac


DECAY = IvpProblem(
    "decay", _decay, (0.0, 2.0), (1.0, 2.0), (0.7,),
    lambda t: np.outer([1.0, 2.0], np.exp(-0.7 * np.asarray(t))), False, 1e-6, 1e-9,
)


# --- SciPy's fun_rational (test_ivp.py): y = (t/(t+10), 10t/(t+10)^2) --------------------------
def _rational(xp):
    def fun(t, y):
        return xp.stack([y[1] / t, y[1] * (y[0] + 2 * y[1] - 1) / (t * (y[0] - 1))])

    def jac(t, y):
        return xp.stack([
            xp.stack([0.0 * t, 1 / t]),
            xp.stack([-2 * y[1] ** 2 / (t * (y[0] - 1) ** 2), (y[0] + 4 * y[1] - 1) / (t * (y[0] - 1))]),
        ])

    return fun, jac


def sol_rational(t):
    t = np.asarray(t, dtype=float)
    return np.asarray((t / (t + 10), 10 * t / (t + 10) ** 2))


RATIONAL = IvpProblem("rational", _rational, (5.0, 9.0), (1 / 3, 2 / 9), (), sol_rational, False, 1e-6, 1e-9)
fun_rational, jac_rational = RATIONAL.fun(), RATIONAL.jac()


# --- Lotka-Volterra ------------------------------------------------------------------------------
def _lotka(xp):
    def fun(t, y, a, b, c, d):
        return xp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])

    def jac(t, y, a, b, c, d):
        return xp.stack([xp.stack([a - b * y[1], -b * y[0]]), xp.stack([d * y[1], -c + d * y[0]])])

    return fun, jac


LOTKA = IvpProblem("lotka", _lotka, (0.0, 5.0), (10.0, 5.0), (1.5, 1.0, 3.0, 1.0), None, False, 1e-6, 1e-9)


# --- Van der Pol, mu = 1000 (stiff), over a short span -----------------------------------------
def _vdp(xp):
    def fun(t, y, mu):
        return xp.stack([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])

    def jac(t, y, mu):
        return xp.stack([xp.stack([0.0 * mu, 1.0 + 0.0 * mu]),
                         xp.stack([-2 * mu * y[0] * y[1] - 1, mu * (1 - y[0] ** 2)])])

    return fun, jac


VDP = IvpProblem("vdp1000", _vdp, (0.0, 10.0), (2.0, 0.0), (1000.0,), None, True, 1e-6, 1e-9)


# --- Robertson chemical kinetics (stiff), over a short span ------------------------------------
def _robertson(xp):
    def fun(t, y):
        return xp.stack([
            -0.04 * y[0] + 1e4 * y[1] * y[2],
            0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
            3e7 * y[1] ** 2,
        ])

    def jac(t, y):
        return xp.stack([
            xp.stack([-0.04 + 0.0 * y[0], 1e4 * y[2], 1e4 * y[1]]),
            xp.stack([0.04 + 0.0 * y[0], -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]]),
            xp.stack([0.0 * y[0], 6e7 * y[1], 0.0 * y[0]]),
        ])

    return fun, jac


ROBERTSON = IvpProblem("robertson", _robertson, (0.0, 40.0), (1.0, 0.0, 0.0), (), None, True, 1e-6, 1e-10)


# --- complex-valued: y' = lam * y -------------------------------------------------------------
_LAM = -0.5 + 2.0j
_Y0C = (0.5 + 1.0j, -1.0 + 0.25j)


def _complex(xp):
    def fun(t, y):
        return _LAM * y

    def jac(t, y):
        return _LAM * xp.eye(y.shape[0], dtype=y.dtype)

    return fun, jac


COMPLEX = IvpProblem(
    "complex", _complex, (0.0, 2.0), _Y0C, (),
    lambda t: np.outer(np.asarray(_Y0C), np.exp(_LAM * np.asarray(t))), False, 1e-6, 1e-9,
)

PROBLEMS: dict[str, IvpProblem] = {p.name: p for p in (DECAY, RATIONAL, LOTKA, VDP, ROBERTSON, COMPLEX)}


def get(name: str) -> IvpProblem:
    return PROBLEMS[name]


@functools.cache
def _reference(name: str, k: int) -> np.ndarray:
    p = PROBLEMS[name]
    t_eval = p.t_eval(k)
    if p.exact is not None:
        return p.exact(t_eval)
    method = "Radau" if p.stiff else "DOP853"
    res = scipy.integrate.solve_ivp(p.fun(np), p.t_span, np.asarray(p.y0), method=method, t_eval=t_eval,
                                    args=p.args, rtol=1e-12, atol=1e-14, jac=p.jac(np) if p.stiff else None)
    assert res.success, res.message
    return res.y


def reference(p: IvpProblem, k: int = 7) -> np.ndarray:
    """Oracle solution at ``p.t_eval(k)``, shape ``(n, k)``."""
    return _reference(p.name, k)


@functools.cache
def _scipy_solution(name: str, method: str, k: int) -> np.ndarray:
    p = PROBLEMS[name]
    res = scipy.integrate.solve_ivp(p.fun(np), p.t_span, np.asarray(p.y0), method=method, t_eval=p.t_eval(k),
                                    args=p.args, rtol=p.rtol, atol=p.atol)
    assert res.success, res.message
    return res.y


def scipy_solution(p: IvpProblem, method: str, k: int = 7) -> np.ndarray:
    """SciPy's own answer with ``method`` at the problem's test tolerances (for the error baseline)."""
    return _scipy_solution(p.name, method, k)


def compute_error(y, y_true, rtol, atol) -> np.ndarray:
    """SciPy's test_ivp.py error: RMS over components of the error scaled by the tolerance."""
    y, y_true = np.asarray(y), np.asarray(y_true)
    if np.ndim(atol) == 1 and y_true.ndim == 2:
        atol = np.asarray(atol)[:, None]
    e = (y - y_true) / (atol + rtol * np.abs(y_true))
    return np.linalg.norm(e, axis=0) / np.sqrt(e.shape[0])
