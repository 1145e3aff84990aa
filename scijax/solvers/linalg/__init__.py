"""SciPy-compatible linear algebra (mirrors :mod:`scipy.linalg` and :mod:`scipy.sparse.linalg`).

Will hold dense structured solves (``solve``, ``lstsq``, ``cho_factor``, ...),
Krylov methods (``cg``, ``gmres``, ``bicgstab``, ``minres``, ``lsqr``) and
``LinearOperator``.
"""

__all__: list[str] = []
