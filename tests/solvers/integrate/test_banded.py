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
def _banded_ops(a, y, shifts, rhs):
    """Everything the block LU test needs, in one compilation."""
    la = BandedAlgebra.from_band(3, 5, a.shape[0])
    jac = la.jacobian(lambda y_: a @ y_ + 0.1 * y_ ** 3, y)
    scales = jnp.where(shifts == 0, 0, -1.0)  # shift 0 with scale 0: the zero matrix
    return jac, jax.vmap(lambda s, c: (lambda f: (la.solve(f, rhs), f[-1]))(la.factor(jac, s, c)))(shifts, scales)


def test_block_lu_equals_dense_solve_real_complex_pivoted_and_flags_singular():
    rng = np.random.default_rng(0)
    n = 45
    a = _banded_matrix(rng, n, 3, 5)
    la = BandedAlgebra.from_band(3, 5, n)
    assert (la.block, la.n_blocks, la.n_colours) == (16, 3, 9)  # padded to 48; colours = l + u + 1
    y = rng.normal(size=n)
    rhs = rng.normal(size=n)
    # Diagonally dominant real, complex (Radau's complex system), a shift that makes LAPACK pivot
    # and the zero matrix, singular.
    shifts = (10.0 + 0j, 3.0 - 4.0j, 0.5 + 0j, 0j)
    jac, (xs, oks) = _banded_ops(a, y, jnp.asarray(shifts), rhs)
    assert jac.shape == (9, n)  # compressed columns, never n x n
    dense_jac = a + np.diag(0.3 * y ** 2)
    for x, ok, s in zip(xs[:3], oks[:3], shifts[:3], strict=True):  # the factorisations ran batched (vmap)
        expected = np.linalg.solve(s * np.eye(n) - dense_jac, rhs)
        assert bool(ok)
        np.testing.assert_allclose(x, expected, rtol=1e-10, atol=1e-10 * np.max(np.abs(expected)))
    # A singular iteration matrix is reported and poisons the solve, never a plausible answer.
    assert not bool(oks[3])
    assert np.all(np.isnan(xs[3]))


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


def test_lband_uband_declare_the_same_banded_structure():
    from scijax.solvers.integrate._sparsity import SparseJacobian

    by_band = SparseJacobian.from_band(_rhs, 1, 1, N)
    by_pattern = SparseJacobian.from_pattern(_rhs, PATTERN, N)
    assert by_band == by_pattern and by_band.banded is not None  # hence the same compiled solve
    wide = SparseJacobian.from_band(_rhs, 2, 11, N)  # half-bandwidth above n / 4: dense LU
    assert wide.banded is None and wide.n_colours == 14


def _end(k, adjoint="checkpoint"):
    out = solve_ivp(_rhs, SPAN, jnp.asarray(Y0), method="BDF", args=(k,), jac_sparsity=PATTERN,
                    t_eval=jnp.asarray([SPAN[1]]), adjoint=adjoint, **TOL)
    return out.y[:, -1], (out.status, out.n_steps, out.njev)


W = np.linspace(1.0, 2.0, N)  # weights of the scalar that is differentiated


@jax.jit
@jax.vmap
def _end_and_gradient(k):
    """``y(tf)``, ``d (W . y(tf)) / dk`` (forward mode: reverse mode compiles for 4x longer) and counts."""
    y_end, dy, aux = jax.jvp(lambda kk: _end(kk, "forward"), (k,), (jnp.ones_like(k),), has_aux=True)
    return y_end, W @ dy, aux


def test_banded_bdf_matches_scipy_under_vmap_and_grad():
    ks = np.array([0.1, 0.13])
    ends, grads, (status, n_steps, njev) = _end_and_gradient(jnp.asarray(ks))
    for i, k in enumerate(ks):  # vmap against a loop of SciPy solves; grad against SciPy finite differences
        ref = scipy_solve_ivp(_rhs_np, SPAN, Y0, method="BDF", args=(k,), jac_sparsity=PATTERN, **TOL)
        assert int(status[i]) == 0 and ref.status == 0
        # The same method: the same steps and Jacobians as SciPy, the same values to the tolerance
        # (not to rounding: SciPy refactorises after a rejection where we may reuse, see _bdf.py).
        assert (int(n_steps[i]), int(njev[i])) == (ref.t.size - 1, ref.njev)
        np.testing.assert_allclose(ends[i], ref.y[:, -1], rtol=5 * TOL["rtol"], atol=5 * TOL["atol"])
    # The derivative (through the corrector's implicit function, solved with the banded LU) against
    # central differences of SciPy solves at a tight tolerance.
    fine = dict(method="BDF", jac_sparsity=PATTERN, rtol=1e-9, atol=1e-12)
    hi, lo = (scipy_solve_ivp(_rhs_np, SPAN, Y0, args=(ks[0] + s,), **fine).y[:, -1] for s in (1e-4, -1e-4))
    np.testing.assert_allclose(grads[0], W @ (hi - lo) / 2e-4, rtol=2e-3)
