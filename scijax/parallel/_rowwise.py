"""Trace a per-member right-hand side into row-wise element-wise code for the fused kernel.

The user writes ``fun(t, y, *args)`` for one member, SciPy-style (``y`` of shape
``(n,)``). Inside a GPU kernel each member is one lane and each state component
one register row of shape ``(block,)``. This module traces ``fun`` once to a
jaxpr and evaluates it on *object arrays of rows*: element-wise primitives apply
row by row, and indexing, stacking, reshapes, sums and small matrix products
become bookkeeping on the object array. The kernel therefore sees only
element-wise operations on ``(block,)`` vectors, which any Pallas backend
lowers. A primitive outside these families raises ``NotImplementedError``
naming it (``backend='auto'`` then picks ``'lean'``).
"""

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import core as jcore

__all__ = ["rowwise_rhs"]

_ELEMENTWISE = frozenset(
    """add sub mul div neg max min abs sign exp exp2 log log1p expm1 sin cos tan tanh sinh cosh asin acos
    atan atan2 asinh acosh atanh logistic sqrt rsqrt cbrt pow integer_pow square floor ceil round rem
    select_n eq ne lt le gt ge and or not xor convert_element_type is_finite copy copy_p clamp erf erfc
    erf_inv lgamma digamma nextafter real imag reduce_precision""".split()
)
_CALL_PARAMS = ("jaxpr", "call_jaxpr", "fun_jaxpr")


def _is_row(x) -> bool:
    return isinstance(x, jax.Array) and x.ndim == 1


def _concrete_obj(value) -> np.ndarray:
    """A concrete array as an object array of Python scalars (weakly typed in jnp ops)."""
    arr = np.asarray(value)
    out = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        out[idx] = arr[idx].item()
    return out


def _row(x, shape, dtype):
    return x.astype(dtype) if _is_row(x) else jnp.full(shape, x, dtype)


def _elementwise(prim, invals, invars, params, shape):
    ops = np.broadcast_arrays(*invals)
    out = np.empty(ops[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        elems = [o[idx] for o in ops]
        if not any(_is_row(e) for e in elems):
            with jax.ensure_compile_time_eval():
                res = prim.bind(*[np.asarray(e, v.aval.dtype) for e, v in zip(elems, invars, strict=True)],
                                **params)
            out[idx] = np.asarray(res).item()
        else:
            out[idx] = prim.bind(*[_row(e, shape, v.aval.dtype) for e, v in zip(elems, invars, strict=True)],
                                 **params)
    return [out]


def _reduce(op, axes, fold):
    moved = np.moveaxis(op, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))
    out = np.empty(flat.shape[:-1], dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = functools.reduce(fold, list(flat[idx]))
    return out


def _broadcast_in_dim(op, shape, broadcast_dimensions, **_):
    expanded = [1] * len(shape)
    for i, dim in enumerate(broadcast_dimensions):
        expanded[dim] = op.shape[i]
    return np.broadcast_to(op.reshape(expanded), shape).copy()


def _dot_general(lhs, rhs, dimension_numbers, **_):
    (lc, rc), (lb, rb) = dimension_numbers
    if lb or rb:
        raise NotImplementedError("batched dot_general")
    return np.tensordot(lhs, rhs, axes=(tuple(lc), tuple(rc)))


def _index(op, starts, sizes):
    return op[tuple(slice(int(s), int(s) + int(z)) for s, z in zip(starts, sizes, strict=True))]


_STRUCTURAL: dict[str, Callable[..., np.ndarray]] = {
    "broadcast_in_dim": lambda op, **p: _broadcast_in_dim(op, **p),
    "reshape": lambda op, new_sizes, **_: op.reshape(new_sizes),
    "squeeze": lambda op, dimensions: np.squeeze(op, axis=tuple(dimensions)),
    "slice": lambda op, start_indices, limit_indices, strides: op[
        tuple(slice(s, e, st) for s, e, st in zip(start_indices, limit_indices, strides or [1] * op.ndim,
                                                  strict=True))
    ],
    "concatenate": lambda *ops, dimension: np.concatenate(ops, axis=dimension),
    "stack": lambda *ops, axis, **_: np.stack(ops, axis=axis),
    "transpose": lambda op, permutation: np.transpose(op, permutation),
    "rev": lambda op, dimensions: np.flip(op, tuple(dimensions)),
    "dynamic_slice": lambda op, *idx, slice_sizes: _index(op, idx, slice_sizes),
    "dot_general": lambda lhs, rhs, **p: _dot_general(lhs, rhs, **p),
    "reduce_sum": lambda op, axes, **_: _reduce(op, tuple(axes), lambda a, b: a + b),
    "reduce_max": lambda op, axes, **_: _reduce(op, tuple(axes), jnp.maximum),
    "reduce_min": lambda op, axes, **_: _reduce(op, tuple(axes), jnp.minimum),
}


def _eval(jaxpr, consts, args, shape):
    env: dict[Any, np.ndarray] = {}

    def read(v):
        if isinstance(v, jcore.Literal):
            return _concrete_obj(v.val)
        return env[v]

    for v, val in zip(jaxpr.constvars, consts, strict=True):
        env[v] = _concrete_obj(val)
    for v, val in zip(jaxpr.invars, args, strict=True):
        env[v] = val
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        has_rows = any(_is_row(x) for val in invals for x in val.flat)
        sub = next((eqn.params[k] for k in _CALL_PARAMS if k in eqn.params), None)
        if sub is not None:
            closed = sub if isinstance(sub, jcore.ClosedJaxpr) else jcore.ClosedJaxpr(sub, ())
            outs = _eval(closed.jaxpr, closed.consts, invals, shape)
        elif not has_rows:  # constant folding: evaluate now, even inside an outer trace
            with jax.ensure_compile_time_eval():
                res = eqn.primitive.bind(*[np.array(x.tolist(), v.aval.dtype) for x, v in
                                           zip(invals, eqn.invars, strict=True)], **eqn.params)
            outs = [_concrete_obj(r) for r in (res if eqn.primitive.multiple_results else [res])]
        elif name in _ELEMENTWISE:
            outs = _elementwise(eqn.primitive, invals, eqn.invars, eqn.params, shape)
        elif name in _STRUCTURAL:
            outs = [np.asarray(_STRUCTURAL[name](*invals, **eqn.params), dtype=object)]
        else:
            raise NotImplementedError(
                f"The fused backend cannot trace primitive `{name}` of `fun` into the kernel; "
                "use backend='lean' or 'vmap'."
            )
        for v, val in zip(eqn.outvars, outs, strict=True):
            env[v] = val
    return [read(v) for v in jaxpr.outvars]


def rowwise_rhs(fun: Callable, n: int, arg_shapes: list[tuple[int, ...]], arg_treedef, dtype) -> Callable:
    """Build ``rhs(t_row, y_rows, p_rows) -> y_rows`` from a per-member ``fun(t, y, *args)``.

    ``p_rows`` holds the flattened per-member arguments, one row per scalar, in
    the order of ``jax.tree.leaves(args)``.
    """

    def per_member(t, y, leaves):
        out = fun(t, y, *jax.tree.unflatten(arg_treedef, leaves))
        return jnp.asarray(out)

    specs = [jax.ShapeDtypeStruct(s, dtype) for s in arg_shapes]
    closed = jax.make_jaxpr(per_member)(jax.ShapeDtypeStruct((), dtype), jax.ShapeDtypeStruct((n,), dtype), specs)
    out_aval = closed.out_avals[0]
    if out_aval.shape != (n,):
        raise ValueError(f"`fun` must return an array of shape ({n},) like `y`, got shape {out_aval.shape}.")

    def rhs(t_row, y_rows, p_rows):
        shape = t_row.shape
        t_obj = np.empty((), dtype=object)
        t_obj[()] = t_row
        y_obj = np.empty((n,), dtype=object)
        for i, r in enumerate(y_rows):
            y_obj[i] = r
        args, pos = [], 0
        for s in arg_shapes:
            size = int(np.prod(s))
            a = np.empty((size,), dtype=object)
            for j in range(size):
                a[j] = p_rows[pos + j]
            args.append(a.reshape(s))
            pos += size
        (out,) = _eval(closed.jaxpr, closed.consts, [t_obj, y_obj, *args], shape)
        return tuple(_row(x, shape, dtype) for x in out.flat)

    return rhs

