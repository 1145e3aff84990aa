"""solve_ivp under transformations: jit, vmap (against a loop), grad/jacrev/jacfwd (against
central finite differences), adjoints, and no recompilation for new array values.

Finite differences: the solve runs at rtol=1e-12, atol=1e-14 so that the solver's
own error (which is not smooth in the inputs: step sequences jump) stays below
the O(h^2) truncation error; with h = 1e-4 both are ~1e-8, so gradients are
compared to 1e-6 relative.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from scijax.solvers.integrate import solve_ivp
from tests.problems.ivp_problems import get

LOTKA = get("lotka")
P0 = jnp.asarray(LOTKA.args)
Y0 = jnp.asarray(LOTKA.y0)
T_EVAL = jnp.linspace(0.0, 2.0, 5)
TOL = dict(rtol=1e-12, atol=1e-14)
H = 1e-4


def lotka_p(t, y, p):
    return LOTKA.fun()(t, y, *p)


def final_state(y0, p, t_eval=T_EVAL, adjoint="checkpoint", method="Tsit5", t_end=2.0):
    res = solve_ivp(lotka_p, (0.0, t_end), y0, method=method, t_eval=t_eval, args=(p,), adjoint=adjoint, **TOL)
    return res.y[:, -1]


final_state_jit = jax.jit(final_state, static_argnames=("adjoint", "method"))


def fd_jacobian(f, x, h=H):
    """Central differences of f at x (1-D), shape (out, len(x)), step relative to |x|."""
    x = jnp.asarray(x)
    cols = []
    for i in range(x.shape[0]):
        dx = h * max(1.0, abs(float(x[i])))
        e = jnp.zeros_like(x).at[i].set(dx)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * dx))
    return np.stack(cols, axis=-1)


def test_jit_matches_eager():
    eager = solve_ivp(lotka_p, (0.0, 2.0), Y0, method="Tsit5", t_eval=T_EVAL, args=(P0,), **TOL)
    assert_allclose(final_state_jit(Y0, P0), eager.y[:, -1], rtol=1e-13)


@functools.cache
def _jacrev_y0():
    return jax.jacrev(final_state)(Y0, P0)


def test_jacrev_wrt_y0():
    jac = _jacrev_y0()
    fd = fd_jacobian(lambda y0: final_state_jit(y0, P0), Y0)
    assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)


def test_grad_wrt_args():
    loss = lambda p: jnp.sum(final_state(Y0, p) ** 2)  # noqa: E731
    g = jax.grad(loss)(P0)
    fd = fd_jacobian(lambda p: jnp.sum(final_state_jit(Y0, p) ** 2), P0)
    assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_grad_wrt_t_eval():
    # d y(t_k) / d t_k = f(t_k, y(t_k)); only the last time matters for final_state. The span
    # ends past the last time so that finite differences stay inside it.
    te = jnp.array([0.0, 0.7, 1.3, 1.6, 2.0])  # same shape as T_EVAL: reuses the compiled final_state_jit
    jac = jax.jacrev(lambda t: final_state(Y0, P0, t_eval=t, t_end=2.5))(te)
    y_end = final_state(Y0, P0, t_eval=te, t_end=2.5)
    assert_allclose(jac[:, :-1], 0.0, atol=1e-12)
    assert_allclose(jac[:, -1], lotka_p(2.0, y_end, P0), rtol=1e-8)
    # t_eval[0] = t0 cannot move below the span: differentiate the others.
    fd = fd_jacobian(lambda x: final_state_jit(Y0, P0, t_eval=jnp.concatenate([te[:1], x]), t_end=2.5), te[1:])
    assert_allclose(jac[:, 1:], fd, rtol=1e-6, atol=1e-6)


def _end_of_span(span):
    res = solve_ivp(lotka_p, (span[0], span[1]), Y0, method="Tsit5", args=(P0,), **TOL)
    return res.y[:, res.n_points - 1]


def test_grad_wrt_t_span_endpoints():
    span = jnp.array([0.0, 2.0])
    jac = jax.jacrev(_end_of_span)(span)
    end_jit = jax.jit(_end_of_span)  # shared by the differences and the end state (no eager compile)
    fd = fd_jacobian(end_jit, span)
    assert_allclose(jac, fd, rtol=1e-6, atol=1e-6)
    # d y(tf) / d tf is the right-hand side at the end.
    assert_allclose(jac[:, 1], lotka_p(2.0, end_jit(span), P0), rtol=1e-8)


def _closed_over(theta):
    def fun(t, y):
        return jnp.stack([theta[0] * y[0] - theta[1] * y[0] * y[1], -theta[2] * y[1] + theta[3] * y[0] * y[1]])

    return solve_ivp(fun, (0.0, 2.0), Y0, method="Tsit5", t_eval=T_EVAL, **TOL).y[:, -1]


def test_jacrev_wrt_closed_over_array():
    jac = jax.jacrev(_closed_over)(P0)
    fd = fd_jacobian(jax.jit(_closed_over), P0)
    assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)


def test_jacfwd_forward_adjoint_matches_jacrev():
    fwd, fwd_p = jax.jacfwd(lambda y0, p: final_state(y0, p, adjoint="forward"), argnums=(0, 1))(Y0, P0)
    assert_allclose(fwd, _jacrev_y0(), rtol=1e-9)
    fd = fd_jacobian(lambda p: final_state_jit(Y0, p), P0)
    assert_allclose(fwd_p, fd, rtol=1e-6, atol=1e-8)


def test_backsolve_adjoint():
    # One reverse pass gives both cotangents; compared with the checkpointed adjoint's.
    back_y0, back_p = jax.grad(lambda y0, p: final_state(y0, p, adjoint="backsolve")[0], argnums=(0, 1))(Y0, P0)
    assert_allclose(back_y0, _jacrev_y0()[0], rtol=1e-6)
    fd = fd_jacobian(lambda p: final_state_jit(Y0, p), P0)
    assert_allclose(back_p, fd[0], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", ["RK45", "Radau"])
def test_grad_decay_analytic(method):
    """y(T) = y0 exp(-k T): dy/dk = -T y(T), dy/dy0 = exp(-k T)."""

    def y_end(y0, k):
        return solve_ivp(lambda t, y, k: -k * y, (0.0, 2.0), jnp.stack([y0]), method=method, t_eval=[2.0],
                         args=(k,), rtol=1e-10, atol=1e-12).y[0, -1]

    gy0, gk = jax.grad(y_end, argnums=(0, 1))(1.5, 0.7)
    assert_allclose(gy0, np.exp(-1.4), rtol=1e-7)
    assert_allclose(gk, -2.0 * 1.5 * np.exp(-1.4), rtol=1e-7)


def test_vmap_over_y0_matches_loop():
    y0s = jnp.array([[10.0, 5.0], [5.0, 2.0], [1.0, 1.0]])
    batched = jax.vmap(lambda y0: final_state_jit(y0, P0))(y0s)
    loop = jnp.stack([final_state_jit(y0, P0) for y0 in y0s])
    assert_allclose(batched, loop, rtol=1e-12)


def test_vmap_over_args_matches_loop():
    ps = jnp.array([[1.5, 1.0, 3.0, 1.0], [1.0, 0.5, 2.0, 1.0], [2.0, 1.0, 1.0, 0.5]])
    batched = jax.vmap(lambda p: final_state_jit(Y0, p))(ps)
    loop = jnp.stack([final_state_jit(Y0, p) for p in ps])
    assert_allclose(batched, loop, rtol=1e-12)


def test_vmap_full_result_and_status():
    run = jax.vmap(lambda y0: solve_ivp(lotka_p, (0.0, 2.0), y0, t_eval=T_EVAL, args=(P0,)))
    res = run(jnp.array([[10.0, 5.0], [5.0, 2.0]]))
    assert res.y.shape == (2, 2, 5)
    assert res.status.shape == (2,)
    assert np.all(np.asarray(res.success))


def test_no_retrace_on_new_values_eager():
    """A second eager call with the same fun and options but new y0/args values does not retrace fun."""
    traces = []

    def fun(t, y, k):
        traces.append(1)
        return -k * y

    kw = dict(t_eval=[0.5, 1.0], rtol=1e-6, atol=1e-9)
    solve_ivp(fun, (0.0, 1.0), jnp.array([1.0, 2.0]), args=(0.3,), **kw)
    n_first = len(traces)
    assert n_first >= 1
    res = solve_ivp(fun, (0.0, 1.0), jnp.array([3.0, -1.0]), args=(0.9,), **kw)
    assert len(traces) == n_first, f"fun traced {len(traces) - n_first} more time(s)"
    assert_allclose(res.y[:, -1], np.array([3.0, -1.0]) * np.exp(-0.9), rtol=1e-5)
    # New t_span values and tolerances are arrays too.
    solve_ivp(fun, (0.0, 2.0), jnp.array([3.0, -1.0]), args=(0.5,), t_eval=[0.5, 1.5], rtol=1e-7, atol=1e-10)
    assert len(traces) == n_first


def test_no_retrace_under_jit():
    traces = []

    def fun(t, y, k):
        traces.append(1)
        return -k * y

    run = jax.jit(lambda y0, k: solve_ivp(fun, (0.0, 1.0), y0, args=(k,), t_eval=[1.0]).y[:, -1])
    run(jnp.array([1.0]), 0.3)
    n_first = len(traces)
    for y0, k in [(2.0, 0.1), (3.0, 0.7)]:
        assert_allclose(run(jnp.array([y0]), k), [y0 * np.exp(-k)], rtol=1e-3)
    assert len(traces) == n_first
    assert run._cache_size() == 1
