"""The Jacobian approximations of SciPy's ``nonlin`` family, for :class:`.nonlin.NonlinSolve`.

Each is a final ``eqx.Module`` holding its settings, with a pytree state:

- ``init(x, f) -> state``: the approximation at the first point;
- ``solve(state, f, tol, x, fn, args) -> J^-1 f`` (to relative accuracy ``tol`` where inexact);
- ``update(state, x, f, dx, df) -> state`` after the step ``dx`` changed ``F`` by ``df``.

Where ``alpha`` is ``None`` it is chosen as SciPy does: ``0.5 max(|x0|, 1) / |F(x0)|`` (2-norms),
or 1 when ``F(x0) = 0``.

- :class:`BroydenFirst`, :class:`BroydenSecond`: Broyden's "good" and "bad" updates of the
  inverse Jacobian ``H`` (van der Rotten 2003; ``H_+ = H + (dx - H df) v^T / (v^T df)`` with
  ``v = H^T dx`` or ``v = df``), from ``H_0 = -alpha I``, stored dense (``n x n``). SciPy stores a
  low-rank sum and can cap its rank (``max_rank``); with a dense ``H`` there is nothing to cap.
- :class:`Anderson`: Anderson mixing with the last ``M`` steps and Tikhonov weight ``w0``
  (Eyert, J. Comp. Phys. 124, 271 (1996)), a fixed-size ring buffer.
- :class:`LinearMixing` (``J = -I / alpha``), :class:`DiagBroyden` (the diagonal of Broyden's
  update), :class:`ExcitingMixing` (per-component mixing parameters grown by ``alpha`` while a
  residual keeps its sign, reset otherwise, clipped to ``[0, alphamax]``).
- :class:`KrylovJacobian`: Newton-Krylov: ``J v`` is the exact forward-mode product at ``x`` (SciPy
  uses a finite difference with step ``rdiff``), solved by our restarted GMRES or BiCGStab.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ...linalg import LinearOperator, bicgstab, gmres

__all__ = ["BroydenFirst", "BroydenSecond", "Anderson", "LinearMixing", "DiagBroyden",
           "ExcitingMixing", "KrylovJacobian"]


def _alpha(alpha, x, f):
    if alpha is not None:
        return jnp.asarray(alpha, x.dtype)
    nf = jnp.linalg.norm(f)
    return jnp.where(nf > 0, 0.5 * jnp.maximum(jnp.linalg.norm(x), 1) / jnp.where(nf > 0, nf, 1), 1.0
                     ).astype(x.dtype)


def _safe_div(a, b):
    ok = b != 0
    return jnp.where(ok, a / jnp.where(ok, b, 1), 0)


class _Dense(eqx.Module):
    h: jax.Array
    alpha: jax.Array


class BroydenFirst(eqx.Module):
    alpha: float | None = None

    def init(self, x, f):
        a = _alpha(self.alpha, x, f)
        return _Dense(-a * jnp.eye(x.shape[0], dtype=x.dtype), a)

    def solve(self, s, f, tol, x, fn, args):
        r = s.h @ f
        # SciPy resets a singular approximation to -alpha I.
        return jnp.where(jnp.all(jnp.isfinite(r)), r, -s.alpha * f)

    def _v(self, s, dx, df):
        return s.h.T @ dx

    def update(self, s, x, f, dx, df):
        v = self._v(s, dx, df)
        h = s.h + jnp.outer(dx - s.h @ df, _safe_div(v, jnp.dot(df, v)))
        return _Dense(jnp.where(jnp.all(jnp.isfinite(h)), h, s.h), s.alpha)


class BroydenSecond(BroydenFirst):
    alpha: float | None = None

    def _v(self, s, dx, df):
        return df


class _History(eqx.Module):
    dx: jax.Array
    df: jax.Array
    count: jax.Array
    alpha: jax.Array


class Anderson(eqx.Module):
    alpha: float | None = None
    w0: float = 0.01
    M: int = eqx.field(default=5, static=True)

    def init(self, x, f):
        m = max(self.M, 1)
        z = jnp.zeros((m, x.shape[0]), x.dtype)
        return _History(z, z, jnp.array(0), _alpha(self.alpha, x, f))

    def solve(self, s, f, tol, x, fn, args):
        dx = -s.alpha * f
        used = jnp.arange(s.dx.shape[0]) < jnp.minimum(s.count, self.M)
        a = (s.df @ s.df.T) * (1 + self.w0**2 * jnp.eye(s.dx.shape[0], dtype=f.dtype))
        mask = used[:, None] & used[None, :]
        a = jnp.where(mask, a, jnp.eye(s.dx.shape[0], dtype=f.dtype))
        gamma = jnp.linalg.solve(a, jnp.where(used, s.df @ f, 0))
        out = dx + gamma @ (s.dx + s.alpha * s.df)
        return jnp.where(jnp.all(jnp.isfinite(out)), out, dx)

    def update(self, s, x, f, dx, df):
        if self.M == 0:
            return s
        # The order of the stored pairs does not change the step, so a ring buffer will do.
        slot = s.count % self.M
        return _History(s.dx.at[slot].set(dx), s.df.at[slot].set(df), s.count + 1, s.alpha)


class _Diag(eqx.Module):
    d: jax.Array
    alpha: jax.Array
    last_f: jax.Array


class LinearMixing(eqx.Module):
    alpha: float | None = None

    def init(self, x, f):
        a = _alpha(self.alpha, x, f)
        return _Diag(jnp.full_like(x, a), a, f)

    def solve(self, s, f, tol, x, fn, args):
        return -f * s.d

    def update(self, s, x, f, dx, df):
        return s


class DiagBroyden(eqx.Module):
    alpha: float | None = None

    def init(self, x, f):
        a = _alpha(self.alpha, x, f)
        return _Diag(jnp.full_like(x, 1 / a), a, f)  # d: the diagonal of -J

    def solve(self, s, f, tol, x, fn, args):
        return -f / s.d

    def update(self, s, x, f, dx, df):
        d = s.d - (df + s.d * dx) * _safe_div(dx, jnp.dot(dx, dx))
        return _Diag(d, s.alpha, f)


class ExcitingMixing(eqx.Module):
    alpha: float | None = None
    alphamax: float = 1.0

    def init(self, x, f):
        a = _alpha(self.alpha, x, f)
        return _Diag(jnp.full_like(x, a), a, f)  # d: beta

    def solve(self, s, f, tol, x, fn, args):
        return -f * s.d

    def update(self, s, x, f, dx, df):
        beta = jnp.where(f * s.last_f > 0, s.d + s.alpha, s.alpha)
        return _Diag(jnp.clip(beta, 0, self.alphamax), s.alpha, f)


class KrylovJacobian(eqx.Module):
    method: str = eqx.field(default="lgmres", static=True)
    inner_maxiter: int = eqx.field(default=20, static=True)
    inner_restart: int = eqx.field(default=30, static=True)

    def init(self, x, f):
        return jnp.zeros((), x.dtype)

    def solve(self, s, f, tol, x, fn, args):
        _, jvp = jax.linearize(lambda z: fn(z, args)[0], x)
        n = x.shape[0]
        op = LinearOperator((n, n), matvec=jvp, dtype=x.dtype)
        if self.method == "bicgstab":
            v, _ = bicgstab(op, f, rtol=tol, maxiter=self.inner_maxiter * n)
        else:
            v, _ = gmres(op, f, rtol=tol, restart=min(self.inner_restart, n), maxiter=self.inner_maxiter)
        return v

    def update(self, s, x, f, dx, df):
        return s

