"""Fused Tensor ops for networks: `linear` and the two cross-entropy losses, each with its rule.

Each is one node in the graph, its forward pass, saved values and derivative rule side by
side: fewer nodes keep a training step close to hand-written numpy, and keep chains short
(the factor from one layer's activation to the next layer's z is W).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import ops
from .backprop import register
from .tensor import ArrayLike, Tensor, _result, as_array, is_grad_enabled, lift

Needs = Sequence[bool]


def batch_size(z: Any) -> int:
    """How many examples a cost averages over: the first axis, or 1 for a single example."""
    return z.shape[0] if z.ndim > 1 else 1


def linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """z = x Wᵀ + b for x of shape (…, n_in), W (n_out, n_in), b (n_out,).

    The layer's dtype decides: x is cast to W's dtype, so a float32 model stays float32
    whatever it is given (x's own gradient still comes back in x's dtype).
    """
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
    if a.dtype is not w.dtype:
        a = a.astype(w.dtype)
    z = np.matmul(a, w.T)
    if z.dtype is b.dtype:  # numpy's float dtypes are singletons; `is` is the cheap test
        z += b  # in place: z is a fresh array, so this saves an allocation and a pass
    else:
        z = z + b
    return _result(z, (x, weight, bias), "linear")


@register("linear")
def linear_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """z = x Wᵀ + b:  ∂/∂x = g W,  ∂/∂W = gᵀ x,  ∂/∂b = Σ_batch g."""
    x, weight, _ = inputs
    n_out, n_in = weight.shape
    # The rows counted, not reshape(-1, …): with n_in or n_out = 0 a −1 would be ambiguous.
    g2 = g if g.ndim == 2 else g.reshape(math.prod(g.shape[:-1]), n_out)
    x2 = x if x.ndim == 2 else x.reshape(math.prod(x.shape[:-1]), n_in)
    return (
        g @ weight if needs[0] else None,
        g2.T @ x2 if needs[1] else None,
        ops.sum_rows(g2) if needs[2] else None,
    )



class SoftmaxCrossEntropy(NamedTuple):
    """The labels, and the slope ∂loss/∂z = (softmax(z) − onehot(y))/B that the forward pass
    computed from the exponentials at hand (None when no gradient was asked for)."""

    labels: np.ndarray
    slope: np.ndarray | None

    def slope_of(self, z: Tensor) -> Tensor:
        """The slope rebuilt from the logits z, as a graph (for create_graph)."""
        onehot = np.zeros(z.shape, dtype=z.data.dtype)
        onehot[np.arange(z.shape[0]), self.labels] = 1.0
        return (z.softmax(-1) - onehot) / batch_size(z)


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
    if isinstance(labels, Tensor) and labels.requires_grad:
        raise ValueError(
            "softmax_cross_entropy: labels are class indices, which have no gradient, but the "
            "labels Tensor requires grad; pass an array or labels.detach() (targets that are "
            "values, as in quadratic_cost and sigmoid_cross_entropy, do get a gradient)"
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
    # tuple.__new__: the NamedTuple built in C, not by its Python __new__ (once per step).
    return _result(loss, (logits,), "softmax_cross_entropy", tuple.__new__(SoftmaxCrossEntropy, (y, slope)))


@register("softmax_cross_entropy")
def softmax_cross_entropy_rule(
    g: Any, out: Any, inputs: Sequence[Any], ctx: SoftmaxCrossEntropy, needs: Needs
) -> tuple:
    """∂/∂z of mean(−log softmax(z)[y]) = (softmax(z) − onehot(y)) / batch.

    An ordinary backward pass uses the slope saved by the forward pass; with
    Tensors (create_graph) it is rebuilt from z so that it can be differentiated.
    """
    return (g * ops.saved_or(ctx.slope, inputs[0], ctx.slope_of),)


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
    # Targets that require grad get one, as in every cost (and PyTorch): ∂C/∂y = −z/B.
    parents = (logits, targets) if isinstance(targets, Tensor) and targets.requires_grad else (logits,)
    return _result(loss, parents, "sigmoid_cross_entropy", SigmoidCrossEntropy(y))


class SigmoidCrossEntropy(NamedTuple):
    """The targets y, probabilities shaped like the logits."""

    targets: np.ndarray


@register("sigmoid_cross_entropy")
def sigmoid_cross_entropy_rule(
    g: Any, out: Any, inputs: Sequence[Any], ctx: SigmoidCrossEntropy, needs: Needs
) -> tuple:
    """∂/∂z of mean(Σ[softplus(z) − y z]) = (σ(z) − y) / batch: Nielsen's δᴸ = aᴸ − y;
    and ∂/∂y = −z / batch when the targets are an input (they require grad)."""
    z, batch = inputs[0], batch_size(inputs[0])
    if len(inputs) == 1:
        return (g * ((ops.sigmoid(z) - ctx.targets) / batch),)
    y = inputs[1]
    return (
        g * ((ops.sigmoid(z) - y) / batch) if needs[0] else None,
        g * (-z / batch) if needs[1] else None,
    )
