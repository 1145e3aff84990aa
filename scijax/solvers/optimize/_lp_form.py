"""Input checking for ``linprog``/``milp`` and the differentiable LP core.

``lp_core`` maps the LP data ``(c, A_ub, b_ub, A_eq, b_eq, lb, ub)`` to the solution and its
marginals. The forward pass rewrites the problem in standard form (shifting/flipping bounded
variables, splitting free ones, adding a slack per inequality) and runs the interior-point
engine of ``_solvers/lp_ipm.py``. Its JVP differentiates the KKT conditions on the active set
(see :func:`_lp_core_jvp`).
"""

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jaxtyping import Array

from ._solvers.lp_ipm import hsd_ipm, ruiz_scale

__all__ = ["check_lp_inputs", "parse_lp_bounds", "lp_core", "lp_solve"]


def _is_concrete(x: Any) -> bool:
    return not any(isinstance(leaf, Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _dense(a: Any) -> Any:
    return a.toarray() if hasattr(a, "toarray") else a


def _check_finite(name: str, a: Array) -> None:
    if _is_concrete(a) and not bool(np.all(np.isfinite(np.asarray(a)))):
        raise ValueError(f"`{name}` must not contain values inf, nan, or None.")


def check_lp_inputs(c, A_ub, b_ub, A_eq, b_eq) -> tuple[Array, ...]:
    """Convert to arrays of one float dtype, check shapes and finiteness; ``None`` becomes an
    empty ``(0, n)``/``(0,)`` array. Raises ``ValueError`` naming the offending argument."""
    leaves = [_dense(a) for a in (c, A_ub, b_ub, A_eq, b_eq) if a is not None]
    dtype = jnp.result_type(*[jnp.asarray(a).dtype for a in leaves])
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    c = jnp.asarray(_dense(c), dtype)
    if c.ndim == 0:
        c = c[None]
    if c.ndim != 1:
        raise ValueError(f"`c` must be one-dimensional; got shape {c.shape}.")
    n = c.shape[0]
    if n == 0:
        raise ValueError("`c` must have at least one entry.")
    _check_finite("c", c)
    out = [c]
    for a_name, b_name, A, b in (("A_ub", "b_ub", A_ub, b_ub), ("A_eq", "b_eq", A_eq, b_eq)):
        if (A is None) != (b is None):
            given, missing = (a_name, b_name) if b is None else (b_name, a_name)
            raise ValueError(f"`{given}` is given but `{missing}` is not.")
        if A is None:
            A, b = jnp.zeros((0, n), dtype), jnp.zeros((0,), dtype)
        A = jnp.asarray(_dense(A), dtype)
        b = jnp.atleast_1d(jnp.asarray(_dense(b), dtype))
        if b.ndim == 2 and 1 in b.shape:  # a column or row vector, as SciPy accepts
            b = b.reshape(-1)
        if A.ndim == 1 and A.size == n:
            A = A[None, :]
        if A.ndim != 2 or A.shape[1] != n:
            raise ValueError(f"`{a_name}` must have shape (k, {n}) to match `c`; got {A.shape}.")
        if b.ndim != 1 or b.shape[0] != A.shape[0]:
            raise ValueError(f"`{b_name}` must have shape ({A.shape[0]},) to match `{a_name}`; got {b.shape}.")
        _check_finite(a_name, A)
        _check_finite(b_name, b)
        out += [A, b]
    return tuple(out)


def _bound_column(col: Any, fill: float, dtype) -> Array:
    return jnp.stack([jnp.asarray(fill if e is None else e, dtype) for e in col])


def parse_lp_bounds(bounds: Any, n: int, dtype) -> tuple[Array, Array]:
    """SciPy's ``linprog`` bounds: ``None`` (all ``(0, None)``), one ``(min, max)`` pair for
    every variable, a sequence of ``n`` pairs, an ``(n, 2)`` array, or a ``Bounds``."""
    if bounds is None or (isinstance(bounds, (list, tuple)) and len(bounds) == 0):
        bounds = (0, None)
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lb = jnp.broadcast_to(jnp.asarray(getattr(bounds, "lb"), dtype), (n,))  # noqa: B009 (pyright: Bounds)
        ub = jnp.broadcast_to(jnp.asarray(getattr(bounds, "ub"), dtype), (n,))  # noqa: B009
    elif isinstance(bounds, jax.Array) or (hasattr(bounds, "dtype")
                                           and np.dtype(getattr(bounds, "dtype")) != np.dtype(object)):  # noqa: B009
        arr = jnp.asarray(bounds, dtype)
        if arr.shape == (2,) or arr.shape == (1, 2):
            arr = jnp.broadcast_to(arr.reshape(1, 2), (n, 2))
        if arr.shape != (n, 2):
            raise ValueError(f"`bounds` must have shape (2,) or ({n}, 2); got {arr.shape}.")
        lb, ub = arr[:, 0], arr[:, 1]
        if _is_concrete(arr):
            lb = jnp.where(jnp.isnan(lb), -jnp.inf, lb)
            ub = jnp.where(jnp.isnan(ub), jnp.inf, ub)
    else:
        try:
            pairs = [tuple(p) for p in bounds] if not _is_pair(bounds) else [tuple(bounds)] * n
        except TypeError:
            raise ValueError("`bounds` must be a (min, max) pair or a sequence of pairs.") from None
        if len(pairs) == 1:
            pairs = pairs * n
        if len(pairs) != n or any(len(p) != 2 for p in pairs):
            raise ValueError(f"`bounds` must be one (min, max) pair or {n} pairs (one per variable).")
        lb = _bound_column([p[0] for p in pairs], -np.inf, dtype)
        ub = _bound_column([p[1] for p in pairs], np.inf, dtype)
    return lb, ub  # inconsistent bounds are an infeasible problem (status 2), as in SciPy


def _is_pair(bounds: Any) -> bool:
    try:
        items = list(bounds)
    except TypeError:
        return False
    return len(items) == 2 and all(e is None or np.ndim(e) == 0 for e in items)


def _standard_form(c, A_ub, b_ub, A_eq, b_eq, lb, ub):
    """Rewrite as ``min c_s @ z, A_s @ z = b_s, 0 <= z, z <= u_s (where umask)``.

    ``z = [xp, xm, slack]`` with ``x = o + sg * xp - free * xm``: a variable with a finite
    lower bound is shifted, one with only an upper bound is flipped, a free one is split
    (the ``xm`` of a non-free variable has a zero column and cost 1, so it sits at 0).
    """
    n = c.shape[0]
    m_ub = A_ub.shape[0]
    dt = c.dtype
    lfin, ufin = jnp.isfinite(lb), jnp.isfinite(ub)
    free = (~lfin & ~ufin).astype(dt)
    flip = ~lfin & ufin
    o = jnp.where(lfin, lb, jnp.where(ufin, ub, 0.0))
    sg = jnp.where(flip, -1.0, 1.0).astype(dt)
    boxed = lfin & ufin
    A = jnp.concatenate([A_ub, A_eq], axis=0)
    b = jnp.concatenate([b_ub, b_eq]) - A @ o
    slack_cols = jnp.concatenate([jnp.eye(m_ub, dtype=dt), jnp.zeros((A_eq.shape[0], m_ub), dt)])
    A_s = jnp.concatenate([A * sg, -A * free, slack_cols], axis=1)
    c_s = jnp.concatenate([c * sg, jnp.where(free > 0, -c, 1.0), jnp.zeros(m_ub, dt)])
    zeros = jnp.zeros(n + m_ub, dt)
    umask = jnp.concatenate([boxed.astype(dt), zeros])
    u_s = jnp.concatenate([jnp.where(boxed, ub - lb, 0.0), zeros])
    if A_s.shape[0] == 0:  # bounds only: one empty row keeps the normal equations 1x1
        A_s, b = jnp.zeros((1, A_s.shape[1]), dt), jnp.zeros(1, dt)
    return A_s, b, c_s, umask, u_s, (o, sg, free, lfin, flip, boxed)


def _active_system(c, A_ub, b_ub, A_eq, b_eq, lb, ub, x, m_ub, m_eq, m_l, m_u):
    """Stacked rows ``H = [A_ub; -I; I; A_eq]``, right-hand sides ``r`` (zero where inactive),
    marginals ``lam`` (``c = H^T lam`` at the optimum), the 0/1 active mask ``w`` (equalities,
    and inequalities whose marginal exceeds their slack) and ``K = H^T W H``."""
    n, dt = c.shape[0], c.dtype
    eye = jnp.eye(n, dtype=dt)
    H = jnp.concatenate([A_ub, -eye, eye, A_eq], axis=0)
    beta = jnp.concatenate([b_ub, -lb, ub])
    lam = jnp.concatenate([m_ub, -m_l, m_u, m_eq])
    slack = beta - H[: beta.shape[0]] @ x
    act = jnp.abs(lam[: beta.shape[0]]) > slack
    w = jnp.concatenate([act, jnp.ones(A_eq.shape[0], bool)]).astype(dt)
    r = jnp.where(w > 0, jnp.concatenate([beta, b_eq]), 0.0)
    K = H.T @ (w[:, None] * H)
    return H, r, lam, w, K


def _split(lam, m_ub, n):
    """Marginal blocks ``(ub, eq, lower, upper)`` of a stacked multiplier vector."""
    return lam[:m_ub], lam[m_ub + 2 * n :], -lam[m_ub : m_ub + n], lam[m_ub + n : m_ub + 2 * n]


POLISH_MAX_N = 2000
"""Largest ``n`` for which the interior-point solution is polished on its active set."""


def _polish(c, A_ub, b_ub, A_eq, b_eq, lb, ub, tol, sol):
    """Re-solve the active-set equations for an exact vertex and its multipliers; keep the
    polished point only where it is finite, feasible, close to the interior-point one and
    (for the multipliers) of the right signs, else keep the interior-point solution."""
    x, m_ub, m_eq, m_l, m_u = sol
    n = c.shape[0]
    H, r, lam, w, K = _active_system(c, A_ub, b_ub, A_eq, b_eq, lb, ub, *sol)
    eye = jnp.eye(n, dtype=c.dtype)
    cf = jax.scipy.linalg.cho_factor(K + jnp.finfo(c.dtype).eps * jnp.trace(K) * eye)
    xp = jax.scipy.linalg.cho_solve(cf, H.T @ r)
    lp = w * (H @ jax.scipy.linalg.cho_solve(cf, c))
    scale = 1.0 + jnp.max(jnp.abs(x), initial=0.0)
    feas = jnp.all(A_ub @ xp <= b_ub + tol * (1 + jnp.abs(b_ub)))
    feas &= jnp.all(jnp.abs(A_eq @ xp - b_eq) <= tol * (1 + jnp.abs(b_eq)))
    feas &= jnp.all((xp >= lb - tol * (1 + jnp.abs(xp))) & (xp <= ub + tol * (1 + jnp.abs(xp))))
    good_x = feas & jnp.all(jnp.isfinite(xp)) & (jnp.max(jnp.abs(xp - x)) < 1e3 * tol * scale)
    lscale = 1.0 + jnp.max(jnp.abs(lam), initial=0.0)
    signs = jnp.all(lp[: lam.shape[0] - A_eq.shape[0]] <= tol * lscale)
    close = jnp.max(jnp.abs(lp - lam), initial=0.0) < 1e3 * tol * lscale
    good_l = signs & close & jnp.all(jnp.isfinite(lp))
    lam = jnp.where(good_l, lp, lam)
    return (jnp.where(good_x, xp, x), *_split(lam, A_ub.shape[0], n))


@partial(jax.custom_jvp, nondiff_argnums=(7, 8))
def lp_core(c, A_ub, b_ub, A_eq, b_eq, lb, ub, tol: float, maxiter: int):
    """Solve the LP; return ``(x, m_ub, m_eq, m_lower, m_upper, status, nit)`` where the
    marginals are SciPy's (derivatives of the optimal value with respect to each right-hand
    side and bound). ``x`` is ``nan`` for status 2, 3 and 4."""
    n, m_ub, m_eq = c.shape[0], A_ub.shape[0], A_eq.shape[0]
    A_s, b_s, c_s, umask, u_s, (o, sg, free, lfin, flip, boxed) = _standard_form(c, A_ub, b_ub, A_eq, b_eq, lb, ub)
    r, q = ruiz_scale(A_s)
    sol = hsd_ipm(r[:, None] * A_s * q, r * b_s, q * c_s, umask, u_s / q, tol, maxiter)
    tau = sol.tau
    z = q * sol.x / tau
    y = r * sol.y / tau
    s = sol.s / (q * tau)
    v = sol.v / (q * tau)
    x = o + sg * z[:n] - free * z[n : 2 * n]
    m_l = jnp.where(lfin, s[:n], 0.0)
    m_u = -(jnp.where(boxed, v[:n], 0.0) + jnp.where(flip, s[:n], 0.0))
    out = (x, y[:m_ub], y[m_ub : m_ub + m_eq], m_l, m_u)
    if n <= POLISH_MAX_N:
        out = _polish(c, A_ub, b_ub, A_eq, b_eq, lb, ub, tol, out)
    bad = sol.status >= 2
    out = tuple(jnp.where(bad, jnp.nan, a) for a in out)
    return (*out, sol.status, sol.nit)


@lp_core.defjvp
def _lp_core_jvp(tol, maxiter, primals, tangents):
    """Differentiate the KKT system on the active set.

    With all inequality rows ``G x <= beta`` (``A_ub``, ``-I`` for lower, ``I`` for upper
    bounds), equalities ``A_eq x = b_eq`` and marginals ``lam`` (``c = H^T lam`` over the
    stacked rows ``H``), a row is active when its marginal exceeds its slack. At a unique,
    strictly complementary vertex the active rows ``H_S`` are square and nonsingular, so
    ``H_S dx = dr_S - dH_S x`` and ``H_S^T dlam_S = dc - dH_S^T lam_S``; both are solved with
    ``K = H^T W H`` (``W`` the 0/1 active mask). Elsewhere ``K`` is singular and the tangents
    are not finite. Tangents of an unsuccessful solve are ``nan``.
    """
    c, A_ub, b_ub, A_eq, b_eq, lb, ub = primals
    out = lp_core(c, A_ub, b_ub, A_eq, b_eq, lb, ub, tol, maxiter)
    x, m_ub, m_eq, m_l, m_u, status, nit = out
    n, dt = c.shape[0], c.dtype
    # nan where the solve failed; a product (not a select) so reverse mode carries it too
    poison = jnp.where(status == 0, 1.0, jnp.nan).astype(dt)
    dc, dA_ub, db_ub, dA_eq, db_eq, dlb, dub = (poison * t for t in tangents)
    H, _, lam, w, K = _active_system(c, A_ub, b_ub, A_eq, b_eq, lb, ub, *out[:5])
    dH = jnp.concatenate([dA_ub, jnp.zeros((2 * n, n), dt), dA_eq], axis=0)
    dr = jnp.concatenate([db_ub, -dlb, dub, db_eq])
    dx = jnp.linalg.solve(K, H.T @ (w * (dr - dH @ x)))
    dlam = w * (H @ jnp.linalg.solve(K, dc - dH.T @ (w * lam)))
    tans = tuple(poison * t for t in (dx, *_split(dlam, A_ub.shape[0], n)))
    float0 = lambda a: np.zeros(a.shape, jax.dtypes.float0)  # noqa: E731
    return out, (*tans, float0(status), float0(nit))


lp_solve = jax.jit(lp_core, static_argnums=(7, 8))
"""``lp_core`` compiled once per shape, dtype, ``tol`` and ``maxiter`` (eager calls reuse it)."""
