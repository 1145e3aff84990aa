"""``differential_evolution``'s ``constraints``: SciPy's constraint objects as batched violations.

SciPy's ``differential_evolution`` accepts ``NonlinearConstraint``, ``LinearConstraint`` and
``Bounds`` objects (one, or a sequence); each constraint component ``lb <= c(x) <= ub`` has the
violation ``max(lb - c, 0) + max(c - ub, 0)``, and a point is feasible when all violations are 0
(Lampinen 2002, as SciPy). :class:`DEConstraints` holds the functions (static, hashed by code:
closed-over arrays travel as arguments) and ``A``, ``lb``, ``ub`` (traced: new values, including
a ``NonlinearConstraint``'s ``lb``/``ub`` under ``vmap``, do not recompile). Constraint dicts
(``{'type': 'ineq', ...}``) are rejected, as SciPy rejects them here.

:meth:`DEConstraints.as_rows` turns the constraints into ``minimize``'s dict form for the
trust-constr polish: equality rows where ``lb == ub``, and ``c - lb >= 0``, ``ub - c >= 0``
rows for the finite sides. Which rows are equalities needs concrete ``lb``/``ub``; traced ones
give inequality rows only (two per component, infinite sides made inactive).
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..._concrete import is_concrete
from .._userfn import prepare_bound
from ._constraints import Bounds, LinearConstraint, NonlinearConstraint

__all__ = ["DEConstraints", "parse_de_constraints"]

_KINDS = "NonlinearConstraint, LinearConstraint or Bounds objects (or a sequence of them)"


class DEConstraints(eqx.Module):
    """The constraints of one ``differential_evolution`` call (empty when there are none).

    ``funs[k]`` is ``None`` for a linear constraint or ``Bounds`` (then ``mats[k]`` is ``A``, the
    identity for ``Bounds``), else ``fun(x, *args[k])``. ``masks[k]`` is three tuples of booleans (which
    components have ``lb == ub``, and which have a finite ``lb`` and ``ub``) when the bounds were
    concrete, else ``None``.
    """

    funs: tuple = eqx.field(static=True)
    args: tuple
    mats: tuple
    lbs: tuple
    ubs: tuple
    masks: tuple = eqx.field(static=True)
    sizes: tuple[int, ...] = eqx.field(static=True)
    vectorized: bool = eqx.field(static=True, default=False)

    def values(self, x: Array) -> list[Array]:
        """``c_k(x)`` for each constraint, as 1-D arrays of the declared sizes."""
        out = []
        for fun, args, mat, size in zip(self.funs, self.args, self.mats, self.sizes, strict=True):
            if fun is None:
                c = mat @ x
            elif self.vectorized:  # SciPy's vectorized rule: (N, S) in, (M, S) out
                c = jnp.reshape(jnp.asarray(fun(x[:, None], *args)), (size,))
            else:
                c = jnp.reshape(jnp.asarray(fun(x, *args)), (size,))
            out.append(c.astype(x.dtype))
        return out

    def violations(self, x: Array) -> list[Array]:
        """SciPy's ``violation``: ``max(lb - c, 0) + max(c - ub, 0)`` per constraint component."""
        return [jnp.maximum(lb - c, 0.0) + jnp.maximum(c - ub, 0.0)
                for c, lb, ub in zip(self.values(x), self.lbs, self.ubs, strict=True)]

    def violation(self, x: Array) -> Array:
        """All components' violations in one ``(M,)`` array; NaN (an undefined constraint) is +inf."""
        if not self.sizes:
            return jnp.zeros((0,), x.dtype)
        v = jnp.concatenate(self.violations(x))
        return jnp.where(jnp.isnan(v), jnp.inf, v)

    def as_rows(self) -> list[dict]:
        """The constraints as ``minimize``'s dicts (``fun(x, cons)``, with ``args=(self,)``)."""
        rows: list[dict] = []
        for k, mask in enumerate(self.masks):
            if mask is None:  # traced bounds: two inequality rows per component
                rows.append({"type": "ineq", "args": (self,), "fun": _both_sides(k)})
                continue
            is_eq, lo, hi = (np.asarray(m, bool) for m in mask)
            pick = {"eq": np.flatnonzero(is_eq), "lo": np.flatnonzero(~is_eq & lo), "hi": np.flatnonzero(~is_eq & hi)}
            for side, idx in pick.items():
                if idx.size:
                    rows.append({"type": "eq" if side == "eq" else "ineq", "args": (self,),
                                 "fun": _one_side(k, side, tuple(int(i) for i in idx))})
        return rows


def _one_side(k: int, side: str, idx: tuple[int, ...]) -> Callable:
    sel = np.asarray(idx, int)

    def rows(x: Array, cons: DEConstraints) -> Array:
        c = cons.values(x)[k][sel]
        lb, ub = cons.lbs[k][sel], cons.ubs[k][sel]
        return ub - c if side == "hi" else c - lb

    return rows


def _both_sides(k: int) -> Callable:
    def rows(x: Array, cons: DEConstraints) -> Array:
        c, lb, ub = cons.values(x)[k], cons.lbs[k], cons.ubs[k]
        return jnp.concatenate([jnp.where(jnp.isfinite(lb), c - lb, 1.0), jnp.where(jnp.isfinite(ub), ub - c, 1.0)])

    return rows


def _side(value: Any, m: int, dtype: Any, which: str) -> tuple[Array, bool]:
    """A bound broadcast to ``(m,)`` and whether it is concrete."""
    try:
        arr = jnp.broadcast_to(jnp.asarray(value, dtype), (m,))
    except (TypeError, ValueError):
        raise ValueError(f"`constraints`: `{which}` must broadcast to the {m} constraint components; "
                         f"got shape {np.shape(value)}.") from None
    return arr, is_concrete(arr)


def _one(con: Any, x: Array, vectorized: bool) -> tuple:
    n = x.shape[0]
    if isinstance(con, (LinearConstraint, Bounds)):
        if isinstance(con, LinearConstraint):
            a = con.A.toarray() if hasattr(con.A, "toarray") else con.A  # pyright: ignore[reportAttributeAccessIssue] (scipy.sparse A)
            mat = jnp.atleast_2d(jnp.asarray(a, x.dtype))
        else:
            mat = jnp.eye(n, dtype=x.dtype)
        if mat.ndim != 2 or mat.shape[1] != n:
            raise ValueError(f"`constraints`: a LinearConstraint's `A` must have {n} columns; got shape {mat.shape}.")
        fun, args, m = None, (), mat.shape[0]
    elif isinstance(con, NonlinearConstraint):
        if not callable(con.fun):
            raise ValueError("`constraints`: a NonlinearConstraint's `fun` must be callable.")
        user, args = prepare_bound({"constraints.fun": con.fun}, (x[:, None] if vectorized else x,), (),
                                   solver="differential_evolution")
        fun, mat = user["constraints.fun"], None
        shape = jax.eval_shape(lambda z: fun(z, *args), x[:, None] if vectorized else x).shape
        m = int(np.prod(shape))
    else:
        raise ValueError(f"`constraints` must be {_KINDS}; got {type(con).__name__} "
                         "(constraint dicts are not accepted by differential_evolution, as in SciPy).")
    lb, lb_concrete = _side(con.lb, m, x.dtype, "lb")
    ub, ub_concrete = _side(con.ub, m, x.dtype, "ub")
    mask = None
    if lb_concrete and ub_concrete:
        lb_np, ub_np = np.asarray(lb), np.asarray(ub)
        if np.any(lb_np > ub_np):
            raise ValueError("`constraints`: a lower bound is greater than its upper bound.")
        mask = tuple(tuple(bool(e) for e in m) for m in (lb_np == ub_np, np.isfinite(lb_np), np.isfinite(ub_np)))
    return fun, args, mat, lb, ub, mask, m


def parse_de_constraints(constraints: Any, x: Array, vectorized: bool = False) -> DEConstraints:
    """``constraints`` as SciPy's ``differential_evolution`` takes them; ``x`` gives ``N`` and the dtype."""
    if constraints is None:
        constraints = ()
    if not isinstance(constraints, (list, tuple)):
        constraints = (constraints,)
    parts = [_one(c, x, vectorized) for c in constraints]
    fields = tuple(zip(*parts, strict=True)) if parts else ((),) * 7
    return DEConstraints(*fields, vectorized=vectorized)  # pyright: ignore[reportCallIssue]
