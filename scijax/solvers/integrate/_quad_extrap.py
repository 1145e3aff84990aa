"""Wynn's epsilon algorithm as QUADPACK uses it (routine QELG), traceable, on a fixed-size table.

The epsilon algorithm (Wynn 1956) accelerates a sequence ``S_1, S_2, ...`` that converges like a
sum of geometric terms. Its table is built from ``eps_{-1} = 0``, ``eps_0 = S`` and
``eps_{k+1}^{(j)} = eps_{k-1}^{(j+1)} + 1 / (eps_k^{(j+1)} - eps_k^{(j)})``; the even columns are the
accelerated estimates. QUADPACK (Piessens, de Doncker-Kapenga, Ueberhuber and Kahaner, 1983; the
QELG description) keeps only the last diagonal of the table: each new ``S_n`` is pushed on and the
diagonal is updated in place, from the newest element down, with three safeguards:

- if the three entries around a step agree to machine precision, the sequence has converged and the
  entry is the result;
- if two neighbours agree (a zero difference) or the new entry is ill-defined (``|ss e_1| <= 1e-4``),
  the table is cut back to the part built so far (``n = 2 i - 1``);
- the table holds at most ``limexp = 50`` elements; older ones are dropped.

Of the new diagonal's entries, the one whose last step changed least is the result; its error is the
spread of the last three results (``res3la``), never less than ``5 eps |result|``.

:func:`qelg` is one such update, as a pure function of a :class:`EpsilonTable` (a fixed-length
array of ``LIMEXP + 2`` entries with a count), so it runs inside ``lax.while_loop``/``scan`` under
jit and vmap. It is shared by plain ``quad`` (QAGS/QAGI, over the bisection levels) and
``quad(weight='cos'/'sin')`` on an infinite range (QAWF, over the cycles).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..._typing import Array

__all__ = ["LIMEXP", "EpsilonTable", "epsilon_table", "push", "qelg"]

LIMEXP = 50  # QUADPACK's limexp: at most 50 elements in the table (52 slots)


class EpsilonTable(NamedTuple):
    """The last diagonal of the epsilon table and QELG's bookkeeping."""

    table: Array  # (LIMEXP + 2,) entries; table[:n] are in use
    n: Array  # number of entries (QUADPACK's numrl2 / n)
    last3: Array  # (3,) the last three results (res3la)
    nres: Array  # number of calls so far


def epsilon_table(dtype) -> EpsilonTable:
    """An empty table."""
    return EpsilonTable(jnp.zeros(LIMEXP + 2, dtype), jnp.zeros((), jnp.int32), jnp.zeros(3, dtype),
                        jnp.zeros((), jnp.int32))


def push(state: EpsilonTable, value: Array) -> EpsilonTable:
    """Append ``value`` without extrapolating."""
    n = state.n + 1
    return state._replace(table=state.table.at[n - 1].set(value), n=n)


def qelg(state: EpsilonTable, value: Array) -> tuple[EpsilonTable, Array, Array]:
    """Append ``value`` to the sequence and extrapolate: ``(new state, result, abserr)``.

    ``abserr`` is huge (the largest float) until there are three results to compare, as in
    QUADPACK. Indices below are 0-based: ``table[n - 1]`` is the newest element.
    """
    state = push(state, value)
    tab, n = state.table, state.n
    dtype = tab.dtype
    eps, big = jnp.finfo(dtype).eps, jnp.finfo(dtype).max
    nres = state.nres + 1
    newest = tab[n - 1]
    short = n < 3
    newelm = (n - 1) // 2
    tab = tab.at[n + 1].set(newest).at[n - 1].set(big)

    def step(i, carry):  # i = 1 .. newelm; k1 = n - 2 (i - 1) (1-based) is the entry being replaced
        tab, k1, result, abserr, cut, active, converged = carry
        run = active & (i <= newelm)
        w = jax.lax.dynamic_slice(tab, (k1 - 3,), (5,))  # table(k1 - 2) .. table(k1 + 2), 1-based
        e0, e1, e3, res = w[0], w[1], w[2], w[4]
        e2 = res
        delta2, delta3 = e2 - e1, e1 - e0
        err2, err3 = jnp.abs(delta2), jnp.abs(delta3)
        tol2 = jnp.maximum(jnp.abs(e2), jnp.abs(e1)) * eps
        tol3 = jnp.maximum(jnp.abs(e1), jnp.abs(e0)) * eps
        same = (err2 <= tol2) & (err3 <= tol3)  # e0, e1, e2 agree: converged
        delta1 = e1 - e3
        err1, tol1 = jnp.abs(delta1), jnp.maximum(jnp.abs(e1), jnp.abs(e3)) * eps
        flat = (err1 <= tol1) | (err2 <= tol2) | (err3 <= tol3)
        safe = lambda d: jnp.where(d == 0, 1, d)  # noqa: E731 - masked out by `flat`
        ss = 1 / safe(delta1) + 1 / safe(delta2) - 1 / safe(delta3)
        irregular = flat | (jnp.abs(ss * e1) <= 1e-4)
        new = e1 + 1 / jnp.where(ss == 0, 1, ss)
        error = err2 + jnp.abs(new - e2) + err3
        stop_conv, stop_cut = run & same, run & ~same & irregular
        extend = run & ~same & ~irregular
        tab = jax.lax.dynamic_update_slice(tab, jnp.where(run & ~same, jnp.where(extend, new, e1), e3)[None],
                                           (k1 - 1,))
        better = extend & (error <= abserr)
        result = jnp.where(stop_conv, res, jnp.where(better, new, result))
        abserr = jnp.where(stop_conv, err2 + err3, jnp.where(better, error, abserr))
        cut = jnp.where(stop_cut, 2 * i - 1, cut)
        k1 = jnp.where(extend, k1 - 2, k1)
        return tab, k1, result, abserr, cut, active & ~stop_conv & ~stop_cut, converged | stop_conv

    init = (tab, n, newest, jnp.asarray(big, dtype), n, ~short, jnp.zeros((), bool))
    tab, _, result, abserr, n_new, _, converged = jax.lax.fori_loop(1, LIMEXP // 2 + 1, step, init)
    # Shift the table: the kept diagonal moves down so that the next element lands at index n_new.
    n_new = jnp.where(n_new == LIMEXP, 2 * (LIMEXP // 2) - 1, n_new)
    idx = jnp.arange(LIMEXP + 2)
    start = jnp.where(n % 2 == 1, 0, 1)
    moved = (idx >= start) & (idx <= start + 2 * newelm) & ((idx - start) % 2 == 0)
    shifted = jnp.where(moved, jnp.roll(tab, -2), tab)
    d = n - n_new
    shifted = jnp.where((d > 0) & (idx < n_new), jnp.take(shifted, jnp.clip(idx + d, 0, LIMEXP + 1)), shifted)
    spread = jnp.sum(jnp.abs(result - state.last3))
    early = nres < 4
    last3 = jnp.where(early, state.last3.at[jnp.clip(nres - 1, 0, 2)].set(result),
                      jnp.concatenate([state.last3[1:], result[None]]))
    plain = ~short & ~converged
    out = EpsilonTable(jnp.where(plain, shifted, jnp.where(short, state.table, tab)),
                       jnp.where(plain, n_new, n), jnp.where(plain, last3, state.last3), nres)
    abserr = jnp.where(short | (plain & early), big, jnp.where(plain, spread, abserr))
    result = jnp.where(short, newest, result)
    return out, result, jnp.maximum(abserr, 5 * eps * jnp.abs(result))
