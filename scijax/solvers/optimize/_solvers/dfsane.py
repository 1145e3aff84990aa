"""DF-SANE, the derivative-free spectral residual method (``root(method='df-sane')``), as an
optimistix root finder.

From W. La Cruz, J. M. Martinez, M. Raydan, "Spectral residual method without gradient
information for solving large-scale nonlinear systems of equations", Math. Comp. 75, 1429 (2006),
with the choices SciPy documents: the merit ``f(x) = |F(x)|_2^2``; the step ``d = -sigma F`` with
the spectral (Barzilai-Borwein) coefficient ``sigma = s.s / s.y`` kept in
``[sigma_eps, 1/sigma_eps]`` in absolute value (La Cruz 2014); a nonmonotone search that tries
``x + a d`` and ``x - a d`` until

    ``f(x +- a d) <= fbar + eta_k - gamma a^2 f(x)``  (``gamma = 1e-4``),

shrinking ``a`` by a safeguarded quadratic model into ``[0.1 a, 0.5 a]``. ``fbar`` is the largest
merit of the last ``M`` iterates ('cruz'), or Cheng and Li's average ``C`` with ``nu = 0.85``
('cheng', IMA J. Numer. Anal. 29, 814 (2009)). ``eta_k = f(x0) / (1 + k)^2`` by default. It stops
when ``fnorm(F) < ftol fnorm(F0) + fatol``, or when ``maxfev`` evaluations are spent (status 2).
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array

__all__ = ["DfSane", "df_sane_solver", "DF_SANE_MESSAGES", "DF_SANE_OPTIONS"]

RUNNING, CONVERGED, MAXFEV, NONFINITE = 0, 1, 2, 3
DF_SANE_MESSAGES = ("", "successful convergence", "too many function evaluations required",
                    "NaN result encountered.")
DF_SANE_OPTIONS = frozenset({"ftol", "fatol", "maxfev", "fnorm", "disp", "M", "eta_strategy",
                             "sigma_eps", "sigma_0", "line_search"})
_GAMMA, _TAU_MIN, _TAU_MAX, _NU = 1e-4, 0.1, 0.5, 0.85


class _State(eqx.Module):
    f: Array  # F(x_k)
    merit: Array  # |F(x_k)|^2
    merit0: Array
    fnorm0: Array
    sigma: Array
    history: Array  # the last M merits ('cruz'); -inf where unused
    c: Array  # Cheng-Li's C and Q
    q: Array
    k: Array
    nfev: Array
    status: Array


class DfSane(optx.AbstractRootFinder):
    ftol: float = 1e-8
    fatol: float = 1e-300
    maxfev: int = eqx.field(default=1000, static=True)
    fnorm: Callable | None = eqx.field(default=None, static=True)
    M: int = eqx.field(default=10, static=True)
    eta_strategy: Callable | None = eqx.field(default=None, static=True)
    sigma_eps: float = 1e-10
    sigma_0: float = 1.0
    line_search: str = eqx.field(default="cruz", static=True)
    rtol: float = 0.0
    atol: float = 0.0
    norm: Any = optx.max_norm

    def _norm(self, f, merit):
        return jnp.sqrt(merit) if self.fnorm is None else self.fnorm(f)

    def _status(self, f, merit, fnorm0, nfev):
        status = jnp.where(self._norm(f, merit) < self.ftol * fnorm0 + self.fatol, CONVERGED, RUNNING)
        status = jnp.where(jnp.all(jnp.isfinite(f)), status, NONFINITE)
        return status.astype(jnp.int32)

    def init(self, fn, y, args, options, f_struct, aux_struct, tags):
        f = fn(y, args)[0]
        merit = jnp.dot(f, f)
        fnorm0 = self._norm(f, merit)
        history = jnp.full((self.M,), -jnp.inf, y.dtype).at[0].set(merit)
        return _State(f, merit, merit, fnorm0, jnp.asarray(self.sigma_0, y.dtype), history, merit,
                      jnp.asarray(1.0, y.dtype), jnp.array(0), jnp.array(1),
                      self._status(f, merit, fnorm0, 1))

    def step(self, fn, y, args, options, s, tags):
        big = 1 / self.sigma_eps
        sigma = jnp.where(jnp.abs(s.sigma) > big, big * jnp.sign(s.sigma), s.sigma)
        sigma = jnp.where(jnp.abs(sigma) < self.sigma_eps, self.sigma_eps, sigma)
        d = -sigma * s.f
        eta = (s.merit0 / (1 + s.k) ** 2 if self.eta_strategy is None
               else jnp.asarray(self.eta_strategy(s.k, y, s.f), y.dtype))
        fbar = jnp.max(s.history) if self.line_search == "cruz" else s.c
        one = jnp.ones((), y.dtype)

        def search(carry):  # one trial point per pass: +a_p d, then -a_m d
            a_p, a_m, minus, _, _, _, _, nfev = carry
            a = jnp.where(minus, -a_m, a_p)
            fp = fn(y + a * d, args)[0]
            mp = jnp.dot(fp, fp)
            accept = mp <= fbar + eta - _GAMMA * a**2 * s.merit
            a_abs = jnp.abs(a)
            model = a_abs**2 * s.merit / (mp + (2 * a_abs - 1) * s.merit)
            model = jnp.where(jnp.isfinite(model), model, _TAU_MIN * a_abs)
            shrunk = jnp.clip(model, _TAU_MIN * a_abs, _TAU_MAX * a_abs)
            a_p = jnp.where(minus | accept, a_p, shrunk)
            a_m = jnp.where(minus & ~accept, shrunk, a_m)
            return a_p, a_m, ~minus, accept, a, fp, mp, nfev + 1

        def more(carry):
            return ~carry[3] & (carry[7] < self.maxfev)

        init = (one, one, jnp.array(False), jnp.array(False), one, s.f, s.merit, s.nfev)
        _, _, _, accepted, a, fp, mp, nfev = jax.lax.while_loop(more, search, init)
        y_new = jnp.where(accepted, y + a * d, y)
        sk, yk = a * d, fp - s.f
        sigma_new = jnp.dot(sk, sk) / jnp.dot(sk, yk)
        q = _NU * s.q + 1
        c = (_NU * s.q * (s.c + eta) + mp) / q
        history = jnp.roll(s.history, -1).at[-1].set(mp)
        status = jnp.where(accepted, self._status(fp, mp, s.fnorm0, nfev), MAXFEV)
        status = jnp.where(jnp.isnan(mp) & ~accepted & (nfev >= self.maxfev), NONFINITE, status)
        keep = lambda new, old: jnp.where(accepted, new, old)  # noqa: E731
        new = _State(keep(fp, s.f), keep(mp, s.merit), s.merit0, s.fnorm0, keep(sigma_new, s.sigma),
                     keep(history, s.history), keep(c, s.c), keep(q, s.q), s.k + accepted, nfev,
                     status.astype(jnp.int32))
        return y_new, new, None

    def terminate(self, fn, y, args, options, state, tags):
        return (state.status != RUNNING) | (state.nfev >= self.maxfev), optx.RESULTS.successful

    def postprocess(self, fn, y, aux, args, options, state, tags, result):
        status = jnp.where(state.status == RUNNING, MAXFEV, state.status).astype(jnp.int32)
        return y, aux, {"nit": state.k, "nfev": state.nfev, "status": status}


def df_sane_solver(ftol: float = 1e-8, fatol: float = 1e-300, maxfev: int = 1000,
                   fnorm: Callable | None = None, disp: bool = False, M: int = 10,
                   eta_strategy: Callable | None = None, sigma_eps: float = 1e-10,
                   sigma_0: float = 1.0, line_search: str = "cruz") -> tuple[DfSane, int]:
    """SciPy's ``df-sane`` options -> (engine, most optimistix steps)."""
    if line_search not in ("cruz", "cheng"):
        raise ValueError(f"Invalid value {line_search!r} for 'line_search'")
    if not isinstance(maxfev, int) or maxfev < 1:
        raise ValueError(f"`maxfev` must be a positive integer, got {maxfev!r}.")
    if not isinstance(M, int) or M < 1:
        raise ValueError(f"`M` must be a positive integer, got {M!r}.")
    for name, value in (("ftol", ftol), ("fatol", fatol), ("sigma_eps", sigma_eps)):
        if not float(value) >= 0:
            raise ValueError(f"`{name}` must be non-negative, got {value}.")
    for name, f in (("fnorm", fnorm), ("eta_strategy", eta_strategy)):
        if f is not None and not callable(f):
            raise TypeError(f"`{name}` must be callable.")
    solver = DfSane(ftol=float(ftol), fatol=float(fatol), maxfev=maxfev, fnorm=fnorm, M=M,
                    eta_strategy=eta_strategy, sigma_eps=float(sigma_eps), sigma_0=float(sigma_0),
                    line_search=line_search)
    return solver, maxfev + 2
