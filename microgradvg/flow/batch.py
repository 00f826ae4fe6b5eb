"""A batch checked once against an MLP and a cost, and the MLP's forward pass over it.

`check_batch` checks (x, y) and gives a `Batch` that `layer_flow`, `layer_curvature`,
`diagnose` and `SpeedRecorder` pass along; `tensor_forward` gives zˡ and aˡ for every
layer; `weight_matrices`, `bias_vectors` and `tensor_twin` read either kind of MLP
(`TensorMLP`, `ScalarMLP`) as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.functional import linear
from ..engine.tensor import Tensor
from ..nn.activations import ACTIVATIONS
from ..nn.costs import Cost
from ..nn.costs import cost as find_cost
from ..nn.scalar import ScalarMLP
from ..nn.tensor import TensorMLP

Model = TensorMLP | ScalarMLP


@dataclass(frozen=True)
class Batch:
    """Examples checked against a model and a cost (`check_batch`): `inputs` (n, n_in) floats,
    `targets` (n, n_out) floats or (n,) integer labels, as the `cost` takes them."""

    inputs: np.ndarray
    targets: np.ndarray
    cost: Cost

    def __len__(self) -> int:
        return len(self.inputs)


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


def check_batch(model: Model, x: Any, y: Any, cost: str, caller: str) -> Batch:
    """(x, y) checked against the model and the cost, once; errors name `caller`, the function
    the user called. `x` is (n, n_in) or one example (n_in,); `y` is (n, n_out) targets, or
    integer labels (n,) that become one-hot rows (or stay labels for a cost that takes them)."""
    if not isinstance(model, (TensorMLP, ScalarMLP)):
        raise TypeError(
            f"{caller}: model must be a TensorMLP or a ScalarMLP, got {type(model).__name__}"
        )
    measure = find_cost(cost, caller)
    output = activations_of(model)[-1]
    if measure.output is not None and output != measure.output:
        fix = f"use output_activation={measure.output!r}"
        if measure.output == "sigmoid":
            fix += ", or cost 'softmax_cross_entropy'"
        raise ValueError(
            f"{caller}: cost {cost!r} {measure.why}, but the output layer is {output!r}; {fix}"
        )
    n_in, n_out = model.sizes[0], model.sizes[-1]
    inputs = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=float)
    inputs = inputs.reshape(1, -1) if inputs.ndim == 1 else inputs  # (n, n_in)
    if inputs.ndim != 2 or inputs.shape[1] != n_in or len(inputs) == 0:
        raise ValueError(f"{caller}: x has shape {np.shape(x)}; need (n, {n_in}) with n ≥ 1")
    n = len(inputs)
    targets = np.asarray(y.data if isinstance(y, Tensor) else y)
    for name, values in (("x", inputs), ("y", targets)):  # else NaN reads as an exploding gradient
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise ValueError(f"{caller}: {name} has non-finite values (nan or ±inf); "
                             "the measurements need finite inputs and targets")
    if measure.labels:
        if targets.shape == (n, n_out):
            targets = targets.argmax(axis=1)
        if targets.shape != (n,) or targets.dtype.kind not in "iu":
            raise ValueError(
                f"{caller}: {cost} needs integer labels ({n},) or one-hot ({n}, {n_out}), "
                f"got {targets.dtype} {targets.shape}"
            )
        return Batch(inputs, targets, measure)
    if targets.ndim == 1 and targets.dtype.kind in "iu" and n_out > 1 and len(targets) == n:
        if targets.min() < 0 or targets.max() >= n_out:
            raise ValueError(f"{caller}: labels must lie in 0..{n_out - 1}")
        targets = np.eye(n_out)[targets]  # (n, n_out) one-hot
    if targets.ndim == 1 and n_out == 1 and len(targets) == n:
        targets = targets.reshape(n, 1)
    targets = np.asarray(targets, dtype=float)
    if targets.shape != (n, n_out):
        raise ValueError(
            f"{caller}: y has shape {np.shape(y)}; need ({n}, {n_out}) targets or ({n},) labels"
        )
    return Batch(inputs, targets, measure)


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
        a = ACTIVATIONS[model.activation_of(l)].apply(z)
        zs.append(z)
        outputs.append(a)
    return zs, outputs


__all__ = [
    "Batch", "Model", "activations_of", "bias_vectors", "check_batch", "tensor_forward",
    "tensor_twin", "weight_matrices",
]
