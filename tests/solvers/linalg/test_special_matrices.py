"""SciPy's special-matrix constructors and matrix functions re-exported from jax.scipy.linalg,
against SciPy on small inputs (eager, no compiles beyond a few tiny ops)."""

import numpy as np
import pytest
import scipy.linalg as sl

from scijax.solvers import linalg as ours

C, R = np.array([1.0, 2.0, 3.0]), np.array([1.0, 4.0, 5.0, 6.0])
SPD = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
CASES = [
    ("toeplitz", (C, R)), ("toeplitz", (C,)), ("hankel", (C, R)), ("circulant", (C,)),
    ("block_diag", (np.eye(2), np.ones((1, 3)), np.array([[5.0]]))), ("companion", (np.array([1.0, -3.0, 2.0]),)),
    ("convolution_matrix", (C, 5)), ("convolution_matrix", (C, 5, "same")), ("dft", (4,)), ("fiedler", (C,)),
    ("fiedler_companion", (np.array([1.0, -3.0, 2.0]),)), ("hadamard", (4,)), ("hankel", (C,)),
    ("helmert", (4,)), ("helmert", (4, True)), ("hilbert", (4,)),
    ("leslie", (np.array([0.1, 2.0, 1.0]), np.array([0.2, 0.8]))),
    ("sqrtm", (SPD,)), ("funm", (SPD, np.exp)),
]


@pytest.mark.parametrize(("name", "args"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_scipy(name, args):
    got = np.asarray(getattr(ours, name)(*args))
    want = getattr(sl, name)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
