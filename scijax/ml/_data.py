"""Minibatches and splits of arrays or pytrees of arrays, with explicit keys: no torch, no tensorflow."""

from collections.abc import Iterator

import jax
import numpy as np

from .._typing import Array, PyTree
from ._mlp import check_key

__all__ = ["DataLoader", "train_test_split", "data_length"]


def data_length(data: PyTree, name: str = "data") -> int:
    """The common leading length of every array in ``data``; raise ``ValueError`` naming ``name`` otherwise."""
    leaves = jax.tree_util.tree_leaves(data)
    if not leaves:
        raise ValueError(f"`{name}` must contain at least one array.")
    lengths = []
    for leaf in leaves:
        shape = np.shape(leaf)
        if len(shape) == 0:
            raise ValueError(f"`{name}` must hold arrays with a leading sample axis; got a scalar.")
        lengths.append(shape[0])
    if len(set(lengths)) != 1:
        raise ValueError(f"`{name}` arrays must all have the same length (first axis), got lengths {lengths}.")
    if lengths[0] == 0:
        raise ValueError(f"`{name}` is empty (length 0).")
    return lengths[0]


def _take(data: PyTree, idx: np.ndarray) -> PyTree:
    return jax.tree_util.tree_map(lambda x: x[idx], data)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {value!r}.")
    if value <= 0:
        raise ValueError(f"`{name}` must be > 0, got {value}.")
    return int(value)


class DataLoader:
    """Shuffled minibatches of an array or a pytree of arrays that share their first axis.

    Iterating yields ``epochs`` passes over the data, each in a fresh order drawn from
    ``jax.random.fold_in(key, epoch)``: the same key always gives the same batches, and
    :meth:`epoch` gives one pass on its own. Each batch has the structure of ``data``; NumPy
    leaves stay NumPy (cheap host indexing), JAX leaves stay JAX.

    Parameters
    ----------
    data : array or pytree of arrays
        All leaves must have the same length along axis 0.
    batch_size : int
        Samples per batch, > 0. If larger than the data, one (short) batch per epoch, or none
        with ``drop_last``.
    key : PRNG key
        Required when ``shuffle`` is true.
    shuffle : bool
        Whether to permute the samples every epoch (default True).
    drop_last : bool
        Drop the last, short batch of each epoch (default False). Fixed batch shapes avoid a
        second compilation of a jitted step.
    epochs : int
        Passes made by ``iter(loader)`` (default 1).

    Examples
    --------
    >>> import jax, numpy as np
    >>> from scijax.ml import DataLoader
    >>> x, y = np.arange(10.0), np.arange(10.0) ** 2
    >>> loader = DataLoader((x, y), batch_size=4, key=jax.random.key(0), drop_last=True, epochs=2)
    >>> len(loader), [b[0].shape for b in loader]
    (2, [(4,), (4,), (4,), (4,)])
    """

    def __init__(self, data: PyTree, batch_size: int, *, key: Array | None = None, shuffle: bool = True,
                 drop_last: bool = False, epochs: int = 1):
        self.n_samples = data_length(data)
        self.data = data
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.epochs = _positive_int(epochs, "epochs")
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.key = check_key(key) if shuffle else key

    def __len__(self) -> int:
        """Batches per epoch."""
        full, rest = divmod(self.n_samples, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of pass ``epoch`` (deterministic for the loader's key)."""
        if not self.shuffle:
            return np.arange(self.n_samples)
        return np.asarray(jax.random.permutation(jax.random.fold_in(check_key(self.key), epoch), self.n_samples))

    def epoch(self, epoch: int = 0) -> Iterator[PyTree]:
        """The batches of one pass over the data."""
        order = self.order(epoch)
        for i in range(len(self)):
            yield _take(self.data, order[i * self.batch_size:(i + 1) * self.batch_size])

    def __iter__(self) -> Iterator[PyTree]:
        for e in range(self.epochs):
            yield from self.epoch(e)

    def __repr__(self) -> str:
        return (f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, epochs={self.epochs})")


def train_test_split(*arrays: PyTree, test_size: float | int = 0.25, key: Array | None = None,
                     shuffle: bool = True) -> list[PyTree]:
    """Split arrays (or pytrees of arrays) of equal length into train and test parts.

    Like scikit-learn's: returns ``[a_train, a_test, b_train, b_test, ...]``. ``test_size`` is a
    fraction in (0, 1) (rounded up, as scikit-learn does) or a count. With ``shuffle`` (default)
    the split is a random permutation from ``key``.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from scijax.ml import train_test_split
    >>> x_tr, x_te = train_test_split(np.arange(10), test_size=0.3, key=jax.random.key(0))
    >>> len(x_tr), len(x_te), sorted(np.concatenate([x_tr, x_te]).tolist()) == list(range(10))
    (7, 3, True)
    """
    if not arrays:
        raise ValueError("At least one array is required.")
    n = data_length(arrays, "arrays")
    if isinstance(test_size, bool):
        raise TypeError(f"`test_size` must be a float in (0, 1) or a positive int, got {test_size!r}.")
    if isinstance(test_size, (float, np.floating)):
        if not 0 < test_size < 1:
            raise ValueError(f"`test_size` must be in (0, 1) as a fraction, got {test_size}.")
        n_test = int(np.ceil(test_size * n))
    elif isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
    else:
        raise TypeError(f"`test_size` must be a float in (0, 1) or a positive int, got {test_size!r}.")
    if not 0 < n_test < n:
        raise ValueError(f"`test_size` leaves {n - n_test} training and {n_test} test samples out of {n}; "
                         "both must be at least 1.")
    order = np.asarray(jax.random.permutation(check_key(key), n)) if shuffle else np.arange(n)
    train_idx, test_idx = order[n_test:], order[:n_test]
    out = []
    for a in arrays:
        out += [_take(a, train_idx), _take(a, test_idx)]
    return out

