"""Fused Tensor ops for networks: `linear` and the two cross-entropy losses.

Each is one node in the graph with its own rule in `rules.py`: fewer nodes
keep a training step close to hand-written numpy, and keep chains short
(the factor from one layer's activation to the next layer's z is W).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import ArrayLike, Tensor, _result, as_array, is_grad_enabled, lift


def batch_size(z: Any) -> int:
    """How many examples a cost averages over: the first axis, or 1 for a single example."""
    return z.shape[0] if z.ndim > 1 else 1


def linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """z = x Wᵀ + b for x of shape (…, n_in), W (n_out, n_in), b (n_out,)."""
    if type(x) is not Tensor:
        x = Tensor(x)  # an input array or list: a constant
    if type(weight) is not Tensor or type(bias) is not Tensor:
        raise TypeError(
            f"linear: W and b must be Tensors (the parameters), got {type(weight).__name__} and "
            f"{type(bias).__name__}"
        )
    # The ndarrays, not Tensor's properties: this runs once per layer per step.
    a, w, b = x.data, weight.data, bias.data
    if w.ndim != 2 or b.ndim != 1 or a.ndim == 0 or b.shape[0] != w.shape[0] or a.shape[-1] != w.shape[1]:
        raise ValueError(
            f"linear: x {x.shape}, W {weight.shape}, b {bias.shape} do not fit; "
            "need x (…, n_in), W (n_out, n_in), b (n_out,)"
        )
    z = np.matmul(a, w.T)
    if z.dtype is b.dtype:  # numpy's float dtypes are singletons; `is` is the cheap test
        z += b  # in place: z is a fresh array, so this saves an allocation and a pass
    else:
        z = z + b
    return _result(z, (x, weight, bias), "linear")


def softmax_cross_entropy(logits: Tensor, labels: ArrayLike) -> Tensor:
    """Mean over the batch of −log softmax(z)[y], for logits (B, C) and integer labels (B,)."""
    z = logits.data
    y = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if isinstance(labels, Tensor) and np.array_equal(y, np.round(y)):
        y = y.astype(np.intp)  # a Tensor holds floats, so whole-number labels arrive as floats
    if z.ndim != 2 or y.shape != (z.shape[0],):
        raise ValueError(
            f"softmax_cross_entropy: logits {z.shape} and labels {y.shape} do not fit; "
            "need logits (batch, classes) and labels (batch,)"
        )
    given = y
    if y.dtype.kind not in "iu" or not z.shape[1]:
        raise _label_error(given, z.shape[1])
    if y.dtype.kind == "u":
        y = y.astype(np.intp)  # numpy's indexing would wrap a uint64 ≥ 2⁶³; as an intp it is negative
    batch = z.shape[0]
    # The ufuncs' reduce directly, without ndarray.max/sum's Python wrappers: once per step.
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)
    rows = np.arange(batch)
    try:
        picked = shifted[rows, y]  # fails for a label ≥ C or < −C ...
        np.bincount(y)  # ... and this for one in −C..−1, which the gather took from the row's end
    except (IndexError, ValueError):
        raise _label_error(given, z.shape[1]) from None
    e = np.exp(shifted)
    total = np.add.reduce(e, axis=1, keepdims=True)  # (B, 1)
    # a numpy sum over 0 is nan for an empty batch, as mean() was
    loss = np.asarray((np.log(total[:, 0]) - picked).sum() / batch, dtype=z.dtype)
    slope = None
    if logits.requires_grad and is_grad_enabled():
        # ∂loss/∂z = (softmax(z) − onehot(y)) / B, from the exponentials already at hand.
        total *= batch
        slope = np.divide(e, total, out=e)
        slope[rows, y] -= 1.0 / max(batch, 1)
    return _result(loss, (logits,), "softmax_cross_entropy", (y, slope))


def _label_error(y: np.ndarray, classes: int) -> ValueError:
    if not classes:
        return ValueError("softmax_cross_entropy: the logits have no classes (shape (batch, 0)), so no label fits")
    found = f" with range {y.min()}..{y.max()}" if y.size and y.dtype.kind in "biuf" else ""
    return ValueError(
        f"softmax_cross_entropy: labels must be integers in 0..{classes - 1}, got dtype {y.dtype}{found}"
    )


def sigmoid_cross_entropy(logits: Tensor, targets: ArrayLike) -> Tensor:
    """Nielsen's cross-entropy −Σ[y ln a + (1−y) ln(1−a)] with a = σ(z), mean over the batch.

    Computed from the logits as Σ[softplus(z) − y z], finite for z = ±1000.
    """
    z = logits.data
    y = lift(targets, logits, "sigmoid_cross_entropy").data if not isinstance(targets, Tensor) else targets.data
    y = as_array(y, "sigmoid_cross_entropy").astype(z.dtype, copy=False)
    if y.shape != z.shape:
        raise ValueError(f"sigmoid_cross_entropy: logits {z.shape} and targets {y.shape} must have the same shape")
    outside = (y < 0) | (y > 1) | np.isnan(y)
    if outside.any():
        raise ValueError(
            f"sigmoid_cross_entropy: targets are probabilities in [0, 1]; got {float(y[outside].flat[0])!r}"
        )
    softplus = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    batch = batch_size(z)
    loss = np.asarray((softplus - y * z).sum() / batch, dtype=z.dtype)
    return _result(loss, (logits,), "sigmoid_cross_entropy", y)
