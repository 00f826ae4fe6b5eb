"""Per-layer flow of the gradient through an MLP: Nielsen's speed of learning and its factors.

`print(layer_flow(model, x, y))` shows, for each layer l, ‖∂C/∂bˡ‖ and ‖∂C/∂Wˡ‖ with the
factors of δˡ = Σ'(zˡ)(Wˡ⁺¹)ᵀδˡ⁺¹ that make it small; `SpeedRecorder` keeps these per
epoch during training. Works for `TensorMLP` (one batched pass) and `ScalarMLP`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from ..engine.value import Value
from ..formatting import aligned_table, html_table, optional, rich_display, superscript
from ..nn.activations import slope_symbol
from ..nn.scalar import ScalarMLP
from ..nn.tensor import TensorMLP
from .batch import (
    Batch,
    Model,
    activations_of,
    check_batch,
    tensor_forward,
    tensor_twin,
    weight_matrices,
)
from .curvature import (
    LayerCurvature,
    check_recording,
    curvature_html,
    curvature_of,
    curvature_table,
)


@dataclass(frozen=True)
class LayerStats:
    """What one layer l contributes to the backward pass, for the batch-averaged cost C.

    speed_bias = ‖∂C/∂bˡ‖ (Nielsen's speed of learning), speed_weight = ‖∂C/∂Wˡ‖ (Frobenius);
    slope_mean, slope_max = mean and max of the activation's slope (σ'(zˡ) for a sigmoid)
    over the batch and the layer's neurons;
    next_weight_norm = ‖Wˡ⁺¹‖₂ (spectral) and next_weight_frobenius = ‖Wˡ⁺¹‖_F;
    gain = ‖∂C/∂bˡ‖ / ‖∂C/∂bˡ⁺¹‖ (nan when the denominator is 0). The last layer has
    no Wˡ⁺¹, so its gain and weight norms are None.
    """

    layer: int
    size: int
    speed_bias: float
    speed_weight: float
    slope_mean: float
    slope_max: float
    next_weight_norm: float | None
    gain: float | None
    next_weight_frobenius: float | None = None


@dataclass(frozen=True)
class LayerFlow:
    """The per-layer table from one batch: `layers[l - 1]` is the `LayerStats` of layer l.

    `cost` names the cost, `batch_size` the number of examples it is averaged over,
    `loss` its value C, `activations[l - 1]` layer l's activation. With curvature
    (`layer_flow(..., curvature=True)`), `curvature[l - 1]` is layer l's
    `LayerCurvature` and `learning_rate` the η it counts steps for. `sizes` are the
    network's layer sizes (n₀, n₁, …, n_L), input first.
    """

    cost: str
    batch_size: int
    loss: float
    activations: tuple[str, ...]
    layers: list[LayerStats]
    curvature: list[LayerCurvature] | None = None
    learning_rate: float | None = None
    sizes: tuple[int, ...] = ()

    def speeds(self) -> np.ndarray:
        """Nielsen's speed of learning ‖∂C/∂bˡ‖ for l = 1..L, shape (L,)."""
        return np.array([stats.speed_bias for stats in self.layers])

    def weight_speeds(self) -> np.ndarray:
        """‖∂C/∂Wˡ‖ for l = 1..L, shape (L,)."""
        return np.array([stats.speed_weight for stats in self.layers])

    def __str__(self) -> str:
        header, rows, notes = self._cells()
        lines = [self._title(), *aligned_table(header, rows), *notes]
        if self.curvature is not None:
            # A second table under the first, not more columns: together they would be
            # some 160 characters wide, and wrap away from their headers in a terminal.
            lines += ["", *curvature_table(self.curvature, self.learning_rate)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The printed tables as HTML, for Jupyter."""
        header, rows, notes = self._cells()
        tables = html_table(header, rows, left=(2,), caption=self._title(), notes=notes)
        if self.curvature is not None:
            tables += curvature_html(self.curvature, self.learning_rate)
        return tables

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """In Jupyter: the tables, and under them the picture `draw_layers` makes."""
        return rich_display(self, self._repr_html_())

    def _title(self) -> str:
        return f"Layer flow · cost {self.cost} · batch of {self.batch_size} examples · C = {self.loss:.6g}"

    def _cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        """The speeds table's header, one row per layer, and its notes."""
        slope = slope_symbol(self.activations)
        header = [
            "layer",
            "size",
            "act",
            "‖∂C/∂bˡ‖",
            "‖∂C/∂Wˡ‖",
            f"mean {slope}(zˡ)",
            f"max {slope}(zˡ)",
            "‖Wˡ⁺¹‖₂",
            "‖Wˡ⁺¹‖_F",
            "gain l+1→l",
        ]
        rows = [
            [
                str(s.layer),
                str(s.size),
                activation,
                f"{s.speed_bias:.3e}",
                f"{s.speed_weight:.3e}",
                f"{s.slope_mean:.4f}",
                f"{s.slope_max:.4f}",
                optional(s.next_weight_norm, ".3f"),
                optional(s.next_weight_frobenius, ".3f"),
                optional(s.gain, ".3f"),
            ]
            for s, activation in zip(self.layers, self.activations)
        ]
        notes = []
        if self.cost == "cross_entropy":
            notes.append("cross-entropy: δᴸ = aᴸ − y, so σ'(zᴸ) of the last layer does not enter.")
        if slope == "f'":
            notes.append("f'(zˡ): the slope of layer l's own activation (act).")
        return header, rows, notes

    __repr__ = __str__


def layer_flow(
    model: Model,
    x: Any,
    y: Any,
    cost: str = "cross_entropy",
    curvature: bool = False,
    lr: float | None = None,
) -> LayerFlow:
    """One forward/backward pass over the batch (x, y) and the per-layer table of the gradient.

    C = (1/n) Σₓ Cₓ is the cost averaged over the n examples, so ‖∂C/∂bˡ‖ is the norm
    of the gradient averaged over the examples (Nielsen's speed of learning). The
    backward pass is δᴸ = ∂C/∂zᴸ, then δˡ = Σ'(zˡ)(Wˡ⁺¹)ᵀδˡ⁺¹ (per example) with
    ∂C/∂bˡ = Σₓ δˡ and ∂C/∂Wˡ = Σₓ δˡ(aˡ⁻¹)ᵀ, so each layer's factors are reported.

    `x` is (n, n_in) (or one example (n_in,)); `y` is (n, n_out) targets, or integer
    labels (n,) which become one-hot rows (quadratic, cross_entropy) or stay labels
    (softmax_cross_entropy, which also takes one-hot rows). Costs: "cross_entropy"
    (Nielsen's, needs a sigmoid output layer), "quadratic" (½‖a − y‖²),
    "softmax_cross_entropy" (needs a linear output layer: its outputs are logits).

    Every parameter's `.grad` is reset first; afterwards it holds ∂C/∂param for this
    batch. A `ScalarMLP` runs example by example through the scalar engine (small
    nets only). `curvature=True` adds `layer_curvature` columns (κˡ, 1/κˡ, predicted
    decrease and steps at learning rate `lr`); second derivatives need the Tensor
    engine, so a `ScalarMLP`'s whole table then comes from its Tensor twin (same
    weights), and its parameters' `.grad` from the twin's.
    """
    check_recording("layer_flow", lr)
    return flow_of(model, check_batch(model, x, y, cost, "layer_flow"), curvature, lr)


def flow_of(model: Model, batch: Batch, curvature: bool, lr: float | None) -> LayerFlow:
    """`layer_flow` on a batch already checked: one engine for the whole table."""
    if curvature and not isinstance(model, TensorMLP):
        twin = tensor_twin(model)
        flow = flow_of(twin, batch, curvature, lr)
        for value, tensor in zip(model.parameters(), _scalar_order(twin)):
            value.grad = float(tensor)
        return flow
    if isinstance(model, TensorMLP):
        loss, bias_grads, weight_grads, slopes = _tensor_pass(model, batch)
    else:
        loss, bias_grads, weight_grads, slopes = _scalar_pass(model, batch)
    weights = weight_matrices(model)
    layers = []
    for index in range(len(weights)):
        last = index == len(weights) - 1
        speed = float(np.linalg.norm(bias_grads[index]))
        gain = None
        if not last:
            following = float(np.linalg.norm(bias_grads[index + 1]))
            gain = speed / following if following > 0.0 else math.nan
        layers.append(
            LayerStats(
                layer=index + 1,
                size=weights[index].shape[0],
                speed_bias=speed,
                speed_weight=float(np.linalg.norm(weight_grads[index])),
                slope_mean=float(slopes[index].mean()),
                slope_max=float(slopes[index].max()),
                next_weight_norm=None if last else float(np.linalg.norm(weights[index + 1], 2)),
                gain=gain,
                next_weight_frobenius=None if last else float(np.linalg.norm(weights[index + 1])),
            )
        )
    return LayerFlow(
        cost=batch.cost.name,
        batch_size=len(batch),
        loss=loss,
        activations=tuple(activations_of(model)),
        layers=layers,
        curvature=curvature_of(model, batch, lr) if curvature else None,
        learning_rate=lr,
        sizes=tuple(int(n) for n in model.sizes),
    )


class SpeedRecorder:
    """Nielsen's speed of learning per layer, recorded during training on a fixed batch.

    `recorder = SpeedRecorder(model, x, y, cost="cross_entropy")`, then
    `recorder.record(epoch)` once per epoch; `recorder.as_arrays()` gives
    `epochs` (n,), `speed_bias` (n, L) = ‖∂C/∂bˡ‖, `speed_weight` (n, L) = ‖∂C/∂Wˡ‖,
    and also `slope_mean`, `slope_max`, `gain` (n, L; gain is nan for layer L). With
    `curvature=True` (and the learning rate `lr`) it adds `curvature`, `step_size`,
    `predicted_decrease` and `steps_needed` (n, L; nan where `LayerCurvature` has None).
    `flows` keeps every recorded `LayerFlow`. Recording restores each parameter's
    `.grad` afterwards, so it can sit anywhere in a training loop.
    """

    def __init__(
        self,
        model: Model,
        x: Any,
        y: Any,
        cost: str = "cross_entropy",
        curvature: bool = False,
        lr: float | None = None,
        *,
        caller: str = "SpeedRecorder",
    ) -> None:
        check_recording(caller, lr)
        self.caller = caller  # the name errors give: a Monitor's recorder says "Monitor"
        self.model = model
        self.batch = check_batch(model, x, y, cost, caller)
        self.inputs, self.targets = self.batch.inputs, self.batch.targets
        self.cost = cost
        self.curvature = curvature
        self.lr = lr
        self.epochs: list[float] = []
        self.flows: list[LayerFlow] = []

    def record(self, epoch: float, keep_gradients: bool = False) -> LayerFlow:
        """Measure the flow on the recorder's batch now and keep it under `epoch`.

        The parameters' `.grad`s are put back as they were, unless `keep_gradients`:
        then they hold ∂C/∂param of the recorder's batch, ready for a full-batch step.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, (int, float, np.integer, np.floating)):
            raise TypeError(f"{self.caller}.record: epoch must be a number, got {epoch!r}")
        parameters: list[Any] = self.model.parameters()
        saved = [p.grad for p in parameters]
        restore = not keep_gradients
        try:
            check_recording(f"{self.caller}.record", self.lr)
            flow = flow_of(self.model, self.batch, self.curvature, self.lr)
        except BaseException:
            restore = True
            raise
        finally:
            if restore:
                for p, g in zip(parameters, saved):
                    p.grad = g
        self.epochs.append(epoch)
        self.flows.append(flow)
        return flow

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The recorded numbers as arrays: one row per `record` call, one column per layer."""
        n_layers = len(weight_matrices(self.model))

        def table(field: str, rows: list[list[Any]]) -> np.ndarray:
            values = [
                [math.nan if v is None else v for v in (getattr(s, field) for s in row)]
                for row in rows
            ]
            return np.array(values, dtype=float).reshape(len(rows), n_layers)

        arrays = {"epochs": np.array(self.epochs)}
        for field in ("speed_bias", "speed_weight", "slope_mean", "slope_max", "gain"):
            arrays[field] = table(field, [flow.layers for flow in self.flows])
        if self.curvature:
            curvatures = [flow.curvature or [] for flow in self.flows]
            for field in ("curvature", "step_size", "predicted_decrease", "steps_needed"):
                arrays[field] = table(field, curvatures)
        return arrays

    def __len__(self) -> int:
        return len(self.flows)

    def _repr_html_(self) -> str:
        """For Jupyter: ‖∂C/∂bˡ‖ per recorded epoch (rows) and layer (columns), and the cost."""
        if not self.flows:
            return html_table(["epoch"], [], caption="SpeedRecorder: nothing recorded yet")
        layers = len(self.flows[0].layers)
        header = ["epoch", "C", *(f"‖∂C/∂b{superscript(l)}‖" for l in range(1, layers + 1))]
        rows = [
            [f"{epoch:g}", f"{flow.loss:.4g}", *(f"{s.speed_bias:.3e}" for s in flow.layers)]
            for epoch, flow in zip(self.epochs, self.flows)
        ]
        caption = f"Speed of learning during training · {len(self)} records · cost {self.cost}"
        return html_table(header, rows, caption=caption)


def _scalar_order(twin: TensorMLP) -> list[float]:
    """A Tensor twin's gradients in a ScalarMLP's parameter order: neuron by neuron, w then b."""
    found: list[float] = []
    for layer in twin.layers:
        weight, bias = _grad_or_zeros(layer.weight), _grad_or_zeros(layer.bias)
        for j in range(len(bias)):
            found += [*weight[j].tolist(), float(bias[j])]
    return found


def _tensor_pass(
    model: TensorMLP, batch: Batch
) -> tuple[float, list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """One batched forward/backward: C, ∂C/∂bˡ, ∂C/∂Wˡ and σ'(zˡ) (n, n_l) per layer."""
    model.zero_grad()
    zs, outputs = tensor_forward(model, batch.inputs)
    loss = batch.cost.of_batch(outputs[-1], batch.targets)
    loss.backward()
    slopes = []
    for z, a in zip(zs, outputs):
        # σ'(zˡ) is the diagonal of the recorded factor ∂aˡ/∂zˡ: its VJP applied to ones.
        slopes.append(
            np.ones_like(z.data) if a is z else np.asarray(a.factor(0).vjp(np.ones_like(a.data)))
        )
    bias_grads = [_grad_or_zeros(layer.bias) for layer in model.layers]
    weight_grads = [_grad_or_zeros(layer.weight) for layer in model.layers]
    return loss.item(), bias_grads, weight_grads, slopes


def _scalar_pass(
    model: ScalarMLP, batch: Batch
) -> tuple[float, list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """The same numbers example by example: each backward adds (1/n)·∂Cₓ/∂param to the leaves."""
    model.zero_grad()
    inputs, targets = batch.inputs, batch.targets
    n = len(inputs)
    activations = activations_of(model)
    slopes = [np.empty((n, len(layer.neurons))) for layer in model.layers]
    total = 0.0
    for i in range(n):
        a: list[Value] | list[float] = inputs[i].tolist()
        outputs: list[list[Value]] = []
        for layer in model.layers:
            a = layer(a)
            outputs.append(a)  # type: ignore[arg-type]
        example_cost = batch.cost.of_example(outputs[-1], targets[i])
        (example_cost * (1.0 / n)).backward()
        total += example_cost.data
        for l, (layer_out, activation) in enumerate(zip(outputs, activations)):
            # The activation node's only local derivative is σ'(z); a linear layer has none.
            slopes[l][i] = [
                1.0 if activation == "linear" else o.local_derivatives[0] for o in layer_out
            ]
    bias_grads = [np.array([neuron.b.grad for neuron in layer.neurons]) for layer in model.layers]
    weight_grads = [
        np.array([[w.grad for w in neuron.w] for neuron in layer.neurons]) for layer in model.layers
    ]
    return total / n, bias_grads, weight_grads, slopes


def _grad_or_zeros(parameter: Tensor) -> np.ndarray:
    return np.zeros_like(parameter.data) if parameter.grad is None else np.asarray(parameter.grad)
