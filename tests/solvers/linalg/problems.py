"""Linear systems used by the linalg tests, each built once as a scipy.sparse matrix."""

import numpy as np
import scipy.sparse as sp


def poisson1d(n: int) -> sp.csr_matrix:
    return sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n), dtype=np.float64).tocsr()


def poisson2d(m: int) -> sp.csr_matrix:
    t = poisson1d(m)
    eye = sp.eye(m, dtype=np.float64)
    return (sp.kron(t, eye) + sp.kron(eye, t)).tocsr()


def poisson2d_matvec(m: int):
    """The 2-D Poisson matrix as a matrix-free function of the flattened grid."""
    import jax.numpy as jnp

    def matvec(x):
        u = x.reshape(m, m)
        up = jnp.pad(u, 1)
        out = 4 * u - up[:-2, 1:-1] - up[2:, 1:-1] - up[1:-1, :-2] - up[1:-1, 2:]
        return out.reshape(-1)

    return matvec


def convection_diffusion(m: int, peclet: float = 0.5) -> sp.csr_matrix:
    """Upwind-free central 1-D convection-diffusion: nonsymmetric, well conditioned for small Pe."""
    return sp.diags([-1.0 - peclet, 2.0, -1.0 + peclet], [-1, 0, 1], shape=(m, m)).tocsr()


def convection_diffusion2d(m: int, peclet: float = 0.5) -> sp.csr_matrix:
    c = convection_diffusion(m, peclet)
    eye = sp.eye(m)
    return (sp.kron(c, eye) + sp.kron(eye, c)).tocsr()


def indefinite(n: int, seed: int = 0) -> np.ndarray:
    """A symmetric indefinite matrix with eigenvalues in [-2, -0.5] U [0.5, 2]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(0.5, 2.0, n) * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return (q * lam) @ q.T


def spd(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n, n))
    return g @ g.T / n + np.eye(n)


def rhs(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)
