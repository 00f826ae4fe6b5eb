"""Normalisation layers with PyTorch's names and defaults: `LayerNorm` and `BatchNorm1d`.

Both are composed from Tensor ops (mean, −, ×, **), so every factor of their
Jacobians shows up in chains and flows: normalising divides the gradient by the
spread σ of what it normalises, which is how it keeps per-layer speeds level.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..engine.tensor import Tensor
from .tensor import Module, check_sizes


class LayerNorm(Module):
    """y = (x − μ)/√(σ² + ε)·weight + bias, μ and σ² (biased) over the last axes of each example.

    PyTorch's `nn.LayerNorm(normalized_shape, eps=1e-5)`: `weight` starts at 1 and
    `bias` at 0, both shaped like `normalized_shape` (an int or a tuple of the trailing axes).
    """

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
        dtype=np.float64,
    ) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        for n in shape:
            check_sizes("LayerNorm", normalized_shape=n)
        _check_eps("LayerNorm", eps)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = float(eps)
        if elementwise_affine:
            self.weight = Tensor(np.ones(shape, dtype=dtype), requires_grad=True, label="γ")
            self.bias = Tensor(np.zeros(shape, dtype=dtype), requires_grad=True, label="β")
        self.elementwise_affine = elementwise_affine

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(
                f"LayerNorm: input of shape {x.shape} does not end in normalized_shape {self.normalized_shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        centred = x - x.mean(axis=axes, keepdims=True)
        variance = (centred * centred).mean(axis=axes, keepdims=True)
        y = centred / (variance + self.eps) ** 0.5
        return y * self.weight + self.bias if self.elementwise_affine else y

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps:g})"


class BatchNorm1d(Module):
    """y = (x − μ)/√(σ² + ε)·weight + bias per feature, μ and σ² over the batch (and length).

    PyTorch's `nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1)`, input (B, C) or
    (B, C, L). In training it normalises with the batch's mean and biased variance and
    updates the buffers running_mean ← (1 − m)·running_mean + m·μ and running_var the
    same way with the unbiased variance σ²·n/(n − 1); in eval it uses the running ones.
    momentum=None averages over all batches seen. `num_batches_tracked` counts them.
    """

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
        dtype=np.float64,
    ) -> None:
        check_sizes("BatchNorm1d", num_features=num_features)
        _check_eps("BatchNorm1d", eps)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        if affine:
            self.weight = Tensor(np.ones(num_features, dtype=dtype), requires_grad=True, label="γ")
            self.bias = Tensor(np.zeros(num_features, dtype=dtype), requires_grad=True, label="β")
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)
        self.num_batches_tracked = np.zeros((), dtype=np.int64)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: input of shape {x.shape} does not fit; need (batch, {self.num_features}) "
                f"or (batch, {self.num_features}, length)"
            )
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, self.num_features) + (() if x.ndim == 2 else (1,))  # broadcasts over the batch
        if self.training:
            n = x.size // self.num_features
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d: training needs more than one value per feature, got input of shape "
                    f"{x.shape}; use eval() for single examples"
                )
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean
            variance = (centred * centred).mean(axis=axes, keepdims=True)
            self._update_running(mean.data.reshape(-1), variance.data.reshape(-1), n)
            y = centred / (variance + self.eps) ** 0.5
        else:
            running_mean = self.running_mean.reshape(shape).astype(x.dtype)
            scale = 1.0 / np.sqrt(self.running_var.reshape(shape) + self.eps)
            y = (x - running_mean) * scale.astype(x.dtype)
        if not self.affine:
            return y
        return y * self.weight.reshape(shape) + self.bias.reshape(shape)

    def _update_running(self, mean: np.ndarray, variance: np.ndarray, n: int) -> None:
        """In place: these are the arrays `load_state_dict` copies into."""
        self.num_batches_tracked += 1
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean *= 1.0 - momentum
        self.running_mean += momentum * mean
        self.running_var *= 1.0 - momentum
        self.running_var += momentum * variance * (n / (n - 1))  # PyTorch keeps the unbiased one

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features}, eps={self.eps:g}, momentum={self.momentum})"


def _check_eps(op: str, eps: float) -> None:
    if not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"{op}: eps must be a number ≥ 0, got {eps!r}")
