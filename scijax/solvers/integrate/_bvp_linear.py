"""The linear algebra of ``solve_bvp``: a stable structured solve of the collocation Newton system.

The Newton system of a two-point collocation method on ``N`` intervals is *almost block diagonal*::

    A_i dz_i + B_i dz_{i+1} + C_i dp = g_i          i = 0 .. N-1     (n rows each)
    Ba dz_0 + Bb dz_N + Bp dp = g_bc                                 (n + k rows)

It is solved by the structured orthogonal reduction of S. J. Wright ("Stable parallel algorithms for
two-point boundary value problems", SIAM J. Sci. Stat. Comput. 13, 1992): neighbouring intervals are
paired, the shared node is eliminated with a QR factorisation of the stacked ``[B_i; A_{i+1}]``
(``2n x n``), which leaves one interval between every other node. ``log2 N`` such levels (each a batch
of small QRs, ``vmap``-ed) leave one interval ``A z_0 + B z_N + C p = g``, which together with the
boundary rows is a dense ``(2n + k)`` square system. Back substitution goes up the levels.

Unlike condensation by marching (single shooting) the reduction is stable for dichotomic problems
(growing and decaying modes); unlike a dense LU of the whole ``(N n + k)`` square matrix it costs
``O(N n^3)``. ``N`` must be a power of two: the solver's node buffer is padded with intervals of zero
length, whose rows ``dz_{i+1} - dz_i = g_i`` are harmless. For ``n <= 8`` the QRs (Householder) and
the triangular solves are unrolled vector code over the whole batch: one LAPACK call per ``2n x n``
block was 3-10 times slower on CPU.

:func:`factor` depends on the matrices only; :func:`solve` applies a factorisation to a right-hand
side. ``solve`` is linear in ``(g, g_bc)`` and made of matrix products and triangular solves, so JAX
transposes it (reverse-mode derivatives of the implicit-function step).
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import lu_factor, lu_solve, solve_triangular

from ..._typing import Array

__all__ = ["Factorization", "factor", "solve"]


class _Level(NamedTuple):
    qt: Array  # (N/2, 2n, 2n): Q^T of each pair
    r: Array  # (N/2, n, n): upper-triangular factor of [B_i; A_{i+1}]
    e0: Array  # (N/2, n, n): top rows' coefficients of the left node
    e2: Array  # (N/2, n, n): ... of the right node
    ep: Array  # (N/2, n, k): ... of the parameters


class Factorization(NamedTuple):
    levels: _Level  # stacked over the log2(N) levels
    lu: tuple[Array, Array]  # LU of the final (2n + k) square system


_SMALL = 8  # up to this many components, QR and back substitution are unrolled vector code


def _householder(m: Array) -> tuple[Array, Array]:
    """``Q^T`` (2n, 2n) and ``R`` (2n, n) of a tall matrix by Householder reflections, in plain vector
    operations: for the small blocks here this beats one LAPACK call per block under ``vmap``."""
    rows, n = m.shape
    qt = jnp.eye(rows, dtype=m.dtype)
    idx = jnp.arange(rows)
    for k in range(n):
        col = jnp.where(idx >= k, m[:, k], 0.0)
        norm = jnp.sqrt(jnp.sum(col**2))
        sign = jnp.where(col[k] >= 0, 1.0, -1.0)
        v = col.at[k].add(sign * norm)
        vv = jnp.sum(v**2)
        scale = jnp.where(vv > 0, 2.0 / jnp.where(vv > 0, vv, 1.0), 0.0)
        m = m - scale * jnp.outer(v, v @ m)
        qt = qt - scale * jnp.outer(v, v @ qt)
    return qt, m


def _back_substitute(r: Array, b: Array) -> Array:
    n = r.shape[0]
    if n > _SMALL:
        return solve_triangular(r, b, lower=False)
    x = jnp.zeros_like(b)
    for i in reversed(range(n)):
        x = x.at[i].set((b[i] - r[i] @ x) / r[i, i])
    return x


def _pair(a0: Array, b0: Array, c0: Array, a1: Array, b1: Array, c1: Array):
    n = a0.shape[0]
    stacked = jnp.concatenate([b0, a1])
    if n <= _SMALL:
        qt, r = _householder(stacked)
    else:
        q, r = jnp.linalg.qr(stacked, mode="complete")
        qt = q.T
    zero = jnp.zeros_like(a0)
    t0 = qt @ jnp.concatenate([a0, zero])
    t2 = qt @ jnp.concatenate([zero, b1])
    tp = qt @ jnp.concatenate([c0, c1])
    level = _Level(qt, r[:n], t0[:n], t2[:n], tp[:n])
    return level, (t0[n:], t2[n:], tp[n:])


def _pad_identity(a: Array, b: Array, c: Array):
    """Append as many zero-length intervals (``z_{i+1} - z_i``) as there are intervals."""
    half, n = a.shape[0], a.shape[1]
    eye = jnp.broadcast_to(jnp.eye(n, dtype=a.dtype), (half, n, n))
    return (jnp.concatenate([a, -eye]), jnp.concatenate([b, eye]), jnp.concatenate([c, jnp.zeros_like(c)]))


def factor(a: Array, b: Array, c: Array, ba: Array, bb: Array, bp: Array) -> Factorization:
    """Factor the system with interval blocks ``a, b`` (N, n, n), ``c`` (N, n, k) and boundary rows
    ``ba, bb`` (n + k, n), ``bp`` (n + k, k). ``N`` must be a power of two.

    Every level keeps ``N`` intervals (the paired ones, then identity padding that copies the last
    coarse node), so one ``scan`` body serves all ``log2 N`` levels and the program does not grow
    with ``N``.
    """
    n_levels = int(math.log2(a.shape[0]))

    def level(carry, _):
        a, b, c = carry
        lev, (a, b, c) = jax.vmap(_pair)(a[0::2], b[0::2], c[0::2], a[1::2], b[1::2], c[1::2])
        return _pad_identity(a, b, c), lev

    (a, b, c), levels = jax.lax.scan(level, (a, b, c), None, length=n_levels)
    top = jnp.concatenate([a[0], b[0], c[0]], axis=1)
    bottom = jnp.concatenate([ba, bb, bp], axis=1)
    return Factorization(levels, lu_factor(jnp.concatenate([top, bottom])))


def solve(fac: Factorization, g: Array, g_bc: Array) -> tuple[Array, Array]:
    """Solve with right-hand side ``g`` (N, n) and ``g_bc`` (n + k,); returns ``(dz (N+1, n), dp (k,))``."""
    n_int, n = g.shape

    def down(g, qt):
        t = jnp.einsum("lij,lj->li", qt, jnp.concatenate([g[0::2], g[1::2]], axis=1))
        return jnp.concatenate([t[:, n:], jnp.zeros_like(t[:, n:])]), t[:, :n]

    g, tops = jax.lax.scan(down, g, fac.levels.qt)
    sol = lu_solve(fac.lu, jnp.concatenate([g[0], g_bc]))
    p = sol[2 * n:]
    z = jnp.concatenate([sol[None, :n], jnp.broadcast_to(sol[n:2 * n], (n_int, n))])

    def up(z, inputs):
        lev, top = inputs
        half = n_int // 2
        zc = z[:half + 1]
        rhs = (top - jnp.einsum("lij,lj->li", lev.e0, zc[:-1]) - jnp.einsum("lij,lj->li", lev.e2, zc[1:])
               - jnp.einsum("lij,j->li", lev.ep, p))
        mid = jax.vmap(_back_substitute)(lev.r, rhs)
        return jnp.zeros_like(z).at[0::2].set(zc).at[1::2].set(mid), None

    z, _ = jax.lax.scan(up, z, (fac.levels, tops), reverse=True)
    return z, p
