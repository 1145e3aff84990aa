"""``curve_fit``: SciPy's facade over ``least_squares``, with SciPy's covariance scaling."""

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import jax.core
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike
from scipy.optimize import OptimizeWarning

from .._precision import warn_if_truncated
from .._userfn import prepare
from ._bounds import parse_bounds
from ._implicit import nan_unless
from ._least_squares import bounds_given, least_squares

__all__ = ["curve_fit"]


def _n_params(f: Callable) -> int:
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) < 2:
        raise ValueError("Unable to determine number of fit parameters.")
    return len(params) - 1


def _feasible_start(lb, ub):
    lo, hi = jnp.isfinite(lb), jnp.isfinite(ub)
    return jnp.where(lo & hi, 0.5 * (lb + ub), jnp.where(lo, lb + 1, jnp.where(hi, ub - 1, 1.0)))


def _concrete(*xs) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(xs))


def curve_fit(f: Callable[..., ArrayLike], xdata: ArrayLike, ydata: ArrayLike,
              p0: ArrayLike | None = None, sigma: ArrayLike | None = None,
              absolute_sigma: bool = False, check_finite: bool | None = None,
              bounds: Any = (-np.inf, np.inf), method: str | None = None,
              jac: Callable | str | None = None, *, full_output: bool = False,
              nan_policy: str | None = None, **kwargs) -> tuple:
    """Fit ``f(xdata, *params)`` to ``ydata`` by least squares (``scipy.optimize.curve_fit``).

    Parameters
    ----------
    f
        Model ``f(x, p1, p2, ...)`` in JAX.
    xdata, ydata
        The data; ``ydata`` is 1-D.
    p0
        Initial parameters (default: ones, or the middle of finite bounds).
    sigma, absolute_sigma
        1-D standard deviations or a 2-D covariance of ``ydata``; as in SciPy.
    check_finite, bounds, method, jac, full_output
        As in SciPy. ``method`` is 'lm' (default without bounds) or 'trf'.
    nan_policy
        Only ``None`` (NaN data is rejected when checked).
    **kwargs
        Passed to ``least_squares`` (``max_nfev``/``maxfev``, ``ftol``, ``xtol``, ``gtol``,
        ``loss``, ``f_scale``, ``x_scale``).

    Returns
    -------
    popt, pcov
        Optimal parameters and their covariance, scaled by the reduced chi-square unless
        ``absolute_sigma``. With ``full_output``: ``(popt, pcov, infodict, mesg, ier)``.

    Differences from SciPy
    ----------------------
    Runs under ``jit``/``vmap``: ``jax.vmap(lambda y: curve_fit(f, x, y, p0))(ys)`` fits a batch
    of data sets in one compiled call, and ``jax.grad`` of ``popt`` w.r.t. the data is implicit.
    Eagerly a failed fit raises ``RuntimeError`` as in SciPy; under a transformation it cannot,
    so ``popt`` of a failed fit is NaN. 'lm' is the unbounded TRF engine, not MINPACK.

    Notes
    -----
    A gradient through a fit that did not succeed is NaN (the traced ``popt`` is NaN too).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import curve_fit
    >>> x = jnp.linspace(0, 4, 50)
    >>> popt, pcov = curve_fit(lambda x, a, b: a * jnp.exp(-b * x), x, 2.5 * jnp.exp(-1.3 * x))
    >>> [round(float(v), 6) for v in popt]
    [2.5, 1.3]
    """
    warn_if_truncated("curve_fit", xdata, ydata, p0)
    if nan_policy is not None:
        raise ValueError("`nan_policy`: only None is supported.")
    n = _n_params(f) if p0 is None else int(np.size(p0))
    ydata = jnp.asarray(ydata)
    ydata = ydata.astype(jnp.result_type(ydata.dtype, 1.0))
    dtype = ydata.dtype if p0 is None else jnp.result_type(jnp.asarray(p0).dtype, ydata.dtype, 1.0)
    lb, ub = parse_bounds(bounds, n, dtype, pairs=False)
    bounded = bounds_given(bounds)
    p0 = _feasible_start(lb, ub) if p0 is None else jnp.atleast_1d(jnp.asarray(p0, dtype))
    method = ("trf" if bounded else "lm") if method is None else method
    if method == "lm" and bounded:
        raise ValueError("Method 'lm' only works for unconstrained problems. Use 'trf' instead.")
    if ydata.size == 0:
        raise ValueError("`ydata` must not be empty!")
    if (check_finite is None or check_finite) and _concrete(xdata, ydata):
        if not (np.all(np.isfinite(np.asarray(ydata))) and np.all(np.isfinite(np.asarray(xdata)))):
            raise ValueError("array must not contain infs or NaNs")
    xdata = jnp.asarray(xdata) if isinstance(xdata, (list, tuple, np.ndarray)) else xdata
    transform = _transform(sigma, ydata.size)
    f = prepare(f, (xdata, *p0), solver="curve_fit", role="f", closures=False)
    if callable(jac):
        jac = prepare(jac, (xdata, *p0), solver="curve_fit", role="jac", closures=False)

    def residuals(p, xdata, ydata, transform):
        model = jnp.ravel(jnp.asarray(f(xdata, *p)))
        if model.size not in (1, ydata.size):
            raise ValueError(f"`f` (the model) returned {model.size} values; `ydata` has {ydata.size}.")
        r = model - ydata
        if transform is None:
            return r
        if transform.ndim == 2:
            return jax.scipy.linalg.solve_triangular(transform, r, lower=True)
        return transform * r

    fit_jac = None  # pyright: ignore[reportAssignmentType] (replaced by the def below when jac is callable)
    if callable(jac):
        def fit_jac(p, xdata, ydata, transform):
            j = jnp.atleast_2d(jnp.asarray(jac(xdata, *p)))
            if transform is None:
                return j
            if transform.ndim == 2:
                return jax.scipy.linalg.solve_triangular(transform, j, lower=True)
            return transform[:, None] * j

    if "maxfev" in kwargs:
        kwargs.setdefault("max_nfev", kwargs.pop("maxfev"))
    if method == "lm":
        kwargs.setdefault("ftol", 1.49012e-8)
        kwargs.setdefault("xtol", 1.49012e-8)
        kwargs.setdefault("max_nfev", 200 * (n + 1))
        if ydata.size != 1 and n > ydata.size:
            raise TypeError(f"The number of func parameters={n} must not exceed the number of data "
                            f"points={ydata.size}")
    # Unbounded as the user gave it (not as traced infinite arrays), so that 'lm' runs under jit.
    res = least_squares(residuals, p0, jac=fit_jac or "2-point",
                        bounds=(lb, ub) if bounded else (-np.inf, np.inf), method=method,
                        args=(xdata, ydata, transform), **kwargs)
    popt, pcov = res.x, _covariance(res.jac, 2 * res.cost, ydata.size, n, absolute_sigma,
                                    singular_is_inf=method == "lm")
    if _concrete(res.success, pcov):
        if not bool(res.success):
            raise RuntimeError("Optimal parameters not found: " + str(res.message))
        if not np.all(np.isfinite(np.asarray(pcov))):
            warnings.warn("Covariance of the parameters could not be estimated",
                          category=OptimizeWarning, stacklevel=2)
    else:
        popt = nan_unless(popt, res.success)
    if full_output:
        infodict = {"nfev": res.nfev, "fvec": res.fun}
        return popt, pcov, infodict, res.message if _concrete(res.status) else None, res.status
    return popt, pcov


def _transform(sigma, m) -> Array | None:
    if sigma is None:
        return None
    sigma = jnp.asarray(sigma)
    if sigma.size == 1 or sigma.shape == (m,):
        return 1.0 / sigma
    if sigma.shape == (m, m):
        chol = jnp.linalg.cholesky(sigma)
        if _concrete(chol) and not np.all(np.isfinite(np.asarray(chol))):
            raise ValueError("`sigma` must be positive definite.")
        return chol
    raise ValueError("`sigma` has incorrect shape.")


def _covariance(jac, cost, m, n, absolute_sigma, singular_is_inf):
    """SciPy's Moore-Penrose ``(J^T J)^+`` (zero singular values dropped), scaled by
    ``cost / (m - n)`` unless ``absolute_sigma``; ``inf`` where it cannot be estimated (and, for
    'lm', where ``J`` is rank deficient, as MINPACK's ``leastsq`` reports)."""
    _, s, vt = jnp.linalg.svd(jac, full_matrices=False)
    threshold = jnp.finfo(jac.dtype).eps * max(jac.shape) * s[0]
    inv_s2 = jnp.where(s > threshold, 1.0 / jnp.where(s > threshold, s, 1.0) ** 2, 0.0)
    pcov = (vt.T * inv_s2) @ vt
    if not absolute_sigma:
        pcov = pcov * cost / (m - n) if m > n else jnp.full_like(pcov, jnp.inf)
    bad = jnp.any(jnp.isnan(pcov))
    if singular_is_inf:
        bad = bad | jnp.any(s <= threshold)
    return jnp.where(bad, jnp.inf, pcov)
