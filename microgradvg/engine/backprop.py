"""The Tensor engine's core: the table of derivative rules, and the reverse passes over it.

`register(op)` puts a rule in `RULES`; `rules.py`, `functional.py` and `extend.py` register
theirs, and this module imports none of them. A pass is `graph.walk` then `graph.sweep`
with one of two pulls: `pull_arrays` (an ordinary `backward()`, ndarrays) or `pull_tensors`
(`create_graph=True`: the rules run on Tensors, so the gradients are graphs). Who owns a
leaf's gradient array is decided in one place, `owned`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .graph import sweep, walk
from .versions import check

# rule(g, out, inputs, ctx, needs) -> one gradient (or None) per input, g·∂out/∂inputᵢ.
Rule = Callable[[Any, Any, Sequence[Any], Any, Sequence[bool]], Sequence[Any]]
RULES: dict[str, Rule] = {}


def register(op: str) -> Callable[[Rule], Rule]:
    """Register the decorated function as the VJP rule of `op`."""

    def put(function: Rule) -> Rule:
        RULES[op] = function
        return function

    return put


# ---- the two pulls -----------------------------------------------------------------


def pull_arrays(node: Any, g: np.ndarray) -> Sequence[Any]:
    """The node's rule on ndarrays: the hot path of every training step."""
    parents = node.parents
    # Spelled out for one, two and three parents (nearly every op): in this hot loop a
    # comprehension, a function call of its own before Python 3.12, costs more than the work.
    arity = len(parents)
    inputs: Sequence[Any]
    needs: Sequence[bool]
    if arity == 1:
        (a,) = parents
        inputs, needs = (a.data,), (a.requires_grad,)
    elif arity == 2:
        a, b = parents
        inputs, needs = (a.data, b.data), (a.requires_grad, b.requires_grad)
    elif arity == 3:
        a, b, c = parents
        inputs, needs = (a.data, b.data, c.data), (a.requires_grad, b.requires_grad, c.requires_grad)
    else:
        inputs = [parent.data for parent in parents]
        needs = [parent.requires_grad for parent in parents]
    return RULES[node.op](g, node.data, inputs, node.ctx, needs)


def pull_tensors(node: Any, g: Any) -> Sequence[Any]:
    """The node's rule on Tensors (`create_graph`): its operations are recorded."""
    parents = node.parents
    return RULES[node.op](g, node, parents, node.ctx, [parent.requires_grad for parent in parents])


def pull_towards(targets: Sequence[Any], order: Sequence[Any], create_graph: bool) -> Callable:
    """A pull that sends gradient only along edges on a path from one of `targets`."""
    reached = {id(t) for t in targets}
    for node in order:
        if any(id(parent) in reached for parent in node.parents):
            reached.add(id(node))

    def pull(node: Any, g: Any) -> Sequence[Any]:
        parents = node.parents
        needs = [parent.requires_grad and id(parent) in reached for parent in parents]
        if create_graph:
            return RULES[node.op](g, node, parents, node.ctx, needs)
        return pull_arrays_with(node, g, needs)

    return pull


def pull_arrays_with(node: Any, g: np.ndarray, needs: Sequence[bool]) -> Sequence[Any]:
    """The node's rule on ndarrays for the inputs `needs` marks (chains, factors)."""
    parts = RULES[node.op](g, node.data, [parent.data for parent in node.parents], node.ctx, needs)
    return [None if part is None else np.asarray(part) for part in parts]


# ---- backward: gradients on the nodes ----------------------------------------------


def backward(root: Any, seed: Any, create_graph: bool) -> None:
    """Set `.grad` on every node of `root`'s graph (see `Tensor.backward`); `seed` is
    ∂root/∂root, an ndarray, or a Tensor under `create_graph`.

    Leaves collect this pass's gradient from None and get their earlier one added at the
    end, so accumulating is exactly old + new; if a rule fails part-way, or a leaf's old
    gradient has another shape, every leaf gets its earlier gradient back. A graph an input
    of which was changed in place after recording is refused (`versions.check`).
    """
    order, leaves, earlier = walk((root,), None)
    try:
        check(order, "backward")
        if order:
            root.grad = seed
            sweep(order, pull_tensors if create_graph else pull_arrays)
            held = set()
            for node in order:
                g = node.grad
                if isinstance(g, np.generic):  # numpy's arithmetic on 0-d arrays gives scalars
                    node.grad = g = np.asarray(g)
                held.add(id(g))
        else:  # the root is a leaf
            root.grad, held = seed, set()
        settle(leaves, earlier, held)
    except BaseException:
        for leaf, old in zip(leaves, earlier):
            leaf.grad = old
        raise


def settle(leaves: list[Any], earlier: list[Any], held: set[int]) -> None:
    """Give each leaf its gradient for keeps: old + new (this pass's, on `.grad`), owned."""
    hold = held.add
    for leaf, old in zip(leaves, earlier):
        new = leaf.grad
        if new is None or not leaf.requires_grad:
            leaf.grad = old
        elif (old is None and type(new) is np.ndarray and new.base is None and id(new) not in held
              and new.dtype is leaf.data.dtype):
            hold(id(new))  # `owned`'s commonest case, spelled out: every parameter, every step
        else:
            leaf.grad = owned(leaf, old, new, held)
            hold(id(leaf.grad))


def owned(leaf: Any, old: Any, new: Any, held: set[int]) -> Any:
    """The gradient a leaf keeps: old + new, in an array of its own and of the leaf's dtype.

    Never a view, nor an array that an interior node or another leaf holds (`held`: their
    ids), nor numpy's scalar for a 0-d sum, so updating it in place changes nothing else.
    An old gradient of another shape is refused rather than broadcast. A float32 leaf
    reached through float64 ops gets a float32 gradient, as its optimiser step expects.
    """
    if old is not None:
        if np.shape(old) != leaf.shape:
            name = f" ({leaf.label})" if leaf.label else ""
            raise ValueError(
                f"backward: a leaf{name} of shape {leaf.shape} holds a .grad of shape {np.shape(old)}, "
                "so this pass's gradient cannot be added to it; set its .grad to None (or zero_grad()) first"
            )
        total = old + new
        return _in_dtype_of(leaf, np.asarray(total) if isinstance(total, np.generic) else total)
    if type(new) is np.ndarray:
        if new.dtype is not leaf.data.dtype:
            return new.astype(leaf.data.dtype)  # a copy of its own
        return new.copy() if new.base is not None or id(new) in held else new
    return _in_dtype_of(leaf, np.asarray(new) if isinstance(new, np.generic) else new)


def _in_dtype_of(leaf: Any, gradient: Any) -> Any:
    """An ndarray gradient in the leaf's dtype (Values' floats and create_graph's Tensors as they are)."""
    if type(gradient) is np.ndarray and gradient.dtype is not leaf.data.dtype:
        return gradient.astype(leaf.data.dtype)
    return gradient


# ---- grad: gradients in a dict ---------------------------------------------------------


def gradients(
    roots: Sequence[Any], seeds: Sequence[Any], targets: Sequence[Any], create_graph: bool
) -> dict[int, Any]:
    """∂(Σ seedᵢ·rootᵢ)/∂node keyed by id(node), for the nodes on a path from a target,
    leaving every `.grad` alone (the functional `grad`)."""
    order = walk(roots)[0]
    check([node for node in order if node.parents], "grad")
    grads: dict[int, Any] = {}
    for root, seed in zip(roots, seeds):
        previous = grads.get(id(root))
        grads[id(root)] = seed if previous is None else previous + seed
    sweep(order, pull_towards(targets, order, create_graph), grads)
    return grads
