"""Neural-network components for hybrid physics and machine-learning models, trained through the solvers.

- Networks: :class:`MLP` (width, depth, activation; parameters are a plain pytree from an
  explicit PRNG key, usable by optax and :func:`scijax.solvers.optimize.minimize` alike).
- Models: :class:`NeuralODE` and :class:`HybridODE` (a catalog physics right-hand side plus a
  network correction), solved by ``solve_ivp`` or, with ``dt=...``, by a fixed-step batched path.
- Losses: :func:`trajectory_mse`, :func:`multiple_shooting_loss`, :func:`mse`; PINN helpers
  :func:`ode_residual`, :func:`pde_residual`, :func:`residual_loss`, :func:`boundary_loss`,
  :func:`initial_loss`, :func:`sample_collocation`, :func:`sample_boundary`.
- Training: :func:`fit` (jitted optax steps, progress bar, early stopping), :func:`lbfgs_finish`,
  :func:`save_checkpoint` / :func:`load_checkpoint` (``.npz``, never pickle).
- Data: :class:`DataLoader`, :func:`train_test_split`, :func:`noisy_trajectories`.
"""

from ._checkpoint import CheckpointError as CheckpointError
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._data import DataLoader as DataLoader
from ._data import train_test_split as train_test_split
from ._fixed_step import FIXED_STEP_ADJOINTS as FIXED_STEP_ADJOINTS
from ._fixed_step import FIXED_STEP_METHODS as FIXED_STEP_METHODS
from ._losses import mse as mse
from ._losses import multiple_shooting_loss as multiple_shooting_loss
from ._losses import trajectory_mse as trajectory_mse
from ._mlp import ACTIVATIONS as ACTIVATIONS
from ._mlp import MLP as MLP
from ._models import AbstractODEModel as AbstractODEModel
from ._models import HybridODE as HybridODE
from ._models import NeuralODE as NeuralODE
from ._pinn import COLLOCATION_METHODS as COLLOCATION_METHODS
from ._pinn import PDE_RESIDUALS as PDE_RESIDUALS
from ._pinn import boundary_loss as boundary_loss
from ._pinn import initial_loss as initial_loss
from ._pinn import ode_residual as ode_residual
from ._pinn import pde_residual as pde_residual
from ._pinn import residual_loss as residual_loss
from ._pinn import sample_boundary as sample_boundary
from ._pinn import sample_collocation as sample_collocation
from ._sampling import Trajectories as Trajectories
from ._sampling import noisy_trajectories as noisy_trajectories
from ._train import FitResult as FitResult
from ._train import fit as fit
from ._train import lbfgs_finish as lbfgs_finish

__all__ = [
    "MLP",
    "ACTIVATIONS",
    "AbstractODEModel",
    "NeuralODE",
    "HybridODE",
    "FIXED_STEP_METHODS",
    "FIXED_STEP_ADJOINTS",
    "mse",
    "trajectory_mse",
    "multiple_shooting_loss",
    "ode_residual",
    "pde_residual",
    "PDE_RESIDUALS",
    "residual_loss",
    "boundary_loss",
    "initial_loss",
    "sample_collocation",
    "sample_boundary",
    "COLLOCATION_METHODS",
    "fit",
    "FitResult",
    "lbfgs_finish",
    "save_checkpoint",
    "load_checkpoint",
    "CheckpointError",
    "DataLoader",
    "train_test_split",
    "noisy_trajectories",
    "Trajectories",
]
