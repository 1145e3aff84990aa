"""Neural-network components for hybrid physics and machine-learning models.

Will hold MLPs, neural and universal differential equations, PINN helpers,
losses, a training loop, checkpoints and a data loader.
"""

__all__: list[str] = []
