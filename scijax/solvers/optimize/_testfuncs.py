"""SciPy's Rosenbrock test function and its derivatives, and finite-difference gradient helpers.

``rosen``, ``rosen_der``, ``rosen_hess`` and ``rosen_hess_prod`` are written in ``jax.numpy``: they
accept NumPy arrays and lists, and work under ``jit``, ``vmap`` and ``grad``. ``approx_fprime`` and
``check_grad`` follow SciPy's forward-difference definitions; they call the user's function on NumPy
arrays in an eager call (so NumPy-written functions work) and on JAX arrays when traced.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..._typing import Array, ArrayLike

__all__ = ["rosen", "rosen_der", "rosen_hess", "rosen_hess_prod", "approx_fprime", "check_grad"]

_EPS = float(np.sqrt(np.finfo(float).eps))


def _x(x: ArrayLike) -> Array:
    x = jnp.asarray(x)
    return x.astype(jnp.result_type(x.dtype, float))


def rosen(x: ArrayLike) -> Array:
    """The Rosenbrock function (``scipy.optimize.rosen``).

    ``sum(100 * (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)`` over axis 0, so ``x`` of shape
    ``(n, ...)`` gives one value per trailing index, as in SciPy.

    Parameters
    ----------
    x : array_like, shape (n, ...)
        Points at which to evaluate the function.

    Returns
    -------
    Array
        The function value(s).

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.optimize import rosen
    >>> float(rosen(np.array([1.0, 1.0, 1.0])))
    0.0
    """
    x = _x(x)
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2, axis=0)


def rosen_der(x: ArrayLike) -> Array:
    """The gradient of :func:`rosen` (``scipy.optimize.rosen_der``), shape ``(n,)``.

    Examples
    --------
    >>> from scijax.solvers.optimize import rosen_der
    >>> [abs(float(v)) for v in rosen_der([1.0, 1.0])]
    [0.0, 0.0]
    """
    x = _x(x)
    xm, xm_m1, xm_p1 = x[1:-1], x[:-2], x[2:]
    inner = 200 * (xm - xm_m1 ** 2) - 400 * (xm_p1 - xm ** 2) * xm - 2 * (1 - xm)
    first = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    last = 200 * (x[-1] - x[-2] ** 2)
    return jnp.concatenate([first[None], inner, last[None]])


def rosen_hess(x: ArrayLike) -> Array:
    """The Hessian of :func:`rosen` (``scipy.optimize.rosen_hess``), shape ``(n, n)``.

    Examples
    --------
    >>> from scijax.solvers.optimize import rosen_hess
    >>> rosen_hess([1.0, 1.0]).tolist()
    [[802.0, -400.0], [-400.0, 200.0]]
    """
    x = jnp.atleast_1d(_x(x))
    off = -400 * x[:-1]
    diag = jnp.zeros_like(x)
    diag = diag.at[0].set(1200 * x[0] ** 2 - 400 * x[1] + 2)
    diag = diag.at[-1].set(200.0)
    diag = diag.at[1:-1].set(202 + 1200 * x[1:-1] ** 2 - 400 * x[2:])
    return jnp.diag(diag) + jnp.diag(off, 1) + jnp.diag(off, -1)


def rosen_hess_prod(x: ArrayLike, p: ArrayLike) -> Array:
    """The product of the Hessian of :func:`rosen` at ``x`` with a vector ``p``
    (``scipy.optimize.rosen_hess_prod``), computed without forming the Hessian.

    Examples
    --------
    >>> from scijax.solvers.optimize import rosen_hess_prod
    >>> rosen_hess_prod([1.0, 1.0], [1.0, 0.0]).tolist()
    [802.0, -400.0]
    """
    x, p = _x(x), _x(p)
    hp0 = (1200 * x[0] ** 2 - 400 * x[1] + 2) * p[0] - 400 * x[0] * p[1]
    mid = (-400 * x[:-2] * p[:-2] + (202 + 1200 * x[1:-1] ** 2 - 400 * x[2:]) * p[1:-1]
           - 400 * x[1:-1] * p[2:])
    last = -400 * x[-2] * p[-2] + 200 * p[-1]
    return jnp.concatenate([hp0[None], mid, last[None]])


def _concrete(*xs: Any) -> bool:
    return not any(isinstance(v, Tracer) for v in jax.tree_util.tree_leaves(xs))


def approx_fprime(xk: ArrayLike, f: Callable[..., Any], epsilon: ArrayLike = _EPS, *args: Any) -> Any:
    """Forward-difference gradient (or Jacobian) of ``f`` at ``xk`` (``scipy.optimize.approx_fprime``).

    ``df/dx_i ~ (f(xk + epsilon_i e_i) - f(xk)) / epsilon_i``. For a scalar ``f`` the result has
    shape ``(n,)``; for a vector ``f`` of length ``m``, ``(m, n)``, as in SciPy.

    Parameters
    ----------
    xk : array_like, shape (n,)
        The point.
    f : callable
        ``f(x, *args)``; in an eager call it receives NumPy arrays (NumPy-written code works).
    epsilon : float or array_like of shape (n,)
        The absolute step(s); default ``sqrt(machine eps)``.
    *args
        Extra arguments of ``f``.

    Returns
    -------
    ndarray (eager) or Array (traced)
        The approximate derivative.

    Differences from SciPy
    ----------------------
    Under ``jit`` (traced ``xk``) ``f`` must be traceable, and the ``n + 1`` evaluations are unrolled.

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.optimize import approx_fprime
    >>> g = approx_fprime(np.array([1.0, 2.0]), lambda x: x[0] ** 2 + 3 * x[1])
    >>> bool(np.allclose(g, [2.0, 3.0], atol=1e-6))
    True
    """
    if _concrete(xk, epsilon, args):
        x = np.atleast_1d(np.asarray(xk, dtype=float))
        f0 = np.asarray(f(x.copy(), *args), dtype=float)
        steps = np.broadcast_to(np.asarray(epsilon, dtype=float), x.shape)
        cols = []
        for i in range(x.size):
            xp = x.copy()
            xp[i] += steps[i]
            cols.append((np.asarray(f(xp, *args), dtype=float) - f0) / steps[i])
        return np.stack(cols, axis=-1)
    x = jnp.atleast_1d(_x(xk))
    f0 = jnp.asarray(f(x, *args))
    steps = jnp.broadcast_to(jnp.asarray(epsilon, x.dtype), x.shape)
    cols = [(jnp.asarray(f(x.at[i].add(steps[i]), *args)) - f0) / steps[i] for i in range(x.size)]
    return jnp.stack(cols, axis=-1)


def check_grad(func: Callable[..., Any], grad: Callable[..., Any], x0: ArrayLike, *args: Any,
               epsilon: float = _EPS, direction: str = "all", seed: Any = None, rng: Any = None) -> Any:
    """The 2-norm of ``grad(x0) - approx_fprime(x0, func)`` (``scipy.optimize.check_grad``).

    Parameters
    ----------
    func, grad : callable
        ``func(x, *args)`` (scalar) and its claimed gradient ``grad(x, *args)``.
    x0 : array_like
        The point.
    *args
        Extra arguments of both.
    epsilon : float
        Forward-difference step.
    direction : {'all', 'random'}
        ``'all'`` compares full gradients; ``'random'`` compares the directional derivatives
        along one random unit vector (drawn with NumPy's ``default_rng(seed)``; SciPy draws its
        direction differently, so the value differs from SciPy's for the same seed).
    seed : int or numpy Generator, optional
        For ``direction='random'``.
    rng : int or numpy Generator, optional
        SciPy's newer name for ``seed`` (used when given).

    Returns
    -------
    float (eager) or Array (traced)
        The error.

    Examples
    --------
    >>> from scijax.solvers.optimize import check_grad, rosen, rosen_der
    >>> check_grad(rosen, rosen_der, [1.5, 1.9]) < 1e-4
    True
    """
    if direction not in ("all", "random"):
        raise ValueError(f"`direction` must be 'all' or 'random', got {direction!r}.")
    if direction == "random":
        x = np.atleast_1d(np.asarray(x0, dtype=float))
        seed = seed if rng is None else rng
        gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        v = gen.normal(0, 1, size=x.shape)
        v /= np.linalg.norm(v)
        approx = (np.asarray(func(x + epsilon * v, *args)) - np.asarray(func(x, *args))) / epsilon
        # ``func`` may return a size-1 array (as SciPy allows): reduce to one number.
        return float(np.sum(np.abs(np.dot(np.asarray(grad(x, *args)), v) - approx)))
    diff = jnp.asarray(grad(x0 if not _concrete(x0) else np.asarray(x0, dtype=float), *args)) - \
        approx_fprime(x0, func, epsilon, *args)
    err = jnp.sqrt(jnp.sum(diff ** 2))
    return float(err) if _concrete(err) else err
