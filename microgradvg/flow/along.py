"""How the gradient changes along any sequence of graph nodes: `flow_along(loss, nodes)`.

Give it the outputs of residual blocks, an RNN's `states` h1 … hT, or an MLP's layers:
it reports ‖∂L/∂node‖ for each, the gain from each node back to the one before it, and
the Jacobian gain of the factor between neighbours, as a table, HTML, or (`draw_flow`) a picture.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.derivatives import grad
from ..engine.graph import topological_order
from ..engine.tensor import Tensor, is_grad_enabled
from ..formatting import DASH, aligned_table, significant

# print(flow) shows every node when there are at most this many, else the first and last few.
SHOWN_ROWS = 24
EDGE_ROWS = 8


@dataclass(frozen=True)
class FlowAlong:
    """The gradient along `nodes`, in the order given (usually from the input towards the loss).

    norms[i] = ‖∂L/∂nodeᵢ‖ (Frobenius); gains[i] = norms[i]/norms[i+1], how much the
    gradient is scaled going back from node i+1 to node i by every path (nan when
    norms[i+1] = 0); jacobian_gains[i] = ‖gᵢ₊₁·∂nodeᵢ₊₁/∂nodeᵢ‖/‖gᵢ₊₁‖ with gᵢ₊₁ = ∂L/∂nodeᵢ₊₁,
    the same scaling by the factor between the two neighbours alone (nan where nodeᵢ₊₁ does
    not depend on nodeᵢ, or gᵢ₊₁ = 0). The two differ when some paths from nodeᵢ to L skip
    nodeᵢ₊₁. `gradients[i]` is ∂L/∂nodeᵢ, shaped like the node.
    """

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    loss: float
    norms: np.ndarray
    gains: np.ndarray
    jacobian_gains: np.ndarray
    gradients: list[np.ndarray] = field(repr=False)

    def __len__(self) -> int:
        return len(self.names)

    def rows(self) -> list[list[str]]:
        """One row of cells per node: index, name, shape, norm, gain, Jacobian gain."""
        rows = []
        for i, (name, shape, norm) in enumerate(zip(self.names, self.shapes, self.norms)):
            last = i == len(self.names) - 1
            rows.append([
                str(i + 1), name, "×".join(map(str, shape)) or "scalar", significant(float(norm)),
                DASH if last else significant(float(self.gains[i])),
                DASH if last else significant(float(self.jacobian_gains[i])),
            ])
        return rows

    def table(self, every_row: bool = False) -> str:
        """The aligned table; long ones show the first and last rows unless `every_row`."""
        rows = self.rows()
        if not every_row and len(rows) > SHOWN_ROWS:
            hidden = len(rows) - 2 * EDGE_ROWS
            rows = rows[:EDGE_ROWS] + [[f"⋮ {hidden} more (table(every_row=True) shows them)"]] + rows[-EDGE_ROWS:]
        header = ["#", "node", "shape", "‖∂L/∂node‖", "gain i+1→i", "Jacobian gain"]
        lines = [f"Flow along {len(self)} nodes · L = {significant(self.loss, 6)}"]
        lines += aligned_table(header, rows, left={1})
        lines.append("gain i+1→i: ‖∂L/∂nodeᵢ‖/‖∂L/∂nodeᵢ₊₁‖ over every path; Jacobian gain: through")
        lines.append("the factor ∂nodeᵢ₊₁/∂nodeᵢ alone, on the gradient at nodeᵢ₊₁")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        """The same table for Jupyter, each norm with a bar on a log scale."""
        finite = [float(n) for n in self.norms if n > 0 and math.isfinite(n)]
        low, high = (math.log10(min(finite)), math.log10(max(finite))) if finite else (0.0, 0.0)
        head = "".join(
            f"<th>{html.escape(h)}</th>"
            for h in ["#", "node", "shape", "‖∂L/∂node‖", "", "gain i+1→i", "Jacobian gain"]
        )
        body = []
        for row, norm in zip(self.rows(), self.norms):
            width = 0
            if norm > 0 and math.isfinite(norm):
                width = 4 + round(96 * ((math.log10(norm) - low) / (high - low) if high > low else 1.0))
            bar = f'<div style="background:#4a7bb7;height:8px;width:{width}px"></div>'
            cells = [html.escape(c) for c in row]
            cells.insert(4, bar)
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        caption = html.escape(f"Flow along {len(self)} nodes · L = {significant(self.loss, 6)}")
        return f"<table><caption>{caption}</caption><tr>{head}</tr>{''.join(body)}</table>"


def flow_along(loss: Tensor, nodes: Sequence[Tensor]) -> FlowAlong:
    """‖∂L/∂node‖ for each of `nodes`, the gain between neighbours and their Jacobian gains.

    `loss` is a one-element Tensor; `nodes` are Tensors it was computed from (each
    with requires_grad), in order along the network: residual blocks' outputs, an RNN's
    `states`, the layers of an MLP. Gradients come from one `grad(loss, nodes)` call,
    which leaves every `.grad` alone. Nodes are named by their label, else `node i`.
    """
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        raise TypeError(
            f"flow_along: loss must be a one-element Tensor, got {type(loss).__name__}"
            + (f" of shape {loss.shape}" if isinstance(loss, Tensor) else "")
        )
    nodes = list(nodes)
    if not nodes:
        raise ValueError("flow_along: nodes is empty; give the nodes to follow, e.g. rnn.states")
    for i, node in enumerate(nodes):
        if not isinstance(node, Tensor) or not node.requires_grad:
            what = type(node).__name__ if not isinstance(node, Tensor) else "a Tensor without requires_grad"
            raise TypeError(
                f"flow_along: node {i} is {what}; nodes must be Tensors of the loss's graph (requires_grad)"
            )
    if not is_grad_enabled() and not loss.requires_grad:
        raise RuntimeError("flow_along: the loss has no graph; build it outside no_grad()")
    gradients = [np.asarray(g.data).reshape(node.shape) for g, node in zip(grad(loss, nodes), nodes)]
    norms = np.array([float(np.linalg.norm(g)) for g in gradients])
    gains = np.array([_ratio(norms[i], norms[i + 1]) for i in range(len(nodes) - 1)])
    order = topological_order(loss)
    position = {id(node): i for i, node in enumerate(order)}
    jacobian_gains = np.array([
        _jacobian_gain(order, position, nodes[i], nodes[i + 1], gradients[i + 1], norms[i + 1])
        for i in range(len(nodes) - 1)
    ])
    return FlowAlong(
        names=tuple(node.label or f"node {i + 1}" for i, node in enumerate(nodes)),
        shapes=tuple(node.shape for node in nodes),
        loss=loss.item(),
        norms=norms,
        gains=gains,
        jacobian_gains=jacobian_gains,
        gradients=gradients,
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _jacobian_gain(
    order: list, position: dict[int, int], before: Tensor, after: Tensor, g: np.ndarray, size: float
) -> float:
    """‖g·∂after/∂before‖/‖g‖, summed over every path from `before` to `after`.

    Every such path runs between the two nodes' places in the loss's topological order, so a
    reverse sweep over that stretch alone finds it: the whole table costs one pass over the graph.
    """
    low, high = position.get(id(before)), position.get(id(after))
    if size == 0 or not math.isfinite(size) or low is None or high is None or low >= high:
        return math.nan
    pending: dict[int, Any] = {id(after): g}
    for node in reversed(order[low + 1:high + 1]):
        g_node = pending.pop(id(node), None)
        if g_node is None:
            continue
        for slot, parent in enumerate(node.parents):
            place = position.get(id(parent))
            if place is None or place < low:
                continue
            part = node.factor(slot).vjp(g_node)
            key = id(parent)
            pending[key] = part if key not in pending else pending[key] + part
    pulled = pending.get(id(before))
    if pulled is None:  # `after` was not computed from `before`
        return math.nan
    return float(np.linalg.norm(pulled)) / size


__all__ = ["FlowAlong", "flow_along"]
