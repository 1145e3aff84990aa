"""``jax.vmap(solve_ivp)`` on the ensemble engine: SciPy's steps, a loop's answers, differentiable, bounded.

The explicit methods run the structure-of-arrays engine under ``vmap`` (each member its own
steps), with per-member parameters passed through ``args`` and through a closure. SciPy is the
oracle: batched RK45 and RK23 take SciPy's steps (same ``nfev``, values to 1e-9). Single calls
run diffrax (the discretisation their gradients use), so a batch equals a loop of single calls
to the tolerance, with the same status.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

from scijax.solvers.integrate import solve_ivp

RTOL, ATOL = 1e-6, 1e-8
T_EVAL = jnp.linspace(0.0, 2.0, 5)
KS = jnp.array([0.5, 1.0, 3.0])  # damping per member (stiffer members take more steps)
Y0S = jnp.array([[1.0, 0.0], [0.5, 1.0], [2.0, -1.0]])


def oscillator(t, y, k):
    return jnp.stack([y[1], -k * y[1] - (1.0 + t) * y[0]])


def oscillator_np(t, y, k):
    return np.array([y[1], -k * y[1] - (1.0 + t) * y[0]])


def _batched(method, t_eval):
    """One compiled batch: ``k`` through ``args`` for the first state, through a closure for the result."""
    def one(y0, k):
        return solve_ivp(lambda t, y: oscillator(t, y, k), (0.0, 2.0), y0, method=method, t_eval=t_eval,
                         rtol=RTOL, atol=ATOL)

    return jax.jit(jax.vmap(one))(Y0S, KS)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Tsit5"])
def test_vmap_matches_scipy_and_a_loop(method):
    for t_eval in (T_EVAL, None):
        batch = _batched(method, t_eval)
        for i in range(len(KS)):
            n = int(batch.n_points[i])
            assert int(batch.status[i]) == 0 and bool(jnp.all(jnp.isnan(batch.t[i, n:])))  # padding
            if method in ("RK45", "RK23"):  # SciPy's own step-size control: SciPy's steps and nfev
                ref = scipy.integrate.solve_ivp(oscillator_np, (0.0, 2.0), np.asarray(Y0S[i]), method=method,
                                                t_eval=None if t_eval is None else np.asarray(t_eval),
                                                args=(float(KS[i]),), rtol=RTOL, atol=ATOL)
                assert int(batch.nfev[i]) == ref.nfev and n == len(ref.t)
                np.testing.assert_allclose(np.asarray(batch.t[i, :n]), ref.t, rtol=1e-9, atol=0)
                np.testing.assert_allclose(np.asarray(batch.y[i, :, :n]), ref.y, rtol=1e-9, atol=1e-12)
            if t_eval is not None:  # a loop of single (diffrax) calls: the same answer to the tolerance
                single = solve_ivp(oscillator, (0.0, 2.0), Y0S[i], method=method, t_eval=t_eval,
                                   args=(KS[i],), rtol=RTOL, atol=ATOL)
                assert single.status == 0
                np.testing.assert_allclose(np.asarray(batch.y[i]), single.y, rtol=20 * RTOL, atol=20 * ATOL)


def test_grad_through_batched_call_matches_finite_differences():
    def final(k, y0):
        return solve_ivp(oscillator, (0.0, 2.0), y0, t_eval=T_EVAL, args=(k,), rtol=1e-10, atol=1e-12).y[0, -1]

    def total(ks):
        values = jax.vmap(final)(ks, Y0S)
        return jnp.sum(values), values

    # One compiled program: the gradient of the batched call, and (aux) its per-member values for the
    # central differences (member i depends on ks[i] only, so d total / d ks[i] = d final_i / d k_i).
    value_grad = jax.jit(jax.value_and_grad(total, has_aux=True))
    grads = value_grad(KS)[1]
    batched = lambda ks: value_grad(ks)[0][1]  # noqa: E731
    eps = 1e-5
    fd = (batched(KS + eps) - batched(KS - eps)) / (2 * eps)  # FD error ~ eps^2 + tol/eps
    np.testing.assert_allclose(np.asarray(grads), np.asarray(fd), rtol=1e-6, atol=1e-6)


def test_max_saved_steps_bounds_the_buffer_and_fails_honestly():
    def one(y0, k):
        return solve_ivp(oscillator, (0.0, 2.0), y0, args=(k,), rtol=RTOL, atol=ATOL, max_saved_steps=8)

    batch = jax.jit(jax.vmap(one))(Y0S, KS)
    assert batch.t.shape == (3, 8) and batch.y.shape == (3, 2, 8)
    eager = solve_ivp(oscillator, (0.0, 2.0), Y0S[0], args=(KS[0],), rtol=RTOL, atol=ATOL)
    assert len(eager.t) > 8  # so every member overflows the 8 rows
    assert bool(jnp.all(batch.status == -1)) and bool(jnp.all(batch.n_points == 8))
    assert "max_saved_steps" in solve_ivp(oscillator, (0.0, 2.0), Y0S[0], args=(KS[0],), rtol=RTOL, atol=ATOL,
                                          max_saved_steps=8).message
    np.testing.assert_allclose(np.asarray(batch.t[0]), eager.t[:8], rtol=1e-9)  # the first steps are kept
    with pytest.raises(ValueError, match="max_saved_steps"):
        solve_ivp(oscillator, (0.0, 2.0), Y0S[0], args=(1.0,), max_saved_steps=1)
