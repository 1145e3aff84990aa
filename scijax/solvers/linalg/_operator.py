"""``LinearOperator`` and ``aslinearoperator``, as in :mod:`scipy.sparse.linalg`, but as pytrees.

An operator is an ``equinox.Module`` holding its shape and dtype (static) and the callables that
apply it. Operators built from arrays (``aslinearoperator(a)``, BCOO/BCSR matrices, sums, products,
scalings and transposes of those) hold the arrays themselves as pytree leaves, so they pass through
``jax.jit`` and ``jax.vmap`` like any other argument and are differentiated like any other array.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsparse

from ..._eager import eager_scipy
from ..._typing import Array, ArrayLike

__all__ = ["LinearOperator", "aslinearoperator", "as_operator"]

_SPARSE_TYPES = (jsparse.BCOO, jsparse.BCSR)


def _check_shape(shape: Any) -> tuple[int, int]:
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"`shape` must be a pair of non-negative integers, got {shape!r}") from None
    if len(shape) != 2 or min(shape) < 0:
        raise ValueError(f"`shape` must be a pair of non-negative integers, got {shape!r}")
    return shape


def _default_dtype(matvec: Callable, n: int) -> Any:
    """SciPy infers a missing dtype by applying ``matvec`` to zeros; we do the same abstractly."""
    try:
        out = jax.eval_shape(matvec, jax.ShapeDtypeStruct((n,), jnp.result_type(float)))
        return np.dtype(out.dtype)
    except Exception:  # a matvec that cannot be traced abstractly: fall back to the default float
        return np.dtype(jnp.result_type(float))


class LinearOperator(eqx.Module):
    """A matrix-free linear operator, like :class:`scipy.sparse.linalg.LinearOperator`.

    Parameters
    ----------
    shape : tuple of int
        ``(M, N)``.
    matvec : callable
        ``matvec(x)`` returns ``A @ x`` for ``x`` of shape ``(N,)``. It must be written in JAX.
    rmatvec : callable, optional
        ``rmatvec(y)`` returns ``A^H @ y``. If omitted it is derived from ``matvec`` by
        ``jax.linear_transpose``.
    matmat : callable, optional
        ``matmat(X)`` returns ``A @ X`` for ``X`` of shape ``(N, K)``; defaults to ``vmap(matvec)``.
    dtype : dtype, optional
        Inferred from ``matvec`` applied to zeros, as in SciPy, when omitted.
    rmatmat : callable, optional
        ``rmatmat(Y)`` returns ``A^H @ Y``; defaults to ``vmap(rmatvec)``.

    Differences from SciPy
    ----------------------
    - The operator is a pytree (an ``equinox.Module``). Operators built from arrays can
      be passed straight to ``jax.jit``; an operator holding a plain Python function needs
      ``equinox.filter_jit`` (or construct it inside the jitted function).
    - Setting attributes works as in SciPy for eager use (``A.dtype = ...``, ``A.psolve = f``:
      the Krylov solvers then use ``psolve``/``rpsolve`` as the preconditioner when ``M`` is not
      given). Attributes that are not fields are not part of the pytree: they are dropped when
      the operator passes through ``jit`` or ``tree_map``.
    - A missing ``rmatvec`` is derived automatically instead of raising ``NotImplementedError``.
    - Products (``A @ x``, ``matvec``, ``rmatvec``, ``matmat``, ``rmatmat``, ``dot``) return NumPy
      arrays in an eager call, as SciPy's do, and JAX arrays under ``jit``/``vmap``/``grad``.
    - Subclassing with ``_matvec`` is not supported; pass the callables instead.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import LinearOperator
    >>> A = LinearOperator((3, 3), matvec=lambda x: 2.0 * x)
    >>> (A @ jnp.ones(3)).tolist()
    [2.0, 2.0, 2.0]
    >>> (3.0 * A + A.T).matvec(jnp.ones(3)).tolist()
    [8.0, 8.0, 8.0]
    """

    shape: tuple[int, int] = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)
    _mv: Callable
    _rmv: Callable | None
    _mm: Callable | None
    _rmm: Callable | None
    __array_ufunc__ = None  # so that ``ndarray @ op`` defers to ``op.__rmatmul__``

    def __init__(
        self,
        shape: tuple[int, ...],
        matvec: Callable,
        rmatvec: Callable | None = None,
        matmat: Callable | None = None,
        dtype: Any = None,
        rmatmat: Callable | None = None,
    ):
        self.shape = _check_shape(shape)
        if not callable(matvec):
            raise TypeError("`matvec` must be callable")
        for name, fn in (("rmatvec", rmatvec), ("matmat", matmat), ("rmatmat", rmatmat)):
            if fn is not None and not callable(fn):
                raise TypeError(f"`{name}` must be callable or None")
        self.dtype = np.dtype(dtype) if dtype is not None else _default_dtype(matvec, self.shape[1])
        self._mv, self._rmv, self._mm, self._rmm = matvec, rmatvec, matmat, rmatmat

    def __setattr__(self, name: str, value: Any) -> None:
        """SciPy's attribute protocol: ``A.psolve = f``, ``A.dtype = ...`` work on an operator used eagerly.

        ``shape`` and ``dtype`` are checked and replaced; any other new attribute (``psolve``,
        ``rpsolve``, user data) is kept on this instance only, outside the pytree, so it does not
        survive ``jit``/``tree_map`` (SciPy has no such transformations). The internal callables
        stay immutable.
        """
        try:
            super().__setattr__(name, value)  # allowed while ``__init__`` runs
            return
        except dataclasses.FrozenInstanceError:
            if name in ("_mv", "_rmv", "_mm", "_rmm"):
                raise
        if name == "shape":
            value = _check_shape(value)
        elif name == "dtype":
            value = np.dtype(value)
        object.__setattr__(self, name, value)

    @property
    def ndim(self) -> int:
        return 2

    # --- application -------------------------------------------------------------------------
    def _check_vec(self, x: ArrayLike, n: int, name: str) -> Array:
        x = jnp.asarray(x)
        if x.shape not in ((n,), (n, 1)):
            raise ValueError(f"dimension mismatch: operator of shape {self.shape} applied to `{name}` "
                             f"of shape {x.shape}")
        return x

    # Public products return NumPy arrays in an eager call, as SciPy's do, and JAX arrays under a
    # transformation (scijax/_eager.py's rule). The private ``_mv_jax``, ... (named apart from SciPy's
    # subclass hooks ``_matvec``, ...) are the JAX versions that composite operators use, so no host
    # copy happens mid-way.
    def _mv_jax(self, x: ArrayLike) -> Array:
        x = self._check_vec(x, self.shape[1], "x")
        y = jnp.asarray(self._mv(x.reshape(-1)))
        return y.reshape(self.shape[0], 1) if x.ndim == 2 else y.reshape(self.shape[0])

    def matvec(self, x: ArrayLike) -> Array:
        """``A @ x`` for ``x`` of shape ``(N,)`` or ``(N, 1)``."""
        return eager_scipy(self._mv_jax(x))

    def _rmv_fn(self) -> Callable:
        if self._rmv is not None:
            return self._rmv
        dtype = jnp.result_type(self.dtype)
        transpose = jax.linear_transpose(self._mv, jax.ShapeDtypeStruct((self.shape[1],), dtype))
        return lambda y: jnp.conj(transpose(jnp.conj(y).astype(dtype))[0])

    def _rmv_jax(self, x: ArrayLike) -> Array:
        x = self._check_vec(x, self.shape[0], "x")
        y = jnp.asarray(self._rmv_fn()(x.reshape(-1)))
        return y.reshape(self.shape[1], 1) if x.ndim == 2 else y.reshape(self.shape[1])

    def rmatvec(self, x: ArrayLike) -> Array:
        """``A^H @ x`` for ``x`` of shape ``(M,)`` or ``(M, 1)``."""
        return eager_scipy(self._rmv_jax(x))

    def _mm_jax(self, X: ArrayLike) -> Array:
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[0] != self.shape[1]:
            raise ValueError(f"dimension mismatch: operator of shape {self.shape} applied to `X` "
                             f"of shape {X.shape}")
        if self._mm is not None:
            return jnp.asarray(self._mm(X))
        return jax.vmap(self._mv, in_axes=1, out_axes=1)(X)

    def matmat(self, X: ArrayLike) -> Array:
        """``A @ X`` for ``X`` of shape ``(N, K)``."""
        return eager_scipy(self._mm_jax(X))

    def _rmm_jax(self, X: ArrayLike) -> Array:
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[0] != self.shape[0]:
            raise ValueError(f"dimension mismatch: adjoint of operator of shape {self.shape} applied "
                             f"to `X` of shape {X.shape}")
        if self._rmm is not None:
            return jnp.asarray(self._rmm(X))
        return jax.vmap(self._rmv_fn(), in_axes=1, out_axes=1)(X)

    def rmatmat(self, X: ArrayLike) -> Array:
        """``A^H @ X`` for ``X`` of shape ``(M, K)``."""
        return eager_scipy(self._rmm_jax(X))

    def dot(self, x: Any) -> Any:
        """``A @ x`` for a vector, a matrix or another operator; ``A * alpha`` for a scalar."""
        if isinstance(x, LinearOperator):
            return _product(self, x)
        if jnp.ndim(x) == 0:
            return _scaled(self, x)
        x = jnp.asarray(x)
        if x.ndim == 1 or (x.ndim == 2 and x.shape[1] == 1):
            return self.matvec(x)
        if x.ndim == 2:
            return self.matmat(x)
        raise ValueError(f"expected 1-d or 2-d array or matrix, got array of shape {x.shape}")

    def __call__(self, x: Any) -> Any:
        return self.dot(x)

    def __matmul__(self, x: Any) -> Any:
        if jnp.ndim(x) == 0 and not isinstance(x, LinearOperator):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        return self.dot(x)

    def __rmatmul__(self, x: Any) -> Any:
        if jnp.ndim(x) == 0:
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        x = jnp.asarray(x)
        return self.T.dot(x.T).T

    def __mul__(self, x: Any) -> Any:
        return self.dot(x)

    def __rmul__(self, x: Any) -> Any:
        if jnp.ndim(x) == 0:
            return _scaled(self, x)
        return NotImplemented

    def __truediv__(self, x: Any) -> Any:
        if jnp.ndim(x) != 0:
            raise ValueError("Can only divide a linear operator by a scalar.")
        return _scaled(self, 1.0 / jnp.asarray(x))

    def __neg__(self) -> "LinearOperator":
        return _scaled(self, -1)

    def __add__(self, other: Any) -> "LinearOperator":
        if not isinstance(other, LinearOperator):
            return NotImplemented
        if other.shape != self.shape:
            raise ValueError(f"cannot add operators of shapes {self.shape} and {other.shape}")
        return LinearOperator(self.shape, _Sum(self, other, False), _Sum(self, other, True),
                              dtype=np.result_type(self.dtype, other.dtype))

    def __sub__(self, other: Any) -> "LinearOperator":
        if not isinstance(other, LinearOperator):
            return NotImplemented
        return self + (-other)

    def __pow__(self, p: int) -> "LinearOperator":
        if not isinstance(p, int | np.integer) or p < 0 or self.shape[0] != self.shape[1]:
            raise ValueError("`p` must be a non-negative integer and the operator square")
        out = aslinearoperator(jnp.eye(self.shape[0], dtype=self.dtype)) if p == 0 else self
        for _ in range(int(p) - 1):
            out = _product(out, self)
        return out

    # --- transposes --------------------------------------------------------------------------
    def adjoint(self) -> "LinearOperator":
        """The Hermitian adjoint ``A^H``."""
        return LinearOperator(self.shape[::-1], _Adjoint(self, False, False), _Adjoint(self, False, True),
                              dtype=self.dtype)

    def transpose(self) -> "LinearOperator":
        """The transpose ``A^T`` (no conjugation)."""
        return LinearOperator(self.shape[::-1], _Adjoint(self, True, False), _Adjoint(self, True, True),
                              dtype=self.dtype)

    @property
    def H(self) -> "LinearOperator":  # noqa: N802 -- SciPy's name
        return self.adjoint()

    @property
    def T(self) -> "LinearOperator":  # noqa: N802 -- SciPy's name
        return self.transpose()

    def __repr__(self) -> str:
        return f"<{self.shape[0]}x{self.shape[1]} LinearOperator with dtype={self.dtype}>"


# --- callables that hold arrays as pytree leaves ------------------------------------------------
class _Matrix(eqx.Module):
    """``A @ x`` (or ``A^H @ x``) for a dense array or a BCOO/BCSR matrix."""

    a: Any
    adjoint: bool = eqx.field(static=True)

    def __call__(self, x: Array) -> Array:
        if self.adjoint:
            return jnp.conj(self.a.T @ jnp.conj(x))
        return self.a @ x


class _Sum(eqx.Module):
    a: LinearOperator
    b: LinearOperator
    adjoint: bool = eqx.field(static=True)

    def __call__(self, x: Array) -> Array:
        if self.adjoint:
            return self.a._rmv_jax(x) + self.b._rmv_jax(x)
        return self.a._mv_jax(x) + self.b._mv_jax(x)


class _Product(eqx.Module):
    a: LinearOperator
    b: LinearOperator
    adjoint: bool = eqx.field(static=True)

    def __call__(self, x: Array) -> Array:
        if self.adjoint:
            return self.b._rmv_jax(self.a._rmv_jax(x))
        return self.a._mv_jax(self.b._mv_jax(x))


class _Scaled(eqx.Module):
    op: LinearOperator
    alpha: Array
    adjoint: bool = eqx.field(static=True)

    def __call__(self, x: Array) -> Array:
        if self.adjoint:
            return jnp.conj(self.alpha) * self.op._rmv_jax(x)
        return self.alpha * self.op._mv_jax(x)


class _Adjoint(eqx.Module):
    """Applies ``A^H`` (``conjugate=False``) or ``A^T`` (``conjugate=True``) and their adjoints."""

    op: LinearOperator
    conjugate: bool = eqx.field(static=True)
    adjoint: bool = eqx.field(static=True)

    def __call__(self, x: Array) -> Array:
        apply = self.op._mv_jax if self.adjoint else self.op._rmv_jax
        if self.conjugate:
            return jnp.conj(apply(jnp.conj(x)))
        return apply(x)


def _product(a: LinearOperator, b: LinearOperator) -> LinearOperator:
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"cannot multiply operators of shapes {a.shape} and {b.shape}")
    return LinearOperator((a.shape[0], b.shape[1]), _Product(a, b, False), _Product(a, b, True),
                          dtype=np.result_type(a.dtype, b.dtype))


def _scaled(op: LinearOperator, alpha: Any) -> LinearOperator:
    alpha = jnp.asarray(alpha)
    dtype = np.result_type(op.dtype, alpha.dtype) if jnp.iscomplexobj(alpha) else op.dtype
    alpha = alpha.astype(dtype)
    return LinearOperator(op.shape, _Scaled(op, alpha, False), _Scaled(op, alpha, True), dtype=dtype)


def _from_matrix(a: Any) -> LinearOperator:
    rmatvec = None if isinstance(a, jsparse.BCSR) else _Matrix(a, True)
    return LinearOperator(tuple(a.shape), _Matrix(a, False), rmatvec, matmat=_Matrix(a, False), dtype=a.dtype)


def aslinearoperator(A: Any) -> LinearOperator:
    """Return ``A`` as a :class:`LinearOperator`, like :func:`scipy.sparse.linalg.aslinearoperator`.

    Parameters
    ----------
    A : array_like, scipy.sparse matrix, BCOO, BCSR or LinearOperator
        A 2-D dense array, a ``scipy.sparse`` matrix or array (converted once to a BCOO matrix), a
        ``jax.experimental.sparse`` BCOO/BCSR matrix, a ``LinearOperator``, or any object with
        ``shape`` and ``matvec`` attributes.

    Returns
    -------
    LinearOperator

    Differences from SciPy
    ----------------------
    ``scipy.sparse`` input is copied to the device as a BCOO matrix.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import aslinearoperator
    >>> A = aslinearoperator(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> A.matvec(jnp.array([1.0, 1.0])).tolist()
    [3.0, 7.0]
    """
    if isinstance(A, LinearOperator):
        return A
    if sp.issparse(A):
        return _from_matrix(jsparse.BCOO.from_scipy_sparse(A))
    if isinstance(A, _SPARSE_TYPES):
        if A.ndim != 2 or A.n_batch or A.n_dense:
            raise ValueError(f"expected a 2-D sparse matrix without batch or dense dimensions, got {A}")
        return _from_matrix(A)
    if isinstance(A, np.ndarray | jax.Array) or (isinstance(A, list | tuple)):
        a = jnp.asarray(A)
        if a.ndim != 2:
            raise ValueError(f"expected a 2-D array, got shape {a.shape}")
        if not jnp.issubdtype(a.dtype, jnp.inexact):
            a = a.astype(jnp.result_type(float))
        return _from_matrix(a)
    if hasattr(A, "shape") and hasattr(A, "matvec"):
        return LinearOperator(A.shape, A.matvec, getattr(A, "rmatvec", None), getattr(A, "matmat", None),
                              dtype=getattr(A, "dtype", None))
    raise TypeError(f"type not understood: cannot make a LinearOperator from {type(A).__name__}")


def as_operator(A: Any, n: int, dtype: Any, name: str) -> LinearOperator:
    """Solver-side conversion: everything ``aslinearoperator`` takes, plus a plain callable.

    A plain callable is taken to be a square ``n x n`` operator of the given dtype.
    """
    if callable(A) and not isinstance(A, LinearOperator | np.ndarray | jax.Array | jsparse.JAXSparse):
        if not (hasattr(A, "shape") and hasattr(A, "matvec")):
            return LinearOperator((n, n), A, dtype=dtype)
    try:
        return aslinearoperator(A)
    except (TypeError, ValueError) as err:
        raise type(err)(f"`{name}`: {err}") from None
