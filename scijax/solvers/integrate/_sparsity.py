"""``jac_sparsity`` for the stiff methods: a Jacobian from as many JVPs as the pattern has colours.

Columns that share no row in the sparsity pattern can be probed together (Curtis, Powell &
Reid 1974): one JVP with the sum of their unit vectors returns each column's entries in
disjoint rows. The pattern is concrete (NumPy or SciPy sparse), so the colouring runs once,
at trace time, with a greedy colouring of the column-intersection graph in column order.
The Jacobian is then assembled densely from ``n_colours`` JVPs instead of ``n`` (the
stiff steppers still factorise a dense matrix).
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["colour_columns", "SparseJacobian"]


def colour_columns(pattern) -> np.ndarray:
    """Greedy column colouring: columns with a common nonzero row get different colours."""
    if hasattr(pattern, "toarray"):
        pattern = pattern.toarray()
    p = np.asarray(pattern) != 0
    n_rows, n_cols = p.shape
    colours = np.full(n_cols, -1, dtype=int)
    row_colours: list[set[int]] = [set() for _ in range(n_rows)]  # colours already used in each row
    for j in range(n_cols):
        rows = np.flatnonzero(p[:, j])
        taken = set().union(*(row_colours[i] for i in rows)) if rows.size else set()
        c = 0
        while c in taken:
            c += 1
        colours[j] = c
        for i in rows:
            row_colours[i].add(c)
    return colours


class SparseJacobian(eqx.Module):
    """``jac(t, y, *args)`` built from ``fun`` and a coloured pattern by compressed JVPs.

    A pytree: the pattern is static, while ``fun`` keeps whatever arrays it closes over as traced
    leaves (a function reading module-level floats made the old hashable version unhashable).
    """

    fun: Callable[..., Any]
    rows: tuple = eqx.field(static=True)  # nonzero (row, column) pairs of the pattern, as tuples
    cols: tuple = eqx.field(static=True)
    colours: tuple = eqx.field(static=True)
    shape: tuple = eqx.field(static=True)

    @classmethod
    def from_pattern(cls, fun: Callable[..., Any], pattern, n: int) -> "SparseJacobian":
        if hasattr(pattern, "toarray"):
            pattern = pattern.toarray()
        p = np.asarray(pattern)
        if p.shape != (n, n):
            raise ValueError(f"`jac_sparsity` must have shape {(n, n)}, got {p.shape}.")
        rows, cols = np.nonzero(p)
        return cls(fun, tuple(rows.tolist()), tuple(cols.tolist()), tuple(colour_columns(p).tolist()), p.shape)

    @property
    def n_colours(self) -> int:
        return max(self.colours) + 1 if self.colours else 0

    def __call__(self, t, y, *args):
        colours = np.asarray(self.colours)
        seeds = (colours[None, :] == np.arange(self.n_colours)[:, None]).astype(float)  # (c, n)
        f = lambda y_: jnp.asarray(self.fun(t, y_, *args), dtype=y.dtype).reshape(y.shape)
        compressed = jnp.stack([jax.jvp(f, (y,), (jnp.asarray(s, y.dtype),))[1] for s in seeds])  # (c, n)
        rows, cols = np.asarray(self.rows, int), np.asarray(self.cols, int)
        return jnp.zeros(self.shape, y.dtype).at[rows, cols].set(compressed[colours[cols], rows])
