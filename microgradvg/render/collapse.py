"""Collapsing a graph too large to lay out into one node per group of nodes.

Groups come from the parameter labels the networks give (`L1.n3.w7`, `L2.W`): a layer tag
flows forward from parameters and inputs (`x0`, `x1`, …) through the graph, and nodes are
grouped by layer and op, by neuron, or — for graphs without such labels — by depth and op.
Each group shows its size and gradient norm; each edge between groups, how many edges it
stands for and the norm of their factors.

A graph of a million nodes must collapse in a second or two, so the graph is first read
into flat arrays and the groups and the edges between them are summed by numpy (`flat`);
where the groups go, in rows or in columns, is `group_layout`'s.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import Any

import graphviz
import numpy as np

from . import group_layout as layout
from . import rows, style
from .flat import Flat, Link, Sums
from .flat import links as group_links
from .nodes import MAX_LABEL, node_attributes

PARAMETER_LABEL = re.compile(r"^L(\d+)\.(?:n(\d+)\.)?([A-Za-z]+)")
INPUT_LABEL = re.compile(r"^x\d*$")
GROUPINGS = ("auto", "neuron", "layer", "depth")
DESCRIPTIONS = {
    "neuron": "by neuron: each neuron's parameters as one node",
    "layer": "by layer and op",
    "depth": "by depth (and op, one depth to a band)",
}
# The most nodes (or groups, or links) a caption suggests drawing: dot lays that many out in
# a second, in a picture one can read (4,300 groups took dot 12 s, 1,021 × 87,894 pt).
DRAWABLE_NODES = 150
DEPTH_BANDS = (12, 6, 3, 1)  # how many bands of depth to try, finest first
MAX_ROW_RANKS = 9  # a grouped view with more ranks than this is laid out top to bottom
KINDS = {"w": "weights", "b": "biases"}
ALONE_ROOTS = 10  # at most this many roots are drawn each on its own

Key = str


def check_grouping(group_by: str) -> None:
    """Refuse a `group_by` that is not one of GROUPINGS, naming the valid ones."""
    if group_by not in GROUPINGS:
        valid = ", ".join(repr(g) for g in GROUPINGS)
        raise ValueError(f"draw_graph: group_by must be one of {valid}; got {group_by!r}")


def collapsed_graph(
    order: Sequence[Any],
    roots: Sequence[Any],
    *,
    max_nodes: int,
    group_by: str = "auto",
    title: str = "",
    legend: bool = True,
    rankdir: str = "auto",
    drawable: bool = False,
) -> graphviz.Digraph:
    """A Digraph of `order` (topological) with nodes merged into groups, captioned as such.

    `group_by`: "neuron" keeps every op node and merges each neuron's parameters;
    "layer" merges nodes of the same layer and op; "depth" merges nodes of the same op
    within bands of depth (fewer, wider bands until it fits); "auto" takes the first of
    neuron, layer, depth that fits in `max_nodes` nodes and edges (only depth when the graph
    has no layer labels), else the grouping with the fewest groups. A grouping asked for
    that does not fit in `max_nodes` is replaced by the automatic one, and the caption says
    so, and how to have it where that draws at most DRAWABLE_NODES groups and links.
    `drawable`: the graph could be drawn node by node (the caption says how).
    """
    check_grouping(group_by)
    flat = Flat(order)
    root_ids = {flat.position[root] for root in roots}
    # A few roots (a loss, some outputs) are each a group of their own; many are grouped
    # like any other node, or a hundred outputs would be a hundred boxes.
    alone = root_ids if len(root_ids) <= ALONE_ROOTS else set()
    labelled = any(PARAMETER_LABEL.match(node.label) for node in order if not node.parents)
    automatic = ["neuron", "layer", "depth"] if labelled else ["depth"]
    asked = automatic if group_by == "auto" else [group_by]
    mode, grouping, size = _choose(flat, asked, group_by == "auto", max_nodes, alone)
    note = ""
    if max(size) > max_nodes and group_by != "auto":
        # The grouping asked for does not fit the budget: the automatic one, if smaller, and
        # the caption says why and how to have the one asked for.
        other, regrouped, smaller = _choose(flat, automatic, True, max_nodes, alone)
        if max(smaller) < max(size):
            over = []
            if size[0] > max_nodes:
                over.append(f"{style.count(size[0])} groups")
            if size[1] > max_nodes:
                over.append(f"{style.count(size[1])} links between them")
            what = " and ".join(over)
            how = (
                f"pass max_nodes={max(size)} for {group_by!r}"
                if max(size) <= DRAWABLE_NODES
                else "too many to draw readably"
            )
            note = (
                f"group_by={group_by!r} makes {what}, over max_nodes={max_nodes}: drawn "
                f"{DESCRIPTIONS[other].split(':')[0]} instead ({how})"
            )
            mode, grouping = other, regrouped
    return _draw(flat, grouping, mode, root_ids, title, legend, rankdir, note, drawable)


def _choose(
    flat: Flat, candidates: list[str], automatic: bool, max_nodes: int, alone: set[int]
) -> tuple[str, Grouping, tuple[int, int]]:
    """The first of `candidates` whose groups, and links between them, number at most
    `max_nodes` (depth: with the finest bands that do), else the one with the fewest: its
    mode, grouping and (groups, links)."""
    best: tuple[tuple[int, int], str, Grouping] | None = None
    depths: list[int] | None = None
    for mode in candidates:
        if mode == "neuron" and automatic and _op_edges(flat) > max_nodes:
            continue  # every edge between two op nodes stays an edge: too many to draw
        for bands in DEPTH_BANDS if mode == "depth" else DEPTH_BANDS[:1]:
            if mode == "depth":
                depths = flat.depths() if depths is None else depths
                grouping = _depth_groups(flat, depths, alone, bands)
            else:
                grouping = _label_groups(mode, flat, alone)
            codes, names = grouping
            pairs = np.unique(codes[flat.parent] * len(names) + codes[flat.child]).size
            size = (len(names), pairs)
            if best is None or size < best[0]:
                best = (size, mode, grouping)
            if size[0] <= max_nodes and size[1] <= max_nodes:
                return mode, grouping, size
    assert best is not None
    size, mode, grouping = best
    return mode, grouping, size


# (the group of every node, numbered in order of first appearance; each group's name)
Grouping = tuple[np.ndarray, list[Key]]


def _op_edges(flat: Flat) -> int:
    """How many edges join two op nodes (neither a leaf)."""
    return int(np.count_nonzero(flat.counts[flat.parent] > 0))


def _label_groups(mode: str, flat: Flat, root_ids: set[int]) -> Grouping:
    """Group by "layer" (and op) or by "neuron", from the parameters' and inputs' labels."""
    order, parents = flat.order, flat.parent.tolist()
    # A node's layer is the deepest of its inputs'; −1 for none (a constant, or built from
    # constants only), below every layer, so that max() over a node's inputs gives it at
    # C speed (a scalar neuron's `linear` has hundreds of inputs).
    layers: list[int] = []
    layer_of = layers.__getitem__
    keys: list[Key] = []
    e = 0
    for i, (node, count) in enumerate(zip(order, flat.counts.tolist())):
        if count:
            layer = max(map(layer_of, parents[e:e + count]))
            e += count
            layers.append(layer)
            if i in root_ids or mode == "neuron":
                keys.append(f"#{i}")
            else:
                where = "inputs" if layer == 0 else f"L{layer}" if layer >= 0 else "constants"
                keys.append(f"{where} · {node.op}")
            continue
        match = PARAMETER_LABEL.match(node.label)
        if match:
            layer_text, neuron, kind = match.groups()
            layers.append(int(layer_text))
            if mode == "neuron" and neuron is not None:
                keys.append(f"L{layer_text}.n{neuron} parameters")
            else:
                keys.append(f"L{layer_text} {KINDS.get(kind[0].lower(), kind)}")
        elif INPUT_LABEL.match(node.label):
            layers.append(0)
            keys.append("inputs")
        else:
            layers.append(-1)
            keys.append(
                "constants"
                if not node.label
                else f"leaf {node.label}"
                if mode == "neuron"
                else "other leaves"
            )
    number: dict[Key, int] = {}
    codes = np.fromiter((number.setdefault(key, len(number)) for key in keys), np.intp, len(keys))
    return codes, list(number)


def _depth_groups(flat: Flat, depths: list[int], root_ids: set[int], bands: int) -> Grouping:
    """Group op nodes by `bands` bands of depth (one depth to a band: also by op), leaves
    together, each root alone."""
    order = flat.order
    depth = np.array(depths, dtype=np.intp)
    deepest = int(depth.max())
    width = max(1, math.ceil(deepest / bands))
    low = 1 + (depth - 1) // width * width
    high = np.minimum(low + width - 1, deepest)
    # A band one deep (every band when width is 1; else the last, when cut short) keeps its
    # ops apart; a wider band is one group, as its ops alternate along the depth (split,
    # they would feed each other both ways).
    ops: dict[str, int] = {}
    op = np.zeros(len(order), np.intp)
    one_deep = np.flatnonzero(low == high).tolist()
    op[one_deep] = [ops.setdefault(order[i].op, len(ops)) for i in one_deep]
    # One code per (band, op) for op nodes, 0 for the leaves, −1, −2, … for the roots.
    raw = np.where(flat.counts > 0, 1 + low * max(1, len(ops)) + op, 0)
    roots = sorted(root_ids)
    raw[roots] = -1 - np.arange(len(roots))  # each root a group of its own
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    appearance = np.argsort(first, kind="stable")
    codes = np.empty_like(appearance)
    codes[appearance] = np.arange(appearance.size)
    names = []
    for i in first[appearance].tolist():
        node = order[i]
        if i in root_ids:
            names.append(f"#{i}")
        elif not node.parents:
            names.append("leaves")
        else:
            start, stop = int(low[i]), int(high[i])
            names.append(f"depth {start} · {node.op}" if start == stop else f"depth {start}–{stop}")
    return codes[inverse.reshape(-1)], names


def _draw(
    flat: Flat,
    grouping: Grouping,
    mode: str,
    root_ids: set[int],
    title: str,
    legend: bool,
    rankdir: str,
    note: str,
    drawable: bool,
) -> graphviz.Digraph:
    """The grouped picture: one box per group (a group of one drawn as its node), one edge per
    link, laid out in a row, top to bottom, in snaking rows or in columns (`group_layout.in_columns`)."""
    codes, names = grouping
    order = flat.order
    groups = Sums.of(codes, len(names), flat.magnitude, flat.sign, flat.known)
    first = np.full(len(names), len(order))
    np.minimum.at(first, codes, np.arange(len(order)))
    links, inside = group_links(flat, codes, len(names))
    caption = (
        f"collapsed {style.count(len(order))} nodes into {style.count(len(names))} groups "
        f"({DESCRIPTIONS[mode]})"
    )
    # Suggest drawing every node only where dot finishes, in a picture one can read.
    if drawable:
        caption += f"; pass max_nodes={len(order)} (and group_by='auto') to draw every node"
    what = "gradient (a group: its ‖gradient‖, coloured by sign when all share one)"
    nodes = []
    for g, name in enumerate(names):
        head = int(first[g])
        if groups.members[g] == 1:
            nodes.append(node_attributes(order[head], head in root_ids, faded=False))
        else:
            nodes.append(_group_attributes(name, groups, g, int(inside[g])))
    edges = {pair: _link_attributes(link, groups, *pair, flat.scalar) for pair, link in links.items()}
    # A long spine of groups (bands of depth along a chain; layer after layer of a deep
    # network, fed by its weights) snakes in rows, near 3:2; other graphs with many ranks in
    # a row read better top to bottom.
    spine = layout.spine(len(names), list(links)) if len(names) > MAX_ROW_RANKS else None
    if rankdir == "auto":
        ranks = layout.ranks(len(names), list(links))
        # A row of ranks too wide for the budget reads better top to bottom too.
        wide = ranks * layout.element_size(nodes, list(edges.values()))[0] > rows.LIMIT
        rankdir = "TB" if spine is not None or ranks > MAX_ROW_RANKS or wide else "LR"
    graph = style.new_digraph(title, [caption, note], what if legend else None, rankdir, (1, -1, 0))
    placed: set[int] = set()
    snake: list[dict[str, str]] = []
    if spine is not None and rankdir == "TB":
        steps = {(a, b): edges.pop((a, b)) for a, b in itertools.pairwise(spine)}
        feeding = [source for source, _ in edges]
        if not edges:  # a chain of groups: in rows
            snake = list(steps.values())
        elif len(set(feeding)) == len(feeding):  # a deep network, each layer fed its weights
            placed = layout.in_columns(graph, nodes, names, spine, edges, steps)
        else:  # one group feeds many (all leaves, by depth): one column, top to bottom
            edges.update(steps)
    for g, attributes in enumerate(nodes):
        if g not in placed:
            graph.node(f"g{g}", **attributes)
    if spine is not None and snake:
        width, height = layout.element_size([nodes[g] for g in spine], snake)
        per_row = rows.columns(len(spine), width, height, layout.CAPTION_HEIGHT)
        rows.snake(graph, [f"g{g}" for g in spine], per_row, lambda i: snake[i - 1])
    for (source, target), attributes in edges.items():
        graph.edge(f"g{source}", f"g{target}", **attributes)
    return graph


def _link_attributes(link: Link, groups: Sums, source: int, target: int, scalar: bool) -> dict[str, str]:
    """Label, colour and pen of the edge that stands for `link`."""
    look = style.look(link.flow, link.sign)
    if link.edges == 1 and groups.members[source] == 1 and groups.members[target] == 1 and scalar:
        text = style.number(link.factor_sum, 3)  # one edge: its factor, as in the full graph
    else:
        text = f"{style.count(link.edges)} edge{'s' if link.edges != 1 else ''}"
        if scalar:
            text += f"<BR/>‖factors‖ {style.number(link.factor_norm, 3)}"
        elif link.flow is not None:
            text += f"<BR/>‖gradient‖ {style.number(link.flow, 3)}"
    attributes = {"label": f"<{text}>", "color": look.colour, "penwidth": str(look.pen)}
    if look.style != "solid":
        attributes["style"] = look.style
    return attributes


def _group_attributes(name: str, groups: Sums, g: int, inside: int) -> dict[str, str]:
    members, zeros = int(groups.members[g]), int(groups.zeros[g])
    norm = groups.norm(g)
    look = style.look(norm, int(groups.sign[g]))
    lines = []
    if norm is None:
        lines.append("no gradient yet")
    elif zeros == members:
        lines.append("grad 0 on every one")
    else:
        lines.append(f"‖grad‖ {style.number(norm)}")
        lines.append(f"max |grad| {style.number(float(groups.largest[g]))}")
        if zeros:
            lines.append(f"{style.count(zeros)} of {style.count(members)} zero")
    if inside:
        lines.append(f"{style.count(inside)} edges inside")
    title = f"<B>{style.escape(name, MAX_LABEL)}</B> ×{style.count(members)}"
    return {
        "label": style.html_lines(title, *lines),
        "shape": "box3d",
        "style": "filled" if look.style == "solid" else f"filled,{look.style}",
        "margin": "0.14,0.1",
        "color": look.colour,
        "fillcolor": style.tint(look.colour),
        "penwidth": str(look.pen),
    }
