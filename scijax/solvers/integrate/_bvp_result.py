"""Result types of ``solve_bvp``: :class:`BVPResult` and its continuous solution :class:`BVPSolution`."""

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..._typing import Array, ArrayLike
from .._display import format_fields
from ._bvp_collocation import spline

__all__ = ["BVPResult", "BVPSolution", "MESSAGES"]

MESSAGES = {
    0: "The algorithm converged to the desired accuracy.",
    1: "The maximum number of mesh nodes is exceeded.",
    2: "A singular Jacobian encountered when solving the collocation system.",
    3: "The solver was unable to satisfy boundary conditions tolerance on iteration 10.",
}


def _traced(x: Any) -> bool:
    return any(isinstance(leaf, Tracer) for leaf in jax.tree_util.tree_leaves(x))


class BVPSolution(eqx.Module):
    """The ``C^1`` cubic spline of :func:`solve_bvp` (SciPy returns the same spline as a ``PPoly``).

    ``sol(x)`` has shape ``(n,)`` for a scalar ``x`` and ``(n, len(x))`` for a 1-D array; ``sol(x, 1)``
    is the derivative. Outside the mesh the end cubics are extended (``PPoly``'s extrapolation). It
    is a pytree, differentiable in ``x`` and in whatever the solve depended on.
    """

    nodes: Array  # (cap,) mesh buffer, padded with its last node
    values: Array  # (cap, n)
    slopes: Array  # (cap, n)
    n_nodes: Any

    def __call__(self, x: ArrayLike, nu: int = 0) -> Array | np.ndarray:
        x = jnp.asarray(x, self.nodes.dtype)
        if x.ndim > 1:
            raise ValueError("`x` must be a float or a 1-D array.")
        out = spline(self.nodes, self.values, self.slopes, self.n_nodes, jnp.atleast_1d(x), nu).T
        out = out[:, 0] if x.ndim == 0 else out
        return out if _traced((out, x)) else np.asarray(out)


class BVPResult(eqx.Module):
    """Result of :func:`solve_bvp`, with SciPy's field names.

    Attributes
    ----------
    sol : BVPSolution
        The cubic spline solution (callable).
    p : Array or None
        The unknown parameters found, or ``None`` when there are none.
    x : Array, shape (m,)
        The final mesh. Under ``jit``/``vmap`` a buffer of fixed capacity, padded with its last
        node; ``n_nodes`` counts the live nodes. Eager calls are trimmed to SciPy's shapes (NumPy).
    y, yp : Array, shape (n, m)
        The solution and its derivative ``f(x, y, p)`` at the mesh nodes.
    rms_residuals : Array, shape (m - 1,)
        RMS relative residual on each interval.
    niter : int
        Number of completed iterations (Newton solve plus mesh refinement).
    status : int
        0 converged, 1 ``max_nodes`` exceeded, 2 singular Jacobian, 3 boundary conditions not met
        to ``bc_tol`` on iteration 10.
    success : bool
        ``status == 0``.
    n_nodes : int
        Number of live nodes (not a SciPy field).
    """

    # Arrays under transformations; NumPy arrays and Python scalars after an eager call (as SciPy's).
    sol: BVPSolution
    p: Any
    x: Any
    y: Any
    yp: Any
    rms_residuals: Any
    niter: Any
    status: Any
    success: Any
    n_nodes: Any

    @property
    def message(self) -> str:
        """SciPy's termination message for ``status``."""
        if _traced(self.status):
            raise TypeError("`message` is available outside jit/vmap only; read `status` inside.")
        status = np.asarray(self.status)
        return "; ".join(MESSAGES[int(s)] for s in np.unique(status))

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __repr__(self) -> str:
        names = ["sol", "p", "x", "y", "yp", "rms_residuals", "niter", "status", "success"]
        fields = [(k, getattr(self, k)) for k in names]
        if not _traced(self.status):
            fields.append(("message", self.message))
        return format_fields(fields)
