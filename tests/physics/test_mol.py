"""Method-of-lines models against their analytic solutions, with the spatial order they are built for."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.physics import Advection, Burgers, FisherKPP, GrayScott, Heat, Wave
from scijax.solvers.integrate import solve_ivp


def scipy_solution(model, t_end, n_points=3, method=None):
    """Integrate ``model.rhs`` with SciPy at tolerances far below the spatial error."""
    rhs = jax.jit(model.rhs)
    jac = jax.jit(jax.jacfwd(model.rhs, argnums=1))
    t_eval = np.linspace(0.0, t_end, n_points)
    method = method or ("BDF" if model.stiff else "DOP853")
    options = {"jac": lambda t, y, *a: np.asarray(jac(t, y, *a))} if method == "BDF" else {}
    sol = scipy_solve_ivp(
        lambda t, y, *a: np.asarray(rhs(t, y, *a)),
        (0.0, t_end),
        np.asarray(model.y0),
        method=method,
        t_eval=t_eval,
        args=model.params,
        rtol=1e-10,
        atol=1e-12,
        **options,
    )
    assert sol.success
    return sol


def max_error(model, t_end):
    sol = scipy_solution(model, t_end)
    return float(np.max(np.abs(sol.y - np.asarray(model.solution(sol.t)))))


def observed_order(errors, sizes):
    return -np.polyfit(np.log(sizes), np.log(errors), 1)[0]


@pytest.mark.parametrize("bc", ["dirichlet", "neumann", "periodic"])
def test_heat_converges_at_second_order(bc):
    sizes = [16, 32, 64]
    errors = [max_error(Heat(D=0.5, shape=(n,), bc=bc), 0.1) for n in sizes]
    assert errors[-1] < 1e-3
    assert 1.8 < observed_order(errors, sizes) < 2.3, errors


@pytest.mark.parametrize(("shape", "bc"), [((12, 10), "dirichlet"), ((8, 8, 8), "periodic")])
def test_heat_in_2d_and_3d(shape, bc):
    model = Heat(D=1.0, shape=shape, bc=bc)
    assert model.y0.shape == (math.prod(shape),)
    sol = scipy_solution(model, 0.02)
    exact = np.asarray(model.solution(sol.t))
    # O(h^2) spatial error, relative to the decaying amplitude
    assert np.max(np.abs(sol.y - exact)) < 0.05 * np.max(np.abs(exact))


def test_burgers_matches_cole_hopf_at_second_order():
    sizes = [32, 64, 128]
    errors = [max_error(Burgers(nu=0.1, n=n), 1.0) for n in sizes]
    assert errors[-1] < 1e-3
    assert 1.8 < observed_order(errors, sizes) < 2.3, errors


@pytest.mark.parametrize("c", [1.0, -0.7])
def test_upwind_advection_is_first_order_in_either_direction(c):
    sizes = [64, 128, 256]
    errors = [max_error(Advection(c=c, n=n), 0.5) for n in sizes]
    assert 0.8 < observed_order(errors, sizes) < 1.2, errors


def test_wave_standing_mode_and_energy():
    sizes = [16, 32, 64]
    errors = [max_error(Wave(c=1.5, shape=(n,)), 1.0) for n in sizes]
    assert 1.8 < observed_order(errors, sizes) < 2.3, errors
    model = Wave(c=1.0, shape=(24, 20), bc="periodic")
    sol = scipy_solution(model, 1.0, n_points=20)
    energy = np.asarray(model.invariant(sol.y))
    np.testing.assert_allclose(energy, energy[0], rtol=1e-8)
    n = model.y0.size // 2  # displacement: O((kh)^2) phase error over ~1.4 periods
    np.testing.assert_allclose(sol.y[:n], model.solution(sol.t)[:n], atol=0.05)


def test_fisher_kpp_follows_the_exact_travelling_front():
    sizes = [100, 200, 400]
    errors = [max_error(FisherKPP(n=n), 5.0) for n in sizes]
    assert errors[-1] < 2e-3
    assert 1.7 < observed_order(errors, sizes) < 2.3, errors


def test_gray_scott_reaction_terms_and_fixed_point():
    model = GrayScott(shape=(8, 8))
    rest = jnp.concatenate([jnp.ones(64), jnp.zeros(64)])
    np.testing.assert_allclose(model.rhs(0.0, rest, *model.params), 0.0, atol=1e-15)
    # Without diffusion each grid point is the well-mixed Gray-Scott ODE.
    well_mixed = GrayScott(Du=0.0, Dv=0.0, shape=(8, 8))
    sol = scipy_solution(well_mixed, 20.0)
    F, k = 0.060, 0.062
    i = 4 * 8 + 4  # a point inside the seeded square
    u0, v0 = float(well_mixed.y0[i]), float(well_mixed.y0[64 + i])
    point = scipy_solve_ivp(
        lambda t, y: [-y[0] * y[1] ** 2 + F * (1 - y[0]), y[0] * y[1] ** 2 - (F + k) * y[1]],
        (0.0, 20.0), [u0, v0], t_eval=sol.t, rtol=1e-10, atol=1e-12,
    )  # fmt: skip
    np.testing.assert_allclose(sol.y[[i, 64 + i]], point.y, rtol=1e-7, atol=1e-9)


def test_grad_of_heat_solution_wrt_diffusivity_through_solve_ivp():
    """The semi-discrete solution of a Dirichlet sine mode is exp(D lam_h t) u0 exactly."""
    n, t_end = 16, 0.05
    h = 1.0 / (n + 1)
    lam = -4.0 / h**2 * math.sin(math.pi * h / 2) ** 2

    def amplitude(D):
        model = Heat(D=D, shape=(n,))
        res = solve_ivp(model.rhs, (0.0, t_end), model.y0, method="Radau", t_eval=jnp.array([t_end]),
                        args=model.params, rtol=1e-10, atol=1e-12)  # fmt: skip
        return res.y[n // 2, -1] / model.y0[n // 2]

    D = 0.8
    value, grad = jax.value_and_grad(amplitude)(D)  # one compiled program checks the value and the gradient
    np.testing.assert_allclose(value, math.exp(D * lam * t_end), rtol=1e-7)
    np.testing.assert_allclose(grad, lam * t_end * math.exp(D * lam * t_end), rtol=1e-6)


def test_bad_grids_raise_clear_errors():
    with pytest.raises(ValueError, match="too small"):
        Heat(shape=(2,))
    with pytest.raises(ValueError, match="too small"):
        Wave(shape=(16, 2))
    with pytest.raises(ValueError, match="`shape`"):
        Heat(shape=(4, 4, 4, 4))
    with pytest.raises(ValueError, match="`shape`"):
        GrayScott(shape=(8.0, 8))
    with pytest.raises(ValueError, match="`bc`"):
        Heat(bc="robin")
    with pytest.raises(ValueError, match="too small"):
        Burgers(n=2)
    with pytest.raises(ValueError, match="`shape`"):
        Advection(n=(16, 16))
