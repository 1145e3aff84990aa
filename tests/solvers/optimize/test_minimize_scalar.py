"""minimize_scalar: the engines are ports of SciPy's, so iterates and counts must agree."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import minimize_scalar

PROBLEMS = [
    (lambda x: (x - 2) * x * (x + 2) ** 2, lambda x: (x - 2) * x * (x + 2) ** 2),
    (lambda x: jnp.sin(x) + 0.1 * x**2, lambda x: np.sin(x) + 0.1 * x**2),
    (lambda x: jnp.cosh(x - 3.3), lambda x: np.cosh(x - 3.3)),
]
CASES = [("brent", {}), ("golden", {}), ("brent", {"bracket": (-3, -2)}),
         ("bounded", {"bounds": (-3, -1)}), ("golden", {"bracket": (-3.0, -2.0, 4.0)})]


@pytest.mark.parametrize("method,kw", CASES)
def test_matches_scipy(method, kw):
    for ours, theirs in PROBLEMS:
        try:
            ref = so.minimize_scalar(theirs, method=method, **kw)
        except ValueError:
            with pytest.raises(ValueError, match="bracket"):
                minimize_scalar(ours, method=method, **kw)
            continue
        res = minimize_scalar(ours, method=method, **kw)
        assert bool(res.success) == ref.success
        np.testing.assert_allclose(res.x, ref.x, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-10, atol=1e-12)
        if len(kw.get("bracket", ())) != 3:
            assert int(res.nfev) == ref.nfev and int(res.nit) == ref.nit


def test_jit_vmap_grad_float32():
    f = lambda x, c: (x - c) ** 2 + 0.1 * (x - c) ** 4  # noqa: E731
    for method, kw in [("brent", {}), ("golden", {}), ("bounded", {"bounds": (-5.0, 5.0)})]:
        solve = jax.jit(lambda c, m=method, k=kw: minimize_scalar(f, args=(c,), method=m, **k).x)
        cs = jnp.array([0.5, -1.0, 2.5])
        batched = jax.vmap(solve)(cs)
        np.testing.assert_allclose(batched, [solve(c) for c in cs], rtol=1e-12)
        np.testing.assert_allclose(batched, cs, atol=1e-4)
        np.testing.assert_allclose(jax.grad(solve)(jnp.array(0.7)), 1.0, rtol=1e-6)
        assert solve._cache_size() == 1
    r32 = minimize_scalar(lambda x: (x - jnp.float32(1.5)) ** 2, bracket=(jnp.float32(0), jnp.float32(1)))
    assert r32.x.dtype == jnp.float32 and abs(float(r32.x) - 1.5) < 1e-3


def test_failures_and_bad_inputs():
    res = minimize_scalar(lambda x: x**2 + jnp.nan)
    assert not bool(res.success)
    res = minimize_scalar(lambda x: (x - 2.0) ** 2, options={"maxiter": 2})
    assert int(res.status) == 1 and res.message.startswith("Maximum")
    with pytest.raises(ValueError, match="bounds"):
        minimize_scalar(lambda x: x**2, bounds=(0, 1), method="brent")
    with pytest.raises(ValueError, match="bounds"):
        minimize_scalar(lambda x: x**2, bounds=(1, 0))
    with pytest.raises(ValueError, match="bounds"):
        minimize_scalar(lambda x: x**2, bounds=(0, np.inf))
    with pytest.raises(ValueError, match="method"):
        minimize_scalar(lambda x: x**2, method="nope")
    with pytest.raises(ValueError, match="options"):
        minimize_scalar(lambda x: x**2, options={"xtoll": 1})
    with pytest.raises(ValueError, match="bracket"):
        minimize_scalar(lambda x: x**2, bracket=(1,))
