"""Pictures of a chain: the top k paths of ∂output/∂wrt highlighted, with each path's sign.

Four views, chosen from the size and shape of what there is to draw: the whole graph
with the paths highlighted (a small graph, short paths), only the nodes on the paths (a
large graph, short paths); for long paths, one path as a line that wraps into rows and
folds runs of factors into boxes that show their count and product (`lines`), or k paths
as rows, one per path, folded alike, with what they share with path #1 faded (`path_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import graphviz
import numpy as np

from ..engine.graph import edges, topological_order
from . import style
from .graphs import DEFAULT_MAX_NODES, EdgeKey, check_options, picture
from .lines import (
    MAX_ROW_WIDTH,
    ROW_FACTORS,
    draw_line,
    log_product,
    product_text,
    row_width,
)
from .nodes import MAX_LABEL, is_scalar
from .path_rows import draw_path_rows

MAX_PATH_NODES = 60  # the nodes on the k paths drawn as a graph of their own
SHOWN_PATHS = 8  # caption lines, one per path
# The most paths highlighted: more would be unreadable, and listing k = 10⁶ of 2³⁰ paths to
# draw 8 of them took minutes.
MAX_PATHS = 100
SHOWN_FACTORS = 12  # factors written out in one caption line; past that, the middle is "…"


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
    """A picture of `chain` (a `microgradvg.Chain`) with its top `k` paths highlighted.

    ∂output/∂wrt = Σ over paths of Π of the factors on the path. The caption gives each
    highlighted path's product, coloured by its sign (red > 0, blue < 0), next to the total.
    The view depends on the size of what there is to draw:

    - the graph has at most `max_nodes` nodes and the paths at most a dozen factors: the
      whole graph, the paths' edges thick (class "path"), everything else faded;
    - the graph is larger: only the nodes on the k paths (if there are at most 60);
    - the paths are longer, or their nodes too many, and k = 1: the path as a line of
      nodes that wraps into rows; past 30 nodes, runs of factors fold into boxes that
      show how many factors they hold and their product, so the picture stays near 3:2
      and bounded for a path of any length;
    - the same with k > 1: one row per path (the top 8 at most), each labelled with its
      rank, sign and product and folded into wrt, a few boxes and output; paths of one
      length are cut at the same places, so box j covers the same factors in every row,
      and in rows 2 … what path #1 also takes is faded ("same as #1"), so the run where
      a path goes its own way stands out.

    At most the top 100 paths (MAX_PATHS) are highlighted, whatever `k`.
    """
    if not all(hasattr(chain, name) for name in ("paths", "output", "wrt")):
        raise TypeError(f"draw_chain: chain must be what chain(output, wrt) returns, got {type(chain).__name__}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"draw_chain: k must be an int, at least 1; got {k!r}")
    check_options("draw_chain", max_nodes, tensor_factor)
    style.check_rankdir("draw_chain", rankdir)
    try:
        paths = list(chain.paths(min(k, MAX_PATHS)))
    except ValueError as error:  # a Tensor chain with too many paths to rank
        raise ValueError(f"draw_chain: {error}; draw_graph(output) draws its graph instead") from error
    if not paths:
        raise ValueError("draw_chain: the chain has no path from wrt to the output")
    longest = max(len(path.values()) for path in paths)
    # Decided before listing the graph, which may be huge: paths too long for one row are
    # drawn as a line (one path) or as rows (several); several short paths too wide for a
    # row are drawn top to bottom.
    # (Measured on the longest path, its edges naming the paths through them: k = 30 paths
    # of a residual chain made 5,903 px when measured on the top one, without the names.)
    widest = max(paths, key=lambda path: len(path.edges))
    wide = longest <= ROW_FACTORS and row_width(widest, tensor_factor, len(paths)) > MAX_ROW_WIDTH
    if wide and len(paths) > 1:
        rankdir = "TB"
    if longest > ROW_FACTORS or wide and len(paths) == 1:
        caption = _chain_caption(chain, paths, lambda node: _name(chain, node, None))
        return _draw_long(paths, chain.output, caption, title, legend, tensor_factor)
    order = topological_order(chain.output)
    ids = {id(node): index for index, node in enumerate(order)}
    caption = _chain_caption(chain, paths, lambda node: _name(chain, node, ids))
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
    if len(order) > max_nodes and len(path_nodes) > MAX_PATH_NODES:
        return _draw_long(paths, chain.output, caption, title, legend, tensor_factor)
    nodes, graph_edges = order, list(edges(order))
    if len(order) > max_nodes:
        caption.append(
            f"showing the {style.count(len(path_nodes))} nodes on these paths out of "
            f"{style.count(len(order))}"
        )
        nodes = [node for node in order if ids[id(node)] in path_nodes]
        graph_edges = [
            (child, index, parent)
            for child, index, parent in graph_edges
            if (ids[id(parent)], ids[id(child)], index) in on_path
        ]
    graph = picture(
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
        caption_lines=caption,
        ranksep="0.3",
        straight={ids[id(node)] for node in paths[0].nodes}
        if hasattr(paths[0], "nodes")
        else {ids[id(f.child)] for f in paths[0].factors} | {ids[id(chain.wrt)]},
    )
    return graph


def _draw_long(
    paths: Sequence[Any],
    output: Any,
    caption: list[str],
    title: str,
    legend: bool,
    tensor_factor: str,
) -> graphviz.Digraph:
    """Paths too long (or too many nodes) for a graph: one path as a wrapped line, several
    as rows, one per path (at most SHOWN_PATHS)."""
    if len(paths) == 1:
        return draw_line(paths[0], output, caption, title, legend, tensor_factor)
    if len(paths) > SHOWN_PATHS:
        caption.append(f"drawn: the top {SHOWN_PATHS} of these {len(paths)}")
    return draw_path_rows(paths[:SHOWN_PATHS], output, caption, title, legend, tensor_factor)


def _edge_keys(factor: Any, ids: dict[int, int]) -> list[EdgeKey]:
    """The edge a chain factor stands for; every parallel edge if it does not say which slot."""
    parent, child = factor.parent, factor.child
    slots = (
        [factor.index]
        if isinstance(getattr(factor, "index", None), int)
        else [slot for slot, p in enumerate(child.parents) if p is parent]
    )
    return [(ids[id(parent)], ids[id(child)], slot) for slot in slots]


def _chain_caption(chain: Any, paths: Sequence[Any], name: Callable[[Any], str]) -> list[str]:
    """∂out/∂wrt = total, over N paths, then one line per highlighted path (at most
    SHOWN_PATHS lines of at most SHOWN_FACTORS factors each), coloured by its sign."""
    out, wrt = name(chain.output), name(chain.wrt)
    total = chain.total
    tensor = isinstance(total, np.ndarray) and total.size > 1
    gradient = f"‖∂{out}/∂{wrt}‖" if tensor else f"∂{out}/∂{wrt}"
    if not tensor and np.isinf(total):  # the sum overflowed; a path's product below does not
        gradient += " as a float"
    if chain.num_paths == 1:
        lines = [f"{gradient} = {_quantity(total)}: the product of the factors along its one path"]
    else:
        count = style.count(chain.num_paths)
        lines = [
            (
                f"{gradient} = {_quantity(total)}: the sum over {count} paths of the product of "
                f"their factors; the top {len(paths)} by size:"
            )
        ]
    for rank, path in enumerate(paths[:SHOWN_PATHS], start=1):
        values = path.values()
        written = _written(path, values, not is_scalar(chain.output))
        if tensor:  # each factor is a Jacobian: show the gain it had on the gradient
            text = f"#{rank}: gains {written}; the path carries ‖·‖ {_quantity(path.product)}"
            lines.append(text)
            continue
        sign, log10 = log_product(values)
        product = product_text(sign, log10)
        which = "positive" if sign > 0 else "negative" if sign < 0 else "zero"
        colour = style.gradient_colour(1.0, int(np.sign(sign))) if sign else style.INK
        text = f"#{rank} ({which}): {written} = {product}"
        lines.append(style.Markup(f'<FONT COLOR="{colour}">{style.escape(text)}</FONT>'))
    if len(paths) > SHOWN_PATHS:
        lines.append(f"… and {len(paths) - SHOWN_PATHS} more highlighted")
    return lines


def _written(path: Any, values: np.ndarray, tensor: bool) -> str:
    """A path's factors for its caption line: all of them up to SHOWN_FACTORS, else the
    first and last few around "… (n more) …"; only those shown are formatted."""
    count = len(values)
    half = SHOWN_FACTORS // 2 - 1
    picks = range(count) if count <= SHOWN_FACTORS else [*range(half), *range(count - half, count)]
    if tensor:  # a Jacobian: written as its gain, "?" before a backward pass
        shown = [_quantity(path.factors[i].value) for i in picks]
    else:
        shown = [_quantity(float(values[i])) for i in picks]
    if count > SHOWN_FACTORS:
        shown[half:half] = [f"… ({style.count(count - 2 * half)} more) …"]
    return " × ".join(shown) or "1"


def _name(chain: Any, node: Any, ids: dict[int, int] | None) -> str:
    """The chain's name for a node if it has one, else its label, else op and picture id."""
    namer = getattr(chain, "name", None)
    if callable(namer):
        name = str(namer(node))
    else:
        where = f" (n{ids[id(node)]})" if ids is not None else ""
        name = node.label or f"{node.op or 'leaf'}{where}"
    # As in a node's box: a 10,000-character label made the caption 7,043 px wide.
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


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


__all__ = ["draw_chain"]
