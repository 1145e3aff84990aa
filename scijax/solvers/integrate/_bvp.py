"""``solve_bvp``: SciPy's facade over the collocation engine (:mod:`._bvp_solver`)."""

import math
import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete
from ..._typing import Array, ArrayLike
from .._closure import bind_closures
from ._bvp_collocation import Problem, pointwise_jac
from ._bvp_result import BVPResult, BVPSolution
from ._bvp_solver import run

__all__ = ["solve_bvp"]


def solve_bvp(fun: Callable[..., Any], bc: Callable[..., Any], x: ArrayLike, y: ArrayLike,
              p: ArrayLike | None = None, S: ArrayLike | None = None, fun_jac: Callable[..., Any] | None = None,
              bc_jac: Callable[..., Any] | None = None, tol: float = 0.001, max_nodes: int = 1000,
              verbose: int = 0, bc_tol: float | None = None) -> BVPResult:
    """Solve a boundary value problem for a system of ODEs (mirrors :func:`scipy.integrate.solve_bvp`).

    Solves ``y' = f(x, y, p) + S y / (x - a)`` on ``[a, b]`` with ``bc(y(a), y(b), p) = 0`` by the
    4th-order collocation of Kierzenka & Shampine (three-stage Lobatto IIIa, MATLAB's ``bvp4c``,
    SciPy's algorithm): a damped Newton solve of the collocation equations, the RMS of the relative
    residual of the cubic spline solution on each interval (5-point Lobatto quadrature), and node
    insertion (one node where it exceeds ``tol``, two where it exceeds ``100 tol``) until it is below
    ``tol`` everywhere.

    Parameters
    ----------
    fun : callable
        ``fun(x, y)`` or ``fun(x, y, p)``: ``x`` shape ``(m,)``, ``y`` shape ``(n, m)``, returns
        ``(n, m)``. Written with ``jax.numpy``.
    bc : callable
        ``bc(ya, yb)`` or ``bc(ya, yb, p)``, returns the ``n + k`` boundary residuals.
    x : array_like, shape (m,)
        Initial mesh, strictly increasing, ``x[0] = a`` and ``x[-1] = b``.
    y : array_like, shape (n, m)
        Initial guess of the solution at the mesh nodes.
    p : array_like, shape (k,), optional
        Initial guess of the unknown parameters.
    S : array_like, shape (n, n), optional
        Matrix of the singular term ``S y / (x - a)``. ``S y(a) = 0`` must hold; the guess is
        projected onto it, and ``f`` at ``x = a`` is multiplied by ``pinv(I - S)``, as in SciPy.
    fun_jac, bc_jac : callable, optional
        Jacobians as in SciPy (``df_dy`` ``(n, n, m)``, ``df_dp`` ``(n, k, m)``; ``dbc_dya``,
        ``dbc_dyb`` ``(n + k, n)``, ``dbc_dp`` ``(n + k, k)``). By default, automatic differentiation.
    tol : float, optional
        Tolerance on the RMS relative residual. Raised to ``100 eps`` if smaller (with a warning).
    max_nodes : int, optional
        Maximum number of mesh nodes; static: it fixes the buffer capacity (see below).
    verbose : {0, 1, 2}, optional
        Accepted for compatibility; nothing is printed (see Differences).
    bc_tol : float, optional
        Tolerance on the boundary residuals; default ``tol``.

    Returns
    -------
    BVPResult
        ``sol`` (callable cubic spline), ``p``, ``x``, ``y``, ``yp``, ``rms_residuals``, ``niter``,
        ``status``, ``message``, ``success`` as SciPy's, plus ``n_nodes``.

    Differences from SciPy
    ----------------------
    - **Fixed capacity.** The mesh lives in a buffer of ``2**ceil(log2(max_nodes - 1)) + 1`` nodes
      padded with the last node (intervals of zero length, whose equations ``y_{i+1} = y_i`` are
      inert), with the live count in ``n_nodes``; so ``jit`` and ``vmap`` work and a new mesh never
      recompiles. Eager calls are trimmed to SciPy's shapes. The capacity costs memory and time in
      proportion to ``max_nodes``: set it near what the problem needs.
    - **Linear algebra.** The almost-block-diagonal Newton system is solved by Wright's structured
      QR reduction (``log2`` levels of small batched QRs) instead of a sparse LU; Newton takes a
      fresh Jacobian every iteration (at most 8 per mesh) with backtracking ``1, 1/2, 1/4, 1/8``.
    - **Derivatives.** ``jax.grad``/``jax.jacfwd`` work with respect to arrays ``fun`` and ``bc``
      close over (parameters, boundary data) by the implicit function theorem on the converged
      collocation system of the final mesh (SciPy's is not differentiable). The guesses ``x``, ``y``,
      ``p`` get zero derivatives. A derivative through a solve with ``status != 0`` is NaN.
    - ``sol`` is a :class:`BVPSolution`, not a ``PPoly`` (same values; ``sol(x, nu)`` for
      ``nu`` in 0, 1).
    - ``verbose`` prints nothing (no printing from compiled code). User functions must be traceable
      by JAX; complex problems are not supported.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import solve_bvp
    >>> fun = lambda x, y: jnp.vstack([y[1], -jnp.exp(y[0])])
    >>> bc = lambda ya, yb: jnp.array([ya[0], yb[0]])
    >>> x = jnp.linspace(0.0, 1.0, 5)
    >>> res = solve_bvp(fun, bc, x, jnp.zeros((2, 5)), max_nodes=64)
    >>> int(res.status), bool(abs(res.sol(0.5)[0] - 0.14050) < 1e-4)
    (0, True)
    """
    del verbose
    x, y, p, k, tol, bc_tol = _check(fun, bc, x, y, p, tol, bc_tol, max_nodes)
    n, m = y.shape
    S_arr = None if S is None else jnp.asarray(S, y.dtype)
    if S_arr is not None and S_arr.shape != (n, n):
        raise ValueError(f"`S` is expected to have shape {(n, n)}, but actually has {S_arr.shape}.")
    funcs, extra = bind_closures((fun, bc, fun_jac, bc_jac), ())
    bundle = extra[0] if extra else None
    _check_outputs(funcs, bundle, x, y, p, k)
    cap = 2 ** max(math.ceil(math.log2(max(max_nodes - 1, 1))), 0) + 1
    x_buf = jnp.concatenate([x, jnp.full(cap - m, x[-1], x.dtype)])
    y_buf = jnp.concatenate([y.T, jnp.broadcast_to(y[:, -1], (cap - m, n))])
    out = _solve(funcs, bundle is not None, k, max_nodes, bundle, x_buf, y_buf, p, jnp.asarray(m, jnp.int32),
                 jnp.asarray(tol, y.dtype), jnp.asarray(bc_tol, y.dtype), S_arr)
    return _pack(out, k)


def _check(fun, bc, x, y, p, tol, bc_tol, max_nodes):
    if not callable(fun) or not callable(bc):
        raise TypeError("`fun` and `bc` must be callable.")
    if not isinstance(max_nodes, int | np.integer) or isinstance(max_nodes, bool):
        raise TypeError("`max_nodes` must be an int (it sets a static buffer capacity).")
    x = jnp.asarray(x)
    if x.ndim != 1:
        raise ValueError("`x` must be 1 dimensional.")
    y = jnp.asarray(y)
    if jnp.issubdtype(y.dtype, jnp.complexfloating) or jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError("`y` must be real: complex problems are not supported (split into real parts).")
    dtype = jnp.result_type(x.dtype, y.dtype, float)
    x, y = x.astype(dtype), y.astype(dtype)
    if y.ndim != 2:
        raise ValueError("`y` must be 2 dimensional.")
    if y.shape[1] != x.shape[0]:
        raise ValueError(f"`y` is expected to have {x.shape[0]} columns, but actually has {y.shape[1]}.")
    if x.shape[0] < 2:
        raise ValueError("`x` must contain at least 2 nodes.")
    if x.shape[0] > max_nodes:
        raise ValueError(f"`max_nodes` ({max_nodes}) is smaller than the initial mesh ({x.shape[0]} nodes).")
    if is_concrete(x, y):
        xs = np.asarray(x)
        if not np.all(np.isfinite(xs)) or np.any(np.diff(xs) <= 0):
            raise ValueError("`x` must be strictly increasing and finite.")
        if not np.all(np.isfinite(np.asarray(y))):
            raise ValueError("`y` must be finite.")
    p = jnp.zeros(0, dtype) if p is None else jnp.asarray(p, dtype)
    if p.ndim != 1:
        raise ValueError("`p` must be 1 dimensional.")
    if is_concrete(tol):
        eps = float(jnp.finfo(dtype).eps)
        if not float(tol) > 0:
            raise ValueError("`tol` must be positive.")
        if float(tol) < 100 * eps:
            warnings.warn(f"`tol` is too low, setting to {100 * eps:.2e}", stacklevel=3)
            tol = 100 * eps
    if bc_tol is None:
        bc_tol = tol
    elif is_concrete(bc_tol) and not float(bc_tol) > 0:
        raise ValueError("`bc_tol` must be positive.")
    return x, y, p, p.shape[0], tol, bc_tol


def _user(f: Callable, bundle: Any, k: int) -> Callable:
    """``f(a, b, p)`` calling the user's ``f(a, b[, p][, bundle])``."""
    extra = () if bundle is None else (bundle,)
    return lambda a, b, p: f(a, b, *((p,) if k else ()), *extra)


def _check_outputs(funcs, bundle, x, y, p, k):
    n = y.shape[0]
    f_out = jax.eval_shape(_user(funcs[0], bundle, k), x, y, p)
    if tuple(f_out.shape) != (n, x.shape[0]):
        raise ValueError(f"`fun` return is expected to have shape {(n, x.shape[0])}, "
                         f"but actually has {tuple(f_out.shape)}.")
    bc_out = jax.eval_shape(_user(funcs[1], bundle, k), y[:, 0], y[:, -1], p)
    if tuple(bc_out.shape) != (n + k,):
        raise ValueError(f"`bc` return is expected to have shape {(n + k,)}, "
                         f"but actually has {tuple(bc_out.shape)}.")


def _make_problem(funcs, has_bundle: bool, k: int, a: Array, S: Array | None) -> Callable[[Any], Problem]:
    fun, bc, fun_jac, bc_jac = funcs

    def make(bundle: Any) -> Problem:
        b = bundle if has_bundle else None
        user_f, user_bc = _user(fun, b, k), _user(bc, b, k)
        if S is not None:
            eye = jnp.eye(S.shape[0], dtype=S.dtype)
            D = jnp.linalg.pinv(eye - S)

        def singular(x, out, extra):  # the singular term: D f at x = a, f + extra / (x - a) elsewhere
            at_a = (x == a)[:, None]
            dx = jnp.where(at_a, 1.0, (x - a)[:, None])
            return jnp.where(at_a, out @ D.T, out + extra / dx)

        def f_nodes(x, y, p):
            out = jnp.asarray(user_f(x, y.T, p)).T.astype(y.dtype)
            return out if S is None else singular(x, out, y @ S.T)

        if fun_jac is None:
            jac = pointwise_jac(lambda xi, yi, p: f_nodes(xi[None], yi[None], p)[0])
        else:
            def jac(x, y, p):
                got = _user(fun_jac, b, k)(x, y.T, p)
                jy = jnp.moveaxis(jnp.asarray(got[0] if k else got, y.dtype), -1, 0)
                jp = (jnp.moveaxis(jnp.asarray(got[1], y.dtype), -1, 0) if k
                      else jnp.zeros((x.shape[0], y.shape[1], 0), y.dtype))
                if S is None:
                    return jy, jp
                at_a = (x == a)[:, None, None]
                dx = jnp.where(at_a, 1.0, (x - a)[:, None, None])
                return jnp.where(at_a, D @ jy, jy + S / dx), jnp.where(at_a, D @ jp, jp)

        bc_fn = lambda ya, yb, p: jnp.asarray(user_bc(ya, yb, p)).astype(ya.dtype)
        if bc_jac is None:
            bcj = jax.jacfwd(bc_fn, argnums=(0, 1, 2))
        else:
            def bcj(ya: Array, yb: Array, p: Array) -> tuple[Array, Array, Array]:
                got = _user(bc_jac, b, k)(ya, yb, p)
                d_a, d_b = jnp.asarray(got[0], ya.dtype), jnp.asarray(got[1], ya.dtype)
                d_p = jnp.asarray(got[2], ya.dtype) if k else jnp.zeros((ya.shape[0] + k, 0), ya.dtype)
                return d_a, d_b, d_p
        return Problem(f_nodes, jac, bc_fn, bcj)

    return make


@eqx.filter_jit
def _solve(funcs, has_bundle, k, max_nodes, bundle, x, y, p, m, tol, bc_tol, S):
    a = jax.lax.stop_gradient(x[0])
    proj = None
    if S is not None:
        proj = jnp.eye(S.shape[0], dtype=S.dtype) - jnp.linalg.pinv(S) @ S
    make = _make_problem(funcs, has_bundle, k, a, S)
    return run(make, bundle, x, y, p, m, tol, bc_tol, max_nodes, proj)


def _pack(st, k: int) -> BVPResult:
    sol = BVPSolution(st.x, st.y, st.f, st.m)
    res = BVPResult(sol=sol, p=st.p if k else None, x=st.x, y=st.y.T, yp=st.f.T, rms_residuals=st.rms,
                    niter=st.niter, status=st.status, success=st.status == 0, n_nodes=st.m)
    if not is_concrete(res.x, res.y, res.status, res.p):
        return res
    m = int(st.m)
    return BVPResult(sol=sol, p=None if not k else np.asarray(st.p), x=np.asarray(st.x[:m]),
                     y=np.asarray(st.y.T[:, :m]), yp=np.asarray(st.f.T[:, :m]),
                     rms_residuals=np.asarray(st.rms[:m - 1]), niter=int(st.niter), status=int(st.status),
                     success=bool(st.status == 0), n_nodes=m)
