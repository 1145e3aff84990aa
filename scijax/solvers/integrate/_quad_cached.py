"""``quad``/``quad_vec`` entry helpers: host-path integrands and one compilation per integrand code.

``adaptive_quad`` is a plain function whose ``while_loop`` is traced and compiled on every eager call.
:func:`adaptive_quad_cached` runs it under ``equinox.filter_jit`` when the integrand is hashable and
carries no arrays (a plain function, or the ``_Bound`` form that :func:`prepare_integrand` makes of a
lambda: its closed-over numbers travel in ``args``), so a repeated call, or a lambda re-created in a
loop, reuses the compiled integration.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
from jax.core import Tracer

from .._userfn import prepare_bound
from ._quad_adaptive import AdaptiveOptions, adaptive_quad
from ._quad_rules import RULES

__all__ = ["adaptive_quad_cached", "prepare_integrand"]


def prepare_integrand(role: str, func: Callable, a: Any, b: Any, args: tuple, solver: str):
    """The integrand ready for the host path or for caching, and ``args`` with its closure values."""
    finite = [x for x in (a, b) if not isinstance(x, Tracer) and bool(jax.numpy.isfinite(x))]
    x = (a + b) / 2 if len(finite) == 2 else (finite[0] if finite else a * 0)
    user, args = prepare_bound({role: func}, (x,), tuple(args), solver=solver, context=(a, b))
    return user[role], args


@eqx.filter_jit
def _jitted(func, rule_index, limit, norm, n_points, a, b, args, points, epsabs, epsrel):
    rule = list(RULES.values())[rule_index]
    return adaptive_quad(func, AdaptiveOptions(rule, limit, norm, n_points), a, b, args, points, epsabs,
                         epsrel)


def _cacheable(func: Any) -> bool:
    try:
        hash(func)
    except TypeError:
        return False
    return not any(eqx.is_array(x) for x in jax.tree_util.tree_leaves(func))


def adaptive_quad_cached(func, opts: AdaptiveOptions, a, b, args, points, epsabs, epsrel):
    """``adaptive_quad`` under one cached compilation per (integrand, options) where possible."""
    rules = list(RULES.values())
    index = next((i for i, r in enumerate(rules) if r is opts.rule), None)
    if index is None or not _cacheable(func):
        return adaptive_quad(func, opts, a, b, args, points, epsabs, epsrel)
    return _jitted(func, index, opts.limit, opts.norm, opts.n_points, a, b, args, points, epsabs, epsrel)
