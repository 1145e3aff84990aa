"""Rosenbrock (linearly implicit) steppers for stiff problems, as diffrax solvers.

A Rosenbrock method replaces the Newton iterations of an implicit Runge-Kutta
method by one Jacobian and one LU factorisation per step, followed by one
linear solve per stage. For the small and medium stiff systems that SciPy's
'Radau', 'BDF' and 'LSODA' serve, that is much cheaper per step than an
ESDIRK with Newton iterations, and the methods below are L-stable and
stiffly accurate. ``solve_ivp`` runs Rodas5 under 'Rodas5', and as the stiff half of
'LSODA' (``_lsoda.py``); 'Radau' is the Radau IIA of ``_radau.py`` and 'BDF' the NDF of ``_bdf.py``.

Methods are data: a :class:`RosenbrockTableau` in the "transformed" form of
Hairer & Wanner (Solving ODEs II, section IV.7), with

    (I/(h*gamma) - J) k_i = f(t0 + c_i h, y0 + sum_j a_ij k_j) + sum_j (C_ij / h) k_j + d_i h df/dt

and ``y1 = y0 + sum_j a_sj k_j + k_s`` (stiffly accurate), error estimate ``k_s``.
Dense output uses the method's own interpolation matrix ``H``.
"""

from typing import ClassVar, NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

__all__ = ["RosenbrockTableau", "Rosenbrock", "RODAS4", "RODAS5"]


class RosenbrockTableau(NamedTuple):
    """Coefficients of a stiffly accurate Rosenbrock method (Hairer-Wanner transformed form)."""

    # Nested tuples, not arrays, so that a tableau is hashable (it is static in the solver).
    a: tuple  # (s, s) strictly lower triangular
    c_mat: tuple  # (s, s) strictly lower triangular, divided by h in the stage equation
    gamma: float
    c: tuple  # (s,) stage times
    d: tuple  # (s,) multipliers of h * df/dt
    h_dense: tuple  # (m, s) dense-output combinations of the stages
    order: int
    error_order: int


def _lower(rows: list[list[float]]) -> tuple:
    s = len(rows) + 1
    out = np.zeros((s, s))
    for i, row in enumerate(rows, start=1):
        out[i, : len(row)] = row
    return _frozen(out)


def _frozen(x) -> tuple:
    x = np.asarray(x, dtype=float)
    return tuple(_frozen(r) for r in x) if x.ndim > 1 else tuple(float(v) for v in x)


# Rodas4: Hairer & Wanner (1996), 6 stages, order 4(3).
RODAS4 = RosenbrockTableau(
    a=_lower([
        [1.544],
        [0.9466785280815826, 0.2557011698983284],
        [3.314825187068521, 2.896124015972201, 0.9986419139977817],
        [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895],
        [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0],
    ]),
    c_mat=_lower([
        [-5.6688],
        [-2.430093356833875, -0.2063599157091915],
        [-0.1073529058151375, -9.594562251023355, -20.47028614809616],
        [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616],
        [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
    ]),
    gamma=0.25,
    c=_frozen([0.0, 0.386, 0.21, 0.63, 1.0, 1.0]),
    d=_frozen([0.25, -0.1043, 0.1035, -0.0362, 0.0, 0.0]),
    h_dense=_frozen([
        [10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662, 0.0],
        [-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872, 0.0],
    ]),
    order=4,
    error_order=4,
)

# Rodas5: Di Marzo (1993), 8 stages, order 5(4).
_R5_A5 = [-14.09640773051259, 6.925207756232704, -41.47510893210728, 2.343771018586405, 24.13215229196062]
RODAS5 = RosenbrockTableau(
    a=_lower([
        [2.0],
        [3.040894194418781, 1.041747909077569],
        [2.576417536461461, 1.62208306077664, -0.9089668560264532],
        [2.760842080225597, 1.446624659844071, -0.3036980084553738, 0.2877498600325443],
        _R5_A5,
        _R5_A5 + [1.0],
        _R5_A5 + [1.0, 1.0],
    ]),
    c_mat=_lower([
        [-10.31323885133993],
        [-21.04823117650003, -7.234992135176716],
        [32.22751541853323, -4.943732386540191, 19.44922031041879],
        [-20.69865579590063, -8.816374604402768, 1.260436877740897, -0.7495647613787146],
        [-46.22004352711257, -17.49534862857472, -289.6389582892057, 93.60855400400906, 318.3822534212147],
        [34.20013733472935, -14.1553540271769, 57.823356409884, 25.83362985412365, 1.408950972071624,
         -6.551835421242162],
        [42.57076742291101, -13.80770672017997, 93.98938432427124, 18.77919633714503, -31.5835918722337,
         -6.685968952921985, -5.810979938412932],
    ]),
    gamma=0.19,
    c=_frozen([0.0, 0.38, 0.3878509998321533, 0.483971893787384, 0.457047700881958, 1.0, 1.0, 1.0]),
    d=_frozen([0.19, -0.1823079225333714636, -0.319231832186874912, 0.3449828624725343,
                -0.377417564392089818, 0.0, 0.0, 0.0]),
    h_dense=_frozen([
        [27.354592673333357, -6.925207756232857, 26.40037733258859, 0.5635230501052979, -4.699151156849391,
         -1.6008677469422725, -1.5306074446748028, -1.3929872940716344],
        [44.19024239501722, 1.3677947663381929e-13, 202.93261852171622, -35.5669339789154, -181.91095152160645,
         3.4116351403665033, 2.5793540257308067, 2.2435122582734066],
        [-44.0988150021747, -5.755396159656812e-13, -181.26175034586677, 56.99302194811676, 183.21182741427398,
         -7.480257918273637, -5.792426076169686, -5.32503859794143],
    ]),
    order=5,
    error_order=5,
)


class RosenbrockInterpolation(diffrax.AbstractLocalInterpolation):
    """Dense output of a Rodas step: ``(1-s) y0 + s (y1 + (1-s)(q1 + s (q2 + s q3 ...)))``."""

    t0: jax.Array
    t1: jax.Array
    y0: jax.Array
    y1: jax.Array
    q: jax.Array  # (m, n)

    def evaluate(self, t0, t1=None, left: bool = True):
        del left
        if t1 is not None:
            return self.evaluate(t1) - self.evaluate(t0)
        s = (t0 - self.t0) / (self.t1 - self.t0)
        inner = jnp.zeros_like(self.y0)
        for q in self.q[::-1]:
            inner = q + s * inner
        return (1 - s) * self.y0 + s * (self.y1 + (1 - s) * inner)


class Rosenbrock(diffrax.AbstractAdaptiveSolver):
    """A stiffly accurate Rosenbrock method given by its tableau (see module docstring)."""

    tableau: RosenbrockTableau = eqx.field(static=True)
    term_structure: ClassVar = diffrax.AbstractTerm
    interpolation_cls: ClassVar = RosenbrockInterpolation

    def order(self, terms):
        return self.tableau.order

    def error_order(self, terms):
        return self.tableau.error_order + 1

    def init(self, terms, t0, t1, y0, args):
        return None

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        tab = self.tableau
        a, c_mat = np.asarray(tab.a), np.asarray(tab.c_mat)
        # diffrax runs backward solves in a negated internal time tau; `vf` already maps tau back to t,
        # and `contr` gives the signed step h in real time. Stage times advance in tau; the method's
        # h (in W, C/h and the df/dt term) is the real step.
        dtau = t1 - t0
        h = terms.contr(t0, t1)
        f = lambda t, y: terms.vf(t, y, args)
        holo = jnp.iscomplexobj(y0)
        jac = jax.jacfwd(lambda y: f(t0, y), holomorphic=holo)(y0)
        _, f_tau = jax.jvp(lambda t: f(t, y0), (t0,), (jnp.ones_like(t0),))  # = (dt/dtau) df/dt
        w = jnp.eye(y0.shape[0], dtype=jac.dtype) / (h * tab.gamma) - jac
        lu = jsl.lu_factor(w)
        ks = []
        u = y0
        for i in range(len(tab.c)):
            u = y0 + sum((float(a[i, j]) * ks[j] for j in range(i) if a[i, j] != 0), jnp.zeros_like(y0))
            # h * df/dt = h * f_tau / (dt/dtau) = dtau * f_tau
            rhs = f(t0 + tab.c[i] * dtau, u) + tab.d[i] * dtau * f_tau
            rhs = rhs + sum((float(c_mat[i, j]) / h * ks[j] for j in range(i) if c_mat[i, j] != 0),
                            jnp.zeros_like(y0))
            ks.append(jsl.lu_solve(lu, rhs.astype(lu[0].dtype)).astype(y0.dtype))
        y1 = u + ks[-1]
        k = jnp.stack(ks)
        q = jnp.asarray(tab.h_dense, dtype=k.dtype) @ k
        dense_info = dict(y0=y0, y1=y1, q=q)
        return y1, ks[-1], dense_info, None, diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
