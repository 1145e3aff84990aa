"""'LSODA': Dormand-Prince 5(4) with a stiffness test, switching to Rodas5 and back (``_lsoda.py``).

One problem serves every test, so that a few compiled programs do all the work: Prothero and
Robinson's ``y' = -k (y - a cos t) - a sin t`` from ``y(0) = a``, whose exact solution is
``a cos t`` for every ``k``. With ``k = 1`` it is not stiff; with ``k = 1e4`` an explicit method is
limited to steps of about ``3.3 / k`` (some 30,000 over ``[0, 10]``), so the solver has to detect
the stiffness and switch. The test-set problems (Van der Pol, Robertson, HIRES, OREGO) run in
``test_stiff.py`` and ``benchmarks/bench_stiff.py``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

from scijax.solvers.integrate import solve_ivp
from tests.problems.ivp_problems import compute_error

T_END = 10.0
T_EVAL = np.linspace(0.0, T_END, 6)
RTOL, ATOL = 1e-6, 1e-9
NONSTIFF, STIFF = 1.0, 1e4


def _pr(t, y, k, a):
    return -k * (y - a * jnp.cos(t)) - a * jnp.sin(t)


# Dense output is checked away from the zeros of cos t, where the scaled error divides by atol alone: the
# stiff mode's Rodas5 interpolant is not error-controlled (nor is it in diffrax or DifferentialEquations.jl).
T_DENSE = np.linspace(0.0, T_END, 101)
T_DENSE = T_DENSE[np.abs(np.cos(T_DENSE)) > 0.1]


def _solve(k, a, dense_output=False):
    return solve_ivp(_pr, (0.0, T_END), jnp.stack([a]), method="LSODA", args=(k, a), t_eval=jnp.asarray(T_EVAL),
                     rtol=RTOL, atol=ATOL, max_steps=1024, dense_output=dense_output)


def _final(a, k):
    res = _solve(k, a, dense_output=True)
    dense = res.sol(jnp.asarray(T_DENSE))
    return res.y[0, -1], (res.y, dense, jnp.stack([res.n_steps, res.nfev, res.njev, res.nlu, res.status]))


# Three compiled programs do all the work: a vmapped solve, a value-and-gradient (also the loop the vmapped
# solve is compared with; it also evaluates the dense output), and the float32 solve.
_BATCHED = jax.jit(jax.vmap(_solve, in_axes=(0, None)))
_VALUE_GRAD = jax.jit(jax.value_and_grad(_final, has_aux=True))


def _scipy(k):
    return scipy.integrate.solve_ivp(lambda t, y: -k * (y - np.cos(t)) - np.sin(t), (0.0, T_END), [1.0],
                                     method="LSODA", t_eval=T_EVAL, rtol=RTOL, atol=ATOL)


def test_no_jacobian_when_not_stiff_a_switch_when_stiff_and_vmap_against_a_loop():
    """Under vmap each member keeps its own mode (both methods run; the counts follow the mode)."""
    ks = jnp.array([NONSTIFF, STIFF, jnp.nan])
    batched = _BATCHED(ks, jnp.asarray(1.0))
    exact = np.cos(T_EVAL)[None]
    for i, k in enumerate([NONSTIFF, STIFF]):
        (_, (y, dense, counts)), _ = _VALUE_GRAD(jnp.asarray(1.0), jnp.asarray(k))
        n_steps, nfev, njev, nlu, status = (int(c) for c in counts)
        np.testing.assert_allclose(batched.y[i], y, rtol=1e-12, atol=1e-14)
        assert [int(batched.n_steps[i]), int(batched.njev[i]), int(batched.nfev[i])] == [n_steps, njev, nfev]
        ref = _scipy(k)
        assert status == 0 and ref.success
        err = compute_error(np.asarray(y), exact, RTOL, ATOL).max()
        scipy_err = compute_error(ref.y, exact, RTOL, ATOL).max()
        assert err < max(5.0, 3 * scipy_err), (k, err, scipy_err)
        assert compute_error(np.asarray(dense), np.cos(T_DENSE)[None], RTOL, ATOL).max() < 5  # in both modes
        if k == NONSTIFF:  # as SciPy's LSODA (Adams throughout): no Jacobian, no factorisation
            assert ref.njev == 0 and njev == 0 and nlu == 0
            # 6 evaluations a step (rejected ones too), f(t0, y0) and the initial-step rule's 2.
            assert (nfev - 3) % 6 == 0 and nfev >= 6 * n_steps + 3
        else:  # switched: Jacobians in stiff mode only, and far fewer steps than an explicit method's ~30,000
            assert ref.njev > 0 and 0 < njev == nlu < n_steps < 0.01 * k * T_END / 3.3
    # A right-hand side that turns non-finite: an honest failure, not a solution.
    assert int(batched.status[2]) == -1 and not bool(batched.success[2])


@pytest.mark.parametrize("k", [NONSTIFF, STIFF])
def test_grad_through_the_switch(k):
    """d y(T) / d a = cos T (exact), through the default adjoint, in both modes; and central differences."""
    a = jnp.asarray(1.3)
    n_compiled = _VALUE_GRAD._cache_size()
    (value, _), grad = _VALUE_GRAD(a, jnp.asarray(k))
    np.testing.assert_allclose(value, 1.3 * np.cos(T_END), rtol=1e-4)
    np.testing.assert_allclose(grad, np.cos(T_END), rtol=1e-4)
    eps = 1e-4
    fd = (_VALUE_GRAD(a + eps, jnp.asarray(k))[0][0] - _VALUE_GRAD(a - eps, jnp.asarray(k))[0][0]) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-4)  # step sizes move with a (through atol): O(rtol) noise
    assert _VALUE_GRAD._cache_size() == max(n_compiled, 1)  # new values of a and k: no recompilation


def test_float32():
    res = solve_ivp(_pr, (0.0, 3.0), jnp.array([1.0], jnp.float32), method="LSODA", args=(STIFF, 1.0),
                    rtol=1e-4, atol=1e-7)
    assert res.y.dtype == jnp.float32 and res.success and int(res.njev) > 0
    assert compute_error(res.y, np.cos(res.t)[None], 1e-4, 1e-7).max() < 5  # at the steps


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="y0"):
        solve_ivp(_pr, (0.0, T_END), jnp.ones((1, 1)), method="LSODA", args=(STIFF, 1.0))
