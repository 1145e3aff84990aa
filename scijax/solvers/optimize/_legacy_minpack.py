"""SciPy's MINPACK-era functions ``fsolve`` and ``leastsq``, on top of ``root`` and ``least_squares``.

They keep SciPy's return conventions (``full_output``, ``ier``, ``mesg``, ``infodict``); eager results
are NumPy arrays. The engines are ours, not MINPACK (see :func:`root` and :func:`least_squares`).
"""

import warnings
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete as _concrete
from ._least_squares import least_squares
from ._root import root

__all__ = ["fsolve", "leastsq"]

# least_squares status -> MINPACK lmdif's `info`
_LM_INFO = {0: 5, 1: 4, 2: 1, 3: 2, 4: 3}
_LM_MESSAGES = {
    1: "Both actual and predicted relative reductions in the sum of squares\n  are at most 0.000000",
    2: "The relative error between two consecutive iterates is at most 0.000000",
    3: "Both actual and predicted relative reductions in the sum of squares\n  are at most 0.000000 and "
       "the relative error between two consecutive iterates is at \n  most 0.000000",
    4: "The cosine of the angle between func(x) and any column of the\n  Jacobian is at most 0.000000 in "
       "absolute value",
    5: "Number of calls to function has reached maxfev.",
}


def _np(x: Any) -> Any:
    return np.asarray(x) if _concrete(x) else x


def _args(args: Any) -> tuple:
    return args if isinstance(args, tuple) else (args,)


def _transposed(jac: Callable) -> Callable:
    return lambda x, *a: jnp.transpose(jnp.asarray(jac(x, *a)))


def fsolve(func: Callable, x0: Any, args: tuple = (), fprime: Callable | None = None,
           full_output: bool = False, col_deriv: bool = False, xtol: float = 1.49012e-08,
           maxfev: int = 0, band: Any = None, epsfcn: float | None = None, factor: float = 100,
           diag: Any = None) -> Any:
    """Roots of a system of equations (``scipy.optimize.fsolve``): ``root(method='hybr')``.

    Parameters
    ----------
    func, x0, args, fprime, col_deriv, xtol, maxfev
        As in SciPy (``maxfev=0`` means ``200 * (n + 1)``).
    full_output
        Also return ``infodict`` (``nfev``, ``fvec``), ``ier`` (1 on success) and ``mesg``.
    band, epsfcn, factor, diag
        Accepted and ignored (the Jacobian comes from autodiff or ``fprime``).

    Returns
    -------
    x, or (x, infodict, ier, mesg)
        Eagerly, a failed solve without ``full_output`` warns ``RuntimeWarning`` as SciPy does.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import fsolve
    >>> x = fsolve(lambda x: jnp.array([x[0] * jnp.cos(x[1]) - 4, x[1] * x[0] - x[1] - 5]), [1.0, 1.0])
    >>> [round(float(v), 6) for v in x]
    [6.504097, 0.908414]
    """
    x0 = np.atleast_1d(np.asarray(x0, dtype=float)) if _concrete(x0) else jnp.atleast_1d(x0)
    jac = _transposed(fprime) if (callable(fprime) and col_deriv) else fprime
    options = {"xtol": xtol, "maxfev": int(maxfev) if maxfev else 200 * (x0.size + 1)}
    res = root(func, x0, args=_args(args), method="hybr", jac=jac, options=options)
    status = res.status
    if _concrete(status):
        ier, mesg = int(status), res.message
        if not full_output:
            if ier != 1:
                warnings.warn(str(mesg), RuntimeWarning, stacklevel=2)
            return _np(res.x)
        return _np(res.x), {"nfev": _np(res.nfev), "fvec": _np(res.fun)}, ier, mesg
    if not full_output:
        return res.x
    return res.x, {"nfev": res.nfev, "fvec": res.fun}, status, None


def leastsq(func: Callable, x0: Any, args: tuple = (), Dfun: Callable | None = None,
            full_output: bool = False, col_deriv: bool = False, ftol: float = 1.49012e-08,
            xtol: float = 1.49012e-08, gtol: float = 0.0, maxfev: int = 0, epsfcn: float | None = None,
            factor: float = 100, diag: Any = None) -> tuple:
    """Minimise a sum of squares (``scipy.optimize.leastsq``): ``least_squares(method='lm')``.

    Parameters
    ----------
    func, x0, args, Dfun, col_deriv, ftol, xtol, gtol, maxfev
        As in SciPy (``maxfev=0`` means ``200 * (n + 1)``; ``gtol=0`` means the smallest positive
        tolerance our engine accepts).
    full_output
        Also return ``cov_x`` (``inv(J^T J)`` at the solution, ``None`` if singular),
        ``infodict`` (``nfev``, ``fvec``, ``fjac`` as the plain Jacobian, not MINPACK's
        permuted factor) and ``mesg``.
    epsfcn, factor, diag
        Accepted and ignored.

    Returns
    -------
    (x, ier), or (x, cov_x, infodict, mesg, ier)
        ``ier`` in 1..4 is a success, as in SciPy.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import leastsq
    >>> t = jnp.linspace(0, 3, 20)
    >>> x, ier = leastsq(lambda p: p[0] * jnp.exp(-p[1] * t) - 2.0 * jnp.exp(-1.3 * t), [1.0, 1.0])
    >>> [round(float(v), 6) for v in x], ier in (1, 2, 3, 4)
    ([2.0, 1.3], True)
    """
    x0 = np.atleast_1d(np.asarray(x0, dtype=float)) if _concrete(x0) else jnp.atleast_1d(x0)
    n = x0.size
    jac = (_transposed(Dfun) if col_deriv else Dfun) if callable(Dfun) else "2-point"
    res = least_squares(func, x0, jac=jac, method="lm", args=_args(args), ftol=ftol, xtol=xtol,
                        gtol=gtol if gtol > 0 else float(np.finfo(float).eps),
                        max_nfev=int(maxfev) if maxfev else 200 * (n + 1))
    if _concrete(res.status):
        ier = _LM_INFO.get(int(res.status), 5)
        mesg = _LM_MESSAGES[ier]
    else:
        ier, mesg = jnp.asarray([5, 4, 1, 2, 3])[jnp.clip(res.status, 0, 4)], None
    if not full_output:
        if _concrete(res.status) and ier not in (1, 2, 3, 4):
            warnings.warn(str(mesg), RuntimeWarning, stacklevel=2)
        return _np(res.x), ier
    jmat = jnp.asarray(res.jac)
    jtj = jmat.T @ jmat
    cov = jnp.linalg.inv(jtj)
    if _concrete(cov):
        cov = None if (np.linalg.matrix_rank(np.asarray(jtj)) < n) else np.asarray(cov)
    info = {"nfev": _np(res.nfev), "fvec": _np(res.fun), "fjac": _np(jmat)}
    return _np(res.x), cov, info, mesg, ier
