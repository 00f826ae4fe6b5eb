"""Costs for Tensor networks, each a mean over the batch (axis 0).

Nielsen's quadratic cost ½‖a − y‖², his cross-entropy on sigmoid outputs,
softmax cross-entropy on logits with integer labels, and an L2 penalty.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..engine.functional import batch_size, sigmoid_cross_entropy, softmax_cross_entropy
from ..engine.tensor import ArrayLike, Tensor, lift, logits_of


def quadratic_cost(outputs: Tensor, targets: ArrayLike) -> Tensor:
    """C = (1/n) Σₓ ½‖a − y‖²  (Nielsen's QuadraticCost)."""
    targets = lift(targets, outputs, "quadratic_cost")
    if targets.shape != outputs.shape:
        raise ValueError(f"quadratic_cost: outputs {outputs.shape} and targets {targets.shape} must match")
    batch = batch_size(outputs)
    difference = outputs - targets
    return (difference * difference).sum() * (0.5 / batch)


def cross_entropy(outputs: Tensor, targets: ArrayLike) -> Tensor:
    """C = −(1/n) Σₓ Σⱼ [yⱼ ln aⱼ + (1−yⱼ) ln(1−aⱼ)]  (Nielsen's CrossEntropyCost).

    `outputs` must be sigmoid activations (`z.sigmoid()`); the cost is computed
    from their logits z, exact and finite even where a rounds to 0 or 1, and
    its gradient is Nielsen's δᴸ = aᴸ − y.
    """
    if outputs.op != "sigmoid":
        raise ValueError(
            "cross_entropy: outputs must come straight from .sigmoid() (op 'sigmoid'), "
            f"got op {outputs.op!r}; for logits use sigmoid_cross_entropy(z, y)"
        )
    return sigmoid_cross_entropy(logits_of(outputs), targets)


def l2_penalty(parameters: Sequence[Tensor], strength: float) -> Tensor:
    """(λ/2) Σ w² over the given parameters (Nielsen's L2 regularisation term, before /n)."""
    total = None
    for p in parameters:
        term = (p * p).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l2_penalty: no parameters given")
    return total * (0.5 * strength)


__all__ = ["cross_entropy", "l2_penalty", "quadratic_cost", "sigmoid_cross_entropy", "softmax_cross_entropy"]
