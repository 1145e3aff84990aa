"""Restarted Lanczos/Arnoldi engine for a few eigenpairs of an operator (``eigsh``, ``eigs``, ``svds``).

One ``lax.while_loop`` over restart cycles; each cycle extends a Krylov decomposition

    A V_j = V_j H_j + beta v_{j+1} e_j^T,    V_j^H V_j = I,

from its kept width ``p`` to the full width ``m`` (``ncv``) with Gram-Schmidt applied twice against
every kept column (full reorthogonalisation), then restarts it on the wanted Ritz vectors:

- Hermitian operators (thick-restart Lanczos, Wu & Simon 2000): the ``p`` wanted Ritz vectors of
  ``H_m`` become the new basis, ``H`` becomes ``diag(theta)`` with the arrow row
  ``beta * S[m-1, :p]``. Full reorthogonalisation recovers the arrow column by itself.
- General operators (Stewart's Krylov-Schur restart, 2001): the complex Schur form
  ``H_m = Z T Z^H`` is reordered by unitary 2 x 2 swaps (JAX has no ordered Schur) so that the
  ``p`` wanted Ritz values lead; ``A (V Z_p) = (V Z_p) T_pp + beta v_{m+1} (e_m^T Z_p)`` is again
  a Krylov decomposition.

Buffers have fixed sizes (``n x (m+1)`` and ``(m+1) x m``), so the loop traces once and runs under
``jit``/``vmap``. A Ritz pair ``(theta, V y)`` has residual ``|beta * y[m-1]|`` (ARPACK's estimate);
it has converged when that is ``<= tol * max(eps**(2/3), |theta|)`` (ARPACK's test).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..._typing import Array

__all__ = ["RitzResult", "restarted_krylov", "priority"]


class RitzResult(NamedTuple):
    theta: Array  # (k,) the wanted Ritz values, in priority order
    vectors: Array  # (n, k) the Ritz vectors
    converged: Array  # (k,) bool
    iterations: Array  # restart cycles run


def priority(theta: Array, which: str, real_problem: bool = True) -> Array:
    """Indices of ``theta`` from most to least wanted (ARPACK's ``which``)."""
    if which == "BE":  # alternately from the top and from the bottom, the top first
        order = jnp.argsort(theta.real)
        both = jnp.stack([order[::-1], order], axis=1).reshape(-1)  # top0, bottom0, top1, ...
        key = jnp.arange(2 * theta.shape[0])
        # the first occurrence of each index (stable order of the interleaved list) is its rank
        first = jnp.full(theta.shape[0], 2 * theta.shape[0]).at[both].min(key)
        return jnp.argsort(first)
    imag = jnp.abs(theta.imag) if real_problem else theta.imag
    keys = {"LM": -jnp.abs(theta), "SM": jnp.abs(theta), "LA": -theta.real, "SA": theta.real,
            "LR": -theta.real, "SR": theta.real, "LI": -imag, "SI": imag}
    return jnp.argsort(keys[which], stable=True)


def _hash_vector(n: int, j: Array) -> Array:
    """A cheap deterministic pseudo-random vector in [-0.5, 0.5) (step ``j``'s restart direction)."""
    x = jnp.sin((jnp.arange(n) + 1.0) * (12.9898 + 78.233 * (j + 1.0))) * 43758.5453
    return x - jnp.floor(x) - 0.5


def _expand(matvec: Callable, V: Array, H: Array, start: Array, m: int) -> tuple[Array, Array]:
    """Arnoldi steps ``start .. m-1`` with classical Gram-Schmidt applied twice (CGS2).

    The new vector and a pseudo-random fallback (used when the Krylov space is invariant) are
    orthogonalised together, as one ``n x 2`` block."""
    n = V.shape[0]
    eps = jnp.finfo(V.dtype).eps
    rows = jnp.arange(m + 1)

    def body(j, carry):
        V, H = carry
        w = matvec(V[:, j])
        scale = jnp.linalg.norm(w)
        mask = (rows <= j)[:, None]
        W = jnp.stack([w, _hash_vector(n, j).astype(V.dtype)], axis=1)
        C = jnp.zeros((m + 1, 2), V.dtype)
        for _ in range(2):
            c = jnp.where(mask, V.conj().T @ W, 0)
            W = W - V @ c
            C = C + c
        w, r, h = W[:, 0], W[:, 1], C[:, 0]
        beta = jnp.linalg.norm(w)
        broke = beta <= 100 * eps * jnp.maximum(scale, jnp.finfo(V.dtype).tiny)
        rn = jnp.linalg.norm(r)
        r = jnp.where(rn > 0, r / jnp.where(rn > 0, rn, 1), 0)
        vnext = jnp.where(broke, r, w / jnp.where(broke, 1, beta))
        beta = jnp.where(broke, 0, beta)
        col = jnp.where(mask[:, 0], h, 0).at[j + 1].set(beta)
        return V.at[:, j + 1].set(vnext), H.at[:, j].set(col)

    return jax.lax.fori_loop(start, m, body, (V, H))


def _reorder_schur(T: Array, Z: Array, rank: Array) -> tuple[Array, Array]:
    """Bubble-sort the diagonal of the complex Schur form ``H = Z T Z^H`` by ``rank`` with unitary
    2 x 2 swaps (the eigenvector ``[T_{i,i+1}, T_{i+1,i+1} - T_{ii}]`` of the leading block)."""
    m = T.shape[0]
    if m < 2:
        return T, Z

    def step(t, carry):
        T, Z, rank = carry
        i = t % (m - 1)
        a, b, c = T[i, i], T[i + 1, i + 1], T[i, i + 1]
        swap = rank[i] > rank[i + 1]
        nx = jnp.sqrt(jnp.abs(c) ** 2 + jnp.abs(b - a) ** 2)
        ok = swap & (nx > 0)
        x1 = jnp.where(ok, c / jnp.where(ok, nx, 1), 1)
        x2 = jnp.where(ok, (b - a) / jnp.where(ok, nx, 1), 0)
        G = jnp.array([[x1, -jnp.conj(x2)], [x2, jnp.conj(x1)]], T.dtype)
        rows = jax.lax.dynamic_slice(T, (i, 0), (2, m))
        T = jax.lax.dynamic_update_slice(T, G.conj().T @ rows, (i, 0))
        T = jax.lax.dynamic_update_slice(T, jax.lax.dynamic_slice(T, (0, i), (m, 2)) @ G, (0, i))
        Z = jax.lax.dynamic_update_slice(Z, jax.lax.dynamic_slice(Z, (0, i), (m, 2)) @ G, (0, i))
        T = T.at[i + 1, i].set(jnp.where(ok, 0, T[i + 1, i]))
        ri, rj = rank[i], rank[i + 1]
        rank = rank.at[i].set(jnp.where(swap, rj, ri)).at[i + 1].set(jnp.where(swap, ri, rj))
        return T, Z, rank

    T, Z, _ = jax.lax.fori_loop(0, m * (m - 1), step, (T, Z, rank))
    return T, Z


def restarted_krylov(matvec: Callable, v0: Array, k: int, m: int, which: str, tol: Array, maxiter: Array,
                     hermitian: bool, real_problem: bool = True) -> RitzResult:
    """The ``k`` wanted eigenpairs of ``matvec`` from a Krylov space of width ``m`` (``k < m <= n``)."""
    n = v0.shape[0]
    dtype = v0.dtype
    eps = jnp.finfo(dtype).eps
    tol = jnp.where(tol > 0, tol, eps)
    p = max(k, (m + k) // 2) if m > k else k  # kept width after a restart (static)
    p = min(p, m - 1)
    vdtype = dtype if hermitian else jnp.result_type(dtype, jnp.complex64)

    def ritz(V, H):
        beta = H[m, m - 1]
        if hermitian:
            T = H[:m, :m]
            theta, S = jnp.linalg.eigh((T + T.conj().T) / 2)
        else:
            theta, S = jnp.linalg.eig(H[:m, :m])
        order = priority(theta, which, real_problem)
        resid = jnp.abs(beta * S[m - 1, :])
        ok = resid <= tol * jnp.maximum(eps ** (2 / 3), jnp.abs(theta))
        return theta, S, order, ok, beta

    def restart(V, H, theta, S, order, beta):
        sel = order[:p]
        if hermitian:
            Q = S[:, sel]
            Hp = jnp.diag(theta[sel]).astype(dtype)
        else:  # Krylov-Schur: reorder the Schur form, wanted values first
            T, Z = jax.scipy.linalg.schur(H[:m, :m], output="complex")
            rank = jnp.argsort(priority(jnp.diag(T), which, real_problem))
            T, Z = _reorder_schur(T, Z, rank)
            Q, Hp = Z[:, :p], T[:p, :p]
        Vn = jnp.zeros_like(V).at[:, :p].set(V[:, :m] @ Q.astype(V.dtype)).at[:, p].set(V[:, m])
        Hn = jnp.zeros_like(H).at[:p, :p].set(Hp.astype(H.dtype)).at[p, :p].set((beta * Q[m - 1, :]).astype(H.dtype))
        return Vn, Hn

    def cond(state):
        return ~state[-1] & (state[3] < maxiter)

    def body(state):
        V, H, start, it, _, _, _, _ = state
        V, H = _expand(matvec, V, H, start, m)
        theta, S, order, ok, beta = ritz(V, H)
        want = order[:k]
        done = jnp.all(ok[want]) | ~jnp.all(jnp.isfinite(theta))
        if not hermitian:
            X = V[:, :m] @ S[:, want].astype(V.dtype)
        V, H = restart(V, H, theta, S, order, beta)
        if hermitian:  # the restarted basis starts with the wanted Ritz vectors
            X = V[:, :k]
        return V, H, jnp.asarray(p), it + 1, theta[want].astype(vdtype), X.astype(vdtype), ok[want], done

    v0 = v0 / jnp.linalg.norm(v0)
    V = jnp.zeros((n, m + 1), vdtype).at[:, 0].set(v0.astype(vdtype))
    H = jnp.zeros((m + 1, m), vdtype)
    init = (V, H, jnp.asarray(0), jnp.asarray(0), jnp.zeros(k, vdtype), jnp.zeros((n, k), vdtype),
            jnp.zeros(k, bool), jnp.asarray(False))
    out = jax.lax.while_loop(cond, body, init)
    return RitzResult(out[4], out[5], out[6], out[3])
