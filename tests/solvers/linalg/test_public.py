import scijax.solvers.integrate._quad as quad_mod
import scijax.solvers.integrate._quad_fixed as fixed_mod
import scijax.solvers.linalg as linalg


def test_every_public_name_has_a_docstring():
    names = [getattr(linalg, n) for n in linalg.__all__]
    names += [quad_mod.quad, quad_mod.quad_vec, fixed_mod.fixed_quad, fixed_mod.simpson, fixed_mod.romb,
              fixed_mod.cumulative_trapezoid, fixed_mod.trapezoid]
    for obj in names:
        assert obj.__doc__ and obj.__doc__.strip(), obj
