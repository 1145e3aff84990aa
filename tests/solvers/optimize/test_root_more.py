"""root's nonlin methods and df-sane, the standalone nonlin solvers and toms748, against SciPy.

The problems are those of SciPy's ``scipy/optimize/tests/test_nonlin.py`` (F, F2, F3, F4_powell,
F5 = the pressure network, F6), written from their published formulas, zero-padded to one size
so that each method compiles once and solves all six under ``vmap``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from scijax.solvers.optimize import (
    NoConvergence,
    broyden2,
    linearmixing,
    root,
    root_scalar,
    toms748,
)


def _problems(xp):
    def f1(x):
        return -xp.array([3, 2, 1.5, 1, 0.5]) * x - 0.01 * xp.dot(x, x) * x

    def f2(x):
        return x

    def f3(x):
        return xp.array([[-2, 1, 0.0], [1, -2, 1], [0, 1, -2]]) @ x - xp.array([1, 2, 3.0])

    def f4_powell(x):
        return xp.stack([1e4 * x[0] * x[1] - 1, xp.exp(-x[0]) + xp.exp(-x[1]) - (1 + 1e-4)])

    def f5(x):  # pressure network, 4 pipes, k = 0.5, Qtot = 4
        p = 0.5 * x**2
        return xp.concatenate([p[1:] - p[0], xp.stack([x.sum() - 4.0])])

    def f6(x):
        j0 = xp.array([[-4.256, 14.7], [0.8394989, 0.59964207]])
        v = xp.stack([(x[0] + 3) * (x[1] ** 5 - 7) + 18, xp.sin(x[1] * xp.exp(x[0]) - 1)])
        return -xp.linalg.solve(j0, v)

    return [f1, f2, f3, f4_powell, f5, f6]


XIN = [[1.0] * 5, [1.0, 2, 3, 4, 5, 6], [1.0, 2, 3], [-1.0, -2], [2.0, 0, 2, 0], [-0.5, 1.4]]
NP_F, JAX_F = _problems(np), _problems(jnp)
UNIQUE_ROOT = (0, 1, 2, 3, 5)  # F5 has roots (1,1,1,1) and (2,2,2,-2) and its sign flips
N = 6
X0 = jnp.array([x + [0.0] * (N - len(x)) for x in XIN])
FATOL = 6.0554544523933395e-06  # SciPy's nonlin default f_tol


def _pad(f, n):
    return lambda x: jnp.concatenate([f(x[:n]), x[n:]])


BRANCHES = [_pad(f, len(x0)) for f, x0 in zip(JAX_F, XIN, strict=True)]


def padded(x, i):
    return jax.lax.switch(i, BRANCHES, x)


def padded_f123(x, i):
    return jax.lax.switch(i, BRANCHES[:3], x)


# SciPy's test_nonlin marks F4_powell, F5 and F6 as known bad for these three, so they are tested
# (there as here) on F, F2 and F3 only; that also keeps their compiled programs small.
SIMPLE_MIXERS = ("linearmixing", "diagbroyden", "excitingmixing")


def _scipy(k, method):
    try:
        return so.root(NP_F[k], np.array(XIN[k]), method=method)
    except (OverflowError, FloatingPointError, ValueError, np.linalg.LinAlgError):
        return so.OptimizeResult(success=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("method", ["broyden1", "broyden2", "anderson", "linearmixing", "diagbroyden",
                                    "excitingmixing", "krylov", "df-sane"])
def test_scipy_problems_all_methods(method):
    fun, count = (padded_f123, 3) if method in SIMPLE_MIXERS else (padded, 6)
    res = jax.vmap(lambda x0, i: root(fun, x0, args=(i,), method=method))(X0[:count], jnp.arange(count))
    for k, xin in enumerate(XIN[:count]):
        n = len(xin)
        x, status = np.asarray(res.x[k, :n]), int(res.status[k])
        resid = np.abs(NP_F[k](x))
        if status == 1:  # never a success that is not a root at the requested tolerance
            if method == "df-sane":  # |F|_2 < ftol |F(x0)|_2 with ftol = 1e-8
                assert np.linalg.norm(resid) < 1e-8 * np.linalg.norm(NP_F[k](np.array(xin))), k
            else:
                assert resid.max() <= FATOL, (k, resid)
        else:
            assert status in (2, 3) and not bool(res.success[k])
        ref = _scipy(k, method)
        if not ref.success:
            continue
        assert status == 1, (k, res.message[k] if isinstance(res.message, list) else res.message)
        if k in UNIQUE_ROOT:
            # Both stop within f_tol of the root: |x - x*| <= |J^-1|_inf f_tol on each side.
            jinv = np.linalg.inv(np.asarray(jax.jacfwd(JAX_F[k])(jnp.asarray(ref.x))))
            tol = FATOL if method != "df-sane" else 1e-8 * np.abs(NP_F[k](np.array(xin))).sum()
            assert np.abs(x - ref.x).max() <= 2.5 * np.abs(jinv).sum(1).max() * tol, k


def cubic_system(x, b):
    a = jnp.array([[4.0, 1, 0], [1, 3, 1], [0, 1, 2]])
    return a @ x + 0.1 * x**3 - b


@pytest.mark.parametrize("method", ["anderson", "df-sane"])
def test_jit_vmap_grad_float32_no_recompile(method):
    opts = {"fatol": 1e-13} if method == "anderson" else {"ftol": 1e-14}
    traces = []

    def fun(x, b):
        traces.append(1)
        return cubic_system(x, b)

    def solve(b):
        return root(fun, jnp.zeros(3), args=(b,), method=method, options=opts)

    bs = jnp.array([[1.0, 2, 3], [0.5, -1, 2], [3.0, 0, -1]])
    loop = [solve(b) for b in bs]
    n_traces = len(traces)
    assert all(bool(r.success) for r in loop) and n_traces > 0
    solve(bs[0] + 0.25)
    assert len(traces) == n_traces  # new values of args: no retrace
    batched = jax.jit(jax.vmap(solve))(bs)
    np.testing.assert_allclose(batched.x, np.stack([r.x for r in loop]), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(batched.nit, [int(r.nit) for r in loop])
    w = jnp.array([1.0, -2.0, 0.5])
    g = jax.grad(lambda b: w @ solve(b).x)(bs[0])
    h = 1e-5
    fd = [(w @ solve(bs[0] + h * e).x - w @ solve(bs[0] - h * e).x) / (2 * h) for e in jnp.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    r32 = root(cubic_system, jnp.zeros(3, jnp.float32), args=(bs[0].astype(jnp.float32),), method=method,
               options={"fatol": 1e-5} if method == "anderson" else {"ftol": 1e-6})
    assert r32.x.dtype == jnp.float32 and bool(r32.success)
    np.testing.assert_allclose(r32.x, loop[0].x, rtol=1e-4)


def test_standalone_functions_and_no_convergence():
    b = jnp.array([1.0, 2, 3])
    ref = root(cubic_system, jnp.zeros(3), args=(b,), method="broyden2")
    # xin of shape (3, 1): F sees that shape; b is closed over.
    x = broyden2(lambda x: cubic_system(x[:, 0], b)[:, None], jnp.zeros((3, 1)))
    assert x.shape == (3, 1)
    np.testing.assert_allclose(x[:, 0], ref.x, atol=1e-5)
    assert np.abs(cubic_system(x[:, 0], b)).max() <= FATOL
    no_root = lambda x: x**2 + 1.0  # noqa: E731
    with pytest.raises(NoConvergence):
        linearmixing(no_root, jnp.array([0.5, 1.0]), maxiter=20)
    out = jax.jit(lambda x0: linearmixing(no_root, x0, maxiter=20))(jnp.array([0.5, 1.0]))
    assert np.all(np.isnan(out))
    res = root(no_root, jnp.array([0.5, 1.0]), method="linearmixing", options={"maxiter": 20})
    assert not bool(res.success) and int(res.status) in (2, 3)
    nan = root(lambda x: x * jnp.nan, jnp.array([0.5]), method="df-sane")
    assert not bool(nan.success) and "NaN" in nan.message
    for call, exc, word in [
        (lambda: broyden2(no_root, jnp.zeros(2), line_search="exact"), ValueError, "line_search"),
        (lambda: broyden2(no_root, jnp.zeros(2), tol=1e-3), TypeError, "tol"),
        (lambda: broyden2(no_root, jnp.zeros(2), callback=print), ValueError, "callback"),
        (lambda: broyden2(no_root, jnp.zeros(2), f_tol=-1.0), ValueError, "f_tol"),
        (lambda: root(no_root, jnp.zeros(2), method="anderson", options={"jac_options": {"m": 3}}),
         ValueError, "jac_options"),
        (lambda: root(no_root, jnp.zeros(2), method="krylov", options={"jac_options": {"method": "cgs"}}),
         ValueError, "method"),
        (lambda: root(no_root, jnp.zeros(2), method="df-sane", options={"line_search": "x"}),
         ValueError, "line_search"),
        (lambda: root(no_root, jnp.zeros(2), method="df-sane", options={"M": 0}), ValueError, "M"),
        (lambda: root(no_root, jnp.zeros(2), method="df-sane", options={"fatoll": 1.0}), ValueError,
         "options"),
    ]:
        with pytest.raises(exc, match=word):
            call()


def _scalar_problems(xp):
    return [lambda x: x**3 - 2 * x - 5, lambda x: xp.sin(x) - x / 2, lambda x: xp.exp(x) - 2,
            lambda x: x**9, lambda x: (x - 1) ** 3, lambda x: xp.tanh(20 * (x - 0.3))]


BRACKETS = [(2.0, 3.0), (1.0, 3.0), (-1.0, 3.0), (-1.2, 1.1), (0.0, 2.5), (-1.0, 4.0)]


def test_toms748_matches_scipy_grad_float32():
    fs = _scalar_problems(jnp)

    def one(i, a, b):
        return toms748(lambda x: jax.lax.switch(i, fs, x), a, b, full_output=True)

    ab = jnp.array([*BRACKETS, (3.0, 4.0)])  # the last: no sign change for problem 0
    roots, info = jax.vmap(one)(jnp.array([0, 1, 2, 3, 4, 5, 0]), ab[:, 0], ab[:, 1])
    assert np.isnan(roots[6]) and int(info.flag_code[6]) == -1 and not bool(info.converged[6])
    for k, (f, (a, b)) in enumerate(zip(_scalar_problems(np), BRACKETS, strict=True)):
        ref, ref_info = so.toms748(f, a, b, full_output=True)
        # SciPy's guarantee: |x - x*| <= xtol + rtol |x*|; both sides meet it.
        assert abs(float(roots[k]) - ref) <= 2 * (2e-12 + 4 * np.finfo(float).eps * abs(ref)), k
        assert bool(info.converged[k])
        assert abs(int(info.function_calls[k]) - ref_info.function_calls) <= 10, k
    # d root / d c of x^3 - c = 0 is 1 / (3 x^2); jit, grad, new values without retracing.
    grad = jax.jit(jax.grad(lambda c: toms748(lambda x, c: x**3 - c, 0.0, 3.0, args=(c,), k=2)))
    for c in (2.0, 5.0):
        np.testing.assert_allclose(grad(c), 1 / (3 * c ** (2 / 3)), rtol=1e-8)
    assert grad._cache_size() == 1
    r32 = root_scalar(lambda x: jnp.cos(x) - x, bracket=(jnp.float32(0), jnp.float32(1)), method="toms748",
                      xtol=1e-6, rtol=1e-6)
    assert r32.root.dtype == jnp.float32 and bool(r32.converged)
    np.testing.assert_allclose(r32.root, 0.7390851332151607, rtol=2e-6)
    with pytest.raises(ValueError, match="interval"):
        toms748(lambda x: x, 1.0, 0.0)
    with pytest.raises(ValueError, match="k"):
        toms748(lambda x: x, -1.0, 1.0, k=0)
    with pytest.raises(ValueError, match="finite"):
        toms748(lambda x: x, -np.inf, 1.0)
