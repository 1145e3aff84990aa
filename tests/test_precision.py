"""The one-time PrecisionWarning when float64 work would run in float32 (issue #16, section 4)."""

import warnings

import jax
import numpy as np
import pytest

import scijax
from scijax.solvers import _precision
from scijax.solvers.integrate import quad


@pytest.fixture
def float32_mode():
    jax.config.update("jax_enable_x64", False)
    _precision._warned = False
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", True)
        _precision._warned = False


def test_warns_once_for_float64_inputs_in_float32_mode(float32_mode):
    f = lambda x: x**2  # noqa: E731
    with pytest.warns(scijax.PrecisionWarning, match="jax_enable_x64"):
        quad(f, 0.0, 4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", scijax.PrecisionWarning)
        quad(f, 0.0, 4.0)  # once per process


def test_silent_for_float32_inputs_and_in_x64_mode(float32_mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error", scijax.PrecisionWarning)
        _precision.warn_if_truncated("quad", np.float32(0.0), np.float32(4.0), ())
        jax.config.update("jax_enable_x64", True)
        _precision.warn_if_truncated("quad", 0.0, 4.0, ())
