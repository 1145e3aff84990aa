"""Parameter checkpoints as ``.npz`` files with a JSON tree description: no pickle anywhere.

The file holds one array per leaf (``leaf_00000``, ...) and ``__tree__``, a UTF-8 JSON text (as a
``uint8`` array) describing the nesting of dicts, lists and tuples, each leaf's shape and dtype,
and a format version. Loading uses ``np.load(..., allow_pickle=False)``. Saving writes a temporary
file next to the target and renames it over the target only once it is complete, so an
interrupted or failed save never destroys the previous checkpoint.
"""

import json
import os
import tempfile
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._typing import PyTree

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError"]

_FORMAT = "scijax-checkpoint"
_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that is corrupt, not a scijax checkpoint, or does not match the expected parameters."""


def _describe(tree: Any, leaves: list[np.ndarray], where: str) -> dict:
    if tree is None:
        return {"type": "none"}
    if isinstance(tree, dict):
        bad = [k for k in tree if not isinstance(k, str)]
        if bad:
            raise TypeError(f"`params` dict keys must be strings to be saved, got {bad!r} at {where}.")
        keys = sorted(tree)
        return {"type": "dict", "keys": keys,
                "children": [_describe(tree[k], leaves, f"{where}[{k!r}]") for k in keys]}
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return {"type": type(tree).__name__,
                "children": [_describe(v, leaves, f"{where}[{i}]") for i, v in enumerate(tree)]}
    if isinstance(tree, (jax.Array, np.ndarray, np.generic, int, float, complex)) and not isinstance(tree, bool):
        arr = np.asarray(tree)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"`params` leaf at {where} has dtype {arr.dtype}, which cannot be saved without pickle.")
        leaves.append(arr)
        return {"type": "leaf", "index": len(leaves) - 1, "shape": list(arr.shape), "dtype": arr.dtype.str}
    raise TypeError(f"`params` may only contain dicts, lists, tuples, None and arrays; got "
                    f"{type(tree).__name__} at {where}.")


def _rebuild(desc: dict, arrays: dict[str, np.ndarray], path: str) -> Any:
    kind = desc.get("type")
    if kind == "none":
        return None
    if kind == "dict":
        return {k: _rebuild(c, arrays, path) for k, c in zip(desc["keys"], desc["children"], strict=True)}
    if kind in ("list", "tuple"):
        items = [_rebuild(c, arrays, path) for c in desc["children"]]
        return items if kind == "list" else tuple(items)
    if kind == "leaf":
        name = f"leaf_{desc['index']:05d}"
        if name not in arrays:
            raise CheckpointError(f"`path` {path} is corrupt: the tree description names {name}, which is missing.")
        arr = arrays[name]
        if list(arr.shape) != desc["shape"] or arr.dtype.str != desc["dtype"]:
            raise CheckpointError(f"`path` {path} is corrupt: {name} has shape {arr.shape} and dtype {arr.dtype}, "
                                  f"but the description says {tuple(desc['shape'])} and {desc['dtype']}.")
        return jnp.asarray(arr)
    raise CheckpointError(f"`path` {path} is corrupt: unknown node type {kind!r} in the tree description.")


def save_checkpoint(path: str | os.PathLike, params: PyTree) -> None:
    """Save ``params`` (nested dicts/lists/tuples of arrays) to the ``.npz`` file ``path``, atomically.

    Examples
    --------
    >>> import os, tempfile, jax, jax.numpy as jnp
    >>> from scijax.ml import MLP, save_checkpoint, load_checkpoint
    >>> net = MLP(2, 1, width=4, depth=1)
    >>> params = net.init(jax.random.key(0))
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> save_checkpoint(path, params)
    >>> restored = load_checkpoint(path, like=params)
    >>> bool(jnp.all(restored[0]["W"] == params[0]["W"]))
    True
    """
    path = os.fspath(path)
    leaves: list[np.ndarray] = []
    try:
        tree = _describe(params, leaves, "params")  # everything is checked before the disk is touched
    except RecursionError:
        raise ValueError("`params` is nested too deeply to be saved.") from None
    header = {"format": _FORMAT, "version": _VERSION, "tree": tree}
    payload: dict[str, Any] = {f"leaf_{i:05d}": leaf for i, leaf in enumerate(leaves)}
    payload["__tree__"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike, like: PyTree | None = None) -> PyTree:
    """Load parameters saved by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or PathLike
        The ``.npz`` file.
    like : pytree, optional
        Parameters of the expected structure (e.g. ``model.init(key)``). If given, the loaded tree
        must have the same structure, shapes and dtypes, or a :class:`CheckpointError` says
        which leaf differs.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError (a ValueError)
        If the file is corrupt or truncated, is not a scijax checkpoint, or does not match ``like``.
        The file is only read, never modified.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"`path` {path} does not exist.")
    try:
        with open(path, "rb") as f:  # our own handle, so it is closed even when numpy fails
            loaded = np.load(f, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise CheckpointError(f"`path` {path} is a single .npy array, not a scijax .npz checkpoint.")
            with loaded as npz:
                arrays = {name: npz[name] for name in npz.files}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise CheckpointError(f"`path` {path} is not a readable .npz checkpoint (corrupt or truncated?): "
                              f"{err}") from None
    broken = sorted(name for name, a in arrays.items() if not isinstance(a, np.ndarray))
    if broken:
        raise CheckpointError(f"`path` {path} is corrupt: members {broken} are not NumPy arrays.")
    if "__tree__" not in arrays:
        raise CheckpointError(f"`path` {path} is not a scijax checkpoint: it has no tree description (__tree__).")
    try:
        header = json.loads(arrays["__tree__"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"`path` {path} is corrupt: its tree description is not valid JSON ({err}).") from None
    except RecursionError:
        raise CheckpointError(f"`path` {path} is corrupt: its tree description is nested too deeply.") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise CheckpointError(f"`path` {path} is not a scijax checkpoint (format {header.get('format')!r}).")
    if header.get("version") != _VERSION:
        raise CheckpointError(f"`path` {path} has checkpoint version {header.get('version')!r}; this scijax "
                              f"reads version {_VERSION}.")
    try:
        params = _rebuild(header["tree"], arrays, path)
    except (KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f"`path` {path} is corrupt: malformed tree description ({err!r}).") from None
    except RecursionError:
        raise CheckpointError(f"`path` {path} is corrupt: its tree description is nested too deeply.") from None
    if like is not None:
        _check_like(params, like, path)
    return params


def _check_like(params: PyTree, like: PyTree, path: str) -> None:
    got, want = jax.tree_util.tree_structure(params), jax.tree_util.tree_structure(like)
    if got != want:
        raise CheckpointError(f"`path` {path} holds parameters of structure {got}, but `like` has {want}.")
    flat_got = jax.tree_util.tree_flatten_with_path(params)[0]
    for (key_path, a), b in zip(flat_got, jax.tree_util.tree_leaves(like), strict=True):
        if np.shape(a) != np.shape(b) or np.asarray(a).dtype != np.asarray(b).dtype:
            where = jax.tree_util.keystr(key_path)
            raise CheckpointError(f"`path` {path}: leaf params{where} has shape {np.shape(a)} and dtype "
                                  f"{np.asarray(a).dtype}, but `like` expects {np.shape(b)} and {np.asarray(b).dtype}.")
