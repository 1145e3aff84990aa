"""Monte Carlo summaries of an ensemble, read from the members' ``status``.

Failed members (``status < 0``) are excluded from every statistic and counted
by :func:`failed_fraction`; a statistic with no successful member is ``nan``.
These accept an :class:`EnsembleResult` or anything with ``y`` of shape
``(N, n, n_points)`` and ``status`` of shape ``(N,)`` (e.g. ``vmap(solve_ivp)``'s result).
"""

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax.numpy as jnp

from .._typing import Array, ArrayLike

__all__ = ["ensemble_mean", "ensemble_std", "ensemble_quantile", "failed_fraction", "ensemble_summary",
           "EnsembleSummary"]


def _members(res: Any) -> tuple[Array, Array]:
    y, status = jnp.asarray(res.y), jnp.asarray(res.status)
    if status.ndim != 1 or y.shape[:1] != status.shape:
        raise ValueError(f"`res.y` needs a leading member axis matching `res.status` {tuple(status.shape)}, "
                         f"got shape {tuple(y.shape)}.")
    ok = (status >= 0).reshape((-1,) + (1,) * (y.ndim - 1))
    return y, ok


def failed_fraction(res: Any) -> Array:
    """Fraction of members whose ``status`` is negative (a failed solve).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from types import SimpleNamespace
    >>> float(failed_fraction(SimpleNamespace(y=jnp.zeros((4, 1, 2)), status=jnp.array([0, -1, 0, 0]))))
    0.25
    """
    _, ok = _members(res)
    return 1.0 - jnp.mean(ok.reshape(-1).astype(jnp.result_type(float)))


def ensemble_mean(res: Any) -> Array:
    """Mean of ``y`` over the successful members, shape ``(n, n_points)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(y=jnp.array([1.0, 3.0, 100.0]).reshape(3, 1, 1), status=jnp.array([0, 0, -1]))
    >>> ensemble_mean(r).tolist()
    [[2.0]]
    """
    y, ok = _members(res)
    return jnp.sum(jnp.where(ok, y, 0), axis=0) / jnp.sum(ok, axis=0)


def ensemble_std(res: Any, ddof: int = 0) -> Array:
    """Standard deviation of ``y`` over the successful members (``ddof`` as in ``numpy.std``)."""
    y, ok = _members(res)
    mean = ensemble_mean(res)
    count = jnp.sum(ok, axis=0)
    return jnp.sqrt(jnp.sum(jnp.where(ok, (y - mean) ** 2, 0), axis=0) / (count - ddof))


def ensemble_quantile(res: Any, q: ArrayLike) -> Array:
    """Quantiles of ``y`` over the successful members (linear interpolation, as ``numpy.quantile``).

    Returns shape ``(n, n_points)`` for a scalar ``q``, else ``(len(q), n, n_points)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(y=jnp.arange(5.0).reshape(5, 1, 1), status=jnp.zeros(5, int))
    >>> ensemble_quantile(r, 0.5).tolist()
    [[2.0]]
    """
    y, ok = _members(res)
    return jnp.nanquantile(jnp.where(ok, y, jnp.nan), jnp.asarray(q), axis=0)


class EnsembleSummary(NamedTuple):
    """Mean, spread and failures of an ensemble (see :func:`ensemble_summary`)."""

    mean: Array
    std: Array
    q: Array
    quantiles: Array
    failed_fraction: Array
    n_success: Array


def ensemble_summary(res: Any, q: ArrayLike | Sequence[float] = (0.05, 0.5, 0.95)) -> EnsembleSummary:
    """All statistics at once: mean, std, quantiles ``q`` and failed fraction, over successful members.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from types import SimpleNamespace
    >>> s = ensemble_summary(SimpleNamespace(y=jnp.arange(4.0).reshape(4, 1, 1), status=jnp.zeros(4, int)))
    >>> float(s.mean[0, 0]), int(s.n_success)
    (1.5, 4)
    """
    _, ok = _members(res)
    q = jnp.asarray(q)
    return EnsembleSummary(
        mean=ensemble_mean(res), std=ensemble_std(res), q=q, quantiles=ensemble_quantile(res, q),
        failed_fraction=failed_fraction(res), n_success=jnp.sum(ok),
    )
