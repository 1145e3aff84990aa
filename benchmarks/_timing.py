"""Shared timing helpers for the benchmarks: medians of repeated runs, and a ratio table."""

import statistics
import time
from collections.abc import Callable

import jax


def median_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Median wall time (seconds) of ``fn()`` over ``repeat`` rounds of ``number`` calls; blocks on JAX results."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            jax.block_until_ready(fn())
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def print_table(rows: list[tuple[str, float, float, str]], peer: str = "peer") -> None:
    """Rows of (case, peer seconds, scijax seconds, note); prints milliseconds and the speed-up."""
    print(f"| case | {peer} (ms) | scijax (ms) | speed-up | note |")
    print("| --- | --- | --- | --- | --- |")
    for case, t_peer, t_ours, note in rows:
        print(f"| {case} | {t_peer * 1e3:.3f} | {t_ours * 1e3:.3f} | {t_peer / t_ours:.2f}x | {note} |")


def is_quick() -> bool:
    """True under ``python benchmarks/run_all.py`` without ``--full`` (it sets ``SCIJAX_BENCH_QUICK=1``).

    The shared convention for a benchmark that has no small-size flag of its own: read this and
    pick the quick sizes (``run_all.py`` also passes a benchmark's ``--small`` flag when it has one).
    """
    import os

    return os.environ.get("SCIJAX_BENCH_QUICK", "") == "1"
