"""Tensor neural networks: `Module`, `Linear` and `TensorMLP`.

Nielsen's networks (`TensorMLP([784, 30, 30, 10])`) with named activations and
initialisations; each layer is one fused `linear` node, so a chain through
the network reads z → σ(z) → z → … with the weight matrix as the factor.
Every module has `train()`/`eval()` and `state_dict()`/`load_state_dict()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Any, Self

import numpy as np

from ..engine.functional import linear
from ..engine.tensor import ArrayLike, Tensor
from .activations import ACTIVATIONS
from .activations import activation as find_activation
from .init import Seed, initialiser, rng_from
from .state import Slot, load_into, state_of


class Module:
    """A container of parameters: subclasses set attributes and define `forward`.

    Parameters are the attributes that are Tensors with requires_grad; submodules
    are attributes that are Modules, or lists and tuples of them (named `name.i`).
    Buffers (state that is saved but not trained, like BatchNorm's running mean)
    are the ndarray attributes listed in the class's `buffer_names`.
    """

    training = True  # what train() and eval() switch, for every submodule
    buffer_names: tuple[str, ...] = ()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, submodule) for each direct submodule, in attribute order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(dotted name, parameter) for every parameter: this module's own, then its children's."""
        for name, value in vars(self).items():
            if isinstance(value, Tensor) and value.requires_grad:
                yield f"{prefix}{name}", value
        for name, child in self.named_children():
            yield from child.named_parameters(f"{prefix}{name}.")

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, ndarray) for every buffer, this module's first."""
        for name in self.buffer_names:
            yield f"{prefix}{name}", getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(f"{prefix}{name}.")

    def train(self, mode: bool = True) -> Self:
        """Training mode (the default) for this module and its submodules; returns self.

        Only BatchNorm behaves differently: batch statistics in training, running ones in eval.
        """
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Self:
        """Evaluation mode, `train(False)`; returns self."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer by dotted name, as ndarray copies (PyTorch's names)."""
        return state_of(self._slots())

    def load_state_dict(self, mapping: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers by name (see `state_dict`).

        Values may be ndarrays, Tensors or PyTorch tensors; shapes must match, dtypes are
        cast to the model's. With `strict`, missing and unexpected names are a KeyError.
        """
        load_into(type(self).__name__, self._slots(), mapping, strict)

    def _slots(self) -> Iterator[Slot]:
        for name, parameter in self.named_parameters():
            yield name, parameter.data, _copier(parameter.data)
        for name, buffer in self.named_buffers():
            yield name, buffer, _copier(buffer)

    def parameters(self) -> list[Tensor]:
        """Every parameter Tensor."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set it to None)."""
        for p in self.parameters():
            p.grad = None

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: ArrayLike) -> Tensor:
        """`forward` on `x`; a float ndarray input is wrapped as a constant without a copy."""
        return self.forward(as_input(x))


class Linear(Module):
    """z = x Wᵀ + b with W of shape (n_out, n_in), as in Nielsen's zˡ = Wˡaˡ⁻¹ + bˡ.

    PyTorch's `nn.Linear(in_features, out_features)`: parameters `weight` and `bias`;
    `init="pytorch"` draws PyTorch's U(−1/√n_in, 1/√n_in) instead of Nielsen's default.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str = "nielsen",
        seed: Seed = None,
        label: str = "",
        dtype=np.float64,
    ) -> None:
        check_sizes("Linear", n_in=n_in, n_out=n_out)
        weight, bias = initialiser(init)(n_in, n_out, rng_from(seed))
        self.weight = Tensor(weight.astype(dtype), requires_grad=True, label=f"{label}W".lstrip("."))
        self.bias = Tensor(bias.astype(dtype), requires_grad=True, label=f"{label}b".lstrip("."))

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def __repr__(self) -> str:
        n_out, n_in = self.weight.shape
        return f"Linear({n_in}, {n_out})"


class TensorMLP(Module):
    """A multi-layer perceptron: `TensorMLP([784, 30, 10], activation="sigmoid")`.

    Hidden layers use `activation`, the last `output_activation` (default: the
    same). Parameters are labelled `L1.W`, `L1.b`, … like Nielsen's Wˡ, bˡ.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output_activation: str | None = None,
        init: str = "nielsen",
        seed: Seed = None,
        dtype=np.float64,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(n, (int, np.integer)) or n < 1 for n in sizes):
            raise ValueError(f"MLP: sizes must be at least two positive ints, got {sizes}")
        self.sizes = sizes
        self.activation = find_activation(activation, "MLP").name
        self.output_activation = find_activation(output_activation or activation, "MLP").name
        rng = rng_from(seed)
        self.layers = [
            Linear(n_in, n_out, init, rng, label=f"L{i}.", dtype=dtype)
            for i, (n_in, n_out) in enumerate(pairwise(sizes), start=1)
        ]

    def activation_of(self, layer: int) -> str:
        """The activation of layer `layer` (1-based, like Nielsen's l)."""
        return self.output_activation if layer == len(self.layers) else self.activation

    def forward(self, x: Tensor) -> Tensor:
        *hidden, last = self.layers
        activation = self.activation
        for layer in hidden:  # apply_activation, spelled out: a call per layer costs more than it reads
            z = linear(x, layer.weight, layer.bias)
            x = z if activation == "linear" else getattr(z, activation)()
        z = linear(x, last.weight, last.bias)
        return z if self.output_activation == "linear" else getattr(z, self.output_activation)()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for i, layer in enumerate(self.layers, start=1):
            yield f"{prefix}L{i}.W", layer.weight
            yield f"{prefix}L{i}.b", layer.bias

    def __repr__(self) -> str:
        """`TensorMLP([784, 30, 10], sigmoid→sigmoid)`: the engine, the sizes, hidden→output
        activation, and the dtype when it is not float64."""
        activations = (
            self.output_activation if len(self.layers) == 1
            else f"{self.activation}→{self.output_activation}"
        )
        dtype = self.layers[0].weight.data.dtype
        extra = "" if dtype == np.float64 else f", {dtype}"
        return f"TensorMLP({list(self.sizes)}, {activations}{extra})"


def check_sizes(op: str, **sizes: Any) -> None:
    """A ValueError naming `op` unless every size is a positive int."""
    for name, n in sizes.items():
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{op}: {name} must be a positive int, got {n!r}")


def _copier(array: np.ndarray) -> Any:
    """Puts a new value into `array` in place, so Tensors and optimisers holding it see it."""
    return lambda value: np.copyto(array, value)


def as_input(x: ArrayLike) -> Tensor:
    """A Tensor for a network input: float32/float64 ndarrays are shared, not copied."""
    if isinstance(x, Tensor):
        return x
    if type(x) is np.ndarray and (x.dtype == np.float64 or x.dtype == np.float32):
        return Tensor._leaf(x)
    return Tensor(x)


def apply_activation(z: Tensor, activation: str) -> Tensor:
    """The named activation of a Tensor (`linear` is the identity)."""
    return ACTIVATIONS[activation].apply(z)
