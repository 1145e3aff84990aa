"""Explicit Runge-Kutta methods as data: one Butcher tableau per method.

The ``lean`` and ``fused`` ensemble backends share one stepping function
(:mod:`._stepper`); a method is nothing but the table below. Coefficients are
copied from SciPy's ``integrate/_ivp/rk.py`` (RK23, RK45) and from diffrax's
``_solver/tsit5.py`` (Tsit5), so the step sequence matches those references.
"""

from typing import NamedTuple

import numpy as np
from numpy.polynomial import polynomial as npoly

__all__ = ["Tableau", "TABLEAUS"]


class Tableau(NamedTuple):
    """An explicit Runge-Kutta pair with a continuous extension.

    Attributes
    ----------
    c : tuple of float, shape (s,)
        Stage times as fractions of the step.
    a : tuple of tuple of float
        Lower-triangular stage coefficients; ``a[i]`` has ``i`` entries.
    b : tuple of float, shape (s,)
        Weights of the propagated solution.
    e : tuple of float, shape (s,) or None
        Error weights: the local error estimate is ``h * sum(e[i] * K[i])``.
        ``None`` for methods without an embedded pair (fixed step only).
    p : tuple of tuple of float, shape (s, degree)
        Dense output, SciPy's ``P``: ``y(t + x h) = y + h sum_i K[i] sum_j p[i][j] x**(j+1)``.
    order : int
        Order of the propagated solution.
    error_order : int
        Order of the error estimator; the step-size exponent is ``-1 / (error_order + 1)``.
    fsal : bool
        First same as last: the final stage is ``fun(t + h, y_new)`` and is reused.
    """

    c: tuple[float, ...]
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    e: tuple[float, ...] | None
    p: tuple[tuple[float, ...], ...]
    order: int
    error_order: int
    fsal: bool


def _rows(m) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in m)


_RK45_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84)
_RK45 = Tableau(
    c=(0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0),
    a=(
        (),
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
        _RK45_B,
    ),
    b=(*_RK45_B, 0.0),
    e=(-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40),
    p=_rows(
        [
            [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
            [0, 0, 0, 0],
            [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
            [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
            [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
            [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
            [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
        ]
    ),
    order=5,
    error_order=4,
    fsal=True,
)

_RK23_B = (2 / 9, 1 / 3, 4 / 9)
_RK23 = Tableau(
    c=(0.0, 1 / 2, 3 / 4, 1.0),
    a=((), (1 / 2,), (0.0, 3 / 4), _RK23_B),
    b=(*_RK23_B, 0.0),
    e=(5 / 72, -1 / 12, -1 / 9, 1 / 8),
    p=_rows([[1, -4 / 3, 5 / 9], [0, 1, -2 / 3], [0, 4 / 3, -8 / 9], [0, -1, 1]]),
    order=3,
    error_order=2,
    fsal=True,
)

_TSIT5_B = (
    0.09646076681806523,
    0.01,
    0.4798896504144996,
    1.379008574103742,
    -3.290069515436081,
    2.324710524099774,
)
_TSIT5_BHAT = (
    0.09468075576583945,
    0.009183565540343254,
    0.4877705284247616,
    1.234297566930479,
    -2.7077123499835256,
    1.866628418170587,
    1 / 66,
)


def _tsit5_dense() -> tuple[tuple[float, ...], ...]:
    """Tsitouras' interpolant (diffrax's factored form) expanded into SciPy's ``P`` layout."""
    x = (0.0, 1.0)  # the polynomial "x"
    sq = npoly.polymul(x, x)
    factored = [
        npoly.polymul(npoly.polymul((0.0, -1.0530884977290216), (-1.3299890189751412, 1.0)),
                      (0.7139816917074209, -1.4364028541716351, 1.0)),
        npoly.polymul((0.0, 0.0, 0.1017), (1.2949852507374631, -2.1966568338249754, 1.0)),
        npoly.polymul((0.0, 0.0, 2.490627285651252793), (1.57803468208092486, -2.38535645472061657, 1.0)),
        npoly.polymul(npoly.polymul((-16.54810288924490272 * -1.21712927295533244, -16.54810288924490272),
                                    (-0.61620406037800089, 1.0)), sq),
        npoly.polymul(npoly.polymul((47.37952196281928122 * -1.203071208372362603, 47.37952196281928122),
                                    (-0.658047292653547382, 1.0)), sq),
        npoly.polymul(npoly.polymul((-34.87065786149660974 * -1.2, -34.87065786149660974),
                                    (-0.666666666666666667, 1.0)), sq),
        npoly.polymul(npoly.polymul((2.5 * -1.0, 2.5), (-0.6, 1.0)), sq),
    ]
    out = np.zeros((7, 4))
    for i, coeffs in enumerate(factored):
        coeffs = np.pad(coeffs, (0, 5 - len(coeffs)))
        out[i] = coeffs[1:5]  # every b_i(0) = 0
    return _rows(out)


_TSIT5 = Tableau(
    c=(0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0),
    a=(
        (),
        (0.161,),
        (-0.008480655492356989, 0.335480655492357),
        (2.897153057105493, -6.359448489975075, 4.3622954328695815),
        (5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525),
        (5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383),
        _TSIT5_B,
    ),
    b=(*_TSIT5_B, 0.0),
    e=tuple(b - bh for b, bh in zip((*_TSIT5_B, 0.0), _TSIT5_BHAT, strict=True)),
    p=_tsit5_dense(),
    order=5,
    error_order=4,
    fsal=True,
)

_RK4 = Tableau(
    c=(0.0, 0.5, 0.5, 1.0),
    a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    e=None,
    # The classical third-order continuous extension of RK4.
    p=_rows([[1, -3 / 2, 2 / 3], [0, 1, -2 / 3], [0, 1, -2 / 3], [0, -1 / 2, 2 / 3]]),
    order=4,
    error_order=3,
    fsal=False,
)

TABLEAUS: dict[str, Tableau] = {"RK45": _RK45, "RK23": _RK23, "Tsit5": _TSIT5, "RK4": _RK4}
"""Method name -> tableau. ``RK4`` has no error estimate and needs a fixed ``dt``."""
