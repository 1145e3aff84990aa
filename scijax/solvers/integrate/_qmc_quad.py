"""``qmc_quad``: randomised quasi-Monte Carlo integration over a box, with a JAX key."""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from ..._typing import Array, ArrayLike

__all__ = ["qmc_quad", "QMCQuadResult", "halton"]


class QMCQuadResult(NamedTuple):
    """Result of :func:`qmc_quad` (SciPy's field names)."""

    integral: Array
    standard_error: Array


def _primes(count: int) -> list[int]:
    out, c = [], 2
    while len(out) < count:
        if all(c % p for p in out if p * p <= c):
            out.append(c)
        c += 1
    return out


def halton(n_points: int, d: int, dtype: Any = float) -> Array:
    """The first ``n_points`` points (indices 1..n) of the ``d``-dimensional Halton sequence, ``(d, n)``."""
    i = jnp.arange(1, n_points + 1)
    rows = []
    for p in _primes(d):
        digits = max(1, math.ceil(math.log(n_points + 1) / math.log(p)) + 1)
        k, x, scale = i, jnp.zeros(n_points, dtype), 1.0 / p
        for _ in range(digits):  # radical inverse: mirror the base-p digits about the point
            x = x + (k % p).astype(dtype) * scale
            k, scale = k // p, scale / p
        rows.append(x)
    return jnp.stack(rows)


def _log_abs_diff(a: Array, b: Array) -> Array:
    """``log|exp(a) - exp(b)|``."""
    hi, gap = jnp.maximum(a, b), jnp.abs(a - b)
    return hi + jnp.log(-jnp.expm1(-gap))


@eqx.filter_jit
def _estimates(func: Callable[[Array], Array], a: Array, b: Array, shifts: Array, n_points: int,
               log: bool) -> Array:
    """One estimate per shift (one compiled program per integrand, shape and flags)."""
    base = halton(n_points, a.shape[0], a.dtype)
    volume = jnp.prod(b - a)

    def estimate(shift: Array) -> Array:
        f = jnp.asarray(func(a[:, None] + (b - a)[:, None] * jnp.mod(base + shift, 1.0)))
        if f.shape != (n_points,):
            raise ValueError(f"`func` must return shape (n_points,) = ({n_points},), got {f.shape}.")
        if log:
            return logsumexp(f) - math.log(n_points) + jnp.log(volume)
        return volume * jnp.mean(f)

    return jax.vmap(estimate)(shifts)


def qmc_quad(func: Callable[[Array], Array], a: ArrayLike, b: ArrayLike, *, n_estimates: int = 8,
             n_points: int = 1024, qrng: None = None, log: bool = False,
             key: jax.Array | None = None) -> QMCQuadResult:
    """Integrate over a box by randomised quasi-Monte Carlo (mirrors :func:`scipy.integrate.qmc_quad`).

    ``n_estimates`` independent randomisations of one low-discrepancy point set each give an
    unbiased estimate ``volume * mean(func(points))``; the result is their mean, and the standard
    error is their sample standard deviation over ``sqrt(n_estimates)``.

    Parameters
    ----------
    func : callable
        ``func(x)`` with ``x`` of shape ``(d, n_points)``, returning shape ``(n_points,)``.
        Written with ``jax.numpy``.
    a, b : array_like, shape (d,)
        Lower and upper limits (``a > b`` flips the sign, as in SciPy).
    n_estimates, n_points : int, optional
        Number of randomisations and points per randomisation (static).
    qrng : None
        SciPy's ``QMCEngine`` argument; must be None here (see Differences); use ``key``.
    log : bool, optional
        ``func`` returns the log of the integrand; the results are logs.
    key : jax.random key, optional
        Randomness of the shifts; default ``jax.random.key(0)`` (reproducible).

    Returns
    -------
    QMCQuadResult
        ``integral`` and ``standard_error`` (logs of them if ``log``).

    Differences from SciPy
    ----------------------
    What runs is a Halton sequence (points 1..``n_points``) with a uniform random shift modulo 1
    per estimate (Cranley-Patterson rotation), drawn from ``key``; SciPy scrambles a Halton (or
    the given) engine. Both are unbiased randomised QMC; the estimates differ in value, not in
    expectation. ``qrng`` engines are not accepted (they are NumPy objects); pass ``key``. With
    ``log=True`` and reversed limits SciPy returns a complex log; here the sign is dropped (the
    log of the absolute value). Differentiable with respect to ``a``, ``b`` and what ``func``
    closes over; ``vmap`` and ``jit`` work.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.solvers.integrate import qmc_quad
    >>> res = qmc_quad(lambda x: jnp.exp(-x[0] ** 2 - x[1] ** 2), [0.0, 0.0], [1.0, 1.0],
    ...                key=jax.random.key(1))
    >>> bool(abs(res.integral - 0.5577462853510335) < 5 * res.standard_error + 1e-6)
    True
    """
    if qrng is not None:
        raise TypeError("`qrng` (a SciPy QMCEngine) is not supported; pass a JAX `key` instead.")
    for name, v in (("n_estimates", n_estimates), ("n_points", n_points)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer.")
    if n_estimates < 2:
        raise ValueError("`n_estimates` must be at least 2 (for the standard error).")
    a, b = jnp.atleast_1d(jnp.asarray(a)), jnp.atleast_1d(jnp.asarray(b))
    dtype = jnp.result_type(a.dtype, b.dtype, float)
    a, b = jnp.broadcast_arrays(a.astype(dtype), b.astype(dtype))
    if a.ndim != 1:
        raise ValueError("`a` and `b` must be 1-D.")
    key = jax.random.key(0) if key is None else key
    shifts = jax.random.uniform(key, (n_estimates, a.shape[0], 1), dtype)
    sign = jnp.prod(jnp.sign(b - a))  # as SciPy: integrate over the sorted box, then sign
    est = _estimates(func, jnp.minimum(a, b), jnp.maximum(a, b), shifts, n_points, log)
    if log:
        integral = logsumexp(est) - math.log(n_estimates)
        spread = 0.5 * (logsumexp(2 * _log_abs_diff(est, integral)) - math.log(n_estimates - 1))
        return QMCQuadResult(integral, spread - 0.5 * math.log(n_estimates))
    return QMCQuadResult(sign * jnp.mean(est), jnp.std(est, ddof=1) / math.sqrt(n_estimates))
