"""Watch a network train: per layer, each epoch or step, its speed, update ratio and saturation.

`Monitor(model, x, y, lr=0.1)` wraps a `SpeedRecorder` on a fixed batch; `monitor.record(epoch)`
adds the update-to-weight ratio η‖∂C/∂Wˡ‖/‖Wˡ‖ (guide: about 1e-3) and the share of saturated
units, as `diagnose` measures them. `plot_training(monitor.as_arrays(), "training.svg")` draws it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..nn.tensor import TensorMLP
from .batch import Model, tensor_twin, weight_matrices
from .diagnose import saturation_of
from .speeds import LayerFlow, SpeedRecorder


class Monitor:
    """A `SpeedRecorder` that also keeps, per record and layer, the update ratio and saturation.

    update ratio = η‖∂C/∂Wˡ‖/‖Wˡ‖ with ∂C/∂Wˡ the gradient of the monitor's batch (for
    mini-batch training, the step's own gradient differs; this is its full-batch value);
    saturation = the share of (example, unit) slopes below 10 % of the activation's maximum
    (dead units for ReLU). `as_arrays()` returns the recorder's arrays plus `update_ratio`
    and `saturation`, each (n records, L layers). `recorder` is the wrapped `SpeedRecorder`.
    """

    def __init__(
        self, model: Model, x: Any, y: Any, cost: str = "cross_entropy", lr: float = 0.1
    ) -> None:
        if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"Monitor: the learning rate lr must be a finite number > 0, got {lr!r}")
        self.recorder = SpeedRecorder(model, x, y, cost=cost, caller="Monitor")
        self.lr = float(lr)
        self.update_ratios: list[np.ndarray] = []
        self.saturations: list[np.ndarray] = []

    def record(self, epoch: float, keep_gradients: bool = False) -> LayerFlow:
        """Measure now and keep it under `epoch`; `keep_gradients` as in `SpeedRecorder.record`."""
        flow = self.recorder.record(epoch, keep_gradients=keep_gradients)
        model = self.recorder.model
        norms = np.array([np.linalg.norm(w) for w in weight_matrices(model)])  # ‖Wˡ‖, (L,)
        speeds = flow.weight_speeds()  # ‖∂C/∂Wˡ‖, (L,)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.update_ratios.append(self.lr * speeds / norms)
        net = model if isinstance(model, TensorMLP) else tensor_twin(model)
        self.saturations.append(np.array(saturation_of(net, self.recorder.inputs)[0]))
        return flow

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The recorder's arrays (`epochs`, `speed_bias`, …) with `update_ratio` and `saturation`."""
        arrays = self.recorder.as_arrays()
        layers = arrays["speed_bias"].shape[1]
        arrays["update_ratio"] = np.array(self.update_ratios, dtype=float).reshape(-1, layers)
        arrays["saturation"] = np.array(self.saturations, dtype=float).reshape(-1, layers)
        return arrays

    def __len__(self) -> int:
        return len(self.recorder)


__all__ = ["Monitor"]
