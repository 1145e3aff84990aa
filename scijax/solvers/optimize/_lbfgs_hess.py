"""``scipy.optimize.LbfgsInvHessProduct``: the L-BFGS inverse Hessian as a matrix-free operator.

The limited-memory BFGS inverse Hessian is never formed: it is the identity updated by the
stored correction pairs ``s_k = x_{k+1} - x_k``, ``y_k = g_{k+1} - g_k``, and applied to a vector
by the two-loop recursion (Nocedal and Wright, *Numerical Optimization*, 2nd ed., Algorithm 7.4,
with ``H_0 = I`` as in SciPy's operator).
"""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike

__all__ = ["LbfgsInvHessProduct"]


def _rho(sk: Array, yk: Array) -> Array:
    sy = jnp.sum(sk * yk, axis=1)
    return jnp.where(sy == 0, 0.0, 1.0 / jnp.where(sy == 0, 1.0, sy))


@jax.jit
def _apply(sk: Array, yk: Array, X: Array) -> Array:
    """``H X`` by the two-loop recursion, all columns of ``X`` at once (zero pairs are no-ops)."""
    rho = _rho(sk, yk)

    def newest_to_oldest(Q, pair):
        s, y, r = pair
        alpha = r * (s @ Q)
        return Q - jnp.outer(y, alpha), alpha

    Q, alphas = lax.scan(newest_to_oldest, X, (sk, yk, rho), reverse=True)

    def oldest_to_newest(R, pair):
        s, y, r, alpha = pair
        beta = r * (y @ R)
        return R + jnp.outer(s, alpha - beta), None

    out, _ = lax.scan(oldest_to_newest, Q, (sk, yk, rho, alphas))
    return out


class LbfgsInvHessProduct(eqx.Module):
    """Linear operator for the L-BFGS approximate inverse Hessian.

    Mirrors :class:`scipy.optimize.LbfgsInvHessProduct`: built from the correction pairs of an
    L-BFGS run, it applies the inverse-Hessian approximation to vectors without forming it
    (``matvec``, ``matmat``, ``dot``, ``@``) and forms it on request (``todense``). This is what
    ``minimize(method='L-BFGS-B').hess_inv`` is.

    Parameters
    ----------
    sk : array_like, shape (n_corr, n)
        Steps ``x_{k+1} - x_k``, oldest first.
    yk : array_like, shape (n_corr, n)
        Gradient changes ``g_{k+1} - g_k``, oldest first.

    Attributes
    ----------
    sk, yk : Array
        The pairs.
    rho : Array, shape (n_corr,)
        ``1 / (s_k . y_k)``, with 0 for an all-zero (unused) pair.
    n_corrs : int
        The number of stored pairs (rows, including unused zero rows).
    shape : tuple
        ``(n, n)``.
    dtype : numpy dtype
        The dtype of the pairs.

    Differences from SciPy
    ----------------------
    - An ``equinox.Module`` (a pytree that passes through ``jit``/``vmap``), not a subclass of
      ``scipy.sparse.linalg.LinearOperator``; it has SciPy's methods ``matvec``, ``rmatvec``,
      ``matmat``, ``dot``, ``todense``, ``transpose``/``T`` and ``@``. Pass
      ``scipy.sparse.linalg.aslinearoperator(op.todense())`` where a SciPy operator is needed.
    - In ``minimize``'s result the pairs live in a fixed-capacity buffer of ``maxcor`` rows:
      rows not filled yet are zero, and a zero pair leaves the product unchanged, so the operator
      equals SciPy's built from the filled rows only.
    - Differentiable in ``sk``, ``yk`` and the vector.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import LbfgsInvHessProduct
    >>> A = jnp.array([[2.0, 0.0], [0.0, 4.0]])   # Hessian of a quadratic
    >>> sk = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    >>> H = LbfgsInvHessProduct(sk, sk @ A)        # yk = A sk
    >>> H.todense().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """

    sk: Array
    yk: Array

    def __init__(self, sk: ArrayLike, yk: ArrayLike):
        sk, yk = jnp.asarray(sk), jnp.asarray(yk)
        if sk.ndim != 2 or sk.shape != yk.shape:
            raise ValueError("`sk` and `yk` must be 2-D arrays of the same shape (n_corr, n).")
        dtype = jnp.result_type(sk.dtype, yk.dtype, float)
        self.sk, self.yk = sk.astype(dtype), yk.astype(dtype)

    @property
    def rho(self) -> Array:
        return _rho(self.sk, self.yk)

    @property
    def n_corrs(self) -> int:
        return self.sk.shape[-2]

    @property
    def shape(self) -> tuple[int, int]:
        n = self.sk.shape[-1]  # a batch of operators (from a vmapped minimize) has leading axes
        return (n, n)

    @property
    def dtype(self) -> Any:
        return self.sk.dtype

    @property
    def ndim(self) -> int:
        return 2

    def matvec(self, x: ArrayLike) -> Array:
        """``H @ x`` for a vector of shape ``(n,)`` or ``(n, 1)`` (the shape is kept)."""
        x = jnp.asarray(x, self.dtype)
        n = self.shape[0]
        if x.shape not in ((n,), (n, 1)):
            raise ValueError(f"dimension mismatch: `x` has shape {x.shape}, the operator is {self.shape}.")
        return _apply(self.sk, self.yk, x.reshape(n, 1)).reshape(x.shape)

    def rmatvec(self, x: ArrayLike) -> Array:
        """``H^T @ x``; ``H`` is symmetric, so this is ``matvec``."""
        return self.matvec(x)

    def matmat(self, X: ArrayLike) -> Array:
        """``H @ X`` for a matrix of shape ``(n, k)``."""
        X = jnp.asarray(X, self.dtype)
        if X.ndim != 2 or X.shape[0] != self.shape[0]:
            raise ValueError(f"dimension mismatch: `X` has shape {X.shape}, the operator is {self.shape}.")
        return _apply(self.sk, self.yk, X)

    def dot(self, x: ArrayLike) -> Array:
        """``matvec`` for a vector, ``matmat`` for a matrix."""
        x = jnp.asarray(x)
        return self.matmat(x) if x.ndim == 2 and x.shape[1] != 1 else self.matvec(x)

    def __matmul__(self, x: ArrayLike) -> Array:
        return self.dot(x)

    def __call__(self, x: ArrayLike) -> Array:
        return self.dot(x)

    def todense(self) -> Array:
        """The dense ``(n, n)`` inverse-Hessian approximation."""
        return self.matmat(jnp.eye(self.shape[0], dtype=self.dtype))

    def transpose(self) -> "LbfgsInvHessProduct":
        """The transpose, which is the operator itself (it is symmetric)."""
        return self

    @property
    def T(self) -> "LbfgsInvHessProduct":
        return self

    def __repr__(self) -> str:
        return f"<{self.shape[0]}x{self.shape[1]} LbfgsInvHessProduct with dtype={self.dtype}>"
