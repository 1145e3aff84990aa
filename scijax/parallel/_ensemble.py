"""``ensemble``: map a computation over a batch, sharded over devices and hosts.

One device: ``jit(vmap(fn))``. Several devices: a 1-D ``jax.sharding.Mesh``
named ``'batch'``; every device runs ``vmap(fn)`` on its contiguous slice
through ``jax.shard_map`` (no communication while it runs), so each member's
computation is the same program it would be on one device. Several processes
(after ``jax.distributed.initialize``): the mesh spans every process's devices,
each process passes the same full batch, and every process gets the full result.
"""

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax.core
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._typing import PyTree

__all__ = ["ensemble", "run_batched", "pad_members"]


@dataclasses.dataclass(frozen=True)
class _Vmapped:
    """``vmap(fn)`` over the batch with shared arguments; hashable by ``fn`` so compiles are cached."""

    fn: Callable

    def __call__(self, batch, shared):
        del shared
        return jax.vmap(self.fn)(batch)


def _batch_size(batch) -> int:
    leaves = jax.tree.leaves(batch)
    if not leaves:
        raise ValueError("`batch` must contain at least one array.")
    sizes: set[Any] = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
    if None in sizes:
        raise ValueError("Every leaf of `batch` needs a leading batch axis; got a scalar leaf.")
    if len(sizes) != 1:
        raise ValueError(f"All leaves of `batch` must share the leading (batch) size, got sizes {sorted(sizes)}.")
    (size,) = sizes
    if size == 0:
        raise ValueError("`batch` is empty (leading size 0).")
    return size


def pad_members(x, n_total):
    """Pad the leading axis to ``n_total`` by repeating the last member; trimmed again afterwards."""
    extra = n_total - x.shape[0]
    if extra == 0:
        return x
    return jnp.concatenate([x, jnp.broadcast_to(x[-1:], (extra, *x.shape[1:]))])


@functools.lru_cache(maxsize=128)
def _compiled(batched_fn, devices: tuple, chunk: int, n_chunks: int):
    local = chunk * n_chunks

    def local_fn(batch, shared):
        if n_chunks == 1:
            return batched_fn(batch, shared)
        chunks = jax.tree.map(lambda x: x.reshape(n_chunks, chunk, *x.shape[1:]), batch)
        out = lax.map(lambda b: batched_fn(b, shared), chunks)
        return jax.tree.map(lambda x: x.reshape(local, *x.shape[2:]), out)

    if len(devices) == 1:
        return jax.jit(local_fn), None
    mesh = Mesh(np.array(devices), ("batch",))
    sharded = jax.shard_map(local_fn, mesh=mesh, in_specs=(P("batch"), P()), out_specs=P("batch"),
                            check_vma=False)
    return jax.jit(sharded), mesh


def _place(tree, sharding, multiprocess: bool):
    if multiprocess:
        def put(x):
            host = np.asarray(x)
            return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

        return jax.tree.map(put, tree)
    return jax.device_put(tree, sharding)


def run_batched(
    batched_fn: Callable[[Any, Any], Any],
    batch: PyTree,
    shared: PyTree = (),
    *,
    devices: Sequence[jax.Device] | None = None,  # pyright: ignore[reportInvalidTypeForm] (jax exports Device as an alias of jaxlib's class)
    chunk_size: int | None = None,
) -> PyTree:
    """Run ``batched_fn(batch_slice, shared)`` over ``batch``, sharded and chunked; outputs in input order.

    ``batched_fn`` maps a batch (leading axis) to outputs whose every leaf has
    the same leading axis. ``shared`` is replicated on every device.
    """
    n = _batch_size(batch)
    devices = tuple(jax.devices() if devices is None else devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError("`devices` must be None or a non-empty sequence of jax.Device.")
    if chunk_size is not None and (not isinstance(chunk_size, int | np.integer) or chunk_size < 1):
        raise ValueError(f"`chunk_size` must be a positive integer or None, got {chunk_size!r}.")
    n_dev = len(devices)
    per_device = -(-n // n_dev)
    chunk = per_device if chunk_size is None else min(int(chunk_size), per_device)
    n_chunks = -(-per_device // chunk)
    n_pad = n_dev * n_chunks * chunk
    padded = jax.tree.map(lambda x: pad_members(jnp.asarray(x), n_pad), batch)
    fn, mesh = _compiled(batched_fn, devices, chunk, n_chunks)
    traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves((batch, shared)))
    multiprocess = len({d.process_index for d in devices}) > 1
    if mesh is None and not traced:
        padded, shared = jax.device_put((padded, shared), devices[0])
    elif not traced and mesh is not None:
        padded = _place(padded, NamedSharding(mesh, P("batch")), multiprocess)
        shared = _place(shared, NamedSharding(mesh, P()), multiprocess)
    out = fn(padded, shared)
    if multiprocess and not traced:
        out = jax.tree.map(jnp.asarray, multihost_utils.process_allgather(out, tiled=True))
    return jax.tree.map(lambda x: x[:n], out)


def ensemble(
    fn: Callable[[Any], Any],
    batch: PyTree,
    *,
    devices: Sequence[jax.Device] | None = None,  # pyright: ignore[reportInvalidTypeForm] (jax exports Device as an alias of jaxlib's class)
    chunk_size: int | None = None,
) -> PyTree:
    """Evaluate ``fn`` on every member of ``batch``: ``vmap`` on one device, sharded on several.

    Parameters
    ----------
    fn : callable
        ``fn(member) -> pytree``: any JAX-traceable computation on one member
        (for example a scijax solver call), written for a single member.
    batch : pytree of arrays
        The members, stacked along the leading axis of every leaf (all leaves
        share that leading size ``N``).
    devices : sequence of jax.Device, optional
        Devices to shard the batch over. Default ``jax.devices()``: every
        local device, or, after ``jax.distributed.initialize``, every device
        of every process. One device means plain ``jit(vmap(fn))``.
    chunk_size : int, optional
        At most this many members are evaluated at once *per device* (a
        ``lax.map`` over chunks of ``vmap``), to bound memory. The result is
        the same with or without chunking.

    Returns
    -------
    pytree
        ``fn``'s output with a leading axis of size ``N``, in input order.

    Notes
    -----
    A batch size that is not a multiple of ``len(devices) * chunk_size`` is
    padded internally by repeating the last member; the padding is cut off
    before returning. Each device evaluates its members with the same program
    as on one device and nothing is communicated until the end, so results do
    not depend on the number of devices.

    Multi-host launch: start the same script once per process with
    ``jax.distributed.initialize(coordinator_address="host0:1234",
    num_processes=P, process_id=i)`` before any other JAX call; every process
    must pass the same ``batch``, and each receives the whole result.

    Differences from SciPy: SciPy has no ensemble API; this replaces a Python
    loop over solver calls (or ``multiprocessing.Pool.map``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.parallel import ensemble
    >>> ensemble(lambda p: p["a"] * p["b"], {"a": jnp.arange(3.0), "b": jnp.ones(3)}).tolist()
    [0.0, 1.0, 2.0]
    """
    if not callable(fn):
        raise TypeError(f"`fn` must be callable, got {type(fn).__name__}.")
    return run_batched(_Vmapped(fn), batch, (), devices=devices, chunk_size=chunk_size)
