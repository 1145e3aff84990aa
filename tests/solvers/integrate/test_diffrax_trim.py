"""The compile-time trim of diffrax's ``t1 - 100 ULP`` chain equals equinox's chain bit for bit."""

import diffrax._integrate as diffrax_integrate
import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scijax.solvers.integrate._diffrax_trim import _EquinoxInternalView, install, prevbefore_n


def _values(dtype, itype):
    fi = np.finfo(dtype)
    special = [0.0, -0.0, 1.0, -1.0, 10.0, 1e11, -1e11, 0.5, fi.tiny, -fi.tiny, 3 * fi.tiny, fi.max, -fi.max,
               np.inf, -np.inf, np.nan, fi.smallest_subnormal, -fi.smallest_subnormal]
    band = (np.asarray(fi.tiny, dtype).view(itype) + np.arange(-120, 120)).astype(itype).view(dtype)
    rng = np.random.default_rng(0)
    wide = rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200)
    return np.concatenate([np.array(special, dtype), band, -band, wide.astype(dtype)])


def _chain(step, x, n=100):
    for _ in range(n):
        x = step(x)
    return x


@pytest.mark.parametrize("dtype, itype", [(np.float64, np.int64), (np.float32, np.int32)])
def test_chain_is_equinox_chain_bit_for_bit(dtype, itype):
    x = jnp.asarray(_values(dtype, itype))
    ref = np.asarray(jax.jit(jax.vmap(lambda t: _chain(eqxi.prevbefore, t)))(x))
    view = _EquinoxInternalView(eqxi)
    ours = np.asarray(jax.jit(jax.vmap(lambda t: _chain(view.prevbefore, t)))(x))  # the path diffrax takes
    same = (ref.view(itype) == ours.view(itype)) | (np.isnan(ref) & np.isnan(ours))
    assert same.all(), (np.asarray(x)[~same][:5], ref[~same][:5], ours[~same][:5])


def test_installed_and_differentiable_like_equinox():
    assert install() and isinstance(diffrax_integrate.eqxi, _EquinoxInternalView)
    assert diffrax_integrate.eqxi.while_loop is eqxi.while_loop  # everything else is equinox's own
    view = diffrax_integrate.eqxi
    g = jax.jit(jax.grad(lambda t: 3.0 * _chain(view.prevbefore, t)))(2.0)
    assert float(g) == 3.0  # equinox's rule: the derivative of prevbefore is the identity
    assert float(prevbefore_n(jnp.float64(2.0), 3)) == float(np.nextafter(np.nextafter(np.nextafter(2.0, 0), 0), 0))
    with pytest.raises(ValueError, match="dtype"):
        prevbefore_n(jnp.arange(3), 1)
