"""Ensembles over parameter batches, sharded over devices and hosts.

Will hold ``ensemble`` and ``ensemble_solve_ivp`` with ``vmap``, ``lean`` and
``fused`` backends.
"""

__all__: list[str] = []
