"""Compile once per *code*, not per function object: closures and lambdas re-created in a loop.

SciPy users write ``for k in ks: solve_ivp(lambda t, y: -k * y, ...)``. Every iteration makes a new
function object, and a jit cache keyed by the function's identity compiles afresh each time.
:func:`canonical` turns such a function into a :class:`ClosureFn`, an ``equinox.Module`` that holds

- as static (hashed) data: the code object, the globals dictionary (by identity), and the closed-over
  values, defaults and referenced module globals that are not numbers or arrays (by equality when
  hashable, by identity otherwise: functions, modules, dictionaries and other objects stay exactly
  what they were, and a global rebound to a new object gives a new compilation, never a stale one);
- as array fields (traced by ``equinox.filter_jit``): the closed-over floats, complex numbers and
  arrays, defaults of those types, and module globals of those types that the code reads (the
  loop variable of a script-level ``for k in ks:`` loop is a global, not a closure cell).

Calling it rebuilds a function from the code with fresh cells holding the (possibly traced) values
(``types.FunctionType(code, globals, name, defaults, closure)``) and calls that. Two lambdas from one
loop then have equal static parts, so a solve compiled for the first is reused for the second with
the new ``k`` as a traced input.

:func:`bind_closures` is the same idea for facades that keep the user's function as a *static* field
of their own module: the array parts are appended to ``args`` (so they are traced like any other
argument) and the returned callables strip them off again.

Functions are left as they are when rebuilding could change what they do: functions that assign to
a closed-over variable (``nonlocal``), generators and coroutines, and callables that are not plain
Python functions (``functools.partial``, bound methods, ``jax.custom_jvp`` objects, class instances).
Python ``int`` and ``bool`` values stay static, because code uses them as shapes, ``range`` bounds
and flags.
"""

import dataclasses
import dis
import inspect
import types
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ClosureFn", "canonical", "bind_closures"]

_EMPTY = object()


class _Key:
    """A static value compared by equality when it is hashable, otherwise by identity."""

    __slots__ = ("value", "_by_value")

    def __init__(self, value: Any):
        self.value = value
        try:
            hash(value)
            self._by_value = not isinstance(value, types.FunctionType | types.ModuleType)
        except TypeError:
            self._by_value = False

    def __hash__(self) -> int:
        return hash((type(self.value), self.value)) if self._by_value else id(self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Key):
            return NotImplemented
        if self.value is other.value:
            return True
        if not (self._by_value and other._by_value) or type(self.value) is not type(other.value):
            return False
        try:
            return bool(self.value == other.value)
        except Exception:  # an __eq__ that does not return a bool
            return False


def _is_dynamic(v: Any) -> bool:
    if isinstance(v, bool | int):
        return False
    if isinstance(v, float | complex | jax.Array):
        return True
    return isinstance(v, np.ndarray | np.generic) and np.issubdtype(np.asarray(v).dtype, np.number)


_CODE_INFO: "weakref.WeakKeyDictionary[types.CodeType, tuple[bool, tuple[str, ...]]]" = (
    weakref.WeakKeyDictionary())


def _code_info(code: types.CodeType, namespace: dict) -> tuple[bool, tuple[str, ...]]:
    """(code can be rebuilt safely, global names it may read); memoised per code object."""
    info = _CODE_INFO.get(code)
    if info is None:
        flags = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
        ok = not (code.co_flags & flags) and not any(
            ins.opname in ("STORE_DEREF", "DELETE_DEREF") for ins in dis.get_instructions(code))
        names, stack = [], [code]
        while stack:
            c = stack.pop()
            names += [n for n in c.co_names if n not in names]
            stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
        info = (ok, tuple(names))
        _CODE_INFO[code] = info
    return info[0], tuple(n for n in info[1] if n in namespace)


def _rebuildable(fun: Any) -> bool:
    if not isinstance(fun, types.FunctionType):
        return False
    if fun.__dict__:  # attributes set on the function (events' `terminal`, ...) must survive
        return False
    return _code_info(fun.__code__, fun.__globals__)[0]


class ClosureFn(eqx.Module):
    """A plain Python function split into static code and traced closed-over numbers/arrays."""

    values: tuple  # jnp arrays (traced) in place of dynamic entries, None elsewhere
    code: types.CodeType = eqx.field(static=True)
    globals_: _Key = eqx.field(static=True)
    name: str = eqx.field(static=True)
    statics: tuple = eqx.field(static=True)  # _Key per entry (None where the entry is dynamic)
    n_cells: int = eqx.field(static=True)
    n_defaults: int = eqx.field(static=True)
    kw_names: tuple = eqx.field(static=True)
    qualname: str = eqx.field(static=True)
    global_names: tuple = eqx.field(static=True)  # referenced module globals, after the kwdefaults

    def builder(self) -> Callable[[Sequence[Any]], Callable[..., Any]]:
        """A plain-Python ``build(values)`` (no module attribute access per call): the function
        with ``values`` (full length, ``None`` at static entries) in its dynamic entries.
        The host path calls it once per evaluation, so it is kept cheap."""
        code, namespace, name, qualname = self.code, self.globals_.value, self.name, self.qualname
        static = [None if k is None else k.value for k in self.statics]
        dynamic = [i for i, k in enumerate(self.statics) if k is None]
        n_cells, n_defaults, kw_names = self.n_cells, self.n_defaults, self.kw_names
        n_kw = n_cells + n_defaults + len(kw_names)
        dyn_globals = [(self.global_names[i - n_kw], i) for i in dynamic if i >= n_kw]

        def build(values: Sequence[Any]) -> Callable[..., Any]:
            entries = list(static)
            for i in dynamic:
                entries[i] = values[i]
            cells = tuple(types.CellType() if e is _EMPTY else types.CellType(e) for e in entries[:n_cells])
            glb = {**namespace, **{k: entries[i] for k, i in dyn_globals}} if dyn_globals else namespace
            fn = types.FunctionType(code, glb, name, tuple(entries[n_cells:n_cells + n_defaults]) or None,
                                    cells or None)
            if kw_names:
                fn.__kwdefaults__ = dict(zip(kw_names, entries[n_cells + n_defaults:n_kw], strict=True))
            fn.__qualname__ = qualname
            return fn

        return build

    def rebuild(self, values: tuple | None = None) -> Callable[..., Any]:
        """The Python function, with ``values`` (default: this module's) in its dynamic entries."""
        return self.builder()(self.values if values is None else values)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.rebuild()(*args, **kwargs)

    @property
    def __name__(self) -> str:  # noqa: D105 - read by error messages
        return self.name

    @property
    def __code__(self) -> types.CodeType:
        return self.code


def _cell_value(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return _EMPTY


def _global_names(code: types.CodeType, namespace: dict) -> list[str]:
    """Module globals that ``code`` (or a lambda/comprehension nested in it) may read."""
    return list(_code_info(code, namespace)[1])


def canonical(fun: Any) -> Any:
    """``fun`` as a :class:`ClosureFn` when that is safe (see the module docstring), else ``fun``."""
    if isinstance(fun, ClosureFn) or not _rebuildable(fun):
        return fun
    cells = [_cell_value(c) for c in (fun.__closure__ or ())]
    defaults = list(fun.__defaults__ or ())
    kw = dict(fun.__kwdefaults__ or {})
    global_names = _global_names(fun.__code__, fun.__globals__)
    entries = cells + defaults + list(kw.values()) + [fun.__globals__[n] for n in global_names]
    values, statics = [], []
    for e in entries:
        if e is not _EMPTY and _is_dynamic(e):
            values.append(jnp.asarray(e))
            statics.append(None)
        else:
            values.append(None)
            statics.append(_Key(e))
    return ClosureFn(tuple(values), fun.__code__, _Key(fun.__globals__), fun.__name__, tuple(statics),
                     len(cells), len(defaults), tuple(kw), fun.__qualname__, tuple(global_names))


class _Bound(eqx.Module):
    """A user function whose traced closure values travel as the last positional argument."""

    static: ClosureFn | None = eqx.field(static=True)  # with values stripped (None entries)
    index: int = eqx.field(static=True)
    plain: Any = eqx.field(static=True)  # the original callable when it is not rebuilt

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        *rest, bundle = args
        if self.static is None:
            return self.plain(*rest, **kwargs)
        return self.static.rebuild(bundle[self.index])(*rest, **kwargs)

    @property
    def __name__(self) -> str:
        return self.static.name if self.static is not None else getattr(self.plain, "__name__", "fun")

    @property
    def __code__(self) -> types.CodeType | None:
        return self.static.code if self.static is not None else getattr(self.plain, "__code__", None)

    def user_name(self) -> str:
        """The wrapped function's qualified name, for messages."""
        if self.static is not None:
            return self.static.qualname
        return getattr(self.plain, "__qualname__", self.__name__)


def bind_closures(funcs: tuple, args: tuple) -> tuple[tuple, tuple]:
    """For facades that hash the user's functions: move their closed-over arrays into ``args``.

    ``funcs`` are callables (or anything else, passed through) that are all called as
    ``f(..., *args)``. Returns ``(new_funcs, new_args)`` with ``new_args = args + (bundle,)``; every
    callable in ``new_funcs`` takes the extra last argument. When none of ``funcs`` is a plain
    Python function nothing changes.
    """
    canon = [canonical(f) if callable(f) else f for f in funcs]
    if not any(isinstance(c, ClosureFn) for c in canon):
        return tuple(funcs), args
    bundle, out = [], []
    for f, c in zip(funcs, canon, strict=True):
        if isinstance(c, ClosureFn):
            out.append(_Bound(dataclasses.replace(c, values=tuple(None for _ in c.values)), len(bundle), None))
            bundle.append(c.values)
        elif callable(f):
            out.append(_Bound(None, -1, f))
        else:
            out.append(f)
    return tuple(out), tuple(args) + (tuple(bundle),)
