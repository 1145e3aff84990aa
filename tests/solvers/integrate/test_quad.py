"""quad, quad_vec and the fixed rules against scipy.integrate (integrands from SciPy's test_quadpack)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si

from scijax.solvers.integrate._quad import quad, quad_vec
from scijax.solvers.integrate._quad_fixed import cumulative_trapezoid, fixed_quad, romb, simpson, trapezoid

# (name, jax integrand, a, b, args); SciPy gets the same function with float conversion.
PROBLEMS = [
    ("typical", lambda x, n, z: jnp.cos(n * x - z * jnp.sin(x)) / jnp.pi, 0.0, np.pi, (2, 1.8)),
    ("indefinite", lambda x: -jnp.exp(-x) * jnp.log(x), 0.0, np.inf, ()),
    ("gaussian", lambda x: jnp.exp(-(x**2)), -np.inf, np.inf, ()),
    ("lower_inf", lambda x: jnp.exp(x), -np.inf, 1.0, ()),
    ("reversed_inf", lambda x: jnp.exp(x), 1.0, -np.inf, ()),
    ("oscillatory", lambda x: jnp.sin(50 * x) * jnp.exp(-x), 0.0, 3.0, ()),
    ("log_singular", lambda x: jnp.log(x), 0.0, 1.0, ()),
    ("reversed", lambda x: x**3 - 2 * x, 2.0, -1.0, ()),
    ("rational_inf", lambda x: 1 / (1 + x**2), 0.0, np.inf, ()),
]


@pytest.mark.parametrize("name,f,a,b,args", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_quad_matches_scipy(name, f, a, b, args):
    y, err, info = quad(f, a, b, args, full_output=1)
    y_ref, _, info_ref = si.quad(lambda x, *p: float(f(x, *p)), a, b, args, full_output=1)
    tol = max(1.49e-8, 1.49e-8 * abs(y_ref))
    assert abs(float(y) - y_ref) <= tol
    assert float(err) <= tol
    assert abs(float(y) - y_ref) <= 10 * float(err) + 1e-14
    # QAGS/QAGI as SciPy runs them: the same number of subintervals and evaluations
    assert (int(info["last"]), int(info["neval"])) == (info_ref["last"], info_ref["neval"])


def test_points_and_full_output():
    f = lambda x: jnp.abs(x - 0.3) + jnp.where(x > 0.7, 1.0, 0.0)  # noqa: E731
    y, err, info = quad(f, 0.0, 1.0, points=[0.3, 0.7], full_output=1)
    y_ref, _, info_ref = si.quad(lambda x: abs(x - 0.3) + (x > 0.7), 0.0, 1.0, points=[0.3, 0.7],
                                 full_output=1)
    assert abs(float(y) - y_ref) < 1e-12
    assert int(info["last"]) == info_ref["last"] == 3
    assert int(info["neval"]) == info_ref["neval"]
    assert set(info_ref) <= set(info) | {"pts", "level", "ndin"}
    n = int(info["last"])
    np.testing.assert_allclose(np.sort(np.asarray(info["alist"][:n])), [0.0, 0.3, 0.7], atol=1e-15)
    np.testing.assert_allclose(np.sum(info["rlist"][:n]), y, rtol=1e-14)


def test_failure_is_reported():
    # 1/x on (0, 1) diverges: SciPy's QAGS uses all 50 subintervals too (ier 1); tests/.../test_quad_qags.py
    # has the other flags
    with pytest.warns(si.IntegrationWarning):
        y, err = quad(lambda x: 1 / x, 0.0, 1.0)
    out = quad(lambda x: 1 / x, 0.0, 1.0, full_output=1)
    assert len(out) == 4 and int(out[2]["ier"]) == 1 and "maximum number of subdivisions" in out[3]
    out = quad(lambda x: 1 / x, -1.0, 1.0, full_output=1)  # a node at the pole: not a quiet number
    assert int(out[2]["ier"]) != 0


def _quad_exp(p, a, b):
    return quad(lambda x, p: jnp.exp(-p * x) * jnp.cos(x), a, b, (p,))[0]


QUAD_JIT = jax.jit(_quad_exp)


def test_quad_jit_vmap_grad():
    ps = jnp.array([0.5, 1.0, 2.0])
    bs = jnp.array([1.0, 2.0, jnp.inf])
    batched = jax.vmap(QUAD_JIT)(ps, jnp.zeros(3), bs)
    loop = [QUAD_JIT(p, 0.0, b) for p, b in zip(ps, bs, strict=True)]
    np.testing.assert_allclose(batched, loop, rtol=1e-13)
    ref = [si.quad(lambda x: np.exp(-p * x) * np.cos(x), 0, b)[0] for p, b in zip(ps, bs, strict=True)]
    np.testing.assert_allclose(batched, ref, rtol=1e-10)
    gp, ga, gb = jax.grad(QUAD_JIT, argnums=(0, 1, 2))(1.0, 0.2, 1.5)
    np.testing.assert_allclose(ga, -np.exp(-0.2) * np.cos(0.2), rtol=1e-12)
    np.testing.assert_allclose(gb, np.exp(-1.5) * np.cos(1.5), rtol=1e-12)
    dp = si.quad(lambda x: -x * np.exp(-x) * np.cos(x), 0.2, 1.5)[0]
    np.testing.assert_allclose(gp, dp, rtol=1e-10)
    # forward mode and a gradient batched over parameters with an infinite limit
    np.testing.assert_allclose(jax.jacfwd(QUAD_JIT)(1.0, 0.2, 1.5), gp, rtol=1e-10)
    g_inf = jax.vmap(jax.grad(QUAD_JIT), in_axes=(0, None, None))(ps, 0.0, jnp.inf)
    np.testing.assert_allclose(g_inf, [-(p**2 - 1) / (p**2 + 1) ** 2 for p in ps], rtol=1e-8, atol=1e-12)


def test_quad_no_recompile_and_float32():
    traces = []

    @jax.jit
    def f(p, b):
        traces.append(1)
        return quad(lambda x, p: jnp.sin(p * x), 0.0, b, (p,))[0]

    f(1.0, 2.0)
    f(3.0, 1.0)
    assert len(traces) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # QAGI with extrapolation (an end singularity on an infinite range), in float32
        y, err = quad(lambda x: jnp.exp(-x) / jnp.sqrt(x), jnp.float32(0), jnp.float32(jnp.inf), epsabs=1e-5,
                      epsrel=1e-5)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(y, np.sqrt(np.pi), rtol=1e-5)
    assert float(err) <= 1e-5 * np.sqrt(np.pi)


def test_quad_bad_inputs():
    with pytest.raises(ValueError, match="`a`"):
        quad(jnp.sin, np.nan, 1.0)
    with pytest.raises(ValueError, match="`b`"):
        quad(jnp.sin, 0.0, np.nan)
    with pytest.raises(ValueError, match="limit"):
        quad(jnp.sin, 0.0, 1.0, limit=0)
    with pytest.raises(ValueError, match="epsabs"):
        quad(jnp.sin, 0.0, 1.0, epsabs=0.0, epsrel=1e-30)
    with pytest.raises(ValueError, match="points"):
        quad(jnp.sin, 0.0, np.inf, points=[1.0])
    with pytest.raises(ValueError, match="points"):
        quad(jnp.sin, 0.0, 1.0, points=[2.0])
    with pytest.raises(ValueError, match="scalar"):
        quad(lambda x: jnp.stack([x, x]), 0.0, 1.0)
    with pytest.raises(ValueError, match="weighting function"):  # weights: tests/.../test_quad_weights.py
        quad(jnp.sin, 0.0, 1.0, weight="cosine", wvar=2.0)


def test_quad_vec_matches_scipy():
    f = lambda x, a: jnp.exp(-a * x) / (1 + x**2)  # noqa: E731
    a = np.linspace(0.5, 2.0, 4)
    for lo, hi in [(0.0, 3.0), (0.0, np.inf)]:
        res, err, info = quad_vec(f, lo, hi, args=(a,), full_output=True)
        ref, err_ref, info_ref = si.quad_vec(lambda x: np.exp(-a * x) / (1 + x**2), lo, hi, full_output=True)
        np.testing.assert_allclose(res, ref, rtol=1e-9)
        assert float(err) <= max(1e-200, 1e-8 * np.linalg.norm(ref))
        assert bool(info.success) and info.intervals.shape[1] == 2 and info.message
    res_max, _ = quad_vec(f, 0.0, 3.0, norm="max", args=(a,), quadrature="gk15", limit=200)
    ref = si.quad_vec(lambda x: np.exp(-a * x) / (1 + x**2), 0, 3)[0]
    np.testing.assert_allclose(res_max, ref, rtol=1e-9)
    g = jax.grad(lambda s: quad_vec(lambda x, s: jnp.stack([jnp.sin(s * x), x * s]), 0.0, 1.0,
                                    args=(s,), limit=100)[0].sum())(2.0)
    np.testing.assert_allclose(g, (np.sin(2.0) / 2.0 - (1 - np.cos(2.0)) / 4.0) + 0.5, rtol=1e-10)
    with pytest.raises(ValueError, match="`norm`"):
        quad_vec(f, 0.0, 1.0, norm="3", args=(a,))
    with pytest.raises(ValueError, match="`quadrature`"):
        quad_vec(f, 0.0, 1.0, quadrature="gk7", args=(a,))


def test_fixed_rules_match_scipy():
    rng = np.random.default_rng(0)
    for n in (2, 3, 4, 7):
        y = rng.standard_normal((3, n))
        x = np.sort(rng.uniform(0, 3, n))
        np.testing.assert_allclose(simpson(y, x=x), si.simpson(y, x=x), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(simpson(y.T, dx=0.3, axis=0), si.simpson(y.T, dx=0.3, axis=0), rtol=1e-12)
        ref = si.cumulative_trapezoid(y, x, initial=0)
        np.testing.assert_allclose(cumulative_trapezoid(y, x, initial=0), ref, rtol=1e-12, atol=1e-14)
        ref = si.cumulative_trapezoid(y, dx=0.5)
        np.testing.assert_allclose(cumulative_trapezoid(y, dx=0.5), ref, rtol=1e-12)
        np.testing.assert_allclose(trapezoid(y, x), si.trapezoid(y, x), rtol=1e-12)
    for n in (2, 17):
        y = rng.standard_normal((2, n))
        np.testing.assert_allclose(romb(y, 0.3), si.romb(y, 0.3), rtol=1e-12)
    np.testing.assert_allclose(fixed_quad(jnp.cos, 0.0, 1.0, n=4)[0], si.fixed_quad(np.cos, 0, 1, n=4)[0],
                               rtol=1e-14)
    assert fixed_quad(jnp.cos, 0.0, 1.0)[1] is None


def test_fixed_rules_transforms_and_bad_inputs():
    x = jnp.linspace(0.0, 1.0, 9)
    g = jax.grad(lambda s: simpson(jnp.sin(s * x), x=x))(2.0)
    np.testing.assert_allclose(g, si.simpson(np.cos(2.0 * x) * x, x=np.asarray(x)), rtol=1e-12)
    ys = jnp.stack([x**2, x**3])
    np.testing.assert_allclose(jax.vmap(lambda y: romb(y, dx=0.125))(ys), [1 / 3, 1 / 4], rtol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda y: cumulative_trapezoid(y, x=x))(x)[-1], 0.5, rtol=1e-12)
    gq = jax.grad(lambda p: fixed_quad(lambda t, p: jnp.exp(p * t), 0.0, 1.0, (p,), n=8)[0])(1.0)
    np.testing.assert_allclose(gq, 1.0, rtol=1e-10)
    assert simpson(x.astype(jnp.float32)).dtype == jnp.float32
    with pytest.raises(ValueError, match="power of 2"):
        romb(jnp.ones(6))
    with pytest.raises(ValueError, match="`initial`"):
        cumulative_trapezoid(jnp.ones(4), initial=1.0)
    with pytest.raises(ValueError, match="length of x"):
        simpson(jnp.ones(4), x=jnp.ones(3))
    with pytest.raises(ValueError, match="finite limits"):
        fixed_quad(jnp.cos, 0.0, np.inf)
    with pytest.raises(ValueError, match="`n`"):
        fixed_quad(jnp.cos, 0.0, 1.0, n=0)


def test_eager_success_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quad(jnp.cos, 0.0, 1.0)
