"""Scalar root finders against SciPy, including the TOMS 748 (Alefeld-Potra-Shi) problem set
from SciPy's own ``_tstutils.py``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize import _tstutils

from scijax.solvers.optimize import bisect, brenth, brentq, newton, ridder, root_scalar

APS = _tstutils.get_tests("aps")
XTOL = RTOL = 4 * np.finfo(float).eps
BRACKETING = {"brentq": (brentq, so.brentq), "brenth": (brenth, so.brenth),
              "bisect": (bisect, so.bisect), "ridder": (ridder, so.ridder)}


def _host(which):
    """All APS functions behind one traced index, evaluated on the host (they use Python ``if``)."""

    def call(x, i):
        tc = APS[int(i)]
        fun = tc[which] if which != "f" else tc["f"]
        return np.float64(fun(float(x), *tc.get("args", ())))

    def f(x, i):
        out = jax.ShapeDtypeStruct((), jnp.float64)
        return jax.pure_callback(call, out, x, i, vmap_method="sequential")

    return f


_F, _FP, _FPP = _host("f"), _host("fprime"), _host("fprime2")
_IDX = jnp.arange(len(APS))


def _count_solved(roots, converged):
    ok = 0
    for tc, r, c in zip(APS, np.asarray(roots), np.asarray(converged), strict=True):
        if c and (np.isclose(r, tc["root"], rtol=RTOL, atol=XTOL)
                  or tc["f"](r, *tc.get("args", ())) == 0):
            ok += 1
    return ok


@pytest.mark.parametrize("name", list(BRACKETING))
def test_aps_collection_matches_scipy(name):
    ours, theirs = BRACKETING[name]
    a = jnp.array([tc["bracket"][0] for tc in APS])
    b = jnp.array([tc["bracket"][1] for tc in APS])
    solve = jax.vmap(lambda a, b, i: ours(_F, a, b, args=(i,), xtol=XTOL, rtol=RTOL,
                                          full_output=True, disp=False)[1])
    res = solve(a, b, _IDX)
    ref_roots, ref_conv, ref_nfev = [], [], []
    for tc in APS:
        r, info = theirs(tc["f"], *tc["bracket"], args=tc.get("args", ()), xtol=XTOL, rtol=RTOL,
                         full_output=True, disp=False)
        ref_roots.append(r)
        ref_conv.append(info.converged)
        ref_nfev.append(info.function_calls)
    assert _count_solved(res.root, res.converged) >= _count_solved(ref_roots, ref_conv)
    # The ports follow SciPy's C code step for step: same roots and evaluation counts.
    np.testing.assert_allclose(res.root, ref_roots, rtol=1e-12, atol=XTOL)
    np.testing.assert_array_equal(res.function_calls, ref_nfev)


@pytest.mark.parametrize("name", ["newton", "halley"])
def test_aps_newton_halley(name):
    smooth = np.array([tc["smoothness"] >= 2 for tc in APS])
    x0 = jnp.array([tc["x0"] for tc in APS])
    kw = {"fprime": _FP} if name == "newton" else {"fprime": _FP, "fprime2": _FPP}
    res = jax.vmap(lambda x, i: newton(_F, x, args=(i,), tol=XTOL, full_output=True, disp=False,
                                       **kw)[1])(x0, _IDX)
    ref_roots, ref_conv = [], []
    for tc in APS:
        kws = {"fprime": tc["fprime"]} if name == "newton" else {"fprime": tc["fprime"],
                                                                  "fprime2": tc["fprime2"]}
        try:
            r, info = so.newton(tc["f"], tc["x0"], args=tc.get("args", ()), tol=XTOL,
                                full_output=True, disp=False, **kws)
            ref_roots.append(r)
            ref_conv.append(info.converged)
        except (ValueError, OverflowError, ZeroDivisionError):
            ref_roots.append(np.nan)
            ref_conv.append(False)
    ours = _count_solved(np.where(smooth, res.root, np.nan), res.converged & smooth)
    theirs = _count_solved(np.where(smooth, ref_roots, np.nan), np.array(ref_conv) & smooth)
    assert ours >= theirs


def test_brentq_basic_and_full_output():
    root, info = brentq(lambda x: x**3 - 2 * x - 5, 2.0, 3.0, full_output=True)
    ref, rinfo = so.brentq(lambda x: x**3 - 2 * x - 5, 2.0, 3.0, full_output=True)
    assert abs(root - ref) < 1e-12
    assert info.converged and info.flag == "converged" and info.method == "brentq"
    assert int(info.iterations) == rinfo.iterations
    assert int(info.function_calls) == rinfo.function_calls


def test_bracket_grad_jit_vmap_float32():
    f = lambda x, a: x**3 - a  # noqa: E731
    # d root / d a = 1 / (3 a^(2/3)) by the implicit function theorem.
    a = jnp.array(8.0)
    for solver in (brentq, ridder):
        g = jax.grad(lambda a: solver(f, 0.0, 10.0, args=(a,)))(a)
        np.testing.assert_allclose(g, 1 / (3 * 8.0 ** (2 / 3)), rtol=1e-8)
    traces = []

    def counted(x, a):
        traces.append(None)
        return x**3 - a

    jitted = jax.jit(lambda a: brentq(counted, 0.0, 10.0, args=(a,)))
    jitted(2.0)
    n = len(traces)
    jitted(3.0)
    assert len(traces) == n
    batch = jnp.array([1.0, 8.0, 27.0, 0.5])
    roots = jax.vmap(lambda a: brentq(f, 0.0, 10.0, args=(a,)))(batch)
    np.testing.assert_allclose(roots, [brentq(f, 0.0, 10.0, args=(v,)) for v in batch], rtol=0)
    r32 = brentq(f, jnp.float32(0.0), jnp.float32(10.0), args=(jnp.float32(8.0),), xtol=1e-6)
    assert r32.dtype == jnp.float32 and abs(float(r32) - 2.0) < 1e-5


def test_bracket_failures():
    f = lambda x: x**2 + 1  # noqa: E731
    with pytest.raises(ValueError, match="different signs"):
        brentq(f, -1.0, 1.0)
    res = jax.jit(lambda: brentq(f, -1.0, 1.0, full_output=True, disp=False)[1])()
    assert not bool(res.converged) and res.flag == "sign error" and np.isnan(res.root)
    with pytest.raises(ValueError, match="NaN"):
        brentq(lambda x: jnp.nan * x, -1.0, 1.0)
    with pytest.raises(RuntimeError, match="Failed to converge"):
        brentq(lambda x: x**3 - 0.3, 0.0, 1.0, maxiter=2)
    _, info = bisect(lambda x: x**3 - 0.3, 0.0, 1.0, maxiter=2, full_output=True, disp=False)
    assert info.flag == "convergence error"
    with pytest.raises(ValueError, match="xtol"):
        brentq(f, 0.0, 1.0, xtol=0.0)
    with pytest.raises(ValueError, match="rtol"):
        brentq(f, 0.0, 1.0, rtol=1e-20)
    with pytest.raises(ValueError, match="maxiter"):
        brentq(f, 0.0, 1.0, maxiter=-1)


def test_newton_scalar_secant_halley_match_scipy():
    f = lambda x: x**3 - 2 * x - 5  # noqa: E731
    fp = lambda x: 3 * x**2 - 2  # noqa: E731
    fpp = lambda x: 6 * x  # noqa: E731
    for kw in ({}, {"fprime": fp}, {"fprime": fp, "fprime2": fpp}, {"x1": 2.5}):
        np.testing.assert_allclose(newton(f, 2.0, **kw), so.newton(f, 2.0, **kw), rtol=1e-10)
    _, info = newton(f, 2.0, fprime=fp, full_output=True)
    _, ref = so.newton(f, 2.0, fprime=fp, full_output=True)
    assert int(info.iterations) == ref.iterations and info.method == "newton"


def test_newton_elementwise_array_and_grad():
    a = jnp.array([1.0, 4.0, 9.0, 16.0])
    f = lambda x, a: x**2 - a  # noqa: E731
    roots, converged, zero_der = newton(f, jnp.ones(4), fprime=lambda x, a: 2 * x, args=(a,),
                                        full_output=True)
    np.testing.assert_allclose(roots, jnp.sqrt(a), rtol=1e-12)
    assert bool(jnp.all(converged)) and not bool(jnp.any(zero_der))
    ref = so.newton(lambda x, a: x**2 - a, np.ones(4), fprime=lambda x, a: 2 * x, args=(np.asarray(a),))
    np.testing.assert_allclose(roots, ref, rtol=1e-12)
    g = jax.grad(lambda a: jnp.sum(newton(f, jnp.ones(4), fprime=lambda x, a: 2 * x, args=(a,))))(a)
    np.testing.assert_allclose(g, 0.5 / jnp.sqrt(a), rtol=1e-8)
    # Zero derivative: flagged, never a silently wrong root.
    r, conv, zd = newton(f, jnp.array([0.0, 1.0]), fprime=lambda x, a: 2 * x,
                         args=(jnp.array([2.0, 2.0]),), full_output=True, disp=False)
    assert bool(zd[0]) and not bool(conv[0]) and bool(conv[1])
    x32 = newton(f, jnp.ones(2, jnp.float32), fprime=lambda x, a: 2 * x,
                 args=(jnp.array([4.0, 9.0], jnp.float32),), tol=1e-5)
    assert x32.dtype == jnp.float32
    np.testing.assert_allclose(x32, [2.0, 3.0], rtol=1e-5)


def test_root_scalar_methods_and_defaults():
    f = lambda x: x**3 - 1  # noqa: E731
    fp = lambda x: 3 * x**2  # noqa: E731
    for method in ["brentq", "brenth", "bisect", "ridder"]:
        sol = root_scalar(f, bracket=[0.0, 3.0], method=method)
        assert bool(sol.converged) and abs(float(sol.root) - 1) < 1e-10 and sol.method == method
    assert root_scalar(f, bracket=[0.0, 3.0]).method == "brentq"
    assert root_scalar(f, x0=2.0, fprime=fp).method == "newton"
    assert root_scalar(f, x0=2.0).method == "secant"
    sol = root_scalar(f, x0=2.0, fprime=fp, fprime2=lambda x: 6 * x)
    assert sol.method == "halley" and abs(float(sol.root) - 1) < 1e-10
    sol = root_scalar(lambda x: (x**3 - 1, 3 * x**2), x0=2.0, fprime=True, method="newton")
    assert abs(float(sol.root) - 1) < 1e-10
    with pytest.raises(ValueError, match="method"):
        root_scalar(f, bracket=[0, 3], method="nope")
    with pytest.raises(ValueError, match="bracket"):
        root_scalar(f, method="brentq", x0=1.0)
    with pytest.raises(ValueError, match="fprime"):
        root_scalar(f, method="halley", x0=1.0, fprime=lambda x: 3 * x**2)


def test_newton_without_fprime_uses_autodiff():
    f = lambda x: x**3 - 2 * x - 5  # noqa: E731
    root, info = newton(f, 2.0, full_output=True)
    _, ref = so.newton(f, 2.0, full_output=True)  # SciPy: the secant method
    assert info.method == "newton" and abs(float(root) - ref.root) < 1e-12
    assert int(info.iterations) <= ref.iterations
    sol = root_scalar(f, x0=2.0, method="newton")
    ref = so.root_scalar(f, x0=2.0, method="newton")  # SciPy: finite-difference derivative
    assert bool(sol.converged) and abs(float(sol.root) - ref.root) < 1e-12
    assert int(sol.iterations) == ref.iterations
