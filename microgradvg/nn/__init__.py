"""Neural networks on either engine: scalar `Neuron`/`Layer` and Tensor `Module`/`Linear`.

`MLP(2, [16, 16, 1])` (micrograd's shape) builds a network of `Value`s;
`MLP([784, 30, 10])` (a list of sizes, Nielsen's shape) builds one of `Tensor`s.
`Sequential`, `Residual`, `LayerNorm`, `BatchNorm1d`, `RNN` and `LSTM` follow PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence

from .activations import ACTIVATIONS, Activation
from .costs import COSTS, Cost
from .init import Seed
from .losses import (
    cross_entropy,
    l2_penalty,
    quadratic_cost,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from .modules import ReLU, Residual, Sequential, Sigmoid, Tanh
from .norm import BatchNorm1d, LayerNorm
from .recurrent import LSTM, RNN
from .scalar import Layer, Neuron, ScalarMLP
from .tensor import Linear, Module, TensorMLP, apply_activation
from .weights import WeightsError, load_weights, save_weights


def MLP(
    sizes: int | Sequence[int],
    nouts: Sequence[int] | None = None,
    *,
    activation: str | None = None,
    output_activation: str | None = None,
    init: str | None = None,
    seed: Seed = None,
    engine: str | None = None,
    **options,
) -> ScalarMLP | TensorMLP:
    """A multi-layer perceptron on the engine its call shape names.

    `MLP(nin, nouts)` — micrograd's shape — is a `ScalarMLP` of Values (default
    relu hidden layers, linear output, U(−1, 1) weights). `MLP(sizes)` — Nielsen's
    list of layer sizes — is a `TensorMLP` (default sigmoid everywhere, Nielsen's
    initialisation). `engine="scalar"` or `"tensor"` picks explicitly.
    """
    if nouts is not None:
        if not isinstance(sizes, int):
            raise TypeError(f"MLP: with nouts, the first argument is nin (an int), got {sizes!r}")
        layer_sizes = [sizes, *nouts]
        engine = engine or "scalar"
    elif isinstance(sizes, int):
        raise TypeError("MLP: give either MLP(nin, nouts) or MLP([n0, n1, …])")
    else:
        layer_sizes = list(sizes)
        engine = engine or "tensor"
    if engine == "scalar":
        if options:
            raise TypeError(
                f"MLP: {sorted(options)} apply to Tensor networks only; a scalar MLP of Values takes "
                "activation, output_activation, init and seed"
            )
        return ScalarMLP(
            layer_sizes[0],
            layer_sizes[1:],
            activation=activation or "relu",
            output_activation=output_activation or ("linear" if nouts is not None else activation or "relu"),
            init=init or "uniform",
            seed=seed,
        )
    if engine == "tensor":
        return TensorMLP(
            layer_sizes,
            activation=activation or "sigmoid",
            output_activation=output_activation,
            init=init or "nielsen",
            seed=seed,
            **options,
        )
    raise ValueError(f"MLP: unknown engine {engine!r}; valid: 'scalar', 'tensor'")


__all__ = [
    "ACTIVATIONS",
    "COSTS",
    "LSTM",
    "MLP",
    "RNN",
    "Activation",
    "BatchNorm1d",
    "Cost",
    "Layer",
    "LayerNorm",
    "Linear",
    "Module",
    "Neuron",
    "ReLU",
    "Residual",
    "ScalarMLP",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "TensorMLP",
    "WeightsError",
    "apply_activation",
    "cross_entropy",
    "l2_penalty",
    "load_weights",
    "quadratic_cost",
    "save_weights",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
]
