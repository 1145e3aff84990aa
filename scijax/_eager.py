"""Eager results look like SciPy's: NumPy arrays and Python scalars outside ``jit``/``vmap``/``grad``.

SciPy returns ``np.ndarray`` arrays and Python (or NumPy) scalars: ``res.status`` is an ``int`` that can go
in a set, ``res.success is True`` holds, ``res.x`` can be edited in place and compared with a list.
Our solvers compute with JAX arrays, and under a transformation they must stay JAX arrays (tracers). This
module converts a public function's result once, at its return, when (and only when) the call was eager:
no leaf is a tracer and no JAX transformation is being traced.

The conversion, for each array in the result (descending into tuples, lists, dicts, NamedTuples and the
solvers' result classes, and leaving other objects such as ``OdeSolution`` or ``LinearOperator`` alone):

- arrays of one or more dimensions become writable ``np.ndarray`` copies, keeping their dtype
  (float32 stays float32);
- 0-d integer arrays become Python ``int`` and 0-d booleans Python ``bool`` (SciPy's ``status``,
  ``nit``, ``nfev``, ``success``, ``converged``, Krylov ``info``, ...);
- 0-d floating and complex arrays become NumPy scalars of the same dtype (``np.float64`` is a subclass
  of ``float``, as SciPy's scalar ``fun`` is), or a Python ``float`` where SciPy returns one
  (``quad``, ``brentq``, ``RootResults.root``, ...: ``python_float=True``) and the value is float64.

Each family's ``__init__`` wraps its public functions once (:func:`wrap_public`), so the private
modules, and code inside the package that imports them, keep JAX arrays. The wrapper adds a frame, so
it re-issues warnings raised inside the call at the caller's line (a fixed ``stacklevel`` would
otherwise point at the wrapper). Cost: about 0.1 ms per eager call (a host copy of each array).

The wrapper is also the one place where inputs that JAX cannot hold are converted before any solver
sees them: ``np.longdouble`` (``float128``/``float96``) and ``np.clongdouble`` arrays and scalars,
which SciPy accepts and JAX rejects with an opaque "Error interpreting argument" ``TypeError``,
become float64 (complex128), with a :class:`~scijax.PrecisionWarning` naming the function and the
argument, once per (function, argument). Converting rather than raising is the drop-in choice:
SciPy's compiled solvers compute in float64 too, so the answer is the one SciPy gives.

``fixed_point`` returns a 0-d ``np.ndarray`` for a scalar ``x0``, as SciPy's does (not a NumPy scalar).
"""

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import equinox as eqx
import jax
import numpy as np

from ._concrete import is_concrete
from .solvers._precision import PrecisionWarning

__all__ = ["eager_scipy", "eager_result", "wrap_public", "in_eager_context"]

P = ParamSpec("P")
R = TypeVar("R")
_REGISTRIES: dict[str, dict] = {}  # per-file "once/default" registries for re-issued warnings

# Results whose 0-d float64 fields SciPy returns as Python floats: linprog's, and RootResults of the
# bracketing methods (Newton's and the secant method's root is an np.float64, as in SciPy).
_BRACKETING = ("brentq", "brenth", "bisect", "ridder", "toms748")
# Public functions whose 0-d floating results SciPy returns as 0-d ndarrays, not NumPy scalars.
_ZERO_D_ARRAY = ("fixed_point",)
_LONG_WARNED: set[tuple[str, str]] = set()  # (function, argument) pairs already warned about long double


def _python_float_result(x: Any) -> bool:
    name = type(x).__name__
    return name == "LinprogResult" or (name == "RootResults" and getattr(x, "method", None) in _BRACKETING)


def in_eager_context(tree: Any = ()) -> bool:
    """True when no leaf of ``tree`` is a tracer and no JAX transformation is being traced now."""
    if not is_concrete(tree):
        return False
    try:  # a private hook; without it, concrete leaves are the test (they still are under jit for constants)
        from jax._src import core

        return isinstance(core.trace_ctx.trace, core.EvalTrace)
    except (ImportError, AttributeError):  # pragma: no cover - depends on the JAX version
        return True


def _is_result(x: Any) -> bool:
    """A solver result class (OptimizeResult, OdeResult, RootResults, BVPResult, ...), by name."""
    name = type(x).__name__
    return isinstance(x, eqx.Module) and (name.endswith("Result") or name.endswith("Results")
                                          or name == "LPMarginals")


def _array(x: Any, python_float: bool | str) -> Any:
    a = np.array(x)  # a writable host copy, as SciPy's arrays are
    if a.ndim or (python_float == "0d" and a.dtype.kind in "fc"):
        return a
    kind = a.dtype.kind
    if kind == "b":
        return bool(a)
    if kind in "iu":
        return int(a)
    if kind == "f" and python_float and a.dtype == np.float64:
        return float(a)
    return a[()]


def _convert(x: Any, python_float: bool | str) -> Any:
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        return _array(x, python_float)
    if _is_result(x):
        pf = python_float or _python_float_result(x)
        leaves, treedef = jax.tree_util.tree_flatten(x, is_leaf=lambda y: y is not x and isinstance(y, eqx.Module))
        return jax.tree_util.tree_unflatten(treedef, [_convert(leaf, pf) for leaf in leaves])
    if isinstance(x, tuple) and hasattr(x, "_fields"):  # NamedTuple results (TanhSinhResult, ...)
        return type(x)(*(_convert(v, python_float) for v in x))
    if isinstance(x, (list, tuple)):
        return type(x)(_convert(v, python_float) for v in x)
    if isinstance(x, Mapping) and not isinstance(x, eqx.Module):  # full_output info dicts
        return {k: _convert(v, python_float) for k, v in x.items()}
    return x  # functions, operators, interpolants, strings, Python numbers, None


def eager_scipy(out: Any, python_float: bool | str = False) -> Any:
    """Return ``out`` with SciPy's eager types when the call was eager; unchanged under transformations.

    Parameters
    ----------
    out : Any
        A public function's return value: an array, a result object, or tuples/lists/dicts of them.
    python_float : bool or '0d', optional
        Return 0-d float64 values as Python ``float`` (where SciPy does) rather than ``np.float64``;
        ``'0d'``: return 0-d floating arrays as 0-d ``np.ndarray`` (``fixed_point``).

    Returns
    -------
    Any
        ``out`` itself under ``jit``/``vmap``/``grad``; otherwise the converted copy described in the
        module docstring.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> res = eager_scipy((jnp.arange(3.0), jnp.asarray(2), jnp.asarray(True)))
    >>> type(res[0]).__name__, res[1], res[2] is True
    ('ndarray', 2, True)
    >>> jax.jit(lambda x: eager_scipy(x * 2))(jnp.ones(2)).__class__.__name__
    'ArrayImpl'
    """
    if not in_eager_context(out):
        return out
    return _convert(out, python_float)


def _reissue(caught: list[warnings.WarningMessage]) -> None:
    """Issue recorded warnings again: those attributed to the wrapper at the wrapper's caller."""
    for w in caught:
        if w.filename == __file__:
            warnings.warn(w.message, w.category, stacklevel=3)  # 1 here, 2 the wrapper, 3 its caller
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source,
                                   registry=_REGISTRIES.setdefault(w.filename, {}))


def _is_long(x: Any) -> bool:
    """An extended-precision NumPy array or scalar (``longdouble`` wider than float64)."""
    if not isinstance(x, (np.ndarray, np.generic)):
        return False
    kind, size = x.dtype.kind, x.dtype.itemsize
    return (kind == "f" and size > 8) or (kind == "c" and size > 16)


def _has_long(x: Any, depth: int = 0) -> bool:
    """Long double in ``x``, looking into short containers only (a long list of numbers costs no scan)."""
    if _is_long(x):
        return True
    if depth < 3 and isinstance(x, (list, tuple)) and len(x) <= 64:
        return any(_has_long(v, depth + 1) for v in x)
    if depth < 3 and isinstance(x, dict) and len(x) <= 64:
        return any(_has_long(v, depth + 1) for v in x.values())
    return False


def _to_double(x: Any, depth: int = 0) -> Any:
    if _is_long(x):
        return x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    if depth < 3 and isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(_to_double(v, depth + 1) for v in x))
    if depth < 3 and isinstance(x, (list, tuple)):
        return type(x)(_to_double(v, depth + 1) for v in x)
    if depth < 3 and isinstance(x, dict):
        return {k: _to_double(v, depth + 1) for k, v in x.items()}
    return x


def _no_long_double(f: Callable, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``args``/``kwargs`` with long-double arrays converted to float64 (complex128), warning once per
    (function, argument); unchanged (and no work beyond a scan) when there are none."""
    long_args = [i for i, a in enumerate(args) if _has_long(a)]
    long_kwargs = [k for k, v in kwargs.items() if _has_long(v)]
    if not (long_args or long_kwargs):
        return args, kwargs
    try:
        names = [p.name for p in inspect.signature(f).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        names = []
    fname = getattr(f, "__name__", "function")
    for arg in [names[i] if i < len(names) else f"argument {i}" for i in long_args] + long_kwargs:
        if (fname, arg) not in _LONG_WARNED:
            _LONG_WARNED.add((fname, arg))
            warnings.warn(f"{fname}: `{arg}` is long double (extended precision), which JAX cannot hold; "
                          "it is converted to float64 (complex128), the precision SciPy's solvers "
                          "compute in. (Shown once per argument.)", PrecisionWarning, stacklevel=3)
    return tuple(_to_double(a) for a in args), {k: _to_double(v) for k, v in kwargs.items()}


def eager_result(fn: Callable[P, R] | None = None, *, python_float: bool | str = False) -> Any:
    """Decorator: the function's eager results get SciPy's types (see :func:`eager_scipy`), and its
    long-double inputs are converted to float64 (see the module docstring)."""

    def decorate(f: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(f)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            args, kwargs = _no_long_double(f, args, kwargs)  # type: ignore[assignment]
            # Warnings issued with a fixed ``stacklevel`` inside ``f`` would point at this wrapper:
            # record them and re-issue each at the caller's line, through the caller's filters.
            caught: list[warnings.WarningMessage] = []
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    out = f(*args, **kwargs)
            finally:
                _reissue(caught)
            return eager_scipy(out, python_float)

        wrapper.__scijax_eager__ = True  # type: ignore[attr-defined]
        return wrapper

    return decorate if fn is None else decorate(fn)


def wrap_public(namespace: dict[str, Any], names: list[str], *, exclude: tuple[str, ...] = (),
                python_float: tuple[str, ...] = ()) -> None:
    """Wrap every public function of a family's ``namespace`` listed in ``names`` with :func:`eager_result`.

    Classes and the names in ``exclude`` are left alone; each function is wrapped once.
    """
    for name in names:
        obj = namespace.get(name)
        if name in exclude or obj is None or isinstance(obj, type) or not callable(obj):
            continue
        if getattr(obj, "__scijax_eager__", False):
            continue
        namespace[name] = eager_result(obj, python_float="0d" if name in _ZERO_D_ARRAY else name in python_float)
