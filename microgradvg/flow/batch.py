"""An MLP's forward pass over a batch, as `layer_flow` and `layer_curvature` both run it.

`prepare_batch` checks (x, y) against the model and the cost; `tensor_forward` gives zˡ and
aˡ for every layer and `tensor_cost` the cost C; `weight_matrices`, `bias_vectors` and
`tensor_twin` read either kind of MLP (`TensorMLP`, `ScalarMLP`) as arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.functional import linear, sigmoid_cross_entropy, softmax_cross_entropy
from ..engine.tensor import Tensor
from ..nn.losses import quadratic_cost
from ..nn.scalar import ScalarMLP
from ..nn.tensor import TensorMLP, apply_activation

COSTS = ("cross_entropy", "quadratic", "softmax_cross_entropy")
Model = TensorMLP | ScalarMLP


def activations_of(model: Model) -> list[str]:
    """Each layer's activation name, layer 1 first."""
    if isinstance(model, TensorMLP):
        return [model.activation_of(l) for l in range(1, len(model.layers) + 1)]
    return [layer.neurons[0].activation for layer in model.layers]


def weight_matrices(model: Model) -> list[np.ndarray]:
    """Wˡ as (n_out, n_in) arrays (copies for a ScalarMLP), layer 1 first."""
    if isinstance(model, TensorMLP):
        return [layer.weight.data for layer in model.layers]
    return [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in model.layers]


def bias_vectors(model: Model) -> list[np.ndarray]:
    """bˡ as (n_out,) arrays (copies for a ScalarMLP), layer 1 first."""
    if isinstance(model, TensorMLP):
        return [layer.bias.data for layer in model.layers]
    return [np.array([n.b.data for n in layer.neurons]) for layer in model.layers]


def prepare_batch(model: Model, x: Any, y: Any, cost: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked inputs (n, n_in) and targets: (n, n_out) floats, or (n,) labels for softmax."""
    if not isinstance(model, (TensorMLP, ScalarMLP)):
        raise TypeError(
            f"layer_flow: model must be a TensorMLP or a ScalarMLP, got {type(model).__name__}"
        )
    if cost not in COSTS:
        raise ValueError(f"layer_flow: unknown cost {cost!r}; valid: {list(COSTS)}")
    output = activations_of(model)[-1]
    if cost == "cross_entropy" and output != "sigmoid":
        raise ValueError(
            f"layer_flow: cost 'cross_entropy' is Nielsen's, on sigmoid outputs, but the output "
            f"layer is {output!r}; use output_activation='sigmoid', or cost 'softmax_cross_entropy'"
        )
    if cost == "softmax_cross_entropy" and output != "linear":
        raise ValueError(
            f"layer_flow: cost 'softmax_cross_entropy' takes logits, but the output layer is "
            f"{output!r}; use output_activation='linear'"
        )
    n_in, n_out = model.sizes[0], model.sizes[-1]
    inputs = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=float)
    inputs = inputs.reshape(1, -1) if inputs.ndim == 1 else inputs  # (n, n_in)
    if inputs.ndim != 2 or inputs.shape[1] != n_in or len(inputs) == 0:
        raise ValueError(f"layer_flow: x has shape {np.shape(x)}; need (n, {n_in}) with n ≥ 1")
    n = len(inputs)
    targets = np.asarray(y.data if isinstance(y, Tensor) else y)
    if cost == "softmax_cross_entropy":
        if targets.shape == (n, n_out):
            targets = targets.argmax(axis=1)
        if targets.shape != (n,) or targets.dtype.kind not in "iu":
            raise ValueError(
                f"layer_flow: softmax_cross_entropy needs integer labels ({n},) or one-hot ({n}, {n_out}), "
                f"got {targets.dtype} {targets.shape}"
            )
        return inputs, targets
    if targets.ndim == 1 and targets.dtype.kind in "iu" and n_out > 1 and len(targets) == n:
        if targets.min() < 0 or targets.max() >= n_out:
            raise ValueError(f"layer_flow: labels must lie in 0..{n_out - 1}")
        targets = np.eye(n_out)[targets]  # (n, n_out) one-hot
    if targets.ndim == 1 and n_out == 1 and len(targets) == n:
        targets = targets.reshape(n, 1)
    targets = np.asarray(targets, dtype=float)
    if targets.shape != (n, n_out):
        raise ValueError(
            f"layer_flow: y has shape {np.shape(y)}; need ({n}, {n_out}) targets or ({n},) labels"
        )
    return inputs, targets


def tensor_twin(model: ScalarMLP) -> TensorMLP:
    """A TensorMLP with the same sizes, activations, weights and biases as a ScalarMLP."""
    activations = activations_of(model)
    twin = TensorMLP(model.sizes, activation=activations[0], output_activation=activations[-1])
    for layer, weight, bias in zip(twin.layers, weight_matrices(model), bias_vectors(model)):
        layer.weight.data = weight
        layer.bias.data = bias
    return twin


def tensor_forward(
    model: TensorMLP, inputs: np.ndarray, replace: dict[int, tuple[Tensor, Tensor]] | None = None
) -> tuple[list[Tensor], list[Tensor]]:
    """zˡ and aˡ for l = 1..L; `replace[l] = (W, b)` runs layer l with other parameters."""
    replace = replace or {}
    a = Tensor(inputs.astype(model.layers[0].weight.data.dtype, copy=False))  # (n, n_in)
    zs, outputs = [], []
    for l, layer in enumerate(model.layers, start=1):
        weight, bias = replace.get(l, (layer.weight, layer.bias))
        z = linear(a, weight, bias)  # (n, n_l)
        a = apply_activation(z, model.activation_of(l))
        zs.append(z)
        outputs.append(a)
    return zs, outputs


def tensor_cost(z: Tensor, a: Tensor, targets: np.ndarray, cost: str) -> Tensor:
    """C averaged over the batch from the last layer's zᴸ and aᴸ (cross-entropy from zᴸ, stably)."""
    if cost == "quadratic":
        return quadratic_cost(a, targets)
    if cost == "cross_entropy":
        return sigmoid_cross_entropy(z, targets)
    return softmax_cross_entropy(a, targets)


__all__ = [
    "COSTS", "Model", "activations_of", "bias_vectors", "prepare_batch", "tensor_cost",
    "tensor_forward", "tensor_twin", "weight_matrices",
]
