"""Model systems, PDE operators and structure-preserving integrators.

Will hold a registry of ODE model systems (right-hand sides in SciPy's calling
convention, default parameters, reference solutions), matrix-free finite
difference operators and Hamiltonian integrators.
"""

__all__: list[str] = []
