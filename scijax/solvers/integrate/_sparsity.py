"""``jac_sparsity`` for the stiff methods: a Jacobian from as many JVPs as the pattern has colours.

Columns that share no row in the sparsity pattern can be probed together (Curtis, Powell &
Reid 1974): one JVP with the sum of their unit vectors returns each column's entries in
disjoint rows. The pattern is concrete (NumPy or SciPy sparse), so the colouring runs once,
at trace time, with a greedy colouring of the column-intersection graph in column order
(from the nonzeros: a SciPy sparse pattern is never densified).

When the pattern is banded with half-bandwidths ``l, u`` and ``max(l, u) <= n / 4`` (1-D method
of lines; 2-D with natural ordering has bandwidth ``N`` for ``N^2`` states),
:attr:`SparseJacobian.banded` holds a :class:`._banded.BandedAlgebra`: 'BDF' and 'Radau' then
keep the coloured JVPs as the Jacobian and factorise it as block-tridiagonal blocks with a block
LU (see ``_banded.py``), never forming an ``n x n`` array. Otherwise (and for the methods that
have no banded path) the Jacobian is assembled densely from ``n_colours`` JVPs instead of ``n``.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from ._banded import BandedAlgebra, band_nonzeros, band_of

__all__ = ["colour_columns", "nonzeros", "SparseJacobian"]


def nonzeros(pattern) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """``(rows, cols, shape)`` of the nonzeros of a dense or SciPy sparse pattern, in column order."""
    if hasattr(pattern, "tocoo"):
        coo = pattern.tocoo()
        keep = np.asarray(coo.data) != 0
        rows, cols, shape = np.asarray(coo.row)[keep], np.asarray(coo.col)[keep], coo.shape
    else:
        p = np.asarray(pattern)
        if p.ndim != 2:
            raise ValueError(f"`jac_sparsity` must be a 2-D array, got shape {p.shape}.")
        cols, rows = np.nonzero(p.T)
        shape = p.shape
    order = np.lexsort((rows, cols))
    return rows[order].astype(int), cols[order].astype(int), (int(shape[0]), int(shape[1]))


def colour_columns(pattern) -> np.ndarray:
    """Greedy column colouring: columns with a common nonzero row get different colours."""
    rows_all, cols_all, (n_rows, n_cols) = nonzeros(pattern)
    colours = np.full(n_cols, -1, dtype=int)
    row_colours: list[set[int]] = [set() for _ in range(n_rows)]  # colours already used in each row
    starts = np.searchsorted(cols_all, np.arange(n_cols + 1))
    for j in range(n_cols):
        rows = rows_all[starts[j]:starts[j + 1]]
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
    banded: BandedAlgebra | None = eqx.field(static=True, default=None)  # set when a block LU is cheaper

    @classmethod
    def from_pattern(cls, fun: Callable[..., Any], pattern, n: int) -> "SparseJacobian":
        rows, cols, shape = nonzeros(pattern)
        if shape != (n, n):
            raise ValueError(f"`jac_sparsity` must have shape {(n, n)}, got {shape}.")
        lower, upper = band_of(rows, cols)
        has_diag = np.count_nonzero(rows == cols) == n
        colours = colour_columns(pattern)
        banded = None
        if max(lower, upper) <= n / 4:  # block tridiagonal with blocks of at most n / 4: cheaper than dense
            banded = BandedAlgebra.from_pattern(rows, cols, n, colours if has_diag else None)
        return cls(fun, tuple(rows.tolist()), tuple(cols.tolist()), tuple(colours.tolist()), shape, banded)

    @classmethod
    def from_band(cls, fun: Callable[..., Any], lower: int, upper: int, n: int) -> "SparseJacobian":
        """SciPy LSODA's ``lband``/``uband``: nonzeros only for ``-lower <= j - i <= upper``."""
        if lower < 0 or upper < 0:
            raise ValueError(f"`lband` and `uband` must be non-negative integers, got {lower} and {upper}.")
        rows, cols = band_nonzeros(lower, upper, n)
        return cls.from_pattern(fun, sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n)), n)

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
