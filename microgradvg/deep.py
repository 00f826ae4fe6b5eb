"""Beyond the MLP, measured: deep residual networks against plain ones, and RNNs through time.

`residual_experiment` builds a deep MLP of tanh blocks with and without skips (optionally
normalised) on the embedded digits and measures each block's speed of learning and the
gradient by path length; `recurrent_experiment` follows ‖∂L/∂hₜ‖ back through time for
tanh RNNs of chosen spectral radius and an LSTM. The `residual` and `recurrent` commands run them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .data import load_embedded
from .engine.functional import softmax_cross_entropy
from .engine.tensor import Tensor
from .flow.along import FlowAlong, flow_along
from .inspection.by_length import ByLength
from .inspection.chain import chain
from .nn import LSTM, RNN, BatchNorm1d, LayerNorm, Linear, Module, Residual, Sequential
from .nn.modules import ReLU, Sigmoid, Tanh
from .optim import clip_grad_norm

NORMS = ("none", "layer", "batch")
BLOCK_ACTIVATIONS = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid}


@dataclass(frozen=True)
class DeepRun:
    """One deep network on one batch: its loss, each block's speed ‖∂C/∂b‖ (block 1 first)
    and the flow along the blocks' outputs."""

    name: str
    loss: float
    speeds: np.ndarray
    flow: FlowAlong


def block(width: int, activation: str, norm: str, skip: bool, seed: int) -> Module:
    """Linear → (norm) → activation, inside a `Residual` when `skip`."""
    layers: list[Module] = [Linear(width, width, init="pytorch", seed=seed)]
    if norm == "layer":
        layers.append(LayerNorm(width))
    elif norm == "batch":
        layers.append(BatchNorm1d(width))
    layers.append(BLOCK_ACTIVATIONS[activation]())
    inner = Sequential(*layers)
    return Residual(inner) if skip else inner


def deep_network(
    blocks: int, width: int, activation: str = "tanh", norm: str = "none", skip: bool = True, seed: int = 0
) -> Sequential:
    """Linear(784, width), `blocks` blocks of width `width`, Linear(width, 10): logits for the digits."""
    return Sequential(
        Linear(784, width, init="pytorch", seed=seed),
        *[block(width, activation, norm, skip, seed + 1 + i) for i in range(blocks)],
        Linear(width, 10, init="pytorch", seed=seed + blocks + 1),
    )


def block_linear(module: Module) -> Linear:
    """The Linear inside a block, with or without its Residual."""
    inner = module.block if isinstance(module, Residual) else module
    assert isinstance(inner, Sequential) and isinstance(inner[0], Linear)
    return inner[0]


def run_deep(model: Sequential, images: np.ndarray, labels: np.ndarray, name: str) -> tuple[DeepRun, Tensor]:
    """Forward and backward on the batch; the speeds of every block and the flow along them."""
    model.zero_grad()
    h: Tensor = model[0](images)
    outputs = []
    for i in range(1, len(model) - 1):
        h = model[i](h)
        h.label = f"block {i}"
        outputs.append(h)
    loss = softmax_cross_entropy(model[len(model) - 1](h), labels)
    loss.backward()
    speeds = np.array([
        float(np.linalg.norm(block_linear(model[i]).bias.grad)) for i in range(1, len(model) - 1)
    ])
    return DeepRun(name, loss.item(), speeds, flow_along(loss, outputs)), loss


@dataclass(frozen=True)
class ResidualExperiment:
    """The residual network, the plain one of the same depth, and ∂C/∂b by path length
    for the bias of the residual network's first layer."""

    residual: DeepRun
    plain: DeepRun
    by_length: ByLength
    blocks: int
    width: int
    examples: int


def residual_experiment(
    blocks: int = 50, width: int = 30, examples: int = 200, activation: str = "tanh",
    norm: str = "none", seed: int = 0,
) -> ResidualExperiment:
    """Both networks at initialisation on the first `examples` embedded digits."""
    images, labels = load_embedded(examples)
    residual_model = deep_network(blocks, width, activation, norm, skip=True, seed=seed)
    residual, loss = run_deep(residual_model, images, labels, "residual")
    first = residual_model[0]
    assert isinstance(first, Linear)
    shares = chain(loss, first.bias).by_length()
    plain, _ = run_deep(deep_network(blocks, width, activation, norm, skip=False, seed=seed), images, labels, "plain")
    return ResidualExperiment(residual, plain, shares, blocks, width, examples)


@dataclass(frozen=True)
class ThroughTime:
    """‖∂L/∂hₜ‖ for t = 1..T of one recurrent network, with the loss on h_T alone."""

    name: str
    flow: FlowAlong
    gradient_norm: float  # ‖∂L/∂W_hh‖ before any clipping


def recurrent_experiment(
    steps: int = 100, hidden: int = 32, radii: Sequence[float] = (0.9, 2.0), forget_bias: float = 3.0,
    batch: int = 16, seed: int = 0,
) -> list[ThroughTime]:
    """Tanh RNNs whose W_hh is rescaled to each spectral radius, then two LSTMs (forget
    bias 0 and `forget_bias`), on one synthetic sequence x ~ N(0, 1) of shape (T, B, 1)
    with L = mean(h_T²): the flow back through the hidden states (the LSTMs' cells)."""
    x = np.random.default_rng(seed).standard_normal((steps, batch, 1))
    runs = []
    for radius in radii:
        rnn = RNN(1, hidden, seed=seed)
        w = np.random.default_rng(seed + 1).standard_normal((hidden, hidden))
        rnn.weight_hh_l0.data[:] = w * (radius / np.max(np.abs(np.linalg.eigvals(w))))
        _, h = rnn(x)
        loss = (h * h).mean()
        loss.backward()
        runs.append(ThroughTime(f"tanh RNN, ρ(W_hh) = {radius:g}", flow_along(loss, rnn.states),
                                float(np.linalg.norm(rnn.weight_hh_l0.grad))))
    for bias in (0.0, forget_bias):
        lstm = LSTM(1, hidden, seed=seed)
        lstm.bias_ih_l0.data[hidden:2 * hidden] += bias  # the forget gate's rows (order i, f, g, o)
        _, (h, _) = lstm(x)
        loss = (h * h).mean()
        loss.backward()
        runs.append(ThroughTime(f"LSTM cells, forget bias +{bias:g}", flow_along(loss, lstm.cells),
                                float(np.linalg.norm(lstm.weight_hh_l0.grad))))
    return runs



@dataclass(frozen=True)
class ClippingStep:
    """One SGD step on the exploding RNN, with or without clipping the gradient to `max_norm`."""

    max_norm: float | None
    gradient_norm: float  # ‖∂L/∂θ‖ before clipping
    step_norm: float  # ‖Δθ‖ = η·‖clipped gradient‖
    loss_before: float
    loss_after: float


def clipping_experiment(
    steps: int = 100, hidden: int = 32, radius: float = 2.0, lr: float = 0.1, max_norm: float = 1.0,
    batch: int = 16, seed: int = 0,
) -> list[ClippingStep]:
    """A task that needs memory, y = x₁ read out from h_T by a fixed vector: one SGD step
    from the same weights without clipping and with `clip_grad_norm(max_norm)`."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((steps, batch, 1))
    readout = rng.standard_normal((hidden, 1)) / np.sqrt(hidden)
    target = x[0]

    def loss_of(rnn: RNN) -> Tensor:
        _, h = rnn(x)
        error = h.reshape(batch, hidden) @ readout - target
        return (error * error).mean()

    rows = []
    for limit in (None, max_norm):
        rnn = RNN(1, hidden, seed=seed)
        w = np.random.default_rng(seed + 1).standard_normal((hidden, hidden))
        rnn.weight_hh_l0.data[:] = w * (radius / np.max(np.abs(np.linalg.eigvals(w))))
        loss = loss_of(rnn)
        loss.backward()
        norm = clip_grad_norm(rnn.parameters(), limit) if limit is not None else float(
            np.sqrt(sum(np.sum(p.grad**2) for p in rnn.parameters()))
        )
        step = 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # a huge lr overflows: the row shows inf
            for p in rnn.parameters():
                p.data -= lr * p.grad
                step += float(np.sum((lr * p.grad) ** 2))
            after = loss_of(rnn).item()
        rows.append(ClippingStep(limit, norm, float(np.sqrt(step)), loss.item(), after))
    return rows
