"""``scipy.optimize.show_options`` (from our method registries) and ``linprog_verbose_callback``."""

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._linprog import _OPTIONS_USED as _LINPROG_USED
from ._linprog import _RECOGNISED as _LINPROG_RECOGNISED
from ._linprog import LINPROG_METHODS
from ._minimize_methods import MINIMIZE_METHODS
from ._minimize_scalar import SCALAR_METHODS
from ._qap import _METHODS as _QAP_METHODS
from ._root import ROOT_METHODS
from ._root_scalar import _BRACKETING

__all__ = ["show_options", "linprog_verbose_callback"]

_ROOT_SCALAR_OPTIONS = frozenset({"xtol", "rtol", "maxiter"})
_ROOT_SCALAR_ENGINES = {name: "bracketing" for name in _BRACKETING} | {
    "newton": "Newton-Raphson (x0; fprime, or automatic differentiation)",
    "secant": "secant (x0 and x1)",
    "halley": "Halley (x0, fprime, fprime2)",
}


def _registry() -> dict[str, dict[str, tuple[list[str], str]]]:
    """solver -> method -> (accepted option names, what runs)."""
    minimize = {name: (sorted(spec.options), "") for name, spec in MINIMIZE_METHODS.items()}
    scalar = {name: (sorted(spec.options), "bracketed" if spec.bracketed else "bounded")
              for name, spec in SCALAR_METHODS.items()}
    root = {name: (sorted(spec.options), "") for name, spec in ROOT_METHODS.items()}
    root_scalar = {name: (sorted(_ROOT_SCALAR_OPTIONS), what) for name, what in _ROOT_SCALAR_ENGINES.items()}
    linprog = {name: (sorted(_LINPROG_USED & _LINPROG_RECOGNISED[name]), f"runs: {what}; accepted and ignored: "
                      f"{', '.join(sorted(_LINPROG_RECOGNISED[name] - _LINPROG_USED))}")
               for name, what in LINPROG_METHODS.items()}
    qap = {name: (sorted(options), "") for name, (_, options) in _QAP_METHODS.items()}
    return {"minimize": minimize, "minimize_scalar": scalar, "root": root, "root_scalar": root_scalar,
            "linprog": linprog, "quadratic_assignment": qap}


def _section(solver: str, method: str, options: list[str], what: str) -> str:
    lines = [f"{solver}(method={method!r})", f"  options: {', '.join(options) if options else '(none)'}"]
    if what:
        lines.append(f"  {what}")
    return "\n".join(lines)


def show_options(solver: str | None = None, method: str | None = None, disp: bool = True) -> str | None:
    """Show the options each solver's methods accept.

    Mirrors :func:`scipy.optimize.show_options`: for ``solver`` (one of ``'minimize'``,
    ``'minimize_scalar'``, ``'root'``, ``'root_scalar'``, ``'linprog'``,
    ``'quadratic_assignment'``; all of them by default) and ``method`` (all by default), print or
    return the documentation of the ``options`` dict.

    Parameters
    ----------
    solver : str, optional
        The solver.
    method : str, optional
        One of the solver's methods (case-insensitive); requires ``solver``.
    disp : bool, optional
        Print the text (and return None) when True; return it when False.

    Returns
    -------
    str or None
        The text, when ``disp=False``.

    Raises
    ------
    ValueError
        Unknown ``solver`` or ``method``, or ``method`` without ``solver``.

    Differences from SciPy
    ----------------------
    - The text is generated from our method registries: for each method, the option names it
      accepts (an unknown option raises in the solver) and, where it helps, what runs. The
      meaning and defaults of each option are SciPy's; where we differ, the solver's docstring
      and the compatibility tables in the documentation (``docs/optimize.md``) say how.

    Examples
    --------
    >>> from scijax.solvers.optimize import show_options
    >>> print(show_options("minimize_scalar", "bounded", disp=False))
    minimize_scalar(method='bounded')
      options: disp, maxiter, xatol
      bounded
    """
    registry = _registry()
    if solver is None:
        if method is not None:
            raise ValueError("`method` requires `solver`.")
        chosen = registry
    else:
        key = solver.lower()
        if key not in registry:
            raise ValueError(f"Unknown `solver` {solver!r}; one of {sorted(registry)}.")
        methods = registry[key]
        if method is not None:
            if method.lower() not in methods:
                raise ValueError(f"Unknown `method` {method!r} for {solver!r}; one of {sorted(methods)}.")
            methods = {method.lower(): methods[method.lower()]}
        chosen = {key: methods}
    text = "\n\n".join(_section(s, m, opts, what) for s, methods in chosen.items()
                       for m, (opts, what) in methods.items())
    if disp:
        print(text)
        return None
    return text


def _field(res: Any, name: str, default: Any = None) -> Any:
    if isinstance(res, Mapping):
        return res.get(name, default)
    try:
        return res[name] if name in res else default
    except TypeError:
        return getattr(res, name, default)


def linprog_verbose_callback(res: Any) -> None:
    """Print the state of a linear program's solution, SciPy's sample ``linprog`` callback.

    Mirrors :func:`scipy.optimize.linprog_verbose_callback`: prints a header (early exit with
    the status and message, completion with the iteration count, or the iteration and phase),
    then the current ``x`` and ``fun``.

    Parameters
    ----------
    res : OptimizeResult, LinprogResult or dict
        With ``x``, ``fun``, ``status``, ``nit`` and ``message``; ``phase`` and ``complete``
        (SciPy's simplex callback fields) are optional.

    Differences from SciPy
    ----------------------
    - Our ``linprog`` takes no ``callback`` (as SciPy's default HiGHS methods), so this is for
      printing a result or for callbacks of your own; there is no tableau or basis to print.

    Examples
    --------
    >>> import numpy as np
    >>> from scijax.solvers.optimize import linprog_verbose_callback
    >>> linprog_verbose_callback({"x": np.array([1.0, 2.0]), "fun": -3.0, "status": 0, "nit": 4,
    ...                           "message": "Optimization terminated successfully.", "complete": True})
    --------- Simplex Complete --------
    <BLANKLINE>
    Iterations required: 4
    Current Solution:
    x =  [      1.0000       2.0000]
    <BLANKLINE>
    f =  -3.0
    <BLANKLINE>
    """
    x, fun = _field(res, "x"), _field(res, "fun")
    status, nit = int(np.asarray(_field(res, "status", 0))), int(np.asarray(_field(res, "nit", 0)))
    phase, complete = _field(res, "phase", 2), bool(_field(res, "complete", status == 0))
    fmt: Any = {"float": lambda v: f"{v: 12.4f}"}
    with np.printoptions(linewidth=500, formatter=fmt):
        if status:
            print("--------- Simplex Early Exit -------\n")
            print(f"The simplex method exited early with status {status:d}")
            print(_field(res, "message", ""))
        elif complete:
            print("--------- Simplex Complete --------\n")
            print(f"Iterations required: {nit}")
        elif nit == 0:
            print("--------- Initial Tableau - Phase 1 ----------\n")
        else:
            print(f"--------- Iteration {nit:d}  - Phase {int(phase):d} -------\n")
        print("Current Solution:")
        print("x = ", np.asarray(x))
        print()
        print("f = ", float(np.asarray(fun)))
        print()
