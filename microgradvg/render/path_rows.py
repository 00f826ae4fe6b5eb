"""Several long paths of one chain drawn as rows, one per path, to see where they differ.

Each row is one path from wrt to output, folded into the same few elements: wrt, boxes of
runs of factors (their count, ops, product and range), output. Paths of the same length
are cut at the same places, so box j covers the same factors in every row; whatever path
#r shares with path #1 is faded and marked "same as #1", so the run where it goes its own
way stands out. `chains.draw_chain` draws k > 1 long paths this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import graphviz
import numpy as np

from . import style
from .graphs import edge_attributes
from .lines import (
    box_attributes,
    element_size,
    factors_text,
    log_product,
    node_label,
    period_of,
    product_text,
)
from .nodes import is_scalar, node_attributes
from .rows import text_size

BOXES = (6, 3)  # boxes in a row: as many as fit, at least the second
MAX_WIDTH = 1400.0  # points the rows may take (1,870 px; the budget is about 2,000)
COLUMN_GAP = 22.0  # points between two columns, besides the label of the edge across


def draw_path_rows(
    paths: Sequence[Any],
    output: Any,
    caption: Sequence[str],
    title: str,
    legend: bool,
    tensor_factor: str,
) -> graphviz.Digraph:
    """Paths `paths` of one chain (#1 first, each a `Path` from wrt to `output`) as rows.

    Row r: its label (rank, sign and product Π factors, red > 0, blue < 0), then wrt, the
    boxes and output. Each box is a run of factors (count, ops, product, range of |·|)
    and the edges between elements are single factors; paths of one length are folded at
    the same places, so a column compares like with like. In rows 2 … the elements and
    edges that path #1 also takes are faded ("same as #1").
    """
    first = paths[0]
    on_first = set(_edge_ids(first))
    first_nodes = {id(node) for node in first.nodes}
    period = period_of([child.op for child, _ in first.edges])
    for boxes in range(BOXES[0], BOXES[1] - 1, -1):
        rows = [
            _row(path, rank, boxes, period, on_first, first_nodes, tensor_factor)
            for rank, path in enumerate(paths, start=1)
        ]
        if _width(rows) <= MAX_WIDTH:
            break
    lines = list(caption)
    lines.append(
        f"each row is one path from wrt to output, folded into at most {boxes} boxes (a run of "
        "factors: their count and product), single factors on the edges between;"
    )
    lines.append(
        "in rows #2 … what path #1 also takes is faded (same as #1): read down a column to see "
        "where the paths part"
    )
    signs = (1, -1) if is_scalar(output) else (1, -1, 0)
    graph = style.new_digraph(title, lines, "gradient" if legend else None, "LR", signs)
    graph.attr(nodesep="0.25", ranksep="0.4")
    for index, (label, elements, links) in enumerate(rows):
        names = [f"r{index}e{position}" for position in range(len(elements))]
        graph.node(f"r{index}", **label)
        for name, attributes in zip(names, elements):
            graph.node(name, **attributes)
        graph.edge(f"r{index}", names[0], style="invis")
        for position, attributes in enumerate(links, start=1):
            graph.edge(names[position - 1], names[position], **attributes)
    with graph.subgraph() as labels:
        # One rank for the labels, kept in order top to bottom by invisible edges (in a
        # left-to-right picture, edges inside a rank run downwards).
        labels.attr(rank="same")
        for index in range(len(rows)):
            labels.node(f"r{index}")
            if index:
                labels.edge(f"r{index - 1}", f"r{index}", style="invis")
    with graph.subgraph() as outputs:
        outputs.attr(rank="same")  # the outputs in one column, however long each path
        for index, (_, elements, _) in enumerate(rows):
            outputs.node(f"r{index}e{len(elements) - 1}")
    return graph


Row = tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]


def _row(
    path: Any,
    rank: int,
    boxes: int,
    period: int,
    on_first: set[tuple[int, int]],
    first_nodes: set[int],
    tensor_factor: str,
) -> Row:
    """(label, elements, edges between them) of one path's row."""
    edges = list(path.edges)
    nodes = path.nodes
    values = path.values()
    ops = [child.op for child, _ in edges]
    ids = _edge_ids(path)
    runs = row_runs(len(edges), boxes, period)
    elements = []
    for start, stop in runs:
        if stop - start == 1:
            same = rank > 1 and id(nodes[start]) in first_nodes
            node = nodes[start]
            attributes = node_attributes(node, node is nodes[-1], faded=same, on_path=not same)
        else:
            same = rank > 1 and all(ids[i] in on_first for i in range(start, stop - 1))
            attributes = box_attributes(nodes, ops, values, start, stop)
            if same:
                attributes = _faded_box(nodes, values, start, stop, attributes)
            elif rank > 1:
                attributes = _off_first(nodes[start:stop], first_nodes, attributes)
        elements.append(attributes)
    links = []
    for start, _ in runs[1:]:
        child, slot = edges[start - 1]  # the edge from the last node of the run before
        same = rank > 1 and ids[start - 1] in on_first
        links.append(edge_attributes(child, slot, tensor_factor, [] if same else None))
    return _label(path, rank, values, len(edges)), elements, links


def row_runs(length: int, boxes: int, period: int) -> list[tuple[int, int]]:
    """The elements of a row for a path of `length` factors, as [start, stop) ranges of
    node positions: wrt, `boxes` runs of whole periods where they fit, output.

    The cuts depend only on the length (and path #1's period), so paths of one length are
    cut alike."""
    if length <= boxes + 1:  # too short to fold: every node its own element
        return [(i, i + 1) for i in range(length + 1)]
    inner = length - 1  # nodes 1 … length − 1, between wrt and output
    step = period if inner >= boxes * period else 1
    cuts = sorted({1 + round(j * inner / boxes / step) * step for j in range(boxes)} | {length})
    return [(0, 1), *pairwise(cuts), (length, length + 1)]


def _edge_ids(path: Any) -> list[tuple[int, int]]:
    """The path's edges as (id of child, slot): the same edge in two paths, the same pair."""
    return [(id(child), slot) for child, slot in path.edges]


def _faded_box(
    nodes: Sequence[Any], values: np.ndarray, start: int, stop: int, full: dict[str, str]
) -> dict[str, str]:
    """A box that holds exactly path #1's factors there: said briefly, and faded."""
    sign, log10 = log_product(values[start : stop - 1])
    first, last = node_label(nodes[start]), node_label(nodes[stop - 1])
    title = "<B>same as #1</B>"
    lines = [
        f"{style.escape(first, 24)} … {style.escape(last, 24)}",
        f"{factors_text(stop - start - 1)}, product {product_text(sign, log10)}",
    ]
    return {
        **full,
        "label": style.html_lines(title, *lines),
        "style": "filled",
        "color": style.FADED_COLOUR,
        "fillcolor": "white",
        "fontcolor": style.FADED_TEXT,
        "penwidth": "0.8",
    }


def _off_first(nodes: Sequence[Any], first_nodes: set[int], box: dict[str, str]) -> dict[str, str]:
    """The box with a last line naming the nodes in it that path #1 does not go through."""
    off = [node for node in nodes if id(node) not in first_nodes]
    if not off:  # the same nodes, joined by other edges (a node used twice, as in x · x)
        return box
    names = [style.escape(node_label(node), 24) for node in (off[0], off[-1])]
    text = names[0] if len(off) == 1 else f"{names[0]} … {names[1]}"
    return {**box, "label": f'{box["label"][:-1]}<BR/><FONT POINT-SIZE="9"><B>off #1: {text}</B></FONT>>'}


def _label(path: Any, rank: int, values: np.ndarray, length: int) -> dict[str, str]:
    """The row's label: its rank, sign and product, in the colour of the sign."""
    if path.chain.is_tensor:
        sign, which = 0, "‖·‖"
        product = style.number(float(np.linalg.norm(path.product)), 3)
    else:
        value_sign, log10 = log_product(values)
        sign = 0 if np.isnan(value_sign) else int(value_sign)
        which = {1: "positive", -1: "negative", 0: "zero"}[sign]
        product = product_text(value_sign, log10)
    colour = style.gradient_colour(1.0, sign) if sign or path.chain.is_tensor else style.INK
    lines = [f"product {product}", factors_text(length)]
    return {
        "label": style.html_lines(f"<B>#{rank} {which}</B>", *lines, size=11),
        "shape": "box",
        "style": "filled",
        "color": colour,
        "fontcolor": colour,
        "fillcolor": style.tint(colour, 0.88),
        "penwidth": "1.6",
    }


def _width(rows: Sequence[Row]) -> float:
    """About how wide, in points, the rows are drawn: each column as wide as its widest
    element, each gap as its widest edge label."""
    columns = max(len(elements) for _, elements, _ in rows) + 1
    widths = [0.0] * columns
    gaps = [0.0] * columns
    for label, elements, links in rows:
        for position, attributes in enumerate([label, *elements]):
            widths[position] = max(widths[position], element_size(attributes)[0])
        for position, attributes in enumerate(links, start=2):
            gaps[position] = max(gaps[position], text_size(attributes.get("label", ""))[0])
    return sum(widths) + sum(gaps) + (columns - 1) * COLUMN_GAP


__all__ = ["draw_path_rows", "row_runs"]
