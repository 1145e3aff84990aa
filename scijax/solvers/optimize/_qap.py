"""``scipy.optimize.quadratic_assignment``: FAQ (Frank-Wolfe on the Birkhoff polytope) and 2-opt.

FAQ (Vogelstein et al., "Fast approximate quadratic programming for graph matching", PLoS ONE
2015, Algorithm 1; seeds as in Fishkind et al., "Seeded graph matching", Pattern Recognition
2019) relaxes the permutation matrix ``P`` to a doubly stochastic one and runs Frank-Wolfe on
``f(P) = trace(A^T P B P^T)``: the linear subproblem over the polytope is a linear assignment
problem on the gradient, the step is an exact line search of the quadratic ``f`` along the
segment, and the final ``P`` is projected onto the permutations by another assignment. 2-opt
is a first-improvement local search over pairwise swaps of the permutation. Both loops are
``lax`` loops, so they run under ``jit`` and ``vmap`` over ``A`` and ``B``.
"""

import itertools
import operator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete
from .._display import format_fields
from ._assignment import assign_rows
from ._result import ResultFields

__all__ = ["quadratic_assignment", "QAPResult"]


class QAPResult(ResultFields):
    """Result of :func:`quadratic_assignment`: SciPy's ``col_ind``, ``fun`` and ``nit``.

    A pytree (passes through ``jit``/``vmap``) with SciPy's dict-style access.
    """

    col_ind: Array | np.ndarray | Any
    fun: Array | np.ndarray | Any
    nit: Array | np.ndarray | Any

    def __repr__(self) -> str:
        return format_fields([(k, getattr(self, k)) for k in self.keys()])

_FAQ_OPTIONS = {"maximize", "partial_match", "rng", "P0", "shuffle_input", "maxiter", "tol"}
_TWO_OPT_OPTIONS = {"maximize", "rng", "partial_match", "partial_guess"}


def _score(A: Array, B: Array, perm: Array) -> Array:
    """``trace(A^T P B P^T)`` for the permutation ``P[i, perm[i]] = 1``."""
    return jnp.sum(A * B[perm][:, perm])


def _doubly_stochastic(M: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Sinkhorn-Knopp balancing of a positive matrix (host side, for ``P0='randomized'``)."""
    for _ in range(1000):
        M = M / M.sum(axis=1, keepdims=True)
        M = M / M.sum(axis=0, keepdims=True)
        if np.abs(M.sum(axis=1) - 1).max() < tol:
            break
    return M


@jax.jit(static_argnames=("n_seeds",))
def _faq_core(A: Array, B: Array, P0: Array, n_seeds: int, sign: Array, maxiter: Array, tol: Array):
    """Frank-Wolfe iterations on the unseeded block; returns ``(col of each unseeded row, nit)``."""
    s = n_seeds
    A12, A21, A22 = A[:s, s:], A[s:, :s], A[s:, s:]
    B12, B21, B22 = B[:s, s:], B[s:, :s], B[s:, s:]
    const = A21 @ B21.T + A12.T @ B12
    m = A22.shape[0]

    def cond(c):
        return (c[1] < maxiter) & ~c[2]

    def body(c):
        P, k, _ = c
        grad = const + A22 @ P @ B22.T + A22.T @ P @ B22
        cols, _ = assign_rows(sign * grad)  # minimise (or maximise) the linearisation
        Q = jax.nn.one_hot(cols, m, dtype=P.dtype)
        R = Q - P
        a = jnp.sum(A22 * (R @ B22 @ R.T))  # f(P + t R) = f(P) + b t + a t^2
        b = jnp.sum(grad * R)
        t_star = -b / jnp.where(a == 0, 1.0, 2 * a)
        interior = (a * sign > 0) & (t_star >= 0) & (t_star <= 1)
        t = jnp.where(interior, t_star, jnp.where((a + b) * sign <= 0, 1.0, 0.0))
        P_new = P + t * R
        done = jnp.linalg.norm(P_new - P) / jnp.sqrt(m) < tol
        return P_new, k + 1, done

    P, nit, _ = lax.while_loop(cond, body, (P0, jnp.asarray(0), jnp.asarray(False)))
    cols, _ = assign_rows(-P)  # nearest permutation: maximise <P, Q>
    return cols, nit


@jax.jit
def _two_opt_core(A: Array, B: Array, perm0: Array, pairs: Array, n_pairs: Array, sign: Array):
    """First-improvement pairwise swaps over ``pairs[:n_pairs]`` (free ``i <= j``, in order)."""

    def cond(c):
        return c[2] < n_pairs

    def body(c):
        perm, best, k, nit = c
        i, j = pairs[k, 0], pairs[k, 1]
        trial = perm.at[i].set(perm[j]).at[j].set(perm[i])
        score = _score(A, B, trial)
        improved = sign * score < sign * best
        perm = jnp.where(improved, trial, perm)
        best = jnp.where(improved, score, best)
        return perm, best, jnp.where(improved, 0, k + 1), nit + 1

    best0 = _score(A, B, perm0)
    perm, best, _, nit = lax.while_loop(cond, body, (perm0, best0, jnp.asarray(0), jnp.asarray(0)))
    return perm, best, nit


def _pairs(value: Any, n: int, name: str) -> np.ndarray:
    """Validate an ``(m, 2)`` array of node pairs, with SciPy's messages."""
    if value is None:
        return np.zeros((0, 2), int)
    arr = np.atleast_2d(np.asarray(value)).astype(int)
    if arr.size == 0:
        return np.zeros((0, 2), int)
    what = "seeds" if name == "partial_match" else "entries"
    if arr.shape[0] > n:
        raise ValueError(f"`{name}` can have only as many {what} as there are nodes")
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must have exactly two dimensions")
    if arr.shape[1] != 2:
        raise ValueError(f"`{name}` must have two columns")
    if (arr < 0).any():
        raise ValueError(f"`{name}` must contain only positive indices")
    if (arr >= n).any():
        raise ValueError(f"`{name}` entries must be less than number of nodes")
    if len(set(arr[:, 0])) != len(arr) or len(set(arr[:, 1])) != len(arr):
        raise ValueError(f"`{name}` column entries must be unique")
    return arr


def _generator(rng: Any) -> Any:
    """A NumPy generator from ``None``, an int, a ``Generator`` or a legacy ``RandomState``."""
    return rng if isinstance(rng, np.random.RandomState) else np.random.default_rng(rng)


def _faq(A, B, n, maximize=False, partial_match=None, rng=None, P0="barycenter", shuffle_input=False,
         maxiter=30, tol=0.03):
    maxiter = operator.index(maxiter)
    if maxiter <= 0:
        raise ValueError("'maxiter' must be a positive integer")
    if is_concrete(tol) and not float(tol) > 0:
        raise ValueError("'tol' must be a positive float")
    if isinstance(P0, str) and P0 not in ("barycenter", "randomized"):
        raise ValueError("Invalid 'P0' parameter string")
    seeds = _pairs(partial_match, n, "partial_match")
    s = seeds.shape[0]
    m = n - s
    gen = _generator(rng)
    rest_A = np.setdiff1d(np.arange(n), seeds[:, 0])
    rest_B = np.setdiff1d(np.arange(n), seeds[:, 1])
    if isinstance(P0, str):
        J = np.full((m, m), 1.0 / max(m, 1))
        P0 = J if P0 == "barycenter" else (J + _doubly_stochastic(gen.uniform(size=(m, m)))) / 2
    else:
        P0 = jnp.asarray(P0)
        if P0.shape != (m, m):
            raise ValueError("`P0` matrix must have shape m' x m', where m'=n-m")
        if is_concrete(P0) and (bool(jnp.any(P0 < 0)) or not np.allclose(P0.sum(0), 1)
                                or not np.allclose(P0.sum(1), 1)):
            raise ValueError("`P0` matrix must be doubly stochastic")
    if shuffle_input:  # drawn after P0, in SciPy's order
        rest_B = gen.permutation(rest_B)
    order_A = np.concatenate([seeds[:, 0], rest_A]).astype(int)
    order_B = np.concatenate([seeds[:, 1], rest_B]).astype(int)
    perm = np.zeros(n, int)
    perm[seeds[:, 0]] = seeds[:, 1]
    if m == 0:
        return jnp.asarray(perm), jnp.asarray(0)
    Ao, Bo = A[order_A][:, order_A], B[order_B][:, order_B]
    sign = jnp.asarray(-1.0 if maximize else 1.0, A.dtype)
    cols, nit = _faq_core(Ao, Bo, jnp.asarray(P0, A.dtype), n_seeds=s, sign=sign, maxiter=jnp.asarray(maxiter),
                          tol=jnp.asarray(tol, A.dtype))
    full = jnp.zeros(n, cols.dtype).at[jnp.asarray(order_A)].set(
        jnp.asarray(order_B)[jnp.concatenate([jnp.arange(s), cols + s])])
    return full, nit


def _two_opt(A, B, n, maximize=False, rng=None, partial_match=None, partial_guess=None):
    fixed = _pairs(partial_match, n, "partial_match")
    guess = _pairs(partial_guess, n, "partial_guess")
    gen = _generator(rng)
    perm = np.zeros(n, int)
    rows_set = np.zeros(n, bool)
    cols_set = np.zeros(n, bool)
    perm[guess[:, 0]] = guess[:, 1]
    rows_set[guess[:, 0]], cols_set[guess[:, 1]] = True, True
    perm[fixed[:, 0]] = fixed[:, 1]
    is_fixed = np.zeros(n, bool)
    is_fixed[fixed[:, 0]] = True
    rows_set[fixed[:, 0]], cols_set[fixed[:, 1]] = True, True
    perm[~rows_set] = gen.permutation(np.arange(n)[~cols_set])
    free = np.arange(n)[~is_fixed]
    if free.size == 0:
        return jnp.asarray(perm), jnp.asarray(0)
    pairs = np.array(list(itertools.combinations_with_replacement(free, 2)), int).reshape(-1, 2)
    padded = np.zeros((n * (n + 1) // 2, 2), int)  # one compiled loop per n, whatever is fixed
    padded[: len(pairs)] = pairs
    perm, _, nit = _two_opt_core(A, B, jnp.asarray(perm), jnp.asarray(padded), jnp.asarray(len(pairs)),
                                 jnp.asarray(-1.0 if maximize else 1.0, A.dtype))
    return perm, nit


_METHODS = {"faq": (_faq, _FAQ_OPTIONS), "2opt": (_two_opt, _TWO_OPT_OPTIONS)}


def quadratic_assignment(A: ArrayLike, B: ArrayLike, method: str = "faq",
                         options: dict | None = None) -> QAPResult:
    """Approximate the quadratic assignment (graph matching) problem.

    Mirrors :func:`scipy.optimize.quadratic_assignment`: find a permutation ``col_ind``
    (node ``i`` of ``A`` goes to node ``col_ind[i]`` of ``B``) minimising (or, with
    ``maximize=True``, maximising) ``trace(A^T P B P^T) = (A * B[col_ind][:, col_ind]).sum()``.

    Parameters
    ----------
    A, B : array_like, shape (n, n)
        Square matrices of the same shape.
    method : {'faq', '2opt'}, optional
        ``'faq'``: the Fast Approximate QAP algorithm (Frank-Wolfe on the doubly stochastic
        relaxation, linear subproblems solved by :func:`linear_sum_assignment`, then projected
        onto the permutations). ``'2opt'``: first-improvement pairwise-swap local search.
    options : dict, optional
        ``'faq'``: ``maximize`` (False), ``partial_match`` (``(m, 2)`` seed pairs), ``rng``,
        ``P0`` (``'barycenter'``, ``'randomized'`` or an ``(n-m, n-m)`` doubly stochastic
        array), ``shuffle_input`` (False), ``maxiter`` (30), ``tol`` (0.03).
        ``'2opt'``: ``maximize``, ``rng``, ``partial_match``, ``partial_guess`` (``(m, 2)`` pairs
        for the initial permutation; the rest is random). Unknown options raise ``ValueError``.

    Returns
    -------
    QAPResult
        ``col_ind`` (the permutation), ``fun`` (its objective) and ``nit`` (FAQ iterations, or
        swaps tried by 2-opt).

    Differences from SciPy
    ----------------------
    - ``A`` and ``B`` are traced: the solve runs under ``jax.jit`` and ``jax.vmap``. The options
      are static (``partial_match``, ``partial_guess`` and ``rng`` are read on the host). An eager
      call returns NumPy values (``fun`` a NumPy scalar, ``nit`` an int), as SciPy's result.
    - An unknown option raises ``ValueError`` (SciPy warns and ignores it); SciPy's warnings
      about ``RandomState`` and the global NumPy seed are not emitted.
    - ``rng`` (``None``, an int, a ``numpy.random.Generator`` or a ``RandomState``) drives a
      NumPy generator on the host, drawn in SciPy's order: 2-opt's random start and
      ``shuffle_input`` use the same permutations as SciPy from the same generator state, so they
      reproduce SciPy's results (SciPy's own accuracy tests pass with their seeded generators);
      ``P0='randomized'`` balances the same uniform draws with our own Sinkhorn iteration, so its
      start can differ from SciPy's in the last digits.
    - Ties in the linear assignment subproblems may be broken differently from SciPy.
    - The permutation is piecewise constant: ``col_ind`` has no derivative, but ``fun`` is
      differentiable in ``A`` and ``B`` at a fixed permutation.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import quadratic_assignment
    >>> A = jnp.array([[0., 5, 8, 6], [5, 0, 5, 1], [8, 5, 0, 2], [6, 1, 2, 0]])
    >>> B = jnp.array([[0., 1, 8, 4], [1, 0, 5, 2], [8, 5, 0, 5], [4, 2, 5, 0]])
    >>> res = quadratic_assignment(A, B, method="2opt", options={"partial_guess": [[0, 0], [1, 1], [2, 2], [3, 3]]})
    >>> float(res.fun), res.col_ind.tolist()   # SciPy's answer on the same problem
    (178.0, [1, 3, 0, 2])
    """
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {sorted(_METHODS)}; got {method!r}.")
    run, allowed = _METHODS[method]
    options = dict(options or {})
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"Unknown `options` for method {method!r}: {sorted(unknown)}.")
    A, B = jnp.asarray(A), jnp.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError("`A` and `B` must have exactly two dimensions")
    if A.shape[0] != A.shape[1]:
        raise ValueError("`A` must be square")
    if B.shape[0] != B.shape[1]:
        raise ValueError("`B` must be square")
    if A.shape != B.shape:
        raise ValueError("`A` and `B` matrices must be of equal size")
    dtype = jnp.result_type(A.dtype, B.dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.asarray(0.0).dtype
    A, B = A.astype(dtype), B.astype(dtype)
    if is_concrete(A, B) and not bool(jnp.all(jnp.isfinite(A)) & jnp.all(jnp.isfinite(B))):
        raise ValueError("`A` and `B` must contain only finite numbers")
    perm, nit = run(lax.stop_gradient(A), lax.stop_gradient(B), A.shape[0], **options)
    fun = _score(A, B, perm)
    if is_concrete(A, B):  # eager: NumPy values, as SciPy's result
        return QAPResult(col_ind=np.asarray(perm), fun=np.asarray(fun)[()], nit=int(nit))
    return QAPResult(col_ind=perm, fun=fun, nit=nit)
