"""Thin SciPy-signature wrappers over ``jax.scipy.linalg`` decompositions: ``lu``, ``schur``,
``hessenberg``, ``eigh``, ``eigvalsh`` and ``eigh_tridiagonal``.

JAX has each of these, but with a signature that differs from SciPy's (a missing keyword such as
``p_indices`` or ``subset_by_index``, or a keyword-only argument SciPy takes positionally). Each
wrapper accepts SciPy's call, translates it and calls JAX's primitive, which brings its own
derivative and batching rules.
"""

from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, is_concrete, square

__all__ = ["lu", "schur", "hessenberg", "eigh", "eigvalsh", "eigh_tridiagonal"]

_EIGH_DRIVERS = (None, "ev", "evd", "evr", "evx", "gv", "gvd", "gvx")


def lu(a: ArrayLike, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True,
       p_indices: bool = False) -> tuple[Array, ...]:
    """LU decomposition with partial pivoting, ``a = p @ l @ u``; mirrors :func:`scipy.linalg.lu`.

    Parameters
    ----------
    a : array, shape (..., M, N)
        Matrix to decompose.
    permute_l : bool
        Return ``(p @ l, u)`` instead of ``(p, l, u)``.
    overwrite_a : bool
        Ignored (JAX arrays are immutable).
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.
    p_indices : bool
        Return the permutation as row indices ``perm`` with ``a = l[perm] @ u``.

    Returns
    -------
    (p, l, u), or (pl, u) when ``permute_l``.

    Differences from SciPy
    ----------------------
    None in the results; runs :func:`jax.scipy.linalg.lu` (LAPACK ``getrf`` on CPU, its GPU
    counterpart elsewhere), which is differentiable.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import lu
    >>> a = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    >>> p, l, u = lu(a)
    >>> bool(jnp.allclose(p @ l @ u, a))
    True
    """
    a = jnp.asarray(a)
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    if a.ndim < 2:
        raise ValueError(f"`a` must be at least 2-D, got shape {a.shape}")
    if permute_l:
        return jsl.lu(a, permute_l=True)
    p, l_, u = jsl.lu(a)
    if p_indices:
        # p @ l = l[perm] means perm[i] is the column where row i of p holds its 1.
        return jnp.argmax(p, axis=-1), l_, u
    return p, l_, u


def schur(a: ArrayLike, output: str = "real", lwork: Any = None, overwrite_a: bool = False,
          sort: Any = None, check_finite: bool = True) -> tuple[Array, Array]:
    """Schur decomposition ``a = z @ t @ z^H``; mirrors :func:`scipy.linalg.schur`.

    Parameters
    ----------
    a : array, shape (N, N)
        Square matrix.
    output : {'real', 'complex'}
        Real (quasi-triangular ``t``) or complex (triangular ``t``) Schur form.
    lwork, overwrite_a : ignored
    sort : None
        Ordering of the eigenvalues; only ``None`` is supported.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.

    Returns
    -------
    t, z : arrays

    Differences from SciPy
    ----------------------
    - CPU only: JAX implements the Schur decomposition with LAPACK ``gees`` on the CPU backend.
    - ``sort`` (an ordered Schur form) is not available in JAX and raises ``NotImplementedError``;
      ``sdim`` is therefore never returned.
    - Not differentiable (JAX has no derivative rule for ``schur``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import schur
    >>> a = jnp.array([[1.0, 2.0], [0.5, 3.0]])
    >>> t, z = schur(a)
    >>> bool(jnp.allclose(z @ t @ z.T, a))
    True
    """
    if output not in ("real", "complex", "r", "c"):
        raise ValueError(f"`output`: argument must be 'real' or 'complex', got {output!r}")
    if sort is not None:
        raise NotImplementedError("`sort`: an ordered Schur decomposition is not available in JAX")
    a = square("a", a)
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    return jsl.schur(a, output={"r": "real", "c": "complex"}.get(output, output))


def hessenberg(a: ArrayLike, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> Array | tuple[Array, Array]:
    """Upper Hessenberg form ``a = q @ h @ q^H``; mirrors :func:`scipy.linalg.hessenberg`.

    Parameters
    ----------
    a : array, shape (N, N)
        Square matrix.
    calc_q : bool
        Also return the unitary ``q``.
    overwrite_a : bool
        Ignored.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``a`` holds inf or NaN.

    Returns
    -------
    h, or (h, q) when ``calc_q``.

    Differences from SciPy
    ----------------------
    ``calc_q`` may be passed positionally, as in SciPy (JAX makes it keyword-only). JAX's
    Householder reduction runs on CPU and GPU; it has no derivative rule.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import hessenberg
    >>> a = jnp.array([[2.0, 5, 8, 7], [5, 2, 2, 8], [7, 5, 6, 6], [5, 4, 4, 8]])
    >>> h, q = hessenberg(a, True)
    >>> bool(jnp.allclose(q @ h @ q.T, a)), float(jnp.abs(jnp.tril(h, -2)).max())
    (True, 0.0)
    """
    a = square("a", a)
    a = a.astype(inexact(a))
    check_finite_arg("a", a, check_finite)
    return jsl.hessenberg(a, calc_q=calc_q)


def _subset(w: Array, v: Any, subset_by_index: Any, subset_by_value: Any) -> tuple[Array, Any]:
    if subset_by_index is not None and subset_by_value is not None:
        raise ValueError("Either index or value subset can be requested.")
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        n = w.shape[-1]
        if not 0 <= lo <= hi < n:
            raise ValueError(f"`subset_by_index`: requested range [{lo}, {hi}] is out of bounds for N={n}")
        return w[..., lo:hi + 1], None if v is None else v[..., lo:hi + 1]
    if subset_by_value is not None:
        lo, hi = (float(x) for x in subset_by_value)
        if not is_concrete(w) or w.ndim != 1:
            raise ValueError("`subset_by_value`: the number of eigenvalues in a range is data-dependent, "
                             "so it needs an eager, unbatched call; under jit/vmap use `subset_by_index`")
        keep = jnp.nonzero((w > lo) & (w <= hi))[0]
        return w[keep], None if v is None else v[:, keep]
    return w, v


def eigh(a: ArrayLike, b: ArrayLike | None = None, *, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, type: int = 1, check_finite: bool = True,
         subset_by_index: Any = None, subset_by_value: Any = None, driver: str | None = None
         ) -> Array | tuple[Array, Array]:
    """Eigenvalues (and vectors) of a Hermitian matrix or a Hermitian-definite pencil; mirrors
    :func:`scipy.linalg.eigh`.

    Solves ``a v = w v`` or, with ``b``, ``a v = w b v`` (``type=1``), ``a b v = w v`` (2) or
    ``b a v = w v`` (3).

    Parameters
    ----------
    a : array, shape (..., N, N)
        Hermitian matrix; only the triangle ``lower`` selects is read.
    b : array, shape (..., N, N), optional
        Hermitian positive definite matrix of the generalized problem.
    lower : bool
        Read the lower (else upper) triangle of ``a`` and ``b``.
    eigvals_only : bool
        Return only the eigenvalues.
    overwrite_a, overwrite_b : ignored
    type : {1, 2, 3}
        The generalized problem's type (see above).
    check_finite : bool
        Raise ``ValueError`` if a concrete input holds inf or NaN.
    subset_by_index : (int, int), optional
        Inclusive index range of the (ascending) eigenvalues to return.
    subset_by_value : (float, float), optional
        Half-open interval ``(lo, hi]`` of eigenvalues to return (eager, unbatched calls only).
    driver : str, optional
        LAPACK driver name; validated, then ignored.

    Returns
    -------
    w : array, shape (..., M)
        Eigenvalues in ascending order.
    v : array, shape (..., N, M)
        Eigenvectors as columns (``v^H b v = I`` for types 1 and 2, ``v^H b^{-1} v = I`` for 3).

    Differences from SciPy
    ----------------------
    - The generalized problem reduces through the Cholesky factor of ``b`` to a standard one
      (``jax.lax.linalg.eigh``); all eigenpairs are computed and ``subset_by_index`` slices them.
    - ``subset_by_value`` gives a data-dependent size, so it raises ``ValueError`` under jit/vmap.
    - ``driver`` selects nothing: JAX has one symmetric eigensolver per backend.
    - A non-positive-definite ``b`` gives NaN instead of ``LinAlgError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigh
    >>> a = jnp.array([[2.0, 1.0], [1.0, 2.0]])
    >>> eigh(a, eigvals_only=True).round(6).tolist()
    [1.0, 3.0]
    """
    if driver not in _EIGH_DRIVERS:
        raise ValueError(f"`driver`: {driver!r} is not one of {_EIGH_DRIVERS[1:]}")
    if type not in (1, 2, 3):
        raise ValueError(f"`type`: must be 1, 2 or 3, got {type!r}")
    a = square("a", a)
    dtype = inexact(a) if b is None else inexact(a, jnp.asarray(b))
    a = a.astype(dtype)
    check_finite_arg("a", a, check_finite)
    if b is None:
        w, v = jnp.linalg.eigh(a, UPLO="L" if lower else "U", symmetrize_input=False)
    else:
        b = square("b", b).astype(dtype)
        check_finite_arg("b", b, check_finite)
        if b.shape[-1] != a.shape[-1]:
            raise ValueError(f"`b`: shape {b.shape} does not match `a` {a.shape}")
        flat = (-1,) + a.shape[-2:]
        w, v = jax.vmap(lambda aa, bb: _generalized(aa, bb, lower, type))(
            a.reshape(flat), jnp.broadcast_to(b, a.shape).reshape(flat))
        w, v = w.reshape(a.shape[:-1]), v.reshape(a.shape)
    w, v = _subset(w, v, subset_by_index, subset_by_value)
    return w if eigvals_only else (w, v)


def _mirror(a: Array, lower: bool) -> Array:
    tri = jnp.tril(a) if lower else jnp.triu(a)
    strict = jnp.tril(a, -1) if lower else jnp.triu(a, 1)
    return tri + jnp.conj(strict).T


def _generalized(a: Array, b: Array, lower: bool, type_: int) -> tuple[Array, Array]:
    a, b = _mirror(a, lower), _mirror(b, lower)
    chol = jnp.linalg.cholesky(b)  # b = L L^H
    if type_ == 1:
        tmp = jsl.solve_triangular(chol, a, lower=True)  # L^{-1} a
        c = jsl.solve_triangular(chol, jnp.conj(tmp).T, lower=True)  # L^{-1} a L^{-H} (a Hermitian)
    else:
        c = jnp.conj(chol).T @ a @ chol
    w, u = jnp.linalg.eigh(c)
    v = chol @ u if type_ == 3 else jsl.solve_triangular(chol, u, lower=True, trans="C")
    return w, v


def eigvalsh(a: ArrayLike, b: ArrayLike | None = None, *, lower: bool = True, overwrite_a: bool = False,
             overwrite_b: bool = False, type: int = 1, check_finite: bool = True,
             subset_by_index: Any = None, subset_by_value: Any = None, driver: str | None = None) -> Array:
    """Eigenvalues of a Hermitian matrix or pencil; mirrors :func:`scipy.linalg.eigvalsh`.

    Same as :func:`eigh` with ``eigvals_only=True`` (see its parameters and differences).

    Differences from SciPy
    ----------------------
    As :func:`eigh`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigvalsh
    >>> eigvalsh(jnp.array([[2.0, 0.0], [0.0, 3.0]]), jnp.array([[1.0, 0.0], [0.0, 2.0]])).round(6).tolist()
    [1.5, 2.0]
    """
    w = eigh(a, b, lower=lower, eigvals_only=True, type=type, check_finite=check_finite,
             subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver)
    assert not isinstance(w, tuple)
    return w


def eigh_tridiagonal(d: ArrayLike, e: ArrayLike, eigvals_only: bool = False, select: str = "a",
                     select_range: Any = None, check_finite: bool = True, tol: float = 0.0,
                     lapack_driver: str = "auto") -> Array | tuple[Array, Array]:
    """Eigenvalues (and vectors) of a real symmetric tridiagonal matrix; mirrors
    :func:`scipy.linalg.eigh_tridiagonal`.

    Parameters
    ----------
    d : array, shape (N,)
        Diagonal.
    e : array, shape (N-1,)
        Off-diagonal.
    eigvals_only : bool
        Return only the eigenvalues.
    select : {'a', 'i', 'v'}
        All eigenvalues, an inclusive index range, or a half-open value range ``(lo, hi]``.
    select_range : (min, max), optional
        The range for ``select='i'`` or ``'v'``.
    check_finite : bool
        Raise ``ValueError`` if concrete ``d`` or ``e`` hold inf or NaN.
    tol : float
        Ignored (JAX's bisection picks its own tolerance when it is 0).
    lapack_driver : str
        Ignored.

    Returns
    -------
    w : array, shape (M,)
        Eigenvalues in ascending order.
    v : array, shape (N, M)
        Eigenvectors as columns.

    Differences from SciPy
    ----------------------
    - Eigenvalues only: JAX's bisection (:func:`jax.scipy.linalg.eigh_tridiagonal`).
      Eigenvectors: a dense symmetric eigensolver on the assembled tridiagonal matrix (O(N^3)).
    - ``select='v'`` gives a data-dependent size: eager calls only.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import eigh_tridiagonal
    >>> eigh_tridiagonal(jnp.array([2.0, 2.0]), jnp.array([1.0]), eigvals_only=True).round(6).tolist()
    [1.0, 3.0]
    """
    if select not in ("a", "i", "v", "all", "index", "value"):
        raise ValueError(f"`select`: must be 'a', 'i' or 'v', got {select!r}")
    select = select[0]
    d, e = jnp.asarray(d), jnp.asarray(e)
    dtype = inexact(d, e)
    d, e = d.astype(dtype), e.astype(dtype)
    if d.ndim != 1:
        raise ValueError(f"`d`: expected a 1-D array, got shape {d.shape}")
    if e.shape != (max(d.shape[0] - 1, 0),):
        raise ValueError(f"`e`: expected shape ({d.shape[0] - 1},), got {e.shape}")
    check_finite_arg("d", d, check_finite)
    check_finite_arg("e", e, check_finite)
    if eigvals_only and select == "a":
        return jsl.eigh_tridiagonal(d, e, eigvals_only=True)
    a = jnp.diag(d) + jnp.diag(e, 1) + jnp.diag(e, -1)
    w, v = jnp.linalg.eigh(a)
    index = tuple(select_range) if select == "i" else None
    value = tuple(select_range) if select == "v" else None
    w, v = _subset(w, v, index, value)
    return w if eigvals_only else (w, v)
