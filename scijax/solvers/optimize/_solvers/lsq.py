"""What SciPy's bounded least-squares engines (TRF, dogbox) share: evaluating residuals, Jacobian,
gradient and cost at a point under a robust loss and a variable scale, the trial's termination
test, and SciPy's status after a trial. ``trf.py`` and ``dogbox.py`` differ only in their step.

Status codes are SciPy's (0 ``max_nfev``, 1 ``gtol``, 2 ``ftol``, 3 ``xtol``, 4 both);
``RUNNING`` marks a solve still in progress.
"""

import jax
import jax.numpy as jnp
import optimistix as optx

from .trf_steps import check_termination, loss_rho, scale_for_loss
from .trust_region import reduction_ratio

__all__ = ["RUNNING", "evaluate", "with_loss", "cost_of", "jac_scale_inv", "evaluate_point",
           "keep_or_evaluate", "trial_status", "next_status",
           "status_terminate"]

RUNNING = -3


def forward_mode_works(g, x) -> bool:
    """Whether ``g`` can be differentiated in forward mode at ``x`` (checked by tracing only).

    A residual built on a reverse-only derivative rule (``solve_ivp``'s default checkpointed
    adjoint is a ``custom_vjp``) cannot be linearised; its Jacobian then comes from reverse mode.
    """
    try:
        jax.eval_shape(lambda z: jax.vmap(jax.linearize(g, z)[1])(jnp.eye(z.shape[0], dtype=z.dtype)), x)
    except TypeError as err:
        if "custom_vjp" in str(err):
            return False
        raise
    return True


def evaluate(fn, x, args):
    """Residuals and their Jacobian: forward mode (one JVP per column), or reverse mode (one VJP
    per row) where the residuals only support reverse mode (a model that solves an ODE with the
    default adjoint)."""
    g = lambda z: fn(z, args)[0]  # noqa: E731
    if forward_mode_works(g, x):
        f, lin = jax.linearize(g, x)
        return f, jax.vmap(lin, out_axes=1)(jnp.eye(x.shape[0], dtype=x.dtype))
    f, vjp = jax.vjp(g, x)
    return f, jax.vmap(lambda c: vjp(c)[0])(jnp.eye(f.shape[0], dtype=f.dtype))


def with_loss(loss, f_scale, f, jac):
    """Cost, and residuals/Jacobian rescaled for a robust loss as SciPy does."""
    if loss is None:
        return 0.5 * jnp.dot(f, f), f, jac
    rho = loss_rho(loss, f, f_scale)
    jac_s, f_s = scale_for_loss(jac, f, rho)
    return 0.5 * jnp.sum(rho[0]), f_s, jac_s


def cost_of(loss, f_scale, f):
    if loss is None:
        return 0.5 * jnp.dot(f, f)
    return 0.5 * jnp.sum(loss_rho(loss, f, f_scale)[0])


def jac_scale_inv(jac, old=None):
    """SciPy's ``compute_jac_scale``: column norms (kept from growing smaller)."""
    col = jnp.sqrt(jnp.sum(jac**2, axis=0))
    return jnp.where(col == 0, 1.0, col) if old is None else jnp.maximum(col, old)


def evaluate_point(solver, fn, x, args, x_scale, scale_inv=None):
    """``(f_true, f, jac, g, cost, scale_inv)`` at ``x`` for ``solver.loss``/``solver.f_scale``.

    ``scale_inv`` is ``1 / x_scale``, or for ``x_scale='jac'`` (``None``) the Jacobian's column
    norms, never smaller than the previous ``scale_inv``.
    """
    f_true, jac = evaluate(fn, x, args)
    cost, f, jac = with_loss(solver.loss, solver.f_scale, f_true, jac)
    if x_scale is None:
        scale_inv = jac_scale_inv(jac, scale_inv)
    elif scale_inv is None:
        scale_inv = 1.0 / x_scale
    return f_true, f, jac, jac.T @ f, cost, scale_inv


def keep_or_evaluate(accept, solver, fn, x_new, args, x_scale, s):
    """:func:`evaluate_point` at an accepted trial, else the state's current values."""

    def accepted(_):
        return evaluate_point(solver, fn, x_new, args, x_scale, s.scale_inv)

    def rejected(_):
        return s.f_true, s.f, s.jac, s.g, s.cost, s.scale_inv

    return jax.lax.cond(accept, accepted, rejected, None)


def trial_status(solver, f_new, cost, predicted, step, x):
    """A trial's actual reduction, its reduction ratio, and SciPy's ftol/xtol code (0 for none,
    and 0 for non-finite residuals). Returns ``(finite, actual, ratio, status)``."""
    finite = jnp.all(jnp.isfinite(f_new))
    actual = jnp.where(finite, cost - cost_of(solver.loss, solver.f_scale, f_new), -1.0)
    ratio = reduction_ratio(actual, predicted)
    status = check_termination(actual, cost, jnp.linalg.norm(step), jnp.linalg.norm(x), ratio,
                               solver.ftol, solver.xtol)
    return finite, actual, ratio, jnp.where(finite, status, 0)


def next_status(status, accept, g_small, nfev, max_nfev):
    """SciPy's status after a trial: its ftol/xtol code if any, else 1 after an accepted step
    with a small scaled gradient, else 0 once ``max_nfev`` evaluations are spent, else running."""
    stop = status != 0
    gtol_ok = accept & jnp.invert(stop) & g_small
    status = jnp.where(stop, status, jnp.where(gtol_ok, 1, RUNNING))
    return jnp.where((status == RUNNING) & (nfev >= max_nfev), 0, status)


def status_terminate(state):
    """Stop once SciPy's status is set (the engines report failures through it)."""
    return state.status != RUNNING, optx.RESULTS.successful
