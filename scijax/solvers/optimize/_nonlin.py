"""SciPy's standalone large-scale nonlinear solvers (``scipy.optimize.broyden1``, ``broyden2``,
``anderson``, ``linearmixing``, ``diagbroyden``, ``excitingmixing``, ``newton_krylov``) and
``NoConvergence``. Each runs ``root(method=...)``'s engine (:mod:`._solvers.nonlin`) and returns
the solution alone, raising :class:`NoConvergence` as SciPy does when it did not converge."""

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete as _is_concrete
from ._implicit import nan_unless
from ._root import root

__all__ = ["NoConvergence", "broyden1", "broyden2", "anderson", "linearmixing", "diagbroyden",
           "excitingmixing", "newton_krylov"]


class NoConvergence(Exception):
    """Raised by the standalone nonlinear solvers (:func:`broyden1`, ...) when they did not
    converge (``scipy.optimize.NoConvergence``); ``args[0]`` is the last iterate."""


def _solve(name: str, F: Callable, xin: ArrayLike, jac_options: dict, iter: int | None,
           verbose: bool, maxiter: int | None, f_tol: float | None, f_rtol: float | None,
           x_tol: float | None, x_rtol: float | None, tol_norm: Callable | None,
           line_search: str | bool | None, callback: Any, kw: dict) -> Array:
    if kw:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kw)}.")
    if callback is not None:
        raise ValueError("`callback` is not supported: it would need a host call in the compiled loop.")
    if not callable(F):
        raise TypeError("`F` must be callable.")
    x0 = jnp.asarray(xin)
    x0 = x0.astype(jnp.result_type(x0, 1.0)) if not jnp.issubdtype(x0.dtype, jnp.inexact) else x0
    shape = x0.shape
    fun = F if x0.ndim == 1 else _Reshaped(F, shape)
    options = {"nit": iter, "maxiter": maxiter, "fatol": f_tol, "ftol": f_rtol, "xatol": x_tol,
               "xtol": x_rtol, "tol_norm": tol_norm, "line_search": line_search,
               "jac_options": jac_options}
    sol = root(fun, x0.reshape(-1), method=name, options=options)
    ok = (sol.status == 1) | ((sol.status == 2) & (iter is not None))
    x = sol.x.reshape(shape)
    if _is_concrete(sol.status):
        if verbose:
            print(f"{int(sol.nit)}:  |F(x)| = {float(jnp.max(jnp.abs(sol.fun))):g}; {sol.message}")
        if int(sol.status) == 4:
            raise ValueError(sol.message)
        if not bool(ok):
            raise NoConvergence(np.asarray(x))
        return x
    return nan_unless(x, ok)


class _Reshaped:
    """``F`` called on the original shape of ``xin``, flattened (SciPy works on ``xin.ravel()``)."""

    def __init__(self, F: Callable, shape: tuple) -> None:
        self.F, self.shape = F, shape

    def __call__(self, x):
        return jnp.reshape(self.F(jnp.reshape(x, self.shape)), (-1,))

    def __eq__(self, other):
        return isinstance(other, _Reshaped) and (self.F, self.shape) == (other.F, other.shape)

    def __hash__(self):
        return hash((self.F, self.shape))


_COMMON_DOC = """
    Parameters
    ----------
    F
        ``F(x) -> array`` in JAX, the shape of ``xin`` (arrays it closes over may be traced).
    xin
        Initial guess, any shape.
    iter
        Run exactly ``iter`` iterations, ignoring the tolerances (no exception).
{own}    verbose
        Print the final iteration count and ``max|F|`` (eager calls only).
    maxiter
        Most iterations (default ``100 (n + 1)``, or ``iter + 1``); exceeding it raises
        :class:`NoConvergence`.
    f_tol, f_rtol, x_tol, x_rtol, tol_norm
        SciPy's stopping tests: ``|F| <= f_tol`` (default ``6e-6``), ``|F| <= f_rtol |F(xin)|``,
        ``|dx| <= x_tol``, ``|dx| <= x_rtol |x|`` (defaults ``inf``), in ``tol_norm`` (max norm).
    line_search
        ``'armijo'`` (default), ``'wolfe'`` or ``None`` (full steps).
    callback
        Must be ``None``.

    Returns
    -------
    Array
        The solution, the shape of ``xin``.

    Raises
    ------
    NoConvergence
        Eagerly, when it did not converge (also for a non-finite ``F``). Under ``jit``/``vmap``
        it cannot raise: the solution is NaN instead.

    Differences from SciPy
    ----------------------
    - Runs ``root(method='{method}')``'s compiled engine; ``jax.grad`` of the solution w.r.t.
      arrays ``F`` closes over is implicit (``-J^-1 dF/dp``), NaN through a failed solve.
    - The line search halves the step (SciPy's Armijo test on ``|F|^2``) where SciPy
      interpolates; ``'wolfe'`` runs the same search. Iterates can differ.
{diff}
    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import {name}
{example}    """
_PAIR = """    >>> x = {name}(lambda x: jnp.array([x[0] + 0.5 * (x[0] - x[1]) ** 3 - 1.0,
    ...                              0.5 * (x[1] - x[0]) ** 3 + x[1]]), jnp.zeros(2))
    >>> [round(float(v), 4) for v in x]
    [0.8412, 0.1588]
"""
_COS = """    >>> x = {name}(lambda x: jnp.cos(x) - x, jnp.zeros(2))
    >>> [round(float(v), 4) for v in x]
    [0.7391, 0.7391]
"""


def _doc(name, method, summary, own="", diff="", example=_PAIR):
    return summary + "\n" + _COMMON_DOC.format(name=name, method=method, own=own, diff=diff,
                                               example=example.format(name=name))


_BROYDEN_OWN = """    alpha
        The initial inverse Jacobian is ``-alpha I`` (default ``0.5 max(|x0|, 1) / |F(x0)|``).
    reduction_method, max_rank
        Accepted; the inverse Jacobian is stored dense, so no rank reduction is needed.
"""
_DENSE = "    - The ``n x n`` inverse Jacobian is dense (SciPy keeps a low-rank form).\n"
_NOTE_SIMPLE = ("    - A diverging iteration ends at the first non-finite ``F`` (NoConvergence), where SciPy "
                "runs on to ``maxiter``.\n")
_STD = dict(iter=None, verbose=False, maxiter=None, f_tol=None, f_rtol=None, x_tol=None, x_rtol=None,
            tol_norm=None, line_search="armijo", callback=None)


def broyden1(F: Callable, xin: ArrayLike, iter: int | None = None, alpha: float | None = None,
             reduction_method: str = "restart", max_rank: int | None = None, verbose: bool = False,
             maxiter: int | None = None, f_tol: float | None = None, f_rtol: float | None = None,
             x_tol: float | None = None, x_rtol: float | None = None, tol_norm: Callable | None = None,
             line_search: str | None = "armijo", callback: Any = None, **kw: Any) -> Array:
    return _solve("broyden1", F, xin, {"alpha": alpha, "reduction_method": reduction_method,
                                       "max_rank": max_rank}, iter, verbose, maxiter, f_tol, f_rtol,
                  x_tol, x_rtol, tol_norm, line_search, callback, kw)


def broyden2(F: Callable, xin: ArrayLike, iter: int | None = None, alpha: float | None = None,
             reduction_method: str = "restart", max_rank: int | None = None, verbose: bool = False,
             maxiter: int | None = None, f_tol: float | None = None, f_rtol: float | None = None,
             x_tol: float | None = None, x_rtol: float | None = None, tol_norm: Callable | None = None,
             line_search: str | None = "armijo", callback: Any = None, **kw: Any) -> Array:
    return _solve("broyden2", F, xin, {"alpha": alpha, "reduction_method": reduction_method,
                                       "max_rank": max_rank}, iter, verbose, maxiter, f_tol, f_rtol,
                  x_tol, x_rtol, tol_norm, line_search, callback, kw)


def anderson(F: Callable, xin: ArrayLike, iter: int | None = None, alpha: float | None = None,
             w0: float = 0.01, M: int = 5, verbose: bool = False, maxiter: int | None = None,
             f_tol: float | None = None, f_rtol: float | None = None, x_tol: float | None = None,
             x_rtol: float | None = None, tol_norm: Callable | None = None,
             line_search: str | None = "armijo", callback: Any = None, **kw: Any) -> Array:
    return _solve("anderson", F, xin, {"alpha": alpha, "w0": w0, "M": M}, iter, verbose, maxiter,
                  f_tol, f_rtol, x_tol, x_rtol, tol_norm, line_search, callback, kw)


def linearmixing(F: Callable, xin: ArrayLike, iter: int | None = None, alpha: float | None = None,
                 verbose: bool = False, maxiter: int | None = None, f_tol: float | None = None,
                 f_rtol: float | None = None, x_tol: float | None = None, x_rtol: float | None = None,
                 tol_norm: Callable | None = None, line_search: str | None = "armijo",
                 callback: Any = None, **kw: Any) -> Array:
    return _solve("linearmixing", F, xin, {"alpha": alpha}, iter, verbose, maxiter, f_tol, f_rtol,
                  x_tol, x_rtol, tol_norm, line_search, callback, kw)


def diagbroyden(F: Callable, xin: ArrayLike, iter: int | None = None, alpha: float | None = None,
                verbose: bool = False, maxiter: int | None = None, f_tol: float | None = None,
                f_rtol: float | None = None, x_tol: float | None = None, x_rtol: float | None = None,
                tol_norm: Callable | None = None, line_search: str | None = "armijo",
                callback: Any = None, **kw: Any) -> Array:
    return _solve("diagbroyden", F, xin, {"alpha": alpha}, iter, verbose, maxiter, f_tol, f_rtol,
                  x_tol, x_rtol, tol_norm, line_search, callback, kw)


def excitingmixing(F: Callable, xin: ArrayLike, iter: int | None = None, alpha: float | None = None,
                   alphamax: float = 1.0, verbose: bool = False, maxiter: int | None = None,
                   f_tol: float | None = None, f_rtol: float | None = None, x_tol: float | None = None,
                   x_rtol: float | None = None, tol_norm: Callable | None = None,
                   line_search: str | None = "armijo", callback: Any = None, **kw: Any) -> Array:
    return _solve("excitingmixing", F, xin, {"alpha": alpha, "alphamax": alphamax}, iter, verbose,
                  maxiter, f_tol, f_rtol, x_tol, x_rtol, tol_norm, line_search, callback, kw)


def newton_krylov(F: Callable, xin: ArrayLike, iter: int | None = None, rdiff: float | None = None,
                  method: str = "lgmres", inner_maxiter: int = 20, inner_M: Any = None,
                  outer_k: int = 10, verbose: bool = False, maxiter: int | None = None,
                  f_tol: float | None = None, f_rtol: float | None = None, x_tol: float | None = None,
                  x_rtol: float | None = None, tol_norm: Callable | None = None,
                  line_search: str | None = "armijo", callback: Any = None, **kw: Any) -> Array:
    jo = {"rdiff": rdiff, "method": method, "inner_maxiter": inner_maxiter, "inner_M": inner_M,
          "outer_k": outer_k}
    return _solve("krylov", F, xin, jo, iter, verbose, maxiter, f_tol, f_rtol, x_tol, x_rtol,
                  tol_norm, line_search, callback, kw)


broyden1.__doc__ = _doc("broyden1", "broyden1", "Find a root with Broyden's first (\"good\") "
                        "Jacobian approximation (``scipy.optimize.broyden1``).", _BROYDEN_OWN, _DENSE)
broyden2.__doc__ = _doc("broyden2", "broyden2", "Find a root with Broyden's second (\"bad\") "
                        "Jacobian approximation (``scipy.optimize.broyden2``).", _BROYDEN_OWN, _DENSE)
anderson.__doc__ = _doc("anderson", "anderson", "Find a root with (extended) Anderson mixing "
                        "(``scipy.optimize.anderson``).", """    alpha
        The initial Jacobian is ``-1/alpha`` (default as :func:`broyden1`).
    w0
        Regularisation weight of the mixing (default 0.01).
    M
        Number of previous steps kept (default 5).
""")
linearmixing.__doc__ = _doc("linearmixing", "linearmixing", "Find a root with the scalar Jacobian "
                            "approximation ``-1/alpha`` (``scipy.optimize.linearmixing``).",
                            "    alpha\n        The Jacobian is ``-I/alpha``.\n", _NOTE_SIMPLE, _COS)
diagbroyden.__doc__ = _doc("diagbroyden", "diagbroyden", "Find a root with the diagonal of Broyden's "
                           "Jacobian approximation (``scipy.optimize.diagbroyden``).",
                           "    alpha\n        The initial Jacobian is ``-I/alpha``.\n")
excitingmixing.__doc__ = _doc("excitingmixing", "excitingmixing", "Find a root with a tuned diagonal "
                              "Jacobian approximation (``scipy.optimize.excitingmixing``).",
                              "    alpha, alphamax\n        The initial Jacobian is ``-I/alpha``; the "
                              "mixing parameters stay in ``[0, alphamax]``.\n", _NOTE_SIMPLE, _COS)
newton_krylov.__doc__ = _doc("newton_krylov", "krylov", "Find a root with an inexact Newton method "
                             "whose linear systems are solved by a Krylov method "
                             "(``scipy.optimize.newton_krylov``).", """    rdiff
        Accepted and unused: ``J v`` is the exact forward-mode product, not a finite difference.
    method
        ``'lgmres'`` (default) or ``'gmres'``: our restarted GMRES (restart ``min(30, n)``, at most
        ``inner_maxiter`` cycles); ``'bicgstab'``: our BiCGStab. Others raise ``ValueError``.
    inner_maxiter
        Most restart cycles (GMRES) of each linear solve.
    inner_M, outer_k
        No preconditioner (``inner_M`` must be ``None``); ``outer_k`` is accepted and unused.
""", "    - 'lgmres' runs restarted GMRES (LGMRES's augmentation vectors are not kept).\n")
