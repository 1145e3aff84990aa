"""A multilayer perceptron whose parameters are a plain pytree (a list of ``{"W", "b"}`` dicts).

The network itself holds no arrays: it is a hashable description (sizes and activation), and its
parameters live outside it. So the same parameters go to optax, to
:func:`scijax.solvers.optimize.minimize`, to a checkpoint file or through ``jax.grad`` without any
filtering, and a jitted function that closes over the network never recompiles for new weights.
"""

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._typing import Array, ArrayLike, DTypeLike, PyTree

__all__ = ["MLP", "ACTIVATIONS", "check_key"]

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
    "sin": jnp.sin,
    "elu": jax.nn.elu,
    "identity": lambda x: x,
}
"""Activation name -> function. ``MLP(activation=...)`` takes one of these names."""


def check_key(key, name: str = "key") -> Array:
    """Return ``key`` as a JAX PRNG key, or raise a ``TypeError`` naming the argument."""
    if key is None:
        raise ValueError(f"`{name}` is required: pass an explicit PRNG key such as jax.random.key(0).")
    if not isinstance(key, jax.Array):
        raise TypeError(f"`{name}` must be a JAX PRNG key (jax.random.key(seed)), got {type(key).__name__}.")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"`{name}` must be a single PRNG key, got a batch of shape {key.shape}.")
        return key
    if key.shape == (2,) and key.dtype == jnp.uint32:  # a legacy jax.random.PRNGKey
        return key
    raise TypeError(f"`{name}` must be a JAX PRNG key (jax.random.key(seed)), got an array of "
                    f"dtype {key.dtype} and shape {key.shape}.")


class MLP(eqx.Module):
    """A fully connected network ``in_size -> width x depth -> out_size``; parameters kept outside.

    Parameters
    ----------
    in_size, out_size : int
        Input and output features.
    width : int
        Units in each hidden layer.
    depth : int
        Number of hidden layers (0 gives an affine map).
    activation : str
        A key of :data:`ACTIVATIONS`, applied after every hidden layer (not after the last).

    Notes
    -----
    ``init(key)`` returns the parameters: a list of ``depth + 1`` dicts ``{"W": (fan_in, fan_out),
    "b": (fan_out,)}``, drawn uniformly from :math:`\\pm 1/\\sqrt{\\text{fan\\_in}}` (PyTorch's and
    Equinox's default). ``net(params, x)`` evaluates the network on ``x`` of shape ``(in_size,)``
    or ``(..., in_size)``: a batch is one matrix product per layer, never a Python loop.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from scijax.ml import MLP
    >>> net = MLP(2, 1, width=16, depth=2)
    >>> params = net.init(jax.random.key(0))
    >>> net(params, jnp.ones((5, 2))).shape
    (5, 1)
    """

    in_size: int = eqx.field(static=True)
    out_size: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    depth: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(self, in_size: int, out_size: int, width: int = 64, depth: int = 2, activation: str = "tanh"):
        for name, value, low in (("in_size", in_size, 1), ("out_size", out_size, 1), ("width", width, 1),
                                 ("depth", depth, 0)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"`{name}` must be an integer, got {value!r}.")
            if value < low:
                raise ValueError(f"`{name}` must be >= {low}, got {value}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
        self.in_size, self.out_size, self.width, self.depth = in_size, out_size, width, depth
        self.activation = activation

    @property
    def layer_sizes(self) -> tuple[tuple[int, int], ...]:
        """``(fan_in, fan_out)`` of every layer, input to output."""
        sizes = [self.in_size] + [self.width] * self.depth + [self.out_size]
        return tuple(zip(sizes[:-1], sizes[1:], strict=True))

    def init(self, key: Array, dtype: DTypeLike | None = None, final_scale: float = 1.0) -> list[dict[str, Array]]:
        """Fresh parameters drawn from ``key``.

        Parameters
        ----------
        key : PRNG key
            Explicit randomness; the same key always gives the same parameters.
        dtype : dtype, optional
            Floating dtype of the parameters; default the default float (float64 under x64).
        final_scale : float, optional
            Multiplies the last layer's weights and bias. A small value (say ``1e-2``) starts a
            correction network near zero, so a hybrid model starts from its physics.
        """
        key = check_key(key)
        dtype = jnp.result_type(float) if dtype is None else dtype
        if not jnp.issubdtype(dtype, jnp.floating):  # pyright: ignore[reportArgumentType] (dtype set above)
            raise TypeError(f"`dtype` must be a floating dtype, got {dtype}.")
        params = []
        keys = jax.random.split(key, len(self.layer_sizes))
        for i, ((fan_in, fan_out), k) in enumerate(zip(self.layer_sizes, keys, strict=True)):
            kw, kb = jax.random.split(k)
            bound = 1.0 / math.sqrt(fan_in)
            scale = final_scale if i == len(self.layer_sizes) - 1 else 1.0
            W = scale * jax.random.uniform(kw, (fan_in, fan_out), dtype, -bound, bound)
            b = scale * jax.random.uniform(kb, (fan_out,), dtype, -bound, bound)
            params.append({"W": W, "b": b})
        return params

    def check_params(self, params: PyTree) -> None:
        """Raise ``ValueError`` naming ``params`` if they do not fit this network (shapes only)."""
        if not isinstance(params, (list, tuple)) or len(params) != len(self.layer_sizes):
            raise ValueError(f"`params` must be a list of {len(self.layer_sizes)} layer dicts for "
                             f"{self}, got {type(params).__name__} of length {_length(params)}.")
        for i, (layer, (fan_in, fan_out)) in enumerate(zip(params, self.layer_sizes, strict=True)):
            if not isinstance(layer, dict) or set(layer) != {"W", "b"}:
                raise ValueError(f"`params[{i}]` must be a dict with keys 'W' and 'b'.")
            W, b = jnp.shape(layer["W"]), jnp.shape(layer["b"])
            if W != (fan_in, fan_out) or b != (fan_out,):
                raise ValueError(f"`params[{i}]` has W {W} and b {b}; {self} needs W {(fan_in, fan_out)} "
                                 f"and b {(fan_out,)}.")

    def __call__(self, params: PyTree, x: ArrayLike) -> Array:
        """Evaluate on ``x`` of shape ``(in_size,)`` or ``(..., in_size)``."""
        self.check_params(params)  # shapes are static, so this costs nothing under jit
        x = jnp.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.in_size:
            raise ValueError(f"`x` must have last dimension {self.in_size}, got shape {x.shape}.")
        act = ACTIVATIONS[self.activation]
        for layer in params[:-1]:
            x = act(x @ layer["W"] + layer["b"])
        return x @ params[-1]["W"] + params[-1]["b"]

    def __repr__(self) -> str:
        return (f"MLP({self.in_size} -> {self.width} x {self.depth} -> {self.out_size}, "
                f"activation={self.activation!r})")


def _length(x) -> str:
    try:
        return str(len(x))
    except TypeError:
        return "n/a"
