"""Dense structured solves: ``solve`` (every ``assume_a``), ``solve_banded``, ``inv`` and ``lstsq``.

``solve`` checks its arguments, looks ``assume_a`` up in :data:`STRUCTURES` (SciPy's name -> the
factorisation it names) and calls it. Every factorisation is a JAX primitive with derivative rules,
so gradients with respect to ``a`` and ``b`` and ``vmap`` come for free.
"""

import warnings
from collections.abc import Callable
from typing import Any

import jax.core
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.linalg import LinAlgError, LinAlgWarning

from ..._concrete import is_concrete as _is_concrete
from ..._typing import Array, ArrayLike

__all__ = ["solve", "solve_banded", "inv", "lstsq", "STRUCTURES"]


def _symmetrise(a: Array, lower: bool, hermitian: bool) -> Array:
    """The matrix SciPy's 'sym'/'her'/'pos' solvers see: one triangle, mirrored."""
    tri = jnp.tril(a) if lower else jnp.triu(a)
    strict = jnp.tril(a, -1) if lower else jnp.triu(a, 1)
    other = jnp.conj(strict.T) if hermitian else strict.T
    return tri + other


def _gen(a, b, lower, trans):
    # jnp.linalg.solve is LU with a custom_linear_solve rule: the backward pass reuses the factors.
    return jnp.linalg.solve(a.T if trans else a, b)


def _sym(a, b, lower, trans):
    # JAX has no Bunch-Kaufman LDL^T; LU of the symmetrised triangle solves the same system.
    return jnp.linalg.solve(_symmetrise(a, lower, False), b)


def _her(a, b, lower, trans):
    full = _symmetrise(a, lower, jnp.iscomplexobj(a))
    return jnp.linalg.solve(full.T if trans else full, b)


def _pos(a, b, lower, trans):
    full = _symmetrise(a, lower, jnp.iscomplexobj(a))
    return cho_solve(cho_factor(full, lower=lower), b)  # a^T = a for 'pos' (real) / 'her'


def _diagonal(a, b, lower, trans):
    return b / jnp.diagonal(a)[:, None]


def _tridiagonal(a, b, lower, trans):
    a = a.T if trans else a
    n = a.shape[0]
    dl = jnp.concatenate([jnp.zeros(1, a.dtype), jnp.diagonal(a, -1)]) if n > 1 else jnp.zeros(1, a.dtype)
    du = jnp.concatenate([jnp.diagonal(a, 1), jnp.zeros(1, a.dtype)]) if n > 1 else jnp.zeros(1, a.dtype)
    return jax.lax.linalg.tridiagonal_solve(dl, jnp.diagonal(a), du, b)


def _banded(a, b, lower, trans):
    # The bandwidth of a traced matrix is unknown, so banded systems use the general LU.
    return _gen(a, b, lower, trans)


def _triangular(lower_tri: bool) -> Callable:
    def run(a, b, lower, trans):
        return solve_triangular(a, b, trans=trans, lower=lower_tri)

    return run


STRUCTURES: dict[str, Callable] = {
    "general": _gen,
    "gen": _gen,
    "symmetric": _sym,
    "sym": _sym,
    "hermitian": _her,
    "her": _her,
    "positive definite": _pos,
    "pos": _pos,
    "diagonal": _diagonal,
    "tridiagonal": _tridiagonal,
    "banded": _banded,
    "upper triangular": _triangular(False),
    "lower triangular": _triangular(True),
}
"""SciPy's ``assume_a`` names -> ``solver(a, b2d, lower, trans) -> x2d``."""


def _honest(x: Array, *inputs: Array, what: str = "Matrix is singular") -> Array:
    """A non-finite solution becomes all-NaN. Called eagerly on finite ``inputs``, a singular
    matrix raises ``LinAlgError`` as SciPy does; on non-finite inputs (``check_finite=False``)
    it warns. Under a transformation nothing can be raised: the NaN is the signal.

    The tests are on computed values (never on whether the inputs are tracers): under ``jit``
    an operand closed over is concrete while anything computed from it is traced.
    """
    bad = ~jnp.all(jnp.isfinite(x))
    x = jnp.where(bad, jnp.nan, x)
    if _is_concrete(bad) and bool(bad):
        finite = all(bool(jnp.all(jnp.isfinite(v))) for v in inputs)
        if finite:
            raise LinAlgError(f"{what}.")
        warnings.warn(f"{what} (or not finite): the result is NaN.", LinAlgWarning, stacklevel=3)
    return x


def _inexact(*xs: Array) -> Any:
    dtype = jnp.result_type(*xs)
    return dtype if jnp.issubdtype(dtype, jnp.inexact) else jnp.result_type(float)


def _check_finite(name: str, x: Array, check: bool) -> None:
    if not check:
        return
    finite = jnp.all(jnp.isfinite(x))
    if _is_concrete(finite) and not bool(finite):
        raise ValueError(f"`{name}` must not contain infs or NaNs")


def solve(
    a: ArrayLike,
    b: ArrayLike,
    lower: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    assume_a: str | None = None,
    transposed: bool = False,
) -> Array:
    """Solve ``a @ x = b`` with the factorisation ``assume_a`` names; mirrors :func:`scipy.linalg.solve`.

    Parameters
    ----------
    a : array, shape (..., N, N)
        Square matrix (leading batch dimensions broadcast against ``b``'s).
    b : array, shape (N,), (..., N, K)
        Right-hand side(s).
    lower : bool
        For 'sym', 'her' and 'pos': use only the lower triangle of ``a`` (else the upper).
    overwrite_a, overwrite_b : bool
        Ignored (JAX arrays are immutable).
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` or ``b`` holds inf or NaN.
    assume_a : str, optional
        'gen'/'general' (LU), 'sym'/'symmetric' and 'her'/'hermitian' (LU of the mirrored triangle),
        'pos'/'positive definite' (Cholesky), 'diagonal', 'tridiagonal' (LAPACK ``gtsv``),
        'banded' (general LU), 'upper triangular', 'lower triangular'. ``None`` means 'gen'.
    transposed : bool
        Solve ``a.T @ x = b`` instead.

    Returns
    -------
    array
        ``x``, with ``b``'s shape.

    Differences from SciPy
    ----------------------
    - ``assume_a=None`` does not detect the structure (it cannot for traced ``a``): it is 'gen'.
    - 'sym'/'her' use LU of the mirrored triangle (JAX has no ``?sysv``); 'banded' uses general LU.
    - A singular matrix raises ``LinAlgError`` when called eagerly, as SciPy does. Under
      ``jit``/``vmap``/``grad`` nothing can be raised: ``x`` is then all NaN, so check
      ``jnp.isnan(x).any()``. Non-finite input with ``check_finite=False`` gives NaN with a
      ``LinAlgWarning``. An eager call warns ``LinAlgWarning`` for an ill-conditioned matrix
      (reciprocal 1-norm condition number below machine epsilon, computed exactly on the host
      where SciPy's LAPACK estimates it); under a transformation there is no such warning.
    - A 1x1 (or scalar) ``a`` with a scalar or 1-D ``b`` divides ``b`` entrywise, as SciPy does.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve
    >>> a = jnp.array([[3.0, 2.0, 0.0], [1.0, -1.0, 0.0], [0.0, 5.0, 1.0]])
    >>> solve(a, jnp.array([2.0, 4.0, -1.0])).round(6).tolist()
    [2.0, -2.0, 9.0]
    """
    if assume_a is None:
        assume_a = "gen"
    if assume_a not in STRUCTURES:
        raise ValueError(f"`assume_a`: {assume_a!r} is not a recognized matrix structure; choose from "
                         f"{sorted(set(STRUCTURES))}")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if a.ndim < 2:
        a = jnp.atleast_2d(a)
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"`a` must be square, got shape {a.shape}")
    dtype = _inexact(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    _check_finite("a", a, check_finite)
    _check_finite("b", b, check_finite)
    if a.shape == (1, 1) and b.ndim <= 1:  # SciPy: a scalar ``a`` divides every entry of ``b``
        return _honest(jnp.atleast_1d(b) / a[0, 0], a, b)
    if transposed and jnp.iscomplexobj(a):
        raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b or a^H x = b "
                                  "for complex matrices.")
    b_1d = b.ndim == 1
    b2 = b[:, None] if b_1d else b
    n = a.shape[-1]
    if b2.shape[-2] != n:
        raise ValueError(f"incompatible shapes: `a` {a.shape} and `b` {b.shape}")
    if n == 0 or b2.size == 0:
        return jnp.zeros(b.shape, dtype)
    batch = np.broadcast_shapes(a.shape[:-2], b2.shape[:-2])
    a = jnp.broadcast_to(a, batch + a.shape[-2:]).reshape((-1, n, n))
    b2 = jnp.broadcast_to(b2, batch + b2.shape[-2:]).reshape((-1,) + b2.shape[-2:])
    run = STRUCTURES[assume_a]
    trans = 1 if transposed else 0
    x = jax.vmap(lambda aa, bb: run(aa, bb, lower, trans))(a, b2)
    x = x.reshape(batch + x.shape[-2:])
    x = _honest(x, a, b2)
    if _is_concrete(x):
        _warn_ill_conditioned(a, assume_a, lower)
    return x[..., 0] if b_1d else x


def _warn_ill_conditioned(a: Array, assume_a: str, lower: bool) -> None:
    """SciPy's eager ``LinAlgWarning`` when the reciprocal 1-norm condition number of the matrix the
    structure reads is below machine epsilon. Computed on the host (exactly, where LAPACK's ``?gecon``
    estimates), so only for eager calls; under a transformation there is no warning."""
    m = np.asarray(a)
    if assume_a in ("upper triangular", "lower triangular"):
        m = np.tril(m) if assume_a == "lower triangular" else np.triu(m)
    elif assume_a == "diagonal":
        m = m * np.eye(m.shape[-1], dtype=bool)
    elif assume_a in ("sym", "symmetric", "her", "hermitian", "pos", "positive definite"):
        tri = np.tril(m) if lower else np.triu(m)
        other = np.swapaxes(tri, -1, -2)
        if assume_a in ("her", "hermitian", "pos", "positive definite"):
            other = other.conj()
        m = tri + other - m * np.eye(m.shape[-1], dtype=bool)
    elif assume_a == "tridiagonal":
        n = m.shape[-1]
        band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
        m = m * band
    with np.errstate(all="ignore"):
        try:
            rcond = 1.0 / np.linalg.cond(m, 1)
        except np.linalg.LinAlgError:
            rcond = np.zeros(m.shape[:-2])
    rcond = np.atleast_1d(rcond).ravel()
    eps = np.finfo(m.dtype).eps
    ill = [f"slice {i} has rcond = {r:.6g}" for i, r in enumerate(rcond) if not r >= eps]
    if ill:
        warnings.warn(f"An ill-conditioned matrix detected: {','.join(ill)}.", LinAlgWarning, stacklevel=3)


def solve_banded(
    l_and_u: tuple[int, int],
    ab: ArrayLike,
    b: ArrayLike,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Array:
    """Solve ``a @ x = b`` for banded ``a`` in LAPACK band storage; mirrors :func:`scipy.linalg.solve_banded`.

    Parameters
    ----------
    l_and_u : (int, int)
        Number of non-zero lower and upper diagonals.
    ab : array, shape (l + u + 1, M)
        Banded matrix: ``ab[u + i - j, j] == a[i, j]``.
    b : array, shape (M,) or (M, K)
        Right-hand side.
    overwrite_ab, overwrite_b : bool
        Ignored.
    check_finite : bool
        Raise ``ValueError`` if a concrete input holds inf or NaN.

    Returns
    -------
    array
        ``x``, with ``b``'s shape.

    Differences from SciPy
    ----------------------
    Tridiagonal systems (``l = u = 1``) use ``gtsv``; other bandwidths are expanded to a dense matrix
    and solved by LU (``O(M^3)``, fine for the moderate sizes dense JAX code targets). A singular
    matrix raises ``LinAlgError`` eagerly; under a transformation it gives an all-NaN result.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_banded
    >>> ab = jnp.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])
    >>> solve_banded((1, 1), ab, jnp.array([5.0, 6.0, 5.0])).round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    try:
        nlower, nupper = (int(v) for v in l_and_u)
    except (TypeError, ValueError):
        raise ValueError(f"`l_and_u` must be a pair of non-negative integers, got {l_and_u!r}") from None
    if nlower < 0 or nupper < 0:
        raise ValueError(f"`l_and_u` must be a pair of non-negative integers, got {l_and_u!r}")
    ab, b = jnp.asarray(ab), jnp.asarray(b)
    if ab.ndim != 2 or ab.shape[0] != nlower + nupper + 1:
        raise ValueError(f"invalid values for the number of lower and upper diagonals: l+u+1 "
                         f"({nlower + nupper + 1}) does not equal ab.shape[0] ({ab.shape[0]})")
    m = ab.shape[1]
    if b.shape[:1] != (m,):
        raise ValueError(f"shape of `ab` {ab.shape} and `b` {b.shape} are incompatible")
    dtype = _inexact(ab, b)
    ab, b = ab.astype(dtype), b.astype(dtype)
    _check_finite("ab", ab, check_finite)
    _check_finite("b", b, check_finite)
    b2 = b[:, None] if b.ndim == 1 else b
    if (nlower, nupper) == (1, 1) and m > 1:
        dl = jnp.concatenate([jnp.zeros(1, dtype), ab[2, :-1]])
        du = jnp.concatenate([ab[0, 1:], jnp.zeros(1, dtype)])
        x = jax.lax.linalg.tridiagonal_solve(dl, ab[1], du, b2)
    else:
        rows, cols = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
        band = nupper + rows - cols
        inside = (band >= 0) & (band <= nlower + nupper)
        a = jnp.where(inside, ab[np.clip(band, 0, nlower + nupper), cols], 0)
        x = _gen(a, b2, False, 0)
    x = _honest(x, ab, b2)
    return x[:, 0] if b.ndim == 1 else x


def inv(
    a: ArrayLike,
    overwrite_a: bool = False,
    check_finite: bool = True,
    *,
    assume_a: str | None = None,
    lower: bool = False,
) -> Array:
    """Inverse of a square matrix; mirrors :func:`scipy.linalg.inv`.

    Parameters
    ----------
    a : array, shape (..., N, N)
    overwrite_a : bool
        Ignored.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.
    assume_a, lower
        As in :func:`solve`.

    Returns
    -------
    array
        ``inv(a)``.

    Differences from SciPy
    ----------------------
    A singular matrix raises ``LinAlgError`` eagerly; under a transformation it gives all NaN.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import inv
    >>> inv(jnp.array([[1.0, 2.0], [3.0, 4.0]])).round(6).tolist()
    [[-2.0, 1.0], [1.5, -0.5]]
    """
    a = jnp.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"`a` must be a square matrix (or a stack of them), got shape {a.shape}")
    eye = jnp.broadcast_to(jnp.eye(a.shape[-1], dtype=_inexact(a)), a.shape)
    return solve(a, eye, lower=lower, check_finite=check_finite, assume_a=assume_a)


def lstsq(
    a: ArrayLike,
    b: ArrayLike,
    cond: float | None = None,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
    lapack_driver: str | None = None,
) -> tuple[Array, Array, Array, Array]:
    """Least-squares solution of ``a @ x = b``; mirrors :func:`scipy.linalg.lstsq`.

    Parameters
    ----------
    a : array, shape (M, N)
    b : array, shape (M,) or (M, K)
    cond : float, optional
        Singular values below ``cond * largest`` are treated as zero (default: machine eps).
    overwrite_a, overwrite_b : bool
        Ignored.
    check_finite : bool
        Raise ``ValueError`` if a concrete input holds inf or NaN.
    lapack_driver : {None, 'gelsd', 'gelsy', 'gelss'}
        Accepted; every driver is an SVD here.

    Returns
    -------
    x : array, shape (N,) or (N, K)
    residues : array
        Squared residual norms: a scalar for 1-D ``b``, shape ``(K,)`` otherwise; empty when
        ``rank < N`` or ``M <= N`` (eager calls only).
    rank : int array
    s : array, shape (min(M, N),)
        Singular values.

    Differences from SciPy
    ----------------------
    Under ``jit``/``vmap`` the rank is not known when tracing, so ``residues`` keeps its full shape
    (computed from the residual) instead of becoming empty.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import lstsq
    >>> a = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    >>> x, res, rank, s = lstsq(a, jnp.array([1.0, 2.0, 3.0]))
    >>> x.round(6).tolist(), int(rank)
    ([1.0, 1.0], 2)
    """
    if lapack_driver not in (None, "gelsd", "gelsy", "gelss"):
        raise ValueError(f"`lapack_driver`: LAPACK driver {lapack_driver!r} is not found")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if a.ndim != 2:
        raise ValueError(f"`a` must be 2-D, got shape {a.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"shape mismatch: `a` {a.shape} and `b` {b.shape}")
    dtype = _inexact(a, b)
    a, b = a.astype(dtype), b.astype(dtype)
    _check_finite("a", a, check_finite)
    _check_finite("b", b, check_finite)
    rcond = float(jnp.finfo(dtype).eps) if cond is None else cond
    x, _, rank, s = jnp.linalg.lstsq(a, b, rcond=rcond)
    r = b - a @ x
    residues = jnp.sum(jnp.abs(r) ** 2, axis=0)
    m, n = a.shape
    if _is_concrete(rank) and (int(rank) < n or m <= n):
        residues = jnp.zeros((0,), jnp.finfo(dtype).dtype)
    return x, residues, rank, s
