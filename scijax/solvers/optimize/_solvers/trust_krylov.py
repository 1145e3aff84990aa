"""The trust-region subproblem in a Krylov subspace (SciPy's ``method='trust-krylov'``).

Gould, Lucidi, Roma and Toint's generalised Lanczos method (GLTR; SIAM J. Optim. 9, 1999): the
Lanczos process on the Hessian, started from the gradient, builds an orthonormal basis ``Q`` of
the Krylov space ``span{g, Hg, H^2 g, ...}`` in which ``H`` is the tridiagonal ``T = Q^T H Q``;
the subproblem ``min g.p + p.Hp/2, |p| <= radius`` restricted to that space becomes
``min |g| h_1 + h.Th/2, |h| <= radius``, which is solved exactly (the secular equation of
:func:`.trust_newton.exact_subproblem`, hard case included), and ``p = Q h``.

Only Hessian-vector products are used. The Lanczos process runs until the Krylov space is
invariant (a vanishing Lanczos coefficient) or spans all ``n`` dimensions, with full
re-orthogonalisation, so the tridiagonal problem is solved to machine accuracy. This is what
SciPy's ``inexact=False`` aims at; SciPy's default ``inexact=True`` lets TRLIB stop the Lanczos
process earlier, so the two take different (equally valid) steps.

The outer loop is the trust-region loop of :class:`.trust_newton.TrustRegion`.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .trust_newton import exact_subproblem
from .trust_region import hvp

__all__ = ["lanczos_tridiagonal", "lanczos_subproblem"]


def lanczos_tridiagonal(hvp_fn: Callable[[Array], Array], g: Array) -> tuple[Array, Array, Array]:
    """Lanczos on ``hvp_fn`` from ``g`` with full re-orthogonalisation.

    Returns ``(Q, diag, off)``: the basis vectors as the rows of ``Q`` (zero rows past a
    breakdown), and the diagonal and the off-diagonal of the tridiagonal ``T = Q H Q^T``; the
    rows past a breakdown have ``valid`` false, signalled by a NaN diagonal entry.
    """
    n = g.shape[0]
    eps = jnp.finfo(g.dtype).eps
    gnorm = jnp.linalg.norm(g)
    q0 = g / jnp.where(gnorm > 0, gnorm, 1.0)
    basis = jnp.zeros((n, n), g.dtype).at[0].set(q0)

    def body(j, carry):
        basis, diag, off, valid = carry
        q = basis[j]
        w = hvp_fn(q)
        a = jnp.dot(q, w)
        for _ in range(2):  # full re-orthogonalisation, twice is enough
            w = w - basis.T @ (basis @ w)
        b = jnp.linalg.norm(w)
        scale = jnp.abs(a) + jnp.where(j > 0, off[jnp.maximum(j - 1, 0)], 0.0)
        go_on = valid & (b > jnp.sqrt(eps) * scale + jnp.finfo(g.dtype).tiny) & (j + 1 < n)
        nxt = jnp.where(go_on, w / jnp.where(b > 0, b, 1.0), 0.0)
        basis = basis.at[jnp.minimum(j + 1, n - 1)].set(jnp.where(j + 1 < n, nxt, basis[n - 1]))
        diag = diag.at[j].set(jnp.where(valid, a, jnp.nan))
        off = off.at[j].set(jnp.where(go_on, b, 0.0))
        return basis, diag, off, go_on

    init = (basis, jnp.zeros(n, g.dtype), jnp.zeros(n, g.dtype), gnorm > 0)
    basis, diag, off, _ = jax.lax.fori_loop(0, n, body, init)
    return basis, diag, off[:-1]


def lanczos_subproblem(grad_fn: Callable, x: Array, g: Array, radius: Array) -> tuple[Array, Array]:
    """The trust-region step from the Lanczos tridiagonalisation (GLTR); see the module docstring."""
    basis, diag, off = lanczos_tridiagonal(hvp(grad_fn, x), g)
    valid = jnp.isfinite(diag)
    # Rows past a breakdown decouple; a large curvature keeps them out of the step and the hard case.
    big = 1.0 + 2.0 * jnp.max(jnp.where(valid, jnp.abs(diag), 0.0), initial=0.0) + 2.0 * jnp.max(
        jnp.abs(off), initial=0.0)
    t = jnp.diag(jnp.where(valid, diag, big)) + jnp.diag(off, 1) + jnp.diag(off, -1)
    gt = jnp.zeros_like(g).at[0].set(jnp.linalg.norm(g))
    h, hits_boundary = exact_subproblem(lambda z: gt + t @ z, jnp.zeros_like(g), gt, radius)
    return basis.T @ h, hits_boundary
