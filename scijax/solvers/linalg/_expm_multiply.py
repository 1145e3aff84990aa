"""``expm_multiply`` (Al-Mohy & Higham 2011), and ``onenormest``, ``norm``, ``matrix_power`` of
:mod:`scipy.sparse.linalg`.

``expm_multiply`` computes ``exp(t A) B`` by a truncated Taylor series of degree ``m`` applied ``s``
times (``B <- T_m(t A / s) B``), after shifting ``A`` by ``mu = trace(A) / n``; ``(m, s)`` minimise
the number of products ``m s`` subject to the backward-error bound of the paper's Table A.3
(``theta_m``, unit roundoff ``2**-53``) through ``alpha_p = max(d_p, d_{p+1})``,
``d_p = ||A^p||_1^{1/p}`` (its Section 3), and each Taylor series stops early once two successive
terms are negligible (its Algorithm 3.2). The loops are ``lax.while_loop`` s, so ``(m, s)`` may be
traced values.
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

from ..._concrete import is_concrete
from ..._typing import Array
from ._eigen_common import dense_of, to_operator
from ._operator import LinearOperator

__all__ = ["expm_multiply", "onenormest", "norm", "matrix_power"]

# Al-Mohy & Higham (2011), Table A.3: theta_m for the double-precision unit roundoff 2**-53.
_M = np.array(list(range(1, 31)) + [35, 40, 45, 50, 55])
_THETA = np.array([2.29e-16, 2.58e-8, 1.39e-5, 3.40e-4, 2.40e-3, 9.07e-3, 2.38e-2, 5.00e-2, 8.96e-2, 1.44e-1,
                   2.14e-1, 3.00e-1, 4.00e-1, 5.14e-1, 6.41e-1, 7.81e-1, 9.31e-1, 1.09, 1.26, 1.44, 1.62, 1.82,
                   2.01, 2.22, 2.43, 2.64, 2.86, 3.08, 3.31, 3.54, 4.7, 6.0, 7.2, 8.5, 9.9])
_P_MAX = 8  # the largest p with p (p - 1) <= m_max + 1 for m_max = 55


def _parameters(Ad: Array, t: Array) -> tuple[Array, Array]:
    """``(m, s)`` from ``alpha_p`` of ``t A`` (exact ``||A^p||_1`` on the dense matrix)."""
    def power_norms(carry, _):
        P = carry @ Ad
        return P, jnp.max(jnp.sum(jnp.abs(P), axis=0))

    n1 = jnp.max(jnp.sum(jnp.abs(Ad), axis=0))
    _, norms = jax.lax.scan(power_norms, Ad, None, length=_P_MAX)  # ||A^p||_1, p = 2 .. p_max + 1
    p = jnp.arange(2, _P_MAX + 2)
    at = jnp.abs(t)
    d = jnp.where(norms > 0, (norms * at ** p) ** (1.0 / p), 0.0)
    alpha = jnp.maximum(d[:-1], d[1:])  # p = 2 .. p_max
    pp = np.arange(2, _P_MAX + 1)
    allowed = _M[None, :] >= pp[:, None] * (pp[:, None] - 1) - 1
    cost = _M[None, :] * jnp.ceil(alpha[:, None] / _THETA[None, :])
    cost = jnp.where(allowed, cost, jnp.inf)
    # the simpler bound through ||t A||_1 (used by the paper when it is small enough) may be cheaper
    cost1 = _M * jnp.ceil(n1 * at / _THETA)
    best = jnp.minimum(jnp.min(cost, axis=0), cost1)
    i = jnp.argmin(best)
    m = jnp.asarray(_M)[i]
    s = jnp.maximum(jnp.ceil(best[i] / m), 1)
    zero = n1 * at == 0
    return jnp.where(zero, 0, m).astype(jnp.int32), jnp.where(zero, 1, s).astype(jnp.int32)


def _taylor(matmat: Any, B: Array, t: Array, mu: Array, m: Array, s: Array) -> Array:
    """Algorithm 3.2: ``s`` stages of the degree-``m`` Taylor series with early termination."""
    tol = jnp.finfo(B.dtype).eps / 2
    eta = jnp.exp(t * mu / s)

    def stage(_, F):
        def cond(c):
            j, _, _, _, done = c
            return (j <= m) & ~done

        def term(c):
            j, Bj, F, c1, _ = c
            Bj = t * matmat(Bj) / (s * j)
            c2 = jnp.max(jnp.sum(jnp.abs(Bj), axis=0))
            F = F + Bj
            done = c1 + c2 <= tol * jnp.max(jnp.sum(jnp.abs(F), axis=0))
            return j + 1, Bj, F, c2, done

        c1 = jnp.max(jnp.sum(jnp.abs(F), axis=0))
        _, _, F, _, _ = jax.lax.while_loop(cond, term, (jnp.asarray(1), F, F, c1, jnp.asarray(False)))
        return eta * F

    return jax.lax.fori_loop(0, s, stage, B)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _expm_points(Ad: Array, B: Array, mu: Array, t0: Array, h: Array, q: int) -> Array:
    """``exp(t0 A) B`` and then ``q - 1`` further steps of ``exp(h A)`` (the time grid)."""
    dtype = B.dtype
    As = Ad - mu * jnp.eye(Ad.shape[0], dtype=Ad.dtype)

    def matmat(X):
        return As @ X

    m0, s0 = _parameters(As, t0)
    X0 = _taylor(matmat, B, t0.astype(dtype), mu, m0, s0)
    if q == 1:
        return X0[None]
    mh, sh = _parameters(As, h)

    def step(X, _):
        Y = _taylor(matmat, X, h.astype(dtype), mu, mh, sh)
        return Y, Y

    _, rest = jax.lax.scan(step, X0, None, length=q - 1)
    return jnp.concatenate([X0[None], rest])


def _dense_points(Ad: Array, B: Array, t0: Array, h: Array, q: int) -> Array:
    """The same values through the dense ``expm`` (used for derivatives only)."""
    times = t0 + h * jnp.arange(q)
    return jax.vmap(lambda t: jsl.expm(t * Ad) @ B)(times.astype(Ad.dtype))


@_expm_points.defjvp
def _expm_points_jvp(q: int, primals: tuple, tangents: tuple) -> tuple:
    """Derivatives from the Frechet derivative of the dense ``expm`` (the result does not depend on
    the shift ``mu``); linear in the tangents, so reverse mode transposes it."""
    Ad, B, mu, t0, h = primals
    dA, dB, _, dt0, dh = tangents
    out = _expm_points(Ad, B, mu, t0, h, q)
    _, dout = jax.jvp(lambda a, b, t, hh: _dense_points(a, b, t, hh, q), (Ad, B, t0, h), (dA, dB, dt0, dh))
    return out, dout


@jax.jit(static_argnums=5)
def _run(Ad: Array, B: Array, mu: Array, t0: Array, h: Array, q: int) -> Array:
    """One compiled program per shape; non-finite ``A`` or ``B`` gives NaN (not ``B`` itself)."""
    out = _expm_points(Ad, B, jax.lax.stop_gradient(mu), t0, h, q)
    ok = jnp.all(jnp.isfinite(Ad)) & jnp.all(jnp.isfinite(B)) & jnp.isfinite(mu)
    return jnp.where(ok, out, jnp.nan)


def _materialize(A: Any) -> tuple[LinearOperator, Array]:
    op = to_operator(A, "A")
    if sp.issparse(A):
        return op, jnp.asarray(A.toarray())
    if isinstance(A, jsparse.JAXSparse):
        return op, A.todense()
    if isinstance(A, LinearOperator):
        return op, dense_of(op)
    return op, jnp.asarray(A).astype(op.dtype)


def expm_multiply(A: Any, B: Any, start: Any = None, stop: Any = None, num: int | None = None,
                  endpoint: bool | None = None, traceA: Any = None) -> Array:
    """The action ``exp(t A) B`` of the matrix exponential; mirrors :func:`scipy.sparse.linalg.expm_multiply`.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        Square ``(N, N)``.
    B : array_like
        ``(N,)`` or ``(N, K)``.
    start, stop, num, endpoint : optional
        A time grid as ``numpy.linspace(start, stop, num, endpoint)`` (``num`` defaults to 50,
        ``endpoint`` to True); all ``None`` means the single time ``t = 1``.
    traceA : scalar, optional
        Trace of ``A`` (the shift ``mu = traceA / N``); computed from ``A`` when omitted.

    Returns
    -------
    Array
        ``exp(A) B``, or ``(num, N)`` / ``(num, N, K)`` over the time grid.

    Differences from SciPy
    ----------------------
    - The parameters ``(m, s)`` use the exact ``||A^p||_1`` of the dense matrix (``p <= 9``;
      SciPy estimates them with ``onenormest`` for large ``A``), and take the cheaper of the
      paper's two bounds rather than choosing between them by its condition (3.13); ``A`` is
      materialised densely once for this (``O(N^3)``). Keep ``N`` to a few thousand.
    - A time grid steps from each point to the next by ``exp(h A)`` (one ``(m, s)`` for all
      steps); SciPy's Algorithm 5.2 adapts it per step.
    - The ``theta_m`` table is the double-precision one also for float32 (more terms than needed).
    - No warning for a ``LinearOperator`` without ``traceA``: its trace is read from the dense
      materialisation, not estimated.
    - ``A`` is applied as the dense matrix in the Taylor products too.
    - Derivatives (forward and reverse mode, in ``A``, ``B``, ``start``, ``stop``) come from the
      Frechet derivative of the dense ``expm`` at each time point, ``O(num N^3)``; the loops are
      never differentiated.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import expm_multiply
    >>> A = jnp.array([[1.0, 2.0], [0.0, -1.0]])
    >>> expm_multiply(A, jnp.array([1.0, 1.0])).round(10).tolist()
    [5.0686842157, 0.3678794412]
    """
    op, Ad = _materialize(A)
    n = op.shape[0]
    Bv = jnp.asarray(B.toarray() if sp.issparse(B) else B)
    if Bv.ndim not in (1, 2) or Bv.shape[0] != n:
        raise ValueError(f"`B` must have shape ({n},) or ({n}, K) to match `A`, got {Bv.shape}")
    dtype = jnp.result_type(op.dtype, Bv.dtype, float)
    X = (Bv[:, None] if Bv.ndim == 1 else Bv).astype(dtype)
    Ad = Ad.astype(dtype)
    mu = (jnp.trace(Ad) if traceA is None else jnp.asarray(traceA)).astype(dtype) / n
    real = jnp.finfo(dtype).dtype
    if start is None and stop is None and num is None and endpoint is None:
        out = _run(Ad, X, mu, jnp.asarray(1.0, real), jnp.asarray(0.0, real), 1)[0]
        return out[:, 0] if Bv.ndim == 1 else out
    if start is None or stop is None:
        raise TypeError("`start` and `stop` are both required for a time grid")
    num = 50 if num is None else num
    endpoint = True if endpoint is None else endpoint
    if not isinstance(num, int | np.integer) or num < 1:
        raise ValueError(f"`num` must be a positive integer, got {num!r}")
    if is_concrete(start, stop) and not (np.isfinite(start) and np.isfinite(stop)):
        raise ValueError("`start` and `stop` must be finite")
    start, stop = jnp.asarray(start, real), jnp.asarray(stop, real)
    h = (stop - start) / max(num - 1 if endpoint else num, 1)
    out = _run(Ad, X, mu, start, h, int(num))
    return out[:, :, 0] if Bv.ndim == 1 else out


def onenormest(A: Any, t: int = 2, itmax: int = 5, compute_v: bool = False, compute_w: bool = False) -> Any:
    """The 1-norm of a matrix or operator; mirrors :func:`scipy.sparse.linalg.onenormest`.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO/BCSR or LinearOperator
        Square ``(N, N)``.
    t, itmax : int, optional
        The block size and iteration limit of SciPy's estimator: accepted and unused.
    compute_v, compute_w : bool, optional
        Also return ``v`` (a unit basis vector) and ``w = A v`` with ``||w||_1 = est``.

    Returns
    -------
    est : Array
        ``||A||_1``.
    v, w : Array
        If requested.

    Differences from SciPy
    ----------------------
    Exact: the operator is applied to the ``N`` unit vectors (``A @ I``) instead of running
    Higham & Tisseur's randomised block estimator (whose result is a lower bound, usually equal
    to this). ``O(N)`` products; meant for the sizes the rest of this module handles.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import onenormest
    >>> float(onenormest(jnp.array([[1.0, -4.0], [2.0, 3.0]])))
    7.0
    """
    del t, itmax
    op = to_operator(A, "A")
    cols = jnp.sum(jnp.abs(dense_of(op)), axis=0)
    j = jnp.argmax(cols)
    est = cols[j]
    if not (compute_v or compute_w):
        return est
    v = jnp.zeros(op.shape[1], op.dtype).at[j].set(1)
    out = (est,) + ((v,) if compute_v else ()) + ((op.matvec(v),) if compute_w else ())
    return out


def _as_dense(x: Any, name: str) -> Array:
    if sp.issparse(x):
        return jnp.asarray(x.toarray())
    if isinstance(x, jsparse.JAXSparse):
        return x.todense()
    if isinstance(x, LinearOperator):
        raise TypeError(f"`{name}` must be a matrix, not a LinearOperator")
    return jnp.asarray(x)


def norm(x: Any, ord: Any = None, axis: Any = None) -> Array:
    """Norm of a sparse matrix; mirrors :func:`scipy.sparse.linalg.norm`.

    Parameters
    ----------
    x : scipy.sparse matrix, BCOO/BCSR or array_like
        2-D.
    ord : {None, 'fro', inf, -inf, 1, -1, 2, -2} or int, optional
        As :func:`numpy.linalg.norm` (``None``: Frobenius, or the vector 2-norm along ``axis``).
    axis : int or tuple of int, optional
        Vector norms along one axis, or a matrix norm over two.

    Returns
    -------
    Array

    Differences from SciPy
    ----------------------
    Computed on the dense matrix with ``jnp.linalg.norm`` (differentiable). ``ord=2``/``-2``
    work (SciPy's need ``svds``).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scijax.solvers.linalg import norm
    >>> float(norm(sp.csr_array(np.array([[3.0, 0.0], [0.0, 4.0]]))))
    5.0
    """
    a = _as_dense(x, "x")
    if a.ndim != 2:
        raise ValueError(f"`x` must be 2-D, got shape {a.shape}")
    if axis is None and ord is None:
        return jnp.linalg.norm(a)
    if isinstance(axis, int | np.integer):
        return jnp.linalg.norm(a, ord=ord, axis=int(axis))
    if axis is not None and (not isinstance(axis, tuple) or len(axis) != 2):
        raise ValueError(f"`axis` must be None, an int or a pair of ints, got {axis!r}")
    if ord not in (None, "fro", "nuc", np.inf, -np.inf, 1, -1, 2, -2):
        raise ValueError(f"Invalid norm order '{ord}' for matrices.")
    return jnp.linalg.norm(a, ord=ord, axis=axis)


def matrix_power(A: Any, power: int) -> Array:
    """``A`` raised to a non-negative integer ``power``; mirrors :func:`scipy.sparse.linalg.matrix_power`.

    Differences from SciPy
    ----------------------
    Dense result (``jnp.linalg.matrix_power``, repeated squaring) for every input type; SciPy
    keeps sparse input sparse.

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.linalg import matrix_power
    >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3).tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    a = _as_dense(A, "A")
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise TypeError(f"`A` must be a square 2-D matrix, got shape {a.shape}")
    if not isinstance(power, int | np.integer) or isinstance(power, bool):
        raise TypeError(f"`power` must be an integer, got {power!r}")
    if power < 0:
        raise ValueError("exponent must be >= 0")
    return jnp.linalg.matrix_power(a, int(power))

