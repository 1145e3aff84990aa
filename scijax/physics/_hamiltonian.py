"""Fixed-step symplectic integrators for Hamiltonian systems, forces by automatic differentiation."""

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._typing import Array, ArrayLike

__all__ = ["solve_hamiltonian", "HamiltonianSolution", "SYMPLECTIC_METHODS"]

_CBRT2 = 2.0 ** (1.0 / 3.0)
_W1 = 1.0 / (2.0 - _CBRT2)
_W0 = -_CBRT2 / (2.0 - _CBRT2)

# Methods as data: one step is this sequence of drifts ``q += c h dH/dp`` and kicks
# ``p -= c h dH/dq``, each with its coefficient ``c``.
SYMPLECTIC_METHODS: dict[str, tuple[tuple[str, float], ...]] = {
    "symplectic_euler": (("kick", 1.0), ("drift", 1.0)),
    "leapfrog": (("kick", 0.5), ("drift", 1.0), ("kick", 0.5)),
    "velocity_verlet": (("kick", 0.5), ("drift", 1.0), ("kick", 0.5)),
    "yoshida4": (
        ("drift", _W1 / 2),
        ("kick", _W1),
        ("drift", (_W0 + _W1) / 2),
        ("kick", _W0),
        ("drift", (_W0 + _W1) / 2),
        ("kick", _W1),
        ("drift", _W1 / 2),
    ),
}

_MESSAGES = {0: "The integration reached the end of `t_span`.", -1: "The state became non-finite."}


class HamiltonianSolution(eqx.Module):
    """Trajectory of :func:`solve_hamiltonian`, time along the leading axis.

    Attributes
    ----------
    t : Array, shape (n_points,)
        Saved times, ``t_span[0]`` first and ``t_span[1]`` last.
    q, p : Array, shape (n_points, *q0.shape)
        Positions and momenta at ``t``.
    n_steps : int
        Number of steps taken.
    status : Array (int)
        0 on success, -1 if the state became non-finite.
    success : Array (bool)
        ``status == 0``.
    """

    t: Array
    q: Array
    p: Array
    n_steps: int = eqx.field(static=True)
    status: Array
    success: Array

    @property
    def message(self) -> str:
        """A description of ``status`` (only for a concrete status, outside jit)."""
        return _MESSAGES[int(self.status)]

    def __getitem__(self, key: str):
        return getattr(self, key)


def _step_count(t_span, dt, n_steps) -> int:
    if (dt is None) == (n_steps is None):
        raise ValueError("Give exactly one of `dt` and `n_steps`.")
    if n_steps is not None:
        if not isinstance(n_steps, int | np.integer) or n_steps < 1:
            raise ValueError(f"`n_steps` must be a positive integer, got {n_steps!r}.")
        return int(n_steps)
    try:
        t0, t1, dt = (float(v) for v in (*t_span, dt))
    except (TypeError, jax.errors.ConcretizationTypeError) as err:
        raise TypeError(
            "`t_span` and `dt` must be concrete numbers to fix the number of steps; "
            "under jit pass `n_steps` (static) instead of `dt`."
        ) from err
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be positive and finite, got {dt!r}.")
    if not (math.isfinite(t0) and math.isfinite(t1)) or t0 == t1:
        raise ValueError(f"`t_span` must be two distinct finite numbers, got {t_span!r}.")
    return max(1, math.ceil(abs(t1 - t0) / dt * (1 - 1e-12)))


def solve_hamiltonian(
    H: Callable[..., Array],
    q0: ArrayLike,
    p0: ArrayLike,
    t_span: Sequence[ArrayLike],
    dt: ArrayLike | None = None,
    method: str = "leapfrog",
    args: Sequence[ArrayLike] = (),
    n_steps: int | None = None,
    save_every: int = 1,
) -> HamiltonianSolution:
    r"""Integrate Hamilton's equations :math:`\dot q = H_p,\ \dot p = -H_q` with a symplectic method.

    A fixed-step symplectic (splitting) method, with both derivatives of ``H`` taken by
    ``jax.grad``; the steps run in ``lax.scan``, so the solve is jittable, vmappable and
    differentiable with respect to ``q0``, ``p0``, ``t_span`` (with ``n_steps``) and ``args``.

    Parameters
    ----------
    H : callable
        ``H(q, p, *args) -> scalar``. The methods are explicit splittings, so they are
        symplectic (and of their stated order) for separable ``H = T(p) + V(q)``.
    q0, p0 : array_like
        Initial positions and momenta, the same shape (any shape).
    t_span : (t0, t1)
        Interval of integration; ``t1 < t0`` integrates backwards.
    dt : float, optional
        Largest step. The step used is ``(t1 - t0) / n`` with ``n = ceil(|t1 - t0| / dt)``, so the
        last point lands exactly on ``t1``. Needs concrete ``t_span`` and ``dt``.
    method : {"leapfrog", "velocity_verlet", "symplectic_euler", "yoshida4"}
        ``"leapfrog"`` and ``"velocity_verlet"`` are the same 2nd-order kick-drift-kick scheme
        (one force evaluation per step); ``"symplectic_euler"`` is 1st order (kick, then drift);
        ``"yoshida4"`` is Yoshida's 4th-order triple-jump composition (three force evaluations).
    args : tuple, optional
        Extra arguments to ``H``.
    n_steps : int, optional
        The number of steps, instead of ``dt``; then ``t_span`` may be traced.
    save_every : int
        Save every ``save_every``-th step (must divide the number of steps).

    Returns
    -------
    HamiltonianSolution
        ``t`` of shape ``(n_steps // save_every + 1,)``, and ``q``, ``p`` with that leading axis.

    Differences from SciPy
    ----------------------
    SciPy has no symplectic integrator. Results put time on the leading axis (``q[i]`` is the
    state at ``t[i]``), unlike ``solve_ivp(...).y``, because ``q`` may have any shape.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from scijax.physics import solve_hamiltonian
    >>> H = lambda q, p: 0.5 * (p**2 + q**2).sum()
    >>> sol = solve_hamiltonian(H, jnp.array([1.0]), jnp.array([0.0]), (0.0, jnp.pi), dt=0.01)
    >>> bool(abs(sol.q[-1, 0] + 1.0) < 1e-4)
    True
    """
    if method not in SYMPLECTIC_METHODS:
        raise ValueError(f"`method` must be one of {tuple(SYMPLECTIC_METHODS)}, got {method!r}.")
    if len(t_span) != 2:
        raise ValueError(f"`t_span` must be a pair (t0, t1), got {t_span!r}.")
    q0, p0 = jnp.asarray(q0), jnp.asarray(p0)
    if q0.shape != p0.shape:
        raise ValueError(f"`q0` and `p0` must have the same shape, got {q0.shape} and {p0.shape}.")
    dtype = jnp.result_type(q0, p0, float)
    q0, p0 = q0.astype(dtype), p0.astype(dtype)
    args = tuple(jnp.asarray(a) for a in args)
    out = jax.eval_shape(H, q0, p0, *args)
    if getattr(out, "shape", None) != ():
        raise ValueError(f"`H` must return a scalar, got shape {getattr(out, 'shape', None)}.")
    n = _step_count(t_span, dt, n_steps)
    if not isinstance(save_every, int | np.integer) or save_every < 1 or n % save_every:
        raise ValueError(f"`save_every` must be a positive integer dividing the {n} steps, got {save_every!r}.")

    t0, t1 = (jnp.asarray(t, dtype) for t in t_span)
    h = (t1 - t0) / n
    velocity = jax.grad(H, argnums=1)
    force = lambda q, p: -jax.grad(H, argnums=0)(q, p, *args)
    ops = SYMPLECTIC_METHODS[method]
    cache = ops[0][0] == "kick"  # carry the force to the next step (one evaluation per leapfrog step)

    def step(carry, _):
        q, p, f = carry
        fresh = cache  # whether ``f`` is the force at the current ``q``
        for kind, c in ops:
            if kind == "drift":
                q, fresh = q + (c * h) * velocity(q, p, *args), False
            else:
                if not fresh:
                    f, fresh = force(q, p), True
                p = p + (c * h) * f
        if not cache:
            return (q, p, carry[2]), None
        return (q, p, f if fresh else force(q, p)), None

    def save_block(carry, _):
        carry, _ = jax.lax.scan(step, carry, None, length=save_every)
        return carry, carry[:2]

    f0 = force(q0, p0) if cache else jnp.zeros((), dtype)
    (q, p, _), (qs, ps) = jax.lax.scan(save_block, (q0, p0, f0), None, length=n // save_every)
    finite = jnp.all(jnp.isfinite(q)) & jnp.all(jnp.isfinite(p))
    return HamiltonianSolution(
        t=t0 + h * jnp.arange(0, n + 1, save_every, dtype=dtype),
        q=jnp.concatenate([q0[None], qs]),
        p=jnp.concatenate([p0[None], ps]),
        n_steps=n,
        status=jnp.where(finite, 0, -1),
        success=finite,
    )
