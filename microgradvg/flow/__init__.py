"""An MLP layer by layer: a checked batch, each layer's speed of learning, its curvature, a
diagnosis of all of it (`diagnose`), and a `Monitor` that records them during training;
and the gradient along any sequence of nodes (`flow_along`)."""

from .along import FlowAlong, flow_along
from .curvature import LayerCurvature, layer_curvature
from .diagnose import Diagnosis, LayerDiagnosis, diagnose
from .monitor import Monitor
from .speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow

__all__ = [
    "Diagnosis",
    "FlowAlong",
    "LayerCurvature",
    "LayerDiagnosis",
    "LayerFlow",
    "LayerStats",
    "Monitor",
    "SpeedRecorder",
    "diagnose",
    "flow_along",
    "layer_curvature",
    "layer_flow",
]
