"""Converged, or just vanishing? One call that measures each layer and names what it sees.

`diagnose(model, x, y)` puts `layer_flow`'s speeds and `layer_curvature`'s κ next to the
update-to-weight ratio u = η‖∂C/∂Wˡ‖/‖Wˡ‖, the share of saturated units and a line search
along each layer's own gradient; each layer gets the first verdict whose rule matches:

- exploding: a gradient is not finite, or u ≥ 1 (one step moves Wˡ by its own size), or u is
  ≥ 100× the output layer's (the gradient grew on its way back);
- near a minimum: moving layer l alone along −g lowers C by less than 1e-3 (C is a mean over
  the examples), at the best t of 10⁻², 10^-1.5, …, 10⁷ and 1/κ: nothing left to gain here;
- saturated: ≥ 50 % of the layer's (example, unit) slopes are below 10 % of the activation's
  maximum (σ' < 0.025, tanh' < 0.1; a ReLU unit counts only when dead on the whole batch);
  not for the output layer under Nielsen's cross-entropy, where σ'(zᴸ) cancels;
- vanishing: u < 1e-4 (a tenth of the usual 1e-3 guide), or ≥ 100× below the output
  layer's, while there is still cost to gain;
- healthy: anything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..engine.functional import linear
from ..engine.tensor import Tensor, is_grad_enabled, no_grad
from ..formatting import aligned_table, html_table, optional, superscript
from ..nn.activations import ACTIVATIONS
from ..nn.tensor import TensorMLP
from ..nn.weights import as_mlp
from .batch import Batch, Model, activations_of, check_batch, tensor_forward, tensor_twin
from .curvature import curvature_of
from .speeds import flow_of

VERDICTS = ("vanishing", "exploding", "saturated", "near a minimum", "healthy")
# The thresholds of the module docstring; tutorial 11 explains each choice.
EXPLODING_UPDATE = 1.0  # u = η‖∂C/∂Wˡ‖/‖Wˡ‖ at which one step moves Wˡ by its own size
SLOW_UPDATE = 1e-4  # a tenth of the 1e-3 guide: below it a layer barely moves
TIMES_THE_OUTPUT = 100.0  # u this many times above (below) the output layer's: it exploded (vanished)
SATURATED_SHARE = 0.5  # at least half the slopes flat
FLAT_SLOPE = 0.1  # a slope below this fraction of the activation's maximum is flat
MIN_DROP = 1e-3  # a line search that cannot gain this much finds nothing left to gain
LINE_SEARCH_STEPS = np.logspace(-2, 7, 19)  # t, two per decade
NOTES = (
    "update = η‖∂C/∂Wˡ‖/‖Wˡ‖ (guide: about 1e-3); sat. = share of slopes below 10% of max;",
    "best ΔC = the largest drop in C moving layer l alone along −g (line search).",
)
# Worst first: the network's verdict is the worst of its layers'.
SEVERITY = ("exploding", "saturated", "vanishing", "healthy", "near a minimum")


@dataclass(frozen=True)
class LayerDiagnosis:
    """What `diagnose` measured on layer l, and its verdict.

    speed = ‖∂C/∂bˡ‖ (Nielsen's speed of learning), weight_speed = ‖∂C/∂Wˡ‖, weight_norm =
    ‖Wˡ‖ (Frobenius); gradient_ratio = ‖∂C/∂Wˡ‖/‖Wˡ‖ and update_ratio = η·gradient_ratio, how
    much of Wˡ one step at the rate η rewrites; saturation = the share of (example, unit)
    slopes f'(zˡ) below 10 % of the activation's maximum (a ReLU unit counts only when dead,
    f' = 0, on every example), dead = units flat on every example; curvature κ = gᵀHg/gᵀg
    along the layer's own g = ∂C/∂(Wˡ, bˡ), step = ‖g‖/κ the length of the quadratic model's
    best step (None when κ ≤ 0 or g = 0); line_search_drop = C − min_t C(θ − t·g), layer l
    alone moved, at line_search_step = t; verdict, one of `VERDICTS`, and reason, the
    measurement that decided it.
    """

    layer: int
    size: int
    activation: str
    speed: float
    weight_speed: float
    weight_norm: float
    gradient_ratio: float
    update_ratio: float
    saturation: float
    dead: int
    curvature: float | None
    step: float | None
    line_search_drop: float
    line_search_step: float
    verdict: str
    reason: str


@dataclass(frozen=True)
class Diagnosis:
    """`diagnose`'s answer: `layers[l - 1]` is layer l's `LayerDiagnosis`.

    `verdict` is the worst of the layers' (exploding, saturated, vanishing, healthy, near a
    minimum, in that order), so "near a minimum" means every layer is; `loss` is C, `cost`
    its name, `learning_rate` the η of the update ratios, `sizes` (n₀, …, n_L).
    """

    cost: str
    batch_size: int
    loss: float
    learning_rate: float
    sizes: tuple[int, ...]
    layers: list[LayerDiagnosis]

    @property
    def verdict(self) -> str:
        """The worst verdict of any layer."""
        return min((d.verdict for d in self.layers), key=SEVERITY.index)

    @property
    def activations(self) -> tuple[str, ...]:
        """Each layer's activation, layer 1 first."""
        return tuple(d.activation for d in self.layers)

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        header = [
            "layer", "size", "act", "‖∂C/∂bˡ‖", "‖∂C/∂Wˡ‖", "update", "sat.", "κˡ", "‖g‖/κ",
            "best ΔC", "verdict",
        ]
        rows = [
            [
                str(d.layer), str(d.size), d.activation, f"{d.speed:.2e}",
                f"{d.weight_speed:.2e}", f"{d.update_ratio:.1e}", f"{d.saturation:.0%}",
                optional(d.curvature, ".1e"), optional(d.step, ".1e"),
                f"{d.line_search_drop:.1e}", d.verdict,
            ]
            for d in self.layers
        ]
        return header, rows

    def __str__(self) -> str:
        header, rows = self._rows()
        lines = [self._title(), *aligned_table(header, rows, left=(2, 10)), *NOTES]
        lines += [f"layer {d.layer}, {d.verdict}: {d.reason}" for d in self.layers]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        """The same table as HTML for Jupyter, with each verdict's reason in a last column."""
        header, rows = self._rows()
        cells = [row + [d.reason] for row, d in zip(rows, self.layers)]
        return html_table([*header, "because"], cells, left=(2, 10, 11), caption=self._title(),
                          notes=NOTES)

    def _title(self) -> str:
        return (
            f"Diagnosis · {self.cost} · {self.batch_size} examples · C = {self.loss:.4g} · "
            f"η = {self.learning_rate:g} · verdict: {self.verdict}"
        )


def diagnose(
    model: Model | Any, x: Any, y: Any, cost: str = "cross_entropy", lr: float = 0.1
) -> Diagnosis:
    """Each layer's speed, update ratio, saturation, curvature and line search, with a verdict.

    C = (1/n) Σₓ Cₓ over the batch (x, y), as in `layer_flow` (same costs and targets).
    update ratio = η‖∂C/∂Wˡ‖/‖Wˡ‖ at the learning rate `lr`; κˡ = gᵀHg/gᵀg from
    `layer_curvature`; the line search evaluates C(θ − t·g) with only layer l moved, for
    t = 10⁻², 10^-1.5, …, 10⁷ and t = 1/κ. The verdict rules are in this module's docstring.
    A `ScalarMLP`, or a `Sequential` of Linear layers and activations, is measured on a
    `TensorMLP` twin with the same weights (the numbers are the same; the scalar engine
    would take minutes). The model's parameters and their `.grad` are left as they were.
    """
    if not is_grad_enabled():
        raise RuntimeError("diagnose: needs to record the graph; call it outside no_grad()")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"diagnose: the learning rate lr must be a finite number > 0, got {lr!r}")
    mlp = as_mlp(model, "diagnose")
    batch = check_batch(mlp, x, y, cost, "diagnose")
    inputs = batch.inputs
    net = mlp if isinstance(mlp, TensorMLP) else tensor_twin(mlp)
    saved = [p.grad for p in net.parameters()]
    try:
        flow = flow_of(net, batch, False, None)
        gradients = [(layer.weight.grad.copy(), layer.bias.grad.copy()) for layer in net.layers]
    finally:
        for p, g in zip(net.parameters(), saved):
            p.grad = g
    curvatures = curvature_of(net, batch, None)
    saturations, deads, outputs = saturation_of(net, inputs)
    activations = activations_of(net)
    measured = []
    for index, (layer, stats) in enumerate(zip(net.layers, flow.layers)):
        curvature = curvatures[index]
        weight_norm = float(np.linalg.norm(layer.weight.data))
        ratio = stats.speed_weight / weight_norm if weight_norm > 0 else math.inf
        before = inputs if index == 0 else outputs[index - 1]  # aˡ⁻¹, unchanged by layer l
        drop, t = _line_search(net, before, batch, index, gradients[index], flow.loss,
                               curvature.step_size)
        step = None
        if curvature.step_size is not None:
            step = curvature.gradient_norm * curvature.step_size
        measured.append(LayerDiagnosis(
            layer=index + 1, size=stats.size, activation=activations[index],
            speed=stats.speed_bias, weight_speed=stats.speed_weight, weight_norm=weight_norm,
            gradient_ratio=ratio, update_ratio=lr * ratio, saturation=saturations[index],
            dead=deads[index], curvature=curvature.curvature, step=step,
            line_search_drop=drop, line_search_step=t, verdict="", reason="",
        ))
    output = measured[-1].update_ratio
    layers = []
    for m in measured:
        last = m is measured[-1]
        slope_counts = not (last and cost == "cross_entropy")
        verdict, reason = _verdict(m, None if last else output, slope_counts)
        layers.append(replace(m, verdict=verdict, reason=reason))
    return Diagnosis(
        cost=cost, batch_size=len(inputs), loss=flow.loss, learning_rate=float(lr),
        sizes=tuple(int(n) for n in net.sizes), layers=layers,
    )


def _verdict(m: LayerDiagnosis, output: float | None, slope_counts: bool) -> tuple[str, str]:
    """The first rule of the module docstring that matches, and the numbers that made it.

    `output` is the output layer's update ratio (None for the output layer itself).
    """
    update, drop = m.update_ratio, m.line_search_drop
    said = f"update {update:.1e}"
    if not (math.isfinite(m.speed) and math.isfinite(m.weight_speed)):
        return "exploding", "the gradient is not finite"
    if update >= EXPLODING_UPDATE:
        return "exploding", f"{said} ≥ {EXPLODING_UPDATE:g}: one step moves W{superscript(m.layer)} by its size"
    if output is not None and output > 0 and update >= TIMES_THE_OUTPUT * output:
        return "exploding", f"{said} is {update / output:.0f}× the output layer's: it grew going back"
    if not drop >= MIN_DROP:
        return "near a minimum", f"the line search along −g gains only {drop:.1e} < {MIN_DROP:g}"
    if slope_counts and m.saturation >= SATURATED_SHARE:
        return "saturated", (
            f"{m.saturation:.0%} of the slopes are below {FLAT_SLOPE:.0%} of their maximum"
        )
    if update < SLOW_UPDATE:
        return "vanishing", f"{said} < {SLOW_UPDATE:g}, yet the line search gains {drop:.1e}"
    if output is not None and update * TIMES_THE_OUTPUT <= output:
        return "vanishing", (
            f"{said} is {output / update:.0f}× below the output layer's; line search gains {drop:.1e}"
        )
    return "healthy", f"{said}, and the line search gains {drop:.1e}"


def saturation_of(
    net: TensorMLP, inputs: np.ndarray
) -> tuple[list[float], list[int], list[np.ndarray]]:
    """Per layer, the share of flat (example, unit) slopes, the units flat on every example,
    and the activations aˡ (n, n_l); `inputs` (n, n₀) already checked (`check_batch`).

    A slope f'(zⱼ) is flat below 10 % of the activation's maximum; a ReLU unit counts only
    when it is flat (dead) on every example, since being off on some is its working state.
    """
    zs, outputs = tensor_forward(net, inputs)
    shares, deads = [], []
    for number, (z, a) in enumerate(zip(zs, outputs), start=1):
        activation = net.activation_of(number)
        # f'(zˡ) is the diagonal of the recorded factor ∂aˡ/∂zˡ, as `layer_flow` reads it.
        slopes = np.ones_like(z.data) if a is z else np.asarray(
            a.factor(0).vjp(np.ones_like(a.data))
        )  # (n, n_l)
        flat = slopes < FLAT_SLOPE * ACTIVATIONS[activation].max_slope
        dead = flat.all(axis=0)  # (n_l,)
        deads.append(int(dead.sum()))
        # A ReLU is flat wherever it is off; that is its working state, so only dead ones count.
        shares.append(float(dead.mean() if activation == "relu" else flat.mean()))
    return shares, deads, [a.data for a in outputs]


def _line_search(
    net: TensorMLP,
    before: np.ndarray,
    batch: Batch,
    index: int,
    gradient: tuple[np.ndarray, np.ndarray],
    loss: float,
    step_size: float | None,
) -> tuple[float, float]:
    """(C − min_t C(layer l at θ − t·g), the best t), layer l = index + 1 alone moved.

    Only layers l..L are run again, from `before` = aˡ⁻¹ (n, n_l−1), which layer l cannot change.
    """
    layer = net.layers[index]
    steps = list(LINE_SEARCH_STEPS) + ([step_size] if step_size is not None else [])
    best, best_t = -math.inf, 0.0
    start = Tensor._leaf(before)
    with no_grad(), np.errstate(all="ignore"):
        for t in steps:
            weight = Tensor._leaf(layer.weight.data - t * gradient[0])
            bias = Tensor._leaf(layer.bias.data - t * gradient[1])
            a = start
            for number in range(index + 1, len(net.layers) + 1):
                if number > index + 1:
                    weight, bias = net.layers[number - 1].weight, net.layers[number - 1].bias
                z = linear(a, weight, bias)  # (n, n_l)
                a = ACTIVATIONS[net.activation_of(number)].apply(z)
            drop = loss - batch.cost.of_batch(a, batch.targets).item()
            if drop > best:
                best, best_t = drop, float(t)
    return best, best_t


__all__ = ["VERDICTS", "Diagnosis", "LayerDiagnosis", "diagnose", "saturation_of"]
