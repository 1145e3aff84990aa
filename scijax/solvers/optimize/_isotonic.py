"""``scipy.optimize.isotonic_regression``: the pool-adjacent-violators algorithm as a ``lax`` loop.

PAVA (Ayer et al. 1955; Best and Chakravarti, Math. Programming 47, 1990) scans ``y`` once and
keeps a stack of blocks with their weighted means; each new point is pushed as a block and
merged with the block below while the two violate the order. The stack lives in fixed-size
arrays, so the scan runs under ``jit`` and ``vmap``. The fitted values are then the block means,
computed from ``y`` and ``weights`` by segment sums so that gradients flow to both.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete
from .._display import format_fields
from ._result import ResultFields

__all__ = ["isotonic_regression", "IsotonicResult"]


class IsotonicResult(ResultFields):
    """Result of :func:`isotonic_regression`: SciPy's ``x``, ``weights`` and ``blocks``.

    A pytree; under ``jit``/``vmap`` ``weights`` (length ``n``) and ``blocks`` (length
    ``n + 1``) are fixed-capacity buffers padded with ``nan`` and ``-1`` past the last block;
    an eager call trims them to SciPy's lengths.
    """

    x: Array | np.ndarray | Any
    weights: Array | np.ndarray | Any
    blocks: Array | np.ndarray | Any

    def __repr__(self) -> str:
        return format_fields([(k, getattr(self, k)) for k in self.keys()])


def _pava(y: Array, w: Array) -> tuple[Array, Array]:
    """Block id of each point (non-decreasing fit) and the number of blocks."""
    n = y.shape[0]
    itype = jnp.asarray(np.intp(0)).dtype

    def push(k, stack):
        mean, wt, start, top = stack
        mean, wt, start = mean.at[top].set(y[k]), wt.at[top].set(w[k]), start.at[top].set(k)

        def violated(s):
            mean, _, _, t = s
            return (t > 0) & (mean[t - 1] >= mean[t])

        def merge(s):
            mean, wt, start, t = s
            w_sum = wt[t - 1] + wt[t]
            m = (wt[t - 1] * mean[t - 1] + wt[t] * mean[t]) / w_sum
            return mean.at[t - 1].set(m), wt.at[t - 1].set(w_sum), start, t - 1

        mean, wt, start, top = lax.while_loop(violated, merge, (mean, wt, start, top))
        return mean, wt, start, top + 1

    init = (jnp.zeros_like(y), jnp.zeros_like(w), jnp.zeros((n,), itype), jnp.asarray(0, itype))
    _, _, start, n_blocks = lax.fori_loop(0, n, push, init)
    start = jnp.where(jnp.arange(n) < n_blocks, start, n)
    block_id = jnp.searchsorted(start, jnp.arange(n), side="right") - 1
    return block_id, n_blocks


@jax.jit
def _fit(y: Array, w: Array, sign: Array) -> tuple[Array, Array, Array, Array]:
    """Fitted values, padded block weights and starts, and the number of blocks."""
    n = y.shape[0]
    itype = jnp.asarray(np.intp(0)).dtype
    block_id, n_blocks = _pava(lax.stop_gradient(sign * y), lax.stop_gradient(w))
    w_block = jax.ops.segment_sum(w, block_id, num_segments=n)
    wy_block = jax.ops.segment_sum(w * y, block_id, num_segments=n)
    valid = jnp.arange(n) < n_blocks
    mean = wy_block / jnp.where(valid, w_block, 1.0)
    x = mean[block_id]
    first = jnp.concatenate([jnp.ones((1,), bool), block_id[1:] != block_id[:-1]])
    starts = jnp.nonzero(first, size=n, fill_value=-1)[0].astype(itype)
    blocks = jnp.concatenate([starts, jnp.full((1,), -1, itype)])
    blocks = blocks.at[n_blocks].set(n)
    return x, jnp.where(valid, w_block, jnp.nan), blocks, n_blocks


def isotonic_regression(y: ArrayLike, *, weights: ArrayLike | None = None,
                        increasing: bool = True) -> IsotonicResult:
    """Nonparametric isotonic regression.

    Mirrors :func:`scipy.optimize.isotonic_regression`: the monotone sequence ``x`` minimising
    ``sum(weights * (y - x)**2)`` subject to ``x[i] <= x[i+1]`` (``>=`` with
    ``increasing=False``), by the pool-adjacent-violators algorithm, SciPy's algorithm.

    Parameters
    ----------
    y : array_like, shape (n,)
        The data.
    weights : array_like, shape (n,), optional
        Strictly positive case weights (default all ones).
    increasing : bool, optional
        Fit a non-decreasing (True) or non-increasing (False) sequence.

    Returns
    -------
    IsotonicResult
        ``x`` (the fit, shape ``(n,)``), ``weights`` (the total weight of each block) and
        ``blocks`` (the start of each block followed by ``n``, so block ``i`` is
        ``x[blocks[i]:blocks[i+1]]``), as SciPy's result.

    Raises
    ------
    ValueError
        ``y`` is not 1-D, ``weights`` has another length, or (eagerly) a weight is not
        strictly positive.

    Differences from SciPy
    ----------------------
    - Runs under ``jax.jit`` and ``jax.vmap``; there the number of blocks is data dependent,
      so ``weights`` and ``blocks`` are padded (``nan``, ``-1``) to lengths ``n`` and ``n + 1``
      (eager calls trim them, as SciPy, and return NumPy arrays). The positivity check of ``weights`` runs only on
      concrete values.
    - Precision follows ``y``: float32 data give a float32 fit (SciPy always returns float64);
      integer data give the default float.
    - ``jax.grad`` of ``x`` with respect to ``y`` and ``weights`` is defined: each fitted value
      is its block's weighted mean, with the blocks held fixed (the derivative almost
      everywhere).

    Examples
    --------
    >>> from scijax.solvers.optimize import isotonic_regression
    >>> res = isotonic_regression([3.0, 1.0, 2.0, 2.0, 5.0], weights=[1.0, 2.0, 1.0, 1.0, 1.0])
    >>> res.x.round(3).tolist(), res.weights.tolist(), res.blocks.tolist()
    ([1.667, 1.667, 2.0, 2.0, 5.0], [3.0, 2.0, 1.0], [0, 2, 4, 5])
    """
    y = jnp.atleast_1d(jnp.asarray(y))
    if y.ndim != 1:
        raise ValueError(f"array has incorrect number of dimensions: {y.ndim}; expected 1 (`y`).")
    if not jnp.issubdtype(y.dtype, jnp.floating):
        y = y.astype(jnp.asarray(0.0).dtype)
    n = y.shape[0]
    w = jnp.ones_like(y) if weights is None else jnp.atleast_1d(jnp.asarray(weights, y.dtype))
    if w.shape != (n,):
        raise ValueError("Input arrays y and w must have one dimension of equal length (`y`, `weights`).")
    if weights is not None and is_concrete(w) and bool(jnp.any(w <= 0)):
        raise ValueError("Weights w must be strictly positive (`weights`).")
    itype = jnp.asarray(np.intp(0)).dtype
    if n == 0:
        return IsotonicResult(x=np.asarray(y), weights=np.asarray(w), blocks=np.zeros((1,), itype))
    x, w_block, blocks, n_blocks = _fit(y, w, jnp.asarray(1.0 if increasing else -1.0, y.dtype))
    if is_concrete(x, n_blocks):  # eager: NumPy arrays of SciPy's lengths
        k = int(n_blocks)
        return IsotonicResult(x=np.asarray(x), weights=np.asarray(w_block[:k]),
                              blocks=np.asarray(blocks[: k + 1]))
    return IsotonicResult(x=x, weights=w_block, blocks=blocks)
