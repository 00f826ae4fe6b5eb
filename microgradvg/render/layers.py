"""The layer view of an MLP: one node per layer, left to right, from a `LayerFlow`.

Each layer shows its size, its speed of learning ‖∂C/∂bˡ‖ (Nielsen's measure, also as a
bar relative to the fastest layer), ‖∂C/∂Wˡ‖ and its activation's slope factors (σ′(zˡ)
for sigmoid layers); each edge, the norm
of the next weight matrix ‖Wˡ⁺¹‖ and the gain the gradient picks up going back across it.
"""

from __future__ import annotations

from typing import Any

import graphviz

from ..nn.activations import slope_symbol
from . import rows, style

BAR_WIDTH = 120  # points, for the fastest layer
CAPTION_HEIGHT = 120.0  # points: the title, caption and legend above the boxes


def draw_layers(
    flow: Any,
    *,
    input_size: int | None = None,
    title: str = "",
    legend: bool = True,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The layer view of `flow` (a `microgradvg.LayerFlow`) as a Digraph.

    One node for the input (`input_size`, else read from `flow.model.sizes`), one per
    layer, and one for the cost C; nodes are coloured by ‖∂C/∂bˡ‖ on the fixed gradient
    scale. The edge from layer l to l+1 carries ‖Wˡ⁺¹‖ and the gain (×) by which the
    gradient is scaled on its way back from layer l+1 to layer l (◀). A network too deep
    for one row (`rankdir` "LR") or column ("TB") within about 2,000 px snakes in rows (or
    columns) near 3:2.
    """
    if not hasattr(flow, "layers"):
        raise TypeError(f"draw_layers: flow must be what layer_flow returns, got {type(flow).__name__}")
    style.check_rankdir("draw_layers", rankdir)
    layers = list(flow.layers)
    if not layers:
        raise ValueError("draw_layers: the flow has no layers")
    fastest = max((abs(s.speed_bias) for s in layers if s.speed_bias is not None), default=0.0)
    activations = list(getattr(flow, "activations", ()) or ())
    caption = _caption(layers, slope_symbol(activations, prime="′"))
    size = input_size if input_size is not None else _input_size(flow)
    nodes = [{
        "label": style.html_lines("<B>input</B>", f"{style.count(size)} values" if size else ""),
        "shape": "box",
        "style": "rounded,filled",
        "color": style.UNKNOWN_COLOUR,
        "fillcolor": "#f4f4f4",
    }]
    steps = [{"color": style.UNKNOWN_COLOUR, "penwidth": "1.0"}]
    for position, stats in enumerate(layers):
        last = position == len(layers) - 1
        look = style.look(stats.speed_bias)
        activation = activations[position] if position < len(activations) else ""
        # Nielsen's cross-entropy cancels σ′(zᴸ): δᴸ = aᴸ − y.
        unused_slope = last and getattr(flow, "cost", None) == "cross_entropy"
        nodes.append({
            "label": _layer_label(
                stats, position + 1, last, fastest, look.colour, activation, unused_slope
            ),
            "shape": "box",
            "style": "rounded,filled",
            "color": look.colour,
            "fillcolor": style.tint(look.colour, 0.88),
            "penwidth": str(look.pen),
        })
        if position > 0:
            steps.append(_edge_attributes(layers[position - 1], stats, position))
    loss = getattr(flow, "loss", None)
    cost_name = getattr(flow, "cost", None)
    cost_lines = [str(cost_name)] if isinstance(cost_name, str) else []
    if isinstance(loss, (int, float)):
        cost_lines.append(f"C = {style.number(float(loss))}")
    nodes.append({
        "label": style.html_lines("<B>cost C</B>", *cost_lines),
        "shape": "box",
        "style": "rounded,filled",
        "color": style.INK,
        "fillcolor": "#f4f4f4",
    })
    steps.append({"color": style.INK, "penwidth": "1.0"})
    # A network too deep for one row (or column) snakes in rows near 3:2, within budget.
    per = rows.per_line(nodes, steps, CAPTION_HEIGHT, across=rankdir not in ("TB", "BT"))
    graph = style.new_digraph(
        title, caption, "‖∂C/∂bˡ‖" if legend else None, rows.rankdir_for(rankdir, per, len(nodes)), (0,)
    )
    graph.attr(nodesep="0.3", ranksep="0.35")
    names = ["input", *(f"layer{position + 1}" for position in range(len(layers))), "cost"]
    for name, attributes in zip(names, nodes):
        graph.node(name, **attributes)
    rows.line_up(graph, names, per, lambda position: steps[position - 1])
    return graph


def _layer_label(
    stats: Any,
    number: int,
    last: bool,
    fastest: float,
    colour: str,
    activation: str,
    unused_slope: bool,
) -> str:
    """An HTML table: name and size, speed of learning with its bar, ‖∂C/∂Wˡ‖, the slope (σ′)."""
    index = _index(stats, number)
    slope = style.escape(slope_symbol([activation] if activation else [], prime="′"))
    kind = "output layer" if last else "hidden layer"
    speed = stats.speed_bias
    neurons = (
        f"{style.count(stats.size)} {style.escape(activation)} neurons"
        if activation
        else (f"{style.count(stats.size)} neurons")
    )
    rows = [
        f"<B>{kind} {style.escape(str(index))}</B>",
        f'<FONT POINT-SIZE="9">{neurons}</FONT>',
        f"speed ‖∂C/∂b{_up(index)}‖ <B>{_maybe(speed)}</B>",
    ]
    if speed is not None and fastest > 0:
        filled = max(1, round(BAR_WIDTH * abs(speed) / fastest))
        rest = BAR_WIDTH - filled
        spacer = f'<TD WIDTH="{rest}" HEIGHT="7" BGCOLOR="white"></TD>' if rest > 0 else ""
        rows.append(
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0" COLOR="#bbbbbb">'
            f'<TR><TD WIDTH="{filled}" HEIGHT="7" BGCOLOR="{colour}"></TD>{spacer}</TR></TABLE>'
        )
    rows.append(f'<FONT POINT-SIZE="9">‖∂C/∂W{_up(index)}‖ {_maybe(stats.speed_weight)}</FONT>')
    rows.append(
        f'<FONT POINT-SIZE="9">{slope}(z{_up(index)}) mean {_maybe(stats.slope_mean, 3)}'
        f" · max {_maybe(stats.slope_max, 3)}</FONT>"
    )
    if unused_slope:
        rows.append(
            f'<FONT POINT-SIZE="8" COLOR="#777777">'
            f"(cross-entropy: δ{_up(index)} = a − y, no {slope})</FONT>"
        )
    cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def _edge_attributes(before: Any, after: Any, number: int) -> dict[str, str]:
    """The edge from layer `number` (stats `before`) to the next (stats `after`)."""
    look = style.look(after.speed_bias)
    next_index = _index(after, number + 1)
    lines = []
    if before.next_weight_norm is not None:
        lines.append(f"‖W{_up(next_index)}‖₂ {style.number(before.next_weight_norm, 3)}")
    if before.gain is not None:
        lines.append(f"◀ gain ×{style.number(before.gain, 3)}")
    label = "<" + "<BR/>".join(style.escape(line) for line in lines) + ">" if lines else ""
    return {"label": label, "color": look.colour, "penwidth": str(look.pen)}


def _caption(layers: list, slope: str) -> list[str]:
    """The book's comparison, the first hidden layer against the last hidden layer (the output
    layer is the last of `layers`), then what the gains on the edges mean."""
    lines = []
    hidden = layers[:-1]
    first, last = (hidden[0].speed_bias, hidden[-1].speed_bias) if len(hidden) > 1 else (0, 0)
    if first and last:
        ratio = abs(last / first)
        if ratio >= 1:
            how = f"{style.number(ratio, 3)}× more slowly than"
        else:
            how = f"{style.number(1 / ratio, 3)}× faster than"
        lines.append(
            f"speed of learning ‖∂C/∂bˡ‖: hidden layer {_index(hidden[0], 1)} learns {how} "
            f"hidden layer {_index(hidden[-1], len(hidden))}, the last hidden layer "
            f"({style.number(first, 3)} vs {style.number(last, 3)})"
        )
    lines.append(
        f"◀ gain: how much the gradient is scaled going back one layer, through Wˡ⁺¹ and {slope}(zˡ)"
    )
    return lines


def _input_size(flow: Any) -> int | None:
    size = getattr(flow, "input_size", None)
    if isinstance(size, int):
        return size
    for holder in (flow, getattr(flow, "model", None)):
        sizes = getattr(holder, "sizes", None)
        if sizes:
            return int(sizes[0])
    return None


def _index(stats: Any, default: int) -> Any:
    """The layer's number as the flow names it (an int, else its position)."""
    layer = getattr(stats, "layer", None)
    return layer if isinstance(layer, (int, str)) and not isinstance(layer, bool) else default


def _up(index: Any) -> str:
    return style.superscript(index) if isinstance(index, int) else f"^{index}"


def _maybe(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else style.number(float(x), digits)
