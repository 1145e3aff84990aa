"""Finite-difference operators: design order on manufactured solutions, operator forms, Poisson by cg."""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scijax.physics import (
    divergence,
    divergence_operator,
    gradient,
    gradient_operator,
    grid,
    laplacian,
    laplacian_operator,
    solve_poisson,
)
from scijax.solvers.linalg import cg, gmres

TWO_PI = 2 * math.pi
ZERO = lambda x: 0.0 * x
# Manufactured solutions u = prod_a p(x_a) + sum_a s(x_a) + c: per boundary condition the functions
# (p, p', p'', s, s', s''), the constant c and the boundary value u satisfies. Dirichlet:
# prod sin(pi x_a) + 0.7 equals 0.7 on every face. Neumann: prod cos(pi x_a) has zero normal
# derivative and 0.3 (x_a - 1/2)^2 outward derivative 0.3 on every face. Periodic: 1-periodic.
PROFILES = {
    "periodic": (
        lambda x: jnp.sin(TWO_PI * x) + 0.5 * jnp.cos(2 * TWO_PI * x),
        lambda x: TWO_PI * jnp.cos(TWO_PI * x) - TWO_PI * jnp.sin(2 * TWO_PI * x),
        lambda x: -(TWO_PI**2) * jnp.sin(TWO_PI * x) - 2 * TWO_PI**2 * jnp.cos(2 * TWO_PI * x),
        ZERO, ZERO, ZERO, 0.0, 0.0,
    ),
    "dirichlet": (
        lambda x: jnp.sin(math.pi * x),
        lambda x: math.pi * jnp.cos(math.pi * x),
        lambda x: -(math.pi**2) * jnp.sin(math.pi * x),
        ZERO, ZERO, ZERO, 0.7, 0.7,
    ),
    "neumann": (
        lambda x: jnp.cos(math.pi * x),
        lambda x: -math.pi * jnp.sin(math.pi * x),
        lambda x: -(math.pi**2) * jnp.cos(math.pi * x),
        lambda x: 0.3 * (x - 0.5) ** 2,
        lambda x: 0.6 * (x - 0.5),
        lambda x: 0.6 + 0.0 * x,
        0.0, 0.3,
    ),
}  # fmt: skip


def manufactured(bc, n, ndim):
    """A manufactured ``u`` on an ``n^ndim`` grid with its exact gradient and Laplacian."""
    p, dp, d2p, s, ds, d2s, const, value = PROFILES[bc]
    x, h = grid(n, 1.0, bc)
    mesh = jnp.meshgrid(*([x] * ndim), indexing="ij")
    others = lambda a: math.prod(p(xb) for b, xb in enumerate(mesh) if b != a)
    u = math.prod(p(xa) for xa in mesh) + sum(s(xa) for xa in mesh) + const
    grad = jnp.stack([dp(xa) * others(a) + ds(xa) for a, xa in enumerate(mesh)])
    lap = sum(d2p(xa) * others(a) + d2s(xa) for a, xa in enumerate(mesh))
    return u, h, value, grad, lap


def observed_order(errors, sizes):
    return -np.polyfit(np.log(sizes), np.log(errors), 1)[0]


CASES = list(itertools.product(["periodic", "dirichlet", "neumann"], [1, 2, 3]))


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def operator_errors(bc, n, ndim):
    """Max-norm errors of the Laplacian, gradient and divergence (of ``(u, u, ...)``) on one grid."""
    u, h, value, grad_exact, lap_exact = manufactured(bc, n, ndim)
    field = jnp.stack([u] * ndim)
    return jnp.stack(
        [
            jnp.max(jnp.abs(laplacian(u, h, bc, value) - lap_exact)),
            jnp.max(jnp.abs(gradient(u, h, bc, value) - grad_exact)),
            jnp.max(jnp.abs(divergence(field, h, bc, value) - grad_exact.sum(0))),
        ]
    )


@pytest.mark.parametrize(("bc", "ndim"), CASES)
def test_second_order_convergence(bc, ndim):
    sizes = [16, 32, 64] if ndim < 3 else [16, 24, 32]
    errors = np.stack([operator_errors(bc, n, ndim) for n in sizes])
    for name, e in zip(["laplacian", "gradient", "divergence"], errors.T, strict=True):
        order = observed_order(e, np.asarray(sizes, float))
        assert 1.8 < order < 2.5, f"{name}: observed order {order:.2f}, errors {e}"


def test_anisotropic_spacing_and_mixed_boundaries():
    nx, ny = 40, 24
    x, hx = grid(nx, 2.0, "periodic")
    y, hy = grid(ny, 1.0, "dirichlet")
    X, Y = jnp.meshgrid(x, y, indexing="ij")
    u = jnp.sin(math.pi * X) * jnp.sin(math.pi * Y)
    lap = laplacian(u, (hx, hy), ("periodic", "dirichlet"))
    np.testing.assert_allclose(lap, -2 * math.pi**2 * u, atol=0.05)


def dense(op):
    return np.asarray(op.matmat(jnp.eye(op.shape[1])))


@pytest.mark.parametrize("bc", ["periodic", "dirichlet", "neumann"])
def test_operators_match_functions_and_structure(bc):
    shape, dx = (5, 4), (0.3, 0.2)
    L, G, D = laplacian_operator(shape, dx, bc), gradient_operator(shape, dx, bc), divergence_operator(shape, dx, bc)
    n = math.prod(shape)
    assert L.shape == (n, n) and G.shape == (2 * n, n) and D.shape == (n, 2 * n)
    u = jnp.asarray(np.random.default_rng(0).standard_normal(shape))
    np.testing.assert_allclose(L @ u.ravel(), laplacian(u, dx, bc).ravel(), rtol=1e-12)
    np.testing.assert_allclose(G @ u.ravel(), gradient(u, dx, bc).ravel(), rtol=1e-12)
    field = jnp.stack([u, 2 * u])
    np.testing.assert_allclose(D @ field.ravel(), divergence(field, dx, bc).ravel(), rtol=1e-12)
    Lm = dense(L)
    np.testing.assert_allclose(Lm, Lm.T, atol=1e-9)
    np.testing.assert_allclose(L.rmatvec(u.ravel()), Lm.T @ np.asarray(u).ravel(), rtol=1e-10)
    eigs = np.linalg.eigvalsh(Lm)
    if bc == "dirichlet":
        assert eigs.max() < 0  # negative definite
    else:
        assert abs(eigs.max()) < 1e-9 and eigs[-2] < 0  # constants span the null space
    if bc != "neumann":  # central differences are skew with periodic or homogeneous Dirichlet ends
        np.testing.assert_allclose(dense(G).T, -dense(D), atol=1e-9)


poisson = jax.jit(solve_poisson, static_argnums=2)


@pytest.mark.parametrize("bc", ["dirichlet", "periodic", "neumann"])
def test_poisson_by_cg_on_manufactured_solution(bc):
    """-lap u = f with u = sum_a g(x_a): the discrete solution converges to u at second order."""
    errors, sizes = [], [24, 48]
    for n in sizes:
        u, h, value, _, lap_exact = manufactured(bc, n, 2)
        sol, info = poisson(-lap_exact, h, bc, value)
        assert int(info) == 0
        if bc != "dirichlet":  # defined up to a constant: compare zero-mean parts
            u = u - jnp.mean(u)
        errors.append(float(jnp.max(jnp.abs(sol - u))))
    assert errors[-1] < 1e-2 * float(jnp.max(jnp.abs(u)))
    assert 1.8 < observed_order(np.asarray(errors), np.asarray(sizes, float)) < 2.5


def test_cg_and_gmres_with_laplacian_operator_directly():
    n = 31
    x, h = grid(n, 1.0, "dirichlet")
    A = -laplacian_operator(n, h, "dirichlet")
    b = (math.pi**2) * jnp.sin(math.pi * x)
    u, info = cg(A, b, rtol=1e-10)
    assert int(info) == 0
    np.testing.assert_allclose(u, jnp.sin(math.pi * x), atol=2e-3)
    np.testing.assert_allclose(-laplacian(u, h, "dirichlet"), b, atol=1e-7)
    u_gmres, info = gmres(A, b, rtol=1e-10, restart=n)
    assert int(info) == 0
    np.testing.assert_allclose(u_gmres, u, atol=1e-8)


def test_poisson_jit_and_grad():
    """d/df <w, u(f)> = A^{-1} w for the symmetric -lap: the gradient goes through cg."""
    n = 12
    x, h = grid(n, 1.0, "dirichlet")
    f = jnp.outer(jnp.sin(math.pi * x), x)
    w = jnp.outer(x, jnp.cos(x))
    loss = jax.jit(lambda f: jnp.sum(w * solve_poisson(f, h)[0]))
    grad = jax.grad(loss)(f)
    np.testing.assert_allclose(grad, solve_poisson(w, h)[0], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(loss(f), jnp.sum(w * solve_poisson(f, h)[0]), rtol=1e-10)


def test_functions_jit_vmap_grad_float32():
    rng = np.random.default_rng(2)
    us = jnp.asarray(rng.standard_normal((3, 6, 5)))
    dx, bc = (0.1, 0.2), ("neumann", "periodic")
    lap = lambda u: laplacian(u, dx, bc)
    looped = jnp.stack([lap(u) for u in us])
    np.testing.assert_allclose(jax.jit(jax.vmap(lap))(us), looped, rtol=1e-12)
    w = jnp.asarray(rng.standard_normal((6, 5)))
    grad = jax.grad(lambda u: jnp.sum(w * lap(u)))(us[0])
    np.testing.assert_allclose(grad, lap(w), rtol=1e-10)  # homogeneous Laplacian is symmetric
    grad_dx = jax.grad(lambda h: jnp.sum(laplacian(us[0], h, "periodic")))(0.1)
    assert jnp.isfinite(grad_dx)
    out32 = gradient(us[0].astype(jnp.float32), jnp.float32(0.1), "dirichlet", 1.0)
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, gradient(us[0], 0.1, "dirichlet", 1.0), rtol=1e-4, atol=1e-4)


def test_grid_conventions():
    x, h = grid(4, 2.0, "periodic")
    np.testing.assert_allclose(x, [0.0, 0.5, 1.0, 1.5])
    x, h = grid(3, 2.0, "dirichlet", start=-1.0)
    np.testing.assert_allclose(x, [-0.5, 0.0, 0.5])
    x, h = grid(4, 2.0, "neumann")
    np.testing.assert_allclose(x, [0.25, 0.75, 1.25, 1.75])
    assert h == 0.5


def test_bad_inputs_raise_clear_errors():
    u = jnp.ones((8, 8))
    with pytest.raises(ValueError, match="`u` must be a 1-, 2- or 3-D grid"):
        laplacian(jnp.ones((4, 4, 4, 4)), 0.1)
    with pytest.raises(ValueError, match="at least 3 points"):
        laplacian(jnp.ones((8, 2)), 0.1)
    with pytest.raises(ValueError, match="at least 3 points"):
        laplacian_operator((2,), 0.1)
    with pytest.raises(ValueError, match="`bc`"):
        gradient(u, 0.1, "robin")
    with pytest.raises(ValueError, match="`bc` must have one entry per axis"):
        laplacian(u, 0.1, ("periodic",))
    with pytest.raises(ValueError, match="`dx` must have one entry per axis"):
        laplacian(u, (0.1, 0.1, 0.1))
    with pytest.raises(ValueError, match="`dx` must be positive"):
        laplacian(u, -0.1)
    with pytest.raises(ValueError, match="`field`"):
        divergence(jnp.ones((3, 8, 8)), 0.1)
    with pytest.raises(ValueError, match="`n`"):
        grid(2)
    with pytest.raises(ValueError, match="`length`"):
        grid(8, 0.0)
    with pytest.raises(ValueError, match="dimension mismatch"):
        laplacian_operator((4, 4), 0.1) @ jnp.ones(15)
