"""Linear matrix equations: ``solve_sylvester``, ``solve_continuous_lyapunov`` and
``solve_discrete_lyapunov``, plus two iterative engines the Riccati solvers use for their
tangent equations.

Every public solve is ``lax.custom_linear_solve`` around a direct solver, so derivatives with
respect to the coefficient matrices and the right-hand side are implicit (one more solve with the
transposed coefficients), never a differentiation of the factorisation.

The engines, for coefficients whose spectrum is known to be stable (closed-loop matrices of a
Riccati solution), run on every backend with matrix inverses and products only:

- :func:`stable_sylvester` solves ``m1 y + y m2 = c`` for Hurwitz ``m1``, ``m2`` with the Newton
  iteration for the matrix sign function of ``[[-m1, c], [0, m2]]`` with determinant scaling
  (Roberts 1980; Byers 1987; Higham, *Functions of Matrices*, 2008, chapter 5).
- :func:`stable_stein` solves ``m1 y m2 - y = c`` for Schur-stable ``m1``, ``m2`` with the squared
  Smith iteration (Smith 1968): ``y = -sum_k m1^k c m2^k`` summed by repeated squaring.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, square

__all__ = ["solve_sylvester", "solve_continuous_lyapunov", "solve_discrete_lyapunov",
           "stable_sylvester", "stable_stein", "keep_iterating", "inv_logabsdet"]

_MAX_ITER = 100


def _h(x: Array) -> Array:
    return jnp.conj(x).T


def _norm1(x: Array) -> Array:
    return jnp.max(jnp.sum(jnp.abs(x), axis=0))


def inv_logabsdet(z: Array) -> tuple[Array, Array]:
    """``z^{-1}`` and ``log|det z|`` from one LU factorisation."""
    lu, piv = jax.scipy.linalg.lu_factor(z)
    inv = jax.scipy.linalg.lu_solve((lu, piv), jnp.eye(z.shape[0], dtype=z.dtype))
    return inv, jnp.sum(jnp.log(jnp.abs(jnp.diagonal(lu))))


def keep_iterating(change: Array, k: Array, tol: Any) -> Array:
    """Loop condition for the quadratically convergent iterations here and in the Riccati solvers.

    ``change`` is the relative size of the last update. Once it is below ``sqrt(tol)`` the new
    iterate is already within about ``change**2 < tol`` of the limit, so the loop stops there
    instead of waiting for a rounding-level update that may never come (stagnation). A
    non-finite update stops the loop too (and leaves a non-finite result).
    """
    return (change > jnp.sqrt(tol)) & (k < _MAX_ITER) & jnp.isfinite(change)


def stable_sylvester(m1: Array, m2: Array, c: Array) -> Array:
    """Solve ``m1 y + y m2 = c`` for Hurwitz-stable ``m1`` (n x n) and ``m2`` (m x m).

    Matrix sign function of ``[[f, -g], [0, -h]]`` with ``f = -m1``, ``h = -m2``, ``g = -c``:
    its Newton iterates keep the block form, and the top-right block tends to ``-2 y``.
    """
    n, m = m1.shape[0], m2.shape[0]
    eps = jnp.finfo(c.dtype).eps
    tol = 10 * (n + m) * eps

    def body(state):
        f, h, g, _, k = state
        fi, ldf = inv_logabsdet(f)
        hi, ldh = inv_logabsdet(h)
        scale = jnp.exp(-(ldf + ldh) / (n + m)).astype(f.real.dtype)
        scale = jnp.where(jnp.isfinite(scale), scale, 1.0)
        f_new = (scale * f + fi / scale) / 2
        h_new = (scale * h + hi / scale) / 2
        g_new = (scale * g + (fi @ g @ hi) / scale) / 2
        change = (_norm1(f_new - f) + _norm1(h_new - h)) / (_norm1(f_new) + _norm1(h_new))
        return f_new, h_new, g_new, change, k + 1

    def cond(state):
        change, k = state[3], state[4]
        return keep_iterating(change, k, tol)

    init = (-m1, -m2, -c, jnp.array(1.0, c.real.dtype), 0)
    _, _, g, change, _ = jax.lax.while_loop(cond, body, init)
    return g / 2


def stable_stein(m1: Array, m2: Array, c: Array) -> Array:
    """Solve ``m1 y m2 - y = c`` for ``m1``, ``m2`` with spectral radius below one (squared Smith)."""
    eps = jnp.finfo(c.dtype).eps

    def body(state):
        y, p, q, _, k = state
        inc = p @ y @ q
        return y + inc, p @ p, q @ q, _norm1(inc) / jnp.maximum(_norm1(y), jnp.finfo(c.dtype).tiny), k + 1

    def cond(state):
        change, k = state[3], state[4]
        return keep_iterating(change, k, eps)

    init = (-c, m1, m2, jnp.array(1.0, c.real.dtype), 0)
    return jax.lax.while_loop(cond, body, init)[0]


def _sylvester_direct(a: Array, b: Array, q: Array) -> Array:
    # Bartels-Stewart through the Schur forms of a and b (jax.scipy.linalg.solve_sylvester).
    return jax.scipy.linalg.solve_sylvester(a, b, q, method="schur", tol=0.0)


@jax.jit
def _implicit_sylvester(a: Array, b: Array, q: Array) -> Array:
    """``a x + x b = q`` with implicit derivatives in ``a``, ``b`` and ``q``."""
    return jax.lax.custom_linear_solve(
        lambda x: a @ x + x @ b, q,
        solve=lambda _, rhs: _sylvester_direct(a, b, rhs),
        transpose_solve=lambda _, rhs: _sylvester_direct(a.T, b.T, rhs))


def _operands(*named: tuple[str, ArrayLike]) -> list[Array]:
    arrays = [jnp.asarray(x) for _, x in named]
    dtype = inexact(*arrays)
    out = []
    for (name, _), x in zip(named, arrays, strict=True):
        if x.ndim != 2:
            raise ValueError(f"`{name}` must be a 2-D array, got shape {x.shape}")
        x = x.astype(dtype)
        check_finite_arg(name, x, True)
        out.append(x)
    return out


def solve_sylvester(a: ArrayLike, b: ArrayLike, q: ArrayLike) -> Array:
    """Solve the Sylvester equation ``a x + x b = q``; mirrors :func:`scipy.linalg.solve_sylvester`.

    Parameters
    ----------
    a : array, shape (M, M)
    b : array, shape (N, N)
    q : array, shape (M, N)

    Returns
    -------
    x : array, shape (M, N)

    Differences from SciPy
    ----------------------
    - Same algorithm (Bartels-Stewart, :func:`jax.scipy.linalg.solve_sylvester`), which is
      **CPU only**: JAX's Schur decomposition runs on the CPU backend.
    - Differentiable in ``a``, ``b`` and ``q`` (implicitly: one more Sylvester solve with the
      transposed coefficients).
    - A singular equation (``a`` and ``-b`` sharing an eigenvalue) gives non-finite values
      instead of ``LinAlgError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_sylvester
    >>> a = jnp.array([[-3.0, -2.0, 0.0], [-1.0, -1.0, 3.0], [3.0, -5.0, -1.0]])
    >>> b, q = jnp.array([[1.0]]), jnp.array([[1.0], [2.0], [3.0]])
    >>> x = solve_sylvester(a, b, q)
    >>> bool(jnp.allclose(a @ x + x @ b, q))
    True
    """
    a, b, q = _operands(("a", a), ("b", b), ("q", q))
    square("a", a)
    square("b", b)
    if q.shape != (a.shape[0], b.shape[0]):
        raise ValueError(f"`q`: expected shape {(a.shape[0], b.shape[0])} from `a` and `b`, got {q.shape}")
    return _implicit_sylvester(a, b, q)


def solve_continuous_lyapunov(a: ArrayLike, q: ArrayLike) -> Array:
    """Solve the continuous Lyapunov equation ``a x + x a^H = q``; mirrors
    :func:`scipy.linalg.solve_continuous_lyapunov`.

    Parameters
    ----------
    a : array, shape (M, M)
    q : array, shape (M, M)

    Returns
    -------
    x : array, shape (M, M)

    Differences from SciPy
    ----------------------
    - Bartels-Stewart, as SciPy, through :func:`solve_sylvester`: **CPU only** (JAX's Schur).
    - Differentiable in ``a`` and ``q`` (implicit).
    - Singular equations give non-finite values instead of ``LinAlgError``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_continuous_lyapunov
    >>> a = jnp.array([[-3.0, -2.0, 0.0], [-1.0, -1.0, 0.0], [0.0, -5.0, -1.0]])
    >>> q = jnp.eye(3)
    >>> x = solve_continuous_lyapunov(a, q)
    >>> bool(jnp.allclose(a @ x + x @ a.T, q))
    True
    """
    a, q = _operands(("a", a), ("q", q))
    square("a", a)
    if q.shape != a.shape:
        raise ValueError(f"`q`: expected shape {a.shape} from `a`, got {q.shape}")
    return _implicit_sylvester(a, _h(a), q)


def _discrete_direct(a: Array, q: Array) -> Array:
    n = a.shape[0]
    lhs = jnp.eye(n * n, dtype=a.dtype) - jnp.kron(a, jnp.conj(a))
    return jnp.linalg.solve(lhs, q.reshape(-1)).reshape(n, n)


def _discrete_bilinear(a: Array, q: Array) -> Array:
    # a = (I + b)(I - b)^{-1}  turns  a x a^H - x + q = 0  into  b x + x b^H = -2 (a+I)^{-1} q (a+I)^{-H}.
    eye = jnp.eye(a.shape[0], dtype=a.dtype)
    ai = a + eye
    b = jnp.linalg.solve(ai, a - eye)
    c = jnp.linalg.solve(ai, _h(jnp.linalg.solve(ai, _h(q))))
    return _implicit_sylvester(b, _h(b), -2 * c)


_DISCRETE_METHODS: dict[str, Callable[[Array, Array], Array]] = {
    "direct": _discrete_direct,
    "bilinear": _discrete_bilinear,
}


def solve_discrete_lyapunov(a: ArrayLike, q: ArrayLike, method: str | None = None) -> Array:
    """Solve the discrete Lyapunov (Stein) equation ``a x a^H - x + q = 0``; mirrors
    :func:`scipy.linalg.solve_discrete_lyapunov`.

    Parameters
    ----------
    a : array, shape (M, M)
    q : array, shape (M, M)
    method : {'direct', 'bilinear'}, optional
        'direct' solves the ``M^2 x M^2`` Kronecker system (any backend); 'bilinear' maps the
        equation to a continuous Lyapunov equation by a Cayley transform and solves it with
        Bartels-Stewart (CPU only). Default: 'direct' for ``M < 10``, else 'bilinear'.

    Returns
    -------
    x : array, shape (M, M)

    Differences from SciPy
    ----------------------
    - Same two methods and default; 'bilinear' runs on CPU only (JAX's Schur decomposition).
    - Differentiable in ``a`` and ``q``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import solve_discrete_lyapunov
    >>> a = jnp.array([[0.2, 0.5], [0.7, -0.9]])
    >>> x = solve_discrete_lyapunov(a, jnp.eye(2))
    >>> bool(jnp.allclose(a @ x @ a.T - x + jnp.eye(2), 0))
    True
    """
    if method is not None and method not in _DISCRETE_METHODS:
        raise ValueError(f"`method`: unknown method {method!r}; choose from {sorted(_DISCRETE_METHODS)}")
    a, q = _operands(("a", a), ("q", q))
    square("a", a)
    if q.shape != a.shape:
        raise ValueError(f"`q`: expected shape {a.shape} from `a`, got {q.shape}")
    if method is None:
        method = "direct" if a.shape[0] < 10 else "bilinear"
    return _discrete_jit(method, a, q)


@partial(jax.jit, static_argnums=0)
def _discrete_jit(method: str, a: Array, q: Array) -> Array:
    return _DISCRETE_METHODS[method](a, q)
