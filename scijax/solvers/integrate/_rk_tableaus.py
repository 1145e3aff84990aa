"""Explicit Runge-Kutta methods as data: one :class:`Tableau` per method, one registry.

Every explicit Runge-Kutta method the package runs outside diffrax is a row of
:data:`TABLEAUS`: the ensemble stepper of :mod:`scijax.parallel` and the
fixed-step scan of :mod:`scijax.ml` both read it, through the one stage function
of :mod:`._rk`. ``solve_ivp`` runs diffrax's own steppers for the same names
(see ``_ivp_methods.METHODS``); the coefficients here are the same schemes.

Sources. RK23 and RK45 are SciPy's pairs (Bogacki-Shampine 1989, Dormand-Prince
1980), with SciPy's error weights and dense-output matrices (``E`` and ``P`` in
``scipy/integrate/_ivp/rk.py``), so a stepper driven by them takes SciPy's steps.
Tsit5 is Tsitouras (2011), digits as in diffrax. ``DOP853`` is diffrax's
``Dopri8`` 8(7) pair with its 7th-order interpolant, read from diffrax at import:
it is what ``solve_ivp(method='DOP853')`` runs, and, like there, it is not
Hairer's DOP853 (whose 5th/3rd-order error blend is not a weight vector). RK4,
Euler, explicit midpoint and Heun are the textbook methods (Hairer, Norsett and
Wanner, *Solving ODEs I*, II.1), with second-order continuous extensions
(II.6) for the last two.

Adding a method: add one :class:`Tableau` to :data:`TABLEAUS` (and, to run it
in ``solve_ivp`` too, one entry to ``METHODS``). The tests in
``tests/solvers/integrate/test_rk_tableaus.py`` check every entry's order
conditions and measured convergence order.
"""

from typing import NamedTuple

import diffrax
import numpy as np
from numpy.polynomial import polynomial as npoly

__all__ = ["Tableau", "TABLEAUS", "dense_matrix", "evals_per_step"]


class Tableau(NamedTuple):
    """An explicit Runge-Kutta method: Butcher tableau, error weights, continuous extension.

    Attributes
    ----------
    c : tuple of float, shape (s,)
        Stage times as fractions of the step; ``c[0] == 0``.
    a : tuple of tuple of float
        Lower-triangular stage coefficients; ``a[i]`` has ``i`` entries (``a[0] == ()``).
    b : tuple of float, shape (s,)
        Weights of the propagated solution.
    e : tuple of float, shape (s,) or None
        Error weights: the local error estimate is ``h * sum(e[i] * K[i])``.
        ``None`` for methods without an embedded pair (fixed step only).
    p : tuple of tuple of float, shape (s, degree), or None
        Dense output, SciPy's ``P``: ``y(t + x h) = y + h sum_i K[i] sum_j p[i][j] x**(j+1)``.
        ``None``: linear interpolation between the ends of the step.
    order : int
        Order of the propagated solution.
    error_order : int
        Order of the error estimator (SciPy's ``error_estimator_order``); the step-size
        exponent is ``-1 / (error_order + 1)``.
    fsal : bool
        First same as last: the last stage is ``fun(t + h, y_new)`` (``a[-1] == b[:-1]``)
        and a stepper may reuse it as the next step's first stage.
    """

    c: tuple[float, ...]
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    e: tuple[float, ...] | None
    p: tuple[tuple[float, ...], ...] | None
    order: int
    error_order: int
    fsal: bool


def evals_per_step(tab: Tableau) -> int:
    """Right-hand-side evaluations of one step (the first stage is free for FSAL methods)."""
    return len(tab.c) - 1 if tab.fsal else len(tab.c)


def dense_matrix(tab: Tableau) -> tuple[tuple[float, ...], ...]:
    """The dense-output matrix ``P`` (linear interpolation ``((b_i,),)`` when ``p`` is None)."""
    return tab.p if tab.p is not None else tuple((b,) for b in tab.b)


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

_TSIT5_B = (0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081, 2.324710524099774)
_TSIT5_BHAT = (0.09468075576583945, 0.009183565540343254, 0.4877705284247616, 1.234297566930479,
               -2.7077123499835256, 1.866628418170587, 1 / 66)


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
        (2.8971530571054935, -6.359448489975075, 4.3622954328695815),
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


def _dopri8() -> Tableau:
    """diffrax's ``Dopri8`` (14 stages, FSAL) and its interpolant, in this module's layout."""
    tab = diffrax.Dopri8().tableau
    # diffrax's interpolant: y0 + sum_i k_i x polyval(eval_coeffs[i], x), with k_i = h f_i.
    p = np.asarray(diffrax.Dopri8.interpolation_cls.eval_coeffs)[:, ::-1]
    return Tableau(
        c=(0.0, *(float(c) for c in tab.c)),
        a=((), *_rows(tab.a_lower)),
        b=tuple(float(b) for b in tab.b_sol),
        e=tuple(float(e) for e in tab.b_error),
        p=_rows(p),
        order=8,
        error_order=7,
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

_EULER = Tableau(c=(0.0,), a=((),), b=(1.0,), e=None, p=((1.0,),), order=1, error_order=0, fsal=False)

# Explicit midpoint and Heun, each with Euler as the embedded first-order solution.
_MIDPOINT = Tableau(c=(0.0, 0.5), a=((), (0.5,)), b=(0.0, 1.0), e=(-1.0, 1.0), p=((1.0, -1.0), (0.0, 1.0)),
                    order=2, error_order=1, fsal=False)
_HEUN = Tableau(c=(0.0, 1.0), a=((), (1.0,)), b=(0.5, 0.5), e=(-0.5, 0.5), p=((1.0, -0.5), (0.0, 0.5)),
                order=2, error_order=1, fsal=False)

TABLEAUS: dict[str, Tableau] = {
    "RK45": _RK45,
    "RK23": _RK23,
    "DOP853": _dopri8(),
    "Tsit5": _TSIT5,
    "RK4": _RK4,
    "Euler": _EULER,
    "Midpoint": _MIDPOINT,
    "Heun": _HEUN,
}
"""Method name -> explicit tableau. Methods with ``e=None`` (RK4, Euler) need a fixed step."""
