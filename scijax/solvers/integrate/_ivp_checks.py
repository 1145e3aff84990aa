"""Argument checks for ``solve_ivp`` that run before tracing, with SciPy's messages."""

import warnings

import jax.core
import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete
from ..._typing import Array, ArrayLike

__all__ = ["is_concrete", "check_y0", "check_t_span", "check_t_eval", "check_tolerances",
           "check_step_options", "convert_args", "check_fun_shape"]


def check_y0(y0: ArrayLike) -> Array:
    if not hasattr(y0, "shape"):
        y0 = np.asarray(y0)
    assert not isinstance(y0, bool | int | float | complex)  # for pyright: made an array just above
    if y0.ndim != 1:
        raise ValueError(f"`y0` must be 1-dimensional, got shape {tuple(y0.shape)}.")
    dtype = jnp.result_type(y0)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    y0 = jnp.asarray(y0, dtype=dtype)
    if is_concrete(y0) and not np.all(np.isfinite(np.asarray(y0))):
        raise ValueError("All components of the initial state `y0` must be finite.")
    return y0


def check_t_span(t_span, real_dtype, allow_infinite_end: bool = False) -> tuple[Array, Array]:
    shape = (len(t_span),) if isinstance(t_span, tuple | list) else np.shape(t_span)
    if shape != (2,) or any(np.ndim(t) != 0 for t in t_span):
        raise ValueError(f"`t_span` must be a pair of numbers (t0, tf), got {t_span!r}.")
    t0, tf = (jnp.asarray(t, dtype=real_dtype) for t in (t_span[0], t_span[1]))
    if is_concrete(t0, tf):
        a, b = float(t0), float(tf)
        if not np.isfinite(a) or np.isnan(b) or (np.isinf(b) and not allow_infinite_end):
            raise ValueError("Values in `t_span` must be finite (an infinite end needs a `terminal=True` event).")
    return t0, tf


def check_t_eval(t_eval, t0: Array, tf: Array, real_dtype, strict: bool = True) -> Array:
    t_eval = jnp.asarray(t_eval, dtype=real_dtype)
    if t_eval.ndim != 1:
        raise ValueError("`t_eval` must be 1-dimensional.")
    if t_eval.shape[0] == 0:
        raise ValueError("`t_eval` must contain at least one time.")
    if is_concrete(t_eval, t0, tf):
        te, a, b = np.asarray(t_eval), float(t0), float(tf)
        if np.any(te < min(a, b)) or np.any(te > max(a, b)):
            raise ValueError("Values in `t_eval` are not within `t_span`.")
        d = np.diff(te)
        bad = (d < 0, d > 0) if not strict else (d <= 0, d >= 0)
        if (b > a and np.any(bad[0])) or (b < a and np.any(bad[1])):
            raise ValueError("Values in `t_eval` are not properly sorted.")
    return t_eval


def check_tolerances(rtol, atol, n: int, real_dtype) -> tuple[Array | np.ndarray, Array | np.ndarray]:
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if np.ndim(tol) not in (0, 1) or (np.ndim(tol) == 1 and np.shape(tol) != (n,)):
            raise ValueError(f"`{name}` has wrong shape: expected a scalar or shape ({n},), got {np.shape(tol)}.")
    if is_concrete(rtol, atol):
        rtol_np, atol_np = np.asarray(rtol, dtype=real_dtype), np.asarray(atol, dtype=real_dtype)
        if np.any(rtol_np < 0):
            raise ValueError("`rtol` must be non-negative.")
        if np.any(atol_np < 0):
            raise ValueError("`atol` must be positive.")
        floor = 100 * float(np.finfo(real_dtype).eps)
        if np.any(rtol_np < floor):
            msg = f"At least one element of `rtol` is too small. Setting `rtol = np.maximum(rtol, {floor})`."
            warnings.warn(msg, stacklevel=4)
            rtol_np = np.maximum(rtol_np, floor)
        return rtol_np, atol_np
    return jnp.asarray(rtol, dtype=real_dtype), jnp.asarray(atol, dtype=real_dtype)


def check_step_options(first_step, max_step, t0: Array, tf: Array, real_dtype):
    if first_step is not None:
        first_step = jnp.asarray(first_step, dtype=real_dtype)
        if is_concrete(first_step, t0, tf):
            if float(first_step) <= 0:
                raise ValueError("`first_step` must be positive.")
            if float(first_step) > abs(float(tf) - float(t0)):
                raise ValueError("`first_step` exceeds bounds.")
    max_step = jnp.asarray(np.inf if max_step is None else max_step, dtype=real_dtype)
    if is_concrete(max_step) and float(max_step) <= 0:
        raise ValueError("`max_step` must be positive.")
    return first_step, max_step


def convert_args(args) -> tuple:
    """SciPy's ``args`` as a tuple; floats become arrays so new values don't recompile."""
    if args is None:
        return ()
    if not isinstance(args, tuple | list):
        raise TypeError(
            f"Supplied 'args' cannot be unpacked. Please supply `args` as a tuple (e.g. `args=({args!r},)`)"
        )

    def leaf(x):
        if isinstance(x, float | complex | np.floating | np.complexfloating | np.ndarray):
            return jnp.asarray(x)
        return x

    return jax.tree_util.tree_map(leaf, tuple(args))


def check_fun_shape(fun, t0: Array, y0: Array, args: tuple) -> None:
    """Trace ``fun`` once (abstractly) to check it returns shape ``(n,)``."""
    out = jax.eval_shape(lambda t, y, a: jnp.asarray(fun(t, y, *a)), t0, y0, args)
    if out.shape not in (y0.shape, ()) or (out.shape == () and y0.shape != (1,)):
        raise ValueError(f"`fun` must return an array of the shape of `y0` {y0.shape}, got shape "
                         f"{out.shape}: `fun` and `y0` disagree on the number of states.")
