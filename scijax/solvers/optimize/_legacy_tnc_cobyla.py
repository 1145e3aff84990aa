"""SciPy's legacy ``fmin_tnc`` and ``fmin_cobyla``: thin wrappers over :func:`minimize`.

The house pattern of ``_legacy.py``: translate the old argument names, call ``minimize``, pack
SciPy's return convention; eager results are NumPy arrays and Python numbers.
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete
from ._callback import CALLBACK_STATUS
from ._disp import print_summary
from ._minimize import minimize
from ._minimize_methods import MINIMIZE_METHODS

__all__ = ["fmin_tnc", "fmin_cobyla"]


def _np(x: Any) -> Any:
    return np.asarray(x) if is_concrete(x) else x


def _num(x: Any) -> Any:
    return int(np.asarray(x)) if is_concrete(x) else x


def _args(args: Any) -> tuple:
    return args if isinstance(args, tuple) else (args,)


def _tnc_code(res: Any, x0: Any, bounds: Any, options: dict) -> Any:
    """TNC's return code from the generic status: 0 (projected gradient small) or 1 (``f`` or
    ``x`` converged) for a success, 3 ``maxfun``, 4 the search failed (or NaN), 7 callback."""
    x = jnp.ravel(jnp.asarray(res.x))
    g = jnp.ravel(jnp.asarray(res.jac))
    n = x.shape[0]
    lower = jnp.full((n,), -jnp.inf, x.dtype)
    upper = jnp.full((n,), jnp.inf, x.dtype)
    if bounds is not None:
        pairs = [(-np.inf if lo is None else lo, np.inf if hi is None else hi) for lo, hi in bounds]
        lower = jnp.asarray([p[0] for p in pairs], x.dtype)
        upper = jnp.asarray([p[1] for p in pairs], x.dtype)
    x0 = jnp.ravel(jnp.asarray(x0, x.dtype))
    xscale = jnp.where(jnp.isfinite(lower) & jnp.isfinite(upper), upper - lower, 1.0 + jnp.abs(x0))
    fixed = ((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0))
    gtol = getattr(MINIMIZE_METHODS["tnc"].build(options, None, n), "gtol")  # noqa: B009 (a TNC engine)
    pg_small = jnp.linalg.norm(jnp.where(fixed, 0.0, g * xscale)) <= gtol
    status = res.status
    code = jnp.where(status == 0, jnp.where(pg_small, 0, 1),
                     jnp.where(status == 1, 3, jnp.where(status == CALLBACK_STATUS, 7, 4)))
    return _num(code)


def fmin_tnc(func: Callable, x0: Any, fprime: Callable | None = None, args: tuple = (), approx_grad: int = 0,
             bounds: Sequence | None = None, epsilon: float = 1e-8, scale: Any = None, offset: Any = None,
             messages: int = 15, maxCGit: int = -1, maxfun: int | None = None, eta: float = -1,  # noqa: N803
             stepmx: float = 0, accuracy: float = 0, fmin: float = 0, ftol: float = -1, xtol: float = -1,
             pgtol: float = -1, rescale: float = -1, disp: Any = None, callback: Callable | None = None) -> tuple:
    """Truncated Newton with bounds (``scipy.optimize.fmin_tnc``): ``minimize(method='TNC')``.

    Returns ``(x, nfeval, rc)``. Without ``fprime`` and with ``approx_grad=0``, ``func`` returns
    ``(f, g)`` as in SciPy; with ``approx_grad`` true the gradient comes from autodiff (not finite
    differences; ``epsilon`` is ignored). ``messages``/``disp``: a positive ``disp`` prints
    SciPy's summary after the solve.

    Differences from SciPy
    ----------------------
    - The engine is our TNC (see ``minimize``'s notes), so ``nfeval`` and iterates differ.
    - ``rc`` is TNC's code where ours says it: 0 when the projected-gradient test holds at ``x``,
      1 for a stop on the ``ftol`` or ``xtol`` test (SciPy's 2 for the ``x`` test is reported as
      1), 3 ``maxfun``, 4 the step search failed or a value was NaN, 7 ``callback`` stopped it.
    - ``scale`` and ``offset`` must be ``None``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import fmin_tnc
    >>> x, nfeval, rc = fmin_tnc(lambda x: jnp.sum((x - 2.0) ** 2), [0.0, 0.0], approx_grad=True,
    ...                          bounds=[(0, 1), (0, 5)])
    >>> [round(float(v), 4) for v in x], rc in (0, 1, 2)
    ([1.0, 2.0], True)
    """
    jac = fprime if callable(fprime) else (None if approx_grad else True)
    opts = {"scale": scale, "offset": offset, "maxCGit": maxCGit, "maxfun": maxfun, "eta": eta, "stepmx": stepmx,
            "accuracy": accuracy, "minfev": fmin, "ftol": ftol, "xtol": xtol, "gtol": pgtol, "rescale": rescale}
    opts = {k: v for k, v in opts.items() if v is not None}
    res = minimize(func, x0, args=_args(args), method="TNC", jac=jac, bounds=bounds, callback=callback,
                   options=opts)
    if disp:
        print_summary(res)
    return _np(res.x), _num(res.nfev), _tnc_code(res, x0, bounds, opts)


def fmin_cobyla(func: Callable, x0: Any, cons: Callable | Sequence[Callable], args: tuple = (),
                consargs: tuple | None = None, rhobeg: float = 1.0, rhoend: float = 1e-4, maxfun: int = 1000,
                disp: Any = None, catol: float = 2e-4, *, callback: Callable | None = None) -> Any:
    """Constrained minimisation by linear approximation (``scipy.optimize.fmin_cobyla``):
    ``minimize(method='COBYLA')``.

    Parameters
    ----------
    func
        The objective ``func(x, *args)``.
    x0
        Initial guess.
    cons
        A constraint function or a sequence of them, each ``c(x, *consargs) >= 0`` at a feasible
        point (a function may return an array of such values).
    args, consargs
        Extra arguments of ``func`` and of the constraints (``consargs=None``: ``args``).
    rhobeg, rhoend
        The initial and the final trust-region radius.
    maxfun
        The most function evaluations.
    disp
        A positive value prints SciPy's summary after the solve.
    catol
        The constraint violation accepted at the solution.
    callback
        Called with the current ``x`` after each iteration.

    Returns
    -------
    ndarray
        The minimiser.

    Differences from SciPy
    ----------------------
    As ``minimize(method='COBYLA')`` (Powell's 1994 method, not PRIMA's; see its notes).

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_cobyla
    >>> x = fmin_cobyla(lambda x: x[0] * x[1], [0.0, 0.1],
    ...                 [lambda x: 1 - x[0] ** 2 - x[1] ** 2, lambda x: x[1]], rhoend=1e-7)
    >>> [round(float(v), 4) for v in x]
    [-0.7071, 0.7071]
    """
    if callable(cons):
        cons = [cons]
    if not all(callable(c) for c in cons):
        raise TypeError("`cons` must be a callable or a sequence of callables.")
    args = _args(args)
    consargs = args if consargs is None else _args(consargs)
    constraints = [{"type": "ineq", "fun": c, "args": consargs} for c in cons]
    opts = {"rhobeg": rhobeg, "tol": rhoend, "maxiter": maxfun, "catol": catol}
    res = minimize(func, x0, args=args, method="COBYLA", constraints=constraints, callback=callback, options=opts)
    if disp:
        print_summary(res)
    return _np(res.x)
