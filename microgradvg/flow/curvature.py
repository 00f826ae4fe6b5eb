"""Per-layer curvature of the loss: a small gradient is small compared with what?

Along layer l's own gradient g, κˡ = gᵀHg/gᵀg gives the scale: the quadratic model's best
step is g/κˡ, so a layer with a tiny gradient and a tiny κ can still be far from its optimum.
`layer_curvature(model, x, y)` measures κˡ with Hessian–vector products, for either MLP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.derivatives import grad, hvp_from_gradients
from ..engine.tensor import Tensor, is_grad_enabled, no_grad
from ..formatting import aligned_table, html_table, optional
from ..nn.tensor import TensorMLP
from .batch import Batch, Model, check_batch, tensor_forward, tensor_twin

CURVATURE_TITLE = "Curvature along each layer's own gradient"


@dataclass(frozen=True)
class LayerCurvature:
    """The loss along layer l's own gradient direction g = ∂C/∂(Wˡ, bˡ), other layers held fixed.

    gradient_norm = ‖g‖; curvature κ = gᵀHg/gᵀg with H the Hessian block of layer l;
    step_size = 1/κ, the minimiser t of the quadratic model C − t·gᵀg + ½t²·gᵀHg along −g;
    predicted_decrease = ½(gᵀg)²/(gᵀHg) = ½‖g‖²/κ for the full step g/κ on layer l alone;
    actual_decrease = C(θ) − C(θ after that step), measured; steps_needed = 1/(ηκ), the
    number of plain gradient steps at learning rate η (`learning_rate`) that add up to g/κ.

    When κ ≤ 0 the quadratic model has no minimum along −g (it predicts the loss falls
    without end), so step_size, predicted_decrease, actual_decrease and steps_needed are
    None; when g = 0, curvature is None as well. steps_needed is None without a rate.
    """

    layer: int
    gradient_norm: float
    curvature: float | None
    step_size: float | None
    predicted_decrease: float | None
    actual_decrease: float | None
    steps_needed: float | None
    learning_rate: float | None

    def _repr_html_(self) -> str:
        """This layer's row of the curvature table, as HTML for Jupyter."""
        return curvature_html([self], self.learning_rate)

    @property
    def distance(self) -> float | None:
        """‖g‖/κ: how far along −g/‖g‖ the quadratic model's minimum lies (None if κ ≤ 0)."""
        return None if self.step_size is None else self.gradient_norm * self.step_size


class LayerCurvatures(list[LayerCurvature]):
    """`layer_curvature`'s result: a list with one `LayerCurvature` per layer, printed as a table."""

    def __init__(self, curvatures: list[LayerCurvature], learning_rate: float | None) -> None:
        super().__init__(curvatures)
        self.learning_rate = learning_rate

    def __str__(self) -> str:
        return "\n".join(curvature_table(self, self.learning_rate))

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """The same table as HTML, for Jupyter."""
        return curvature_html(self, self.learning_rate)


def layer_curvature(
    model: Model, x: Any, y: Any, cost: str = "cross_entropy", lr: float | None = None
) -> LayerCurvatures:
    """κˡ, 1/κˡ, the predicted and actual decrease and the steps at rate `lr`, for l = 1..L.

    One forward pass and g = ∂C/∂θ built with create_graph=True, then per layer
    one Hessian–vector product with v = g on that layer's W and b (0 elsewhere), of
    which only that layer's block Hˡˡg is used: gᵀHg = Σ g·(Hv)ˡ. The cost C is
    averaged over the batch, as in `layer_flow` (same `x`, `y`, `cost`). A
    `ScalarMLP` is measured on a `TensorMLP` twin with the same weights.
    Every parameter's `.grad` is left as it was.
    """
    check_recording("layer_curvature", lr)
    return curvature_of(model, check_batch(model, x, y, cost, "layer_curvature"), lr)


def check_recording(caller: str, lr: float | None) -> None:
    """Refuse a measurement that cannot record a graph, or a learning rate that is not > 0."""
    if not is_grad_enabled():
        raise RuntimeError(f"{caller}: needs to record the graph; call it outside no_grad()")
    if lr is not None and not lr > 0:
        raise ValueError(f"{caller}: the learning rate lr must be > 0, got {lr!r}")


def curvature_of(model: Model, batch: Batch, lr: float | None) -> LayerCurvatures:
    """`layer_curvature` on a batch already checked."""
    net = model if isinstance(model, TensorMLP) else tensor_twin(model)
    inputs, targets = batch.inputs, batch.targets
    outputs = tensor_forward(net, inputs)[1]
    loss = batch.cost.of_batch(outputs[-1], targets)
    params = [p for layer in net.layers for p in (layer.weight, layer.bias)]
    gradients = grad(loss, params, create_graph=True)
    results = []
    for index, layer in enumerate(net.layers):
        g_tensors = gradients[2 * index : 2 * index + 2]
        g = [t.data for t in g_tensors]  # (n_l, n_l−1) and (n_l,)
        gg = float(sum(np.vdot(part, part) for part in g))
        if gg == 0.0:
            results.append(LayerCurvature(index + 1, 0.0, None, None, None, None, None, lr))
            continue
        hg = hvp_from_gradients(g_tensors, [layer.weight, layer.bias], g)
        kappa = float(sum(np.vdot(part, h) for part, h in zip(g, hg))) / gg
        if not kappa > 0.0:
            results.append(
                LayerCurvature(index + 1, float(np.sqrt(gg)), kappa, None, None, None, None, lr)
            )
            continue
        step = 1.0 / kappa
        stepped = (Tensor(layer.weight.data - step * g[0]), Tensor(layer.bias.data - step * g[1]))
        with no_grad():
            new_outputs = tensor_forward(net, inputs, replace={index + 1: stepped})[1]
            new_loss = batch.cost.of_batch(new_outputs[-1], targets).item()
        results.append(
            LayerCurvature(
                layer=index + 1,
                gradient_norm=float(np.sqrt(gg)),
                curvature=kappa,
                step_size=step,
                predicted_decrease=0.5 * gg * step,
                actual_decrease=loss.item() - new_loss,
                steps_needed=None if lr is None else step / lr,
                learning_rate=lr,
            )
        )
    return LayerCurvatures(results, lr)


def curvature_table(curvatures: list[LayerCurvature], lr: float | None) -> list[str]:
    """The lines of the curvature table printed under the layer-flow table, notes included.

    Along the unit direction u = g/‖g‖ the quadratic model is C(θ − t·u) ≈ C − t‖g‖ + ½κt²,
    a parabola lowest at the distance t = ‖g‖/κ, reached by the step g/κ.
    """
    header, rows = curvature_cells(curvatures, lr)
    notes = curvature_notes(curvatures)
    return [CURVATURE_TITLE, *aligned_table(header, rows), *notes]


def curvature_html(curvatures: list[LayerCurvature], lr: float | None) -> str:
    """The curvature table as HTML, for Jupyter."""
    header, rows = curvature_cells(curvatures, lr)
    return html_table(header, rows, caption=CURVATURE_TITLE, notes=curvature_notes(curvatures))


def curvature_notes(curvatures: list[LayerCurvature]) -> list[str]:
    """What the columns mean, and what a κ ≤ 0 or a dash says."""
    notes = [
        "κˡ = gᵀHg/gᵀg for layer l's own gradient g (its W and b), other layers fixed:",
        "  C(θ − t·g/‖g‖) ≈ C − t‖g‖ + ½κˡt², lowest at the distance t = ‖g‖/κˡ (step g/κˡ).",
        "ΔC: the decrease for the step g/κˡ on layer l alone, predicted ½‖g‖²/κˡ and measured.",
    ]
    if any(c.curvature is not None and c.curvature <= 0 for c in curvatures):
        notes.append("κˡ ≤ 0: the cost curves down along −g, no minimum in the quadratic model (—).")
    if any(c.curvature is None for c in curvatures):
        notes.append("κˡ —: the layer's gradient is exactly 0.")
    return notes


def curvature_cells(
    curvatures: list[LayerCurvature], lr: float | None
) -> tuple[list[str], list[list[str]]]:
    """The curvature table's header and one row of cells per layer."""
    header = ["layer", "‖g‖", "κˡ", "‖g‖/κˡ", "1/κˡ", "pred. ΔC", "actual ΔC"]
    if lr is not None:
        header.append(f"steps at η={lr:g}")
    rows = []
    for c in curvatures:
        row = [
            str(c.layer),
            f"{c.gradient_norm:.3e}",
            optional(c.curvature, ".3e"),
            optional(c.distance, ".3e"),
            optional(c.step_size, ".3e"),
            optional(c.predicted_decrease, ".3e"),
            optional(c.actual_decrease, ".3e"),
        ]
        if lr is not None:
            row.append(optional(c.steps_needed, ".3g"))
        rows.append(row)
    return header, rows
