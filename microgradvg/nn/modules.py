"""Building blocks with PyTorch's names: `Sequential`, `Sigmoid`, `Tanh`, `ReLU`, `Residual`.

`Sequential(Linear(4, 8), Tanh(), Linear(8, 1))` names its parameters `0.weight`,
`0.bias`, `2.weight`, … as PyTorch does, so state dicts copy across; `Residual(block)`
is x + block(x), the skip connection whose short paths keep deep gradients alive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import overload

from ..engine.tensor import Tensor
from .tensor import Module


class Sequential(Module):
    """The modules applied in order: y = mₙ(⋯ m₂(m₁(x))); submodule i is named `i`."""

    def __init__(self, *modules: Module) -> None:
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(module).__name__}")
        self.layers = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return ((str(i), module) for i, module in enumerate(self.layers))

    def forward(self, x: Tensor) -> Tensor:
        for module in self.layers:
            x = module(x)
        return x

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...
    def __getitem__(self, index: int | slice) -> Module:
        """Module `index`, or for a slice a Sequential of those modules (sharing them), as in PyTorch."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(
            f"\n  ({i}): " + repr(module).replace("\n", "\n  ") for i, module in enumerate(self.layers)
        )
        return f"Sequential({inner}\n)" if inner else "Sequential()"


class Sigmoid(Module):
    """σ(x) = 1/(1 + e⁻ˣ), elementwise; σ'(x) = σ(x)·σ(−x) ≤ 1/4."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()

    def __repr__(self) -> str:
        return "Sigmoid()"


class Tanh(Module):
    """tanh x, elementwise; tanh'(x) = sech²x ≤ 1."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()

    def __repr__(self) -> str:
        return "Tanh()"


class ReLU(Module):
    """max(0, x), elementwise; its slope is 1 where x > 0 and 0 elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()

    def __repr__(self) -> str:
        return "ReLU()"


class Residual(Module):
    """y = x + block(x): ∂y/∂x = I + ∂block/∂x, so every block offers the gradient a skip.

    Through n blocks the gradient is a sum over 2ⁿ paths, one per subset of blocks
    taken (Veit et al. 2016). The block's parameters are named `block.…`.
    """

    def __init__(self, block: Module) -> None:
        if not isinstance(block, Module):
            raise TypeError(f"Residual: block must be a Module, got {type(block).__name__}")
        self.block = block

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if out.shape != x.shape:
            raise ValueError(
                f"Residual: block maps shape {x.shape} to {out.shape}; x + block(x) needs the same shape"
            )
        return x + out

    def __repr__(self) -> str:
        return f"Residual({self.block!r})"
