"""Algebraic Riccati equations: ``solve_continuous_are`` and ``solve_discrete_are``.

SciPy finds the stabilising solution from an ordered QZ decomposition of the Hamiltonian or
symplectic pencil; JAX has no ordered Schur/QZ, so the solvers here use iterations built from
matrix inverses and products, which run on every backend:

- CARE: the Newton iteration for the matrix sign function of the Hamiltonian
  ``H = [[A, -G], [-Q, -A^H]]`` with determinant scaling (Roberts 1980; Byers 1987; Gardiner and
  Laub 1986). With ``W = sign(H)`` the stabilising solution solves the overdetermined, consistent
  system ``[W12; W22 + I] X = -[W11 + I; W21]``.
- DARE: the structure-preserving doubling algorithm (Chu, Fan and Lin 2005), quadratically
  convergent to the stabilising solution of ``X = A^H X (I + G X)^{-1} A + Q``.

Each is followed by one Newton step on the Riccati residual (whose linearisation is a Lyapunov or
Stein equation in the closed-loop matrix), which restores full accuracy.

Derivatives are implicit. ``custom_jvp`` differentiates the Riccati residual ``F(X, p) = 0`` with
respect to the data ``p`` at the solution and solves the tangent equation
``dF/dX [dX] = -dF/dp [dp]``: a Lyapunov equation ``Ac^H dX + dX Ac = r`` (CARE) or a Stein
equation ``Ac^H dX Ac - dX = r`` (DARE) in the stable closed-loop matrix ``Ac``. Those are solved
by the sign-function and squared-Smith engines of :mod:`._matrix_eq` inside
``lax.custom_linear_solve``, so reverse mode transposes them without unrolling any loop.
"""

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, is_concrete
from ._matrix_eq import inv_logabsdet, keep_iterating, stable_stein, stable_sylvester

__all__ = ["solve_continuous_are", "solve_discrete_are"]

def _h(x: Array) -> Array:
    return jnp.conj(x).T


def _norm1(x: Array) -> Array:
    return jnp.max(jnp.sum(jnp.abs(x), axis=0))


def _hermitian_part(x: Array) -> Array:
    return (x + _h(x)) / 2


class _Kind(NamedTuple):
    """What differs between the continuous and the discrete equation."""

    residual: Callable[[Array, Array, Array, Array, Array], Array]  # (x, a, b, q, r) -> F
    closed_loop: Callable[[Array, Array, Array, Array], Array]  # (x, a, b, r) -> Ac
    tangent_op: Callable[[Array, Array], Array]  # (ac, y) -> dF/dX [y]
    tangent_solve: Callable[[Array, Array], Array]  # (ac, rhs) -> y with tangent_op(ac, y) = rhs
    start: Callable[[Array, Array, Array, Array], Array]  # (a, b, q, r) -> first solution


# ---------------------------------------------------------------- continuous


def _care_residual(x, a, b, q, r):
    return _h(a) @ x + x @ a - x @ b @ jnp.linalg.solve(r, _h(b) @ x) + q


def _care_closed_loop(x, a, b, r):
    return a - b @ jnp.linalg.solve(r, _h(b) @ x)


def _care_sign(a, b, q, r):
    n = a.shape[0]
    g = b @ jnp.linalg.solve(r, _h(b))
    ham = jnp.block([[a, -g], [-q, -_h(a)]])
    tol = 10 * n * jnp.finfo(a.dtype).eps

    def body(state):
        z, _, k = state
        zi, logdet = inv_logabsdet(z)
        scale = jnp.exp(-logdet / (2 * n)).astype(z.real.dtype)
        scale = jnp.where(jnp.isfinite(scale), scale, 1.0)
        z_new = (scale * z + zi / scale) / 2
        return z_new, _norm1(z_new - z) / _norm1(z_new), k + 1

    def cond(state):
        return keep_iterating(state[1], state[2], tol)

    w = jax.lax.while_loop(cond, body, (ham, jnp.array(1.0, a.real.dtype), 0))[0]
    eye = jnp.eye(n, dtype=a.dtype)
    lhs = jnp.concatenate([w[:n, n:], w[n:, n:] + eye])
    rhs = -jnp.concatenate([w[:n, :n] + eye, w[n:, :n]])
    return jnp.linalg.lstsq(lhs, rhs)[0]


_CONTINUOUS = _Kind(
    residual=_care_residual,
    closed_loop=_care_closed_loop,
    tangent_op=lambda ac, y: _h(ac) @ y + y @ ac,
    tangent_solve=lambda ac, rhs: stable_sylvester(_h(ac), ac, rhs),
    start=_care_sign,
)


# ---------------------------------------------------------------- discrete


def _dare_gain(x, a, b, r):
    return jnp.linalg.solve(r + _h(b) @ x @ b, _h(b) @ x @ a)


def _dare_residual(x, a, b, q, r):
    return _h(a) @ x @ a - x - _h(a) @ x @ b @ _dare_gain(x, a, b, r) + q


def _dare_closed_loop(x, a, b, r):
    return a - b @ _dare_gain(x, a, b, r)


def _dare_doubling(a, b, q, r):
    n = a.shape[0]
    eye = jnp.eye(n, dtype=a.dtype)
    eps = jnp.finfo(a.dtype).eps

    def body(state):
        ak, gk, hk, _, k = state
        w = jnp.linalg.inv(eye + gk @ hk)
        a_new = ak @ w @ ak
        g_new = gk + ak @ w @ gk @ _h(ak)
        h_new = hk + _h(ak) @ hk @ w @ ak
        return a_new, g_new, h_new, _norm1(h_new - hk) / _norm1(h_new), k + 1

    def cond(state):
        return keep_iterating(state[3], state[4], 10 * n * eps)

    g = b @ jnp.linalg.solve(r, _h(b))
    init = (a, g, q, jnp.array(1.0, a.real.dtype), 0)
    return jax.lax.while_loop(cond, body, init)[2]


_DISCRETE = _Kind(
    residual=_dare_residual,
    closed_loop=_dare_closed_loop,
    tangent_op=lambda ac, y: _h(ac) @ y @ ac - y,
    tangent_solve=lambda ac, rhs: stable_stein(_h(ac), ac, rhs),
    start=_dare_doubling,
)


# ---------------------------------------------------------------- shared core


def _tangent_solve(kind: _Kind, ac: Array, rhs: Array) -> Array:
    """``dF/dX [y] = rhs`` as a linear solve JAX can transpose (for reverse mode)."""
    return jax.lax.custom_linear_solve(
        lambda y: kind.tangent_op(ac, y), rhs,
        solve=lambda _, v: kind.tangent_solve(ac, v),
        transpose_solve=lambda _, v: kind.tangent_solve(ac.T, v))


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _riccati(kind: _Kind, a: Array, b: Array, q: Array, r: Array) -> Array:
    x = _hermitian_part(kind.start(a, b, q, r))
    # One Newton step on the residual: X <- X - (dF/dX)^{-1} F(X).
    ac = kind.closed_loop(x, a, b, r)
    x = _hermitian_part(x - kind.tangent_solve(ac, kind.residual(x, a, b, q, r)))
    # No stabilising solution (e.g. an uncontrollable unstable mode) leaves a large residual.
    scale = _norm1(q) + _norm1(x) * (1 + _norm1(a)) ** 2 + jnp.finfo(x.dtype).tiny
    ok = _norm1(kind.residual(x, a, b, q, r)) <= jnp.sqrt(jnp.finfo(x.dtype).eps) * scale
    return jnp.where(ok, x, jnp.nan)


@_riccati.defjvp
def _riccati_jvp(kind, primals, tangents):
    x = _riccati(kind, *primals)
    _, dres = jax.jvp(lambda *p: kind.residual(x, *p), primals, tangents)
    ac = kind.closed_loop(x, *primals[:2], primals[3])
    return x, _tangent_solve(kind, ac, -dres)


def _validate(a, b, q, r, e, s) -> tuple[list[Any], bool, bool]:
    named = [("a", a), ("b", b), ("q", q), ("r", r)]
    if e is not None:
        named.append(("e", e))
    if s is not None:
        named.append(("s", s))
    arrays = [jnp.asarray(v) for _, v in named]
    dtype = inexact(*arrays)
    out = {}
    for (name, _), v in zip(named, arrays, strict=True):
        if v.ndim != 2:
            raise ValueError(f"`{name}` must be a 2-D array, got shape {v.shape}")
        v = v.astype(dtype)
        check_finite_arg(name, v, True)
        out[name] = v
    n, m = out["b"].shape
    expected = {"a": (n, n), "q": (n, n), "r": (m, m), "e": (n, n), "s": (n, m)}
    for name, shape in expected.items():
        if name in out:
            if name in ("a", "q", "r", "e") and out[name].shape[0] != out[name].shape[1]:
                raise ValueError(f"`{name}` must be square, got shape {out[name].shape}")
            if out[name].shape != shape:
                raise ValueError(f"`{name}`: expected shape {shape} from `b` {out['b'].shape}, "
                                 f"got {out[name].shape}")
    for name in ("q", "r"):
        v = out[name]
        if is_concrete(v) and not np.allclose(np.asarray(v), np.conj(np.asarray(v)).T,
                                              atol=100 * float(jnp.finfo(dtype).eps) * (1 + float(jnp.abs(v).max()))):
            raise ValueError(f"`{name}`: matrix {name} should be symmetric/hermitian")
    return [out["a"], out["b"], out["q"], out["r"], out.get("e"), out.get("s")], e is not None, s is not None


def _solve(kind: _Kind, a, b, q, r, e, s, balanced) -> Array:
    if not isinstance(balanced, bool | np.bool_):
        raise TypeError(f"`balanced` must be a bool, got {type(balanced).__name__}")
    (a, b, q, r, e, s), has_e, has_s = _validate(a, b, q, r, e, s)
    return _solve_arrays(kind, a, b, q, r, e, s, has_e, has_s)


@partial(jax.jit, static_argnums=(0, 7, 8))
def _solve_arrays(kind: _Kind, a, b, q, r, e, s, has_e: bool, has_s: bool) -> Array:
    if has_s:
        # Cross term: A <- A - B R^{-1} S^H, Q <- Q - S R^{-1} S^H gives the same solution.
        ris = jnp.linalg.solve(r, _h(s))
        a, q = a - b @ ris, q - s @ ris
    if has_e:
        # Descriptor form: with Xe = E^H X E the equation is the standard one in E^{-1}A, E^{-1}B.
        a, b = jnp.linalg.solve(e, a), jnp.linalg.solve(e, b)
    x = _riccati(kind, a, b, _hermitian_part(q), _hermitian_part(r))
    if has_e:
        y = jnp.linalg.solve(_h(e), x)  # E^{-H} Xe
        x = _hermitian_part(_h(jnp.linalg.solve(_h(e), _h(y))))  # E^{-H} Xe E^{-1}
    return x


_DOC_DIFF = """
    Differences from SciPy
    ----------------------
    - Algorithm: {algo}, then one Newton step on the residual, instead of SciPy's ordered QZ
      decomposition of the {pencil} (JAX has no ordered Schur/QZ). It runs on CPU and GPU.
    - Differentiable with respect to every input (implicitly: one {tangent} equation in the
      closed-loop matrix per tangent), which SciPy is not.
    - ``balanced`` is accepted and ignored (no balancing is done).
    - ``e`` must be invertible: the descriptor equation is reduced to the standard one in
      ``e^{{-1}} a`` and ``e^{{-1}} b``.
    - No stabilising solution (or an iteration that does not converge) gives non-finite values
      instead of ``LinAlgError``.
"""


def solve_continuous_are(a: ArrayLike, b: ArrayLike, q: ArrayLike, r: ArrayLike, e: ArrayLike | None = None,
                         s: ArrayLike | None = None, balanced: bool = True) -> Array:
    """Stabilising solution of the continuous algebraic Riccati equation; mirrors
    :func:`scipy.linalg.solve_continuous_are`.

    ``a^H x e + e^H x a - (e^H x b + s) r^{-1} (b^H x e + s^H) + q = 0``.

    Parameters
    ----------
    a : array, shape (M, M)
    b : array, shape (M, N)
    q : array, shape (M, M)
        Hermitian.
    r : array, shape (N, N)
        Hermitian, invertible.
    e : array, shape (M, M), optional
        Invertible (default identity).
    s : array, shape (M, N), optional
        Cross term (default zero).
    balanced : bool
        Ignored.

    Returns
    -------
    x : array, shape (M, M)
        The Hermitian stabilising solution.
    {diff}
    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_continuous_are
    >>> a = jnp.array([[4.0, 3.0], [-4.5, -3.5]])
    >>> b = jnp.array([[1.0], [-1.0]])
    >>> q = jnp.array([[9.0, 6.0], [6.0, 4.0]])
    >>> x = solve_continuous_are(a, b, q, jnp.array([[1.0]]))
    >>> x.round(4).tolist()
    [[21.7279, 14.4853], [14.4853, 9.6569]]
    """
    return _solve(_CONTINUOUS, a, b, q, r, e, s, balanced)


def solve_discrete_are(a: ArrayLike, b: ArrayLike, q: ArrayLike, r: ArrayLike, e: ArrayLike | None = None,
                       s: ArrayLike | None = None, balanced: bool = True) -> Array:
    """Stabilising solution of the discrete algebraic Riccati equation; mirrors
    :func:`scipy.linalg.solve_discrete_are`.

    ``a^H x a - e^H x e - (a^H x b + s)(r + b^H x b)^{-1}(b^H x a + s^H) + q = 0``.

    Parameters
    ----------
    a : array, shape (M, M)
    b : array, shape (M, N)
    q : array, shape (M, M)
        Hermitian.
    r : array, shape (N, N)
        Hermitian, invertible.
    e : array, shape (M, M), optional
        Invertible (default identity).
    s : array, shape (M, N), optional
        Cross term (default zero).
    balanced : bool
        Ignored.

    Returns
    -------
    x : array, shape (M, M)
        The Hermitian stabilising solution.
    {diff}
    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_discrete_are
    >>> a = jnp.array([[0.9, 0.2], [0.0, 1.1]])
    >>> b = jnp.array([[0.0], [1.0]])
    >>> x = solve_discrete_are(a, b, jnp.eye(2), jnp.array([[1.0]]))
    >>> k = jnp.linalg.solve(1.0 + b.T @ x @ b, b.T @ x @ a)   # the optimal LQR gain
    >>> bool(jnp.abs(jnp.linalg.eigvals(a - b @ k)).max() < 1)   # closes a stable loop
    True
    """
    return _solve(_DISCRETE, a, b, q, r, e, s, balanced)


solve_continuous_are.__doc__ = (solve_continuous_are.__doc__ or "").replace("{diff}", _DOC_DIFF.format(
    algo="the matrix sign function of the Hamiltonian (scaled Newton iteration)",
    pencil="Hamiltonian pencil", tangent="Lyapunov"))
solve_discrete_are.__doc__ = (solve_discrete_are.__doc__ or "").replace("{diff}", _DOC_DIFF.format(
    algo="the structure-preserving doubling algorithm", pencil="symplectic pencil", tangent="Stein"))
