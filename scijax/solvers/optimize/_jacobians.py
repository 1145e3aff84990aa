"""SciPy's public Jacobian-approximation objects ``BroydenFirst``, ``KrylovJacobian``, ``InverseJacobian``.

SciPy's ``nonlin`` solvers take a Jacobian approximation as a stateful object: ``setup(x0, F(x0),
func)``, then ``update(x, F(x))`` after each step, and ``solve(v)`` (``J^-1 v``), ``matvec(v)``
(``J v``) and ``todense()`` in between. Our solvers (``broyden1``, ``newton_krylov``, ``root``) run
the same approximations as pure engines inside a compiled loop (``_solvers/nonlin_jacobians.py``);
the classes here put SciPy's object interface over those engines for eager, host-side use.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from ._solvers import nonlin_jacobians as engines

__all__ = ["BroydenFirst", "KrylovJacobian", "InverseJacobian"]



@eqx.filter_jit
def _init(engine: Any, x: Array, f: Array) -> Any:
    return engine.init(x, f)


@eqx.filter_jit
def _update(engine: Any, state: Any, x: Array, f: Array, x_old: Array, f_old: Array) -> Any:
    return engine.update(state, x, f, x - x_old, f - f_old)


@eqx.filter_jit
def _solve(engine: Any, state: Any, v: Array, tol: Array, x: Array, fn: Callable) -> Array:
    """One compiled ``J^-1 v`` (an eager Krylov solve would dispatch every operation)."""
    return engine.solve(state, v, tol, x, fn, None)


class _Approximation:
    """Shared bookkeeping: the current point, residual and function after ``setup``."""

    def __init__(self) -> None:
        self.x: Array | None = None
        self.f: Array | None = None
        self.func: Callable | None = None
        self.state: Any = None

    def _engine(self) -> Any:
        raise NotImplementedError

    def setup(self, x0: ArrayLike, f0: ArrayLike, func: Callable) -> None:
        """Start from the point ``x0`` with residual ``f0 = func(x0)``."""
        x, f = jnp.asarray(x0), jnp.asarray(f0)
        x = x.astype(jnp.result_type(x.dtype, f.dtype, float))  # complex residuals: a complex Jacobian
        self.x, self.f, self.func = x.ravel(), f.astype(x.dtype).ravel(), func
        self.state = _init(self._engine(), self.x, self.f)

    def update(self, x: ArrayLike, f: ArrayLike) -> None:
        """Take the step to ``x``, where the residual is ``f``."""
        x, f = self._checked(x).ravel(), self._checked(f).ravel()
        assert self.x is not None and self.f is not None
        self.state = _update(self._engine(), self.state, x, f, self.x, self.f)
        self.x, self.f = x, f

    def _checked(self, v: ArrayLike) -> Array:
        if self.x is None:
            raise ValueError("call `setup(x0, f0, func)` first.")
        v = jnp.asarray(v, self.x.dtype)
        if v.size != self.x.size:
            raise ValueError(f"`v` has {v.size} elements; the Jacobian is {self.shape}.")
        return v

    @property
    def shape(self) -> tuple[int, int]:
        if self.x is None:
            raise ValueError("call `setup(x0, f0, func)` first.")
        return (self.x.size, self.x.size)

    @property
    def dtype(self) -> Any:
        if self.x is None:
            raise ValueError("call `setup(x0, f0, func)` first.")
        return self.x.dtype

    def _fn(self, z: Array, args: Any) -> tuple[Array, None]:
        assert self.func is not None and self.x is not None
        return jnp.asarray(self.func(z), self.x.dtype).ravel(), None

    def solve(self, v: ArrayLike, tol: float = 0) -> Array:
        """``J^-1 v``."""
        v = self._checked(v)
        assert self.x is not None
        out = _solve(self._engine(), self.state, v.ravel(), jnp.asarray(tol, v.dtype), self.x, self._fn)
        return out.reshape(v.shape)

    def todense(self) -> Array:
        """The dense ``(n, n)`` Jacobian approximation."""
        n = self.shape[0]
        return jax.vmap(self.matvec, in_axes=1, out_axes=1)(jnp.eye(n, dtype=self.dtype))

    def matvec(self, v: ArrayLike) -> Array:
        raise NotImplementedError

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.todense(), dtype=dtype)


class BroydenFirst(_Approximation):
    """Broyden's first ("good") Jacobian approximation, SciPy's ``BroydenFirst``.

    The inverse Jacobian starts at ``H_0 = -alpha I`` and takes Broyden's good update after each
    step (the update used by :func:`broyden1` and ``root(method='broyden1')``).

    Parameters
    ----------
    alpha : float, optional
        ``-1/alpha`` is the initial Jacobian; by default ``0.5 max(|x0|, 1) / |F(x0)|`` as SciPy.
    reduction_method : {'restart', 'simple', 'svd'}, optional
        Accepted for SciPy's signature; the inverse is stored dense, so no rank is reduced.
    max_rank : int, optional
        Accepted and ignored (see ``reduction_method``).

    Differences from SciPy
    ----------------------
    - These objects exist for SciPy's object interface (``setup``, ``update``, ``solve``,
      ``matvec``, ``todense``, ``shape``, ``dtype``) in eager code. They are mutable, like SciPy's,
      so they are not pytrees and are not used under ``jit``/``vmap``: our solvers run the same
      approximation as a pure engine inside their compiled loop. To use it with a solver, give the
      method name and its settings as SciPy's ``root`` does: ``root(F, x0, method='broyden1',
      options={'jac_options': {'alpha': 0.5}})`` or ``broyden1(F, x0, alpha=0.5)``; an instance
      is not accepted as ``jacobian=`` (SciPy's ``nonlin_solve`` is not exported).
    - ``H`` is stored dense (``n x n``) rather than as SciPy's low-rank sum.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import BroydenFirst
    >>> F = lambda x: jnp.array([x[0] + 0.5 * x[1] - 1.0, x[1] - 2.0])
    >>> J = BroydenFirst(alpha=1.0)
    >>> x0 = jnp.zeros(2)
    >>> J.setup(x0, F(x0), F)
    >>> J.todense().tolist()
    [[-1.0, -0.0], [-0.0, -1.0]]
    >>> x1 = x0 - J.solve(F(x0))
    >>> J.update(x1, F(x1))
    >>> bool(jnp.allclose(J.matvec(x1 - x0), F(x1) - F(x0)))   # the secant condition
    True
    """

    def __init__(self, alpha: float | None = None, reduction_method: str = "restart",
                 max_rank: int | None = None):
        super().__init__()
        if reduction_method not in ("restart", "simple", "svd") and not isinstance(reduction_method, tuple):
            raise ValueError(f"Unknown rank reduction method {reduction_method!r} (`reduction_method`).")
        self.alpha = alpha
        self.reduction_method = reduction_method
        self.max_rank = max_rank

    def _engine(self) -> Any:
        return engines.BroydenFirst(alpha=self.alpha)

    def matvec(self, v: ArrayLike) -> Array:
        """``J v`` (a linear solve with the stored inverse)."""
        v = self._checked(v)
        return jnp.linalg.solve(self.state.h, v.ravel()).reshape(v.shape)

    def rmatvec(self, v: ArrayLike) -> Array:
        """``J^H v`` (``J^T v`` for real ``J``)."""
        v = self._checked(v)
        return jnp.linalg.solve(self.state.h.conj().T, v.ravel()).reshape(v.shape)

    def rsolve(self, v: ArrayLike, tol: float = 0) -> Array:
        """``J^-H v`` (``J^-T v`` for real ``J``)."""
        v = self._checked(v)
        return (self.state.h.conj().T @ v.ravel()).reshape(v.shape)


class KrylovJacobian(_Approximation):
    """Newton-Krylov Jacobian approximation, SciPy's ``KrylovJacobian``.

    ``J v`` is the exact forward-mode product of ``func`` at the current point, and ``J^-1 v`` is
    solved by our restarted GMRES (``'lgmres'``, ``'gmres'``) or BiCGStab, as in
    :func:`newton_krylov` and ``root(method='krylov')``.

    Parameters
    ----------
    rdiff : float, optional
        SciPy's finite-difference step; accepted and ignored (products are exact).
    method : {'lgmres', 'gmres', 'bicgstab'}, optional
        The inner Krylov solver (``'lgmres'`` runs restarted GMRES).
    inner_maxiter : int, optional
        Most inner iterations (restart cycles for GMRES).
    inner_M : None
        A preconditioner is not supported; anything but ``None`` raises ``ValueError``.
    outer_k : int, optional
        LGMRES's augmentation size; accepted and ignored.

    Differences from SciPy
    ----------------------
    - These objects exist for SciPy's object interface (``setup``, ``update``, ``solve``,
      ``matvec``, ``todense``, ``shape``, ``dtype``) in eager code. They are mutable, like SciPy's,
      so they are not pytrees and are not used under ``jit``/``vmap``: our solvers run the same
      approximation as a pure engine inside their compiled loop. To use it with a solver, give the
      method name and its settings as SciPy's ``root`` does: ``root(F, x0, method='broyden1',
      options={'jac_options': {'alpha': 0.5}})`` or ``broyden1(F, x0, alpha=0.5)``; an instance
      is not accepted as ``jacobian=`` (SciPy's ``nonlin_solve`` is not exported).
    - ``func`` must be written in JAX (it is linearised with ``jax.linearize``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import KrylovJacobian
    >>> F = lambda x: jnp.array([x[0] ** 2 - 2.0, 3.0 * x[1]])
    >>> J = KrylovJacobian()
    >>> x0 = jnp.array([1.0, 1.0])
    >>> J.setup(x0, F(x0), F)
    >>> J.todense().tolist()   # exact products; J.solve(v) runs the Krylov solve
    [[2.0, 0.0], [0.0, 3.0]]
    """

    def __init__(self, rdiff: float | None = None, method: str = "lgmres", inner_maxiter: int = 20,
                 inner_M: Any = None, outer_k: int = 10, **kw: Any):
        super().__init__()
        if method not in ("lgmres", "gmres", "bicgstab"):
            raise ValueError(f"`method` must be 'lgmres', 'gmres' or 'bicgstab'; got {method!r}.")
        if inner_M is not None:
            raise ValueError("`inner_M` (a preconditioner) is not supported.")
        unknown = set(kw) - {"inner_tol", "inner_atol", "inner_restart"}
        if unknown:
            raise ValueError(f"Unknown options for KrylovJacobian: {sorted(unknown)}.")
        self.rdiff, self.method, self.inner_maxiter, self.outer_k = rdiff, method, int(inner_maxiter), outer_k

    def _engine(self) -> Any:
        return engines.KrylovJacobian(method=self.method, inner_maxiter=self.inner_maxiter)

    def matvec(self, v: ArrayLike) -> Array:
        """``J v``, exactly, by forward-mode differentiation of ``func``."""
        v = self._checked(v)
        _, jv = jax.jvp(lambda z: self._fn(z, None)[0], (self.x,), (v.ravel(),))
        return jv.reshape(v.shape)


class InverseJacobian:
    """The inverse of a Jacobian approximation, SciPy's ``InverseJacobian``.

    Wraps a set-up :class:`BroydenFirst` or :class:`KrylovJacobian` so that ``matvec`` is its
    ``solve`` and ``solve`` its ``matvec``.

    Parameters
    ----------
    jacobian : BroydenFirst or KrylovJacobian
        The approximation to invert (after its ``setup``).

    Differences from SciPy
    ----------------------
    - SciPy's main use is as KrylovJacobian's ``inner_M`` preconditioner, which our
      ``KrylovJacobian`` does not support; the object itself behaves as SciPy's.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import BroydenFirst, InverseJacobian
    >>> J = BroydenFirst(alpha=0.5)
    >>> J.setup(jnp.zeros(2), jnp.ones(2), lambda x: x + 1.0)
    >>> InverseJacobian(J).matvec(jnp.array([2.0, 4.0])).tolist()
    [-1.0, -2.0]
    """

    def __init__(self, jacobian: Any):
        if not hasattr(jacobian, "solve") or not hasattr(jacobian, "matvec"):
            raise TypeError("`jacobian` must have `solve` and `matvec` (a Jacobian approximation).")
        self.jacobian = jacobian

    def matvec(self, v: ArrayLike) -> Array:
        """``J^-1 v``."""
        return self.jacobian.solve(v)

    def solve(self, v: ArrayLike, tol: float = 0) -> Array:
        """``J v``."""
        return self.jacobian.matvec(v)

    def rmatvec(self, v: ArrayLike) -> Array:
        """``J^-H v`` (where the wrapped approximation has ``rsolve``)."""
        return self.jacobian.rsolve(v)

    def update(self, x: ArrayLike, f: ArrayLike) -> None:
        """Forward the step to the wrapped approximation."""
        self.jacobian.update(x, f)

    def setup(self, x0: ArrayLike, f0: ArrayLike, func: Callable) -> None:
        """Forward ``setup`` to the wrapped approximation."""
        self.jacobian.setup(x0, f0, func)

    @property
    def shape(self) -> tuple[int, int]:
        return self.jacobian.shape

    @property
    def dtype(self) -> Any:
        return self.jacobian.dtype
