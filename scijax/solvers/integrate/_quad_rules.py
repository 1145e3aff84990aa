"""Gauss-Kronrod rules as data (QUADPACK's ``qk15``/``qk21`` tables) and their error estimate."""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ..._typing import Array

__all__ = ["GKRule", "RULES", "apply_rule"]


class GKRule(NamedTuple):
    """A Gauss-Kronrod pair on ``[-1, 1]``: Kronrod nodes/weights and the embedded Gauss weights."""

    nodes: np.ndarray
    kronrod: np.ndarray
    gauss: np.ndarray  # zero at the Kronrod-only nodes


def _symmetric(half_nodes, half_kronrod, half_gauss) -> GKRule:
    """Build a rule from the nodes ``>= 0`` (descending, last is 0) and their weights."""
    x = np.asarray(half_nodes)
    nodes = np.concatenate([x, -x[-2::-1]])
    kronrod = np.concatenate([half_kronrod, half_kronrod[-2::-1]])
    g = np.zeros_like(x)
    g[1::2] = half_gauss  # Gauss nodes are every other Kronrod node (the centre too for GK15)
    gauss = np.concatenate([g, g[-2::-1]])
    return GKRule(nodes, kronrod, gauss)


GK21 = _symmetric(
    [0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
     0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
     0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
     0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
     0.294392862701460198131126603103866, 0.148874338981631210884826001129720, 0.0],
    np.array([0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
              0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
              0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
              0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
              0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
              0.149445554002916905664936468389821]),
    np.array([0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
              0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
              0.295524224714752870173892994651338]),
)
GK15 = _symmetric(
    [0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
     0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
     0.586087235467691130294144838258730, 0.405845151377397166906606412076961,
     0.207784955007898467600689403773245, 0.0],
    np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
              0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
              0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
              0.204432940075298892414161999234649, 0.209482141084727828012999174891714]),
    np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
              0.381830050505118944950369775488975, 0.417959183673469387755102040816327]),
)

RULES = {"gk21": GK21, "gk15": GK15}
"""SciPy's ``quadrature`` names -> rule."""


def apply_rule(rule: GKRule, fvals: Array, half: Array, norm) -> tuple[Array, Array]:
    """Integral and QUADPACK-style error estimate from values at the rule's nodes.

    ``fvals`` has shape ``(n_nodes, *out)``; ``half`` is the half-width of the interval (in the
    integration variable, Jacobian included in ``fvals``); ``norm`` reduces a vector to a scalar.
    """
    dtype = fvals.dtype
    real = jnp.finfo(dtype).dtype
    k = jnp.asarray(rule.kronrod, real)
    g = jnp.asarray(rule.gauss, real)
    contract = lambda w, f: jnp.tensordot(w, f, axes=1)  # noqa: E731
    s_k = contract(k, fvals)
    s_g = contract(g, fvals)
    s_k_abs = contract(k, jnp.abs(fvals))
    s_k_dabs = contract(k, jnp.abs(fvals - s_k / 2))
    err = norm((s_k - s_g) * half)
    dabs = norm(s_k_dabs * half)
    scaled = dabs * jnp.minimum(1.0, (200 * err / jnp.where(dabs == 0, 1, dabs)) ** 1.5)
    err = jnp.where((dabs != 0) & (err != 0), scaled, err)
    round_err = norm(50 * jnp.finfo(real).eps * half * s_k_abs)
    err = jnp.where(round_err > jnp.finfo(real).tiny, jnp.maximum(err, round_err), err)
    return half * s_k, err
