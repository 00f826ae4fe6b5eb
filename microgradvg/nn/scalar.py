"""Scalar neural networks made of `Value`s: `Neuron`, `Layer`, `ScalarMLP`.

micrograd's shape (`MLP(2, [16, 16, 1])`), with a choice of activation and
labels on every parameter (`L1.n3.w7`, `L2.n0.b`) so chains and pictures read well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from ..engine.value import Value
from .activations import activation as find_activation
from .init import Seed, initialiser, rng_from
from .state import Slot, load_into, state_of

Input = Sequence[Value | float]


def as_values(x: Input) -> list[Value]:
    """Inputs as Values: floats become leaves labelled x0, x1, …"""
    return [xi if isinstance(xi, Value) else Value(xi, f"x{i}") for i, xi in enumerate(x)]


class Neuron:
    """aˡⱼ = activation(Σᵢ wⱼᵢ xᵢ + bⱼ), its pre-activation one `linear` node.

    The nodes it makes are labelled too (`L1.n3.z`, `L1.n3.a`), so a chain through
    the network reads neuron by neuron.
    """

    def __init__(self, weights: Sequence[float], bias: float, activation: str, label: str) -> None:
        self.w = [Value(w, f"{label}.w{i}") for i, w in enumerate(weights)]
        self.b = Value(bias, f"{label}.b")
        self._activate = find_activation(activation, "Neuron").apply
        self.activation = activation
        self.labels = (f"{label}.z", f"{label}.a")  # made once: a forward pass labels many nodes

    def __call__(self, x: Input) -> Value:
        z = Value.linear(self.w, as_values(x), self.b)
        z.label = self.labels[0]
        a = self._activate(z)
        if a is not z:
            a.label = self.labels[1]
        return a

    def parameters(self) -> list[Value]:
        """Weights then bias."""
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer:
    """A list of neurons sharing the same inputs."""

    def __init__(self, neurons: list[Neuron]) -> None:
        self.neurons = neurons

    def __call__(self, x: Input) -> list[Value]:
        x = as_values(x)
        return [neuron(x) for neuron in self.neurons]

    def parameters(self) -> list[Value]:
        """Every neuron's parameters, neuron by neuron."""
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        return f"Layer(of {len(self.neurons)} neurons: {self.neurons[0]!r})"


class ScalarMLP:
    """A multi-layer perceptron of Values: `ScalarMLP(2, [16, 16, 1])`.

    Hidden layers use `activation`, the last layer `output_activation`.
    `init` names an initialisation from `microgradvg.nn.init` ("uniform" is micrograd's).
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        output_activation: str = "linear",
        init: str = "uniform",
        seed: Seed = None,
    ) -> None:
        sizes = [nin, *nouts]
        if len(nouts) == 0 or any(not isinstance(n, int) or n < 1 for n in sizes):
            raise ValueError(f"MLP: sizes must be positive ints with at least one layer, got {sizes}")
        find_activation(activation, "MLP")
        find_activation(output_activation, "MLP")
        make, rng = initialiser(init), rng_from(seed)
        self.sizes = sizes
        self.layers: list[Layer] = []
        for index, (n_in, n_out) in enumerate(pairwise(sizes), start=1):
            weights, biases = make(n_in, n_out, rng)
            act = output_activation if index == len(nouts) else activation
            self.layers.append(Layer([
                Neuron(weights[j].tolist(), float(biases[j]), act, f"L{index}.n{j}")
                for j in range(n_out)
            ]))

    def __call__(self, x: Input) -> Value | list[Value]:
        """The output Value (or list of them when the last layer is wider than 1)."""
        out = as_values(x)
        for layer in self.layers:
            out = layer(out)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Every parameter, layer by layer."""
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, np.ndarray]:
        """`L1.W` (n_out, n_in), `L1.b` (n_out,), … as float64 arrays: the names and shapes
        a `TensorMLP` of the same sizes uses, so weights copy between the two engines."""
        return state_of(self._slots())

    def load_state_dict(self, mapping: Mapping[str, Any], strict: bool = True) -> None:
        """Set every weight and bias from arrays named as `state_dict` names them."""
        load_into("ScalarMLP", self._slots(), mapping, strict)

    def _slots(self) -> Iterator[Slot]:
        for index, layer in enumerate(self.layers, start=1):
            weights = [neuron.w for neuron in layer.neurons]
            biases = [[neuron.b] for neuron in layer.neurons]
            for name, values in ((f"L{index}.W", weights), (f"L{index}.b", biases)):
                array = np.array([[v.data for v in row] for row in values])
                if name.endswith(".b"):
                    array = array[:, 0]
                yield name, array, _setter(values)

    def __repr__(self) -> str:
        """`ScalarMLP(2, [4, 4, 1], relu→linear)`: the engine, the sizes, hidden→output activation."""
        hidden, output = self.layers[0].neurons[0].activation, self.layers[-1].neurons[0].activation
        activations = output if len(self.layers) == 1 else f"{hidden}→{output}"
        return f"ScalarMLP({self.sizes[0]}, {self.sizes[1:]}, {activations})"


def _setter(values: list[list[Value]]) -> Any:
    """Writes an array into the Values' data, row by row (a bias vector is one column)."""

    def put(array: np.ndarray) -> None:
        rows = array.reshape(len(values), -1).tolist()
        for row, numbers in zip(values, rows):
            for value, number in zip(row, numbers):
                value.data = number

    return put
