"""Linear systems written once for SciPy and scijax: an SPD Laplacian, a nonsymmetric
convection-diffusion operator and a symmetric indefinite matrix.

Each problem gives a dense NumPy matrix (small sizes: the tests compare against
``numpy.linalg.solve`` and SciPy's Krylov solvers on the same matrix), a right-hand side and the
structure a Krylov method may rely on (``symmetric``, ``definite``).
"""

from typing import NamedTuple

import numpy as np

__all__ = ["LinearProblem", "PROBLEMS", "laplacian_2d", "convection_diffusion_2d", "indefinite_symmetric"]


class LinearProblem(NamedTuple):
    name: str
    A: np.ndarray
    b: np.ndarray
    symmetric: bool
    definite: bool  # positive definite (with symmetric: SPD)

    def solution(self) -> np.ndarray:
        return np.linalg.solve(self.A, self.b)


def _second_difference(m: int) -> np.ndarray:
    return 2.0 * np.eye(m) - np.eye(m, k=1) - np.eye(m, k=-1)


def laplacian_2d(m: int) -> np.ndarray:
    """The 5-point negative Laplacian on an ``m x m`` interior grid (unscaled): SPD, size ``m^2``."""
    t, eye = _second_difference(m), np.eye(m)
    return np.kron(t, eye) + np.kron(eye, t)


def convection_diffusion_2d(m: int, peclet: float = 20.0) -> np.ndarray:
    """``-Laplace(u) + peclet (u_x + u_y)`` with central differences, times ``h^2``: nonsymmetric,
    positive real part of the spectrum (cell Peclet number ``peclet h / 2`` below 1)."""
    h = 1.0 / (m + 1)
    c = np.eye(m, k=1) - np.eye(m, k=-1)  # (u_{i+1} - u_{i-1})
    eye = np.eye(m)
    return laplacian_2d(m) + peclet * h / 2 * (np.kron(c, eye) + np.kron(eye, c))


def indefinite_symmetric(m: int, shift: float = 0.75) -> np.ndarray:
    """The 2-D Laplacian shifted by ``shift`` times its mid eigenvalue: symmetric, indefinite, nonsingular."""
    A = laplacian_2d(m)
    eig = np.linalg.eigvalsh(A)
    sigma = shift * eig[len(eig) // 2] + 0.5 * shift * (eig[len(eig) // 2 + 1] - eig[len(eig) // 2])
    assert np.min(np.abs(eig - sigma)) > 1e-3  # nonsingular
    return A - sigma * np.eye(m * m)


def _rhs(n: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(n)


PROBLEMS: dict[str, LinearProblem] = {p.name: p for p in (
    LinearProblem("laplacian", laplacian_2d(6), _rhs(36), True, True),
    LinearProblem("convection_diffusion", convection_diffusion_2d(6, peclet=10.0), _rhs(36), False, False),
    LinearProblem("indefinite_symmetric", indefinite_symmetric(6), _rhs(36), True, False),
)}
