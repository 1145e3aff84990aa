"""Host-side pieces of SHGO: sample complexes and their minimiser pools (Endres, Fock & Pogorzelski 2018).

The sampling and the neighbour graphs are NumPy bookkeeping on the host; the objective is evaluated
elsewhere as one batched call per iteration. Points live in the unit cube ``[0, 1]^d``.

* ``'simplicial'``: level 1 is the hypercube's corners plus its centre, the centre joined to every
  corner and the corners joined along the cube's Freudenthal (Kuhn) triangulation; level ``r >= 2``
  is the regular grid with ``2^(r-1) + 1`` points per axis under the Freudenthal triangulation, whose
  edges join a vertex ``v`` to ``v + e_S`` and ``v - e_S`` for every non-empty set ``S`` of axes
  (``e_S`` the sum of the unit steps in ``S``). Each level contains the previous level's points.
* ``'sobol'`` / ``'halton'``: low-discrepancy points from :mod:`scipy.stats.qmc` (Sobol unscrambled,
  Halton scrambled with seed 0),
  joined by their Delaunay triangulation (sorted order in one dimension).

A vertex enters the minimiser pool when its value is finite and strictly lower than every
neighbour's (Endres et al., Definition 3: the star-domain local minimisers of the complex).
"""

import itertools

import numpy as np

__all__ = ["grid_level", "grid_minimisers", "qmc_points", "graph_minimisers"]


def grid_level(d: int, level: int) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """The points of simplicial level ``level`` and the grid's shape (None for level 1)."""
    if level == 1:
        corners = np.array(list(itertools.product((0.0, 1.0), repeat=d)))
        return np.vstack([corners, np.full((1, d), 0.5)]), None
    k = 2 ** (level - 1) + 1
    axes = np.meshgrid(*([np.linspace(0.0, 1.0, k)] * d), indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1), (k,) * d


def _offsets(d: int) -> list[np.ndarray]:
    out = []
    for bits in itertools.product((0, 1), repeat=d):
        if any(bits):
            b = np.array(bits)
            out.extend([b, -b])
    return out


def grid_minimisers(values: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    """Indices of the pool: vertices strictly lower than all their neighbours in the triangulation."""
    f = np.where(np.isfinite(values), values, np.inf)
    if shape is None:  # corners + centre
        d = int(np.log2(f.size - 1))
        corners, centre = f[:-1].reshape((2,) * d), f[-1]
        is_min = _lower_than_neighbours(corners) & (corners < centre)
        pool = [int(i) for i in np.flatnonzero(is_min.ravel())]
        if np.isfinite(centre) and np.all(centre < f[:-1]):
            pool.append(f.size - 1)
        return np.array(pool, dtype=int)
    grid = f.reshape(shape)
    return np.flatnonzero((_lower_than_neighbours(grid) & np.isfinite(grid)).ravel())


def _lower_than_neighbours(grid: np.ndarray) -> np.ndarray:
    d = grid.ndim
    padded = np.pad(grid, 1, constant_values=np.inf)
    ok = np.isfinite(grid)
    for off in _offsets(d):
        shifted = padded[tuple(slice(1 + o, s + 1 + o) for o, s in zip(off, grid.shape, strict=True))]
        ok &= grid < shifted
    return ok


def qmc_points(method: str, d: int, count: int) -> np.ndarray:
    """The first ``count`` Sobol points (unscrambled, rounded up to a power of two) or Halton points
    (scrambled with seed 0, the sequence SciPy's ``shgo`` draws)."""
    from scipy.stats import qmc

    if method == "sobol":
        m = max(0, int(np.ceil(np.log2(max(count, 1)))))
        return qmc.Sobol(d, scramble=False).random_base2(m)
    return qmc.Halton(d, scramble=True, seed=0).random(count)


def graph_minimisers(points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Pool indices of points joined by their Delaunay triangulation (sorted order for ``d == 1``)."""
    f = np.where(np.isfinite(values), values, np.inf)
    n, d = points.shape
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.flatnonzero(np.isfinite(f))
    if d == 1:
        order = np.argsort(points[:, 0], kind="stable")
        fs = np.concatenate([[np.inf], f[order], [np.inf]])
        is_min = (fs[1:-1] < fs[:-2]) & (fs[1:-1] < fs[2:]) & np.isfinite(fs[1:-1])
        return np.sort(order[is_min])
    from scipy.spatial import Delaunay

    try:
        indptr, indices = Delaunay(points).vertex_neighbor_vertices
    except Exception:  # degenerate sets (too few points): every pair is a neighbour
        indptr = np.arange(0, n * n + 1, n)
        indices = np.tile(np.arange(n), n)
    pool = []
    for i in range(n):
        nb = indices[indptr[i]:indptr[i + 1]]
        nb = nb[nb != i]
        if np.isfinite(f[i]) and np.all(f[i] < f[nb]):
            pool.append(i)
    return np.array(pool, dtype=int)
