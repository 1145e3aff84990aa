"""``quad`` and ``quad_vec``: adaptive Gauss-Kronrod quadrature, :func:`scipy.integrate.quad` and
:func:`scipy.integrate.quad_vec`. The engine is :mod:`._quad_adaptive`."""

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax.core
import jax.numpy as jnp
import numpy as np
from scipy.integrate import IntegrationWarning

from ..._concrete import is_concrete as _is_concrete
from ..._typing import Array, ArrayLike
from .._precision import warn_if_truncated
from ._quad_adaptive import NORMS, TRAPEZOID, AdaptiveOptions
from ._quad_cached import MESSAGES as MESSAGES
from ._quad_cached import as_args as _as_args
from ._quad_cached import check_common as _check_common
from ._quad_cached import float_dtype as _dtype
from ._quad_cached import integrate as _integrate
from ._quad_cached import prepare_integrand, vec_points
from ._quad_rules import RULES
from ._quad_weights import quad_weighted

__all__ = ["quad", "quad_vec", "QuadVecInfo"]

_VEC_RULES = {**RULES, "trapezoid": TRAPEZOID}



def quad(
    func: Callable,
    a: ArrayLike,
    b: ArrayLike,
    args: Any = (),
    full_output: int = 0,
    epsabs: float = 1.49e-8,
    epsrel: float = 1.49e-8,
    limit: int = 50,
    points: ArrayLike | None = None,
    weight: str | None = None,
    wvar: Any = None,
    wopts: Any = None,
    maxp1: int = 50,
    limlst: int = 50,
    complex_func: bool = False,
) -> tuple:
    """Integrate ``func(x, *args)`` from ``a`` to ``b`` adaptively; mirrors :func:`scipy.integrate.quad`.

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float``, written in JAX (it is evaluated at vectors of nodes via vmap). A
        function JAX cannot trace (NumPy, ``math``, Python ``if``) runs on the host in an eager call,
        with a :class:`~scijax.NotTraceableWarning`; under jit/vmap/grad it raises
        :class:`~scijax.NotTraceableError`.
    a, b : float
        Limits; either may be ``-inf`` or ``inf``. They may be traced (jit, vmap, grad).
    args : tuple
        Extra arguments for ``func``; arrays in it may be traced and differentiated.
    full_output : int
        Non-zero: also return the info dict (and a message when ``ier > 0``, eagerly).
    epsabs, epsrel : float
        Absolute and relative error tolerance.
    limit : int
        Maximum number of subintervals (the static size of the interval buffer).
    points : sequence of float, optional
        Break points inside a finite ``[a, b]`` where the integrand is difficult.
    weight : {'cos', 'sin', 'alg', 'alg-loga', 'alg-logb', 'alg-log', 'cauchy'}, optional
        Integrate ``func(x) * w(x)``: ``cos(wvar x)``, ``sin(wvar x)`` (finite ``[a, b]``, or one
        infinite limit); ``(x-a)**alpha (b-x)**beta`` times ``log(x-a)`` / ``log(b-x)`` / both for
        ``wvar = (alpha, beta)``; ``1 / (x - wvar)`` as a Cauchy principal value.
    wvar : float or (float, float)
        The weight's parameter (may be traced and differentiated).
    wopts : tuple, optional
        SciPy's precomputed Chebyshev moments: accepted and ignored (none are used, see below).
    maxp1 : int
        Checked as SciPy does (``>= 1``); otherwise unused.
    limlst : int
        Number of cycles for a cos/sin weight on an infinite range (``>= 3``).
    complex_func : bool
        ``func`` is complex-valued: the real and imaginary parts are integrated separately.

    Returns
    -------
    y : array
        The integral.
    abserr : array
        Estimated absolute error.
    infodict : dict, with ``full_output``
        ``neval``, ``last``, ``alist``, ``blist``, ``rlist``, ``elist``, ``iord`` as in SciPy (length
        ``limit``; ``alist``/``blist`` in ``x`` for finite limits, in the mapped ``t`` in ``[0, 1]``
        for infinite ones) plus ``ier``.
    message : str, with ``full_output`` when ``ier > 0`` (eager calls only)
    explain : dict, with ``full_output`` when ``ier > 0`` for a cos/sin weight on an infinite range

    With ``weight`` on an infinite range the dict holds ``neval``, ``lst``, ``rslst``, ``erlst``,
    ``ierlst`` (per cycle) as in SciPy; with ``complex_func=True`` it is ``{'real': ..., 'imag': ...}``
    holding each part's outputs after the first two.

    Differences from SciPy
    ----------------------
    - Without ``points``/``weight`` this is SciPy's algorithm: QAGS (GK21 bisection with Wynn-epsilon
      extrapolation, round-off detection) on a finite range and QAGI (GK15 on the mapped range,
      ``(-inf, inf)`` folded onto ``(0, inf)``) on an infinite one, see
      :mod:`scijax.solvers.integrate._quad_qags`; ``last`` and ``neval`` agree with SciPy's on
      ordinary problems. Under jit/vmap a *traced* infinite limit is not known to be infinite when
      the program is built: the range is mapped the same way but integrated with GK21 (and
      ``(-inf, inf)`` by a single map, not folded), so ``neval`` differs from SciPy's there.
    - With ``points``, global bisection from the break points (QAG); QUADPACK's QAGP would also
      extrapolate.
    - ``ier`` (1: limit reached, 2: round-off, 3: bad integrand, 4: round-off in the extrapolation
      table, 5: probably divergent) is in the info dict when it is non-zero or the call is traced;
      an eager call with ``ier > 0`` warns with ``IntegrationWarning`` as SciPy does; a traced call
      cannot warn. Non-finite integrand values give ``ier = 3`` (QUADPACK would carry the NaN into
      its result and may report success).
    - Weights run on the same adaptive GK21 engine after a transformation, not QUADPACK's modified
      Clenshaw-Curtis rules (see :mod:`scijax.solvers.integrate._quad_weights`): cos/sin multiply
      ``func`` (so ``|wvar| (b - a)`` beyond a few hundred needs a larger ``limit``); an infinite
      range sums ``limlst`` cycles with Wynn epsilon extrapolation (QAWF's scheme; ``ier`` 4 when it
      does not converge, 7 when a cycle failed); the algebraic-log weights map each half of
      ``[a, b]`` by ``x - a = h exp(-u)``, removing the endpoint singularity; Cauchy subtracts
      ``f(c)`` analytically. The info dict of a finite cos/sin weight has ``momcom = 0`` and zero
      ``chebmo``/``nnlog`` (no moments are computed), and ``alist``/``blist`` of the algebraic
      weights are in the mapped variable.
    - Derivatives: ``d/db = f(b)``, ``d/da = -f(a)``. ``d/dargs`` is the same rule applied to
      ``df/dargs`` on the final partition when the value is the partition's sum; when the value is
      an extrapolation, the rule on each partition whose total entered the epsilon table, carried
      through the same epsilon steps (the derivative of the extrapolated value with the forward
      run's choices held fixed: ``d/dp`` of ``quad(x**p, 0, 1)`` is ``-1/(p+1)**2`` to ~1e-13,
      where the final partition's sum alone would be 2% off at ``p = -0.5``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import quad
    >>> y, err = quad(lambda x: x**2, 0.0, 4.0)
    >>> round(float(y), 10)
    21.3333333333
    >>> y, err = quad(lambda x: jnp.exp(-x), 0.0, jnp.inf)
    >>> round(float(y), 10)
    1.0
    >>> y, err, info = quad(lambda x: x**-0.9, 0.0, 1.0, full_output=1)  # QAGS extrapolates
    >>> round(float(y), 10), int(info["last"])
    (10.0, 6)
    >>> y, err = quad(lambda x: jnp.exp(-x), 0.0, 1.0, weight="cauchy", wvar=0.5)  # PV of e^-x / (x - 1/2)
    >>> round(float(y), 8)
    -0.61501815
    """
    warn_if_truncated("quad", a, b, args)
    if not callable(func):
        raise TypeError("`func` must be callable")
    if complex_func:
        return _quad_complex(func, a, b, args, full_output, epsabs, epsrel, limit, points, weight, wvar,
                             wopts, maxp1, limlst)
    if weight is not None:
        return quad_weighted(func, a, b, args, full_output, epsabs, epsrel, limit, points, weight, wvar,
                             wopts, maxp1, limlst)
    a, b, points = _check_common(a, b, epsabs, epsrel, limit, points)
    args = _as_args(args)
    dtype = _dtype(a, b, args)
    a, b = a.astype(dtype), b.astype(dtype)
    func, args = prepare_integrand("func", func, a, b, args, "quad")
    out = jax.eval_shape(lambda x: jnp.asarray(func(x, *args)), jax.ShapeDtypeStruct((), dtype))
    if out.shape != ():
        raise ValueError(f"`func` must return a scalar, got shape {out.shape}; use quad_vec")
    func, a, b, opts = _method(func, a, b, int(limit), int(points.shape[0]))
    res = _integrate(func, opts, a, b, args, points.astype(dtype), jnp.asarray(epsabs, dtype),
                        jnp.asarray(epsrel, dtype))
    if isinstance(func, _Folded):  # two evaluations per node, counted as SciPy counts them
        res = res._replace(neval=2 * res.neval)
    concrete = _is_concrete(res.ier)
    message = MESSAGES.get(int(res.ier), "Unknown error.").format(limit=limit) if concrete else None
    if not full_output:
        if concrete and int(res.ier) != 0:
            warnings.warn(str(message), IntegrationWarning, stacklevel=2)
        return res.value, res.abserr
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    finite = jnp.isfinite(lo) & jnp.isfinite(hi)
    to_x = lambda t: jnp.where(finite, lo + (hi - lo) * t, t)  # noqa: E731
    used = jnp.arange(limit) < res.last
    order = jnp.argsort(jnp.where(used, -res.errors, jnp.inf))
    info = {
        "neval": res.neval,
        "last": res.last,
        "iord": jnp.where(used, order + 1, 0).astype(jnp.int32),
        "alist": jnp.where(used, to_x(res.t_lo), jnp.nan),
        "blist": jnp.where(used, to_x(res.t_hi), jnp.nan),
        "rlist": jnp.where(used, res.values, 0),
        "elist": jnp.where(used, res.errors, 0),
        "ier": res.ier,
    }
    if concrete:  # eager: NumPy values, as SciPy's dict (no `ier` key unless it is non-zero)
        info = {k: np.asarray(v) for k, v in info.items() if k != "ier" or int(res.ier) != 0}
    if concrete and int(res.ier) != 0:
        return res.value, res.abserr, info, message
    return res.value, res.abserr, info


class _Folded(eqx.Module):
    """``f(x) + f(-x)``: QAGI's integrand for ``(-inf, inf)``, integrated over ``(0, inf)``."""

    func: Callable

    def __call__(self, x, *args):
        return jnp.asarray(self.func(x, *args)) + jnp.asarray(self.func(-x, *args))


def _method(func: Callable, a: Array, b: Array, limit: int, n_points: int):
    """SciPy's choice of QUADPACK routine: QAGS (GK21 with extrapolation) on a finite range, QAGI (GK15
    on the mapped range, ``(-inf, inf)`` folded onto ``(0, inf)``) on an infinite one, and QAG-style
    bisection with the break points (QAGP without its extrapolation). A limit that is traced is not
    known to be infinite: GK21 on the mapped range then (see the Differences in ``quad``)."""
    if n_points:
        return func, a, b, AdaptiveOptions(RULES["gk21"], limit, "max", n_points)
    infinite = _is_concrete(a, b) and bool(jnp.isinf(a) | jnp.isinf(b))
    if infinite and bool(jnp.isinf(a) & jnp.isinf(b)) and bool(a != b):
        zero, inf = jnp.zeros_like(a), jnp.full_like(a, jnp.inf)
        func, (a, b) = _Folded(func), ((zero, inf) if bool(a < b) else (inf, zero))
    return func, a, b, AdaptiveOptions(RULES["gk15" if infinite else "gk21"], limit, "max", 0, True)


def _quad_complex(func, a, b, args, full_output, *options) -> tuple:
    """``complex_func=True``: the real and imaginary parts integrated separately, as SciPy does."""
    a_, b_ = _check_limit_pair(a, b)
    if _is_concrete(a_, b_) and bool(a_ == b_):  # SciPy's early return, without calling func
        zero = jnp.zeros((), jnp.result_type(a_.dtype, jnp.complex64))
        limit = options[2]
        info = {"neval": 0, "last": 0, "alist": np.full(limit, np.nan), "blist": np.full(limit, np.nan),
                "rlist": np.zeros(limit), "elist": np.zeros(limit), "iord": np.zeros(limit, np.int32)}
        return (zero, zero) + (({"real": info, "imag": dict(info)},) if full_output else ())
    args = _as_args(args)
    func, args = prepare_integrand("func", func, a_, b_, args, "quad")
    re = quad(lambda x, *p: jnp.real(func(x, *p)), a, b, args, full_output, *options)
    im = quad(lambda x, *p: jnp.imag(func(x, *p)), a, b, args, full_output, *options)
    value, error = re[0] + 1j * im[0], re[1] + 1j * im[1]
    if not full_output:
        return value, error
    return value, error, {"real": re[2:], "imag": im[2:]}


def _check_limit_pair(a, b):
    a, b, _ = _check_common(a, b, 0.0, 1.0, 1, None)
    dtype = _dtype(a, b, ())
    return a.astype(dtype), b.astype(dtype)


class QuadVecInfo(NamedTuple):
    """``quad_vec``'s ``full_output`` record (SciPy's ``_Bunch``); arrays are padded to ``limit``
    under jit/vmap and trimmed to the intervals used in eager calls."""

    neval: Array
    success: Array
    status: Array
    intervals: Array
    integrals: Array
    errors: Array

    @property
    def message(self) -> str:
        return {0: "Target precision reached.", 1: "Target precision not reached.",
                3: "Non-finite values encountered."}.get(int(self.status), "Unknown error.")


def quad_vec(
    f: Callable,
    a: ArrayLike,
    b: ArrayLike,
    epsabs: float = 1e-200,
    epsrel: float = 1e-8,
    norm: str = "2",
    cache_size: float = 100e6,
    limit: int = 10000,
    workers: int = 1,
    points: ArrayLike | None = None,
    quadrature: str | None = None,
    full_output: bool = False,
    *,
    args: Any = (),
) -> tuple:
    """Adaptive integration of a vector-valued function; mirrors :func:`scipy.integrate.quad_vec`.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array`` of any fixed shape, written in JAX.
    a, b : float
        Limits (may be infinite).
    epsabs, epsrel : float
        Tolerances on ``norm(error)``.
    norm : {'2', 'max'}
        Vector norm for the error.
    cache_size, workers
        Accepted and ignored (there is no cache; the work is one compiled program).
    limit : int
        Maximum number of subintervals (the static size of the buffers, which hold ``limit``
        copies of the output: lower it for large outputs). As in SciPy, no interval is bisected
        once there are ``limit`` of them, so ``limit=0`` evaluates the initial partition only.
    points : sequence of float, optional
        Break points; those outside ``(a, b)`` are dropped (eagerly), and with infinite limits they
        are mapped like the limits, as SciPy does.
    quadrature : {None, 'gk21', 'gk15', 'trapezoid'}
        The rule; ``None`` is 'gk21' for finite and 'gk15' for infinite intervals (SciPy's choice;
        decided eagerly from concrete limits, else 'gk21'). 'trapezoid' is the 3-point rule with
        SciPy's error estimate ``|T3 - T2| / 3``.
    full_output : bool
        Also return a :class:`QuadVecInfo`.
    args : tuple
        Extra arguments for ``f``.

    Returns
    -------
    res : array
    err : array
        Norm of the error estimate.
    info : QuadVecInfo, with ``full_output``

    Differences from SciPy
    ----------------------
    One interval is bisected per step (SciPy bisects several), so ``neval`` differs from SciPy's.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.integrate import quad_vec
    >>> res, err = quad_vec(lambda x: x ** jnp.arange(3.0), 0.0, 1.0)
    >>> res.round(8).tolist()
    [1.0, 0.5, 0.33333333]
    """
    if norm not in NORMS:
        raise ValueError(f"`norm`: unknown norm {norm!r}; choose from {sorted(NORMS)}")
    if quadrature is not None and quadrature not in _VEC_RULES:
        raise ValueError(f"`quadrature`: unknown quadrature {quadrature!r}; choose from {sorted(_VEC_RULES)}")
    if not callable(f):
        raise TypeError("`f` must be callable")
    points, limit = vec_points(a, b, points, limit)
    a, b, points = _check_common(a, b, epsabs, epsrel, limit, points, vec=True)
    args = _as_args(args)
    dtype = _dtype(a, b, args)
    a, b = a.astype(dtype), b.astype(dtype)
    f, args = prepare_integrand("f", f, a, b, args, "quad_vec")
    if quadrature is None:
        infinite = _is_concrete(a, b) and bool(jnp.isinf(a) | jnp.isinf(b))
        quadrature = "gk15" if infinite else "gk21"
    opts = AdaptiveOptions(_VEC_RULES[quadrature], int(limit), norm, int(points.shape[0]))
    res = _integrate(f, opts, a, b, args, points.astype(dtype), jnp.asarray(epsabs, dtype),
                        jnp.asarray(epsrel, dtype))
    if not full_output:
        return res.value, res.abserr
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    finite = jnp.isfinite(lo) & jnp.isfinite(hi)
    to_x = lambda t: jnp.where(finite, lo + (hi - lo) * t, t)  # noqa: E731
    intervals = jnp.stack([to_x(res.t_lo), to_x(res.t_hi)], axis=1)
    info = QuadVecInfo(res.neval, res.ier == 0, res.ier, intervals, res.values, res.errors)
    if _is_concrete(res.last):
        n = int(res.last)
        info = info._replace(intervals=intervals[:n], integrals=res.values[:n], errors=res.errors[:n])
    return res.value, res.abserr, info
