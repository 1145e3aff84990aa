"""Banded ``jac_sparsity`` in the stiff solvers: the block-tridiagonal LU and 'BDF' on a 1-D reaction-diffusion
problem, against dense linear algebra and SciPy's BDF with the same ``jac_sparsity``."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.solvers.integrate import solve_ivp
from scijax.solvers.integrate._banded import BandedAlgebra
from scijax.solvers.integrate._bdf import BDF

N = 40  # grid points: block size 16, so three blocks and 8 padding rows
PATTERN = sp.diags([np.ones(N - 1), np.ones(N), np.ones(N - 1)], [-1, 0, 1], format="csr")
Y0 = np.sin(np.pi * np.linspace(0, 1, N + 2)[1:-1])
SPAN = (0.0, 0.2)
TOL = dict(rtol=1e-6, atol=1e-9)


def _rhs(t, y, k):
    """1-D diffusion with Dirichlet ends plus a nonlinear source: a tridiagonal Jacobian."""
    lap = jnp.concatenate([y[1:], jnp.zeros(1)]) - 2 * y + jnp.concatenate([jnp.zeros(1), y[:-1]])
    return k * (N + 1) ** 2 * lap + jnp.sin(y)


def _rhs_np(t, y, k):
    lap = np.concatenate([y[1:], [0.0]]) - 2 * y + np.concatenate([[0.0], y[:-1]])
    return k * (N + 1) ** 2 * lap + np.sin(y)


def _banded_matrix(rng, n, lower, upper):
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return np.where((j - i >= -lower) & (j - i <= upper), rng.normal(size=(n, n)), 0.0)


@jax.jit
def _factor_solve(jac, shifts, rhs):
    la = BandedAlgebra.from_band(3, 5, 45)
    return [(la.solve(f, rhs), f[-1]) for f in (la.factor(jac, s, -1.0) for s in shifts)]


def test_block_lu_equals_dense_solve_real_complex_pivoted_and_flags_singular():
    rng = np.random.default_rng(0)
    n = 45
    a = _banded_matrix(rng, n, 3, 5)
    la = BandedAlgebra.from_band(3, 5, n)
    assert (la.block, la.n_blocks, la.n_colours) == (16, 3, 9)  # padded to 48; colours = l + u + 1
    fn = lambda y: jnp.asarray(a) @ y + 0.1 * y ** 3
    y = jnp.asarray(rng.normal(size=n))
    jac = la.jacobian(fn, y)
    assert jac.shape == (9, n)  # compressed columns, never n x n
    dense_jac = np.asarray(jax.jacfwd(fn)(y))
    rhs = jnp.asarray(rng.normal(size=n))
    # Diagonally dominant real, complex (Radau's complex system), and a shift that makes LAPACK pivot.
    shifts = (jnp.asarray(10.0 + 0j), jnp.asarray(3.0 - 4.0j), jnp.asarray(0.5 + 0j))
    for (x, ok), s in zip(_factor_solve(jac, shifts, rhs), shifts, strict=True):
        expected = np.linalg.solve(complex(s) * np.eye(n) - dense_jac, np.asarray(rhs))
        assert bool(ok)
        np.testing.assert_allclose(x, expected, rtol=1e-10, atol=1e-10 * np.max(np.abs(expected)))
    # The linear-operator solve used for derivatives (identity included through the pattern's diagonal).
    lin = lambda x: 5 * x - jnp.asarray(a) @ x
    np.testing.assert_allclose(la.tangent_solve(lin, rhs), np.linalg.solve(5 * np.eye(n) - a, rhs), rtol=1e-10)
    # A singular iteration matrix is reported and poisons the solve, never a plausible answer.
    factors = la.factor(jnp.zeros_like(jac), 0.0, 1.0)
    assert not bool(factors[-1])
    assert np.all(np.isnan(la.solve(factors, rhs)))


def _step_shapes(algebra):
    """Every array shape in the jaxpr of one BDF init + step on the N-state problem."""
    solver = BDF(rtol=1e-6, atol=1e-9, algebra=algebra)
    term = diffrax.ODETerm(lambda t, y, args: _rhs(t, y, 0.1))

    def one_step(y0):
        state = solver.init(term, 0.0, 1e-3, y0, None)
        return solver.step(term, 0.0, 1e-3, y0, None, state, False)[0]

    shapes = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            shapes.extend(tuple(v.aval.shape) for v in eqn.outvars if hasattr(v.aval, "shape"))
            for p in eqn.params.values():
                for sub in p if isinstance(p, tuple | list) else (p,):
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        walk(inner)

    walk(jax.make_jaxpr(one_step)(jnp.asarray(Y0)).jaxpr)
    return shapes


def test_banded_bdf_step_has_no_n_by_n_array():
    from scijax.solvers.integrate._sparsity import SparseJacobian

    banded = SparseJacobian.from_pattern(_rhs, PATTERN, N).banded
    assert banded is not None and banded.block == 16
    square = lambda shapes: [s for s in shapes if list(s).count(N) >= 2]
    assert square(_step_shapes(None))  # the dense path does build n x n arrays: the check can fail
    assert not square(_step_shapes(banded))


def test_banded_bdf_matches_scipy_lband_uband_vmap_and_jacfwd():
    k = 0.1
    res = solve_ivp(_rhs, SPAN, Y0, method="BDF", args=(k,), jac_sparsity=PATTERN, **TOL)
    ref = scipy_solve_ivp(_rhs_np, SPAN, Y0, method="BDF", args=(k,), jac_sparsity=PATTERN, **TOL)
    assert int(res.status) == 0 and ref.status == 0
    # The same method: the same steps, Jacobians and factorisations as SciPy, the same values to rounding.
    assert (res.t.size, int(res.njev), int(res.nlu)) == (ref.t.size, ref.njev, ref.nlu)
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-8, atol=1e-12)
    # SciPy LSODA's band declaration is the same pattern here (same structure: no new compilation).
    band = solve_ivp(_rhs, SPAN, Y0, method="BDF", args=(k,), lband=1, uband=1, **TOL)
    np.testing.assert_allclose(band.y[:, -1], res.y[:, -1], rtol=1e-12, atol=1e-15)

    def end(kk):
        out = solve_ivp(_rhs, SPAN, jnp.asarray(Y0), method="BDF", args=(kk,), jac_sparsity=PATTERN,
                        t_eval=jnp.asarray([SPAN[1]]), **TOL)
        return out.y[:, -1]

    ks = jnp.asarray([0.1, 0.13])
    ends, d_ends = jax.jit(jax.vmap(lambda kk: (end(kk), jax.jacfwd(end)(kk))))(ks)
    for i, kk in enumerate(np.asarray(ks)):  # vmap against a loop of SciPy solves; jacfwd against SciPy FDs
        one = scipy_solve_ivp(_rhs_np, SPAN, Y0, method="BDF", args=(kk,), jac_sparsity=PATTERN, **TOL)
        np.testing.assert_allclose(ends[i], one.y[:, -1], rtol=1e-8, atol=1e-12)
        fine = dict(method="BDF", jac_sparsity=PATTERN, rtol=1e-10, atol=1e-13)
        hi, lo = (scipy_solve_ivp(_rhs_np, SPAN, Y0, args=(kk + s,), **fine).y[:, -1] for s in (1e-4, -1e-4))
        fd = (hi - lo) / 2e-4
        np.testing.assert_allclose(d_ends[i], fd, rtol=2e-3, atol=2e-3 * np.max(np.abs(fd)))
