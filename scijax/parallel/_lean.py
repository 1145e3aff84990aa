"""The ``lean`` and ``fused`` backends: the shared RK loop over structure-of-arrays state.

``lean`` runs :func:`._stepper.integrate` as one XLA program. On GPU each
component is one ``(N,)`` array with ``fun`` traced row-wise by
:mod:`._rowwise`; on CPU, or for a ``fun`` the row-wise tracer cannot follow,
``fun`` runs through ``vmap`` on one ``(n, N)`` array (any ``fun`` that vmaps works).
``fused`` runs the *same* loop inside a Pallas kernel, one program per block
of members, each state component a register row, with ``fun`` traced row-wise
by :mod:`._rowwise`. On CPU the kernel runs in Pallas interpret mode.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

from ._rowwise import rowwise_rhs
from ._stepper import StepOptions, integrate
from ._tableau import Tableau

__all__ = ["lean_solve", "fused_solve"]


def _tol(tol, n, dtype):
    """A tolerance shaped for ``(n, N)`` state: a float, or an ``(n, 1)`` column."""
    tol = np.asarray(tol, dtype=float)
    return float(tol) if tol.ndim == 0 else jnp.asarray(tol.reshape(n, 1), dtype)


def _rows(tol, n):
    """A tolerance for row-wise state: one float per component."""
    return tuple(float(v) for v in np.broadcast_to(np.asarray(tol, dtype=float), (n,)))


def lean_solve(fun, tab: Tableau, t0, tf, t_eval, y0s, args: tuple, opts: StepOptions):
    """Integrate the batch ``y0s`` (N, n) with per-member ``args``; returns ``(ys, status, nfev)``.

    ``ys`` has shape ``(N, n, n_points)``.
    """
    n_mem, n = y0s.shape
    dtype = y0s.dtype
    n_points = t_eval.shape[0]
    leaves, treedef = jax.tree.flatten(args)
    if opts.unroll is None:  # measured: several attempts per iteration pay off on GPU only
        gpu = jax.default_backend() == "gpu"
        opts = opts._replace(unroll=(10 if opts.dt is not None else 4) if gpu else 1)
    try:  # on GPU, one (N,) array per component: each stage fuses into one element-wise kernel
        if jax.default_backend() == "cpu":  # on CPU the (n, N) layout below measured faster
            raise NotImplementedError
        rhs_rows = rowwise_rhs(fun, n, [tuple(x.shape[1:]) for x in leaves], treedef, dtype)
        p_rows = tuple(row for x in leaves for row in x.reshape(n_mem, -1).T)
        rhs = lambda t, y: rhs_rows(t, y, p_rows)
        y0 = tuple(y0s.T)
        opts = opts._replace(rtol=_rows(opts.rtol, n), atol=_rows(opts.atol, n))
        stack = jnp.stack
    except NotImplementedError:  # any fun that vmaps: one (n, N) array
        member_fun = jax.vmap(lambda t, y, a: fun(t, y, *a), in_axes=(0, 1, 0), out_axes=1)
        rhs = lambda t, y: jnp.asarray(member_fun(t, y, args), dtype)
        y0 = y0s.T
        opts = opts._replace(rtol=_tol(opts.rtol, n, dtype), atol=_tol(opts.atol, n, dtype))
        stack = lambda y: y

    out0 = jnp.zeros((n_points, n, n_mem), dtype)
    s, out = integrate(
        rhs, tab, y0, t0, tf, n_points, lambda k: t_eval[k],
        lambda k, y_k, out: jax.lax.dynamic_update_index_in_dim(out, stack(y_k), k, 0), out0, opts,
    )
    return jnp.transpose(out, (2, 1, 0)), s.status, s.nfev


def _pad(x, n_total):
    """Pad the leading axis by repeating the first member (keeps padded lanes well-behaved)."""
    extra = n_total - x.shape[0]
    return x if extra == 0 else jnp.concatenate([x, jnp.broadcast_to(x[:1], (extra, *x.shape[1:]))])


def fused_solve(fun, tab: Tableau, t0, tf, t_eval, y0s, args: tuple, opts: StepOptions, *,
                block: int | None = None, num_warps: int | None = None, interpret: Any = None):
    """Like :func:`lean_solve`, inside one Pallas kernel (``block`` members per program).

    Defaults measured on an H100 (Lorenz, float32): fixed steps 256 members and 4 warps per
    program, one attempt per loop iteration; adaptive 1024 members, 16 warps, two attempts.
    """
    fixed = opts.dt is not None
    block = block or (256 if fixed else 1024)
    num_warps = num_warps or (4 if fixed else 16)
    if opts.unroll is None:
        opts = opts._replace(unroll=1 if fixed else 2)
    n_mem, n = y0s.shape
    dtype = y0s.dtype
    opts = opts._replace(rtol=_rows(opts.rtol, n), atol=_rows(opts.atol, n))
    leaves, treedef = jax.tree.flatten(args)
    shapes = [tuple(x.shape[1:]) for x in leaves]
    rhs_rows = rowwise_rhs(fun, n, shapes, treedef, dtype)
    block = min(block, max(32, 1 << (n_mem - 1).bit_length()))
    num_warps = max(1, min(num_warps, block // 32))
    n_pad = -(-n_mem // block) * block
    y0_t = _pad(y0s, n_pad).T
    p_t = [_pad(x.reshape(n_mem, -1).astype(dtype), n_pad).T for x in leaves]
    p_t = jnp.concatenate(p_t) if p_t else None
    n_points = t_eval.shape[0]
    ts = jnp.stack([jnp.asarray(t0, dtype), jnp.asarray(tf, dtype)])
    if interpret is None:
        interpret = jax.default_backend() == "cpu"

    def kernel(ts_ref, te_ref, y0_ref, *refs):
        *p_ref, out_ref, status_ref, nfev_ref = refs
        y = tuple(y0_ref[i, :] for i in range(n))
        p = tuple(p_ref[0][j, :] for j in range(p_ref[0].shape[0])) if p_ref else ()

        def save(k, y_k, aux):
            for i in range(n):
                out_ref[k * n + i, :] = y_k[i]
            return aux

        s, _ = integrate(lambda t, yy: rhs_rows(t, yy, p), tab, y, ts_ref[0], ts_ref[1], n_points,
                         lambda k: te_ref[k], save, 0, opts)
        status_ref[...] = s.status
        nfev_ref[...] = s.nfev

    whole = lambda shape: pl.BlockSpec(shape, lambda i: (0,) * len(shape))
    cols = lambda height: pl.BlockSpec((height, block), lambda i: (0, i))
    in_specs = [whole((2,)), whole((n_points,)), cols(n)] + ([cols(p_t.shape[0])] if p_t is not None else [])
    compiler_params = None
    if num_warps is not None and not interpret:
        from jax.experimental.pallas import triton as pltriton

        compiler_params = pltriton.CompilerParams(num_warps=num_warps)
    out, status, nfev = pl.pallas_call(
        kernel,
        grid=(n_pad // block,),
        in_specs=in_specs,
        out_specs=[cols(n_points * n), pl.BlockSpec((block,), lambda i: (i,)), pl.BlockSpec((block,), lambda i: (i,))],
        out_shape=[
            jax.ShapeDtypeStruct((n_points * n, n_pad), dtype),
            jax.ShapeDtypeStruct((n_pad,), jnp.int32),
            jax.ShapeDtypeStruct((n_pad,), jnp.int32),
        ],
        interpret=interpret,
        compiler_params=compiler_params,
    )(ts, jnp.asarray(t_eval, dtype), y0_t, *([p_t] if p_t is not None else []))
    ys = out.reshape(n_points, n, n_pad)[:, :, :n_mem]
    return jnp.transpose(ys, (2, 1, 0)), status[:n_mem], nfev[:n_mem]
