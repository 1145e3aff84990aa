"""SciPy-compatible solvers written as pure JAX functions.

``integrate`` mirrors :mod:`scipy.integrate`, ``optimize`` mirrors
:mod:`scipy.optimize` and ``linalg`` mirrors :mod:`scipy.linalg` together with
:mod:`scipy.sparse.linalg`. Nothing in here depends on ``scijax.ml``,
``scijax.physics`` or ``scijax.parallel``.
"""
