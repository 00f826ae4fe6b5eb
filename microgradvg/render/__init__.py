"""Graphviz pictures of gradient flow: whole graphs, chains of factors, and layer speeds.

`draw_graph(loss)` draws a Value or Tensor graph with every edge's local derivative,
coloured by the gradient's sign (red > 0, blue < 0) and size (pale: vanishing, dark: exploding);
`draw_chain(chain(loss, w), k=3)` highlights the top paths; `draw_layers(layer_flow(...))`
draws an MLP one node per layer, `draw_diagnosis(diagnose(...))` with each layer's verdict,
`draw_flow(flow_along(...))` any sequence of nodes. Each returns a `graphviz.Digraph`
(shown inline in Jupyter, DOT in `.source`); `save_svg(picture, "out.svg")` writes it with `dot`.
`plot_spread(chain)` and `plot_weight_share(layer)` chart cancellation with matplotlib.
In Jupyter a `Chain` and a `LayerFlow` show their picture under their table.
"""

from typing import Any

import graphviz

from ..flow.speeds import LayerFlow
from ..formatting import register_picture
from ..inspection.chain import Chain
from .along import draw_flow
from .chains import draw_chain
from .diagnosis import draw_diagnosis
from .graphs import draw_graph
from .layers import draw_layers
from .spread_plots import plot_spread, plot_weight_share
from .style import DECADE_COLOURS, NEGATIVE_COLOURS, POSITIVE_COLOURS, ZERO_COLOUR, gradient_colour
from .svg import GraphvizFailed, GraphvizNotFound, GraphvizTimeout, run_dot, save_svg


def _svg_text(digraph: graphviz.Digraph) -> str | None:
    """The picture as SVG text for Jupyter, or None (the table alone) when dot cannot draw it."""
    try:
        return run_dot(digraph.source, "svg", timeout=10.0).decode("utf-8")
    except (GraphvizNotFound, GraphvizTimeout, GraphvizFailed):
        return None


def _chain_picture(chain: Any) -> str | None:
    return _svg_text(draw_chain(chain))


def _layers_picture(flow: Any) -> str | None:
    return _svg_text(draw_layers(flow))


register_picture(Chain, _chain_picture)
register_picture(LayerFlow, _layers_picture)

__all__ = [
    "DECADE_COLOURS",
    "NEGATIVE_COLOURS",
    "POSITIVE_COLOURS",
    "ZERO_COLOUR",
    "GraphvizFailed",
    "GraphvizNotFound",
    "GraphvizTimeout",
    "draw_chain",
    "draw_diagnosis",
    "draw_flow",
    "draw_graph",
    "draw_layers",
    "gradient_colour",
    "plot_spread",
    "plot_weight_share",
    "save_svg",
]
