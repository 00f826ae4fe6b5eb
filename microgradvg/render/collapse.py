"""Collapsing a graph too large to lay out into one node per group of nodes.

Groups come from the parameter labels the networks give (`L1.n3.w7`, `L2.W`): a layer tag
flows forward from parameters and inputs (`x0`, `x1`, …) through the graph, and nodes are
grouped by layer and op, by neuron, or — for graphs without such labels — by depth and op.
Each group shows its size and gradient norm; each edge between groups, how many edges it
stands for and the norm of their factors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz
import numpy as np

from . import style
from .nodes import as_array, gradient_magnitude, gradient_sign, is_scalar, node_attributes

PARAMETER_LABEL = re.compile(r"^L(\d+)\.(?:n(\d+)\.)?([A-Za-z]+)")
INPUT_LABEL = re.compile(r"^x\d*$")
GROUPINGS = ("auto", "neuron", "layer", "depth")
DESCRIPTIONS = {
    "neuron": "by neuron: each neuron's parameters as one node",
    "layer": "by layer and op",
    "depth": "by depth (and op, one depth to a band)",
}
DRAWABLE_NODES = 150  # the most nodes a caption suggests drawing one by one
DEPTH_BANDS = (12, 6, 3, 1)
MAX_ROW_RANKS = 9  # a grouped view with more ranks than this is laid out top to bottom  # how many bands of depth to try, finest first
KINDS = {"w": "weights", "b": "biases"}

Key = str


class Group:
    """Running totals for the nodes of one group."""

    __slots__ = (
        "first", "largest", "members", "name", "signs", "square_sum", "unknown", "zeros"
    )

    def __init__(self, name: str, first: Any) -> None:
        self.name, self.first = name, first
        self.members = self.zeros = self.unknown = 0
        self.square_sum = self.largest = 0.0
        self.signs: set[int] = set()

    def add(self, magnitude: float | None, sign: int) -> None:
        self.members += 1
        if magnitude is None:
            self.unknown += 1
        elif magnitude == 0.0:
            self.zeros += 1
        else:
            self.square_sum += magnitude * magnitude
            self.largest = max(self.largest, magnitude)
            self.signs.add(sign)

    @property
    def sign(self) -> int:
        """+1 or −1 when every nonzero member's gradient has that sign, else 0 (mixed)."""
        return one_sign(self.signs)

    @property
    def norm(self) -> float | None:
        """The gradient norm of the group, √Σ|g|² (None if no member has a gradient)."""
        return None if self.unknown == self.members else math.sqrt(self.square_sum)


def check_grouping(group_by: str) -> None:
    """Refuse a `group_by` that is not one of GROUPINGS, naming the valid ones."""
    if group_by not in GROUPINGS:
        valid = ", ".join(repr(g) for g in GROUPINGS)
        raise ValueError(f"draw_graph: group_by must be one of {valid}; got {group_by!r}")


def one_sign(signs: set[int]) -> int:
    """The one sign in `signs` (the hue of a group or a bundle of edges), 0 when they differ."""
    return next(iter(signs)) if len(signs) == 1 else 0


def collapsed_graph(
    order: Sequence[Any],
    roots: Sequence[Any],
    *,
    max_nodes: int,
    group_by: str = "auto",
    title: str = "",
    legend: bool = True,
    rankdir: str = "auto",
) -> graphviz.Digraph:
    """A Digraph of `order` (topological) with nodes merged into groups, captioned as such.

    `group_by`: "neuron" keeps every op node and merges each neuron's parameters;
    "layer" merges nodes of the same layer and op; "depth" merges nodes of the same op
    within bands of depth (fewer, wider bands until it fits); "auto" takes the first of
    neuron, layer, depth that fits in `max_nodes` nodes and edges (only depth when the graph
    has no layer labels), else the grouping with the fewest groups.
    """
    check_grouping(group_by)
    ids = {id(node): index for index, node in enumerate(order)}
    root_ids = {ids[id(root)] for root in roots}
    if group_by == "auto":
        labelled = any(PARAMETER_LABEL.match(node.label) for node in order if not node.parents)
        candidates = ["neuron", "layer", "depth"] if labelled else ["depth"]
    else:
        candidates = [group_by]
    best: tuple[tuple[int, int], str, list[Key]] | None = None
    for mode in candidates:
        if mode == "neuron" and group_by == "auto" and _op_edges(order) > max_nodes:
            continue  # every edge between two op nodes stays an edge: too many to draw
        for bands in DEPTH_BANDS if mode == "depth" else DEPTH_BANDS[:1]:
            keys = _keys(mode, order, ids, root_ids, bands)
            pairs = {
                (keys[ids[id(p)]], keys[i]) for i, child in enumerate(order) for p in child.parents
            }
            size = (len(set(keys)), len(pairs))
            if best is None or size < best[0]:
                best = (size, mode, keys)
            if size[0] <= max_nodes and size[1] <= max_nodes:
                return _draw(order, ids, keys, mode, root_ids, title, legend, rankdir)
    assert best is not None
    _, mode, keys = best
    return _draw(order, ids, keys, mode, root_ids, title, legend, rankdir)


def _ranks(keys: list[Key], links: list[tuple[Key, Key]]) -> int:
    """How many ranks the groups take: 1 + the longest chain of links (cycles cut)."""
    rank = dict.fromkeys(keys, 0)
    for _ in range(len(keys)):
        changed = False
        for parent, child in links:
            if rank[parent] + 1 > rank[child] and rank[parent] < len(keys):
                rank[child] = rank[parent] + 1
                changed = True
        if not changed:
            break
    return 1 + max(rank.values(), default=0)


def _op_edges(order: Sequence[Any]) -> int:
    """How many edges join two op nodes (neither a leaf)."""
    return sum(1 for child in order if child.parents for parent in child.parents if parent.parents)


def _keys(
    mode: str, order: Sequence[Any], ids: dict[int, int], root_ids: set[int], bands: int
) -> list[Key]:
    """The group name of every node, in topological order (`bands`: for mode "depth")."""
    if mode == "depth":
        return _depth_keys(order, ids, root_ids, bands)
    layers: list[int | None] = []
    keys: list[Key] = []
    for i, node in enumerate(order):
        if node.parents:
            tags = [layers[ids[id(p)]] for p in node.parents]
            known = [t for t in tags if t is not None]
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
    return keys


def _depth_keys(
    order: Sequence[Any], ids: dict[int, int], root_ids: set[int], bands: int
) -> list[Key]:
    depth: list[int] = []
    for node in order:
        depth.append(1 + max(depth[ids[id(p)]] for p in node.parents) if node.parents else 0)
    deepest = max(depth)
    width = max(1, math.ceil(deepest / bands))
    keys = []
    for i, node in enumerate(order):
        if i in root_ids:
            keys.append(f"#{i}")
        elif not node.parents:
            keys.append("leaves")
        else:
            low = 1 + (depth[i] - 1) // width * width
            high = min(low + width - 1, deepest)
            # A band one deep keeps its ops apart; a wider band is one group, as its ops
            # alternate along the depth (split, they would feed each other both ways).
            if low == high:
                keys.append(f"depth {low} · {node.op}")
            else:
                keys.append(f"depth {low}–{high}")
    return keys


@dataclass
class Link:
    """The edges from one group to another, summed: how many, Σ factor², Σ factor, and the
    gradient flowing along them (Σ flow², whether any is known, the signs of the nonzero)."""

    edges: int = 0
    factor_square: float = 0.0
    factor_sum: float = 0.0
    flow_square: float = 0.0
    flow_known: bool = False
    signs: set[int] = field(default_factory=set)

    def add(self, factor: float | None, flow: float | None, sign: int) -> None:
        """Count one more edge with this factor and this gradient flowing along it."""
        self.edges += 1
        if factor is not None:
            self.factor_square += factor * factor
            self.factor_sum += factor
        if flow is not None:
            self.flow_square += flow * flow
            self.flow_known = True
            if flow:
                self.signs.add(sign)


def _draw(
    order: Sequence[Any],
    ids: dict[int, int],
    keys: list[Key],
    mode: str,
    root_ids: set[int],
    title: str,
    legend: bool,
    rankdir: str,
) -> graphviz.Digraph:
    groups: dict[Key, Group] = {}
    for node, key in zip(order, keys):
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key, node)
        group.add(gradient_magnitude(node.grad), gradient_sign(node.grad))
    gid = {key: f"g{index}" for index, key in enumerate(groups)}
    links: dict[tuple[Key, Key], Link] = {}
    inside: dict[Key, int] = {}
    flow_of = _flow_function(order)
    for i, child in enumerate(order):
        child_key = keys[i]
        for index, parent in enumerate(child.parents):
            parent_key = keys[ids[id(parent)]]
            if parent_key == child_key:
                inside[child_key] = inside.get(child_key, 0) + 1
                continue
            factor, flow, sign = flow_of(child, index)
            link = links.get((parent_key, child_key))
            if link is None:
                link = links[(parent_key, child_key)] = Link()
            link.add(factor, flow, sign)
    caption = (
        f"collapsed {style.count(len(order))} nodes into {style.count(len(groups))} groups "
        f"({DESCRIPTIONS[mode]})"
    )
    # Suggest drawing every node only where dot finishes, in a picture one can read.
    if len(order) <= DRAWABLE_NODES:
        caption += f"; pass max_nodes={len(order)} (and group_by='auto') to draw every node"
    what = "gradient (a group: its ‖gradient‖, coloured by sign when all share one)"
    if rankdir == "auto":  # many ranks in a row read better top to bottom
        rankdir = "TB" if _ranks(list(groups), list(links)) > MAX_ROW_RANKS else "LR"
    graph = style.new_digraph(title, [caption], what if legend else None, rankdir, (1, -1, 0))
    for key, group in groups.items():
        graph.node(
            gid[key],
            **_group_attributes(group, inside.get(key, 0), ids[id(group.first)] in root_ids),
        )
    scalar = is_scalar(order[0])
    for (parent_key, child_key), link in links.items():
        edge_count, factor_square, flow_square = link.edges, link.factor_square, link.flow_square
        known, factor_sum = link.flow_known, link.factor_sum
        look = style.look(math.sqrt(flow_square) if known else None, one_sign(link.signs))
        if (
            edge_count == 1
            and groups[parent_key].members == 1
            and groups[child_key].members == 1
            and scalar
        ):
            text = style.number(factor_sum, 3)  # one edge: its factor, as in the full graph
        else:
            text = f"{style.count(int(edge_count))} edge{'s' if edge_count != 1 else ''}"
            if scalar:
                text += f"<BR/>‖factors‖ {style.number(math.sqrt(factor_square), 3)}"
            elif known:
                text += f"<BR/>‖gradient‖ {style.number(math.sqrt(flow_square), 3)}"
        attributes = {"label": f"<{text}>", "color": look.colour, "penwidth": str(look.pen)}
        if look.style != "solid":
            attributes["style"] = look.style
        graph.edge(gid[parent_key], gid[child_key], **attributes)
    return graph


def _group_attributes(group: Group, inside: int, is_root: bool) -> dict[str, str]:
    if group.members == 1:
        return node_attributes(group.first, is_root, faded=False)
    norm = group.norm
    look = style.look(norm, group.sign)
    lines = []
    if norm is None:
        lines.append("no gradient yet")
    elif group.zeros == group.members:
        lines.append("grad 0 on every one")
    else:
        lines.append(f"‖grad‖ {style.number(norm)}")
        lines.append(f"max |grad| {style.number(group.largest)}")
        if group.zeros:
            lines.append(f"{style.count(group.zeros)} of {style.count(group.members)} zero")
    if inside:
        lines.append(f"{style.count(inside)} edges inside")
    title = f"<B>{style.escape(group.name)}</B> ×{style.count(group.members)}"
    return {
        "label": style.html_lines(title, *lines),
        "shape": "box3d",
        "style": "filled" if look.style == "solid" else f"filled,{look.style}",
        "margin": "0.14,0.1",
        "color": look.colour,
        "fillcolor": style.tint(look.colour),
        "penwidth": str(look.pen),
    }


Flow = tuple[float | None, float | None, int]


def _flow_function(order: Sequence[Any]) -> Callable[[Any, int], Flow]:
    """(factor, |gradient through the edge|, its sign) of an edge: floats for Values, a VJP's
    norm for Tensors."""
    if is_scalar(order[0]):

        def scalar_flow(child: Any, index: int) -> Flow:
            factor = (
                child.local_derivatives[index]
                if hasattr(child, "local_derivatives")
                else child.factor(index)
            )
            flow = factor * child.grad
            return factor, abs(flow), 1 if flow > 0 else -1 if flow < 0 else 0

        return scalar_flow

    def tensor_flow(child: Any, index: int) -> Flow:
        grad = as_array(child.grad)
        if grad is None:
            return None, None, 0
        passed = child.factor(index).vjp(grad)
        return None, float(np.linalg.norm(passed)), gradient_sign(passed)

    return tensor_flow
