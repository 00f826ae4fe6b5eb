"""The layer view of a `Diagnosis`: one node per layer, left to right, each with its verdict.

Like `draw_layers`, each layer shows its size and speed ‖∂C/∂bˡ‖; here it also shows the
update ratio, the saturation, κˡ and the line search, and its border and verdict are
coloured by the verdict (blue vanishing, red exploding, orange saturated, green near a
minimum, grey healthy). Edges keep the gradient colour scale of ‖∂C/∂bˡ‖.
"""

from __future__ import annotations

from typing import Any

import graphviz

from . import rows, style

CAPTION_HEIGHT = 60.0  # points: the title and two caption lines above the boxes

VERDICT_COLOURS = {
    "vanishing": "#4d84c2",
    "exploding": "#e3202b",
    "saturated": "#d9821e",
    "near a minimum": "#3a8f4b",
    "healthy": "#6b6b6b",
}


def draw_diagnosis(diagnosis: Any, *, title: str = "", rankdir: str = "LR") -> graphviz.Digraph:
    """The layer view of `diagnosis` (a `microgradvg.Diagnosis`) with each layer's verdict.

    One node for the input, one per layer and one for the cost C; a layer's node lists
    ‖∂C/∂bˡ‖, η‖∂C/∂Wˡ‖/‖Wˡ‖, the saturation, κˡ and the best line-search drop, and ends
    with its verdict and the measurement that decided it. A network too deep for one row
    (`rankdir` "LR") or column ("TB") within about 2,000 px snakes in rows (or columns) near 3:2.
    """
    if not hasattr(diagnosis, "layers"):
        raise TypeError(f"draw_diagnosis: diagnosis must be what diagnose returns, got {type(diagnosis).__name__}")
    style.check_rankdir("draw_diagnosis", rankdir)
    layers = list(diagnosis.layers)
    if not layers:
        raise ValueError("draw_diagnosis: the diagnosis has no layers")
    caption = [
        (
            f"verdict: {diagnosis.verdict} · C = {style.number(diagnosis.loss)} ({diagnosis.cost}, "
            f"{style.count(diagnosis.batch_size)} examples) · update ratios at η = "
            f"{diagnosis.learning_rate:g}"
        ),
        "update = η‖∂C/∂Wˡ‖/‖Wˡ‖ (guide ≈ 1e-3) · best ΔC: moving layer l alone along −g",
    ]
    sizes = getattr(diagnosis, "sizes", ())
    nodes = [{
        "label": style.html_lines("<B>input</B>", f"{style.count(sizes[0])} values" if sizes else ""),
        "shape": "box", "style": "rounded,filled", "color": style.UNKNOWN_COLOUR, "fillcolor": "#f4f4f4",
    }]
    steps = []
    for d in layers:
        colour = VERDICT_COLOURS.get(d.verdict, style.INK)
        nodes.append({
            "label": _label(d, d is layers[-1], colour), "shape": "box", "style": "rounded,filled",
            "color": colour, "fillcolor": style.tint(colour, 0.9), "penwidth": "2.2",
        })
        look = style.look(d.speed)
        steps.append({"color": look.colour, "penwidth": str(look.pen)})
    nodes.append({
        "label": style.html_lines("<B>cost C</B>", diagnosis.cost, f"C = {style.number(diagnosis.loss)}"),
        "shape": "box", "style": "rounded,filled", "color": style.INK, "fillcolor": "#f4f4f4",
    })
    steps.append({"color": style.INK, "penwidth": "1.0"})
    # A network too deep for one row (or column) snakes in rows near 3:2, within budget.
    per = rows.per_line(nodes, steps, CAPTION_HEIGHT, across=rankdir not in ("TB", "BT"))
    graph = style.new_digraph(title, caption, None, rows.rankdir_for(rankdir, per, len(nodes)))
    graph.attr(nodesep="0.3", ranksep="0.35")
    names = ["input", *(f"layer{d.layer}" for d in layers), "cost"]
    for name, attributes in zip(names, nodes):
        graph.node(name, **attributes)
    rows.line_up(graph, names, per, lambda position: steps[position - 1])
    return graph


def _label(d: Any, last: bool, colour: str) -> str:
    """An HTML table: name and size, the measurements, then the verdict in its colour."""
    up = style.superscript(d.layer)
    kind = "output layer" if last else "hidden layer"
    curvature = "—" if d.curvature is None else style.number(d.curvature, 3)
    rows = [
        f"<B>{kind} {d.layer}</B>",
        f'<FONT POINT-SIZE="9">{style.count(d.size)} {style.escape(d.activation)} neurons</FONT>',
        f"speed ‖∂C/∂b{up}‖ <B>{style.number(d.speed, 3)}</B>",
        (
            f'<FONT POINT-SIZE="9">update {style.number(d.update_ratio, 2)}'
            f" · saturated {d.saturation:.0%}</FONT>"
        ),
        (
            f'<FONT POINT-SIZE="9">κ{up} {curvature} · best ΔC '
            f"{style.number(d.line_search_drop, 2)}</FONT>"
        ),
        f'<FONT COLOR="{colour}"><B>{style.escape(d.verdict)}</B></FONT>',
    ]
    rows += [
        f'<FONT POINT-SIZE="8" COLOR="{colour}">{style.escape(line)}</FONT>'
        for line in _wrap(d.reason, 34)
    ]
    cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most about `width` characters, broken at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
