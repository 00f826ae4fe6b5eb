"""The flow along a sequence of nodes as a picture: one box per node, left to right, in
rows that snake when they would not fit one (`rows`).

In the style of `draw_layers`: each node shows ‖∂L/∂node‖ with a bar (log scale over the
nodes drawn) and is coloured on the fixed gradient scale; each edge carries the gain ◀
back from the next node and the Jacobian gain of the factor between them. Long sequences
are thinned to at most `max_nodes`, and a dashed edge says how many steps it spans.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import graphviz

from . import rows, style

BAR_WIDTH = 90  # points, for the largest gradient drawn
CAPTION_HEIGHT = 120.0  # points: the title, caption and legend above the boxes


def draw_flow(flow: Any, *, title: str = "", max_nodes: int = 16, legend: bool = True) -> graphviz.Digraph:
    """The picture of `flow` (a `microgradvg.flow_along` result) as a Digraph.

    When there are more than `max_nodes` nodes, evenly spaced ones are drawn (the first
    and the last always); an edge across skipped nodes carries their combined gain,
    ‖∂L/∂nodeᵢ‖/‖∂L/∂nodeⱼ‖, and is dashed. A `max_nodes` too large for about 2,000 ×
    2,000 px draws as many as fit, and the caption says so.
    """
    if not (hasattr(flow, "names") and hasattr(flow, "norms")):
        raise TypeError(f"draw_flow: flow must be what flow_along returns, got {type(flow).__name__}")
    n = len(flow.names)
    if n == 0:
        raise ValueError("draw_flow: the flow has no nodes")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 2:
        raise ValueError(f"draw_flow: max_nodes must be an int, at least 2; got {max_nodes!r}")
    first, last = float(flow.norms[0]), float(flow.norms[-1])
    caption = []
    if first > 0 and last > 0:
        caption.append(
            f"‖∂L/∂{flow.names[0]}‖ / ‖∂L/∂{flow.names[-1]}‖ = {style.number(first / last, 3)}"
            f" over {n - 1} step{'' if n == 2 else 's'} back"
        )
    caption.append("◀ gain: the gradient's scaling going back one step; J: through the factor between the two alone")
    shown = _evenly_spaced(n, max_nodes)
    nodes, steps, width, height = _elements(flow, shown)
    # A max_nodes too large for the budget draws as many as fit, and says so. Rows come out
    # up to a fifth taller than `height` (the edge down between two rows has a label).
    fits = rows.capacity(width, height * 1.2, CAPTION_HEIGHT) - 1  # the loss takes one place
    if len(shown) > fits:
        shown = _evenly_spaced(n, max(fits, 2))
        nodes, steps, width, height = _elements(flow, shown)
        caption.append(
            f"drawn: {len(shown)} of the {n} nodes, evenly spaced (max_nodes={max_nodes} "
            "would not fit in about 2,000 px)"
        )
    if len(shown) < n:  # the legend's dashes mean a zero gradient: say what these mean
        caption.append("⋯ k steps (dashed): k − 1 nodes between not drawn, ◀ their combined gain")
    per_row = rows.columns(len(nodes), width, height, CAPTION_HEIGHT)
    rankdir = "LR" if per_row >= len(nodes) else "TB"
    # The boxes are coloured by a norm (no sign): the legend shows that scale alone.
    graph = style.new_digraph(title, caption, "‖∂L/∂node‖" if legend else None, rankdir, (0,))
    graph.attr(nodesep="0.3", ranksep="0.3")
    names = [f"n{i}" for i in shown] + ["loss"]
    for name, attributes in zip(names, nodes):
        graph.node(name, **attributes)
    rows.line_up(graph, names, per_row, lambda position: steps[position - 1])
    return graph


def _elements(flow: Any, shown: list[int]) -> tuple[list[dict[str, str]], list[dict[str, str]], float, float]:
    """(nodes, steps, width, height): the boxes of the nodes `shown` and the loss, the edges
    into each after the first, and the place one box with its edge takes, in points."""
    norms = [float(flow.norms[i]) for i in shown]
    finite = [v for v in norms if v > 0 and math.isfinite(v)]
    low, high = (math.log10(min(finite)), math.log10(max(finite))) if finite else (0.0, 0.0)
    nodes = [_node(flow.names[i], flow.shapes[i], norm, low, high) for i, norm in zip(shown, norms)]
    nodes.append({
        "label": style.html_lines("<B>loss L</B>", f"L = {style.number(float(flow.loss))}"),
        "shape": "box",
        "style": "rounded,filled",
        "color": style.INK,
        "fillcolor": "#f4f4f4",
    })
    steps = [_step(flow, a, b) for a, b in pairwise(shown)]
    steps.append({"color": style.INK, "penwidth": "1.0"})
    # Past a row that fits, the boxes snake in rows (top to bottom), near 3:2.
    width = max(rows.text_size(node["label"])[0] for node in nodes) + 30.0
    width += max(rows.text_size(step.get("label", ""))[0] for step in steps) + 30.0
    height = max(rows.text_size(node["label"])[1] for node in nodes) + 45.0
    return nodes, steps, width, height


def _node(name: str, shape: tuple, norm: float, low: float, high: float) -> dict[str, str]:
    """One node of the flow: its name, shape and ‖∂L/∂node‖ with a bar, coloured on the scale."""
    look = style.look(norm)
    return {
        "label": _label(name, shape, norm, low, high, look.colour),
        "shape": "box",
        "style": "rounded,filled",
        "color": look.colour,
        "fillcolor": style.tint(look.colour, 0.88),
        "penwidth": str(look.pen),
    }


def _step(flow: Any, a: int, b: int) -> dict[str, str]:
    """The edge from node a to node b: the gain back and the factor's, or across skipped
    nodes (dashed) their count and combined gain."""
    look = style.look(float(flow.norms[b]))
    attributes = {"color": look.colour, "penwidth": str(look.pen)}
    if b == a + 1:
        lines = [f"◀ ×{style.number(float(flow.gains[a]), 3)}", f"J ×{style.number(float(flow.jacobian_gains[a]), 3)}"]
    else:
        combined = float(flow.norms[a]) / float(flow.norms[b]) if flow.norms[b] > 0 else math.nan
        lines = [f"⋯ {b - a} steps", f"◀ ×{style.number(combined, 3)}"]
        attributes["style"] = "dashed"
    attributes["label"] = "<" + "<BR/>".join(style.escape(line) for line in lines) + ">"
    return attributes


def _evenly_spaced(n: int, most: int) -> list[int]:
    if n <= most:
        return list(range(n))
    return sorted({round(k * (n - 1) / (most - 1)) for k in range(most)})


def _label(name: str, shape: tuple, norm: float, low: float, high: float, colour: str) -> str:
    rows = [
        f"<B>{style.escape(name)}</B>",
        f'<FONT POINT-SIZE="9">{"×".join(map(str, shape)) or "scalar"}</FONT>',
        f"‖∂L/∂·‖ <B>{style.number(norm, 3)}</B>",
    ]
    if norm > 0 and math.isfinite(norm):
        fraction = (math.log10(norm) - low) / (high - low) if high > low else 1.0
        filled = max(1, round(BAR_WIDTH * fraction))
        rest = BAR_WIDTH - filled
        spacer = f'<TD WIDTH="{rest}" HEIGHT="7" BGCOLOR="white"></TD>' if rest > 0 else ""
        rows.append(
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
            f'<TR><TD WIDTH="{filled}" HEIGHT="7" BGCOLOR="{colour}"></TD>{spacer}</TR></TABLE>'
        )
    cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'
