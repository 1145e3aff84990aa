"""SciPy's 'trust-exact' subproblem: Moré and Sorensen's iteration on Cholesky factorisations.

J. J. Moré and D. C. Sorensen, "Computing a trust region step", SIAM J. Sci. Stat. Comput. 4(3),
553-572 (1983); Nocedal & Wright, *Numerical Optimization* (2nd ed.), Algorithm 4.3. The step of
``min g.p + p.Hp/2, |p| <= radius`` is ``p(lam) = -(H + lam I)^-1 g`` with the ``lam >= 0`` that
makes ``H + lam I`` positive semidefinite and ``|p(lam)| = radius`` (or ``lam = 0`` inside):

- each iterate factors ``H + lam I = L L^T``; a failed factorisation raises the lower bound;
- Newton's method on ``1/|p(lam)| - 1/radius``: ``lam += (|p|/|w|)^2 (|p| - radius)/radius``
  with ``w = L^-1 p``, kept inside a bracket ``[lo, hi]`` started from Gershgorin bounds
  (``max(sqrt(lo hi), lo + (hi - lo)/100)`` whenever it would leave it);
- stop when ``||p| - radius| <= k_easy radius`` (``k_easy = 0.1``), or, in the "hard case"
  (``g`` nearly orthogonal to the lowest eigenvector ``z``, so ``|p| < radius`` for every
  admissible ``lam``), move along ``z`` to the boundary once
  ``tau^2 z.(H + lam I)z <= k_hard (p.(H + lam I)p + lam radius^2)`` (``k_hard = 0.2``).

Cholesky factorisations are accurate for a badly scaled Hessian where an eigendecomposition is
not (the eigenvalues of ``diag(1e10, 1e-6)``-like Hessians lose all the digits of the small one),
which is why this, and not :func:`.trust_newton.exact_subproblem`, is SciPy's 'trust-exact'.
``z`` comes from an eigendecomposition (Moré and Sorensen estimate it with LINPACK's condition
estimator); if the iteration has not stopped after ``maxiter`` factorisations, the last step
from a successful factorisation is cut back to the radius (the Cauchy step if there was none).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .trust_region import sphere_intersections

__all__ = ["more_sorensen_subproblem"]


def _safeguard(lo, hi):
    return jnp.maximum(jnp.sqrt(lo * hi), lo + 0.01 * (hi - lo))


def more_sorensen_subproblem(grad_fn: Callable, x: Array, g: Array, radius: Array, *, k_easy: float = 0.1,
                             k_hard: float = 0.2, maxiter: int = 50) -> tuple[Array, Array]:
    """The trust-region step by Moré and Sorensen's iteration (SciPy's 'trust-exact'); see the
    module docstring. Returns ``(step, hits_boundary)``."""
    h = jax.jacfwd(grad_fn)(x)
    h = (h + h.T) / 2
    eye = jnp.eye(x.shape[0], dtype=x.dtype)
    gnorm = jnp.linalg.norm(g)
    diag = jnp.diag(h)
    off = jnp.sum(jnp.abs(h), axis=1) - jnp.abs(diag)
    hnorm = jnp.max(jnp.sum(jnp.abs(h), axis=1))
    # lam* lies in [max(0, -lambda_min, |g|/radius - lambda_max), |g|/radius - lambda_min] (and >= 0);
    # bound the eigenvalues by Gershgorin's discs and the norm.
    lo = jnp.maximum(jnp.maximum(0.0, -jnp.min(diag)), gnorm / radius - jnp.minimum(jnp.max(diag + off), hnorm))
    hi = jnp.maximum(0.0, gnorm / radius + jnp.minimum(-jnp.min(diag - off), hnorm))

    def factor(lam):
        chol = jnp.linalg.cholesky(h + lam * eye)
        ok = jnp.all(jnp.isfinite(chol))
        chol = jnp.where(ok, chol, eye)
        return chol, ok, -jax.scipy.linalg.cho_solve((chol, True), g)

    _, ok0, newton = factor(jnp.zeros((), x.dtype))
    interior = ok0 & (jnp.linalg.norm(newton) <= radius)
    _, vecs = jnp.linalg.eigh(h)
    z = vecs[:, 0]

    def model(p):
        return jnp.dot(g, p) + 0.5 * jnp.dot(p, h @ p)

    def body(carry):
        lam, lo, hi, p_out, p_last, done, it = carry
        chol, ok, p = factor(lam)
        pn = jnp.linalg.norm(p)
        easy = ok & (jnp.abs(pn - radius) <= k_easy * radius)
        w = jax.scipy.linalg.solve_triangular(chol, p, lower=True)
        wn2 = jnp.dot(w, w)
        lam_newton = lam + (pn * pn / jnp.where(wn2 > 0, wn2, 1.0)) * (pn - radius) / radius
        short = ok & (pn < radius)
        # Hard case: move along z to the boundary, to the end with the lower model value.
        ztbz = jnp.dot(z, h @ z) + lam
        t_lo, t_hi = sphere_intersections(p, z, radius)
        tau = jnp.where(model(p + t_lo * z) <= model(p + t_hi * z), t_lo, t_hi)
        hard = short & jnp.invert(easy) & (
            tau * tau * ztbz <= k_hard * (jnp.dot(p, h @ p) + lam * pn * pn + lam * radius * radius))
        lo_new = jnp.where(ok, jnp.where(short, jnp.maximum(lo, lam - ztbz), jnp.maximum(lo, lam)),
                           jnp.maximum(lo, lam))
        hi_new = jnp.where(short, jnp.minimum(hi, lam), hi)
        inside = ok & (lam_newton > lo_new) & (lam_newton < hi_new)
        lam_next = jnp.where(inside, lam_newton, _safeguard(lo_new, hi_new))
        stop = easy | hard
        p_new = jnp.where(easy, p, p + tau * z)
        return (jnp.where(stop, lam, lam_next), lo_new, hi_new, jnp.where(stop, p_new, p_out),
                jnp.where(ok, p, p_last), stop, it + 1)

    def cond(carry):
        *_, done, it = carry
        return jnp.invert(done) & (it < maxiter)

    lam0 = jnp.where(ok0, lo, _safeguard(lo, hi))
    init = (lam0, lo, hi, jnp.zeros_like(g), jnp.zeros_like(g), interior, jnp.array(0))
    _, _, _, p, p_last, done, _ = jax.lax.while_loop(cond, body, init)
    last_norm = jnp.linalg.norm(p_last)
    cut = p_last * jnp.minimum(1.0, radius / jnp.where(last_norm > 0, last_norm, 1.0))
    cauchy = -g * radius / jnp.where(gnorm > 0, gnorm, 1.0)
    fallback = jnp.where(last_norm > 0, cut, cauchy)
    p = jnp.where(interior, newton, jnp.where(done, p, fallback))
    return p, jnp.invert(interior)
