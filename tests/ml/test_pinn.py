"""PINN helpers: residuals vanish on exact solutions, sampling, and two PINNs solved end to end."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scijax.ml import (
    MLP,
    boundary_loss,
    fit,
    initial_loss,
    ode_residual,
    pde_residual,
    residual_loss,
    sample_boundary,
    sample_collocation,
)
from scijax.physics import Advection, Burgers, FisherKPP, HarmonicOscillator, Heat, Wave

PTS = jnp.array([[0.2, 0.1], [0.7, 0.3], [0.45, 0.9]])


def test_ode_residual_vanishes_on_the_exact_solution():
    osc = HarmonicOscillator(omega=2.0)
    r = ode_residual(osc, lambda p, t: osc.solution(t))
    assert float(residual_loss(r, None, jnp.linspace(0.0, 3.0, 7))) < 1e-25
    wrong = ode_residual(HarmonicOscillator(omega=1.0), lambda p, t: osc.solution(t))
    assert float(residual_loss(wrong, None, jnp.linspace(0.0, 3.0, 7))) > 1e-2


@pytest.mark.parametrize(
    ("system", "exact"),
    [(Heat(D=0.3), lambda p, x: jnp.exp(-0.3 * jnp.pi**2 * x[1]) * jnp.sin(jnp.pi * x[0])),
     (Advection(c=1.5), lambda p, x: jnp.sin(x[0] - 1.5 * x[1])),
     (Wave(c=2.0), lambda p, x: jnp.sin(x[0]) * jnp.cos(2.0 * x[1])),
     (FisherKPP(D=0.0, r=1.0), lambda p, x: 1 / (1 + jnp.exp(-x[1]))),  # logistic growth, no diffusion
     (Burgers(nu=0.1), lambda p, x: x[0] / (1 + x[1]))],  # an exact inviscid-and-viscous solution
)
def test_pde_residual_vanishes_on_exact_solutions(system, exact):
    r = pde_residual(system, exact)
    assert float(residual_loss(r, None, PTS)) < 1e-24


def test_poisson_residual_and_bad_systems():
    source = lambda x: jnp.pi**2 * jnp.sin(jnp.pi * x[0])
    r = pde_residual("poisson", lambda p, x: jnp.sin(jnp.pi * x[0]), source=source)
    assert float(residual_loss(r, None, PTS[:, :1])) < 1e-24
    with pytest.raises(ValueError, match="`source`"):
        pde_residual("poisson", lambda p, x: x[0])(None, jnp.ones(1))
    with pytest.raises(ValueError, match="`system`"):
        pde_residual(HarmonicOscillator(), lambda p, x: x[0])
    with pytest.raises(ValueError, match="`field`"):
        pde_residual(Heat(), lambda p, x: x)(None, jnp.ones(2))


@pytest.mark.parametrize("method", ["uniform", "latin", "grid"])
def test_collocation_sampling(method, key):
    box = [(0.0, 2.0), (-1.0, 0.0)]
    pts = sample_collocation(key, 64, box, method=method)
    assert pts.shape == (64, 2)
    assert bool(jnp.all((pts[:, 0] >= 0) & (pts[:, 0] <= 2) & (pts[:, 1] >= -1) & (pts[:, 1] <= 0)))
    np.testing.assert_array_equal(pts, sample_collocation(key, 64, box, method=method))
    if method == "latin":  # one point in each of the 64 strata of every coordinate
        strata = np.floor((np.asarray(pts[:, 0]) / 2.0) * 64).astype(int)
        assert sorted(strata) == list(range(64))


def test_boundary_sampling_and_errors(key):
    pts = sample_boundary(key, 50, [(0.0, 1.0), (0.0, 2.0)], axes=(0,))
    assert bool(jnp.all((pts[:, 0] == 0.0) | (pts[:, 0] == 1.0)))
    assert 0 < int(jnp.sum(pts[:, 0] == 0.0)) < 50
    with pytest.raises(ValueError, match="`bounds`"):
        sample_collocation(key, 10, [(1.0, 0.0)])
    with pytest.raises(ValueError, match="`method`"):
        sample_collocation(key, 10, [(0.0, 1.0)], method="sobol!")
    with pytest.raises(ValueError, match="`n`"):
        sample_collocation(key, 0, [(0.0, 1.0)])
    with pytest.raises(ValueError, match="`axes`"):
        sample_boundary(key, 10, [(0.0, 1.0)], axes=(3,))


def test_pinn_poisson_1d():
    """-u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0; exact u = sin(pi x). Bound: max error < 1e-3."""
    net = MLP(1, 1, width=16, depth=2)
    res = pde_residual("poisson", net, source=lambda x: jnp.pi**2 * jnp.sin(jnp.pi * x[0]))
    pts = sample_collocation(jax.random.key(0), 32, [(0.0, 1.0)], method="latin")
    ends = jnp.array([[0.0], [1.0]])
    loss = lambda p, pts: residual_loss(res, p, pts) + 10.0 * boundary_loss(net, p, ends, jnp.zeros(2))
    out = fit(loss, net.init(jax.random.key(1)), pts, optimizer=optax.adam(1e-2), steps=300, progress=False,
              lbfgs_steps=300)
    x = jnp.linspace(0.0, 1.0, 101)[:, None]
    err = float(jnp.max(jnp.abs(net(out.params, x)[:, 0] - jnp.sin(jnp.pi * x[:, 0]))))
    assert err < 1e-3, err


def test_pinn_heat_1d():
    """u_t = D u_xx on [0, 1] x [0, 0.5], u(x, 0) = sin(pi x), u = 0 at x = 0, 1; exact
    exp(-D pi^2 t) sin(pi x). Bound: max error on a 20 x 20 grid < 2e-2."""
    D = 0.5
    net = MLP(2, 1, width=16, depth=2)
    res = pde_residual(Heat(D=D), net)
    k = jax.random.split(jax.random.key(2), 3)
    box = [(0.0, 1.0), (0.0, 0.5)]
    pts = sample_collocation(k[0], 64, box, method="latin")
    edge = sample_boundary(k[1], 16, box, axes=(0,))
    x0 = jnp.linspace(0.0, 1.0, 16)

    def loss(p, pts):
        return (residual_loss(res, p, pts) + 10.0 * boundary_loss(net, p, edge, jnp.zeros(16))
                + 10.0 * initial_loss(net, p, x0, lambda x: jnp.sin(jnp.pi * x[0])))

    out = fit(loss, net.init(jax.random.key(3)), pts, optimizer=optax.adam(1e-2), steps=300, progress=False,
              lbfgs_steps=300)
    g = sample_collocation(k[2], 400, box, method="grid")
    exact = jnp.exp(-D * jnp.pi**2 * g[:, 1]) * jnp.sin(jnp.pi * g[:, 0])
    err = float(jnp.max(jnp.abs(net(out.params, g)[:, 0] - exact)))
    assert err < 2e-2, err
