"""The costs a network is measured with, once for every part of the package.

`COSTS[name]` computes the cost C of a batch from a Tensor network's outputs aᴸ, and one
example's Cₓ from a scalar network's outputs; it says which output layer it needs and
whether its targets are labels or rows. Layer flow, curvature, diagnose, the experiments
and the CLI all read it; `cost(name, caller)` looks one up with an error naming the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from ..engine.value import Value
from .losses import cross_entropy, quadratic_cost, softmax_cross_entropy


@dataclass(frozen=True)
class Cost:
    """One cost: `of_batch(aᴸ, y)` is C, the mean over a batch, from a Tensor network's
    outputs; `of_example(aᴸ, y)` is one example's Cₓ from a scalar network's outputs.
    `output` is the output activation it needs (None for any), `why` says why in words;
    `labels` says whether its targets are integer labels (n,) rather than rows (n, n_out)."""

    name: str
    output: str | None
    why: str
    labels: bool
    of_batch: Callable[[Tensor, Any], Tensor]
    of_example: Callable[[Sequence[Value], np.ndarray], Value]


def _quadratic_example(outputs: Sequence[Value], target: np.ndarray) -> Value:
    return Value.sum((a - float(t)) * (a - float(t)) for a, t in zip(outputs, target)) * 0.5


def _cross_entropy_example(outputs: Sequence[Value], target: np.ndarray) -> Value:
    # −[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − y z, from the logits: finite for any z.
    terms = []
    for a, t in zip(outputs, target):
        z = a.parents[0]
        softplus = z + ((-z).exp() + 1.0).log() if z.data >= 0 else (z.exp() + 1.0).log()
        terms.append(softplus - z * float(t))
    return Value.sum(terms)


def _softmax_cross_entropy_example(outputs: Sequence[Value], target: np.ndarray) -> Value:
    # −log softmax(z)[y] = log Σⱼ e^(zⱼ − m) + m − z_y, with m = max z a constant shift.
    shift = max(z.data for z in outputs)
    log_total = Value.sum((z - shift).exp() for z in outputs).log()
    return log_total + shift - outputs[int(target)]


COSTS: dict[str, Cost] = {
    "cross_entropy": Cost(
        "cross_entropy", "sigmoid", "is Nielsen's, on sigmoid outputs",
        False,
        cross_entropy, _cross_entropy_example,
    ),
    "quadratic": Cost("quadratic", None, "", False, quadratic_cost, _quadratic_example),
    "softmax_cross_entropy": Cost(
        "softmax_cross_entropy", "linear", "takes logits", True,
        softmax_cross_entropy, _softmax_cross_entropy_example,
    ),
}


def cost(name: Any, caller: str = "cost") -> Cost:
    """The cost called `name`, or a ValueError that names `caller` and the valid names."""
    found = COSTS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"{caller}: unknown cost {name!r}; valid: {list(COSTS)}")
    return found
