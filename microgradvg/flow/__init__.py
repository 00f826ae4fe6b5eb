"""An MLP layer by layer: a checked batch, each layer's speed of learning, its curvature, and
a diagnosis of all of it (`diagnose`)."""

from .curvature import LayerCurvature, layer_curvature
from .diagnose import Diagnosis, LayerDiagnosis, diagnose
from .speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow

__all__ = [
    "Diagnosis",
    "LayerCurvature",
    "LayerDiagnosis",
    "LayerFlow",
    "LayerStats",
    "SpeedRecorder",
    "diagnose",
    "layer_curvature",
    "layer_flow",
]
