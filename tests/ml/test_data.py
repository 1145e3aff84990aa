"""DataLoader, train_test_split, checkpoints and noisy catalog trajectories."""

import json
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scijax.ml import (
    MLP,
    CheckpointError,
    DataLoader,
    load_checkpoint,
    noisy_trajectories,
    save_checkpoint,
    train_test_split,
)
from scijax.physics import ExponentialDecay, LotkaVolterra

X = np.arange(10.0)
Y = {"a": np.arange(20.0).reshape(10, 2), "b": jnp.arange(10)}


def test_loader_covers_every_sample_once_per_epoch(key):
    loader = DataLoader((X, Y), batch_size=3, key=key, epochs=2)
    batches = list(loader)
    assert len(loader) == 4 and len(batches) == 8
    first = np.concatenate([b[0] for b in batches[:4]])
    second = np.concatenate([b[0] for b in batches[4:]])
    assert sorted(first) == list(X) and sorted(second) == list(X)
    assert not np.array_equal(first, second)  # a fresh order each epoch
    for x, y in batches:  # pytrees stay aligned, leaf types are kept
        np.testing.assert_array_equal(y["a"][:, 0], 2 * x)
        np.testing.assert_array_equal(np.asarray(y["b"]), x)
        assert isinstance(x, np.ndarray) and isinstance(y["b"], jax.Array)


def test_loader_is_deterministic_and_drop_last(key):
    a = [b.tolist() for b in DataLoader(X, batch_size=4, key=key, drop_last=True)]
    b = [b.tolist() for b in DataLoader(X, batch_size=4, key=key, drop_last=True)]
    assert a == b and len(a) == 2 and all(len(x) == 4 for x in a)
    c = [b.tolist() for b in DataLoader(X, batch_size=4, key=jax.random.key(1), drop_last=True)]
    assert a != c
    ordered = np.concatenate(list(DataLoader(X, batch_size=4, shuffle=False)))
    np.testing.assert_array_equal(ordered, X)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [({"data": (X, X[:5]), "batch_size": 2}, ValueError, "`data`.*same length"),
     ({"data": X, "batch_size": 0}, ValueError, "`batch_size`"),
     ({"data": X, "batch_size": 2.5}, TypeError, "`batch_size`"),
     ({"data": X, "batch_size": 2, "key": None}, ValueError, "`key`"),
     ({"data": X, "batch_size": 2, "epochs": 0}, ValueError, "`epochs`"),
     ({"data": (), "batch_size": 2}, ValueError, "`data`")],
)
def test_loader_bad_input(kwargs, exc, match):
    kwargs.setdefault("key", jax.random.key(0))
    with pytest.raises(exc, match=match):
        DataLoader(**kwargs)


def test_train_test_split(key):
    x_tr, x_te, y_tr, y_te = train_test_split(X, Y, test_size=0.25, key=key)
    assert len(x_te) == 3 and len(x_tr) == 7  # ceil, as scikit-learn
    assert sorted(np.concatenate([x_tr, x_te])) == list(X)
    np.testing.assert_array_equal(y_te["a"][:, 0], 2 * x_te)
    again = train_test_split(X, test_size=0.25, key=key)
    np.testing.assert_array_equal(again[1], x_te)
    with pytest.raises(ValueError, match="`test_size`"):
        train_test_split(X, test_size=1.5, key=key)
    with pytest.raises(ValueError, match="`test_size`"):
        train_test_split(X, test_size=10, key=key)
    with pytest.raises(ValueError, match="`arrays`"):
        train_test_split(X, X[:3], key=key)


PARAMS = {"net": MLP(2, 1, width=3, depth=1).init(jax.random.key(0)), "scale": jnp.asarray(2.0),
          "extra": (jnp.arange(3), None)}


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, PARAMS)
    back = load_checkpoint(path, like=PARAMS)
    assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(PARAMS)
    for a, b in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(PARAMS), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    with np.load(path, allow_pickle=False) as npz:  # plain arrays only: loadable without pickle
        assert "__tree__" in npz.files


def test_checkpoint_mismatch_names_the_leaf(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, PARAMS)
    other = dict(PARAMS, net=MLP(2, 1, width=4, depth=1).init(jax.random.key(0)))
    with pytest.raises(CheckpointError, match="\\['net'\\]\\[0\\]\\['W'\\]"):
        load_checkpoint(path, like=other)
    with pytest.raises(CheckpointError, match="structure"):
        load_checkpoint(path, like={"scale": jnp.asarray(1.0)})


def test_corrupt_files_give_clear_errors_and_are_left_alone(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, PARAMS)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(truncated)
    assert truncated.read_bytes() == data[: len(data) // 2]
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(3))
    with pytest.raises(CheckpointError, match="not a scijax checkpoint"):
        load_checkpoint(plain)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(CheckpointError, match="not a scijax"):
        load_checkpoint(single)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(text)
    garbage = tmp_path / "garbage.npz"
    with zipfile.ZipFile(garbage, "w") as z:
        z.writestr("__tree__.npy", b"not an npy file")
    with pytest.raises(CheckpointError):
        load_checkpoint(garbage)
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_checkpoint(tmp_path / "missing.npz")


def test_deeply_nested_trees_give_clear_errors(tmp_path):
    deep: list = [np.ones(1)]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="`params` is nested too deeply"):
        save_checkpoint(tmp_path / "deep.npz", deep)
    saved = tmp_path / "ok.npz"
    save_checkpoint(saved, None)
    with np.load(saved) as npz:
        header = json.loads(npz["__tree__"].tobytes().decode())
    for depth in (5000, 200_000):  # past Python's recursion limit in our rebuild, then in json itself
        tree = '{"type": "list", "children": [' * depth + '{"type": "none"}' + "]}" * depth
        text = json.dumps({**header, "tree": None}).replace("null", tree)
        np.savez(tmp_path / "evil.npz", __tree__=np.frombuffer(text.encode(), dtype=np.uint8))
        with pytest.raises(CheckpointError, match="nested too deeply"):
            load_checkpoint(tmp_path / "evil.npz")


def test_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, PARAMS)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="`params`"):
        save_checkpoint(path, {"bad": object()})
    with pytest.raises(TypeError, match="`params`"):
        save_checkpoint(path, {"text": np.array(["a", "b"])})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]  # no temporary file left behind


def test_noisy_trajectories(key):
    sys = ExponentialDecay(k=0.5)
    t = jnp.linspace(0.0, 2.0, 9)
    clean = noisy_trajectories(sys, t, key=key, n_trajectories=4, y0_spread=0.1)
    assert clean.y.shape == (4, 1, 9)
    np.testing.assert_array_equal(clean.y, clean.y_true)
    np.testing.assert_allclose(clean.y_true, clean.y0[:, :, None] * jnp.exp(-0.5 * t), rtol=1e-6)
    noisy = noisy_trajectories(sys, t, key=key, n_trajectories=4, noise=0.1, y0_spread=0.1)
    np.testing.assert_array_equal(noisy.y0, clean.y0)  # same key, same initial states
    resid = (noisy.y - noisy.y_true) / jnp.std(noisy.y_true)
    assert 0.05 < float(jnp.std(resid)) < 0.2
    with pytest.raises(TypeError, match="`system`"):
        noisy_trajectories("lorenz63", t, key=key)
    with pytest.raises(ValueError, match="`n_trajectories`"):
        noisy_trajectories(LotkaVolterra(), t, key=key, n_trajectories=0)
    with pytest.raises(ValueError, match="`key`"):
        noisy_trajectories(LotkaVolterra(), t, key=None)
