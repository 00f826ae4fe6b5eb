"""An MLP layer by layer: a checked batch, each layer's speed of learning, its curvature, a
diagnosis of all of it (`diagnose`), and a `Monitor` that records them during training."""

from .curvature import LayerCurvature, layer_curvature
from .diagnose import Diagnosis, LayerDiagnosis, diagnose
from .monitor import Monitor
from .speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow

__all__ = [
    "Diagnosis",
    "LayerCurvature",
    "LayerDiagnosis",
    "LayerFlow",
    "LayerStats",
    "Monitor",
    "SpeedRecorder",
    "diagnose",
    "layer_curvature",
    "layer_flow",
]
