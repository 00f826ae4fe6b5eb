"""microgradvg: reverse-mode autodiff that keeps every chain-rule factor.

`Value` (scalars) and `Tensor` (numpy arrays) record the local derivative on
every edge of the computation graph, so any gradient can be inspected factor
by factor (`chain`), path by path (`spread`), layer by layer (`layer_flow`),
and drawn (`draw_graph`, `draw_chain`, `draw_layers`).
"""

from .engine.derivatives import grad, hessian, hvp, jacobian
from .engine.graph import topological_order, zero_grad
from .engine.tensor import Tensor, concatenate, is_grad_enabled, no_grad, stack
from .engine.value import Value
from .flow.along import FlowAlong, flow_along
from .flow.curvature import LayerCurvature, layer_curvature
from .flow.diagnose import Diagnosis, LayerDiagnosis, diagnose
from .flow.monitor import Monitor
from .flow.speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow
from .inspection.chain import Chain, Factor, Path, chain
from .inspection.spread import Spread, WeightShare, spread, weight_share
from .nn.weights import load_weights, save_weights
from .render import (
    GraphvizNotFound,
    draw_chain,
    draw_diagnosis,
    draw_flow,
    draw_graph,
    draw_layers,
    save_svg,
)
from .render.plots import plot_training
from .render.spread_plots import plot_spread, plot_weight_share

__all__ = [
    "Chain",
    "Diagnosis",
    "Factor",
    "FlowAlong",
    "GraphvizNotFound",
    "LayerCurvature",
    "LayerDiagnosis",
    "LayerFlow",
    "LayerStats",
    "Monitor",
    "Path",
    "SpeedRecorder",
    "Spread",
    "Tensor",
    "Value",
    "WeightShare",
    "chain",
    "concatenate",
    "diagnose",
    "draw_chain",
    "draw_diagnosis",
    "draw_flow",
    "draw_graph",
    "draw_layers",
    "flow_along",
    "grad",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "layer_curvature",
    "layer_flow",
    "load_weights",
    "no_grad",
    "plot_spread",
    "plot_training",
    "plot_weight_share",
    "save_svg",
    "save_weights",
    "spread",
    "stack",
    "topological_order",
    "weight_share",
    "zero_grad",
]
