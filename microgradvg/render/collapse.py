"""Collapsing a graph too large to lay out into one node per group of nodes.

Groups come from the parameter labels the networks give (`L1.n3.w7`, `L2.W`): a layer tag
flows forward from parameters and inputs (`x0`, `x1`, …) through the graph, and nodes are
grouped by layer and op, by neuron, or — for graphs without such labels — by depth and op.
Each group shows its size and gradient norm; each edge between groups, how many edges it
stands for and the norm of their factors.

A graph of a million nodes must collapse in a second or two, so the graph is first laid
out as flat arrays (`Flat`, one pass in Python) and the groups and the edges between them
are summed by numpy, not node by node.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import graphviz
import numpy as np

from . import rows, style
from .nodes import (
    MAX_LABEL,
    as_array,
    gradient_magnitude,
    gradient_sign,
    is_scalar,
    node_attributes,
    norm,
)

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
NOTE = {"shape": "plaintext", "fontsize": "9", "fontcolor": style.INK}  # "to …", "from …"
CAPTION_HEIGHT = 130.0  # points: a grouped view's caption and legend, for the snake's rows

Key = str
PARENTS, GRAD, LOCAL_DERIVATIVES = (attrgetter(name) for name in ("parents", "grad", "local_derivatives"))


class Flat:
    """A graph in topological order as flat arrays: for edge e (children in order, each
    child's parents in slot order) its `parent` and `child` positions, and for every node its
    gradient's size and sign. A Value graph is read off its nodes by C-level iterators (map,
    chain), with no Python code run per node or edge: a million edges take a tenth of a
    second. (A Tensor graph, whose gradients are arrays, is read node by node; it is small.)"""

    def __init__(self, order: Sequence[Any]) -> None:
        self.order = order
        # Nodes hash by identity (neither engine defines __eq__), so they key the dict.
        self.position = position = dict(zip(order, range(len(order))))
        self.counts = np.fromiter(map(len, map(PARENTS, order)), np.intp, len(order))
        edges = int(self.counts.sum())
        self.parent = np.fromiter(
            map(position.__getitem__, itertools.chain.from_iterable(map(PARENTS, order))), np.intp, edges
        )
        self.child = np.repeat(np.arange(len(order)), self.counts)
        self.scalar = is_scalar(order[0])
        if self.scalar:  # every gradient is a float: read them at once
            grads = np.fromiter(map(GRAD, order), float, len(order))
            # NaN has no sign: 0, as gradient_sign gives it.
            self.magnitude, self.sign = np.abs(grads), np.nan_to_num(np.sign(grads))
            self.known = np.ones(len(order), bool)
        else:
            sizes = [gradient_magnitude(node.grad) for node in order]
            self.known = np.array([size is not None for size in sizes], bool)
            self.magnitude = np.array([math.nan if s is None else s for s in sizes], float)
            self.sign = np.array([gradient_sign(node.grad) for node in order], float)

    def depths(self) -> list[int]:
        """The longest path from a leaf to each node, in edges."""
        depth = [0] * len(self.order)
        parents, e = self.parent.tolist(), 0
        for i, count in enumerate(self.counts.tolist()):
            if count == 1:  # most ops have one or two parents: no slice, no max()
                depth[i] = depth[parents[e]] + 1
            elif count == 2:
                depth[i] = max(depth[parents[e]], depth[parents[e + 1]]) + 1
            elif count:
                depth[i] = max(depth[p] for p in parents[e:e + count]) + 1
            e += count
        return depth

    def edge_flows(self) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """Per edge: its factor (Values; None for Tensors), the size and sign of the gradient
        flowing along it (factor · the child's gradient; a Tensor factor's VJP), and whether
        that gradient is known."""
        order = self.order
        if self.scalar:
            factors = itertools.chain.from_iterable(map(LOCAL_DERIVATIVES, order))
            factor = np.fromiter(factors, float, self.parent.size)
            with np.errstate(over="ignore", invalid="ignore"):  # 1e300 · 1e300, 0 · ∞
                signed = factor * np.fromiter(map(GRAD, order), float, len(order))[self.child]
            sign = np.nan_to_num(np.sign(signed))
            return factor, np.abs(signed), sign, np.ones(factor.size, bool)
        flows: list[tuple[float, int, bool]] = []  # (size, sign, known) of each edge's gradient
        for child in order:
            grad = as_array(child.grad)
            for index in range(len(child.parents)):
                if grad is None:  # no gradient yet
                    flows.append((math.nan, 0, False))
                    continue
                with np.errstate(all="ignore"):  # NaN and ∞ in, NaN and ∞ drawn
                    passed = child.factor(index).vjp(grad)
                flows.append((norm(passed), gradient_sign(passed), True))
        size, sign, known = np.array(flows, float).reshape(-1, 3).T
        return None, size, sign, known.astype(bool)


@dataclass
class Sums:
    """Totals over the members of each group (or the edges of each link), index by index:
    how many, how many with no gradient, how many with a zero one, the norm √Σ|g|² of the
    known ones, max |g|, and the one sign their nonzero gradients share (0 when they
    differ, or when there are none)."""

    members: np.ndarray
    unknown: np.ndarray
    zeros: np.ndarray
    norms: np.ndarray
    largest: np.ndarray
    sign: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, size: int, magnitude: np.ndarray, sign: np.ndarray,
           known: np.ndarray) -> Sums:
        """Sum `magnitude`/`sign` (of gradients; NaN counts as nonzero) by `codes` into `size` totals."""
        def total(weights: Any = None) -> np.ndarray:
            return np.bincount(codes, weights, minlength=size)

        nonzero = known & (magnitude != 0.0)
        largest = np.zeros(size)
        np.fmax.at(largest, codes[nonzero], magnitude[nonzero])
        kinds = [total(nonzero & (sign == s)) > 0 for s in (1, -1, 0)]
        one = (kinds[0].astype(int) + kinds[1] + kinds[2]) == 1
        return cls(
            members=total().astype(int),
            unknown=total(~known).astype(int),
            zeros=total(known & (magnitude == 0.0)).astype(int),
            norms=grouped_norms(codes, size, np.where(nonzero, magnitude, 0.0), largest),
            largest=largest,
            sign=np.where(one & kinds[0], 1, np.where(one & kinds[1], -1, 0)),
        )

    def norm(self, i: int) -> float | None:
        """The gradient norm of group i, √Σ|g|² (None if no member has a gradient)."""
        return None if self.unknown[i] == self.members[i] else float(self.norms[i])


def grouped_norms(codes: np.ndarray, size: int, values: np.ndarray, largest: np.ndarray) -> np.ndarray:
    """√Σ values² by `codes` into `size` totals, each group's values scaled by its `largest`
    |value| first, so that the squares neither underflow (gradients of 1e-170 are not 0)
    nor overflow; NaN if a value is NaN, ∞ if one is infinite."""
    scale = np.where(np.isfinite(largest) & (largest > 0.0), largest, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # ∞ and NaN give ∞ and NaN, as they should
        ratio = values / scale[codes]
        return scale * np.sqrt(np.bincount(codes, ratio * ratio, minlength=size))


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


def _ranks(groups: int, links: list[tuple[int, int]]) -> int:
    """How many ranks the groups take: 1 + the longest chain of links (cycles cut)."""
    rank = [0] * groups
    for _ in range(groups):
        changed = False
        for parent, child in links:
            if rank[parent] + 1 > rank[child] and rank[parent] < groups:
                rank[child] = rank[parent] + 1
                changed = True
        if not changed:
            break
    return 1 + max(rank, default=0)


def _op_edges(flat: Flat) -> int:
    """How many edges join two op nodes (neither a leaf)."""
    return int(np.count_nonzero(flat.counts[flat.parent] > 0))


def _label_groups(mode: str, flat: Flat, root_ids: set[int]) -> Grouping:
    """Group by "layer" (and op) or by "neuron", from the parameters' and inputs' labels."""
    order, parents = flat.order, flat.parent.tolist()
    layers: list[int | None] = []
    keys: list[Key] = []
    e = 0
    for i, (node, count) in enumerate(zip(order, flat.counts.tolist())):
        if count:
            known = [layers[p] for p in parents[e:e + count] if layers[p] is not None]
            e += count
            layer = max(known) if known else None
            layers.append(layer)
            if i in root_ids or mode == "neuron":
                keys.append(f"#{i}")
            else:
                where = (
                    "inputs" if layer == 0 else f"L{layer}" if layer is not None else "constants"
                )
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
            layers.append(None)
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


@dataclass
class Link:
    """The edges from one group to another: how many, √Σ factor² and Σ factor (Values), and
    the gradient flowing along them: its norm (None if unknown) and its one sign (0: mixed)."""

    edges: int
    factor_norm: float
    factor_sum: float
    flow: float | None
    sign: int


def _links(flat: Flat, codes: np.ndarray, groups: int) -> tuple[dict[tuple[int, int], Link], np.ndarray]:
    """The links between groups, in order of their first edge, and the edges inside each group."""
    source, target = codes[flat.parent], codes[flat.child]
    inside = source == target
    inside_count = np.bincount(target[inside], minlength=groups)
    between = ~inside
    factor, flow, sign, known = flat.edge_flows()
    pair = source[between] * groups + target[between]
    unique, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    sums = Sums.of(inverse, unique.size, flow[between], sign[between], known[between])
    factor_norm: np.ndarray = np.zeros(unique.size)
    factor_sum: np.ndarray = np.zeros(unique.size)
    if factor is not None:
        factor = factor[between]
        largest = np.zeros(unique.size)
        np.fmax.at(largest, inverse, np.abs(factor))
        factor_norm = grouped_norms(inverse, unique.size, factor, largest)
        with np.errstate(invalid="ignore"):  # ∞ − ∞
            factor_sum = np.bincount(inverse, factor, minlength=unique.size)
    links = {}
    for j in np.argsort(first, kind="stable").tolist():
        edges = int(sums.members[j])
        links[(int(unique[j] // groups), int(unique[j] % groups))] = Link(
            edges=edges,
            factor_norm=float(factor_norm[j]),
            factor_sum=float(factor_sum[j]),
            flow=sums.norm(j),
            sign=int(sums.sign[j]),
        )
    return links, inside_count


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
    link, laid out in a row, top to bottom, in snaking rows or in columns (`_in_columns`)."""
    codes, names = grouping
    order = flat.order
    groups = Sums.of(codes, len(names), flat.magnitude, flat.sign, flat.known)
    first = np.full(len(names), len(order))
    np.minimum.at(first, codes, np.arange(len(order)))
    links, inside = _links(flat, codes, len(names))
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
    spine = _spine(len(names), list(links)) if len(names) > MAX_ROW_RANKS else None
    if rankdir == "auto":
        ranks = _ranks(len(names), list(links))
        # A row of ranks too wide for the budget reads better top to bottom too.
        wide = ranks * _element_size(nodes, list(edges.values()))[0] > rows.LIMIT
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
            placed = _in_columns(graph, nodes, names, spine, edges, steps)
        else:  # one group feeds many (all leaves, by depth): one column, top to bottom
            edges.update(steps)
    for g, attributes in enumerate(nodes):
        if g not in placed:
            graph.node(f"g{g}", **attributes)
    if spine is not None and snake:
        width, height = _element_size([nodes[g] for g in spine], snake)
        per_row = rows.columns(len(spine), width, height, CAPTION_HEIGHT)
        rows.snake(graph, [f"g{g}" for g in spine], per_row, lambda i: snake[i - 1])
    for (source, target), attributes in edges.items():
        graph.edge(f"g{source}", f"g{target}", **attributes)
    return graph


def _in_columns(
    graph: graphviz.Digraph,
    nodes: list[dict[str, str]],
    names: list[Key],
    spine: list[int],
    edges: dict[tuple[int, int], dict[str, str]],
    steps: dict[tuple[int, int], dict[str, str]],
) -> set[int]:
    """Lay a long spine fed by side groups (a deep network: layer after layer, each fed by
    its weights and biases) out in columns, like a newspaper's, near 3:2: each column a
    cluster of whole layers, read top to bottom and left to right; the step from the foot
    of a column to the top of the next is an arrow out to a note "to …" and one in from a
    note "from …". Moves every step but those jumps into `edges` (drawn by the caller);
    returns the groups it drew."""
    width, box_height = _element_size([nodes[g] for g in spine], list(steps.values()))
    # Top to bottom, dot gives each edge label a rank of its own: a step is box, label and gaps.
    label_height = max(rows.text_size(edge["label"])[1] for edge in steps.values())
    height = box_height + label_height + 25.0
    sides: dict[int, list[int]] = {}
    for source, target in edges:
        sides.setdefault(target, []).append(source)
    side_width = _element_size([nodes[s] for s, _ in edges], [])[0]
    width = max(width, max(len(fed) for fed in sides.values()) * side_width)
    per_column = rows.columns(len(spine), width, height, CAPTION_HEIGHT, across=False)
    tops = _column_tops(spine, set(sides), per_column)
    placed: set[int] = set()
    # Defined before any other node, the clusters keep their order: left to right.
    for k, (top, stop) in enumerate(zip(tops, [*tops[1:], len(spine)])):
        with graph.subgraph(name=f"cluster_column{k}") as column:
            column.attr(style="invis", label="")  # not the graph's caption again
            if k:
                source, target = spine[top - 1], spine[top]
                column.node(f"g{target}_in", label=f"→ from {names[source][:MAX_LABEL]}", **NOTE)
                into = {key: value for key, value in steps.pop((source, target)).items() if key != "label"}
                column.edge(f"g{target}_in", f"g{target}", **into)
            for g in spine[top:stop]:
                for side in sides.get(g, []):
                    column.node(f"g{side}", **nodes[side])
                    placed.add(side)
                column.node(f"g{g}", group=f"column{k}", **nodes[g])  # straight down the column
                placed.add(g)
            if stop < len(spine):
                source, target = spine[stop - 1], spine[stop]
                column.node(f"g{source}_out", label=f"to {names[target][:MAX_LABEL]} →", **NOTE)
                column.edge(f"g{source}", f"g{source}_out", **steps[(source, target)])
    edges.update(steps)
    return placed


def _column_tops(spine: list[int], fed: set[int], per_column: int) -> list[int]:
    """Where each column of a spine starts (positions): about every `per_column` groups, at
    the nearest group fed by side groups (a layer's first op), never at the last one."""
    starts = [i for i, g in enumerate(spine) if g in fed and 0 < i < len(spine) - 1]
    tops = [0]
    for wanted in range(per_column, len(spine) - 1, per_column):
        best = min(starts, key=lambda i: abs(i - wanted), default=None)
        if best is not None and best > tops[-1]:
            tops.append(best)
    return tops


def _spine(groups: int, links: list[tuple[int, int]]) -> list[int] | None:
    """The longest chain of groups through the links, if every other group only feeds it
    (no link into it, every link out of it into the chain); None otherwise, or on a cycle."""
    into: list[list[int]] = [[] for _ in range(groups)]
    waiting = [0] * groups
    for source, target in links:
        into[target].append(source)
        waiting[target] += 1
    ready = [g for g in range(groups) if not waiting[g]]
    length, before = [1] * groups, [-1] * groups
    order = []
    out: list[list[int]] = [[] for _ in range(groups)]
    for source, target in links:
        out[source].append(target)
    while ready:  # Kahn's order, with the longest chain into each group
        g = ready.pop()
        order.append(g)
        for target in out[g]:
            if length[g] + 1 > length[target]:
                length[target], before[target] = length[g] + 1, g
            waiting[target] -= 1
            if not waiting[target]:
                ready.append(target)
    if len(order) < groups:
        return None  # a cycle
    end = max(range(groups), key=lambda g: (length[g], g))
    spine = [end]
    while before[spine[-1]] >= 0:
        spine.append(before[spine[-1]])
    spine.reverse()
    if len(spine) > 1 and len(into[spine[1]]) > 1:
        spine.pop(0)  # one of several inputs to the first op (weights, biases, inputs): a side one
    on = set(spine)
    side = all(not into[g] and all(t in on for t in out[g]) for g in range(groups) if g not in on)
    return spine if side else None


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


def _element_size(nodes: list[dict[str, str]], edges: list[dict[str, str]]) -> tuple[float, float]:
    """The place one group and its edge take in a snake, in points (wide: beside, tall: above)."""
    boxes = [rows.text_size(node["label"]) for node in nodes]
    labels = [rows.text_size(edge["label"]) for edge in edges]
    width = max(w for w, _ in boxes) + max((w for w, _ in labels), default=0.0) + 40.0
    return width, max(h for _, h in boxes) + 40.0


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
