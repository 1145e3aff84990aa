"""fit: budgets, minibatches, early stopping, callbacks, non-finite losses, progress, L-BFGS finish."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from scijax.ml import fit, lbfgs_finish

# Linear regression: y = X w_true, so the optimum and the loss are known exactly.
X = jax.random.normal(jax.random.key(0), (64, 3))
W_TRUE = jnp.array([1.0, -2.0, 0.5])
DATA = (X, X @ W_TRUE)
P0 = {"w": jnp.zeros(3)}


def loss_fn(p, batch):
    x, y = batch
    return jnp.mean((x @ p["w"] - y) ** 2)


def test_full_batch_steps_converge_and_record_history():
    res = fit(loss_fn, P0, DATA, optimizer=optax.adam(0.05), steps=400, progress=False)
    assert res.n_steps == 400 and res.loss_history.shape == (400,)
    assert not res.stopped_early
    np.testing.assert_allclose(res.params["w"], W_TRUE, atol=1e-3)
    assert res.loss_history[-1] < 1e-3 * res.loss_history[0]
    np.testing.assert_allclose(res.loss_history[0], loss_fn(P0, DATA))


def test_minibatch_epochs_are_deterministic(key):
    run = lambda: fit(loss_fn, P0, DATA, optimizer=optax.adam(0.05), epochs=20, batch_size=16, key=key,
                      progress=False)
    a, b = run(), run()
    assert a.n_steps == 20 * 4
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    np.testing.assert_allclose(a.params["w"], W_TRUE, atol=0.1)


def test_early_stopping_returns_the_best_params():
    # A constant loss never improves: training stops after `patience` steps.
    res = fit(lambda p, d: jnp.sum(p["w"] * 0.0) + 1.0, P0, DATA, steps=100, patience=5, progress=False)
    assert res.stopped_early and res.n_steps == 6 and "early stopping" in res.message
    # Too large a step size oscillates; the best params are returned, not the last ones.
    res = fit(loss_fn, P0, DATA, optimizer=optax.sgd(0.9), steps=200, patience=3, progress=False)
    assert res.stopped_early
    assert float(loss_fn(res.params, DATA)) == pytest.approx(res.best_loss)


def test_callback_can_stop_and_sees_every_step():
    seen = []

    def cb(step, params, loss):
        seen.append((step, loss))
        return step == 7

    res = fit(loss_fn, P0, DATA, steps=50, callbacks=[cb], progress=False)
    assert res.n_steps == 7 and [s for s, _ in seen] == list(range(1, 8)) and "callback" in res.message


def test_non_finite_loss_stops_honestly():
    bad = lambda p, d: loss_fn(p, d) + jnp.where(p["w"][0] > 0.02, jnp.nan, 0.0)
    res = fit(bad, P0, DATA, optimizer=optax.sgd(0.005), steps=100, progress=False)
    assert res.stopped_early and "non-finite" in res.message
    assert np.isnan(res.loss_history[-1])
    assert np.isfinite(float(bad(res.params, DATA)))


def test_progress_bar_prints_the_loss(capsys):
    fit(loss_fn, P0, DATA, steps=3, progress=True)
    err = capsys.readouterr().err
    assert "loss" in err and "3/3" in err
    fit(loss_fn, P0, DATA, steps=3, progress=False)
    assert capsys.readouterr().err == ""


def test_lbfgs_finish_after_adam():
    res = fit(loss_fn, P0, DATA, optimizer=optax.adam(0.05), steps=20, progress=False, lbfgs_steps=50)
    assert res.lbfgs is not None and bool(res.lbfgs.success)
    assert res.loss_history.shape == (21,)
    assert res.loss_history[-1] < 1e-12
    np.testing.assert_allclose(res.params["w"], W_TRUE, atol=1e-6)
    # A finish that cannot improve keeps the parameters it was given.
    p, out = lbfgs_finish(lambda p, d: jnp.sum(p["w"] ** 2), {"w": jnp.zeros(2)}, maxiter=5)
    np.testing.assert_array_equal(p["w"], jnp.zeros(2))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [({}, ValueError, "`steps` and `epochs`"),
     ({"steps": 5, "epochs": 5}, ValueError, "`steps` and `epochs`"),
     ({"steps": 0}, ValueError, "`steps`"),
     ({"steps": 5, "batch_size": 8}, ValueError, "`key`"),
     ({"steps": 5, "batch_size": 0, "key": jax.random.key(0)}, ValueError, "`batch_size`"),
     ({"steps": 5, "batch_size": 1000, "key": jax.random.key(0)}, ValueError, "`batch_size`"),
     ({"steps": 5, "patience": 0}, ValueError, "`patience`"),
     ({"steps": 5, "callbacks": [1]}, TypeError, "`callbacks`")],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fit(loss_fn, P0, DATA, progress=False, **kwargs)
