"""Strict JAX settings for the whole test suite: float64 on, and a PRNG key fixture."""

import gc

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop every compiled program after each test module.

    Each XLA:CPU executable holds several memory mappings; a test worker that runs a few hundred
    modules' worth of compiles exceeds Linux's ``vm.max_map_count`` (65,530) and XLA then aborts or
    segfaults inside a compile. Modules rarely share compiled functions, so clearing costs little.
    """
    yield
    jax.clear_caches()
    gc.collect()
