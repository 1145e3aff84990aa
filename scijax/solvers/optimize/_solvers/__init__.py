"""The engines behind the SciPy facades of :mod:`scijax.solvers.optimize`.

One module per algorithm family, each written to optimistix's solver interface
(``AbstractMinimiser``, ``AbstractRootFinder`` or ``AbstractLeastSquaresSolver``: ``init``,
``step``, ``terminate``, ``postprocess``), so that optimistix's loop owns ``max_steps``,
non-finite checks and ``throw``. The facades (``_minimize.py``, ``_root.py``,
``_least_squares.py``, ...) translate SciPy's arguments, pick an engine from their registry and
pack SciPy's result; nothing here knows SciPy's argument names or result fields.

Shared building blocks:

- :mod:`.linesearch`: the one backtracking Armijo search (Newton-CG, L-BFGS-B, SLSQP, Broyden).
- :mod:`.wolfe`: the strong-Wolfe search (bracketing + cubic zoom) of BFGS and CG
  (:mod:`.quasi_newton`).
- :mod:`.trust_region`: the trust-region toolkit (reduction ratio, radius update, sphere
  intersection, the secular-equation solve, truncated CG with a stopping hook, Hessian-vector
  products), used by the trust-region minimisers and by the least-squares engines.
- :mod:`.stopping`: the termination rule our own minimisers share.
- :mod:`.lsq`: what the bounded least-squares engines (TRF, dogbox) share: evaluation under a
  robust loss and variable scale, the trial's termination test, SciPy's status update.

Engines, one family per module: :mod:`.quasi_newton` (BFGS, CG), :mod:`.newton_cg` (Newton-CG),
:mod:`.trust_newton` (trust-ncg, trust-exact, dogleg), :mod:`.trust_krylov`, :mod:`.powell`,
:mod:`.tnc`, :mod:`.lbfgsb`, :mod:`.slsqp`, :mod:`.nelder_mead`, :mod:`.cobyla`, :mod:`.trust_constr` with
:mod:`.trust_constr_sqp`; :mod:`.differential_evolution`, :mod:`.dual_annealing`, :mod:`.direct` (global);
:mod:`.nonlin` with
:mod:`.nonlin_jacobians` (root: Broyden, Anderson, mixing, Newton-Krylov) and :mod:`.dfsane`;
:mod:`.trf` and :mod:`.trf_steps`, :mod:`.dogbox` (least squares); :mod:`.scalar_min` (Brent,
golden, bounded), :mod:`.bracket`, :mod:`.toms748` and :mod:`.newton_scalar` (scalar roots).

Adding a ``minimize`` method: write its engine here (one file), then add one
``MinimizeMethod`` entry to ``MINIMIZE_METHODS`` in ``_minimize_methods.py``.
"""
