"""Pictures of computation graphs: every node with its data and gradient, every edge with
its local derivative, coloured by the gradient that flows through it; and chains of
factors from `microgradvg.chain` highlighted on that picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import graphviz
import numpy as np

from ..engine.graph import edges, topological_order
from . import style
from .collapse import collapsed_graph
from .nodes import as_array, gradient_sign, is_constant, is_scalar, node_attributes

DEFAULT_MAX_NODES = 300
TENSOR_FACTORS = ("gain", "norm", "both")

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
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The computation graph of `root` (a Value, a Tensor, or a list of them) as a Digraph.

    Nodes show label, op, data and grad (Tensors: shape, ‖data‖, ‖grad‖, and the values
    when there are at most 4); each edge parent → child is labelled with its local
    derivative ∂child/∂parent (Tensors: the factor's norm ‖J‖ and/or its gain
    ‖g·J‖/‖g‖, chosen by `tensor_factor`). Colour and pen width follow the fixed scale
    of `style.look`: a node by |grad|, an edge by the gradient it carries,
    |∂child/∂parent · grad(child)|.

    Above `max_nodes` nodes the graph is collapsed into groups (`group_by`: "auto",
    "neuron", "layer" or "depth", see `collapse.collapsed_graph`) and the caption says so.
    Node ids are n0, n1, … in topological order, so the same graph gives the same DOT.
    """
    _check_options(max_nodes, tensor_factor)
    roots = _as_roots(root)
    order = topological_order(*roots)
    if len(order) > max_nodes:
        return collapsed_graph(
            order,
            roots,
            max_nodes=max_nodes,
            group_by=group_by,
            title=title,
            legend=legend,
            rankdir=rankdir,
        )
    return _picture(order, list(edges(order)), roots, title, legend, rankdir, tensor_factor)


def draw_chain(
    chain: Any,
    k: int = 3,
    *,
    max_nodes: int = DEFAULT_MAX_NODES,
    tensor_factor: str = "both",
    title: str = "",
    legend: bool = True,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The graph of `chain.output` with the top `k` paths to `chain.wrt` highlighted.

    `chain` is a `microgradvg.Chain`: ∂output/∂wrt = Σ over paths of the product of
    the factors on the path. Edges on the top-k paths keep their colours, get a thick pen
    and the class "path" (in DOT and SVG); everything else is faded (class "faded"). The
    caption lists each highlighted path's factors and product. When the graph has more
    than `max_nodes` nodes only the nodes on the highlighted paths are drawn.
    """
    if k < 1:
        raise ValueError(f"draw_chain: k must be at least 1, got {k}")
    _check_options(max_nodes, tensor_factor)
    paths = list(chain.paths(k))
    order = topological_order(chain.output)
    ids = {id(node): index for index, node in enumerate(order)}
    on_path: dict[EdgeKey, list[int]] = {}
    for rank, path in enumerate(paths, start=1):
        for factor in path.factors:
            for key in _edge_keys(factor, ids):
                if rank not in on_path.setdefault(key, []):
                    on_path[key].append(rank)
    path_nodes = {i for key in on_path for i in key[:2]} | {
        ids[id(chain.output)],
        ids[id(chain.wrt)],
    }
    caption_lines = _chain_caption(chain, paths, order, ids)
    nodes, graph_edges = order, list(edges(order))
    if len(order) > max_nodes:
        caption_lines.append(
            f"showing the {style.count(len(path_nodes))} nodes on these paths out of "
            f"{style.count(len(order))}; pass max_nodes={len(order)} to draw them all"
        )
        nodes = [node for node in order if ids[id(node)] in path_nodes]
        graph_edges = [
            (child, index, parent)
            for child, index, parent in graph_edges
            if (ids[id(parent)], ids[id(child)], index) in on_path
        ]
    return _picture(
        nodes,
        graph_edges,
        [chain.output],
        title,
        legend,
        rankdir,
        tensor_factor,
        ids=ids,
        highlight=on_path,
        path_nodes=path_nodes,
        caption_lines=caption_lines,
    )


# ---- one picture ------------------------------------------------------------------------


def _picture(
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
) -> graphviz.Digraph:
    """Draw `order`'s nodes and the given edges; with `highlight`, fade what is not on a path."""
    if ids is None:
        ids = {id(node): index for index, node in enumerate(order)}
    scalar = bool(order) and is_scalar(order[-1])
    if legend and order:
        caption_lines = [*caption_lines, _how_to_read(order[-1], tensor_factor)]
    signs = (1, -1) if scalar else (1, -1, 0)
    graph = style.new_digraph(title, caption_lines, "gradient" if legend else None, rankdir, signs)
    root_ids = {ids[id(node)] for node in roots}
    several = highlight is not None and any(
        rank > 1 for ranks in highlight.values() for rank in ranks
    )
    for node in order:
        i = ids[id(node)]
        on_path = highlight is not None and path_nodes is not None and i in path_nodes
        faded = highlight is not None and not on_path
        graph.node(f"n{i}", **node_attributes(node, i in root_ids, faded, on_path))
    for child, index, parent in graph_edges:
        key = (ids[id(parent)], ids[id(child)], index)
        ranks = None if highlight is None else highlight.get(key, [])
        graph.edge(
            f"n{key[0]}",
            f"n{key[1]}",
            **_edge_attributes(child, index, tensor_factor, ranks, several),
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


def _edge_attributes(
    child: Any, index: int, tensor_factor: str, ranks: list[int] | None, several: bool = False
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
        which = ",".join(f"#{rank}" for rank in ranks)
        suffix = f' <FONT POINT-SIZE="8">{which}</FONT>' if several else ""
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
        flow, sign = float(np.linalg.norm(passed)), gradient_sign(passed)
        size = float(np.linalg.norm(grad))
        gain = flow / size if size else 0.0
    parts = []
    if tensor_factor in ("norm", "both"):
        parts.append(f"‖J‖ {style.number(factor.norm(), 3)}")
    if tensor_factor in ("gain", "both") or gain is None and not parts:
        parts.append("gain —" if gain is None else f"gain {style.number(gain, 3)}")
    return " · ".join(parts), flow, sign


# ---- chains -----------------------------------------------------------------------------


def _edge_keys(factor: Any, ids: dict[int, int]) -> list[EdgeKey]:
    """The edge a chain factor stands for; every parallel edge if it does not say which slot."""
    parent, child = factor.parent, factor.child
    slots = (
        [factor.index]
        if isinstance(getattr(factor, "index", None), int)
        else [slot for slot, p in enumerate(child.parents) if p is parent]
    )
    return [(ids[id(parent)], ids[id(child)], slot) for slot in slots]


def _chain_caption(
    chain: Any, paths: Sequence[Any], order: Sequence[Any], ids: dict[int, int]
) -> list[str]:
    """∂out/∂wrt = total, over N paths, then one line per highlighted path."""
    out, wrt = _name(chain, chain.output, ids), _name(chain, chain.wrt, ids)
    total = chain.total
    tensor = isinstance(total, np.ndarray) and total.size > 1
    gradient = f"‖∂{out}/∂{wrt}‖" if tensor else f"∂{out}/∂{wrt}"
    if chain.num_paths == 1:
        lines = [f"{gradient} = {_quantity(total)}: the product of the factors along its one path"]
    else:
        count = style.count(chain.num_paths)
        lines = [f"{gradient} = {_quantity(total)}: the sum over {count} paths of the product of"]
        lines[0] += f" their factors; top {len(paths)} highlighted"
    for rank, path in enumerate(paths[:8], start=1):
        if tensor:  # each factor is a Jacobian: show the gain it had on the gradient
            gains = " × ".join(_quantity(f.value) for f in path.factors) or "1"
            lines.append(f"#{rank}: gains {gains}; the path carries ‖·‖ {_quantity(path.product)}")
        else:
            factors = " × ".join(_quantity(f.value) for f in path.factors) or "1"
            lines.append(f"#{rank}: {factors} = {_quantity(path.product)}")
    if len(paths) > 8:
        lines.append(f"… and {len(paths) - 8} more highlighted")
    return lines


def _name(chain: Any, node: Any, ids: dict[int, int]) -> str:
    """The chain's name for a node if it has one, else its label, else op and picture id."""
    namer = getattr(chain, "name", None)
    if callable(namer):
        return str(namer(node))
    return node.label or f"{node.op or 'leaf'} (n{ids[id(node)]})"


def _quantity(value: Any) -> str:
    """A float, an array (by its norm) or a TensorFactor (by its gain) in a caption."""
    if isinstance(value, (int, float, np.floating)):
        return style.number(float(value), 3)
    if isinstance(value, np.ndarray):
        return style.number(float(np.linalg.norm(value)), 3)
    if hasattr(value, "vjp"):
        gain = getattr(value, "gain", None)
        return "?" if gain is None else style.number(float(gain), 3)
    return str(value)


# ---- helpers ----------------------------------------------------------------------------


def _check_options(max_nodes: int, tensor_factor: str) -> None:
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    if tensor_factor not in TENSOR_FACTORS:
        raise ValueError(f"tensor_factor must be one of {TENSOR_FACTORS}, got {tensor_factor!r}")


def _as_roots(root: Roots) -> list[Any]:
    if isinstance(root, (list, tuple)):
        if not root:
            raise ValueError("draw_graph: no root given (an empty list)")
        return list(root)
    return [root]
