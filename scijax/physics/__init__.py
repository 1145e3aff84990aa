"""Model systems, PDE operators and structure-preserving integrators.

- A catalog of ODE model systems (:data:`SYSTEMS`), each an ``equinox.Module`` with a right-hand
  side in SciPy's convention, so ``solve_ivp(sys.rhs, sys.t_span, sys.y0, args=sys.params)``
  works with SciPy and scijax alike, plus analytic solutions and invariants where they exist.
- Second-order finite differences (:func:`gradient`, :func:`divergence`, :func:`laplacian`) on
  1-, 2- and 3-D grids with periodic, Dirichlet and Neumann boundaries, and method-of-lines
  PDE models built on them; the same operators as LinearOperators
  (:func:`laplacian_operator`, ...) and a CG Poisson solver (:func:`solve_poisson`).
- :func:`solve_hamiltonian`: symplectic Euler, leapfrog and Yoshida-4 with forces by autodiff.
"""

from ._base import AbstractODESystem as AbstractODESystem
from ._classic import Brusselator as Brusselator
from ._classic import DampedDrivenPendulum as DampedDrivenPendulum
from ._classic import ExponentialDecay as ExponentialDecay
from ._classic import FitzHughNagumo as FitzHughNagumo
from ._classic import HarmonicOscillator as HarmonicOscillator
from ._classic import Lorenz63 as Lorenz63
from ._classic import LotkaVolterra as LotkaVolterra
from ._classic import Rossler as Rossler
from ._classic import VanDerPol as VanDerPol
from ._fd import BOUNDARY_CONDITIONS as BOUNDARY_CONDITIONS
from ._fd import divergence as divergence
from ._fd import gradient as gradient
from ._fd import grid as grid
from ._fd import laplacian as laplacian
from ._hamiltonian import SYMPLECTIC_METHODS as SYMPLECTIC_METHODS
from ._hamiltonian import HamiltonianSolution as HamiltonianSolution
from ._hamiltonian import solve_hamiltonian as solve_hamiltonian
from ._kinetics import SEIR as SEIR
from ._kinetics import SIR as SIR
from ._kinetics import Robertson as Robertson
from ._mechanics import DoublePendulum as DoublePendulum
from ._mechanics import Kepler as Kepler
from ._mechanics import NBody as NBody
from ._mechanics import nbody_accelerations as nbody_accelerations
from ._mechanics import nbody_angular_momentum as nbody_angular_momentum
from ._mechanics import nbody_energy as nbody_energy
from ._mechanics import nbody_momentum as nbody_momentum
from ._mol import Advection as Advection
from ._mol import Burgers as Burgers
from ._mol import FisherKPP as FisherKPP
from ._mol import GrayScott as GrayScott
from ._mol import Heat as Heat
from ._mol import Wave as Wave
from ._operators import divergence_operator as divergence_operator
from ._operators import gradient_operator as gradient_operator
from ._operators import laplacian_operator as laplacian_operator
from ._operators import solve_poisson as solve_poisson
from ._registry import SYSTEMS as SYSTEMS
from ._registry import get_system as get_system

__all__ = [
    "AbstractODESystem",
    "SYSTEMS",
    "get_system",
    "ExponentialDecay",
    "HarmonicOscillator",
    "DampedDrivenPendulum",
    "LotkaVolterra",
    "VanDerPol",
    "Lorenz63",
    "Rossler",
    "FitzHughNagumo",
    "Robertson",
    "Brusselator",
    "SIR",
    "SEIR",
    "DoublePendulum",
    "Kepler",
    "NBody",
    "nbody_accelerations",
    "nbody_energy",
    "nbody_momentum",
    "nbody_angular_momentum",
    "Heat",
    "Burgers",
    "Advection",
    "Wave",
    "GrayScott",
    "FisherKPP",
    "BOUNDARY_CONDITIONS",
    "grid",
    "gradient",
    "divergence",
    "laplacian",
    "laplacian_operator",
    "gradient_operator",
    "divergence_operator",
    "solve_poisson",
    "solve_hamiltonian",
    "HamiltonianSolution",
    "SYMPLECTIC_METHODS",
]
