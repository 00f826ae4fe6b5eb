"""Pictures of computation graphs: every node with its data and gradient, every edge with
its local derivative, coloured by the sign and size of the gradient that flows through it.
`chains` draws a chain's paths on the same picture.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import graphviz

from ..engine.graph import edges, topological_order
from . import style
from .collapse import DRAWABLE_NODES, check_grouping, collapsed_graph
from .nodes import as_array, gradient_sign, is_constant, is_scalar, node_attributes, norm

DEFAULT_MAX_NODES = 60  # past this many nodes a graph is drawn grouped,
MAX_DEPTH = 16  # and past this many edges deep (a long chain on one row is a sliver)
TENSOR_FACTORS = ("gain", "norm", "both")
NAMED_RANKS = 3  # paths named on a highlighted edge; past that, how many more

Roots = Any  # a node, or a list or tuple of nodes
EdgeKey = tuple[int, int, int]  # (parent id, child id, slot in child.parents)


def draw_graph(
    root: Roots,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    group_by: str = "auto",
    tensor_factor: str = "both",
    title: str = "",
    legend: bool = True,
    rankdir: str = "auto",
) -> graphviz.Digraph:
    """The computation graph of `root` (a Value, a Tensor, or a list of them) as a Digraph.

    Nodes show label, op, data and grad (Tensors: shape, ‖data‖, ‖grad‖, and the values
    when there are at most 4); each edge parent → child is labelled with its local
    derivative ∂child/∂parent (Tensors: the factor's norm ‖J‖ and/or its gain
    ‖g·J‖/‖g‖, chosen by `tensor_factor`). Colour and pen width follow the fixed scales
    of `style.look`: a node by its grad, an edge by the gradient it carries,
    ∂child/∂parent · grad(child); the hue by the sign (red > 0, blue < 0), the strength
    by the decade of the size.

    Above `max_nodes` nodes (default 60), deeper than 16 edges (grouped by depth, as
    one row would be a sliver), or whenever `group_by` names a grouping
    ("neuron", "layer" or "depth", see `collapse.collapsed_graph`), the graph is drawn
    with its nodes merged into groups, e.g. one per (layer, op) whatever the number of
    examples, and the caption says so; a grouping that would not fit in `max_nodes` groups
    is replaced by one that does, and the caption says which. `rankdir` ("auto", "LR",
    "TB", "RL" or "BT"): "auto" lays the graph out left to right, or, grouped with many
    ranks, top to bottom: a chain of groups (bands of depth) snakes in rows near 3:2, a
    deep network (each layer fed by its weights) reads in columns. Node ids are n0, n1, …
    in topological order, so the same graph gives the same DOT.
    """
    check_options("draw_graph", max_nodes, tensor_factor)
    check_grouping(group_by)
    style.check_rankdir("draw_graph", rankdir, auto=True)
    roots = _as_roots(root)
    order = topological_order(*roots)
    depth = _depth(order) if len(order) <= max(max_nodes, DRAWABLE_NODES) else None
    deep = len(order) <= max_nodes and depth is not None and depth > MAX_DEPTH
    if len(order) > max_nodes or group_by != "auto" or deep:
        return collapsed_graph(
            order,
            roots,
            max_nodes=max_nodes,
            group_by="depth" if deep and group_by == "auto" else group_by,
            title=title,
            legend=legend,
            rankdir=rankdir,
            # Only a graph dot lays out readably, node by node: not too many, not too deep.
            drawable=len(order) <= DRAWABLE_NODES and depth is not None and depth <= MAX_DEPTH,
        )
    rankdir = "LR" if rankdir == "auto" else rankdir
    return picture(order, list(edges(order)), roots, title, legend, rankdir, tensor_factor)


# ---- one picture ------------------------------------------------------------------------


def picture(
    order: Sequence[Any],
    graph_edges: Iterable[tuple[Any, int, Any]],
    roots: Sequence[Any],
    title: str,
    legend: bool,
    rankdir: str,
    tensor_factor: str,
    *,
    ids: dict[int, int] | None = None,
    highlight: dict[EdgeKey, list[int]] | None = None,
    path_nodes: set[int] | None = None,
    caption_lines: Sequence[str] = (),
    straight: Collection[int] = (),
    ranksep: str | None = None,
) -> graphviz.Digraph:
    """Draw `order`'s nodes and the given edges; with `highlight`, fade what is not on a path.
    The nodes `straight` (ids) are laid out in a straight line, as one Graphviz group."""
    if ids is None:
        ids = {id(node): index for index, node in enumerate(order)}
    scalar = bool(order) and is_scalar(order[-1])
    if legend and order:
        caption_lines = [*caption_lines, _how_to_read(order[-1], tensor_factor)]
    signs = (1, -1) if scalar else (1, -1, 0)
    graph = style.new_digraph(title, caption_lines, "gradient" if legend else None, rankdir, signs)
    if ranksep is not None:
        graph.attr(ranksep=ranksep)
    root_ids = {ids[id(node)] for node in roots}
    # How many paths are highlighted; an edge names its paths unless it carries them all.
    several = max((max(ranks, default=0) for ranks in (highlight or {}).values()), default=0)
    for node in order:
        i = ids[id(node)]
        on_path = highlight is not None and path_nodes is not None and i in path_nodes
        faded = highlight is not None and not on_path
        attributes = node_attributes(node, i in root_ids, faded, on_path)
        if i in straight:
            attributes["group"] = "straight"
        graph.node(f"n{i}", **attributes)
    for child, index, parent in graph_edges:
        key = (ids[id(parent)], ids[id(child)], index)
        ranks = None if highlight is None else highlight.get(key, [])
        graph.edge(
            f"n{key[0]}",
            f"n{key[1]}",
            **edge_attributes(child, index, tensor_factor, ranks, several),
        )
    return graph


def _how_to_read(node: Any, tensor_factor: str) -> str:
    """One line on what the edge labels and the colours mean."""
    if is_scalar(node):
        return (
            "edge label: the local derivative ∂child/∂parent; colour: the gradient, red > 0, "
            "blue < 0 (on an edge, the part of the parent's gradient that flows along it)"
        )
    parts = {
        "norm": "‖J‖, the Frobenius norm of the Jacobian J = ∂child/∂parent",
        "gain": "the gain ‖g·J‖/‖g‖ of J = ∂child/∂parent on the child's gradient g",
        "both": "‖J‖ (Frobenius) of J = ∂child/∂parent and its gain ‖g·J‖/‖g‖ on the gradient g",
    }
    return (
        f"edge label: {parts[tensor_factor]}; colour: the gradient, red when all ≥ 0, "
        "blue when all ≤ 0, purple (its norm) when signs differ"
    )


def edge_attributes(
    child: Any, index: int, tensor_factor: str, ranks: list[int] | None, several: int = 0
) -> dict[str, str]:
    """Label, colour and pen of one edge; `ranks` are the highlighted paths through it, if any."""
    if is_scalar(child):
        factor = child.factor(index)
        text = style.number(factor, 3)
        look = style.signed_look(factor * child.grad)
    elif is_constant(child.parents[index]):
        # backward() sends no gradient into a Tensor that does not require grad.
        return _constant_edge(ranks)
    else:
        text, flow, sign = _tensor_edge(child.factor(index), child, tensor_factor)
        look = style.look(flow, sign)
    attributes = {"color": look.colour, "penwidth": str(look.pen)}
    if look.style != "solid":
        attributes["style"] = look.style
    if ranks is None:
        attributes["label"] = f"<{style.escape(text)}>"
    elif ranks:
        # The first few ranks name the edge's paths: all 29 of k = 30 made a 5,903-px sliver.
        which = ",".join(f"#{rank}" for rank in ranks[:NAMED_RANKS])
        if len(ranks) > NAMED_RANKS:
            which += f" +{len(ranks) - NAMED_RANKS} more"
        suffix = f' <FONT POINT-SIZE="8">{which}</FONT>' if len(ranks) < several else ""
        attributes.update(
            label=f"<<B>{style.escape(text)}</B>{suffix}>",
            penwidth=str(max(look.pen, 2.4) + 1.0),
            **{"class": "path"},
        )
    else:
        attributes.update(
            label=f"<{style.escape(text)}>",
            color=style.FADED_COLOUR,
            fontcolor=style.FADED_TEXT,
            penwidth="0.6",
            **{"class": "faded"},
        )
    return attributes


def _constant_edge(ranks: list[int] | None) -> dict[str, str]:
    attributes = {"color": style.ZERO_COLOUR, "penwidth": "0.8", "style": "dotted"}
    if ranks is not None:
        attributes["class"] = "path" if ranks else "faded"
    return attributes


def _tensor_edge(factor: Any, child: Any, tensor_factor: str) -> tuple[str, float | None, int]:
    """The edge label of a TensorFactor, and the norm and sign of the gradient it passes on."""
    grad = as_array(child.grad)
    flow = gain = None
    sign = 0
    if grad is not None:
        passed = factor.vjp(grad)
        flow, sign = norm(passed), gradient_sign(passed)
        size = norm(grad)
        gain = flow / size if size else 0.0
    parts = []
    if tensor_factor in ("norm", "both"):
        parts.append(f"‖J‖ {style.number(factor.norm(), 3)}")
    if tensor_factor in ("gain", "both") or gain is None and not parts:
        parts.append("gain —" if gain is None else f"gain {style.number(gain, 3)}")
    return " · ".join(parts), flow, sign


# ---- helpers ----------------------------------------------------------------------------


def _depth(order: Sequence[Any]) -> int:
    """The longest path in the graph, in edges."""
    depth: dict[int, int] = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
    return max(depth.values(), default=0)


def check_options(function: str, max_nodes: int, tensor_factor: str) -> None:
    """Refuse a `max_nodes` that is not a positive int or an unknown `tensor_factor`,
    naming `function` and what is valid."""
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ValueError(f"{function}: max_nodes must be a positive int, got {max_nodes!r}")
    if not isinstance(tensor_factor, str) or tensor_factor not in TENSOR_FACTORS:
        valid = ", ".join(map(repr, TENSOR_FACTORS))
        raise ValueError(f"{function}: tensor_factor must be one of {valid}; got {tensor_factor!r}")


def _as_roots(root: Roots) -> list[Any]:
    if isinstance(root, (list, tuple)):
        if not root:
            raise ValueError("draw_graph: no root given (an empty list)")
        roots = list(root)
    else:
        roots = [root]
    for node in roots:
        if not (hasattr(node, "parents") and hasattr(node, "grad")):
            raise TypeError(
                f"draw_graph: root must be a Value or a Tensor, or a list of them; got {type(node).__name__}"
            )
    return roots
