"""One path drawn as a line of nodes that wraps into rows, folding long runs into boxes.
Its boxes and sizes serve `path_rows` too, which draws several paths one row each.

The line snakes (`rows.snake`): row 1 left to right, row 2 right to left, and so on, so
each step is short; the columns and the gap between rows are chosen from the labels'
sizes, so the picture comes out near 3:2. Past `WRAP_NODES` nodes the middle of the path is
cut into runs of equal length (whole periods of its repeating ops, e.g. linear, sigmoid)
and each run is one box: its count of factors, their ops, product and range. Whatever
the path's length, the picture has at most `FOLDED_ELEMENTS` boxes and nodes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import graphviz
import numpy as np

from ..formatting import from_log10
from . import style
from .graphs import edge_attributes
from .nodes import gradient_magnitude, gradient_sign, is_scalar, node_attributes
from .rows import ASPECT, best_count, label_size, snake, text_size

ROW_FACTORS = 12  # a path up to this long is drawn on one row, inside its graph,
MAX_ROW_WIDTH = 1450.0  # if its row is estimated at most this wide, in points (~1,930 px)
WRAP_NODES = 30  # a path with up to this many nodes is drawn node by node, wrapped
FOLDED_ELEMENTS = 24  # boxes and nodes in a folded path
NAME = 24  # characters of a node's name in a box
ENDS = 3  # nodes kept whole at each end of a folded path
# How dot lays out a wrapped line, in points, for choosing how many elements go on a row
# (measured on rendered SVGs; tests/test_lines.py checks the width : height that comes out).
NODE_LINES = 0.875  # a node's 9-point lines take 10.5 points, not label_size's 12
NODE_MARGIN = "0.08,0.04"  # inches, style.new_digraph's node margin
MIN_NODE_WIDTH, PEN = 54.0, 4.0  # dot's minimum node width; the bold outline and 3-d edge
EDGE_GAP = 36.0  # between two nodes of a row, besides the edge's label: nodesep and arrow
RANK_GAP, RANK_GAPS = 32.0, (18.0, 58.0)  # between two rows (ranksep): usual, least, most
CAPTION_LINE, CAPTION_SCALE, TITLE_CHARACTER = 15.0, 1.1, 7.0  # 10-pt caption, 13-pt title
LEGEND_WIDTH, LEGEND_HEIGHT = 490.0, 80.0


def draw_line(
    path: Any,
    output: Any,
    caption: Sequence[str],
    title: str,
    legend: bool,
    tensor_factor: str,
) -> graphviz.Digraph:
    """Path `path` (wrt … output) as a wrapped line, folded into boxes when long: how
    `draw_chain` draws one long path (several are drawn as rows by `path_rows`)."""
    # Read off the path's edges: a path a million factors long builds no Factor objects.
    edges = list(path.edges)
    nodes = path.nodes if edges else [output]
    values = path.values()
    ops = [child.op for child, _ in edges]
    runs = _runs(ops, len(nodes))
    folded = any(stop - start > 1 for start, stop in runs)
    lines = list(caption)
    how = (
        f"folded into {len(runs)} nodes and boxes (each box: a run of factors, their count and product)"
        if folded
        else "wrapped into rows"
    )
    lines.append(
        f"path #1 has {style.count(len(nodes))} nodes, drawn alone, {how}; "
        "read it row by row from wrt"
    )
    scalar = is_scalar(output)
    signs = (1, -1) if scalar else (1, -1, 0)
    graph = style.new_digraph(title, lines, "gradient" if legend else None, "TB", signs)
    elements, names = [], []
    for position, (start, stop) in enumerate(runs):
        if stop - start == 1:
            node = nodes[start]
            attributes = node_attributes(node, node is output, faded=False, on_path=True)
        else:
            attributes = box_attributes(nodes, ops, values, start, stop)
        elements.append(attributes)
        names.append(f"e{position}")
        graph.node(names[-1], **attributes)
    links = [
        edge_attributes(child, slot, tensor_factor, [1])
        for child, slot in (edges[start - 1] for start, _ in runs[1:])  # into each run
    ]
    columns, rank_gap = _layout(elements, links, lines, title, legend)
    graph.attr(nodesep="0.35", ranksep=f"{rank_gap:g}")
    snake(graph, names, columns, lambda position: links[position - 1])
    return graph


def row_width(path: Any, tensor_factor: str, paths: int = 1) -> float:
    """About how wide, in points, `path` is drawn on one row among `paths` highlighted ones:
    its nodes' and edges' labels, each edge naming the paths through it (at its longest)."""
    edges = list(path.edges)
    if not edges:
        return 0.0
    ranks = list(range(1, max(paths, 2)))  # on every path but one: the most an edge names
    labels = [node_attributes(node, False, False)["label"] for node in path.nodes]
    labels += [edge_attributes(child, slot, tensor_factor, ranks, paths)["label"] for child, slot in edges]
    return sum(text_size(label)[0] + 20.0 for label in labels)


def _runs(ops: Sequence[str], count: int) -> list[tuple[int, int]]:
    """The elements drawn, as [start, stop) ranges of node positions: one node each while
    the path is short, else ENDS nodes at each end and runs of whole periods between."""
    if count <= WRAP_NODES:
        return [(i, i + 1) for i in range(count)]
    head, tail = ENDS, count - ENDS
    period = period_of(ops, head, tail - 1)
    boxes = FOLDED_ELEMENTS - 2 * ENDS
    size = math.ceil((tail - head) / boxes / period) * period
    middle = [(start, min(start + size, tail)) for start in range(head, tail, size)]
    return [(i, i + 1) for i in range(head)] + middle + [(i, i + 1) for i in range(tail, count)]


def period_of(ops: Sequence[str], start: int = 0, stop: int | None = None) -> int:
    """The period (1 … 6) with which the ops[start:stop] repeat, e.g. 2 for linear, sigmoid,
    linear, sigmoid, …; 1 when they do not."""
    stop = len(ops) if stop is None else stop
    return next(
        (p for p in range(1, 7) if all(ops[i] == ops[i + p] for i in range(start, stop - p))), 1
    )


def _layout(
    elements: Sequence[dict[str, str]],
    links: Sequence[dict[str, str]],
    caption: Sequence[str],
    title: str,
    legend: bool,
) -> tuple[int, float]:
    """(elements per row, gap between rows in inches) so that the picture, caption
    included, comes out near ASPECT : 1.

    The count of columns comes in steps (17 elements make 3 rows or 4), so the gap
    between rows then takes up what is left, within RANK_GAPS."""
    if len(elements) <= 6:
        return len(elements), round(RANK_GAP / 72, 2)

    columns = best_count(
        len(elements), lambda count: _estimate(elements, links, caption, title, legend, count)
    )
    width, height = _estimate(elements, links, caption, title, legend, columns)
    rows = math.ceil(len(elements) / columns)
    gap = RANK_GAP + (width / ASPECT - height) / rows
    return columns, round(min(max(gap, RANK_GAPS[0]), RANK_GAPS[1]) / 72, 2)


def _estimate(
    elements: Sequence[dict[str, str]],
    links: Sequence[dict[str, str]],
    caption: Sequence[str],
    title: str,
    legend: bool,
    columns: int,
) -> tuple[float, float]:
    """(width, height) in points of the wrapped line at `columns` elements a row, measured
    from the labels themselves: a row is as wide as its elements and the labelled edges
    between them, the picture as wide as its widest row or its caption, and as tall as its
    rows and the caption with the legend."""
    sizes = [element_size(attributes) for attributes in elements]
    gaps = [text_size(attributes.get("label", ""))[0] + EDGE_GAP for attributes in links]
    text_width = max((label_size(line)[0] for line in caption), default=0.0) * CAPTION_SCALE
    heading = style.title_lines(title)
    title_width = max((len(line) for line in heading), default=0) * TITLE_CHARACTER
    width = max(text_width, LEGEND_WIDTH if legend else 0.0, title_width)
    height = (len(caption) + len(heading)) * CAPTION_LINE + (LEGEND_HEIGHT if legend else 0.0)
    for first in range(0, len(elements), columns):
        row = range(first, min(first + columns, len(elements)))
        inside = sum(gaps[position - 1] for position in row if position > first)
        width = max(width, sum(sizes[position][0] for position in row) + inside)
        height += max(sizes[position][1] for position in row) + RANK_GAP
    return width, height


def element_size(attributes: dict[str, str]) -> tuple[float, float]:
    """(width, height) in points of one node or box as dot draws it, margins included."""
    width, height = text_size(attributes["label"])
    across, down = (float(x) * 72 for x in attributes.get("margin", NODE_MARGIN).split(","))
    return max(MIN_NODE_WIDTH, width + 2 * across + PEN), height * NODE_LINES + 2 * down + PEN


def box_attributes(
    nodes: Sequence[Any], ops: Sequence[str], values: np.ndarray, start: int, stop: int
) -> dict[str, str]:
    """A box for nodes[start:stop] and the factors between them (factor i, of op ops[i]
    and value values[i], joins nodes i and i + 1): their count, ops, product and range,
    coloured by the gradient at its wrt end (where backward leaves the run)."""
    first, last = nodes[start], nodes[stop - 1]
    counts = Counter(ops[start : stop - 1])
    kinds = ", ".join(f"{style.count(n)} {op}" for op, n in sorted(counts.items(), key=lambda x: -x[1]))
    inside_values = values[start : stop - 1]
    sign, log10 = log_product(inside_values)
    finite = np.abs(inside_values[np.isfinite(inside_values)])
    lines = [
        f"{factors_text(stop - start - 1)}: {kinds}",
        f"product {product_text(sign, log10)}",
    ]
    if finite.size:
        lines.append(
            f"each |·| {style.number(float(finite.min()), 3)} … {style.number(float(finite.max()), 3)}"
        )
    lines.append(f"grad {style.number(gradient_magnitude(first.grad) or 0.0, 3)} at {node_label(first)}")
    title = f"<B>{style.escape(node_label(first), 24)} … {style.escape(node_label(last), 24)}</B>"
    look = style.look(gradient_magnitude(first.grad), gradient_sign(first.grad))
    return {
        "label": style.html_lines(title, *lines),
        "shape": "box3d",
        "style": "filled" if look.style == "solid" else f"filled,{look.style}",
        "color": style.INK,
        "penwidth": "2.4",
        "fillcolor": style.tint(look.colour, 0.6),
        "margin": "0.14,0.1",
    }


def node_label(node: Any) -> str:
    """A node's name in a box: its label, else its op, else "leaf" (at most 24 characters)."""
    name = node.label or node.op or "leaf"
    return name if len(name) <= NAME else name[: NAME - 1] + "…"


def factors_text(count: int) -> str:
    """'1 factor', '12 factors', '1,204 factors'."""
    return f"{style.count(count)} factor{'' if count == 1 else 's'}"


def log_product(values: np.ndarray) -> tuple[float, float]:
    """(sign, log₁₀|Π values|) of a product that may overflow or underflow a float.

    The sign is +1, −1, 0 (a zero factor) or nan (a nan factor, or 0 × ∞).
    """
    if np.isnan(values).any():
        return math.nan, math.nan
    magnitudes = np.abs(values)
    zero = bool((magnitudes == 0.0).any())
    if zero:
        return (math.nan, math.nan) if np.isinf(magnitudes).any() else (0.0, -math.inf)
    sign = -1.0 if np.count_nonzero(values < 0) % 2 else 1.0
    with np.errstate(over="ignore"):
        return sign, float(np.log10(magnitudes).sum())


def product_text(sign: float, log10: float) -> str:
    """The product (sign, log₁₀|p|) from `log_product` written for a label."""
    if math.isnan(sign):
        return "nan"
    if sign == 0.0:
        return "0"
    if math.isinf(log10):
        return "inf" if sign > 0 else "-inf"
    if -300 < log10 < 300:
        return style.number(sign * 10**log10, 3)
    return from_log10(sign, log10)


__all__ = [
    "MAX_ROW_WIDTH", "ROW_FACTORS", "box_attributes", "draw_line", "element_size",
    "factors_text", "log_product", "node_label", "period_of", "product_text", "row_width",
]
