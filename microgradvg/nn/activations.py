"""The activations, once for every part of the package: what each computes and its slope.

`ACTIVATIONS[name]` holds the activation for a `Value` and for a `Tensor`, its slope f'(z) as
numbers, the slope's largest value and the name it is printed under (σ' for the sigmoid,
as Nielsen writes it). Networks, layer flow, curvature, diagnose, pictures and the CLI all
read it; `activation(name, caller)` looks one up with an error that names the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.ops import sech2, sigmoid_parts


@dataclass(frozen=True)
class Activation:
    """One activation f: `apply(z)` for a Value or a Tensor z, `slope(z)` = f'(z) on an
    ndarray, `max_slope` = max f', and `symbol`, the letter its slope is printed with."""

    name: str
    symbol: str
    max_slope: float
    slope: Callable[[np.ndarray], np.ndarray]

    def apply(self, z: Any) -> Any:
        """f(z) for a Value or a Tensor z: one graph node, or z itself for `linear`."""
        return z if self.name == "linear" else getattr(z, self.name)()


def _sigmoid_slope(z: np.ndarray) -> np.ndarray:
    far = sigmoid_parts(z)[1]  # σ(−|z|): σ'(z) = f·(1 − f) never rounds above 1/4
    return far * (1.0 - far)


# Ordered as the error messages list them.
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", "relu", 1.0, lambda z: (z > 0).astype(z.dtype)),
    "tanh": Activation("tanh", "tanh", 1.0, sech2),
    "sigmoid": Activation("sigmoid", "σ", 0.25, _sigmoid_slope),
    "linear": Activation("linear", "linear", 1.0, np.ones_like),
}


def activation(name: Any, caller: str = "activation") -> Activation:
    """The activation called `name`, or a ValueError that names `caller` and the valid names."""
    found = ACTIVATIONS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"{caller}: unknown activation {name!r}; valid: {list(ACTIVATIONS)}")
    return found


def slope_symbol(names: Iterable[str], prime: str = "'") -> str:
    """The name of the slopes of these activations in a column or label: σ' when every layer
    is a sigmoid (Nielsen's notation), relu' or tanh' for one other activation, f' for a mix."""
    distinct = set(names)
    if len(distinct) != 1:
        return f"f{prime}"
    return ACTIVATIONS[distinct.pop()].symbol + prime
