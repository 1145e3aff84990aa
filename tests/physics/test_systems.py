"""The model-system catalog against SciPy: every system, its invariants, its transformations, its errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

from scijax.physics import SYSTEMS, Kepler, NBody, get_system
from scijax.solvers.integrate import solve_ivp

from ._reference import REFERENCE_RHS

NAMES = sorted(SYSTEMS)
# Chaotic systems amplify any difference like exp(lambda t): compare them over a short horizon.
HORIZON = {"lorenz63": 2.0, "rossler": 10.0, "double_pendulum": 2.0, "damped_driven_pendulum": 10.0}
HORIZON |= {"gray_scott": 50.0, "nbody": 3.2}  # Gray-Scott has 2048 unknowns; 3 bodies drift apart slowly
RTOL, ATOL = 1e-9, 1e-11  # scijax's tolerances; SciPy's oracle runs 100x tighter


def numpy_params(sys):
    return tuple(np.asarray(p) if np.ndim(p) else float(p) for p in sys.params)


def comparison_problem(name):
    sys = SYSTEMS[name]()
    t0, t1 = sys.t_span
    t1 = min(t1, t0 + HORIZON.get(name, math.inf))
    return sys, (t0, t1), np.linspace(t0, t1, 5)


def scipy_reference(name, sys, t_span, t_eval):
    return scipy_solve_ivp(
        REFERENCE_RHS[name],
        t_span,
        np.asarray(sys.y0),
        method="Radau" if sys.stiff else "DOP853",
        t_eval=t_eval,
        args=numpy_params(sys),
        rtol=RTOL / 100,
        atol=ATOL / 100,
    )


@pytest.mark.parametrize("name", NAMES)
def test_rhs_matches_the_textbook_equations(name):
    sys = SYSTEMS[name]()
    rng = np.random.default_rng(0)
    y0 = np.asarray(sys.y0)
    for _ in range(3):
        y = y0 + 0.05 * np.max(np.abs(y0)) * rng.standard_normal(y0.shape)
        t = rng.uniform(*sys.t_span)
        expected = REFERENCE_RHS[name](t, y, *numpy_params(sys))
        got = sys.rhs(t, y, *sys.params)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * np.max(np.abs(expected)))


@pytest.mark.parametrize("name", NAMES)
def test_solve_ivp_matches_scipy(name):
    """scijax's solve_ivp on ``sys.rhs`` against SciPy's on the independent NumPy equations."""
    sys, t_span, t_eval = comparison_problem(name)
    ref = scipy_reference(name, sys, t_span, t_eval)
    assert ref.success
    method = "Radau" if sys.stiff else "RK45"
    res = solve_ivp(sys.rhs, t_span, sys.y0, method=method, t_eval=t_eval, args=sys.params, rtol=RTOL, atol=ATOL)
    assert bool(res.success), res.message
    # Errors measured against the requested tolerance, as SciPy's own tests do, per component:
    # local errors rtol*|y| + atol accumulate over the horizon (chaotic systems are kept short),
    # so the global error may reach a few hundred times that.
    scale = np.max(np.abs(ref.y), axis=1, keepdims=True)
    ratio = np.max(np.abs(np.asarray(res.y) - ref.y) / (RTOL * scale + ATOL))
    assert ratio < 1000, f"error is {ratio:.0f} times the requested tolerance"


def test_scipy_solve_ivp_accepts_the_rhs_directly():
    """The same call works with SciPy: ``rhs`` takes NumPy input and returns an array SciPy converts."""
    sys = SYSTEMS["harmonic_oscillator"](omega=2.0)
    res = scipy_solve_ivp(sys.rhs, (0.0, 2.0), sys.y0, args=sys.params, rtol=1e-7, atol=1e-9)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], sys.solution(2.0), atol=1e-5)


@pytest.mark.parametrize("name", [n for n in NAMES if SYSTEMS[n]().has_invariant])
def test_invariant_is_conserved_along_scipy_solution(name):
    sys, t_span, _ = comparison_problem(name)
    ref = scipy_reference(name, sys, t_span, np.linspace(*t_span, 50))
    inv = np.asarray(sys.invariant(ref.y))
    assert inv.shape == (50,)
    np.testing.assert_allclose(inv, inv[0], rtol=1e-7, atol=1e-9)


def test_invariant_detects_a_wrong_trajectory():
    """An invariant that is constant everywhere would pass the test above: check it is not."""
    sys = SYSTEMS["lotka_volterra"]()
    assert abs(float(sys.invariant(sys.y0) - sys.invariant(1.1 * sys.y0))) > 1e-2


@pytest.mark.parametrize("name", ["exponential_decay", "harmonic_oscillator", "kepler"])
def test_analytic_solution_matches_scipy(name):
    sys = SYSTEMS[name]()
    t_eval = np.linspace(*sys.t_span, 7)
    ref = scipy_reference(name, sys, sys.t_span, t_eval)
    np.testing.assert_allclose(sys.solution(t_eval), ref.y, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sys.solution(t_eval[3]), ref.y[:, 3], rtol=0, atol=1e-8)


def test_kepler_solution_for_a_retrograde_rotated_orbit():
    sys = Kepler(mu=2.0, y0=(0.3, -0.9, 0.8, -0.4))
    t_eval = np.linspace(0.0, 5.0, 6)
    ref = scipy_solve_ivp(REFERENCE_RHS["kepler"], (0, 5), np.asarray(sys.y0), args=(2.0,), t_eval=t_eval,
                          method="DOP853", rtol=1e-12, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(sys.solution(t_eval), ref.y, atol=1e-8)
    np.testing.assert_allclose(sys.angular_momentum(ref.y), sys.angular_momentum(sys.y0), atol=1e-9)


def test_robertson_reference_value():
    sys = SYSTEMS["robertson"]()
    t, expected = sys.reference_solution
    res = solve_ivp(sys.rhs, (0.0, t), sys.y0, method="Radau", t_eval=jnp.array([t]), args=sys.params,
                    rtol=1e-8, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(res.y[:, -1], expected, rtol=1e-5)


def test_figure_eight_returns_after_one_period():
    sys = SYSTEMS["nbody"]()
    period, expected = sys.reference_solution
    res = solve_ivp(sys.rhs, (0.0, period), sys.y0, t_eval=jnp.array([period]), args=sys.params,
                    rtol=1e-10, atol=1e-10)  # fmt: skip
    # The initial data are given to 8 digits in the literature, which bounds how well it closes.
    np.testing.assert_allclose(res.y[:, -1], expected, atol=1e-6)
    np.testing.assert_allclose(sys.momentum(res.y[:, -1]), sys.momentum(sys.y0), atol=1e-10)
    np.testing.assert_allclose(sys.angular_momentum(res.y[:, -1]), sys.angular_momentum(sys.y0), atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_rhs_jit_vmap_jvp_float32(name):
    sys = SYSTEMS[name]()
    rhs, params, t = sys.rhs, sys.params, 0.3 * sys.t_span[1]
    rng = np.random.default_rng(1)
    ys = sys.y0 * (1 + 0.05 * jnp.asarray(rng.standard_normal((3, sys.y0.size))))
    looped = jnp.stack([rhs(t, y, *params) for y in ys])  # eager, one state at a time
    scale = float(jnp.max(jnp.abs(looped)))
    np.testing.assert_allclose(jax.jit(rhs)(t, ys[0], *params), looped[0], rtol=1e-12, atol=1e-12 * scale)
    batched = jax.jit(jax.vmap(rhs, in_axes=(None, 0) + (None,) * len(params)))(t, ys, *params)
    np.testing.assert_allclose(batched, looped, rtol=1e-12, atol=1e-12 * scale)

    # Forward derivative along a random parameter direction against central differences.
    directions = tuple(jnp.asarray(rng.standard_normal(jnp.shape(p))) * (1e-3 + jnp.abs(p)) for p in params)
    f = lambda ps: rhs(t, ys[0], *ps)
    _, jvp = jax.jit(jax.jvp, static_argnums=0)(f, (params,), (directions,))
    eps = 1e-6
    shifted = jax.jit(lambda s: f(tuple(p + s * eps * d for p, d in zip(params, directions, strict=True))))
    fd = (shifted(1.0) - shifted(-1.0)) / (2 * eps)
    np.testing.assert_allclose(jvp, fd, rtol=1e-5, atol=1e-6 * float(jnp.max(jnp.abs(fd)) + 1))

    sys32 = sys.astype(jnp.float32)
    out32 = jax.jit(sys32.rhs)(t, ys[0].astype(jnp.float32), *sys32.params)
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, looped[0], rtol=2e-3, atol=2e-4 * scale)


def test_grad_through_solve_ivp_wrt_system_matches_analytic():
    """jax.grad with respect to the whole system (its parameters and y0 are leaves) through solve_ivp."""
    t_end = 2.0

    def y_end(sys):
        res = solve_ivp(sys.rhs, (0.0, t_end), sys.y0, t_eval=jnp.array([t_end]), args=sys.params,
                        rtol=1e-10, atol=1e-12)  # fmt: skip
        return res.y[0, -1]

    sys = SYSTEMS["exponential_decay"](k=0.7, y0=(1.3,))
    grads = jax.grad(y_end)(sys)
    exact = jax.grad(lambda s: s.solution(t_end)[0])(sys)  # y0 exp(-k t), differentiated by JAX
    np.testing.assert_allclose(grads.k, -t_end * 1.3 * np.exp(-0.7 * t_end), rtol=1e-6)
    np.testing.assert_allclose(grads.k, exact.k, rtol=1e-6)
    np.testing.assert_allclose(grads.y0, exact.y0, rtol=1e-6)


def test_no_recompilation_for_new_parameter_values():
    traces = []

    @jax.jit
    def step(sys, y):
        traces.append(None)
        return sys.rhs(0.0, y, *sys.params)

    a, b = get_system("lorenz63"), get_system("lorenz63", rho=20.0, sigma=3.0)
    step(a, a.y0)
    out = step(b, b.y0)
    assert len(traces) == 1
    np.testing.assert_allclose(out, REFERENCE_RHS["lorenz63"](0.0, np.asarray(b.y0), 3.0, 20.0, 8 / 3))
    assert hash(a.rhs) == hash(b.rhs)  # the rhs holds no arrays: hashable, one jit cache entry


def test_registry_metadata():
    for name, cls in SYSTEMS.items():
        sys = cls()
        assert sys.y0.ndim == 1 and isinstance(sys.stiff, bool) and sys.reference
        assert len(sys.params) == len(sys.param_names)
        assert sys.t_span[1] > sys.t_span[0], name
    assert SYSTEMS["robertson"].stiff and not SYSTEMS["lorenz63"].stiff


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="`name`"):
        get_system("lorenz96")
    with pytest.raises(ValueError, match="`masses`"):
        NBody(masses=jnp.ones((3, 1)))
    with pytest.raises(ValueError, match="`y0`"):
        NBody(masses=jnp.ones(3), y0=jnp.zeros(7))
    with pytest.raises(ValueError, match="`y0`"):
        NBody(masses=jnp.ones(2), y0=jnp.zeros(16))  # d = 4
    with pytest.raises(TypeError):
        get_system("lorenz63").rhs(0.0, jnp.ones(3), 1.0)  # missing parameters
    with pytest.raises(NotImplementedError, match="no analytic solution"):
        get_system("lorenz63").solution(1.0)
    with pytest.raises(NotImplementedError, match="no known invariant"):
        get_system("lorenz63").invariant(jnp.ones(3))
    with pytest.raises(ValueError, match="`y`"):
        get_system("kepler").invariant(jnp.ones((4, 2, 2)))
    with pytest.raises(ValueError, match="`t`"):
        get_system("kepler").solution(jnp.ones((2, 2)))
