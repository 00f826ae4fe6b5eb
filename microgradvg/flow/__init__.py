"""An MLP layer by layer: a checked batch, each layer's speed of learning, its curvature."""

from .curvature import LayerCurvature, layer_curvature
from .speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow

__all__ = ["LayerCurvature", "LayerFlow", "LayerStats", "SpeedRecorder", "layer_curvature", "layer_flow"]
