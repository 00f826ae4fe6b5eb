"""Nielsen's chapter-5 experiments as plain functions: the `microgradvg` command runs these.

Build his MNIST networks, measure each hidden layer's speed of learning ‖∂C/∂bˡ‖ at
initialisation over several seeds, train with full-batch gradient descent while recording
those speeds (or a `Monitor`'s dashboard), and build his one-neuron-per-layer network whose gradient explodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .engine.tensor import Tensor
from .engine.value import Value
from .flow.batch import Model
from .flow.monitor import Monitor
from .flow.speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow
from .formatting import superscript
from .inspection.chain import Chain, chain
from .nn import TensorMLP, apply_activation
from .nn.activations import ACTIVATIONS as NETWORK_ACTIVATIONS
from .nn.costs import COSTS as NETWORK_COSTS
from .optim import SGD

# Nielsen's networks end in a sigmoid layer: the hidden activations and the costs that fit.
ACTIVATIONS = tuple(name for name in NETWORK_ACTIVATIONS if name != "linear")
INITIALISATIONS = ("nielsen_large", "nielsen", "xavier", "he")
COSTS = tuple(name for name, cost in NETWORK_COSTS.items() if cost.output in (None, "sigmoid"))

# Nielsen, "Neural Networks and Deep Learning", chapter 5: ‖∂C/∂bˡ‖ per hidden layer at
# initialisation for [784, 30, …, 30, 10], sigmoid, his default init, cross-entropy,
# averaged over 1,000 training images. Keyed by the number of hidden layers; kept as the
# book prints them, so a table shows no more digits than the book gives.
BOOK_SPEEDS: dict[int, tuple[str, ...]] = {
    2: ("0.07", "0.31"),
    3: ("0.012", "0.060", "0.283"),
    4: ("0.003", "0.017", "0.070", "0.285"),
}


@dataclass(frozen=True)
class Setup:
    """One of Nielsen's networks: layer sizes, hidden activation, initialisation and cost.

    The output layer is always sigmoid, so Nielsen's cross-entropy applies to every
    hidden activation and only the hidden layers change between experiments.
    """

    sizes: tuple[int, ...] = (784, 30, 30, 30, 30, 10)
    activation: str = "sigmoid"
    init: str = "nielsen"
    cost: str = "cross_entropy"

    @property
    def hidden_layers(self) -> int:
        """How many hidden layers (every layer but the input and the output)."""
        return len(self.sizes) - 2

    def build(self, seed: int) -> TensorMLP:
        """A fresh network with this setup's weights drawn from `seed`."""
        return TensorMLP(
            self.sizes, activation=self.activation, output_activation="sigmoid",
            init=self.init, seed=seed,
        )

    def cost_of(self, outputs: Tensor, targets: np.ndarray) -> Tensor:
        """C = the mean over the examples of this setup's cost of the network's `outputs`."""
        return NETWORK_COSTS[self.cost].of_batch(outputs, targets)


def book_speeds(sizes: Sequence[int]) -> tuple[str, ...] | None:
    """The book's published speeds (as printed) for [784, 30, …, 30, 10], None for other sizes."""
    sizes = list(sizes)
    hidden = len(sizes) - 2
    if hidden in BOOK_SPEEDS and sizes == [784, *[30] * hidden, 10]:
        return BOOK_SPEEDS[hidden]
    return None


@dataclass
class InitialSpeeds:
    """Speeds of learning at initialisation: the full flow for one seed, speeds for all seeds.

    `speeds[i, l]` is ‖∂C/∂bˡ⁺¹‖ for `seeds[i]`, hidden layers only; `flow` is the
    `LayerFlow` of the network built from `seeds[0]`.
    """

    setup: Setup
    seeds: list[int]
    flow: LayerFlow
    speeds: np.ndarray  # (seeds, hidden layers)

    @property
    def first_seed(self) -> np.ndarray:
        """‖∂C/∂bˡ‖ per hidden layer for the first seed."""
        return self.speeds[0]

    @property
    def median(self) -> np.ndarray:
        """The median over the seeds of ‖∂C/∂bˡ‖, per hidden layer."""
        return np.median(self.speeds, axis=0)

    @property
    def hidden_stats(self) -> list[LayerStats]:
        """The first seed's `LayerStats` of the hidden layers."""
        return list(self.flow.layers[: self.setup.hidden_layers])

    @property
    def book(self) -> tuple[str, ...] | None:
        """The book's values for this network's sizes as it prints them, if published."""
        return book_speeds(self.setup.sizes)


def speeds_at_initialisation(
    setup: Setup, images: np.ndarray, targets: np.ndarray, seeds: Sequence[int]
) -> InitialSpeeds:
    """‖∂C/∂bˡ‖ of every hidden layer for networks freshly built from each of `seeds`.

    C is the cost averaged over all `images` (N, 784) against one-hot `targets` (N, 10), so
    ∂C/∂bˡ is the gradient averaged over the examples, as Nielsen measures it.
    """
    hidden = setup.hidden_layers
    flows = [layer_flow(setup.build(seed), images, targets, cost=setup.cost) for seed in seeds]
    speeds = np.array([np.asarray(flow.speeds(), dtype=float)[:hidden] for flow in flows])
    return InitialSpeeds(setup, list(seeds), flows[0], speeds)


def train(
    model: TensorMLP,
    setup: Setup,
    images: np.ndarray,
    targets: np.ndarray,
    epochs: int,
    lr: float = 0.1,
    progress: Callable[[Iterable[int]], Iterable[int]] = iter,
) -> dict[str, np.ndarray]:
    """Full-batch gradient descent w ← w − η ∂C/∂w for `epochs` steps, recording speeds.

    Records every layer's ‖∂C/∂bˡ‖ before each step and once after the last (epochs 0..N),
    like Nielsen's "speed of learning during training" experiment; returns the recorder's
    arrays (`epochs`, `speed_bias` (N+1, layers), `speed_weight`). `progress` wraps the
    epoch loop (e.g. a tqdm bar). Raises `TrainingDiverged` at the first epoch whose cost is
    ∞ or NaN.
    """
    recorder = SpeedRecorder(model, images, targets, cost=setup.cost)
    optimizer = SGD(model.parameters(), lr=lr)
    # A step too large overflows the weights; numpy's warnings would say so many times
    # over, so they are silenced and the first non-finite cost stops the run instead.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in progress(range(epochs)):
            # Measuring the flow computes ∂C/∂w of the whole batch: the step's own gradient.
            _check_finite(recorder.record(epoch, keep_gradients=True), epoch, epochs, lr)
            optimizer.step()
        _check_finite(recorder.record(epochs), epochs, epochs, lr)
    return recorder.as_arrays()


def train_monitored(
    model: Model,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    lr: float = 0.1,
    cost: str = "cross_entropy",
    progress: Callable[[Iterable[int]], Iterable[int]] = iter,
) -> Monitor:
    """Full-batch gradient descent w ← w − η ∂C/∂w for `epochs` steps, watched by a `Monitor`.

    Records before each step and once after the last (epochs 0..N): per layer ‖∂C/∂bˡ‖,
    the update ratio η‖∂C/∂Wˡ‖/‖Wˡ‖ and the share of saturated units; `labels` (N,) or
    targets as `layer_flow` takes them. Raises `TrainingDiverged` as `train` does.
    """
    monitor = Monitor(model, images, labels, cost=cost, lr=lr)
    optimizer = SGD(model.parameters(), lr=lr)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for epoch in progress(range(epochs)):
            # The monitor's measurement computes ∂C/∂w of the whole batch: the step's own gradient.
            _check_finite(monitor.record(epoch, keep_gradients=True), epoch, epochs, lr)
            optimizer.step()
        _check_finite(monitor.record(epochs), epochs, epochs, lr)
    return monitor


class TrainingDiverged(ArithmeticError):
    """Gradient descent diverged: the cost became ∞ or NaN (the learning rate is too large)."""


def _check_finite(flow: LayerFlow, epoch: int, epochs: int, lr: float) -> None:
    if not np.isfinite(flow.loss):
        raise TrainingDiverged(
            f"training diverged at epoch {epoch} of {epochs}: the cost C is {flow.loss} "
            f"after {epoch} step{'' if epoch == 1 else 's'} of η = {lr:g}"
        )


def first_layer_chain(
    model: TensorMLP, setup: Setup, image: np.ndarray, target: np.ndarray
) -> Chain:
    """The chain of factors from b¹ to the cost Cₓ of one example: ∂Cₓ/∂b¹ = Σ'(z¹)(W²)ᵀΣ'(z²)…∇C.

    One image (784,) and its one-hot target (10,): every Jacobian is then a small matrix
    (30 × 30), so the chain shows each factor's norm and gain cheaply. Each step back
    through a layer is two factors, σ'(zˡ) (diagonal) and Wˡ⁺¹; the nodes are labelled
    zˡ and aˡ as in the book.
    """
    cost = setup.cost_of(labelled_forward(model, image[None, :]), target[None, :])  # (1, 784)
    cost.label = "C"
    cost.backward()  # the factors report their gains on this pass's gradients
    return chain(cost, model.layers[0].bias)


def labelled_forward(model: TensorMLP, images: np.ndarray) -> Tensor:
    """`model(images)` with the inputs labelled x and each layer's zˡ and aˡ, for pictures."""
    activation = Tensor(images, label="x")
    for number, layer in enumerate(model.layers, start=1):
        z = layer(activation)
        z.label = f"z{superscript(number)}"
        activation = apply_activation(z, model.activation_of(number))
        activation.label = f"a{superscript(number)}"
    return activation


def exploding_network(layers: int = 4, weight: float = 100.0) -> tuple[Value, Value]:
    """Nielsen's exploding-gradient example: (cost C, bias b¹) of a chain of single neurons.

    x = 1 → z¹ = w¹x + b¹ → a¹ = σ(z¹) → z² = w²a¹ + b² → … → aᴸ → C = ½(aᴸ − 0)².
    Every wˡ = `weight` and every bˡ = −wˡaˡ⁻¹, so every zˡ = 0 and σ'(zˡ) = 1/4: each
    factor wˡ⁺¹σ'(zˡ) on the path from b¹ to C is `weight`/4 (25 for the book's 100).
    """
    if layers < 1:
        raise ValueError(f"exploding_network: layers must be at least 1, got {layers}")
    activation = Value(1.0, "x")
    bias = None
    for layer in range(1, layers + 1):
        up = superscript(layer)
        w = Value(weight, f"w{up}")
        b = Value(-weight * activation.data, f"b{up}")
        bias = bias or b
        z = Value.linear([w], [activation], b)
        z.label = f"z{up}"
        activation = z.sigmoid()
        activation.label = f"a{up}"
    error = activation - 0.0
    error.label = f"a{superscript(layers)} − y"
    square = error**2
    square.label = f"(a{superscript(layers)} − y)²"
    cost = 0.5 * square
    cost.label = "C"
    assert bias is not None
    return cost, bias
