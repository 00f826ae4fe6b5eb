"""Fused Tensor ops for networks: `linear` and the two cross-entropy losses.

Each is one node in the graph with its own rule in `rules.py`: fewer nodes
keep a training step close to hand-written numpy, and keep chains short
(the factor from one layer's activation to the next layer's z is W).
"""

from __future__ import annotations

import numpy as np

from .tensor import ArrayLike, Tensor, _result, as_array, lift


def linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """z = x Wᵀ + b for x of shape (…, n_in), W (n_out, n_in), b (n_out,)."""
    if weight.ndim != 2 or bias.shape != (weight.shape[0],) or x.shape[-1:] != weight.shape[1:]:
        raise ValueError(
            f"linear: x {x.shape}, W {weight.shape}, b {bias.shape} do not fit; "
            "need x (…, n_in), W (n_out, n_in), b (n_out,)"
        )
    return _result(np.matmul(x.data, weight.data.T) + bias.data, (x, weight, bias), "linear")


def softmax_cross_entropy(logits: Tensor, labels: ArrayLike) -> Tensor:
    """Mean over the batch of −log softmax(z)[y], for logits (B, C) and integer labels (B,)."""
    z = logits.data
    y = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(
            f"softmax_cross_entropy: logits {z.shape} and labels {y.shape} do not fit; "
            "need logits (batch, classes) and labels (batch,)"
        )
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= z.shape[1])):
        raise ValueError(
            f"softmax_cross_entropy: labels must be integers in 0..{z.shape[1] - 1}, "
            f"got dtype {y.dtype} with range {y.min() if y.size else None}..{y.max() if y.size else None}"
        )
    shifted = z - z.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(z.shape[0])
    loss = np.asarray((log_total - shifted[rows, y]).mean(), dtype=z.dtype)
    onehot = np.zeros_like(z)
    onehot[rows, y] = 1.0
    return _result(loss, (logits,), "softmax_cross_entropy", (y, onehot))


def sigmoid_cross_entropy(logits: Tensor, targets: ArrayLike) -> Tensor:
    """Nielsen's cross-entropy −Σ[y ln a + (1−y) ln(1−a)] with a = σ(z), mean over the batch.

    Computed from the logits as Σ[softplus(z) − y z], finite for z = ±1000.
    """
    z = logits.data
    y = lift(targets, logits).data if not isinstance(targets, Tensor) else targets.data
    y = as_array(y, "sigmoid_cross_entropy").astype(z.dtype, copy=False)
    if y.shape != z.shape:
        raise ValueError(f"sigmoid_cross_entropy: logits {z.shape} and targets {y.shape} must have the same shape")
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    batch = z.shape[0] if z.ndim > 1 else 1
    loss = np.asarray((softplus - y * z).sum() / batch, dtype=z.dtype)
    return _result(loss, (logits,), "sigmoid_cross_entropy", y)
