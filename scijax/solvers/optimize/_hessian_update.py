"""Quasi-Newton Hessian update strategies (``scipy.optimize.HessianUpdateStrategy``, ``BFGS``, ``SR1``).

Passed as ``hess=BFGS()`` or ``hess=SR1()`` to ``minimize(method='trust-constr')``, they make the
solver approximate the Hessian of the Lagrangian from differences of its gradient instead of
differentiating twice. They can also be used on their own, as in SciPy, with one difference:
the objects are immutable JAX pytrees, so ``initialize`` and ``update`` *return* the updated
strategy instead of changing it in place (``h = h.update(dx, dg)``). Formulas: Nocedal & Wright,
*Numerical Optimization*, 2nd ed., (6.19) BFGS, (6.24) SR1, (6.20) the first-step scaling,
(18.15) Powell's damping.
"""

import abc
import dataclasses
from typing import Any

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

__all__ = ["HessianUpdateStrategy", "BFGS", "SR1", "quasi_newton_update"]

_APPROX_TYPES = ("hess", "inv_hess")


def _check_scale(init_scale: Any) -> Any:
    if isinstance(init_scale, str):
        if init_scale != "auto":
            raise ValueError(f"`init_scale` must be 'auto' or a number; got {init_scale!r}.")
        return init_scale
    return float(init_scale)


def _auto_scale(s: Array, y: Array, approx_type: str) -> Array:
    # N&W (6.20): B0 = (y.y / y.s) I (its inverse for H0).
    ss, yy, ys = jnp.dot(s, s), jnp.dot(y, y), jnp.abs(jnp.dot(y, s))
    bad = (ys == 0) | (yy == 0) | (ss == 0)
    ratio = yy / jnp.where(bad, 1.0, ys) if approx_type == "hess" else ys / jnp.where(bad, 1.0, yy)
    return jnp.where(bad, 1.0, ratio)


def _bfgs(m: Array, s: Array, y: Array, approx_type: str, strategy: str, min_curvature: float) -> Array:
    if approx_type == "inv_hess":  # the same update with the roles of s and y swapped, on H = B^-1
        s, y = y, s
    ms = m @ s
    sms = jnp.dot(s, ms)
    sy = jnp.dot(s, y)
    weak = sy <= min_curvature * sms
    if strategy == "damp_update":  # Powell: move y towards M s until the curvature is enough
        theta = (1 - min_curvature) / jnp.where(weak, 1 - sy / jnp.where(sms != 0, sms, 1.0), 1.0)
        y = jnp.where(weak, theta * y + (1 - theta) * ms, y)
        sy = jnp.dot(s, y)
        weak = sy <= 0
    if approx_type == "hess":
        new = m - jnp.outer(ms, ms) / jnp.where(sms != 0, sms, 1.0) + jnp.outer(y, y) / jnp.where(weak, 1.0, sy)
    else:  # N&W (6.17) on the inverse: H+ = (I - rho s y^T) H (I - rho y s^T) + rho s s^T, with (s, y) swapped back
        rho = 1.0 / jnp.where(weak, 1.0, sy)
        e = jnp.eye(m.shape[0], dtype=m.dtype) - rho * jnp.outer(y, s)
        new = e @ m @ e.T + rho * jnp.outer(y, y)
    return jnp.where(weak | (sms <= 0), m, new)


def _sr1(m: Array, s: Array, y: Array, approx_type: str, min_denominator: float) -> Array:
    if approx_type == "inv_hess":
        s, y = y, s
    r = y - m @ s
    denom = jnp.dot(r, s)
    skip = jnp.abs(denom) <= min_denominator * jnp.linalg.norm(s) * jnp.linalg.norm(r)
    return jnp.where(skip, m, m + jnp.outer(r, r) / jnp.where(skip, 1.0, denom))


def quasi_newton_update(strategy: "HessianUpdateStrategy", m: Array, first: Array, s: Array, y: Array) -> Array:
    """One update of the matrix ``m`` by ``strategy``'s rule; ``first`` applies ``init_scale``
    before it (SciPy scales the identity at the first update). A zero ``s`` or ``y`` leaves ``m``."""
    scale = strategy.init_scale
    factor = _auto_scale(s, y, strategy.approx_type) if isinstance(scale, str) else jnp.asarray(scale, m.dtype)
    m0 = jnp.where(first, factor * m, m)
    new = strategy.rule(m0, s, y)
    keep = jnp.all(s == 0) | jnp.all(y == 0)
    return jnp.where(keep, m, new)


class HessianUpdateStrategy(eqx.Module):
    """Interface of quasi-Newton Hessian (or inverse Hessian) approximations.

    Like SciPy's ``HessianUpdateStrategy``: ``initialize(n, approx_type)``, ``update(delta_x,
    delta_grad)``, ``dot(p)`` (also ``@``) and ``get_matrix()``. Subclasses give the fields
    ``approx_type``, ``init_scale``, ``matrix`` and ``first`` and the update ``rule``.

    Differences from SciPy
    ----------------------
    The objects are immutable pytrees: ``initialize`` and ``update`` return the new strategy
    (``h = h.update(dx, dg)``) instead of changing ``h`` in place, so they work under ``jit``.
    """

    approx_type: eqx.AbstractVar[str]
    init_scale: eqx.AbstractVar[Any]
    matrix: eqx.AbstractVar[Array | None]
    first: eqx.AbstractVar[Array | None]

    @abc.abstractmethod
    def rule(self, m: Array, s: Array, y: Array) -> Array:
        """The update of ``m`` from the step ``s`` and the gradient change ``y``."""

    def initialize(self, n: int, approx_type: str) -> "HessianUpdateStrategy":
        """The strategy with an ``n x n`` identity matrix for ``approx_type`` 'hess' or 'inv_hess'."""
        if approx_type not in _APPROX_TYPES:
            raise ValueError(f"`approx_type` must be 'hess' or 'inv_hess'; got {approx_type!r}.")
        return dataclasses.replace(self, approx_type=approx_type, matrix=jnp.eye(int(n)),  # type: ignore[type-var]
                                   first=jnp.array(True))

    def update(self, delta_x: ArrayLike, delta_grad: ArrayLike) -> "HessianUpdateStrategy":
        """The strategy after one update with ``delta_x = x2 - x1``, ``delta_grad = g(x2) - g(x1)``."""
        if self.matrix is None or self.first is None:
            raise ValueError("Call `initialize(n, approx_type)` before `update`.")
        s, y = jnp.asarray(delta_x, self.matrix.dtype), jnp.asarray(delta_grad, self.matrix.dtype)
        new = quasi_newton_update(self, self.matrix, self.first, s, y)
        moved = ~(jnp.all(s == 0) | jnp.all(y == 0))
        return dataclasses.replace(self, matrix=new, first=self.first & ~moved)  # type: ignore[type-var]

    def dot(self, p: ArrayLike) -> Array:
        """The product of the current matrix with ``p``."""
        return self.get_matrix() @ jnp.asarray(p)

    def __matmul__(self, p: ArrayLike) -> Array:
        return self.dot(p)

    def get_matrix(self) -> Array:
        """The current (dense) approximation of the Hessian or of its inverse."""
        if self.matrix is None:
            raise ValueError("Call `initialize(n, approx_type)` first.")
        return self.matrix


class BFGS(HessianUpdateStrategy):
    """Broyden-Fletcher-Goldfarb-Shanno update (``scipy.optimize.BFGS``).

    Attributes
    ----------
    exception_strategy : str
        What to do when the curvature condition ``s.y > min_curvature s.B s`` fails:
        'skip_update' (default) or 'damp_update' (Powell's damping).
    min_curvature : float
        Default ``1e-8`` for 'skip_update', ``0.2`` for 'damp_update', as in SciPy.
    init_scale : str or float
        'auto' (scale the identity by ``y.y / y.s`` at the first update) or a number.

    Differences from SciPy
    ----------------------
    Immutable: ``initialize``/``update`` return the new object. ``init_scale`` must be 'auto' or a
    scalar (SciPy also accepts a matrix).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import BFGS
    >>> h = BFGS().initialize(2, "hess").update(jnp.array([1.0, 0.0]), jnp.array([2.0, 0.0]))
    >>> h.get_matrix().tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """

    exception_strategy: str = eqx.field(static=True, default="skip_update")
    min_curvature: float = eqx.field(static=True, default=None)  # type: ignore[assignment]
    init_scale: Any = eqx.field(static=True, default="auto")
    approx_type: str = eqx.field(static=True, default="hess")
    matrix: Array | None = None
    first: Array | None = None

    def __check_init__(self):
        if self.exception_strategy not in ("skip_update", "damp_update"):
            raise ValueError("`exception_strategy` must be 'skip_update' or 'damp_update'; got "
                             f"{self.exception_strategy!r}.")

    def __post_init__(self):
        default = 1e-8 if self.exception_strategy == "skip_update" else 0.2
        object.__setattr__(self, "min_curvature", default if self.min_curvature is None else float(self.min_curvature))
        object.__setattr__(self, "init_scale", _check_scale(self.init_scale))

    def rule(self, m: Array, s: Array, y: Array) -> Array:
        return _bfgs(m, s, y, self.approx_type, self.exception_strategy, self.min_curvature)


class SR1(HessianUpdateStrategy):
    """Symmetric-rank-1 update (``scipy.optimize.SR1``).

    Attributes
    ----------
    min_denominator : float
        Skip the update when ``|s.(y - B s)| <= min_denominator |s| |y - B s|`` (default 1e-8).
    init_scale : str or float
        'auto' (scale the identity by ``y.y / y.s`` at the first update) or a number.

    Differences from SciPy
    ----------------------
    Immutable: ``initialize``/``update`` return the new object. ``init_scale`` must be 'auto' or a
    scalar.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import SR1
    >>> h = SR1(init_scale=1.0).initialize(2, "hess").update(jnp.array([1.0, 0.0]), jnp.array([3.0, 0.0]))
    >>> h.dot(jnp.array([1.0, 1.0])).tolist()
    [3.0, 1.0]
    """

    min_denominator: float = eqx.field(static=True, default=1e-8)
    init_scale: Any = eqx.field(static=True, default="auto")
    approx_type: str = eqx.field(static=True, default="hess")
    matrix: Array | None = None
    first: Array | None = None

    def __post_init__(self):
        object.__setattr__(self, "init_scale", _check_scale(self.init_scale))

    def rule(self, m: Array, s: Array, y: Array) -> Array:
        return _sr1(m, s, y, self.approx_type, self.min_denominator)
