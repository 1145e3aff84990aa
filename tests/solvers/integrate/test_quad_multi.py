"""dblquad, tplquad and nquad against SciPy; grad w.r.t. args and limits; vmap; bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si

from scijax.solvers.integrate import dblquad, nquad, tplquad


def test_dblquad_variable_limits_matches_scipy():
    ours = dblquad(lambda y, x: jnp.exp(-x * y), 0.0, 1.0, lambda x: 0.0, lambda x: 1 - x)
    ref = si.dblquad(lambda y, x: np.exp(-x * y), 0.0, 1.0, lambda x: 0.0, lambda x: 1 - x)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12)
    assert float(ours[1]) < 1e-10


def test_tplquad_matches_scipy():
    f = lambda z, y, x: x * y * z
    ours = tplquad(f, 0.0, 1.0, 0.0, lambda x: x, 0.0, lambda x, y: x + y)
    ref = si.tplquad(f, 0.0, 1.0, 0.0, lambda x: x, 0.0, lambda x, y: x + y)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-12)


def test_nquad_callable_ranges_and_opts_match_scipy():
    f = lambda x, y, c: c * jnp.cos(x * y)
    ranges = [lambda y, c: (0.0, y), (0.0, 2.0)]
    ours = nquad(f, ranges, args=(2.0,), opts=[{"epsabs": 1e-12}, {"limit": 80}])
    ref = si.nquad(lambda x, y, c: c * np.cos(x * y), ranges, args=(2.0,), opts=[{"epsabs": 1e-12}, {"limit": 80}])
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-11)


def test_grad_wrt_args_and_limit_and_vmap():
    def val(c, b):
        return dblquad(lambda y, x, c: jnp.exp(-c * x * y), 0.0, b, 0.0, 1.0, args=(c,))[0]

    h = 1e-6
    fd = (si.dblquad(lambda y, x: np.exp(-(1 + h) * x * y), 0, 1, 0, 1)[0]
          - si.dblquad(lambda y, x: np.exp(-(1 - h) * x * y), 0, 1, 0, 1)[0]) / (2 * h)
    # One compiled program checks grad and vmap together: value and gradient batched over (c, b).
    vals, (g_c, g_b) = jax.vmap(jax.value_and_grad(val, argnums=(0, 1)))(jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0]))
    np.testing.assert_allclose(g_c[0], fd, rtol=1e-6)
    # d/db int_0^b int_0^1 exp(-x y) dy dx = int_0^1 exp(-b y) dy at b = 1
    np.testing.assert_allclose(g_b[0], 1 - np.exp(-1.0), rtol=1e-10)
    np.testing.assert_allclose(vals[1], si.dblquad(lambda y, x: np.exp(-2 * x * y), 0, 1, 0, 1)[0], rtol=1e-12)
    # and at c = 2 the gradient w.r.t. b is int_0^1 exp(-2 y) dy
    np.testing.assert_allclose(g_b[1], (1 - np.exp(-2.0)) / 2, rtol=1e-10)


def test_bad_inputs():
    with pytest.raises(ValueError, match="gfun"):
        dblquad(lambda y, x: x, 0.0, 1.0, "low", 1.0)
    with pytest.raises(ValueError, match=r"ranges\[0\]"):
        nquad(lambda x: x, [(0.0,)])
    with pytest.raises(ValueError, match="ranges"):
        nquad(lambda x: x, [])
    with pytest.raises(ValueError, match="opts"):
        nquad(lambda x, y: x, [(0, 1), (0, 1)], opts=[{}])
    with pytest.raises(ValueError, match=r"opts\[0\]"):
        nquad(lambda x: x, [(0, 1)], opts={"weight": "cos"})
    # full_output=True is implemented (tests/test_dropin_more.py); under jit it raises ValueError.
