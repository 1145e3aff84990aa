"""Matrix functions of :mod:`scipy.linalg`: ``logm``, ``signm``, ``fractional_matrix_power``, the
trigonometric and hyperbolic functions (``sinm`` ... ``tanhm``), ``expm_frechet`` and ``expm_cond``.

Engines (pure JAX, no Schur form, so they run on every backend):

- ``logm``: inverse scaling and squaring (Kenney and Laub 1989; Higham, *Functions of Matrices*,
  2008, section 11.5). Square roots by the scaled product Denman-Beavers iteration until
  ``||A^(1/2^s) - I||_1 <= 1/4``, then ``log(I + X)`` by its 8-point Gauss-Legendre (``[8/8]`` Pade)
  partial-fraction form, times ``2^s``. SciPy runs the Schur-based algorithm of Al-Mohy and Higham
  (2012); both give the principal logarithm.
- ``signm``: the Newton iteration ``X <- (mu X + (mu X)^-1) / 2`` with determinant scaling.
- Gradients of ``logm`` and ``signm`` (reverse mode) come from the Frechet derivative, computed with
  the block identity ``f([[A, E], [0, A]]) = [[f(A), L_f(A, E)], [0, f(A)]]``; the transpose of
  ``L_f(A, .)`` is ``L_f(A^T, .)`` for these primary matrix functions.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._typing import Array, ArrayLike
from ._checks import check_finite_arg, inexact, is_concrete, square

__all__ = ["logm", "signm", "fractional_matrix_power", "sinm", "cosm", "tanm", "sinhm", "coshm", "tanhm",
           "expm_frechet", "expm_cond"]

_GL_T, _GL_W = np.polynomial.legendre.leggauss(8)
_GL_T, _GL_W = (_GL_T + 1) / 2, _GL_W / 2  # on [0, 1]
_NOT_GIVEN = object()


def _norm1(x: Array) -> Array:
    return jnp.max(jnp.sum(jnp.abs(x), axis=-2), axis=-1)


def _eye(a: Array) -> Array:
    return jnp.eye(a.shape[-1], dtype=a.dtype)


def _inv_logabsdet(m: Array) -> tuple[Array, Array]:
    """``inv(m)`` and ``log|det m|`` from one LU factorisation."""
    lu, piv = jax.scipy.linalg.lu_factor(m)
    return jax.scipy.linalg.lu_solve((lu, piv), _eye(m)), jnp.sum(jnp.log(jnp.abs(jnp.diagonal(lu))))


def _sqrtm_db(a: Array) -> Array:
    """Principal square root by the scaled product Denman-Beavers iteration (Higham 2008, (6.29))."""
    eye, n = _eye(a), a.shape[-1]
    loose = jnp.sqrt(jnp.finfo(a.dtype).eps)

    def step(m, y, scale):
        minv, logabsdet = _inv_logabsdet(m)
        mu = jnp.exp(-logabsdet / (2 * n)) if scale else 1.0
        return 0.5 * (eye + 0.5 * (mu**2 * m + minv / mu**2)), 0.5 * mu * y @ (eye + minv / mu**2)

    def body(state):
        m, y, k = state
        return (*step(m, y, True), k + 1)

    def cond(state):
        m, _, k = state
        return (_norm1(m - eye) > loose) & (k < 60)

    m, y, _ = jax.lax.while_loop(cond, body, (a, a, 0))
    return step(m, y, False)[1]  # quadratic convergence: one more step reaches working precision


def _logm_core(a: Array) -> Array:
    """Principal logarithm of a complex matrix by inverse scaling and squaring."""
    eye = _eye(a)

    def cond(state):
        x, k = state
        return (_norm1(x - eye) > 0.25) & (k < 64)

    def body(state):
        x, k = state
        return _sqrtm_db(x), k + 1

    x, k = jax.lax.while_loop(cond, body, (a, 0))
    z = x - eye
    real = a.real.dtype
    terms = jax.vmap(lambda t: jnp.linalg.solve(eye + t * z, z))(jnp.asarray(_GL_T, real))  # one batched LU
    acc = jnp.tensordot(jnp.asarray(_GL_W, real), terms, axes=1)
    return acc * jnp.exp2(jnp.asarray(k, a.real.dtype))


def _signm_core(a: Array) -> Array:
    n = a.shape[-1]
    loose = jnp.sqrt(jnp.finfo(a.dtype).eps)

    def body(state):
        x, k, _ = state
        xinv, logabsdet = _inv_logabsdet(x)
        mu = jnp.exp(-logabsdet / n)
        new = 0.5 * (mu * x + xinv / mu)
        return new, k + 1, _norm1(new - x) / _norm1(new)

    def cond(state):
        _, k, change = state
        return (change > loose) & (k < 100)

    x, _, _ = jax.lax.while_loop(cond, body, (a, 0, jnp.asarray(jnp.inf, a.real.dtype)))
    return 0.5 * (x + jnp.linalg.inv(x))


def frechet_block(core: Any, a: Array, e: Array) -> Array:
    """``L_f(A, E)`` from ``f([[A, sE], [0, A]])`` (scaled so that ``||sE|| = ||A||``)."""
    n = a.shape[-1]
    na, ne = _norm1(a), _norm1(e)
    s = jnp.where(ne > 0, jnp.where(na > 0, na, 1) / jnp.where(ne > 0, ne, 1), 1).astype(a.dtype)
    big = jnp.block([[a, s * e], [jnp.zeros_like(a), a]])
    return core(big)[..., :n, n:] / s


def _with_frechet_vjp(core: Any) -> Any:
    f = jax.custom_vjp(core)
    f.defvjp(lambda a: (core(a), a), lambda a, g: (frechet_block(core, jnp.swapaxes(a, -1, -2), g),))
    return jax.jit(f)


_logm = _with_frechet_vjp(_logm_core)
_signm = _with_frechet_vjp(_signm_core)


def _matrix(name: str, a: ArrayLike) -> Array:
    a = square(name, a)
    return a.astype(inexact(a))


def _over_batch(fn: Any, *arrays: Array) -> Any:
    """``fn`` on square matrices, mapped over any leading (batch) axes as SciPy 1.17 does."""
    lead = arrays[0].shape[:-2]
    if not lead:
        return fn(*arrays)
    flat = [x.reshape(-1, *x.shape[-2:]) for x in arrays]
    out = jax.vmap(fn)(*flat)
    return jax.tree.map(lambda y: y.reshape(lead + y.shape[1:]), out)


def _real_if_real(y: Array, real_input: bool) -> Array:
    """SciPy's convention for a real input: a real result when the imaginary part is round-off.
    Eagerly a non-real result stays complex; traced (fixed dtype) it becomes NaN."""
    if not real_input:
        return y
    tol = jnp.sqrt(jnp.finfo(y.dtype).eps) * (1 + jnp.max(jnp.abs(y)))
    real = jnp.max(jnp.abs(y.imag)) <= tol
    if is_concrete(y):
        return y.real if bool(real) else y
    return jnp.where(real, y.real, jnp.nan)


def _complex_dtype(a: Array) -> Any:
    return jnp.result_type(a.dtype, jnp.complex64)


_TILT = 2.0**-20  # radians; see _log_of


def _log_of(a: Array) -> Array:
    """Principal logarithm in complex arithmetic. A real ``A`` is first turned by ``exp(-i delta)``
    (and ``i delta I`` added back), so a negative real eigenvalue gets SciPy's ``log|x| + i pi``
    instead of a NaN from the branch cut."""
    ac = a.astype(_complex_dtype(a))
    if jnp.iscomplexobj(a):
        return _over_batch(_logm, ac)
    turn = jnp.exp(-1j * _TILT).astype(ac.dtype)
    return _over_batch(_logm, turn * ac) + (1j * _TILT * _eye(ac)).astype(ac.dtype)


def logm(A: ArrayLike, disp: Any = _NOT_GIVEN) -> Array | tuple[Array, Array]:
    """Principal matrix logarithm; mirrors :func:`scipy.linalg.logm`.

    Parameters
    ----------
    A : array, shape (..., N, N)
        Leading axes are a batch (as in SciPy 1.17).
        Matrix with no eigenvalues on the closed negative real axis.
    disp : bool, optional
        SciPy's deprecated switch: ``False`` also returns the error estimate
        ``||expm(logm(A)) - A||_1 / ||A||_1``.

    Returns
    -------
    logm : array, shape (N, N)
        Real for a real ``A`` whose logarithm is real, complex otherwise.
    errest : float
        Only when ``disp=False``.

    Differences from SciPy
    ----------------------
    Inverse scaling and squaring with Denman-Beavers square roots and a Gauss-Legendre (Pade)
    logarithm, with no Schur form (SciPy: Schur-based Al-Mohy-Higham 2012), so it runs on GPU/TPU.
    Under ``jit``/``vmap`` the dtype cannot depend on values: a real ``A`` gives a real result, NaN
    when its principal logarithm is not real (pass a complex ``A`` to get it). A real ``A`` is
    turned by ``2**-20`` radians in the complex plane before the iteration, so that negative real
    eigenvalues get SciPy's ``log|x| + i pi``; a complex pair within that angle of the negative
    real axis then gets a non-principal (complex) logarithm. A complex ``A`` with an eigenvalue on
    the negative real axis, or a singular ``A``, gives non-finite values (SciPy warns).
    Differentiable in reverse mode (``grad``, ``vjp``) through the Frechet derivative;
    forward mode (``jvp``, ``jacfwd``) is not supported.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import logm
    >>> a = jnp.array([[1.0, 3.0], [1.0, 4.0]])
    >>> bool(jnp.allclose(jnp.exp(jnp.trace(logm(a))), jnp.linalg.det(a)))
    True
    """
    a = _matrix("A", A)
    check_finite_arg("A", a, True)
    y = _real_if_real(_log_of(a), not jnp.iscomplexobj(a))
    if disp is _NOT_GIVEN or disp:
        return y
    return y, _norm1(_over_batch(jax.scipy.linalg.expm, y) - a) / _norm1(a)


def signm(A: ArrayLike, disp: Any = _NOT_GIVEN) -> Array | tuple[Array, Array]:
    """Matrix sign function; mirrors :func:`scipy.linalg.signm`.

    Parameters
    ----------
    A : array, shape (..., N, N)
        Leading axes are a batch (as in SciPy 1.17).
        Matrix with no eigenvalues on the imaginary axis.
    disp : bool, optional
        SciPy's deprecated switch: ``False`` also returns the error estimate ``||S S - I||_1``.

    Returns
    -------
    signm : array, shape (N, N)
    errest : float
        Only when ``disp=False``.

    Differences from SciPy
    ----------------------
    Scaled Newton iteration (SciPy: a Schur-based ``funm`` of the sign refined by Newton steps); a
    real ``A`` gives a real result. Eigenvalues on or very near the imaginary axis give NaN or an
    inaccurate result without warning. Reverse-mode differentiable through the Frechet derivative.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import signm
    >>> signm(jnp.array([[2.0, 1.0], [0.0, -3.0]]))
    array([[ 1. ,  0.4],
           [ 0. , -1. ]])
    """
    a = _matrix("A", A)
    check_finite_arg("A", a, True)
    y = _over_batch(_signm, a)
    if disp is _NOT_GIVEN or disp:
        return y
    return y, _norm1(y @ y - _eye(y))


def fractional_matrix_power(A: ArrayLike, t: float | ArrayLike) -> Array:
    """Fractional power ``A^t``; mirrors :func:`scipy.linalg.fractional_matrix_power`.

    Parameters
    ----------
    A : array, shape (..., N, N)
        Leading axes are a batch (as in SciPy 1.17).
    t : float
        The exponent. A Python ``int`` runs repeated squaring (``jnp.linalg.matrix_power``).

    Returns
    -------
    array, shape (N, N)
        Real for a real ``A`` whose power is real (see :func:`logm`).

    Differences from SciPy
    ----------------------
    Computed as ``expm(t logm(A))`` with this module's ``logm`` (SciPy: the Schur-Pade algorithm of
    Higham and Lin 2011), so it is differentiable in ``A`` (reverse mode) and in ``t``. A real ``A``
    with a real fractional power gives a real result also where SciPy returns a complex one (for
    example a rotation matrix).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import fractional_matrix_power
    >>> r = fractional_matrix_power(jnp.array([[4.0, 1.0], [1.0, 3.0]]), 0.5)
    >>> bool(jnp.allclose(r @ r, jnp.array([[4.0, 1.0], [1.0, 3.0]])))
    True
    """
    a = _matrix("A", A)
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        return jnp.linalg.matrix_power(a, int(t))
    t_arr = jnp.asarray(t)
    if t_arr.ndim != 0:
        raise ValueError(f"`t` must be a scalar, got shape {t_arr.shape}")
    log_a = _log_of(a)
    y = _over_batch(jax.scipy.linalg.expm, t_arr.astype(log_a.dtype) * log_a)
    return _real_if_real(y, not jnp.iscomplexobj(a))


def _expm_pair(a: Array, b: Array) -> tuple[Array, Array]:
    """``expm(a)`` and ``expm(b)`` from one exponential of ``diag(a, b)`` (one compiled expm)."""
    n = a.shape[-1]
    e = jax.scipy.linalg.expm(jax.scipy.linalg.block_diag(a, b))
    return e[:n, :n], e[n:, n:]


@jax.jit
def _cos_sin(a: Array) -> tuple[Array, Array]:
    if jnp.iscomplexobj(a):
        ep, em = _expm_pair(1j * a, -1j * a)
        return 0.5 * (ep + em), -0.5j * (ep - em)
    e = jax.scipy.linalg.expm((1j * a).astype(_complex_dtype(a)))
    return e.real, e.imag


@jax.jit
def _cosh_sinh(a: Array) -> tuple[Array, Array]:
    ep, em = _expm_pair(a, -a)
    return 0.5 * (ep + em), 0.5 * (ep - em)


_DOC = """{title}; mirrors :func:`scipy.linalg.{name}`.

    Parameters
    ----------
    A : array, shape (..., N, N)
        Leading axes are a batch (as in SciPy 1.17).

    Returns
    -------
    array, shape (N, N)
        Real for a real ``A``.

    Differences from SciPy
    ----------------------
    Built from ``jax.scipy.linalg.expm`` exactly as SciPy defines it ({how}); differentiable in
    both modes. Non-finite input gives non-finite output.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import {name}
    >>> {name}(jnp.zeros((2, 2)))
    array([[{d}, 0.],
           [0., {d}]])
    """


def cosm(A: ArrayLike) -> Array:
    return _over_batch(_cos_sin, _matrix("A", A))[0]


def sinm(A: ArrayLike) -> Array:
    return _over_batch(_cos_sin, _matrix("A", A))[1]


def tanm(A: ArrayLike) -> Array:
    c, s = _over_batch(_cos_sin, _matrix("A", A))
    return jnp.linalg.solve(c, s)


def coshm(A: ArrayLike) -> Array:
    return _over_batch(_cosh_sinh, _matrix("A", A))[0]


def sinhm(A: ArrayLike) -> Array:
    return _over_batch(_cosh_sinh, _matrix("A", A))[1]


def tanhm(A: ArrayLike) -> Array:
    c, s = _over_batch(_cosh_sinh, _matrix("A", A))
    return jnp.linalg.solve(c, s)


for _f, _title, _how, _d in [
    (cosm, "Matrix cosine", "the real part of ``expm(1j A)``, or ``(expm(1j A) + expm(-1j A)) / 2``", "1."),
    (sinm, "Matrix sine", "the imaginary part of ``expm(1j A)``, or ``(expm(1j A) - expm(-1j A)) / 2j``", "0."),
    (tanm, "Matrix tangent", "``solve(cosm(A), sinm(A))``", "0."),
    (coshm, "Hyperbolic matrix cosine", "``(expm(A) + expm(-A)) / 2``", "1."),
    (sinhm, "Hyperbolic matrix sine", "``(expm(A) - expm(-A)) / 2``", "0."),
    (tanhm, "Hyperbolic matrix tangent", "``solve(coshm(A), sinhm(A))``", "0."),
]:
    _f.__doc__ = _DOC.format(title=_title, name=_f.__name__, how=_how, d=_d)


def _expm_jvp(a: Array, e: Array) -> tuple[Array, Array]:
    return jax.jvp(jax.scipy.linalg.expm, (a,), (e,))


def _expm_block(a: Array, e: Array) -> tuple[Array, Array]:
    n = a.shape[-1]
    big = jax.scipy.linalg.expm(jnp.block([[a, e], [jnp.zeros_like(a), a]]))
    return big[:n, :n], big[:n, n:]


_FRECHET = {"SPS": jax.jit(_expm_jvp), "blockEnlarge": jax.jit(_expm_block)}


def expm_frechet(A: ArrayLike, E: ArrayLike, method: str | None = None, compute_expm: bool = True,
                 check_finite: bool = True) -> Array | tuple[Array, Array]:
    """Frechet derivative of the matrix exponential of ``A`` in the direction ``E``; mirrors
    :func:`scipy.linalg.expm_frechet`.

    Parameters
    ----------
    A, E : array, shape (..., N, N)
        Leading axes are a batch.
    method : {None, 'SPS', 'blockEnlarge'}
        ``'SPS'`` (default): the derivative of the scaling-and-squaring Pade algorithm, as in Al-Mohy
        and Higham (2009), obtained here by ``jax.jvp`` of ``jax.scipy.linalg.expm``.
        ``'blockEnlarge'``: the upper-right block of ``expm([[A, E], [0, A]])``.
    compute_expm : bool
        Also return ``expm(A)``.
    check_finite : bool
        Raise ``ValueError`` if a concrete ``A`` or ``E`` holds inf or NaN.

    Returns
    -------
    expm_A : array
        Only when ``compute_expm``.
    expm_frechet_AE : array

    Differences from SciPy
    ----------------------
    ``'SPS'`` differentiates JAX's own scaling-and-squaring expm (its Pade degrees and scaling
    choice), not SciPy's hand-written recurrences; both are exact derivatives of a backward-stable
    approximant. Batched input gives the pair ``(expm_A, expm_frechet_AE)`` of batched arrays
    (SciPy stacks the pairs).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import expm_frechet
    >>> expm_frechet(jnp.zeros((2, 2)), jnp.eye(2), compute_expm=False)
    array([[1., 0.],
           [0., 1.]])
    """
    a, e = _matrix("A", A), _matrix("E", E)
    if a.shape != e.shape:
        raise ValueError(f"expected `A` and `E` to be the same shape, got {a.shape} and {e.shape}")
    method = "SPS" if method is None else method
    if method not in _FRECHET:
        raise ValueError(f"Unknown implementation `method`={method!r}; expected 'SPS' or 'blockEnlarge'")
    check_finite_arg("A", a, check_finite)
    check_finite_arg("E", e, check_finite)
    dtype = jnp.result_type(a, e)
    expm_a, frechet = _over_batch(_FRECHET[method], a.astype(dtype), e.astype(dtype))
    return (expm_a, frechet) if compute_expm else frechet


@jax.jit
def _expm_cond(a: Array) -> Array:
    n = a.shape[-1]
    x = jax.scipy.linalg.expm(a)
    kron = jax.jacfwd(jax.scipy.linalg.expm, holomorphic=jnp.iscomplexobj(a))(a).reshape(n * n, n * n)
    knorm = jnp.linalg.svd(kron, compute_uv=False)[0]
    return knorm * jnp.linalg.norm(a) / jnp.linalg.norm(x)


def expm_cond(A: ArrayLike, check_finite: bool = True) -> Array:
    """Relative condition number of the matrix exponential in the Frobenius norm; mirrors
    :func:`scipy.linalg.expm_cond`.

    Parameters
    ----------
    A : array, shape (..., N, N)
        Leading axes are a batch (as in SciPy 1.17).
    check_finite : bool
        Raise ``ValueError`` if a concrete ``A`` holds inf or NaN.

    Returns
    -------
    kappa : float
        ``||K(A)||_2 ||A||_F / ||expm(A)||_F`` with ``K(A)`` the ``N^2 x N^2`` Kronecker form of the
        Frechet derivative.

    Differences from SciPy
    ----------------------
    ``K(A)`` is the forward-mode Jacobian of ``jax.scipy.linalg.expm`` (SciPy: ``N^2`` calls of
    ``expm_frechet``); its 2-norm is its largest singular value. ``O(N^6)`` work, as in SciPy.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.solvers.linalg import expm_cond
    >>> float(expm_cond(jnp.zeros((2, 2))))
    0.0
    """
    a = _matrix("A", A)
    check_finite_arg("A", a, check_finite)
    return _over_batch(_expm_cond, a)
