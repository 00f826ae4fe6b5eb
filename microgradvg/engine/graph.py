"""The graph protocol that `Value` and `Tensor` share, the walk over it, and the one reverse sweep.

Every node exposes `data`, `grad`, `op`, `label`, `parents` and, through `node.factor(i)`,
the chain-rule factor on the edge to `parents[i]`. `walk` orders a graph parents first;
`sweep` carries gradients back through it. Every reverse pass in the package (both engines'
`backward`, `grad`, `create_graph`, `chain`) is these two functions with its own `pull`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol


class Factor(Protocol):
    """The chain-rule factor ∂child/∂parent on one edge, for either engine."""

    @property
    def shape(self) -> tuple[int, int]:
        """The Jacobian's shape: (child elements, parent elements)."""
        ...

    def vjp(self, g: Any) -> Any:
        """g ↦ g·J: the part of ∂/∂parent that flows through this edge, for child gradient g."""
        ...

    def jacobian(self) -> Any:
        """The explicit matrix J[i, j] = ∂childᵢ/∂parentⱼ."""
        ...

    def norm(self) -> float:
        """‖J‖ (Frobenius; |factor| for a scalar edge)."""
        ...


class Node(Protocol):
    """A node of either engine: what the sweep, chains, layer flow and pictures rely on."""

    data: Any
    grad: Any
    op: str
    label: str
    parents: tuple[Any, ...]

    def factor(self, index: int) -> Factor: ...

    def zero_grad(self) -> None: ...


# pull(node, g) -> one part of ∂/∂parent (or None) per parent, given g = ∂/∂node.
Pull = Callable[[Any, Any], Sequence[Any]]


_KEEP = object()  # walk(..., reset=_KEEP): leave every gradient as it is


def walk(roots: Sequence[Node], reset: Any = _KEEP) -> tuple[list[Any], list[Any], list[Any]]:
    """(order, leaves, earlier): every node the roots depend on, parents before children, by
    an iterative depth-first post-order: a graph a million nodes deep works, and the same
    graph always gives the same order.

    With `reset`, the walk is the first half of a backward pass: it sets every gradient it
    passes to `reset` and splits the leaves off `order` into `leaves`, with the gradients
    they had (`earlier`), so that the pass can add its own to them at the end (old + new)
    or give them back if it fails. Without, `leaves` and `earlier` are empty.
    """
    # Nodes hash by identity (neither engine defines __eq__), so they key the set themselves.
    split = reset is not _KEEP
    order: list[Any] = []
    leaves: list[Any] = []
    earlier: list[Any] = []
    visited: set[Any] = set()
    mark, emit = visited.add, order.append
    for start in roots:
        if start in visited:
            continue
        mark(start)
        if split and not start.parents:  # a root that is itself a leaf
            leaves.append(start)
            earlier.append(start.grad)
            start.grad = reset
            continue
        stack: list[tuple[Any, Iterator[Any]]] = [(start, iter(start.parents))]
        push, pop = stack.append, stack.pop
        while stack:
            node, pending = stack[-1]
            for parent in pending:
                if parent not in visited:
                    mark(parent)
                    if parent.parents:
                        push((parent, iter(parent.parents)))
                        break
                    # A leaf has nothing to visit first: no trip through the stack.
                    if split:
                        leaves.append(parent)
                        earlier.append(parent.grad)
                        parent.grad = reset
                    else:
                        emit(parent)
            else:
                pop()
                if split:
                    node.grad = reset
                emit(node)
    return order, leaves, earlier  # a plain tuple: a NamedTuple costs a step 0.5 µs


def topological_order(root: Node, *more_roots: Node) -> list[Any]:
    """Every node the roots depend on, parents before children (a single `root` comes last).

    Iterative depth-first post-order, so a graph a million nodes deep works,
    and deterministic: the same graph always gives the same order.
    """
    return walk((root, *more_roots))[0]


def sweep(order: Sequence[Node], pull: Pull | None, grads: dict[int, Any] | None = None) -> None:
    """The reverse sweep: visit `order` children first and add to each parent the part of
    the gradient that flows back along its edge, ∂L/∂parent += pull(node, ∂L/∂node).

    `pull` is the engine's local step: a Tensor rule's VJP, or None for Value graphs, whose
    factors are numbers: the part is factor·g, spelled out inline, since for a Value
    `backward()` that loop runs once per scalar op.
    What it accumulates into: each node's `.grad` (`grads` None; the caller sets them to
    None, or 0.0 for Values, and seeds the roots), or the dict `grads` keyed by id(node),
    leaving `.grad` alone. A node is reached only after every node that uses it, so its
    gradient is complete then and can be passed on at once.
    """
    on_nodes = grads is None
    get = None if on_nodes else grads.get  # type: ignore[union-attr]
    for node in reversed(order):
        parents = node.parents
        if not parents:
            continue
        g = node.grad if on_nodes else get(id(node))  # type: ignore[misc]
        if g is None:
            continue
        if pull is None:
            factors = node.local_derivatives  # type: ignore[attr-defined]
            if on_nodes:  # a Value backward(): its gradients start at 0.0, the edges are numbers
                # Spelled out for the two- and one-parent ops that make most scalar graphs:
                # building a zip per node costs more than the multiply-adds it drives.
                if len(parents) == 2:
                    a, b = parents
                    a.grad += factors[0] * g
                    b.grad += factors[1] * g
                elif len(parents) == 1:
                    parents[0].grad += factors[0] * g
                else:
                    for parent, factor in zip(parents, factors):
                        parent.grad += factor * g
                continue
            # A Value chain's total: into the dict, with no list of parts per node.
            for parent, factor in zip(parents, factors):
                key = id(parent)
                previous = get(key)  # type: ignore[misc]
                grads[key] = factor * g if previous is None else previous + factor * g  # type: ignore[index]
            continue
        parts = pull(node, g)
        for parent, part in zip(parents, parts):
            if part is None:
                continue
            if on_nodes:
                previous = parent.grad
                parent.grad = part if previous is None else previous + part
            else:
                key = id(parent)
                previous = get(key)  # type: ignore[misc]
                grads[key] = part if previous is None else previous + part  # type: ignore[index]

def zero_grad(root: Node) -> None:
    """Reset the gradient of every node in the graph of `root`."""
    for node in topological_order(root):
        node.zero_grad()


def edges(order: Sequence[Any]) -> Iterator[tuple[Any, int, Any]]:
    """Every edge `(child, index, parent)` among the nodes of `order`."""
    for child in order:
        for index, parent in enumerate(child.parents):
            yield child, index, parent
