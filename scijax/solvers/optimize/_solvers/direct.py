"""DIRECT (Jones, Perttunen and Stuckman 1993) and DIRECT-L (Gablonsky and Kelley 2001): the engine.

The bookkeeping of the hyperrectangles (centres in the unit cube, the trisection level of every
side, the function values) is host-side NumPy; the function values come from a batched
``evaluate(points) -> values`` supplied by the facade, called once per iteration with the new
sample points of *every* potentially optimal rectangle of that iteration.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

__all__ = ["DirectOutcome", "direct_search"]
TIE_TOL = 1e-13  # DIRECT divides every rectangle of a selected size within this of the size's lowest value


class DirectOutcome(NamedTuple):
    x: np.ndarray  # the best centre, in the unit cube
    fun: float
    status: int  # 1 maxfun, 2 maxiter, 3 f_min reached, 4 vol_tol, 5 len_tol
    nfev: int
    nit: int


class _Boxes:
    """Growable arrays of rectangles: centre ``c``, side levels ``lev`` (side ``3**-lev``) and ``f``."""

    def __init__(self, n: int) -> None:
        self.c = np.empty((0, n))
        self.lev = np.empty((0, n), np.int64)
        self.f = np.empty(0)
        self.stamp = np.empty(0, np.int64)  # when each entered its size group (ties go by it)
        self.clock = 0

    def tick(self, k: int) -> np.ndarray:
        self.clock += k
        return np.arange(self.clock - k, self.clock)

    def add(self, c: np.ndarray, lev: np.ndarray, f: np.ndarray, stamp: np.ndarray | None = None) -> None:
        self.c = np.concatenate([self.c, c])
        self.lev = np.concatenate([self.lev, lev])
        self.f = np.concatenate([self.f, f])
        self.stamp = np.concatenate([self.stamp, self.tick(f.size) if stamp is None else stamp])


def _effective(f: np.ndarray) -> np.ndarray:
    """Non-finite values (points where the function is undefined) rank just above the worst finite one."""
    finite = np.isfinite(f)
    if not finite.any():
        return np.zeros_like(f)
    return np.where(finite, f, f[finite].max() + 1.0)


def _size(lev: np.ndarray, locally_biased: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(group key, size measure d)``: half the longest side (DIRECT-L) or half the diagonal (DIRECT).

    (SciPy's ``len_tol`` test for DIRECT-L compares the whole longest side, ``2 d``: see ``direct_search``.)

    Sides only ever differ by one level, so ``(min level, how many sides at it)`` fixes the diagonal.
    """
    n = lev.shape[1]
    k = lev.min(axis=1)
    if locally_biased:
        return k, 0.5 * 3.0 ** (-k.astype(float))
    p = (lev == k[:, None]).sum(axis=1)
    d = 0.5 * np.sqrt(p * 9.0 ** (-k.astype(float)) + (n - p) * 9.0 ** (-(k + 1).astype(float)))
    return k * (n + 1) + (n - p), d


def _potentially_optimal(boxes: _Boxes, eps: float, locally_biased: bool) -> np.ndarray:
    """Indices of the rectangles to divide.

    Per size group, the lowest rectangle (the earliest to join the group on ties) is a candidate.
    Jones' test asks for one slope ``K > 0`` with ``f_j - K d_j`` lowest among all groups and at
    most ``f_min - eps |f_min|``. As in Gablonsky's code that SciPy wraps (we matched its sequences
    of evaluations), a candidate is kept when every larger group is higher (``K`` can be positive)
    and the ``eps`` test holds with the largest admissible ``K`` (the least slope to a larger group,
    or, when the smaller groups demand more, their greatest slope). DIRECT (not DIRECT-L) then
    takes every rectangle of a kept size within ``TIE_TOL`` of its lowest value.
    """
    f = _effective(boxes.f)
    key, d = _size(boxes.lev, locally_biased)
    order = np.lexsort((boxes.stamp, f, key))  # by size group, then f, then time in the group
    first = np.ones(order.size, bool)
    first[1:] = key[order][1:] != key[order][:-1]
    heads = order[first]  # the lowest rectangle of each size
    dh, fh = d[heads], f[heads]
    fmin = f.min()
    chosen = []
    for j in range(heads.size):
        smaller, larger = dh < dh[j], dh > dh[j]
        low = np.max((fh[j] - fh[smaller]) / (dh[j] - dh[smaller])) if smaller.any() else -np.inf
        if larger.any():
            up = np.min((fh[larger] - fh[j]) / (dh[larger] - dh[j]))
            k = up if low <= up else low
            if up <= 0 or fh[j] - k * dh[j] > fmin - eps * abs(fmin):
                continue
        chosen.append(heads[j])
    chosen = np.array(chosen, np.int64)
    if not locally_biased and chosen.size:  # DIRECT takes every rectangle tied with its group's head
        ck = key[chosen]  # distinct and sorted (heads come in group order)
        pos = np.clip(np.searchsorted(ck, key), 0, ck.size - 1)
        target = np.where(ck[pos] == key, f[chosen][pos], np.nan)
        chosen = np.flatnonzero(np.abs(f - target) <= TIE_TOL)
    return np.sort(chosen)


def _samples(c: np.ndarray, lev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points ``c +- delta e_i`` along the longest sides of one rectangle: ``(dims, delta, points)``."""
    k = lev.min()
    dims = np.flatnonzero(lev == k)
    delta = 3.0 ** (-(k + 1))
    eye = np.eye(c.size)[dims] * delta
    return dims, delta, np.concatenate([c + eye, c - eye])  # (+ for every dim, then - for every dim)


def _divide(lev: np.ndarray, dims: np.ndarray, f_new: np.ndarray, points: np.ndarray) -> tuple:
    """Trisect a rectangle with levels ``lev`` along ``dims``, the dimension with the best sample
    first (so its children are the largest). Returns the children ``(c, lev, f)`` and the new ``lev``."""
    m = dims.size
    f_plus, f_minus = f_new[:m], f_new[m:]
    w = np.minimum(_effective_pair(f_plus), _effective_pair(f_minus))
    lev = lev.copy()
    new_c, new_lev, new_f = [], [], []
    for r in np.argsort(w, kind="stable"):
        lev[dims[r]] += 1
        new_c += [points[r], points[m + r]]
        new_lev += [lev.copy(), lev.copy()]
        new_f += [f_plus[r], f_minus[r]]
    return new_c, new_lev, new_f, lev


def _effective_pair(f: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(f), f, np.inf)


def direct_search(evaluate: Callable[[np.ndarray], np.ndarray], n: int, *, eps: float, maxfun: int, maxiter: int,
                  locally_biased: bool, f_min: float, f_min_rtol: float, vol_tol: float, len_tol: float,
                  callback: Callable[[np.ndarray], object] | None = None) -> DirectOutcome:
    """Run DIRECT on the unit cube; ``evaluate`` maps points of shape ``(m, n)`` to values ``(m,)``."""
    boxes = _Boxes(n)
    centre = np.full((1, n), 0.5)
    boxes.add(centre, np.zeros((1, n), np.int64), evaluate(centre))
    nfev = 1

    def split(idx: np.ndarray) -> int:
        plans = [_samples(boxes.c[i], boxes.lev[i]) for i in idx]
        points = np.concatenate([p[2] for p in plans])
        values = evaluate(points)
        at = 0
        cs, levs, fs, stamps = [], [], [], []
        for i, (dims, _, pts) in zip(idx, plans, strict=True):
            c, lv, fv, parent = _divide(boxes.lev[i], dims, values[at:at + pts.shape[0]], pts)
            at += pts.shape[0]
            boxes.lev[i] = parent
            cs += c
            levs += lv
            fs += fv
            stamps.append(boxes.tick(len(fv)))
            boxes.stamp[i] = boxes.tick(1)[0]  # the divided rectangle joins its new size group last
        boxes.add(np.array(cs), np.array(levs), np.array(fs), np.concatenate(stamps))
        return points.shape[0]

    nfev += split(np.array([0]))
    divisions = 0
    while True:
        # Stopping tests after every division, then the callback (SciPy's order); ``nit`` counts the
        # initial trisection as an iteration, and ``maxiter`` allows ``maxiter - 2`` divisions, as SciPy's.
        f = _effective(boxes.f)
        best = int(np.argmin(f))
        fbest = boxes.f[best]
        status = 0
        if np.isfinite(f_min) and (fbest - f_min) / (abs(f_min) if f_min != 0 else 1.0) <= f_min_rtol:
            status = 3
        elif np.prod(3.0 ** (-boxes.lev[best].astype(float))) <= vol_tol:
            status = 4
        elif _size(boxes.lev[best:best + 1], locally_biased)[1][0] * (2.0 if locally_biased else 1.0) <= len_tol:
            # DIRECT-L: the longest side itself (not half of it, as SciPy's docstring says) is
            # what SciPy's stopping test compares with ``len_tol``; its iteration counts agree.
            status = 5
        elif nfev > maxfun:
            status = 1
        if status:
            nit = divisions + 1
            break
        if callback is not None and divisions > 0:
            callback(boxes.c[best])
        if divisions + 2 >= max(maxiter, 2):
            status, nit = 2, max(maxiter, 2)
            break
        nfev += split(_potentially_optimal(boxes, eps, locally_biased))
        divisions += 1
    return DirectOutcome(boxes.c[best], float(boxes.f[best]), status, nfev, nit)
