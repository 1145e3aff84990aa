"""SciPy's legacy minimisation functions (``fmin``, ``fmin_bfgs``, ..., ``brent``, ``bracket``).

Each one is a thin wrapper over :func:`minimize` or :func:`minimize_scalar` that translates the old
argument names and packs SciPy's return conventions (``full_output``, ``retall``, ``disp``). Eager
results are NumPy arrays and Python numbers, as SciPy's are.

Differences from SciPy common to all of them: ``retall=True`` returns ``allvecs = [x0, xopt]``
(the compiled solvers do not record their iterates); ``callback(xk)`` is called once per iteration
through ``minimize``'s callback. Function and gradient counts are those of our engines.
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete as _concrete
from .._userfn import prepare
from ._disp import print_summary
from ._minimize import minimize
from ._minimize_scalar import minimize_scalar
from ._solvers.scalar_min import find_bracket

__all__ = ["fmin", "fmin_bfgs", "fmin_cg", "fmin_ncg", "fmin_l_bfgs_b", "fmin_slsqp", "fminbound",
           "brent", "golden", "bracket"]

_EPS = float(np.sqrt(np.finfo(float).eps))


def _np(x: Any) -> Any:
    return np.asarray(x) if _concrete(x) else x


def _num(x: Any) -> Any:
    if not _concrete(x):
        return x
    a = np.asarray(x)
    return a.item() if a.ndim == 0 else a


def _args(args: Any) -> tuple:
    return args if isinstance(args, tuple) else (args,)


def _report(res: Any, disp: Any, gradients: bool = True, hessians: Any = None) -> None:
    """SciPy's convergence summary, printed when ``disp`` is true and the result is concrete."""
    if disp:
        print_summary(res, gradients=gradients, hessians=hessians)


def _pack(res: Any, x0: Any, full: tuple, full_output: Any, retall: Any) -> Any:
    x = _np(res.x)
    if full_output:
        out = (x, *full)
        return (*out, [np.asarray(x0, dtype=float), x]) if retall else out
    return (x, [np.asarray(x0, dtype=float), x]) if retall else x


def fmin(func: Callable, x0: Any, args: tuple = (), xtol: float = 1e-4, ftol: float = 1e-4,
         maxiter: int | None = None, maxfun: int | None = None, full_output: bool = False,
         disp: bool = True, retall: bool = False, callback: Callable | None = None,
         initial_simplex: Any = None) -> Any:
    """Nelder-Mead simplex minimisation (``scipy.optimize.fmin``): ``minimize(method='Nelder-Mead')``.

    Returns ``xopt``, or with ``full_output`` ``(xopt, fopt, iter, funcalls, warnflag)``
    (``warnflag`` 1: ``maxfun`` reached, 2: ``maxiter`` reached), plus ``allvecs`` with ``retall``.
    ``disp`` prints SciPy's summary. See the module docstring for the differences from SciPy.

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin, rosen
    >>> x = fmin(rosen, [1.3, 0.7], disp=False)
    >>> [round(float(v), 3) for v in x]
    [1.0, 1.0]
    """
    opts = {"xatol": xtol, "fatol": ftol, "maxiter": maxiter, "maxfev": maxfun,
            "initial_simplex": initial_simplex}
    res = minimize(func, x0, args=_args(args), callback=callback, method="Nelder-Mead",
                   options={k: v for k, v in opts.items() if v is not None})
    _report(res, disp, gradients=False)
    return _pack(res, x0, (_num(res.fun), _num(res.nit), _num(res.nfev), _num(res.status)),
                 full_output, retall)


def fmin_powell(func: Callable, x0: Any, args: tuple = (), xtol: float = 1e-4, ftol: float = 1e-4,
                maxiter: int | None = None, maxfun: int | None = None, full_output: bool = False,
                disp: bool = True, retall: bool = False, callback: Callable | None = None,
                direc: Any = None) -> Any:
    """Powell's conjugate-direction method (``scipy.optimize.fmin_powell``): ``minimize(method='Powell')``.

    Returns ``xopt``, or with ``full_output`` ``(xopt, fopt, direc, iter, funcalls, warnflag)``
    (``direc`` is ``None``: our Powell does not return its final direction set), plus ``allvecs``
    with ``retall``. ``disp`` prints SciPy's summary.

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_powell, rosen
    >>> x = fmin_powell(rosen, [1.3, 0.7], disp=False)
    >>> [round(float(v), 3) for v in x]
    [1.0, 1.0]
    """
    opts = {"xtol": xtol, "ftol": ftol, "maxiter": maxiter, "maxfev": maxfun, "direc": direc}
    res = minimize(func, x0, args=_args(args), callback=callback, method="Powell",
                   options={k: v for k, v in opts.items() if v is not None})
    _report(res, disp, gradients=False)
    return _pack(res, x0, (_num(res.fun), None, _num(res.nit), _num(res.nfev), _num(res.status)),
                 full_output, retall)


def _with_grad(fprime: Callable | None) -> Any:
    return fprime if callable(fprime) else None


def fmin_bfgs(f: Callable, x0: Any, fprime: Callable | None = None, args: tuple = (), gtol: float = 1e-5,
              norm: float = np.inf, epsilon: Any = _EPS, maxiter: int | None = None,
              full_output: bool = False, disp: bool = True, retall: bool = False,
              callback: Callable | None = None, xrtol: float = 0, c1: float = 1e-4, c2: float = 0.9,
              hess_inv0: Any = None) -> Any:
    """BFGS (``scipy.optimize.fmin_bfgs``): ``minimize(method='BFGS')``.

    Returns ``xopt``, or with ``full_output``
    ``(xopt, fopt, gopt, Bopt, func_calls, grad_calls, warnflag)``, plus ``allvecs`` with ``retall``.
    Without ``fprime`` the gradient comes from autodiff (or forward differences for a NumPy-written
    ``f``); ``epsilon``, ``xrtol``, ``c1``, ``c2`` and ``hess_inv0`` are accepted and ignored.

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_bfgs, rosen
    >>> x = fmin_bfgs(rosen, [1.3, 0.7], disp=False)
    >>> [round(float(v), 4) for v in x]
    [1.0, 1.0]
    """
    opts = {"gtol": gtol, "norm": norm}
    if maxiter is not None:
        opts["maxiter"] = maxiter
    res = minimize(f, x0, args=_args(args), callback=callback, method="BFGS", jac=_with_grad(fprime), options=opts)
    _report(res, disp)
    full = (_num(res.fun), _np(res.jac), _np(res.hess_inv), _num(res.nfev), _num(res.njev),
            _num(res.status))
    return _pack(res, x0, full, full_output, retall)


def fmin_cg(f: Callable, x0: Any, fprime: Callable | None = None, args: tuple = (), gtol: float = 1e-5,
            norm: float = np.inf, epsilon: Any = _EPS, maxiter: int | None = None,
            full_output: bool = False, disp: bool = True, retall: bool = False,
            callback: Callable | None = None, c1: float = 1e-4, c2: float = 0.4) -> Any:
    """Nonlinear conjugate gradient (``scipy.optimize.fmin_cg``): ``minimize(method='CG')``.

    Returns ``xopt``, or with ``full_output`` ``(xopt, fopt, func_calls, grad_calls, warnflag)``,
    plus ``allvecs`` with ``retall``. ``epsilon``, ``c1`` and ``c2`` are accepted and ignored.

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_cg
    >>> x = fmin_cg(lambda x: ((x - 2.0) ** 2).sum(), [0.0, 0.0], disp=False)
    >>> [round(float(v), 4) for v in x]
    [2.0, 2.0]
    """
    opts = {"gtol": gtol, "norm": norm}
    if maxiter is not None:
        opts["maxiter"] = maxiter
    res = minimize(f, x0, args=_args(args), callback=callback, method="CG", jac=_with_grad(fprime), options=opts)
    _report(res, disp)
    full = (_num(res.fun), _num(res.nfev), _num(res.njev), _num(res.status))
    return _pack(res, x0, full, full_output, retall)


def fmin_ncg(f: Callable, x0: Any, fprime: Callable, fhess_p: Callable | None = None,
             fhess: Callable | None = None, args: tuple = (), avextol: float = 1e-5,
             epsilon: Any = _EPS, maxiter: int | None = None, full_output: bool = False,
             disp: bool = True, retall: bool = False, callback: Callable | None = None,
             c1: float = 1e-4, c2: float = 0.9) -> Any:
    """Newton-CG (``scipy.optimize.fmin_ncg``): ``minimize(method='Newton-CG')``.

    Returns ``xopt``, or with ``full_output`` ``(xopt, fopt, fcalls, gcalls, hcalls, warnflag)``,
    plus ``allvecs`` with ``retall``. Hessian products come from autodiff; ``fhess_p``/``fhess``
    are accepted and not called (``hcalls`` counts the iterations).

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_ncg, rosen, rosen_der
    >>> x = fmin_ncg(rosen, [1.3, 0.7], rosen_der, disp=False)
    >>> [round(float(v), 3) for v in x]
    [1.0, 1.0]
    """
    opts = {"xtol": avextol}
    if maxiter is not None:
        opts["maxiter"] = maxiter
    res = minimize(f, x0, args=_args(args), callback=callback, method="Newton-CG", jac=_with_grad(fprime), options=opts)
    _report(res, disp, hessians=res.nit)
    full = (_num(res.fun), _num(res.nfev), _num(res.njev), _num(res.nit), _num(res.status))
    return _pack(res, x0, full, full_output, retall)


def fmin_l_bfgs_b(func: Callable, x0: Any, fprime: Callable | None = None, args: tuple = (),
                  approx_grad: bool = False, bounds: Sequence | None = None, m: int = 10,
                  factr: float = 1e7, pgtol: float = 1e-5, epsilon: float = 1e-8, iprint: int = -1,
                  maxfun: int = 15000, maxiter: int = 15000, disp: Any = None,
                  callback: Callable | None = None, maxls: int = 20) -> tuple:
    """L-BFGS-B (``scipy.optimize.fmin_l_bfgs_b``): ``minimize(method='L-BFGS-B')``.

    Returns ``(x, f, d)`` with ``d = {'grad', 'task', 'funcalls', 'nit', 'warnflag'}``. Without
    ``fprime`` and with ``approx_grad=False``, ``func`` returns ``(f, g)`` as in SciPy; with
    ``approx_grad=True`` the gradient comes from autodiff (forward differences for NumPy code).
    ``factr`` becomes ``ftol = factr * eps``. ``epsilon``, ``iprint`` and ``disp`` are ignored.

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_l_bfgs_b
    >>> x, f, d = fmin_l_bfgs_b(lambda x: ((x - 2.0) ** 2).sum(), [0.0, 0.0], approx_grad=True,
    ...                         bounds=[(0, 1), (0, 5)])
    >>> [round(float(v), 4) for v in x], d['warnflag']
    ([1.0, 2.0], 0)
    """
    jac = fprime if callable(fprime) else (None if approx_grad else True)
    opts = {"maxcor": m, "ftol": factr * np.finfo(float).eps, "gtol": pgtol, "maxiter": maxiter,
            "maxfun": maxfun, "maxls": maxls}
    res = minimize(func, x0, args=_args(args), callback=callback, method="L-BFGS-B", jac=jac, bounds=bounds,
                   options=opts)
    status = _num(res.status)
    d = {"grad": _np(res.jac), "task": res.message if _concrete(res.status) else None,
         "funcalls": _num(res.nfev), "nit": _num(res.nit),
         "warnflag": status if not _concrete(res.status) else min(int(status), 2)}
    return _np(res.x), _num(res.fun), d


def _constraint_dicts(kind: str, funcs: Sequence[Callable], f_all: Callable | None, args: tuple) -> list:
    out = [{"type": kind, "fun": fn, "args": args} for fn in funcs]
    if f_all is not None:
        out.append({"type": kind, "fun": f_all, "args": args})
    return out


def fmin_slsqp(func: Callable, x0: Any, eqcons: Sequence[Callable] = (), f_eqcons: Callable | None = None,
               ieqcons: Sequence[Callable] = (), f_ieqcons: Callable | None = None,
               bounds: Sequence = (), fprime: Callable | None = None,
               fprime_eqcons: Callable | None = None, fprime_ieqcons: Callable | None = None,
               args: tuple = (), iter: int = 100, acc: float = 1e-6, iprint: int = 1,
               disp: Any = None, full_output: bool = False, epsilon: float = _EPS,
               callback: Callable | None = None) -> Any:
    """Sequential least squares programming (``scipy.optimize.fmin_slsqp``): ``minimize(method='SLSQP')``.

    Returns ``x``, or with ``full_output`` ``(x, fx, its, imode, smode)``. Constraint functions
    take ``(x, *args)``; their Jacobians come from autodiff (``fprime_eqcons``/``fprime_ieqcons``
    are not called). ``iprint``/``disp`` print SciPy's summary when positive.

    Examples
    --------
    >>> from scijax.solvers.optimize import fmin_slsqp
    >>> x = fmin_slsqp(lambda x: (x ** 2).sum(), [1.0, 1.0], eqcons=[lambda x: x[0] + x[1] - 1.0],
    ...                iprint=0)
    >>> [round(float(v), 4) for v in x]
    [0.5, 0.5]
    """
    args = _args(args)
    cons = _constraint_dicts("eq", eqcons, f_eqcons, args) + _constraint_dicts("ineq", ieqcons, f_ieqcons, args)
    res = minimize(func, x0, args=args, callback=callback, method="SLSQP", jac=_with_grad(fprime),
                   bounds=bounds or None, constraints=cons, options={"maxiter": iter, "ftol": acc})
    _report(res, (disp if disp is not None else iprint) and int(disp if disp is not None else iprint) > 0)
    if full_output:
        smode = res.message if _concrete(res.status) else None
        return _np(res.x), _num(res.fun), _num(res.nit), _num(res.status), smode
    return _np(res.x)


def fminbound(func: Callable, x1: float, x2: float, args: tuple = (), xtol: float = 1e-5, maxfun: int = 500,
              full_output: bool = False, disp: int = 1) -> Any:
    """Bounded scalar minimisation (``scipy.optimize.fminbound``): ``minimize_scalar(method='bounded')``.

    Returns ``xopt``, or with ``full_output`` ``(xopt, fval, ierr, numfunc)``. ``disp=1`` prints a
    message only on failure, as SciPy does; ``disp=3`` prints the summary.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import fminbound
    >>> round(float(fminbound(jnp.cos, 3, 4)), 5)
    3.14159
    """
    if np.ndim(x1) or np.ndim(x2):
        raise ValueError("Optimization bounds must be finite scalars.")
    if _concrete(x1, x2) and x1 > x2:
        raise ValueError("The lower bound exceeds the upper bound.")
    res = minimize_scalar(func, bounds=(x1, x2), args=_args(args), method="bounded",
                          options={"xatol": xtol, "maxiter": maxfun})
    if disp and _concrete(res.status) and (int(res.status) != 0 or disp >= 3):
        _report(res, True, gradients=False)
    if full_output:
        return _num(res.x), _num(res.fun), _num(res.status), _num(res.nfev)
    return _num(res.x)


def brent(func: Callable, args: tuple = (), brack: Any = None, tol: float = 1.48e-8,
          full_output: bool = False, maxiter: int = 500) -> Any:
    """Brent's method (``scipy.optimize.brent``): ``minimize_scalar(method='brent')``.

    Returns ``xmin``, or with ``full_output`` ``(xmin, fval, iter, funcalls)``.

    Examples
    --------
    >>> from scijax.solvers.optimize import brent
    >>> round(float(brent(lambda x: (x - 1.5) ** 2)), 6)
    1.5
    """
    res = minimize_scalar(func, bracket=brack, args=_args(args), method="brent", tol=tol,
                          options={"maxiter": maxiter})
    if full_output:
        return _num(res.x), _num(res.fun), _num(res.nit), _num(res.nfev)
    return _num(res.x)


def golden(func: Callable, args: tuple = (), brack: Any = None, tol: float = _EPS,
           full_output: bool = False, maxiter: int = 5000) -> Any:
    """Golden-section search (``scipy.optimize.golden``): ``minimize_scalar(method='golden')``.

    Returns ``xmin``, or with ``full_output`` ``(xmin, fval, funcalls)``.

    Examples
    --------
    >>> from scijax.solvers.optimize import golden
    >>> round(float(golden(lambda x: (x - 1.5) ** 2)), 6)
    1.5
    """
    res = minimize_scalar(func, bracket=brack, args=_args(args), method="golden", tol=tol,
                          options={"maxiter": maxiter})
    if full_output:
        return _num(res.x), _num(res.fun), _num(res.nfev)
    return _num(res.x)


def bracket(func: Callable, xa: Any = 0.0, xb: Any = 1.0, args: tuple = (), grow_limit: float = 110.0,
            maxiter: int = 1000) -> tuple:
    """Bracket a minimum (``scipy.optimize.bracket``): walk downhill from ``(xa, xb)``.

    Returns ``(xa, xb, xc, fa, fb, fc, funcalls)`` with ``f(xb) < f(xa), f(xc)`` and ``xb``
    between ``xa`` and ``xc``. Eagerly, a failed search raises ``RuntimeError`` (SciPy raises its
    ``BracketError``, a ``RuntimeError``); under ``jit`` the returned points are NaN.

    Examples
    --------
    >>> from scijax.solvers.optimize import bracket
    >>> xa, xb, xc, fa, fb, fc, n = bracket(lambda x: (x - 3.0) ** 2)
    >>> bool(fb < fa and fb < fc)
    True
    """
    args = _args(args)
    dtype = jnp.result_type(xa, xb, float)
    xa, xb = jnp.asarray(xa, dtype), jnp.asarray(xb, dtype)
    fun = prepare(func, (xa, *args), solver="bracket", role="func", closures=False)
    out = find_bracket(lambda x: jnp.asarray(fun(x, *args), dtype).reshape(()), xa, xb, grow_limit, maxiter)
    *points, nfev, valid = out
    if _concrete(valid):
        if not bool(valid):
            raise RuntimeError("The algorithm terminated without finding a valid bracket. Consider trying "
                               "different initial points.")
        return (*(_num(p) for p in points), _num(nfev))
    return (*(jnp.where(valid, p, jnp.nan) for p in points), nfev)
