"""Optimisers that update parameters in place from their `.grad`: `SGD` and `Adam`;
`clip_grad_norm` bounds the gradient's global norm before a step.

Both work on Tensor parameters (ndarray data) and on scalar `Value`s. A step raises the
version of every parameter it changes, so a graph recorded before it refuses `backward()`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .engine.tensor import Tensor
from .engine.versions import changed_in_place


class Optimizer:
    """Holds the parameter list; `zero_grad()` clears their gradients."""

    def __init__(self, params: Iterable[Any], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: the parameter list is empty")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be > 0, got {lr!r}")
        self.lr = lr

    def gradient(self, p: Any) -> Any:
        """p's gradient as plain numbers: after `backward(create_graph=True)` it is a Tensor."""
        g = p.grad
        return g.data if type(g) is Tensor else g

    def zero_grad(self) -> None:
        """Clear every parameter's gradient (None for Tensors, 0.0 for Values).

        It rebinds `.grad` and changes no data, so no version goes up."""
        for p in self.params:
            p.zero_grad()


class SGD(Optimizer):
    """w ← w − η(∇w + λw), with momentum v ← μv + (∇w + λw), w ← w − ηv when μ > 0."""

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        if not weight_decay >= 0:
            raise ValueError(f"SGD: weight_decay must be ≥ 0, got {weight_decay!r}")
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity: list[Any] = [None] * len(self.params)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        lr, momentum, decay = self.lr, self.momentum, self.weight_decay
        stepped = [p for p in self.params if p.grad is not None]
        # Versions go up before the data changes: a step that fails part-way errs on the safe side.
        changed_in_place(stepped)
        if not momentum and not decay:  # plain SGD: no per-parameter branches in the loop
            for p in stepped:
                g = p.grad
                p.data -= lr * (g.data if type(g) is Tensor else g)
            return
        for i, p in enumerate(self.params):
            g = self.gradient(p)
            if g is None:
                continue
            if decay:
                g = g + decay * p.data
            if momentum:
                v = self.velocity[i]
                g = self.velocity[i] = g if v is None else momentum * v + g
            p.data -= lr * g  # in place for ndarrays, rebinding for a Value's float


class Adam(Optimizer):
    """Adam (Kingma & Ba): bias-corrected running means of ∇w and ∇w² scale each step."""

    def __init__(
        self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        super().__init__(params, lr)
        if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        if not eps > 0:
            raise ValueError(f"Adam: eps must be > 0, got {eps!r}")
        self.betas = betas
        self.eps = eps
        self.steps = 0
        self.first = [np.zeros_like(np.asarray(p.data)) for p in self.params]
        self.second = [np.zeros_like(np.asarray(p.data)) for p in self.params]

    def step(self) -> None:
        """One bias-corrected Adam update."""
        beta1, beta2 = self.betas
        self.steps += 1
        correction1 = 1 - beta1**self.steps
        correction2 = 1 - beta2**self.steps
        changed_in_place([p for p in self.params if p.grad is not None])
        for i, p in enumerate(self.params):
            g = self.gradient(p)
            if g is None:
                continue
            self.first[i] = beta1 * self.first[i] + (1 - beta1) * g
            self.second[i] = beta2 * self.second[i] + (1 - beta2) * np.square(g)
            update = self.lr * (self.first[i] / correction1) / (np.sqrt(self.second[i] / correction2) + self.eps)
            if isinstance(p.data, np.ndarray):
                p.data -= update
            else:
                p.data -= float(update)


def clip_grad_norm(params: Iterable[Any], max_norm: float) -> float:
    """Scale every gradient by min(1, max_norm/‖g‖), ‖g‖ the norm of all of them together.

    PyTorch's `clip_grad_norm_`: the remedy for exploding gradients (Pascanu et al. 2013)
    keeps the step's direction and bounds its length. Returns ‖g‖ before clipping.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0, got {max_norm!r}")
    held = [p for p in params if p.grad is not None]
    total = math.sqrt(sum(float(np.sum(np.square(p.grad.data if type(p.grad) is Tensor else p.grad))) for p in held))
    if total > max_norm:
        scale = max_norm / total
        for p in held:
            p.grad = p.grad * scale
    return total
