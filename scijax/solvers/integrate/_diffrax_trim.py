"""A compile-time trim for ``diffrax.diffeqsolve``: its ``t1 - 100 ULP`` threshold in one step.

Before its step loop, diffrax computes the time above which a proposed step end is rounded to
``t1`` by applying ``equinox.internal.prevbefore`` to ``t1`` one hundred times in a row. With
``t1`` traced (as ``solve_ivp`` traces ``t_span``, so that new values never recompile) the
chain is unrolled into the program: 100 ``nextafter`` operations, about half of the StableHLO
of ``diffeqsolve`` itself. Measured on the 2-core CPU, it costs 0.35-0.45 s of lowering and XLA
compilation in every program that contains a ``diffeqsolve`` (a plain RK45 ``solve_ivp``
first call: about 2.0 s CPU with the chain, 1.5 s without).

:func:`install` gives diffrax's integration module (only that module: ``diffrax._integrate``
reads ``equinox.internal`` through its module attribute ``eqxi``) a view of
``equinox.internal`` whose ``prevbefore`` recognises a chain: a call whose argument is the
result of the previous call returns ``prevbefore`` applied ``n`` times to the chain's origin,
computed in closed form on the bit pattern. JAX drops the unused intermediate results when it
lowers, so the program keeps one closed form instead of 100 ``nextafter`` steps.

The value equals equinox's chain bit for bit (checked in the tests for zeros, infinities, NaN,
the extremes, random values over sixty decades, and the band of subnormals and small normals, in
float64 and float32): the closed form follows the chain's rule that a value comparing equal to
zero jumps to ``-tiny``, with subnormals comparing equal to zero as on XLA's CPU and GPU backends,
which flush denormals. The derivative is
equinox's: the identity. Nothing is installed when diffrax's module does not have this shape
(another diffrax version), and ``SCIJAX_NO_DIFFRAX_TRIM=1`` turns it off.
"""

import os
import threading
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["install", "prevbefore_n"]

_INT = {8: jnp.int64, 4: jnp.int32, 2: jnp.int16}


def prevbefore_n(x: Any, n: Any) -> jax.Array:
    """``equinox.internal.prevbefore`` applied ``n`` times to ``x``, in closed form (see module).

    ``n`` (a positive integer, or an integer array broadcast against ``x``) counts the steps.
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating) or x.dtype.itemsize not in _INT:
        raise ValueError(f"prevbefore_n: unsupported dtype {x.dtype}")
    return _prevbefore_n(x, jnp.asarray(n, _INT[x.dtype.itemsize]))


@jax.custom_jvp
def _prevbefore_n(x: jax.Array, n: jax.Array) -> jax.Array:
    it = n.dtype
    b = lax.bitcast_convert_type(x, it)
    fi = jnp.finfo(x.dtype)
    np_it = np.dtype(it)
    neg_tiny = np.asarray(-fi.tiny, dtype=x.dtype).view(np_it).item()  # bit patterns
    tiny = np.asarray(fi.tiny, dtype=x.dtype).view(np_it).item()
    neg_inf = np.asarray(-np.inf, dtype=x.dtype).view(np_it).item()
    # Negative numbers (and -0.0 after the zero case): n steps towards -inf, stopping at -inf.
    down_neg = jnp.minimum(b + n, jnp.asarray(neg_inf, it))
    # Positive numbers: n steps down while normal; a subnormal compares equal to zero, so the
    # step after the first one reached jumps to -tiny and continues on the negative side.
    k = b - tiny + 1  # steps from x to the first subnormal below tiny
    crossed = jnp.asarray(neg_tiny, it) + (n - k - 1)
    down_pos = jnp.where(b - n >= tiny - 1, b - n, crossed)
    from_zero = jnp.asarray(neg_tiny, it) + (n - 1)  # x == 0 jumps to -tiny, then n - 1 steps
    r = jnp.where(x == 0, from_zero, jnp.where(b < 0, down_neg, down_pos))
    y = lax.bitcast_convert_type(r, x.dtype)
    return jnp.where(jnp.isnan(x), x, y)


@_prevbefore_n.defjvp
def _prevbefore_n_jvp(primals, tangents):
    x, n = primals
    y = _prevbefore_n(x, n)
    return y, jnp.broadcast_to(tangents[0], y.shape)  # equinox's rule: the identity


_BLOCK = 128  # a chain's first call computes this many of its values at once


class _Chain(threading.local):
    last: Any = None  # (result, origin, n, values) of the latest call


_chain = _Chain()


def _prevbefore(x: Any) -> jax.Array:
    """``prevbefore`` for diffrax's chain: the k-th call of a chain reads its k-th precomputed value.

    The first call of a chain evaluates the closed form for ``n = 1 .. 128`` as one vector, and
    each call returns one element of it, so the 100 calls cost one vectorised closed form and
    100 slices (JAX does not remove unused intermediate values inside diffrax's program, so
    computing each call from the origin would not shrink it).
    """
    last = _chain.last
    if last is not None and last[0] is x and last[2] < _BLOCK:
        _, origin, n, values = last
        n += 1
    else:
        origin, n = jnp.asarray(x), 1
        if not jnp.issubdtype(origin.dtype, jnp.floating) or origin.ndim != 0:
            y = prevbefore_n(origin, 1)
            _chain.last = None
            return y
        values = prevbefore_n(origin, np.arange(1, _BLOCK + 1))
    y = values[n - 1]
    _chain.last = (y, origin, n, values)
    return y


class _EquinoxInternalView:
    """``equinox.internal`` as diffrax's integration module sees it, with the collapsing chain."""

    def __init__(self, base: Any):
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    @staticmethod
    def prevbefore(x: Any) -> jax.Array:
        return _prevbefore(x)


def install() -> bool:
    """Install the view in ``diffrax._integrate`` (idempotent); return whether it is active."""
    if os.environ.get("SCIJAX_NO_DIFFRAX_TRIM", "") not in ("", "0"):
        return False
    try:
        import diffrax._integrate as integrate_module
        import equinox.internal as eqxi
    except ImportError:  # pragma: no cover - another diffrax layout
        return False
    current = getattr(integrate_module, "eqxi", None)
    if isinstance(current, _EquinoxInternalView):
        return True
    if current is not eqxi or not hasattr(eqxi, "prevbefore"):
        return False
    integrate_module.eqxi = _EquinoxInternalView(eqxi)  # type: ignore[attr-defined]
    return True
