"""The shared facade of the Krylov solvers: argument checks, the implicit (transpose-solve) rule, and
the honest ``info`` code.

Each solver module supplies a *core*::

    core(matvec, psolve, b, x0, tol, maxiter, callback, **options) -> (x, info)

that iterates from ``x0`` until ``||b - A x|| <= tol`` (or it gives up) and returns its own code
(``0`` for converged, ``< 0`` for a breakdown). :func:`krylov_solve` wraps it in
``jax.lax.custom_linear_solve`` so that derivatives with respect to ``b``, to the matrix and to the
arrays an operator closes over come from one more solve with the same method (the implicit rule),
never from unrolled iterations. It then recomputes the true residual: ``info == 0`` only when
``||b - A x|| <= max(rtol * ||b||, atol)`` really holds, and a non-finite ``b``, ``A`` (seen
through ``A x``) or ``x0`` gives ``x = nan`` with ``info = maxiter``.

Why our own cores and not lineax's CG/GMRES/BiCGStab (issue 10, measured with
``benchmarks/bench_lineax_krylov.py``; lineax 0.1.1, jax 0.10.2, CPU, float64, a shared 2-core machine, so
times are +-30%). Decision: keep ours; lineax cannot give SciPy's semantics:

- Stopping rule. SciPy stops on ``||r||_2 <= max(rtol ||b||_2, atol)``. lineax's rule is componentwise,
  ``max_i |r_i| / (atol + rtol |b_i|) <= 1``, *and* a test on the last update in ``x``-space. With
  lineax's own ``rtol=1e-8, atol=0`` on a right-hand side with zero entries (a point source on the 32x32
  Laplacian) the scale is 0 there, the test compares ``nan``, and lineax reports ``successful`` after one
  step with a true relative residual of 0.5 (CG), 0.04 (GMRES), 0.3 (BiCGStab); ours: ``info=0`` at
  ``9e-9``. The nearest lineax gets to SciPy's rule is ``rtol=0, atol=rtol*||b||, norm=two_norm``, and the
  extra update test still changes when it stops (its GMRES over-solves to 1e-10..1e-13).
- ``info``: lineax reports its recurrence's verdict (``RESULTS``), not the true residual; SciPy's
  ``info = maxiter`` on non-convergence and ``< 0`` on breakdown would still need our post-check.
- ``callback`` (and GMRES's ``callback_type``): lineax has no per-iteration hook.
- ``maxiter``: lineax's GMRES ``max_steps`` counts restart cycles (as SciPy does), but it also stops
  after ``stagnation_iters`` non-improving cycles, which SciPy never does; every cycle runs all ``restart``
  inner steps, where SciPy stops inside a cycle as soon as the residual estimate meets the tolerance.
- ``x0`` (lineax ``options["y0"]``), preconditioners and complex Hermitian CG do work in lineax.

Speed, SciPy's rule on both sides (rtol 1e-8, restart 20; median of 7 jitted solves, ms; iterations as
ours / lineax's steps, lineax GMRES in cycles of 20):

==============  =====  ========  =======  ======  ================
problem         n      method    scijax   lineax  iterations
==============  =====  ========  =======  ======  ================
2-D Laplacian   1024   cg        12.0     16.0    102 / 102
2-D Laplacian   4096   cg        20.7     31.5    196 / 196
2-D Laplacian   16384  cg        37.4     103.9   382 / 385
2-D Laplacian   1024   gmres     52.0     13.0    224 / 16 cycles
2-D Laplacian   4096   gmres     124.3    39.1    704 / 47 cycles
2-D Laplacian   16384  gmres     1709.5   1918.6  2458 / 165 cycles
2-D Laplacian   1024   bicgstab  7.9      4.9     74 / 81
2-D Laplacian   4096   bicgstab  20.4     26.9    140 / 156
2-D Laplacian   16384  bicgstab  120.9    197.4   269 / 283
conv-diff       1024   gmres     18.9     16.0    152 / 11 cycles
conv-diff       4096   gmres     34.2     16.3    283 / 18 cycles
conv-diff       1024   bicgstab  3.3      1.0     58 / 60
conv-diff       4096   bicgstab  22.1     16.6    104 / 106
==============  =====  ========  =======  ======  ================

Ours is 1.3-2.8x faster on CG and on the large BiCGStab; lineax's GMRES is 1-4x faster below n = 16384
(not profiled here; worth a look in ``_gmres.py``), which is not a reason to give up SciPy's
semantics. All true residuals met the tolerance on both sides.
"""

import types
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax.core
import jax.numpy as jnp
import numpy as np

from ..._concrete import is_concrete as _is_concrete
from ..._typing import Array
from .._closure import canonical
from ._operator import LinearOperator, as_operator

__all__ = ["KrylovSpec", "krylov_solve", "check_tolerance", "check_maxiter", "vdot", "norm", "restarted",
           "emit", "canonical_leaves"]

_MAX_RESTARTS = 4  # true-residual restarts when the recurrence residual drifts from the true one


class KrylovSpec(NamedTuple):
    """How one Krylov method is run.

    Attributes
    ----------
    name : str
        SciPy's function name, used in error messages.
    core : callable
        ``core(matvec, psolve, b, x0, tol, maxiter, callback, **options) -> (x, info)``.
    symmetric : bool
        Whether the method needs a self-adjoint operator (then the transpose solve is the solve).
    default_maxiter : callable
        ``n -> maxiter`` when the user gives none (SciPy's defaults).
    """

    name: str
    core: Callable
    symmetric: bool
    default_maxiter: Callable[[int], int]


def vdot(a: Array, b: Array) -> Array:
    """``a^H b`` (``np.vdot`` for complex, ``np.dot`` for real)."""
    return jnp.vdot(a, b)


def norm(a: Array) -> Array:
    return jnp.linalg.norm(a)


def emit(callback: Callable | None, x: Array) -> None:
    """Call a user's per-iteration ``callback(xk)`` from inside traced code (for debugging only)."""
    if callback is not None:
        jax.debug.callback(callback, x)


def restarted(run: Callable, matvec: Callable, b: Array, x0: Array, tol: Array, maxiter: int) -> tuple:
    """Repeat ``run(x, k) -> (x, k, code)`` from the true residual until it really meets ``tol``.

    ``run`` iterates from ``x`` (iteration counter ``k``) until its own recurrence says it is done;
    recurrences drift from the true residual, so we check ``||b - A x||`` and go again (at most
    ``_MAX_RESTARTS`` times) instead of reporting a convergence that did not happen.
    """

    def cond(state):
        _, k, done, code, restarts = state
        return ~done & (code == 0) & (k < maxiter) & (restarts < _MAX_RESTARTS)

    def body(state):
        x, k, _, _, restarts = state
        x, k, code = run(x, k)
        code = jnp.asarray(code, jnp.int32)
        done = norm(b - matvec(x)) <= tol
        return x, k, done, jnp.asarray(code, jnp.int32), restarts + 1

    init = (x0, jnp.array(0), norm(b - matvec(x0)) <= tol, jnp.array(0, jnp.int32), jnp.array(0))
    x, _, _, code, _ = jax.lax.while_loop(cond, body, init)
    return x, code


def check_tolerance(name: str, value: Any) -> None:
    """``rtol``/``atol`` must be real, finite and non-negative (checked when concrete)."""
    if value is None:
        raise ValueError(f"`{name}` must be a real, non-negative number, got None")
    if _is_concrete(value):
        v = np.asarray(value)
        if v.ndim != 0 or np.iscomplexobj(v) or not np.isfinite(v) or v < 0:
            raise ValueError(f"`{name}` must be a real, non-negative number, got {value!r}")


def check_maxiter(maxiter: Any) -> int | None:
    if maxiter is None:
        return None
    if not isinstance(maxiter, int | np.integer) or isinstance(maxiter, bool):
        raise TypeError(f"`maxiter` must be a positive integer, got {maxiter!r}")
    if maxiter <= 0:
        raise ValueError(f"`maxiter` must be a positive integer, got {maxiter}")
    return int(maxiter)


def _prepare_b(b: Any, n_rows: int, name: str = "b") -> Array:
    b = jnp.asarray(b)
    if b.shape not in ((n_rows,), (n_rows, 1)):
        raise ValueError(f"shapes of `A` ({n_rows} rows) and `{name}` {b.shape} are incompatible")
    if not jnp.issubdtype(b.dtype, jnp.inexact):
        b = b.astype(jnp.result_type(float))
    return b.reshape(-1)


def prepare_system(
    name: str, A: Any, b: Any, x0: Any, M: Any, square: bool = True, name_M: str = "M"
) -> tuple[LinearOperator, LinearOperator | None, Array, Array | None]:
    """Check shapes and convert ``A``, ``M``, ``b``, ``x0`` (SciPy's ``make_system``)."""
    b_arr = jnp.asarray(b)
    if b_arr.ndim not in (1, 2):
        raise ValueError(f"`b` must be 1-D (or of shape (N, 1)), got shape {b_arr.shape}")
    n = b_arr.shape[0]
    b_dtype = b_arr.dtype if jnp.issubdtype(b_arr.dtype, jnp.inexact) else jnp.result_type(float)
    A = as_operator(A, n, b_dtype, "A")
    if square and A.shape[0] != A.shape[1]:
        raise ValueError(f"`A` must be square, got shape {A.shape}")
    b = _prepare_b(b, A.shape[0])
    dtype = jnp.result_type(A.dtype, b.dtype)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(float)
    b = b.astype(dtype)
    if M is not None:
        M = as_operator(M, A.shape[1], dtype, name_M)
        if M.shape != (A.shape[1], A.shape[1]):
            raise ValueError(f"`{name_M}` (the preconditioner) has shape {M.shape}, expected "
                             f"{(A.shape[1], A.shape[1])} to match `A` {A.shape}")
    if x0 is not None:
        if isinstance(x0, str):
            if x0 != "Mb":
                raise ValueError(f"`x0` must be an array, None or 'Mb', got {x0!r}")
            x0 = b if M is None else M.matvec(b)
        x0 = jnp.asarray(x0)
        if x0.shape not in ((A.shape[1],), (A.shape[1], 1)):
            raise ValueError(f"shapes of `A` {A.shape} and `x0` {x0.shape} are incompatible")
        x0 = x0.reshape(-1).astype(dtype)
    return A, M, b, x0


def _matvec_of(op: LinearOperator | None) -> Callable | None:
    return None if op is None else op.matvec


def canonical_leaves(tree: Any) -> Any:
    """Plain Python functions in an operator become :class:`ClosureFn` s (static code, traced arrays)."""
    return jax.tree_util.tree_map(lambda leaf: canonical(leaf) if isinstance(leaf, types.FunctionType) else leaf,
                                  tree)


def _transposed(M: Any, symmetric: bool) -> Any:
    """The preconditioner(s) of the transpose solve: ``M^T``; a ``(M1, M2)`` pair becomes ``(M2^T, M1^T)``."""
    if M is None or symmetric:
        return M
    if isinstance(M, tuple):
        return tuple(None if m is None else m.T for m in reversed(M))
    return M.T


def _psolve(M: Any) -> Any:
    if isinstance(M, tuple):
        return tuple(_matvec_of(m) for m in M)
    return _matvec_of(M)


def _run(spec: KrylovSpec, A: LinearOperator, M: Any, b: Array, x0: Array | None, rtol: Array,
         atol: Array, maxiter: Array, callback: Callable | None, options: dict) -> tuple[Array, Array]:
    """The traced solve: ``custom_linear_solve`` around ``spec.core`` plus the true-residual ``info``."""

    def solve(matvec: Callable, rhs: Array, psolve: Any) -> tuple[Array, Array]:
        bnorm = norm(rhs)
        tol = jnp.maximum(atol, rtol * bnorm)
        if x0 is None:
            start = jnp.zeros_like(rhs)
        else:  # never start worse than zero (tangent solves reuse this closure with other rhs)
            start = jnp.where(norm(rhs - matvec(x0)) <= bnorm, x0, jnp.zeros_like(x0))
        x, code = spec.core(matvec, psolve, rhs, start, tol, maxiter, callback, **options)
        rnorm = norm(rhs - matvec(x))
        converged = rnorm <= tol
        info = jnp.where(converged, 0, jnp.where(code < 0, code, maxiter))
        # Non-finite b, A (seen through A x) or x0: NaN with info = maxiter, as SciPy ends up.
        finite = jnp.isfinite(bnorm) & jnp.isfinite(rnorm) & jnp.all(jnp.isfinite(x))
        if x0 is not None:
            finite = finite & jnp.all(jnp.isfinite(x0))
        x = jnp.where(finite, x, jnp.nan)
        info = jnp.where(finite, info, maxiter)
        zero = bnorm == 0  # SciPy returns b itself (zeros) with info 0
        return jnp.where(zero, rhs, x), jnp.where(zero, 0, info).astype(jnp.int32)

    M_T = _transposed(M, spec.symmetric)
    return jax.lax.custom_linear_solve(
        A.matvec,
        b,
        lambda mv, r: solve(mv, r, _psolve(M)),
        transpose_solve=None if spec.symmetric else (lambda vm, r: solve(vm, r, _psolve(M_T))),
        symmetric=spec.symmetric,
        has_aux=True,
    )


_run_jitted = eqx.filter_jit(_run)


def _scalar(value: Any, dtype: Any) -> Any:
    """A NumPy scalar when concrete (no device transfer before the cached call), else a JAX one."""
    return jnp.asarray(value, dtype) if isinstance(value, jax.core.Tracer) else np.asarray(value, dtype)


def krylov_solve(
    spec: KrylovSpec,
    A: Any,
    b: Any,
    x0: Any,
    rtol: Any,
    atol: Any,
    maxiter: Any,
    M: Any,
    callback: Callable | None,
    **options: Any,
) -> tuple[Array, Array]:
    """Run ``spec.core`` under the implicit-differentiation rule and return ``(x, info)``.

    ``M`` is one preconditioner, or a pair ``(M1, M2)`` (left, right; QMR's), each of any type
    ``A`` may be. An eager call runs one cached compilation per (method, static options, operator
    structure, shapes, dtypes): arrays, including those an operator's plain-function ``matvec``
    closes over, and ``rtol``, ``atol``, ``maxiter`` are traced, so a repeated call with new values
    compiles nothing. Inside an outer
    ``jit``/``vmap``/``grad`` the solve is traced inline.
    """
    check_tolerance("rtol", rtol)
    check_tolerance("atol", atol)
    maxiter = check_maxiter(maxiter)
    if callback is not None and not callable(callback):
        raise TypeError("`callback` must be callable or None")
    pair = isinstance(M, tuple)
    if M is None and callable(getattr(A, "psolve", None)):  # SciPy's make_system: A.psolve/A.rpsolve
        M = LinearOperator(A.shape, A.psolve, rmatvec=getattr(A, "rpsolve", None), dtype=getattr(A, "dtype", None))
    A, M1, b, x0 = prepare_system(spec.name, A, b, x0, M[0] if pair else M, name_M="M1" if pair else "M")
    if pair:
        M2 = None if M[1] is None else prepare_system(spec.name, A, b, None, M[1], name_M="M2")[1]
        M = (M1, M2)
    else:
        M = M1
    n = b.shape[0]
    if maxiter is None:
        maxiter = spec.default_maxiter(n)
    real = jnp.finfo(b.dtype).dtype
    rtol, atol = _scalar(rtol, real), _scalar(atol, real)
    # Zeros rather than None: a call with and one without x0 then share one compilation.
    x0 = np.zeros(b.shape, b.dtype) if x0 is None else jax.lax.stop_gradient(x0)
    A, M = canonical_leaves((A, M))
    maxiter = np.asarray(maxiter, np.int32)  # traced: a new maxiter does not recompile either
    run = _run_jitted if _is_concrete(A, M, b, x0, rtol, atol) else _run
    return run(spec, A, M, b, x0, rtol, atol, maxiter, callback, options)
