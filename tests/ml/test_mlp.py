"""MLP: deterministic init from a key, shapes, dtypes, batching, bad inputs, and its params in optax and minimize."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scijax.ml import ACTIVATIONS, MLP
from scijax.solvers.optimize import minimize


def test_init_is_deterministic_and_shaped(key):
    net = MLP(3, 2, width=8, depth=2, activation="relu")
    p1, p2 = net.init(key), net.init(key)
    assert [(layer["W"].shape, layer["b"].shape) for layer in p1] == [((3, 8), (8,)), ((8, 8), (8,)), ((8, 2), (2,))]
    leaves = zip(jax.tree_util.tree_leaves(p1), jax.tree_util.tree_leaves(p2), strict=True)
    assert all(np.array_equal(a, b) for a, b in leaves)
    p3 = net.init(jax.random.key(1))
    assert not np.array_equal(p1[0]["W"], p3[0]["W"])
    bound = 1 / np.sqrt(3)
    assert float(jnp.max(jnp.abs(p1[0]["W"]))) <= bound


def test_forward_matches_numpy_and_batches(key):
    net = MLP(2, 3, width=5, depth=1, activation="tanh")
    p = net.init(key)
    x = jax.random.normal(jax.random.key(7), (4, 2))
    W1, b1, W2, b2 = (np.asarray(a) for a in (p[0]["W"], p[0]["b"], p[1]["W"], p[1]["b"]))
    expected = np.tanh(np.asarray(x) @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(net(p, x), expected, rtol=1e-12)
    np.testing.assert_allclose(net(p, x[1]), expected[1], rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(lambda r: net(p, r))(x), expected, rtol=1e-12)


def test_depth_zero_is_affine_and_all_activations_run(key):
    p = MLP(2, 2, depth=0).init(key)
    assert len(p) == 1
    for name in ACTIVATIONS:
        net = MLP(2, 1, width=4, depth=1, activation=name)
        assert np.all(np.isfinite(net(net.init(key), jnp.ones(2))))


def test_float32_params_give_float32_output(key):
    net = MLP(2, 2, width=4, depth=1)
    p = net.init(key, dtype=jnp.float32)
    assert net(p, jnp.ones(2, jnp.float32)).dtype == jnp.float32


def test_final_scale_shrinks_last_layer(key):
    net = MLP(2, 2, width=4, depth=1)
    small, full = net.init(key, final_scale=1e-3), net.init(key)
    np.testing.assert_allclose(small[-1]["W"], 1e-3 * full[-1]["W"])
    np.testing.assert_array_equal(small[0]["W"], full[0]["W"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"width": 0}, "`width`"), ({"depth": -1}, "`depth`"), ({"activation": "swish!"}, "`activation`"),
     ({"in_size": 2.0}, "`in_size`")],
)
def test_bad_construction(kwargs, match):
    args = {"in_size": 2, "out_size": 1, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        MLP(**args)


def test_mismatched_params_name_the_argument(key):
    net = MLP(2, 1, width=4, depth=1)
    other = MLP(3, 1, width=4, depth=1).init(key)
    with pytest.raises(ValueError, match="`params\\[0\\]`"):
        net(other, jnp.ones(2))
    with pytest.raises(ValueError, match="`params`"):
        net(other[:1], jnp.ones(2))
    with pytest.raises(ValueError, match="`x`"):
        net(net.init(key), jnp.ones(3))
    with pytest.raises(TypeError, match="`key`"):
        net.init(0)


def test_params_work_with_optax_and_minimize(key):
    net = MLP(1, 1, width=8, depth=1)
    x = jnp.linspace(-1.0, 1.0, 16)[:, None]
    y = jnp.sin(2.0 * x)
    loss = lambda p: jnp.mean((net(p, x) - y) ** 2)
    p0 = net.init(key)
    opt = optax.adam(1e-2)
    state = opt.init(p0)
    grads = jax.grad(loss)(p0)
    updates, state = opt.update(grads, state, p0)
    p1 = optax.apply_updates(p0, updates)
    assert jax.tree_util.tree_structure(p1) == jax.tree_util.tree_structure(p0)
    res = minimize(loss, p0, method="L-BFGS-B", options={"maxiter": 200})
    assert jax.tree_util.tree_structure(res.x) == jax.tree_util.tree_structure(p0)
    assert float(res.fun) < 1e-3 * float(loss(p0))
