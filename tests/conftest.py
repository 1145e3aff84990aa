"""Strict JAX settings for the whole test suite: float64 on, and a PRNG key fixture."""

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.key(0)
