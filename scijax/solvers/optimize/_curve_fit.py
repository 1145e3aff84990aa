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
    nan_policy : {None, 'raise', 'omit'}, optional
        As in SciPy (only read when ``check_finite`` is false, its default when ``nan_policy`` is
        given): 'raise' rejects NaN in ``xdata``/``ydata``; 'omit' drops the data points with a NaN
        (in ``ydata`` or any row of ``xdata``), and the matching entries of ``sigma``; 'propagate'
        raises ``ValueError`` as SciPy's does (it is not supported there either).
    **kwargs
        Passed to ``least_squares`` (``max_nfev``/``maxfev``, ``ftol``, ``xtol``, ``gtol``,
        ``loss``, ``f_scale``, ``x_scale``).

    Returns
    -------
    popt, pcov
        Optimal parameters and their covariance, scaled by the reduced chi-square unless
        ``absolute_sigma``. With ``full_output``: ``(popt, pcov, infodict, mesg, ier)``;
        ``infodict`` holds ``nfev`` and ``fvec`` and, for 'lm', MINPACK's ``fjac`` (``(n, m)``),
        ``ipvt`` (0-based, int32) and ``qtf`` (see Differences), and ``njev`` when ``jac``
        is callable.

    Differences from SciPy
    ----------------------
    Runs under ``jit``/``vmap``: ``jax.vmap(lambda y: curve_fit(f, x, y, p0))(ys)`` fits a batch
    of data sets in one compiled call, and ``jax.grad`` of ``popt`` w.r.t. the data is implicit.
    Eagerly a failed fit raises ``RuntimeError`` as in SciPy; under a transformation it cannot,
    so ``popt`` of a failed fit is NaN. 'lm' is the unbounded TRF engine, not MINPACK.
    Its ``fjac``/``ipvt``/``qtf`` follow MINPACK's definitions (a Householder QR with column
    pivoting, ``J P = Q R``: ``fjac`` is the transposed factored array, ``R`` in its lower triangle
    and MINPACK's scaled Householder vectors above; ``qtf`` the first ``n`` entries of
    ``Q^T fvec``), computed from the Jacobian at the returned ``popt``; MINPACK's come from the
    Jacobian of its last iteration, one step earlier, so they agree with SciPy's to the fit's
    tolerance, not to rounding. ``nan_policy='omit'`` changes the data's length, so it needs
    concrete data (a ``ValueError`` under ``jit``/``vmap``/``grad``); 'raise' cannot inspect
    traced data, where NaN data gives a NaN fit.

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
    check_finite = nan_policy is None if check_finite is None else check_finite
    if not check_finite and nan_policy is not None:
        xdata, ydata, sigma = _nan_policy(nan_policy, xdata, ydata, sigma)
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
    if check_finite and _concrete(xdata, ydata):
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
        if method == "lm":
            if callable(jac):  # MINPACK's lmder counts Jacobian calls
                infodict["njev"] = res.njev
            infodict.update(zip(("fjac", "ipvt", "qtf"), _minpack_qr(res.jac, res.fun), strict=True))
        return popt, pcov, infodict, res.message if _concrete(res.status) else None, res.status
    return popt, pcov


def _nan_policy(policy: str, xdata: Any, ydata: Any, sigma: Any) -> tuple:
    """SciPy's ``nan_policy`` (read only when ``check_finite`` is false): 'raise' or 'omit'."""
    if policy == "propagate":
        raise ValueError("`nan_policy='propagate'` is not supported by this function.")
    if policy not in ("raise", "omit"):
        raise ValueError("nan_policy must be one of {None, 'raise', 'omit'}")
    arrays = isinstance(xdata, (list, tuple, np.ndarray, jax.Array))
    if not _concrete(xdata, ydata, sigma):
        if policy == "omit":
            raise ValueError("`nan_policy='omit'` drops data points, which changes the data's shape: it "
                             "needs concrete `xdata`/`ydata` (call curve_fit outside jit/vmap/grad, or drop "
                             "the NaN points before the transformation).")
        return xdata, ydata, sigma
    y = np.asarray(ydata, float)
    x = np.asarray(xdata, float) if arrays else None
    x_nan = np.isnan(x) if x is not None else np.zeros(y.shape, bool)
    if not (np.any(x_nan) or np.any(np.isnan(y))):
        return xdata, ydata, sigma
    if policy == "raise":
        raise ValueError("The input contains nan values")
    bad = np.isnan(y) | x_nan.any(axis=tuple(range(x_nan.ndim - 1)))
    if sigma is not None:
        sigma = np.asarray(sigma)
        sigma = sigma[~bad] if sigma.ndim == 1 else sigma[~bad][:, ~bad] if sigma.ndim == 2 else sigma
    return (x[..., ~bad] if x is not None else xdata), y[~bad], sigma


@jax.jit
def _minpack_qr(jac: Array, fvec: Array) -> tuple[Array, Array, Array]:
    """MINPACK's ``fjac`` (transposed), ``ipvt`` (0-based) and ``qtf`` for ``jac``: Householder QR of
    ``jac[:, ipvt]`` (pivots chosen by largest remaining column norm, LAPACK's ``geqp3`` rule, as
    MINPACK's ``qrfac``), each reflector stored as MINPACK does (scaled so that ``v . v = 2 v[0]``,
    ``v[0]`` replaced by ``R``'s diagonal), and ``Q^T fvec``'s first ``n`` entries."""
    m, n = jac.shape
    ipvt = jax.scipy.linalg.qr(jax.lax.stop_gradient(jac), mode="economic", pivoting=True)[2]
    a, f = jac[:, ipvt], fvec
    rows = jnp.arange(m)

    def reflect(j, carry):
        a, f = carry
        below = rows >= j
        col = jnp.where(below, a[:, j], 0)
        norm = jnp.linalg.norm(col)
        ajnorm = jnp.where(a[j, j] < 0, -norm, norm)
        v = jnp.where(norm > 0, col / jnp.where(norm > 0, ajnorm, 1), 0)
        v = v.at[j].add(jnp.where(norm > 0, 1.0, 0.0))
        v0 = jnp.where(v[j] != 0, v[j], 1)
        later = jnp.arange(n) > j
        a = a - jnp.where(later[None, :], jnp.outer(v, v @ a / v0), 0)
        f = f - v * (v @ f) / v0
        a = a.at[:, j].set(jnp.where(rows > j, v, jnp.where(rows == j, -ajnorm, a[:, j])))
        return a, f

    a, f = jax.lax.fori_loop(0, min(m, n), reflect, (a, f))
    return a.T, ipvt.astype(jnp.int32), f[:n]


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
