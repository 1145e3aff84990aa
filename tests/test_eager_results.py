"""Eager results have SciPy's types (NumPy arrays, Python scalars); traced results stay JAX arrays.

SciPy is the oracle for the types and the values: each check runs SciPy on the same small problem.
Also: bracketing root finders and a NaN function value (SciPy's ValueError / ``converged=False``), and
SciPy's attribute-setting protocol on ``LinearOperator`` (``A.psolve = ...``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.linalg as sl
import scipy.optimize as so
import scipy.sparse.linalg as sla

from scijax.solvers import integrate, linalg, optimize


def _rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _poly(x, c):
    return x**2 - c


def _nan_right(x):  # NaN on the right half of the bracket: SciPy stops at f(b)
    return jnp.where(x > 0.5, jnp.nan, x - 1.0)


def _same_kind(ours, ref, name):
    """Our eager value has SciPy's Python/NumPy type (np.float64 where SciPy returns float is allowed)."""
    if isinstance(ref, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.flags.writeable, name
    elif isinstance(ref, bool | np.bool_):
        assert type(ours) is bool, name
    elif isinstance(ref, int | np.integer):
        assert type(ours) is int, name
    elif isinstance(ref, float | np.floating):
        assert isinstance(ours, float) and not isinstance(ours, jax.Array), name


def test_optimize_eager_results_are_scipy_types():
    x0 = np.array([1.3, 0.7])
    ours, ref = optimize.minimize(_rosen, x0, method="BFGS"), so.minimize(so.rosen, x0, method="BFGS")
    for k in ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success"):
        _same_kind(ours[k], ref[k], k)
    assert type(ours.fun) is np.float64 and ours.status in {0, 3} and ours.success is True
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-5)
    ours.x[0] = 0.0  # writable, as SciPy's
    keys = lambda r: {line.split(":")[0].strip() for line in repr(r).splitlines() if ":" in line}  # noqa: E731
    assert keys(ref) <= keys(ours) | {"hess_inv"}  # print(res) shows SciPy's fields, not JAX reprs
    assert "Array(" not in repr(ours)

    # Scalar roots: SciPy returns Python floats and a RootResults of Python scalars.
    root, info = optimize.brentq(_poly, 0.0, 2.0, args=(2.0,), full_output=True)
    ref_root, ref_info = so.brentq(lambda x: x**2 - 2.0, 0.0, 2.0, full_output=True)
    assert type(root) is float and type(info.root) is float and abs(root - ref_root) < 1e-10
    for k in ("iterations", "function_calls", "converged"):
        _same_kind(getattr(info, k), getattr(ref_info, k), k)
    assert info.converged is True and info.flag == ref_info.flag

    # A traced call is untouched: JAX arrays out of jit.
    traced = jax.jit(lambda c: optimize.root_scalar(_poly, args=(c,), bracket=[0.0, 2.0]))(2.0)
    assert isinstance(traced.root, jax.Array) and isinstance(traced.converged, jax.Array)


@pytest.mark.parametrize("method", ["brentq", "toms748"])
def test_bracketing_nan_matches_scipy(method):
    f_ref = lambda x: np.nan if x > 0.5 else x - 1.0  # noqa: E731
    with pytest.raises(ValueError, match="function value at x=2.0 is NaN") as ref_err:
        getattr(so, method)(f_ref, 0.0, 2.0)
    with pytest.raises(ValueError) as err:
        getattr(optimize, method)(_nan_right, 0.0, 2.0, disp=False)
    assert str(err.value) == str(ref_err.value).replace("x=2 ", "x=2.0 ")

    ref = so.root_scalar(f_ref, bracket=[0.0, 2.0], method=method)
    res = optimize.root_scalar(_nan_right, bracket=[0.0, 2.0], method=method)
    assert res.converged is False and ref.converged is False
    assert res.flag == ref.flag.replace("x=2 ", "x=2.0 ") and str(res.root) in res.flag
    if method == "brentq":  # under jit nothing can raise: NaN root, converged False
        traced = jax.jit(lambda b: optimize.root_scalar(_nan_right, bracket=[0.0, b], method=method))(2.0)
        assert np.isnan(traced.root) and not bool(traced.converged)
        assert traced.flag == "The function value is NaN; solver cannot continue."


def test_integrate_eager_results_are_scipy_types():
    val, err = integrate.quad(jnp.sin, 0.0, 1.0)
    ref_val, ref_err = si.quad(np.sin, 0.0, 1.0)
    assert type(val) is float and type(err) is float and abs(val - ref_val) < 1e-12
    y = np.linspace(0.0, 1.0, 5) ** 2
    cum = integrate.cumulative_trapezoid(y, dx=0.25)
    np.testing.assert_allclose(cum, si.cumulative_trapezoid(y, dx=0.25), rtol=1e-14)
    assert isinstance(cum, np.ndarray) and cum.flags.writeable
    trap = integrate.trapezoid(y, dx=0.25)
    assert type(trap) is np.float64 and trap == pytest.approx(si.trapezoid(y, dx=0.25), rel=1e-14)
    trap32 = integrate.trapezoid(y.astype(np.float32), dx=0.25)  # float32 stays float32
    assert type(trap32) is np.float32
    traced = jax.jit(lambda v: integrate.trapezoid(v, dx=0.25))(jnp.asarray(y))
    assert isinstance(traced, jax.Array)


def test_linalg_eager_results_and_attribute_protocol():
    a = np.array([[4.0, 1.0], [1.0, 3.0]])
    b = np.array([1.0, 2.0])
    d = linalg.det(a)
    assert type(d) is np.float64 and d == pytest.approx(sl.det(a), rel=1e-14)
    x = linalg.solve(a, b)
    assert isinstance(x, np.ndarray) and x.flags.writeable
    np.testing.assert_allclose(x, sl.solve(a, b), rtol=1e-14)
    assert type(linalg.det(a.astype(np.float32))) is np.float32
    with pytest.warns(sl.LinAlgWarning) as rec:  # SciPy's warning, attributed to this line as SciPy's is
        linalg.solve(np.array([[1e-17, 0.0], [0.0, 1.0]]), b)
    assert [w.filename for w in rec] == [__file__]

    # Krylov: (x, info) with info a Python int, as SciPy's.
    diag = np.array([1.0, 10.0, 100.0, 1000.0])
    ones = np.ones(4)
    xk, info = linalg.cg(np.diag(diag), ones, rtol=1e-10, maxiter=2)
    ref_x, ref_info = sla.cg(np.diag(diag), ones, rtol=1e-10, maxiter=2)
    assert type(info) is int and isinstance(xk, np.ndarray) and info > 0 and ref_info > 0

    # SciPy's attribute protocol: A.psolve is the preconditioner when M is not given.
    A = linalg.aslinearoperator(np.diag(diag))
    A.psolve = lambda r: r / jnp.asarray(diag)  # exact Jacobi: converged at the second check
    A.rpsolve = A.psolve
    A.dtype = np.float64
    xp, info_p = linalg.cg(A, ones, rtol=1e-10, maxiter=2)
    A_ref = sla.aslinearoperator(np.diag(diag))
    A_ref.psolve = lambda r: r / diag
    ref_xp, ref_info_p = sla.cg(A_ref, ones, rtol=1e-10, maxiter=2)
    assert info_p == ref_info_p == 0
    np.testing.assert_allclose(xp, ref_xp, rtol=1e-12)
    # Still a pytree: the extra attributes are not leaves, the operator still works under jit.
    assert len(jax.tree_util.tree_leaves(A)) == len(jax.tree_util.tree_leaves(linalg.aslinearoperator(np.diag(diag))))
    traced_x, traced_info = jax.jit(lambda r: linalg.cg(np.diag(diag), r, rtol=1e-10))(jnp.ones(4))
    assert isinstance(traced_x, jax.Array) and isinstance(traced_info, jax.Array)
