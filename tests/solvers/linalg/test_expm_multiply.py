"""expm_multiply, onenormest, norm and matrix_power against scipy.sparse.linalg and scipy.linalg.expm."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from jax.experimental import sparse as jsparse

from scijax.solvers import linalg as sla

N = 10
_rng = np.random.default_rng(7)
A = _rng.standard_normal((N, N))
B = _rng.standard_normal((N, 2))
S = sp.random(N, N, density=0.3, random_state=8, format="csr")

_expm_mult = jax.jit(sla.expm_multiply)


def test_expm_multiply_matches_scipy():
    # ||A||_1 from 0.3 to 60: one Taylor stage up to many (s > 1), the shift by trace(A)/N included
    for scale in (0.1, 3.0, 20.0):
        x = _expm_mult(scale * A, B)
        ref = sl.expm(scale * A) @ B
        np.testing.assert_allclose(x, ref, rtol=0, atol=1e-13 * np.abs(ref).max() * max(scale, 1))
    x = sla.expm_multiply(A, B[:, 0], start=0.1, stop=2.0, num=5, endpoint=False)
    ref = spl.expm_multiply(A, B[:, 0], start=0.1, stop=2.0, num=5, endpoint=False)
    assert x.shape == ref.shape == (5, N)
    np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-13)
    # (the shapes of the calls above: no new compilation)
    x = sla.expm_multiply(S, B[:, 0], start=0.0, stop=1.0, num=5)
    np.testing.assert_allclose(x, spl.expm_multiply(S, B[:, 0], start=0.0, stop=1.0, num=5), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(sla.expm_multiply(jsparse.BCOO.from_scipy_sparse(S), B),
                               spl.expm_multiply(S, B), rtol=1e-12)
    np.testing.assert_allclose(sla.expm_multiply(np.zeros((N, N)), B), B)  # m = 0


def test_expm_multiply_vmap_grad_float32_nonfinite():
    scales = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda c: _expm_mult(c * A, B))(scales)
    np.testing.assert_allclose(batched, jnp.stack([_expm_mult(c * A, B) for c in scales]), rtol=1e-12)
    h = 1e-6
    # reverse mode in A, B and the grid's end points, against central differences along directions
    W = np.random.default_rng(9).standard_normal((5, N))
    grid = lambda a, b, t0, t1: jnp.sum(W * sla.expm_multiply(a, b, start=t0, stop=t1, num=5))  # noqa: E731
    args = (jnp.asarray(A), jnp.asarray(B[:, 0]), 0.2, 0.9)
    grads = jax.jit(jax.grad(grid, argnums=(0, 1, 2, 3)))(*args)
    dirs = (np.diag(np.linspace(-1, 1, N)) + 0.1, np.linspace(0, 1, N), 1.0, 1.0)
    for i, (g, d) in enumerate(zip(grads, dirs, strict=True)):
        plus = list(args)
        minus = list(args)
        plus[i] = args[i] + h * d
        minus[i] = args[i] - h * d
        fd = (grid(*plus) - grid(*minus)) / (2 * h)
        np.testing.assert_allclose(np.sum(np.asarray(g) * d), fd, rtol=1e-6, err_msg=str(i))
    x32 = sla.expm_multiply(A.astype(np.float32), B.astype(np.float32))
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(x32, sl.expm(A) @ B, rtol=1e-4, atol=1e-4)
    bad = A.copy()
    bad[0, 0] = np.nan
    assert np.all(np.isnan(_expm_mult(bad, B)))


def test_norms_and_powers():
    est, v, w = sla.onenormest(S, compute_v=True, compute_w=True)
    np.testing.assert_allclose(est, spl.onenormest(S), rtol=1e-14)  # SciPy's estimate is exact here
    np.testing.assert_allclose(np.abs(np.asarray(w)).sum(), est, rtol=1e-14)
    np.testing.assert_allclose(S @ np.asarray(v), w, rtol=1e-14)
    for ord_, axis in ((None, None), ("fro", None), (1, None), (-1, None), (np.inf, None), (1, 0), (2, 1)):
        np.testing.assert_allclose(sla.norm(S, ord_, axis), spl.norm(S, ord_, axis), rtol=1e-13)
    np.testing.assert_allclose(sla.matrix_power(S, 3), spl.matrix_power(S, 3).toarray(), rtol=1e-13, atol=1e-15)
    with pytest.raises(ValueError, match="exponent"):
        sla.matrix_power(S, -1)
    with pytest.raises(ValueError, match="`B`"):
        sla.expm_multiply(A, np.ones(N + 1))
    with pytest.raises(TypeError, match="start"):
        sla.expm_multiply(A, B, num=3)
    with pytest.raises(ValueError, match="square"):
        sla.expm_multiply(np.ones((2, 3)), np.ones(2))
