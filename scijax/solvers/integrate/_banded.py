"""Linear algebra of the stiff steppers: dense, or block-tridiagonal for banded Jacobians.

The implicit methods ('BDF', 'Radau') factorise ``shift I + scale J`` and solve with the factors
many times. :data:`DENSE` does that with a dense ``n x n`` LU. :class:`BandedAlgebra` does it for
a Jacobian whose nonzeros lie in a band ``-l <= j - i <= u``:

- **Storage.** With block size ``b >= max(l, u)`` (and ``n`` padded up to a multiple of ``b``
  with identity rows) a banded matrix is block tridiagonal: three ``(n/b, b, b)`` block arrays
  (sub-, main and super-diagonal blocks), memory ``O(n b)``, never ``n x n``.
- **Jacobian.** Columns that share no row of the pattern are probed together (Curtis, Powell &
  Reid 1974; the colouring of :mod:`._sparsity`, with the diagonal added): one JVP per colour,
  batched with ``vmap``. The solver state keeps these compressed columns, ``(n_colours, n)``;
  a factorisation scatters them straight into the blocks.
- **Factorisation.** Block LU without pivoting across blocks (the block Thomas algorithm,
  Golub & Van Loan, *Matrix Computations*, section 4.5): ``D_1 = B_1``,
  ``D_i = B_i - A_i D_{i-1}^{-1} C_{i-1}``, one ``lax.scan`` over the blocks with a ``b x b``
  LU with partial pivoting *inside* each diagonal block ``D_i``, from which ``D_i^{-1}`` is
  formed; ``D_i^{-1}``, ``A_i`` and ``E_i = D_i^{-1} C_i`` are kept, so that a solve
  is two scans of matrix-vector products (on CPU each operation inside a scan costs
  microseconds of overhead, more than the arithmetic at these sizes). Cost ``O(n b^2)`` per
  factorisation, ``O(n b)`` per solve; the explicit inverse adds an error of order
  ``cond(D_i) eps``, harmless for the well-conditioned blocks of an iteration matrix. Pivoting only
  within blocks is stable for the block diagonally dominant iteration matrices
  ``I - h gamma J`` of stiff parabolic problems; for others it can fail where a dense LU would
  not. That is detected, not hidden: a non-finite factor, a pivot below ``b eps max|M|`` or an
  entry grown past ``1e8 max|M|`` turns the factors into NaN, so the Newton iteration fails and
  the step is rejected and retried smaller (where ``I - h gamma J`` approaches ``I``); a solve
  that cannot recover ends with a step-size-underflow status.
- **Complex** shifts (Radau's complex system) give complex blocks; the same code runs.

Everything is traceable and batches under ``vmap``.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.sparse as sp

__all__ = ["BandedAlgebra", "DenseAlgebra", "DENSE", "band_of", "band_nonzeros", "MIN_BLOCK"]

MIN_BLOCK = 16  # a smaller block only lengthens the sequential scan; O(n b^2) stays negligible
_GROWTH = 1e8


def band_nonzeros(lower: int, upper: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of every entry with ``-lower <= j - i <= upper`` of an ``n x n`` matrix."""
    offsets = np.arange(-min(lower, n - 1), min(upper, n - 1) + 1)
    rows = np.concatenate([np.arange(max(0, -k), min(n, n - k)) for k in offsets])
    return rows, np.concatenate([np.arange(max(0, -k), min(n, n - k)) + k for k in offsets])


def band_of(rows: np.ndarray, cols: np.ndarray) -> tuple[int, int]:
    """Lower and upper half-bandwidths ``(l, u)`` of the nonzeros ``(rows, cols)``."""
    if rows.size == 0:
        return 0, 0
    return int(max(np.max(rows - cols), 0)), int(max(np.max(cols - rows), 0))


class DenseAlgebra(eqx.Module):
    """Dense ``n x n`` Jacobian (``jax.jacfwd``) and LU with partial pivoting."""

    def jacobian(self, fn: Callable[[jax.Array], jax.Array], y: jax.Array) -> jax.Array:
        return jax.jacfwd(fn)(y)

    def factor(self, jac: jax.Array, shift: Any, scale: Any) -> Any:
        eye = jnp.eye(jac.shape[0], dtype=jnp.result_type(jac, shift))
        return jsl.lu_factor(shift * eye + scale * jac)

    def solve(self, factors: Any, rhs: jax.Array) -> jax.Array:
        return jsl.lu_solve(factors, rhs)

    def tangent_solve(self, lin: Callable[[jax.Array], jax.Array], b: jax.Array) -> jax.Array:
        return jnp.linalg.solve(jax.jacfwd(lin)(jnp.zeros_like(b)), b)


DENSE = DenseAlgebra()


class BandedAlgebra(eqx.Module):
    """Block-tridiagonal Jacobian and block LU for a banded pattern (see the module docstring).

    Build it with :meth:`from_pattern`; every field is static (hashable), so the structure is
    part of the compiled program and new values never recompile.
    """

    n: int = eqx.field(static=True)
    block: int = eqx.field(static=True)
    colours: tuple = eqx.field(static=True)  # colour of each column (diagonal included in the pattern)
    rows: tuple = eqx.field(static=True)  # nonzeros of the pattern with the diagonal
    cols: tuple = eqx.field(static=True)

    @classmethod
    def from_pattern(cls, rows: np.ndarray, cols: np.ndarray, n: int, colours: np.ndarray | None = None,
                     block: int | None = None) -> "BandedAlgebra":
        """The structure of an ``n x n`` pattern with nonzeros ``(rows, cols)``; the diagonal is added."""
        from ._sparsity import colour_columns

        diag = np.arange(n)
        key = np.unique(np.concatenate([np.asarray(rows) * n + np.asarray(cols), diag * n + diag]))
        rows, cols = key // n, key % n
        if colours is None:
            colours = colour_columns(sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n)))
        lo, up = band_of(rows, cols)
        b = block or max(lo, up, min(MIN_BLOCK, n))
        return cls(n, int(b), tuple(int(c) for c in colours), tuple(rows.tolist()), tuple(cols.tolist()))

    @classmethod
    def from_band(cls, lower: int, upper: int, n: int) -> "BandedAlgebra":
        """All entries with ``-lower <= j - i <= upper``: columns ``j`` share a colour by ``j mod (l + u + 1)``."""
        rows, cols = band_nonzeros(lower, upper, n)
        return cls.from_pattern(rows, cols, n, colours=np.arange(n) % (lower + upper + 1))

    @property
    def n_blocks(self) -> int:
        return -(-self.n // self.block)

    @property
    def n_colours(self) -> int:
        return max(self.colours) + 1

    def _scatter(self, compressed: jax.Array) -> jax.Array:
        """Blocks ``(3, n/b, b, b)`` from compressed columns ``(n_colours, n)`` (row ``i`` of colour ``c``)."""
        b, nb = self.block, self.n_blocks
        rows, cols = np.asarray(self.rows), np.asarray(self.cols)
        colours = np.asarray(self.colours)
        which = cols // b - rows // b + 1  # 0: sub-, 1: main, 2: super-diagonal block
        values = compressed[colours[cols], rows]
        out = jnp.zeros((3, nb, b, b), compressed.dtype)
        return out.at[which, rows // b, rows % b, cols % b].set(values, unique_indices=True)

    def _seeds(self, dtype) -> jax.Array:
        colours = np.asarray(self.colours)
        return jnp.asarray(colours[None, :] == np.arange(self.n_colours)[:, None], dtype)

    def jacobian(self, fn: Callable[[jax.Array], jax.Array], y: jax.Array) -> jax.Array:
        """``d fn / d y`` as compressed columns ``(n_colours, n)``: one (batched) JVP per colour."""
        _, lin = jax.linearize(fn, y)
        return jax.vmap(lin)(self._seeds(y.dtype))

    def factor(self, jac: jax.Array, shift: Any, scale: Any) -> Any:
        """Block LU of ``shift I + scale J`` (``jac`` compressed): see :func:`block_tridiag_factor`."""
        dtype = jnp.result_type(jac, shift, scale)
        b, nb = self.block, self.n_blocks
        blocks = self._scatter(scale * jac.astype(dtype))
        # Padding rows (J = 0 there) get 1 on the diagonal: decoupled, and their solution stays 0.
        real_row = (np.arange(nb * b) < self.n).reshape(nb, b)
        diag = jnp.where(jnp.asarray(real_row), shift, 1).astype(dtype)
        blocks = blocks.at[1].add(diag[:, :, None] * jnp.eye(b, dtype=dtype))
        return block_tridiag_factor(blocks[0], blocks[1], blocks[2], b * jnp.finfo(jnp.finfo(dtype).dtype).eps)

    def solve(self, factors: Any, rhs: jax.Array) -> jax.Array:
        b, nb = self.block, self.n_blocks
        r = jnp.zeros((nb * b,), jnp.result_type(rhs, factors[0])).at[:self.n].set(rhs).reshape(nb, b)
        return block_tridiag_solve(factors, r).reshape(-1)[:self.n]

    def tangent_solve(self, lin: Callable[[jax.Array], jax.Array], b: jax.Array) -> jax.Array:
        """Solve ``lin(x) = b`` for a linear ``lin`` with this pattern (its blocks by compressed products)."""
        compressed = jax.vmap(lin)(self._seeds(b.dtype))  # the identity part included
        return self.solve(self.factor(compressed, jnp.zeros((), b.dtype), jnp.ones((), b.dtype)), b)


def _permutation(piv: jax.Array) -> jax.Array:
    """Row order ``perm`` (``A[perm] = L U``) from LAPACK's sequential row swaps ``i <-> piv[i]``, loop-free.

    The swaps compose as index arrays (``x[t_0][t_1]... = x[t_0[t_1[...]]]``), reduced pairwise in
    ``log2 b`` gathers: JAX's own conversion is a ``b``-step loop, which in a scan over the blocks
    cost more than the factorisation itself.
    """
    b = piv.shape[-1]
    size = 1 << max(b - 1, 0).bit_length()
    idx = jnp.arange(size, dtype=jnp.int32)
    steps = jnp.arange(b, dtype=jnp.int32)
    swaps = jnp.broadcast_to(idx, (size, size))
    swaps = swaps.at[steps, steps].set(piv.astype(jnp.int32)).at[steps, piv].set(steps)
    while swaps.shape[0] > 1:
        swaps = jnp.take_along_axis(swaps[0::2], swaps[1::2], axis=-1)
    return swaps[0, :b]


def _lu(d: jax.Array) -> tuple[jax.Array, jax.Array]:
    lu, piv = jsl.lu_factor(d)
    return lu, _permutation(piv)


def _lu_solve(lu: jax.Array, perm: jax.Array, rhs: jax.Array) -> jax.Array:
    vector = rhs.ndim == 1
    r = rhs[perm][:, None] if vector else rhs[perm]
    y = jax.lax.linalg.triangular_solve(lu, r.astype(lu.dtype), left_side=True, lower=True, unit_diagonal=True)
    x = jax.lax.linalg.triangular_solve(lu, y, left_side=True, lower=False)
    return x[:, 0] if vector else x


def block_tridiag_factor(lower: jax.Array, diag: jax.Array, upper: jax.Array, tiny: Any) -> tuple:
    """Block Thomas factorisation of the block-tridiagonal matrix with blocks ``(A_i, B_i, C_i)``.

    ``lower[0]`` and ``upper[-1]`` are ignored. ``D_i = B_i - A_i E_{i-1}`` is factorised by LU with
    partial pivoting inside the block and inverted from its factors; returns ``(D_i^{-1}, A_i,
    E_i = D_i^{-1} C_i, ok)``, so that a solve is two short scans of matrix-vector products.
    Unless ``ok`` (all finite, smallest pivot above ``tiny max|M|``, no growth past 1e8) the
    factors are NaN, so that every solve with them is NaN.
    """
    b = diag.shape[-1]
    scale = jnp.maximum(jnp.max(jnp.abs(diag)), jnp.maximum(jnp.max(jnp.abs(lower)), jnp.max(jnp.abs(upper))))
    lower, upper = lower.at[0].set(0), upper.at[-1].set(0)
    eye = jnp.eye(b, dtype=diag.dtype)

    def body(e_prev, x):
        a, d, c = x
        lu, perm = _lu(d - a @ e_prev)
        d_inv = _lu_solve(lu, perm, eye)
        e = d_inv @ c
        return e, (d_inv, e, jnp.min(jnp.abs(jnp.diagonal(lu))), jnp.max(jnp.abs(lu)))

    _, (d_inv, e, pivot, size) = jax.lax.scan(body, jnp.zeros((b, b), diag.dtype), (lower, diag, upper))
    ok = (jnp.all(jnp.isfinite(d_inv)) & jnp.all(jnp.isfinite(e)) & (jnp.min(pivot) > tiny * scale)
          & (jnp.max(size) < _GROWTH * scale) & (jnp.max(jnp.abs(e)) < _GROWTH))
    nan = jnp.asarray(jnp.nan, d_inv.dtype)
    return jnp.where(ok, d_inv, nan), lower, jnp.where(ok, e, nan), ok


def block_tridiag_solve(factors: tuple, rhs: jax.Array) -> jax.Array:
    """Solve with :func:`block_tridiag_factor`'s factors; ``rhs`` has shape ``(n_blocks, b)``.

    Forward ``g_i = D_i^{-1} (r_i - A_i g_{i-1})``, backward ``x_i = g_i - E_i x_{i+1}``.
    """
    d_inv, lower, e, _ = factors
    dtype = jnp.result_type(rhs, d_inv)
    b = rhs.shape[-1]

    def forward(g_prev, x):
        d_inv_i, a_i, r_i = x
        g = d_inv_i @ (r_i - a_i @ g_prev)
        return g, g

    _, g = jax.lax.scan(forward, jnp.zeros((b,), dtype), (d_inv, lower, rhs.astype(dtype)))

    def backward(x_next, x):
        g_i, e_i = x
        x_i = g_i - e_i @ x_next
        return x_i, x_i

    _, x = jax.lax.scan(backward, jnp.zeros((b,), dtype), (g, e), reverse=True)
    return x
