"""The graph protocol that `Value` and `Tensor` share.

Every node exposes `data`, `grad`, `op`, `label`, `parents` and, through
`node.factor(i)`, the local chain-rule factor on the edge to `parents[i]`.
This module walks such graphs: topological order, zeroing gradients.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol


class Node(Protocol):
    """What chain inspection and rendering rely on, for either engine."""

    data: Any
    grad: Any
    op: str
    label: str
    parents: tuple[Any, ...]

    def factor(self, index: int) -> Any: ...


def topological_order(root: Node, *more_roots: Node) -> list[Any]:
    """Every node the roots depend on, parents before children (a single `root` comes last).

    Iterative depth-first post-order, so a graph a million nodes deep works,
    and deterministic: the same graph always gives the same order.
    """
    # Nodes hash by identity (neither engine defines __eq__), so they key the set themselves.
    order: list[Any] = []
    visited: set[Any] = set()
    mark, emit = visited.add, order.append
    for start in (root, *more_roots):
        if start in visited:
            continue
        mark(start)
        stack: list[tuple[Any, Iterator[Any]]] = [(start, iter(start.parents))]
        while stack:
            node, pending = stack[-1]
            for parent in pending:
                if parent not in visited:
                    mark(parent)
                    if parent.parents:
                        stack.append((parent, iter(parent.parents)))
                        break
                    emit(parent)  # a leaf has nothing to visit first: no trip through the stack
            else:
                stack.pop()
                emit(node)
    return order


def backward_order(root: Node, zero: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """One walk for `backward()`: the interior nodes parents first (`root` last), the leaves,
    and the leaves' gradients so far; it sets every gradient it passes to `zero`.

    `topological_order` specialised for the hot path: leaves never go through the
    stack, and the reset happens during the walk instead of in a second pass.
    """
    order: list[Any] = []
    leaves: list[Any] = []
    earlier: list[Any] = []
    visited = {root}
    stack = [(root, iter(root.parents))]
    push, pop, see, emit = stack.append, stack.pop, visited.add, order.append
    while stack:
        node, pending = stack[-1]
        for parent in pending:
            if parent not in visited:
                see(parent)
                if parent.parents:
                    push((parent, iter(parent.parents)))
                    break
                leaves.append(parent)
                earlier.append(parent.grad)
                parent.grad = zero
        else:
            pop()
            node.grad = zero
            emit(node)
    return order, leaves, earlier


def leaves(root: Node) -> list[Any]:
    """The nodes of the graph that have no parents (inputs and parameters)."""
    return [node for node in topological_order(root) if not node.parents]


def zero_grad(root: Node) -> None:
    """Reset the gradient of every node in the graph of `root`."""
    for node in topological_order(root):
        node.zero_grad()


def edges(order: Sequence[Any]) -> Iterator[tuple[Any, int, Any]]:
    """Every edge `(child, index, parent)` among the nodes of `order`."""
    for child in order:
        for index, parent in enumerate(child.parents):
            yield child, index, parent
