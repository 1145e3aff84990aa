"""quad(weight=...), quad(complex_func=True), quad_vec's trapezoid/limit=0/points, NumPy integrands in
nquad: against SciPy on SciPy's own test problems; jit, vmap, grad, float32, no recompilation, bad inputs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si

from scijax.solvers.integrate import NotTraceableError, NotTraceableWarning, nquad, quad, quad_vec

INF = np.inf


def _decay(x, a):
    return jnp.exp(-a * x)


def _sin_finite(a, w):  # SciPy's test_sine_weighted_finite with (a, omega) as inputs
    return quad(lambda x, a: jnp.exp(a * (x - 1)), 0.0, 1.0, args=(a,), weight="sin", wvar=w)[0]


def _cos_inf(a, w):  # QAWF: int_0^inf exp(-a x) cos(w x) dx = a / (a^2 + w^2)
    return quad(_decay, 0.0, INF, args=(a,), weight="cos", wvar=w)[0]


def test_weights_match_scipy_on_its_test_problems():
    ome = 2.0**3.4
    alg_f = lambda x, a: 1 / (1 + x + 2**-a)  # noqa: E731 - SciPy's test_algebraic_log_weight integrand
    cauchy_f = lambda x, a: 2.0**-a / ((x - 1) ** 2 + 4.0**-a)  # noqa: E731 - SciPy's test_cauchypv_weight
    # (ours, SciPy's integrand, a, b, args, weight, wvar): SciPy's TestQuad weight problems; (-inf, b]
    # (mirrored QAWF) is left to SciPy's own test_cosine_weighted_infinite (tools/scipy_tests.py)
    cases = [
        (lambda x, a: jnp.exp(a * (x - 1)), lambda x, a: np.exp(a * (x - 1)), 0, 1, 20.0, "sin", ome),
        (_decay, lambda x, a: np.exp(-a * x), 0, INF, 4.0, "sin", 3.0),
        (alg_f, alg_f, 1, -1, 1.5, "alg-log", (-0.5, -0.5)),  # logs at both ends, b < a
        (cauchy_f, cauchy_f, 0, 5, 0.4, "cauchy", 2.0),
    ]
    for ours, theirs, a, b, p, weight, wvar in cases:
        y, err = quad(ours, a, b, args=(p,), weight=weight, wvar=wvar)
        ref, ref_err = si.quad(theirs, a, b, args=(p,), weight=weight, wvar=wvar)
        np.testing.assert_allclose(y, ref, rtol=1e-8, err_msg=weight)  # the brief's bar
        assert abs(float(y) - ref) <= max(float(err), 1e-12) + ref_err, weight
        assert float(err) < 1.5e-8
    # full_output: SciPy's QAWF dict; the partition's for the others (same compiled programs)
    y, err, info = quad(_decay, 0.0, INF, args=(4.0,), weight="sin", wvar=3.0, full_output=1)
    assert set(info) >= {"lst", "rslst", "erlst", "ierlst"}
    np.testing.assert_allclose(np.sum(info["rslst"]), y, rtol=1e-12)
    out = quad(alg_f, 1, -1, args=(1.5,), weight="alg-log", wvar=(-0.5, -0.5), full_output=1)
    assert len(out) == 3 and set(out[2]) == {"neval", "last", "alist", "blist", "rlist", "elist", "iord"}


def test_weights_jit_vmap_grad_no_recompile():
    f = jax.jit(jax.vmap(_sin_finite, (0, None)))
    a = jnp.array([5.0, 20.0])
    got = f(a, 3.0)
    ref = [si.quad(lambda x, a: np.exp(a * (x - 1)), 0, 1, args=(p,), weight="sin", wvar=3.0)[0] for p in a]
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    f(a + 1.0, 2.5)  # new values: the same program
    assert f._cache_size() == 1
    # grad: QAWF (cycles summed, then Wynn-extrapolated) w.r.t. args and omega, against the closed
    # form; a finite cos/sin weight differentiates like plain quad (tests/.../test_quad.py)
    a0, w0 = 4.0, 3.0
    da, dw = jax.grad(_cos_inf, argnums=(0, 1))(a0, w0)
    s = a0**2 + w0**2
    np.testing.assert_allclose(da, (w0**2 - a0**2) / s**2, rtol=1e-7)
    np.testing.assert_allclose(dw, -2 * a0 * w0 / s**2, rtol=1e-7)


def test_weights_float32_and_bad_inputs():
    y, err = quad(lambda x, a: jnp.exp(a * (x - 1)), jnp.float32(0), jnp.float32(1), args=(jnp.float32(20),),
                  weight="cos", wvar=jnp.float32(3.0), epsabs=1e-6, epsrel=1e-6)
    assert y.dtype == jnp.float32
    ref = si.quad(lambda x: np.exp(20 * (x - 1)), 0, 1, weight="cos", wvar=3.0)[0]
    np.testing.assert_allclose(y, ref, rtol=1e-5)
    f = lambda x: x  # noqa: E731
    bad = [
        (dict(weight="tan", wvar=1.0), "tan not a recognized weighting function"),
        (dict(weight="cos", wvar=(1.0, 2.0)), "wvar"),
        (dict(weight="alg", wvar=1.0), "wvar"),
        (dict(weight="alg", wvar=(-1.0, 0.0)), "wvar"),
        (dict(weight="cauchy", wvar=0.0), "wvar"),
        (dict(weight="cos", wvar=1.0, maxp1=0), "maxp1"),
    ]
    for kwargs, match in bad:
        with pytest.raises(ValueError, match=match):
            quad(f, 0.0, 1.0, **kwargs)
    with pytest.raises(ValueError, match="from -Inf to \\+Inf"):
        quad(f, -INF, INF, weight="sin", wvar=1.0)
    with pytest.raises(ValueError, match="infinite interval"):
        quad(f, 0.0, INF, weight="cauchy", wvar=1.0)
    with pytest.raises(ValueError, match="limlst"):
        quad(f, 0.0, INF, weight="cos", wvar=1.0, limlst=2)


def test_complex_func_and_numpy_integrands():
    y, err = quad(lambda x: jnp.exp(1j * x), 0.0, np.pi / 2, complex_func=True)
    np.testing.assert_allclose(y, 1 + 1j, rtol=1e-12)
    zero, err, info = quad(lambda x: 1 / x, 0.0, 0.0, full_output=1, complex_func=True)
    assert zero == 0 and set(info) == {"real", "imag"} and int(info["real"]["last"]) == 0
    # a NumPy-written integrand with a weight runs on the host (one warning), SciPy's answer
    with pytest.warns(NotTraceableWarning):
        y, _ = quad(lambda x, a: math.exp(-a * x), 0.0, 1.0, args=(2.0,), weight="cauchy", wvar=0.5)
    np.testing.assert_allclose(y, si.quad(lambda x: math.exp(-2 * x), 0, 1, weight="cauchy", wvar=0.5)[0],
                               rtol=1e-10)
    # nquad/dblquad: NumPy functions are prepared once at the top (eager runs are checked by SciPy's
    # own TestNQuad/TestDblquad through tools/scipy_tests.py); under jit, the dedicated error
    with pytest.raises(NotTraceableError, match="math.exp"):
        jax.jit(lambda c: nquad(lambda x, y, c: math.exp(-x * y * c), [[0, 1], [0, 1]], args=(c,))[0])(1.0)


def test_quad_vec_trapezoid_limit0_and_infinite_points():
    n = jnp.arange(4.0)
    exact = 2 ** (n + 1) / (n + 1)
    res, err = quad_vec(lambda x: x**n, 0.0, 2.0, norm="max", epsabs=1e-3, quadrature="trapezoid")
    assert float(jnp.max(jnp.abs(res - exact))) < 1e-3
    ref = si.quad_vec(lambda x: x ** np.arange(4.0), 0, 2, norm="max", epsabs=1e-3, quadrature="trapezoid")
    assert abs(float(err) - ref[1]) < 1e-3  # both estimate a ~1e-3 error
    # limit=0: only the initial partition (SciPy's: points outside (a, b) dropped), status 1 if not met
    res, err, info = quad_vec(lambda x: x**n, 0.0, 2.0, points=(-1.0, 0.5, 1.0, 3.0), limit=0, full_output=True,
                              quadrature="trapezoid")
    np.testing.assert_allclose(info.intervals, [[0.0, 0.5], [0.5, 1.0], [1.0, 2.0]])
    assert int(info.status) == 1
    # infinite limits with break points (mapped like the limits), both orientations
    for a, b, want in ((0.0, INF, np.pi / 2), (INF, -INF, -np.pi)):
        res, err = quad_vec(lambda x: 1 / (1 + x**2), a, b, points=(1.0, 2.0), epsabs=1e-10)
        np.testing.assert_allclose(res, want, rtol=1e-9)
