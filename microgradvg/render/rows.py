"""A chain of elements laid out in rows that snake: row 1 left to right, row 2 right to
left, and so on, so every step is short and the picture comes out near 3:2 however long
the chain. The folded path (`lines`), a graph grouped into a chain of bands (`collapse`),
the layer views (`layers`, `diagnosis`: one row while it fits, `per_line`) and the flow
along nodes (`along`, as many as fit, `capacity`) are drawn this way.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence

import graphviz

ASPECT = 1.5  # width : height aimed at
LIMIT = 1500.0  # points each way (2,000 px), where the elements allow it
CHARACTER_WIDTH = 4.6  # points, of a 9- or 10-point character of the house font, about
LINE_HEIGHT = 12.0  # points, of one line of a 9- or 10-point label
GAP = 25.0  # points between two boxes of a line, besides the edge's label: ranksep and arrow
TAG = re.compile(r"<[^>]*>")


def label_size(label: str) -> tuple[float, float]:
    """About how wide and tall (points) dot draws an HTML label: its longest line, its lines
    (a line break, or a table's row)."""
    lines = TAG.sub("", label.replace("<BR/>", "\n").replace("</TR>", "\n")).strip("\n").split("\n")
    return max(len(html.unescape(line)) for line in lines) * CHARACTER_WIDTH, len(lines) * LINE_HEIGHT


def text_size(label: str) -> tuple[float, float]:
    """`label_size` of a Graphviz label as a node or edge holds it: an HTML label's outer
    <…> are its quotes, not a tag."""
    if label.startswith("<") and label.endswith(">"):
        label = label[1:-1]
    return label_size(label)


def best_count(elements: int, size: Callable[[int], tuple[float, float]], least: int = 2) -> int:
    """The count, least … elements (of elements a row, or a column), whose picture
    `size(count)` (width, height in points) comes nearest ASPECT : 1, among those within
    LIMIT points each way if any is."""
    counts = range(least, elements + 1)

    def misfit(count: int) -> float:
        width, height = size(count)
        return abs(math.log(width / height / ASPECT))

    fitting = [count for count in counts if max(size(count)) <= LIMIT]
    return min(fitting or counts, key=misfit)


def columns(elements: int, width: float, height: float, caption: float, across: bool = True) -> int:
    """How many elements go on a row (or, `across` False, in a column) for a picture near
    ASPECT : 1 (`best_count`), when each element takes `width` × `height` points (spacing and
    edge labels included) under a caption (title, text and legend) `caption` points tall."""
    if elements <= 2:
        return max(elements, 1)

    def size(count: int) -> tuple[float, float]:
        other = math.ceil(elements / count)
        wide, tall = (count, other) if across else (other, count)
        return wide * width, tall * height + caption

    return best_count(elements, size, 2 if across else 1)


def capacity(width: float, height: float, caption: float) -> int:
    """How many elements of `width` × `height` points (as for `columns`) fit within LIMIT
    points each way under a caption `caption` points tall: at least 2."""
    return max(2, int(LIMIT // width) * int((LIMIT - caption) // height))


def snake(
    graph: graphviz.Digraph,
    names: Sequence[str],
    per_row: int,
    edge: Callable[[int], dict[str, str]],
) -> None:
    """Put the nodes `names` (already in `graph`, which runs top to bottom) in rows of
    `per_row`, and join each to the next with the attributes `edge(position)` gives for the
    step into names[position]. In a graph that runs left to right the rows are columns,
    the first read downwards."""
    for row in range(0, len(names), per_row):
        with graph.subgraph() as same:
            same.attr(rank="same")
            for name in names[row : row + per_row]:
                same.node(name)
    for position in range(1, len(names)):
        attributes = edge(position)
        row, previous_row = position // per_row, (position - 1) // per_row
        if row == previous_row and row % 2 == 1:
            # Odd rows run right to left: written child → parent, drawn with the arrow back.
            graph.edge(names[position], names[position - 1], dir="back", **attributes)
        else:
            graph.edge(names[position - 1], names[position], **attributes)


def per_line(
    nodes: Sequence[dict[str, str]],
    steps: Sequence[dict[str, str]],
    caption: float,
    across: bool = True,
) -> int:
    """How many of the boxes `nodes`, joined in order by the edges `steps` (Graphviz
    attributes, labels measured), go on one line: all of them when the line fits within
    LIMIT points (a row, or `across` False a column), else as many as `columns` puts on a
    row (or in a column) of lines that snake near ASPECT : 1 under a caption `caption`
    points tall."""
    sizes = [text_size(node["label"]) for node in nodes]
    gaps = [text_size(step.get("label", "")) for step in steps]
    side = 0 if across else 1
    line = sum(size[side] for size in sizes) + sum(gap[side] + GAP for gap in gaps)
    if line <= LIMIT:
        return len(nodes)
    # Each box as wide and tall as the largest, with the widest edge label beside it.
    width = max(size[0] for size in sizes) + max(gap[0] for gap in gaps) + 60.0
    height = max(size[1] for size in sizes) + 45.0
    return columns(len(nodes), width, height, caption, across)


def line_up(
    graph: graphviz.Digraph,
    names: Sequence[str],
    per: int,
    edge: Callable[[int], dict[str, str]],
) -> None:
    """Join the nodes `names` in order with the attributes `edge(position)` gives for the
    step into names[position]: one straight line along the graph's rankdir when `per`
    takes them all, else lines of `per` that snake (`snake`; the graph then runs across
    them: top to bottom for rows, left to right for columns)."""
    if per >= len(names):
        for position in range(1, len(names)):
            graph.edge(names[position - 1], names[position], **edge(position))
    else:
        snake(graph, names, per, edge)


def rankdir_for(rankdir: str, per: int, count: int) -> str:
    """The graph's rankdir for `count` boxes `per` to a line asked for along `rankdir`: the
    same when one line takes them all, else across the lines ("TB" for rows that snake,
    "LR" for columns)."""
    if per >= count:
        return rankdir
    return "LR" if rankdir in ("TB", "BT") else "TB"


__all__ = [
    "ASPECT", "best_count", "capacity", "columns", "label_size", "line_up", "per_line",
    "rankdir_for", "snake", "text_size",
]
