"""Independent NumPy right-hand sides for every catalog system, written from the textbook equations.

These are the SciPy side of the comparisons: SciPy's ``solve_ivp`` integrates these functions, and
scijax integrates ``sys.rhs``. Where the equations allow, they are written differently from the
library (the double pendulum through its Lagrangian mass matrix, N-body with an explicit pair
loop, finite differences with explicit ghost values), so a typo on either side shows up.
"""

import numpy as np


def exponential_decay(t, y, k):
    return -k * y


def harmonic_oscillator(t, y, omega):
    return np.array([y[1], -omega * omega * y[0]])


def damped_driven_pendulum(t, y, gamma, omega0, amplitude, omega_d):
    return np.array([y[1], amplitude * np.cos(omega_d * t) - gamma * y[1] - omega0**2 * np.sin(y[0])])


def lotka_volterra(t, y, alpha, beta, gamma, delta):
    prey, pred = y
    return np.array([prey * (alpha - beta * pred), pred * (delta * prey - gamma)])


def van_der_pol(t, y, mu):
    return np.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


def lorenz63(t, y, sigma, rho, beta):
    x, v, z = y
    return np.array([sigma * (v - x), rho * x - x * z - v, x * v - beta * z])


def rossler(t, y, a, b, c):
    x, v, z = y
    return np.array([-(v + z), x + a * v, b + x * z - c * z])


def fitzhugh_nagumo(t, y, a, b, tau, current):
    v, w = y
    return np.array([v - v**3 / 3 - w + current, (v + a - b * w) / tau])


def robertson(t, y, k1, k2, k3):
    r1, r2, r3 = k1 * y[0], k2 * y[1] ** 2, k3 * y[1] * y[2]
    return np.array([-r1 + r3, r1 - r2 - r3, r2])


def brusselator(t, y, a, b):
    x, v = y
    return np.array([a - (b + 1) * x + x * x * v, b * x - x * x * v])


def sir(t, y, beta, gamma):
    s, i, r = y
    n = s + i + r
    return np.array([-beta * s * i / n, beta * s * i / n - gamma * i, gamma * i])


def seir(t, y, beta, sigma, gamma):
    s, e, i, r = y
    n = s + e + i + r
    return np.array([-beta * s * i / n, beta * s * i / n - sigma * e, sigma * e - gamma * i, gamma * i])


def double_pendulum(t, y, m1, m2, l1, l2, g):
    th1, th2, w1, w2 = y
    c, s = np.cos(th1 - th2), np.sin(th1 - th2)
    mass = np.array([[(m1 + m2) * l1**2, m2 * l1 * l2 * c], [m2 * l1 * l2 * c, m2 * l2**2]])
    force = np.array(
        [
            -m2 * l1 * l2 * w2**2 * s - (m1 + m2) * g * l1 * np.sin(th1),
            m2 * l1 * l2 * w1**2 * s - m2 * g * l2 * np.sin(th2),
        ]
    )
    return np.concatenate([[w1, w2], np.linalg.solve(mass, force)])


def kepler(t, y, mu):
    r = np.hypot(y[0], y[1])
    return np.array([y[2], y[3], -mu * y[0] / r**3, -mu * y[1] / r**3])


def nbody(t, y, masses, G, softening):
    n = len(masses)
    d = len(y) // (2 * n)
    x, v = y[: n * d].reshape(n, d), y[n * d :].reshape(n, d)
    acc = np.zeros_like(x)
    for i in range(n):
        for j in range(n):
            if i != j:
                r = x[j] - x[i]
                acc[i] += G * masses[j] * r / (r @ r + softening**2) ** 1.5
    return np.concatenate([v.ravel(), acc.ravel()])


def _lap1(u, h, left, right):
    """1-D second difference with explicit ghost values."""
    padded = np.concatenate([[left], u, [right]])
    return (padded[:-2] - 2 * u + padded[2:]) / h**2


def heat(t, y, D, *, n=32, length=1.0):
    return D * _lap1(y, length / (n + 1), 0.0, 0.0)


def burgers(t, y, nu, *, n=128, length=2 * np.pi):
    h = length / n
    up, um = np.roll(y, -1), np.roll(y, 1)
    return -(up**2 - um**2) / (4 * h) + nu * (up - 2 * y + um) / h**2


def advection(t, y, c, *, n=128, length=1.0):
    h = length / n
    return -c * (y - np.roll(y, 1)) / h if c >= 0 else -c * (np.roll(y, -1) - y) / h


def wave(t, y, c, *, n=64, length=1.0):
    u, v = y[:n], y[n:]
    return np.concatenate([v, c**2 * _lap1(u, length / (n + 1), 0.0, 0.0)])


def gray_scott(t, y, Du, Dv, F, k, *, shape=(32, 32), length=32.0):
    h = length / shape[0]
    u, v = y[: y.size // 2].reshape(shape), y[y.size // 2 :].reshape(shape)

    def lap(w):
        return (np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1) + np.roll(w, -1, 1) - 4 * w) / h**2

    uvv = u * v * v
    return np.concatenate([(Du * lap(u) - uvv + F * (1 - u)).ravel(), (Dv * lap(v) + uvv - (F + k) * v).ravel()])


def fisher_kpp(t, y, D, r, *, n=200, length=100.0):
    return D * _lap1(y, length / n, y[0], y[-1]) + r * y * (1 - y)


REFERENCE_RHS = {
    "exponential_decay": exponential_decay,
    "harmonic_oscillator": harmonic_oscillator,
    "damped_driven_pendulum": damped_driven_pendulum,
    "lotka_volterra": lotka_volterra,
    "van_der_pol": van_der_pol,
    "lorenz63": lorenz63,
    "rossler": rossler,
    "fitzhugh_nagumo": fitzhugh_nagumo,
    "robertson": robertson,
    "brusselator": brusselator,
    "sir": sir,
    "seir": seir,
    "double_pendulum": double_pendulum,
    "kepler": kepler,
    "nbody": nbody,
    "heat": heat,
    "burgers": burgers,
    "advection": advection,
    "wave": wave,
    "gray_scott": gray_scott,
    "fisher_kpp": fisher_kpp,
}
