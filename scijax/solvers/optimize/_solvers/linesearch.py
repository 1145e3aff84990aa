"""The one backtracking Armijo line search of our own engines (L-BFGS-B, SLSQP, Broyden).

:func:`backtrack` halves a trial step ``t`` (from ``t0``) until the sufficient-decrease test

    ``phi(t) <= phi(0) + c1 * model(t)``

holds with a finite ``phi(t)``, or ``maxls`` halvings have been tried. ``model(t)`` is the
first-order prediction of the change of ``phi``: ``t * slope`` for a straight path
(:func:`linear_model`), or ``g . (x(t) - x)`` along L-BFGS-B's projected path
``x(t) = clip(x + t d, lower, upper)``. ``phi`` may return auxiliary output (the trial point,
Broyden's residual vector) that the caller needs and should not recompute.

Why not ``optimistix.BacktrackingArmijo``
-----------------------------------------
BFGS, CG and Newton-CG need the strong Wolfe conditions and use :mod:`.wolfe`. The three engines above
cannot use optimistix's backtracking search either, for three reasons:

- optimistix's searches are state machines driven by the outer loop: each trial point costs
  one optimistix step. SciPy counts an iteration as one *accepted* point, with the whole line
  search inside it, and our engines report SciPy's ``nit`` and ``nfev``; a search inside
  ``step`` keeps that accounting and keeps the other per-iteration work (L-BFGS pair update,
  SQP Hessian update, Broyden's rank-one update) in one place.
- ``BacktrackingArmijo`` tests ``f`` itself against ``grad f . (y - y0)``. SLSQP backtracks on
  its L1 merit function, whose directional derivative is not ``grad f . d``, and Broyden
  backtracks on ``|F|^2`` with SciPy's ``(1 - c1 t)`` rule; both need another ``phi`` and
  another ``model``.
- Broyden needs the residual vector of the accepted trial (its auxiliary output) for the
  Jacobian update, which an optimistix search does not hand back.

Optimistix's descents (Newton, dogleg, trust-region) and termination are likewise not used by
these engines: their directions are SciPy's (truncated CG, L-BFGS on the free variables, an
SQP subproblem), and SciPy's stopping tests are not optimistix's Cauchy test (see
:mod:`.stopping`).
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

__all__ = ["LineSearchResult", "backtrack", "linear_model"]


class LineSearchResult(NamedTuple):
    """What :func:`backtrack` found.

    ``found`` is false when the test still failed after ``maxls`` halvings; ``step``, ``value``
    and ``aux`` are then those of the last trial. ``evals`` counts the calls of ``phi``.
    """

    step: Array
    value: Array
    aux: Any
    evals: Array
    found: Array


def linear_model(slope: Array) -> Callable[[Array, Any], Array]:
    """The model ``t * slope`` of a straight path with directional derivative ``slope``."""
    return lambda t, aux: t * slope


def backtrack(
    phi: Callable[[Array], tuple[Array, Any]],
    phi0: Array,
    model: Callable[[Array, Any], Array],
    t0: Array | float = 1.0,
    *,
    c1: float = 1e-4,
    maxls: int = 20,
) -> LineSearchResult:
    """Halve ``t`` from ``t0`` until ``phi(t) <= phi0 + c1 * model(t, aux)`` with finite ``phi(t)``.

    Parameters
    ----------
    phi
        ``phi(t) -> (value, aux)``: the merit function along the search path.
    phi0
        ``phi(0)``, already known to the caller.
    model
        ``model(t, aux)``: the first-order predicted change of ``phi`` at ``t`` (negative for a
        descent direction). :func:`linear_model` gives ``t * slope``.
    t0
        The first trial step.
    c1
        Armijo's constant.
    maxls
        The most halvings; the search evaluates ``phi`` at most ``maxls + 1`` times.
    """
    t0 = jnp.asarray(t0, jnp.result_type(phi0))

    def not_sufficient(carry):
        t, value, aux, k = carry
        armijo = value <= phi0 + c1 * model(t, aux)
        return jnp.invert(jnp.isfinite(value) & armijo) & (k < maxls)

    def halve(carry):
        t, _, _, k = carry
        t = 0.5 * t
        value, aux = phi(t)
        return t, value, aux, k + 1

    value0, aux0 = phi(t0)
    t, value, aux, k = jax.lax.while_loop(not_sufficient, halve, (t0, value0, aux0, jnp.array(0)))
    return LineSearchResult(t, value, aux, k + 1, k < maxls)
