"""``newton_cotes``: weights and error coefficient of Newton-Cotes rules (host-side, like SciPy's)."""

import math
from fractions import Fraction

import numpy as np

__all__ = ["newton_cotes"]


def _exact_weights(n: int) -> list[Fraction]:
    """Weights of the closed rule on ``0, 1, ..., n``: ``sum_i a_i t_i^j = n^(j+1) / (j+1)``, exactly."""
    rows = [[Fraction(i) ** j for i in range(n + 1)] + [Fraction(n ** (j + 1), j + 1)] for j in range(n + 1)]
    for c in range(n + 1):  # Gauss-Jordan elimination in rational arithmetic (no round-off)
        piv = next(r for r in range(c, n + 1) if rows[r][c] != 0)
        rows[c], rows[piv] = rows[piv], rows[c]
        lead = rows[c][c]
        rows[c] = [v / lead for v in rows[c]]
        for r in range(n + 1):
            if r != c and rows[r][c] != 0:
                f = rows[r][c]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[c], strict=True)]
    return [rows[i][-1] for i in range(n + 1)]


def newton_cotes(rn: int | np.ndarray, equal: int = 0) -> tuple[np.ndarray, float]:
    """Weights and error coefficient of a Newton-Cotes rule (mirrors :func:`scipy.integrate.newton_cotes`).

    For samples ``f_i`` at ``x_i = x_0 + t_i dx`` (``t_0 = 0``, ``t_N = N``),
    ``int_{x_0}^{x_N} f dx ~ dx * sum_i an_i f_i``, with error ``B dx^(p+2) f^(p+1)(xi)`` where ``p = N``
    for odd ``N`` and ``N + 1`` for even ``N`` on equally spaced samples (``p = N`` otherwise).

    Parameters
    ----------
    rn : int or array_like
        The order ``N`` (equally spaced samples ``0..N``), or the relative sample positions, the
        first at 0 and the last at ``N = len(rn) - 1``.
    equal : int, optional
        Set to 1 to treat ``rn`` as equally spaced.

    Returns
    -------
    an : ndarray
        The weights, shape ``(N + 1,)``.
    B : float
        The error coefficient.

    Differences from SciPy
    ----------------------
    A host-side (NumPy) function, like SciPy's: it builds a rule, it is not a solver to trace.
    Equally spaced weights are computed exactly in rational arithmetic for any ``N`` (SciPy keeps a
    table up to ``N = 14`` and solves in floating point beyond); unequal positions are solved in
    floating point from the moment equations, as in SciPy.

    Examples
    --------
    >>> from scijax.solvers.integrate import newton_cotes
    >>> an, B = newton_cotes(2)  # Simpson's rule: dx/3 * (1, 4, 1), error -dx^5 f''''/90
    >>> [float(a) for a in an], round(B, 6)
    ([0.3333333333333333, 1.3333333333333333, 0.3333333333333333], -0.011111)
    """
    arr = np.asarray(rn)
    if arr.ndim == 0:
        if not float(arr).is_integer() or int(arr) < 1:
            raise ValueError("`rn` must be a positive integer or an array of sample positions.")
        n, t, equal = int(arr), None, 1
    else:
        if arr.ndim != 1 or arr.shape[0] < 2:
            raise ValueError("`rn` must be 1-D with at least two positions.")
        n = arr.shape[0] - 1
        t = arr.astype(float)
        if np.all(np.diff(t) == 1) and t[0] == 0:
            equal = 1
        if not equal and (t[0] != 0 or t[-1] != n or np.any(np.diff(t) <= 0)):
            raise ValueError("`rn` must increase from 0 to len(rn) - 1.")
    if equal:
        weights = _exact_weights(n)
        power = n + 2 if n % 2 == 0 else n + 1
        moment = Fraction(n ** (power + 1), power + 1) - sum(
            (w * Fraction(i) ** power for i, w in enumerate(weights)), Fraction(0))
        return np.array([float(w) for w in weights]), float(moment / math.factorial(power))
    # Unequal positions: the weights integrate 1, t, ..., t^n exactly (scaled to [0, 1] for conditioning).
    s = t / n
    vander = s[None, :] ** np.arange(n + 1)[:, None]
    weights = np.linalg.solve(vander, 1.0 / np.arange(1, n + 2)) * n
    power = n + 1
    moment = n ** (power + 1) / (power + 1) - np.dot(weights, t**power)
    return weights, float(moment / math.factorial(power))
