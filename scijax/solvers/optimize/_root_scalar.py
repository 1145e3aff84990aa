"""Scalar root finding: ``root_scalar`` and SciPy's functions ``brentq``, ``brenth``, ``bisect``,
``ridder`` and ``newton``, on the optimistix loop with its implicit adjoint (so ``jax.grad`` of
a root with respect to ``args`` is ``-f_args / f_x``)."""

from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike

from ..._concrete import is_concrete as _is_concrete
from .._display import format_fields
from .._userfn import prepare_bound
from ._implicit import attach_implicit_gradient, nan_unless
from ._objective import prepare_args
from ._solvers.bracket import CONVERGED, CONVERR, SIGNERR, VALUEERR, Bisect, BrentH, BrentQ, Ridder
from ._solvers.newton_scalar import NewtonFamily
from ._solvers.toms748 import Toms748

__all__ = ["RootResults", "brentq", "brenth", "bisect", "ridder", "toms748", "newton", "root_scalar"]

_FLAGS = {CONVERGED: "converged", SIGNERR: "sign error", CONVERR: "convergence error",
          VALUEERR: "value error"}
_XTOL, _RTOL, _ITER = 2e-12, 4 * np.finfo(float).eps, 100


class RootResults(eqx.Module):
    """SciPy's ``RootResults``: ``root``, ``iterations``, ``function_calls``, ``converged``,
    ``flag`` (text, derived from the integer ``flag_code`` when concrete) and ``method``."""

    root: Array
    iterations: Array
    function_calls: Array
    converged: Array
    flag_code: Array
    method: str = eqx.field(static=True)

    @property
    def flag(self) -> str | list[str]:
        code, root = np.asarray(self.flag_code), np.asarray(self.root)
        if code.ndim == 0:
            return _flag_text(int(code), root)
        return [_flag_text(int(c), r) for c, r in zip(code.ravel(), np.broadcast_to(root, code.shape).ravel(),
                                                      strict=True)]

    def __repr__(self) -> str:
        if not _is_concrete(self.flag_code):  # traced: no flag text yet
            return f"RootResults(root={self.root!r}, method={self.method!r})"
        names = ("converged", "flag", "function_calls", "iterations", "root", "method")
        return format_fields([(n, getattr(self, n)) for n in names])


def _flag_text(code: int, root: Any) -> str:
    if code == VALUEERR:  # SciPy's flag names the point (the root returned eagerly; NaN under jit)
        at = "" if np.isnan(root) else f" at x={float(root)}"
        return f"The function value{at} is NaN; solver cannot continue."
    return _FLAGS[code]


def _no_grad(tree):
    return jax.tree_util.tree_map(
        lambda a: jax.lax.stop_gradient(a) if eqx.is_inexact_array(a) else a, tree)


def _check_tols(xtol, rtol, maxiter):
    if xtol <= 0:
        raise ValueError(f"`xtol` too small ({xtol:g} <= 0)")
    if rtol < _RTOL:
        raise ValueError(f"`rtol` too small ({rtol:g} < {_RTOL:g})")
    if maxiter < 0:
        raise ValueError("`maxiter` must be >= 0.")


_BRACKETING = {"brentq": BrentQ, "brenth": BrentH, "bisect": Bisect, "ridder": Ridder, "toms748": Toms748}
"""Method name -> optimistix root finder. Adding a bracketing method is one entry here."""


class _ScalarFn(eqx.Module):
    """``f(x, *args)`` as a scalar of ``dtype``; compares by value so compiled solves are reused."""

    f: Callable = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)

    def __call__(self, x, fargs):
        return jnp.asarray(self.f(x, *fargs), self.dtype).reshape(()), None


class _NewtonFn(eqx.Module):
    """``(f, (f', f''))`` for the Newton family; ``fprime=True`` means ``f`` returns them all."""

    func: Callable = eqx.field(static=True)
    fprime: Any = eqx.field(static=True)
    fprime2: Any = eqx.field(static=True)

    def __call__(self, p, fargs):
        out = self.func(p, *fargs)
        zero = jnp.zeros_like(p)
        if self.fprime is True:
            f, d1, *rest = out
            d2 = rest[0] if rest else zero
        elif isinstance(self.fprime, str):  # "autodiff": f' by forward mode (elementwise functions)
            f, d1 = jax.jvp(lambda z: self.func(z, *fargs), (p,), (jnp.ones_like(p),))
            d2 = zero
        else:
            f = out
            d1 = self.fprime(p, *fargs) if callable(self.fprime) else zero
            d2 = self.fprime2(p, *fargs) if callable(self.fprime2) else zero
        cast = lambda v: jnp.broadcast_to(jnp.asarray(v, p.dtype), p.shape)  # noqa: E731
        return cast(f), (cast(d1), cast(d2))


def _bracket_solve(method, f, a, b, args, xtol, rtol, maxiter, disp, raise_nan=True, **extra) -> RootResults:
    _check_tols(xtol, rtol, maxiter)
    args = prepare_args(args)
    dtype = jnp.result_type(a, b, 1.0)
    a, b = jnp.asarray(a, dtype), jnp.asarray(b, dtype)
    user, args = prepare_bound({"f": f}, (a,), args, solver=method)
    fn = _ScalarFn(user["f"], dtype)
    solver = _BRACKETING[method](xtol=xtol, rtol=rtol, maxiter=int(maxiter), **extra)
    root, stats = _bracket_core(fn, solver, a, b, args)
    flag = stats["flag"]
    res = RootResults(root, stats["nit"], stats["nfev"], flag == CONVERGED, flag, method)
    if _is_concrete(flag):
        code = int(flag)
        if code == SIGNERR:
            raise ValueError("f(a) and f(b) must have different signs")
        if code == VALUEERR:  # SciPy: the functions raise; root_scalar reports the point where f was NaN
            res = RootResults(stats["x"], stats["nit"], stats["nfev"], flag == CONVERGED, flag, method)
            if raise_nan:
                raise ValueError(res.flag)
        if disp and code == CONVERR:
            raise RuntimeError(f"Failed to converge after {int(res.iterations)} iterations, "
                               f"value is {float(root)}.")
    return res


@eqx.filter_jit
def _bracket_core(fn, solver, a, b, args):
    sol = optx.root_find(fn, solver, b, _no_grad(args), options=_no_grad({"lower": a, "upper": b}),
                         has_aux=True, max_steps=solver.maxiter + 2, throw=False)
    flag = sol.stats["flag"]
    root = attach_implicit_gradient(sol.value, lambda x, p: fn(x, p)[0], args, success=flag == CONVERGED)
    stats = {**sol.stats, "x": jax.lax.stop_gradient(sol.value)}  # where f was NaN, for SciPy's message
    return nan_unless(root, (flag != SIGNERR) & (flag != VALUEERR)), stats


def _bracket_function(method: str) -> Callable:
    def solve(f: Callable, a: ArrayLike, b: ArrayLike, args: Any = (), xtol: float = _XTOL,
              rtol: float = _RTOL, maxiter: int = _ITER, full_output: bool = False,
              disp: bool = True):
        res = _bracket_solve(method, f, a, b, args, xtol, rtol, maxiter, disp)
        return (res.root, res) if full_output else res.root

    solve.__name__ = solve.__qualname__ = method
    solve.__doc__ = f"""Find a root of ``f`` in the bracket ``[a, b]`` (``scipy.optimize.{method}``).

    Parameters
    ----------
    f
        ``f(x, *args) -> float`` in JAX; ``f(a)`` and ``f(b)`` must have opposite signs.
    a, b
        The bracket (may be traced arrays).
    args, xtol, rtol, maxiter, full_output, disp
        As in SciPy (``xtol=2e-12``, ``rtol=4*eps``, ``maxiter=100``).

    Returns
    -------
    root, or ``(root, RootResults)`` with ``full_output=True``.

    Differences from SciPy
    ----------------------
    Runs under ``jit``/``vmap``/``grad`` (the derivative of the root with respect to ``args``
    comes from the implicit function theorem). Called eagerly it raises like SciPy on a sign
    error, a NaN value or (with ``disp``) non-convergence; under a transformation it cannot
    raise, so the root is NaN for a sign error or NaN value and ``RootResults.flag_code``
    records what happened.

    Notes
    -----
    A gradient through a solve that did not succeed (not converged) is NaN.

    Examples
    --------
    >>> from scijax.solvers.optimize import {method}
    >>> round(float({method}(lambda x: x**2 - 2.0, 0.0, 2.0)), 10)
    1.4142135624
    """
    return solve


brentq = _bracket_function("brentq")
brenth = _bracket_function("brenth")
bisect = _bracket_function("bisect")
ridder = _bracket_function("ridder")


def _check_toms748(a, b, k):
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` must be an integer >= 1, got {k!r}.")
    if _is_concrete(a) and _is_concrete(b):
        a_, b_ = np.asarray(a), np.asarray(b)
        if not (np.all(np.isfinite(a_)) and np.all(np.isfinite(b_))):
            raise ValueError("`a` and `b` must be finite.")
        if np.any(a_ >= b_):
            raise ValueError(f"`a` and `b` are not an interval [{a}, {b}].")


def toms748(f: Callable, a: ArrayLike, b: ArrayLike, args: Any = (), k: int = 1,
            xtol: float = _XTOL, rtol: float = _RTOL, maxiter: int = _ITER,
            full_output: bool = False, disp: bool = True):
    """Find a root of ``f`` in ``[a, b]`` by TOMS Algorithm 748 (``scipy.optimize.toms748``).

    Alefeld, Potra and Shi's enclosing method: inverse cubic interpolation or Newton steps on a
    quadratic, a double-length secant step and bisection as a safeguard, so that the bracket
    shrinks at an asymptotic order of about 1.65 per function call (k=1).

    Parameters
    ----------
    f
        ``f(x, *args) -> float`` in JAX; ``f(a)`` and ``f(b)`` must have opposite signs.
    a, b
        The bracket, ``a < b`` (may be traced arrays).
    args
        Extra arguments of ``f``.
    k
        Interpolation steps per iteration (``k=1`` is the paper's Algorithm 4.1, ``k=2`` its
        Algorithm 4.2).
    xtol, rtol, maxiter, full_output, disp
        As in SciPy (``xtol=2e-12``, ``rtol=4*eps``, ``maxiter=100``).

    Returns
    -------
    root, or ``(root, RootResults)`` with ``full_output=True``.

    Differences from SciPy
    ----------------------
    Written from the paper: it stops when ``b - a <= xtol + rtol |x|`` (or ``f(x) = 0``) and
    returns the end of the bracket with the smaller ``|f|``; iteration and call counts can
    differ from SciPy's. Runs under ``jit``/``vmap``/``grad`` (implicit derivative w.r.t.
    ``args``). Eagerly it raises like SciPy on a sign error, a NaN value or (with ``disp``)
    non-convergence; under a transformation the root is NaN instead and
    ``RootResults.flag_code`` records why.

    Notes
    -----
    A gradient through a solve that did not succeed (not converged) is NaN.

    Examples
    --------
    >>> from scijax.solvers.optimize import toms748
    >>> round(float(toms748(lambda x: x**3 - 2.0 * x - 5.0, 2.0, 3.0)), 10)
    2.0945514815
    """
    _check_toms748(a, b, k)
    res = _bracket_solve("toms748", f, a, b, args, xtol, rtol, maxiter, disp, k=int(k))
    return (res.root, res) if full_output else res.root


class _ArrayNewtonResult(NamedTuple):
    root: Array
    converged: Array
    zero_der: Array


def _newton_solve(func, x0, fprime, fprime2, args, tol, rtol, maxiter, x1, method):
    if tol <= 0:
        raise ValueError(f"`tol` too small ({tol:g} <= 0)")
    if maxiter < 1:
        raise ValueError("`maxiter` must be greater than 0")
    args = prepare_args(args)
    x = jnp.asarray(x0)
    x = x.astype(jnp.result_type(x.dtype, float))
    order = 0 if fprime is None else (1 if fprime2 is None else 2)
    user, args = prepare_bound({"func": func, "fprime": fprime, "fprime2": fprime2}, (x,), args,
                               solver=method)
    func, fprime, fprime2 = user["func"], user["fprime"], user["fprime2"]

    fn = _NewtonFn(func, fprime, fprime2)
    solver = NewtonFamily(order=order, tol=tol, rtol=rtol, maxiter=int(maxiter))
    return _newton_core(fn, solver, x, args, x1)


@eqx.filter_jit
def _newton_core(fn, solver, x, args, x1):
    sol = optx.root_find(fn, solver, _no_grad(x), _no_grad(args), options=_no_grad({"x1": x1}),
                         has_aux=True, max_steps=solver.maxiter + 1, throw=False)
    root = attach_implicit_gradient(sol.value, lambda z, p: fn(z, p)[0], args,
                                    success=sol.stats["converged"])
    return root, sol.stats


def newton(func: Callable, x0: ArrayLike, fprime: Callable | None = None, args: Any = (),
           tol: float = 1.48e-8, maxiter: int = 50, fprime2: Callable | None = None,
           x1: ArrayLike | None = None, rtol: float = 0.0, full_output: bool = False,
           disp: bool = True):
    """Newton-Raphson (``fprime``), Halley (``fprime2`` too) or secant (``x1``) iteration
    (``scipy.optimize.newton``), elementwise when ``x0`` is an array.

    Parameters
    ----------
    func, x0, fprime, args, tol, maxiter, fprime2, x1, rtol, full_output, disp
        As in SciPy.

    Returns
    -------
    root; with ``full_output``: ``(root, RootResults)`` for scalar ``x0`` and
    ``(root, converged, zero_der)`` for array ``x0``.

    Differences from SciPy
    ----------------------
    Without ``fprime`` and ``x1``, SciPy runs the secant method; we run Newton-Raphson with
    ``f'`` by automatic differentiation (fewer iterations; the same root), and the result's
    ``method`` says ``'newton'``. Give ``x1`` for SciPy's secant iteration. Every element stops on
    ``|x_new - x| <= tol + rtol |x_new|`` (SciPy's scalar test; its array path ignores ``rtol``).
    Under a transformation no error is raised: see ``converged``/``zero_der``. Derivatives of the
    root w.r.t. ``args`` are implicit.

    Notes
    -----
    A gradient through a solve that did not succeed (not converged) is NaN.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.optimize import newton
    >>> r = newton(lambda x, a: x**2 - a, jnp.array([1.0, 1.0]), args=(jnp.array([4.0, 9.0]),),
    ...            fprime=lambda x, a: 2 * x)
    >>> [round(float(v), 8) for v in r]
    [2.0, 3.0]
    """
    derivative: Any = "autodiff" if fprime is None and x1 is None else fprime
    root, stats = _newton_solve(func, x0, derivative, fprime2, args, tol, rtol, maxiter, x1, "newton")
    converged, zero_der = stats["converged"], stats["zero_der"]
    if _is_concrete(converged) and disp:
        failed = np.logical_not(np.asarray(converged))
        if np.all(failed):
            why = "Derivative was zero. " if np.any(np.asarray(zero_der)) else ""
            raise RuntimeError(f"{why}Failed to converge after {int(stats['nit'])} iterations, "
                               f"value is {np.asarray(root)}.")
    if jnp.ndim(root) == 0:
        if full_output:
            flag = jnp.where(converged, CONVERGED, CONVERR)
            method = "secant" if derivative is None else ("halley" if fprime2 is not None else "newton")
            return root, RootResults(root, stats["nit"], stats["nfev"], converged, flag, method)
        return root
    return _ArrayNewtonResult(root, converged, zero_der) if full_output else root


def root_scalar(f: Callable, args: Any = (), method: str | None = None, bracket: Any = None,
                fprime: Callable | bool | None = None, fprime2: Callable | bool | None = None,
                x0: ArrayLike | None = None, x1: ArrayLike | None = None,
                xtol: float | None = None, rtol: float | None = None, maxiter: int | None = None,
                options: dict | None = None) -> RootResults:
    """Find a root of a scalar function (``scipy.optimize.root_scalar``).

    Methods: 'brentq', 'brenth', 'bisect', 'ridder', 'toms748' (need ``bracket``), 'newton', 'secant',
    'halley' (need ``x0``). The default follows SciPy: a bracketing method when ``bracket`` is
    given, else Halley/Newton/secant depending on which derivatives are given.

    Returns
    -------
    RootResults

    Differences from SciPy
    ----------------------
    ``method='newton'`` without ``fprime`` takes ``f'`` by automatic differentiation (SciPy's by
    finite differences). Never raises on run-time failure (``converged``/``flag`` say what
    happened); ``root`` is NaN after a sign error. When ``f`` returns NaN, a bracketing method stops with
    ``converged=False`` and SciPy's flag naming the point (eagerly ``root`` is that point, as in SciPy; under
    ``jit``/``vmap`` it is NaN). 'toms748' is written from the paper (see :func:`toms748`).
    ``fprime``/``fprime2`` may be ``True`` when ``f`` returns ``(f, f')`` or ``(f, f', f'')``.

    Notes
    -----
    A gradient through a solve that did not succeed (not converged) is NaN.

    Examples
    --------
    >>> from scijax.solvers.optimize import root_scalar
    >>> sol = root_scalar(lambda x: x**3 - 1, bracket=[0, 3], method='brentq')
    >>> bool(sol.converged), round(float(sol.root), 10)
    (True, 1.0)
    """
    if options:
        raise ValueError("`options`: root_scalar takes its settings as keyword arguments here.")
    if method is None:
        if bracket is not None:
            method = "brentq"
        elif x0 is not None:
            method = "halley" if (fprime and fprime2) else ("newton" if fprime else "secant")
        else:
            raise ValueError("Unable to select a solver as neither `bracket` nor `x0` provided.")
    method = method.lower()
    if method in _BRACKETING:
        if bracket is None or len(bracket) != 2:
            raise ValueError(f"`bracket` needed for {method}: a pair (a, b).")
        if method == "toms748":
            _check_toms748(bracket[0], bracket[1], 1)
        res = _bracket_solve(method, f, bracket[0], bracket[1], args,
                             _XTOL if xtol is None else xtol, _RTOL if rtol is None else rtol,
                             _ITER if maxiter is None else maxiter, disp=False, raise_nan=False)
        return res
    if method not in ("newton", "secant", "halley"):
        raise ValueError(f"Unknown solver {method!r} for `method`.")
    if x0 is None:
        raise ValueError(f"`x0` must be provided for method {method!r}.")
    derivative: Any = fprime
    if method == "newton" and not fprime:
        derivative = "autodiff"  # SciPy differences f numerically here; autodiff gives the exact f'
    if method == "halley" and not fprime:  # SciPy's messages, which name the missing one
        raise ValueError("fprime must be specified for halley (`fprime`).")
    if method == "halley" and not fprime2:
        raise ValueError("fprime2 must be specified for halley (`fprime2`).")
    fp = None if method == "secant" else derivative
    fp2 = fprime2 if method == "halley" else None
    tol = 1.48e-8 if xtol is None else xtol
    root, stats = _newton_solve(f, x0, fp, fp2, args, tol, 0.0 if rtol is None else rtol,
                                50 if maxiter is None else maxiter, x1, method)
    flag = jnp.where(stats["converged"], CONVERGED, CONVERR)
    return RootResults(root, stats["nit"], stats["nfev"], stats["converged"], flag, method)
