"""gmres, bicgstab, minres and lsqr against scipy.sparse.linalg."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spl
from jax.experimental import sparse as jsparse

from scijax.solvers.linalg import LinearOperator, bicgstab, gmres, jacobi_preconditioner, lsqr, minres

from .problems import convection_diffusion2d, indefinite, poisson2d, rhs

CD = convection_diffusion2d(8, 0.5)
B = rhs(64)
X_CD = np.linalg.solve(CD.toarray(), B)
IND = indefinite(24)
BI = rhs(24)
RNG = np.random.default_rng(3)
LS_A = RNG.standard_normal((30, 8))
LS_B = RNG.standard_normal(30)
NONSYM = {"gmres": (gmres, spl.gmres), "bicgstab": (bicgstab, spl.bicgstab)}


def _forms(csr):
    dense = jnp.asarray(csr.toarray())
    return [dense, csr, jsparse.BCOO.from_scipy_sparse(csr),
            LinearOperator(csr.shape, matvec=lambda x: dense @ x), lambda x: dense @ x]


@pytest.mark.parametrize("name", list(NONSYM))
@pytest.mark.parametrize("kw", [{}, {"rtol": 1e-10}, {"maxiter": 2}, {"atol": 1e-3, "rtol": 0.0}])
def test_nonsymmetric_matches_scipy(name, kw):
    ours, ref = NONSYM[name]
    if name == "gmres" and "maxiter" in kw:
        kw = dict(kw, restart=4)
    x, info = ours(CD, B, **kw)
    x_ref, info_ref = ref(CD, B, **kw)
    assert int(info) == info_ref
    np.testing.assert_allclose(x, x_ref, rtol=1e-8, atol=1e-10)
    if info_ref == 0:
        tol = max(kw.get("rtol", 1e-5) * np.linalg.norm(B), kw.get("atol", 0.0))
        assert np.linalg.norm(CD @ np.asarray(x) - B) <= tol


@pytest.mark.parametrize("name", list(NONSYM))
def test_nonsymmetric_forms_and_preconditioner(name):
    ours, _ = NONSYM[name]
    forms = _forms(CD)  # each form costs a compilation: split them between the two solvers
    for A in (forms[1::2] if name == "gmres" else forms[::2]):
        x, info = ours(A, B, rtol=1e-9)
        assert int(info) == 0
        np.testing.assert_allclose(x, X_CD, rtol=1e-6, atol=1e-8)
    x, info = ours(CD, B, rtol=1e-9, M=jacobi_preconditioner(CD))
    assert int(info) == 0
    np.testing.assert_allclose(x, X_CD, rtol=1e-6, atol=1e-8)


def test_gmres_restart_stagnation_is_not_success():
    # a cyclic shift: GMRES(1) stagnates completely; jax.scipy's gmres can report success here
    n = 10
    A = np.roll(np.eye(n), 1, axis=0)
    b = np.zeros(n)
    b[0] = 1.0
    x, info = gmres(A, b, restart=1, maxiter=5)
    x_ref, info_ref = spl.gmres(A, b, restart=1, maxiter=5)
    assert int(info) == info_ref == 5
    assert np.linalg.norm(A @ np.asarray(x) - b) > 1e-5


@pytest.mark.parametrize("kw", [{}, {"rtol": 1e-10}, {"maxiter": 3}, {"shift": 0.3}])
def test_minres_indefinite_matches_scipy(kw):
    x, info = minres(IND, BI, **kw)
    x_ref, info_ref = spl.minres(IND, BI, **kw)
    assert int(info) == info_ref
    A = IND - kw.get("shift", 0.0) * np.eye(24)
    if info_ref == 0:
        assert np.linalg.norm(A @ np.asarray(x) - BI) <= kw.get("rtol", 1e-5) * np.linalg.norm(BI)
        np.testing.assert_allclose(x, np.linalg.solve(A, BI), rtol=0, atol=1e-3 * np.abs(x_ref).max())
    else:
        np.testing.assert_allclose(x, x_ref, rtol=1e-8)


def test_minres_singular_is_not_success():
    A = np.diag([1.0, -2.0, 0.0, 3.0])
    b = np.ones(4)
    x, info = minres(A, b, rtol=1e-10)
    assert int(info) != 0


@pytest.mark.parametrize("kw", [{}, {"damp": 0.5}, {"iter_lim": 3}, {"calc_var": True, "atol": 1e-10}])
def test_lsqr_matches_scipy(kw):
    ours = lsqr(LS_A, LS_B, **kw)
    ref = spl.lsqr(LS_A, LS_B, **kw)
    assert len(ours) == len(ref) == 10
    assert int(ours.istop) == ref[1] and int(ours.itn) == ref[2]
    np.testing.assert_allclose(ours.x, ref[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.array([float(v) for v in ours[3:9]]), np.array(ref[3:9]), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(ours.var, ref[9], rtol=1e-8, atol=1e-12)


def test_lsqr_sparse_and_operator():
    csr = poisson2d(5)[:, :20]
    b = rhs(25)
    x_ref = spl.lsqr(csr, b, atol=1e-10, btol=1e-10)[0]
    dense = jnp.asarray(csr.toarray())
    op = LinearOperator(csr.shape, matvec=lambda v: dense @ v)
    for A in (csr, jsparse.BCOO.from_scipy_sparse(csr), op):
        np.testing.assert_allclose(lsqr(A, b, atol=1e-10, btol=1e-10).x, x_ref, rtol=1e-7, atol=1e-9)


SOLVERS = {
    "gmres": lambda A, b: gmres(A, b, rtol=1e-11),
    "bicgstab": lambda A, b: bicgstab(A, b, rtol=1e-11),
    "minres": lambda A, b: minres(A, b, rtol=1e-11),
    "lsqr": lambda A, b: (lsqr(A, b, atol=1e-12, btol=1e-12).x, 0),
}
JITTED = {k: jax.jit(v) for k, v in SOLVERS.items()}


def _problem(name):
    if name == "minres":
        return jnp.asarray(IND[:8, :8] + IND[:8, :8].T), jnp.asarray(BI[:8])
    if name == "lsqr":
        return jnp.asarray(LS_A), jnp.asarray(LS_B)
    return jnp.asarray(CD.toarray()[:16, :16]), jnp.asarray(B[:16])


def _exact(A, b):
    A, b = np.asarray(A), np.asarray(b)
    return np.linalg.lstsq(A, b, rcond=None)[0]


@pytest.mark.parametrize("name", list(SOLVERS))
def test_jit_vmap_grad(name):
    A, b = _problem(name)
    f = JITTED[name]
    x, info = f(A, b)
    np.testing.assert_allclose(x, _exact(A, b), rtol=1e-7, atol=1e-9)
    bs = jnp.stack([b, 2 * b - 1])
    xs = jax.vmap(f, in_axes=(None, 0))(A, bs)[0]
    np.testing.assert_allclose(xs, np.stack([f(A, bb)[0] for bb in bs]), rtol=1e-9, atol=1e-12)
    w = jnp.asarray(rhs(A.shape[1], seed=9))
    gA, gb = jax.grad(lambda A, b: w @ f(A, b)[0], argnums=(0, 1))(A, b)
    eps = 1e-6
    E = np.zeros(A.shape)
    E[1, 0] = eps
    if name == "minres":  # minres sees only symmetric perturbations
        E[0, 1] = eps
    fd = (w @ _exact(A + E, b) - w @ _exact(A - E, b)) / (2 * eps)
    np.testing.assert_allclose(gA[1, 0] + (gA[0, 1] if name == "minres" else 0), fd, rtol=1e-5, atol=1e-8)
    e = np.zeros(b.shape)
    e[2] = eps
    fd_b = (w @ _exact(A, b + e) - w @ _exact(A, b - e)) / (2 * eps)
    np.testing.assert_allclose(gb[2], fd_b, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_float32(name):
    A, b = _problem(name)
    A32, b32 = A.astype(jnp.float32), b.astype(jnp.float32)
    if name == "lsqr":
        x = lsqr(A32, b32).x
    else:
        x, info = {"gmres": gmres, "bicgstab": bicgstab, "minres": minres}[name](A32, b32, rtol=1e-5)
        assert int(info) == 0
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(x, _exact(A, b), rtol=1e-3, atol=1e-3)


TRACES = []


@jax.jit
def _counted(A, b):
    TRACES.append(1)
    return gmres(A, b)


def test_no_recompile():
    A, b = _problem("gmres")
    _counted(A, b)
    _counted(A + 1e-3, b * 2)
    assert len(TRACES) == 1


@pytest.mark.parametrize("name", ["gmres", "bicgstab", "minres"])
def test_bad_inputs(name):
    f = {"gmres": gmres, "bicgstab": bicgstab, "minres": minres}[name]
    A = CD.toarray()
    with pytest.raises(ValueError, match="`rtol`"):
        f(A, B, rtol=-1.0)
    with pytest.raises(ValueError, match="`maxiter`"):
        f(A, B, maxiter=0)
    with pytest.raises(ValueError, match="`b`"):
        f(A, B[:-1])
    with pytest.raises(ValueError, match="`A` must be square"):
        f(A[:, :-1], B)
    with pytest.raises(ValueError, match="`M`"):
        f(A, B, M=np.eye(3))


def test_bad_inputs_lsqr_and_gmres_options():
    with pytest.raises(ValueError, match="`b`"):
        lsqr(LS_A, LS_B[:-1])
    with pytest.raises(ValueError, match="`atol`"):
        lsqr(LS_A, LS_B, atol=-1)
    with pytest.raises(ValueError, match="`iter_lim`|`maxiter`"):
        lsqr(LS_A, LS_B, iter_lim=0)
    with pytest.raises(ValueError, match="callback_type"):
        gmres(CD, B, callback_type="bogus")
    with pytest.raises(ValueError, match="`restart`"):
        gmres(CD, B, restart=0)
