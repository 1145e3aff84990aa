"""``line_search``: SciPy's public strong-Wolfe line search (``line_search_wolfe2``).

A wrapper over the engine's strong-Wolfe search (:func:`._solvers.wolfe.strong_wolfe`: bracketing
and cubic zoom, Nocedal & Wright Algorithms 3.5-3.6), which is the algorithm of SciPy's
``scalar_search_wolfe2``, with SciPy's choice of the first trial step.
"""

import warnings
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from ..._concrete import is_concrete
from .._userfn import prepare
from ._solvers.wolfe import strong_wolfe

__all__ = ["line_search", "LineSearchWarning"]


class LineSearchWarning(RuntimeWarning):
    """The line search found no point of the strong Wolfe conditions (SciPy's warning)."""


def _gradient(f: Callable) -> Callable:
    return lambda x, *a: jax.grad(lambda z: f(z, *a))(x)


@eqx.filter_jit
def _search(f, fprime, extra_condition, xk, pk, gfk, old_fval, old_old_fval, args, c1, c2, amax, maxiter: int):
    fprime = _gradient(f) if fprime is None else fprime
    fc = jnp.array(0)
    gc = jnp.array(0)
    if old_fval is None:
        old_fval = f(xk, *args)
        fc = fc + 1
    if gfk is None:
        gfk = fprime(xk, *args)
        gc = gc + 1
    phi0 = jnp.asarray(old_fval, xk.dtype)
    derphi0 = jnp.dot(jnp.asarray(gfk, xk.dtype), pk)
    alpha1 = jnp.ones((), xk.dtype)
    if old_old_fval is not None:  # SciPy's first trial from the previous decrease
        guess = 1.01 * 2.0 * (phi0 - old_old_fval) / jnp.where(derphi0 != 0, derphi0, 1.0)
        alpha1 = jnp.where(derphi0 != 0, jnp.minimum(1.0, guess), 1.0)
        alpha1 = jnp.where(alpha1 < 0, 1.0, alpha1)
    big = jnp.asarray(1e10 if amax is None else amax, xk.dtype)
    alpha1 = jnp.minimum(alpha1, big)

    def phi(a):
        x = xk + a * pk
        v = jnp.asarray(f(x, *args), xk.dtype)
        g = jnp.asarray(fprime(x, *args), xk.dtype)
        return v, jnp.dot(g, pk), (v, g)

    extra = None
    if extra_condition is not None:
        extra = lambda a, aux: jnp.asarray(extra_condition(a, xk + a * pk, aux[0], aux[1]), bool)  # noqa: E731
    res = strong_wolfe(phi, phi0, derphi0, alpha1, c1=c1, c2=c2, amax=big, maxiter=maxiter,  # pyright: ignore[reportArgumentType] (traced c1, c2, amax)
                       extra=extra)
    found = res.found & (alpha1 > 0) & (derphi0 < 0)
    return res.step, fc + res.evals, gc + res.evals, res.value, phi0, res.aux[1], found


def line_search(f: Callable, myfprime: Callable | None, xk: ArrayLike, pk: ArrayLike,
                gfk: ArrayLike | None = None, old_fval: ArrayLike | None = None,
                old_old_fval: ArrayLike | None = None, args: Any = (), c1: float = 1e-4, c2: float = 0.9,
                amax: float | None = None, extra_condition: Callable | None = None,
                maxiter: int = 10) -> tuple:
    """Find a step satisfying the strong Wolfe conditions (``scipy.optimize.line_search``).

    Parameters
    ----------
    f
        The objective ``f(x, *args) -> float``.
    myfprime
        Its gradient ``myfprime(x, *args)``; ``None`` (beyond SciPy) uses autodiff of ``f``.
    xk, pk
        The starting point and the search direction (a descent direction).
    gfk, old_fval
        The gradient and value at ``xk`` (computed when ``None``).
    old_old_fval
        The value at the previous point: SciPy's first trial step
        ``min(1, 2.02 (old_fval - old_old_fval) / (gfk . pk))`` (1 when ``None``).
    args
        Extra arguments of ``f`` and ``myfprime``.
    c1, c2
        The sufficient-decrease and curvature parameters, ``0 < c1 < c2 < 1``.
    amax
        The largest step (``None``: no limit).
    extra_condition
        ``extra_condition(alpha, x, f, g) -> bool``, a further test an accepted step must pass.
    maxiter
        The most trial steps.

    Returns
    -------
    tuple
        ``(alpha, fc, gc, new_fval, old_fval, new_slope)``: the step, the counts of function and
        gradient evaluations, the value at ``xk + alpha pk``, the value at ``xk`` and, as SciPy
        returns it, the gradient at ``xk + alpha pk`` (SciPy's docstring calls it the slope
        ``g . pk``; its code returns the gradient). When no step is found, ``alpha``, ``new_fval`` and
        ``new_slope`` are ``None`` and a ``LineSearchWarning`` is issued, as in SciPy (under
        ``jit``/``vmap`` they are NaN instead).

    Differences from SciPy
    ----------------------
    - ``maxiter`` counts evaluations of ``f`` and its gradient together (one per trial); SciPy
      counts zoom and bracketing iterations, so ``fc``/``gc`` differ slightly.
    - Each trial evaluates ``f`` and ``myfprime`` together, so ``fc == gc`` apart from the
      evaluations at ``xk``.
    - Runs under ``jit``/``vmap``; ``f`` and ``myfprime`` written in JAX (NumPy code runs on the
      host in an eager call).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import line_search
    >>> f = lambda x: jnp.sum(x ** 2)
    >>> grad = lambda x: 2.0 * x
    >>> alpha, fc, gc, new_f, old_f, slope = line_search(f, grad, jnp.array([1.8, 1.7]),
    ...                                                  jnp.array([-1.0, -1.0]))
    >>> round(float(alpha), 6), round(float(new_f), 6)
    (1.0, 1.13)
    """
    if not callable(f):
        raise TypeError("`f` must be callable.")
    if myfprime is not None and not callable(myfprime):
        raise TypeError("`myfprime` must be callable or None.")
    if extra_condition is not None and not callable(extra_condition):
        raise TypeError("`extra_condition` must be callable or None.")
    if not (0.0 < float(c1) < float(c2) < 1.0):
        raise ValueError(f"`c1` and `c2` must satisfy 0 < c1 < c2 < 1; got c1={c1}, c2={c2}.")
    if int(maxiter) < 1:
        raise ValueError(f"`maxiter` must be a positive integer; got {maxiter}.")
    if amax is not None and not float(amax) > 0:
        raise ValueError(f"`amax` must be positive; got {amax}.")
    xk = jnp.asarray(xk)
    if not jnp.issubdtype(xk.dtype, jnp.floating):
        xk = xk.astype(jnp.result_type(float))
    pk = jnp.asarray(pk, xk.dtype)
    if xk.ndim != 1 or pk.shape != xk.shape:
        raise ValueError(f"`xk` and `pk` must be 1-D arrays of the same shape; got {xk.shape} and {pk.shape}.")
    args = args if isinstance(args, tuple) else (args,)
    args = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    f = prepare(f, (xk, *args), solver="line_search", role="f", closures=False)
    if myfprime is not None:
        myfprime = prepare(myfprime, (xk, *args), solver="line_search", role="myfprime", closures=False)

    def opt(v):
        return None if v is None else jnp.asarray(v, xk.dtype)

    out = _search(f, myfprime, extra_condition, xk, pk, opt(gfk), opt(old_fval), opt(old_old_fval), args,
                  jnp.asarray(c1, xk.dtype), jnp.asarray(c2, xk.dtype), amax,
                  int(maxiter))
    alpha, fc, gc, new_fval, old_fval_out, new_slope, found = out
    if is_concrete(found):
        if not bool(found):
            warnings.warn("The line search algorithm did not converge", LineSearchWarning, stacklevel=2)
            return None, int(fc), int(gc), None, old_fval_out, None
        return alpha, int(fc), int(gc), new_fval, old_fval_out, new_slope
    nan = jnp.asarray(jnp.nan, alpha.dtype)
    return (jnp.where(found, alpha, nan), fc, gc, jnp.where(found, new_fval, nan), old_fval_out,
            jnp.where(found, new_slope, nan))
