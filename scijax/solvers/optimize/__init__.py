"""SciPy-compatible optimisation (mirrors :mod:`scipy.optimize`).

Will hold ``minimize``, ``minimize_scalar``, ``root``, ``root_scalar``,
``least_squares``, ``curve_fit``, ``fixed_point``, ``brentq``, ``bisect`` and
``newton``.
"""

__all__: list[str] = []
