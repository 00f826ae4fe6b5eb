"""Reverse-mode passes over Tensor graphs: `backward` and the functional `grad`.

Each pass visits the nodes in reverse topological order and applies each op's rule
from `rules.RULES`. An ordinary `backward()` accumulates ndarrays on the nodes in one
sweep (the hot path); `grad()` and `create_graph=True` collect gradients in a dict,
and with `create_graph` the rules run on Tensors, so the gradients they return are
themselves graphs (grad of grad, any order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .graph import backward_order, topological_order

# At module level: an import inside backward() costs ~0.8 µs a call. (tensor.py imports this
# module last, so the names rules.py takes from it already exist.)
from .rules import RULES
from .tensor import Tensor, as_array


def backpropagate(
    roots: Sequence[Tensor], seeds: Sequence[Any], create_graph: bool, targets: Sequence[Tensor] | None = None
) -> tuple[list, dict]:
    """The graph's nodes in topological order, and ∂/∂node for each, keyed by id(node).

    The gradients are ndarrays, or Tensors when `create_graph` is true. Given
    `targets`, only edges on a path from a target to a root carry gradient.
    """
    order = topological_order(*roots)
    on_path = None if targets is None else _downstream_of(targets, order)
    grads: dict[int, Any] = {}
    for root, seed in zip(roots, seeds):
        previous = grads.get(id(root))
        grads[id(root)] = seed if previous is None else previous + seed
    for node in reversed(order):
        parents = node.parents
        if not parents:
            continue
        g = grads.get(id(node))
        if g is None:
            continue
        if create_graph:
            out, inputs = node, parents
        else:
            out, inputs = node.data, [parent.data for parent in parents]
        if on_path is None:
            needs = [parent.requires_grad for parent in parents]
        else:
            needs = [parent.requires_grad and id(parent) in on_path for parent in parents]
        for parent, parent_grad in zip(parents, RULES[node.op](g, out, inputs, node.ctx, needs)):
            if parent_grad is None:
                continue
            if not create_graph and type(parent_grad) is not np.ndarray:
                parent_grad = np.asarray(parent_grad)  # numpy gives scalars for 0-d results
            key = id(parent)
            previous = grads.get(key)
            grads[key] = parent_grad if previous is None else _plus(previous, parent_grad)
    return order, grads


def backward(root: Tensor, grad: Any = None, create_graph: bool = False) -> None:
    """Set `.grad` on every node of `root`'s graph (see `Tensor.backward`)."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this Tensor does not require grad (no input had requires_grad=True, "
            "or it was computed under no_grad())"
        )
    seed = _seed(root, grad, create_graph)
    if not create_graph:
        _backward_arrays(root, seed)
        return
    order, grads = backpropagate([root], [seed], create_graph)
    leaves = [node for node in order if not node.parents and node.requires_grad and id(node) in grads]
    earlier = [leaf.grad for leaf in leaves]
    taken: set[int] = set()
    for node in order:
        if node.parents:
            node.grad = grads.get(id(node))
            taken.add(id(node.grad))
    try:
        for leaf in leaves:
            _add_to_leaf(leaf, grads[id(leaf)], leaf.grad, taken)
    except BaseException:  # e.g. a leaf .grad of another shape: no leaf keeps half a pass
        _restore(leaves, earlier)
        raise


def _backward_arrays(root: Tensor, seed: np.ndarray) -> None:
    """`backward` with ndarray gradients: one walk, one reverse sweep, then the leaves.

    Leaves collect this pass's gradient from None and get their earlier one added
    at the end, so accumulating is exactly old + new; if a rule fails part-way,
    they get their earlier gradient back, so a failed pass never loses one.
    """
    if not root.parents:
        _add_to_leaf(root, seed, root.grad, set())
        return
    order, leaves, earlier = backward_order(root, None)
    try:
        _settle(leaves, earlier, _sweep(order, seed))
    except BaseException:
        _restore(leaves, earlier)
        raise


def _restore(leaves: list[Tensor], earlier: list[Any]) -> None:
    """Give every leaf back the gradient it had before a pass that failed."""
    for leaf, old in zip(leaves, earlier):
        leaf.grad = old


def _settle(leaves: list[Tensor], earlier: list[Any], held: set[int]) -> None:
    """Each leaf ends with old + new in an array of its own: never a view, nor an array that an
    interior node or another leaf holds (`held`: the ids of the interior nodes' gradients).

    `_add_to_leaf` spelled out for ndarrays: this runs for every parameter on every step.
    """
    hold = held.add
    for leaf, old in zip(leaves, earlier):
        g = leaf.grad
        if g is None or not leaf.requires_grad:
            leaf.grad = old
        elif old is not None:
            leaf.grad = _accumulated(leaf, old, g)
        elif g.base is not None or id(g) in held:
            leaf.grad = g.copy()
        else:
            hold(id(g))


def _sweep(order: list[Tensor], seed: np.ndarray) -> set[int]:
    """Apply each node's rule in reverse topological order (`order` ends with the root);
    return the ids of the arrays the interior nodes keep as `.grad`.

    A node is reached only after every node that uses it, so its `.grad` is
    complete then and can be passed on at once.
    """
    order[-1].grad = seed
    ndarray = np.ndarray
    held: set[int] = set()
    hold = held.add
    for node in reversed(order):
        g = node.grad
        if g is None:
            continue
        hold(id(g))
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
        for parent, parent_grad in zip(parents, RULES[node.op](g, node.data, inputs, node.ctx, needs)):
            if parent_grad is None:
                continue
            if type(parent_grad) is not ndarray:
                parent_grad = np.asarray(parent_grad)  # numpy gives scalars for 0-d results
            previous = parent.grad
            parent.grad = parent_grad if previous is None else _plus(previous, parent_grad)
    return held


def _add_to_leaf(leaf: Tensor, g: Any, old: Any, taken: set[int]) -> None:
    """leaf.grad = old + g, the leaf owning its array: never a view, nor an array another node holds."""
    if old is not None:
        leaf.grad = _accumulated(leaf, old, g)
    elif isinstance(g, np.ndarray) and (g.base is not None or id(g) in taken):
        leaf.grad = g.copy()
    else:
        leaf.grad = g
    taken.add(id(leaf.grad))


def _accumulated(leaf: Tensor, old: Any, g: Any) -> Any:
    """old + g for a leaf that already had a gradient, which must have the leaf's shape."""
    if np.shape(old) != leaf.shape:
        name = f" ({leaf.label})" if leaf.label else ""
        raise ValueError(
            f"backward: a leaf{name} of shape {leaf.shape} holds a .grad of shape {np.shape(old)}, "
            "so this pass's gradient cannot be added to it; set its .grad to None (or zero_grad()) first"
        )
    return _plus(old, g)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Sequence[Any] | None = None,
    create_graph: bool = False,
) -> list[Tensor]:
    """∂(outputs)/∂(inputs) as a list of Tensors, one per input, leaving every `.grad` alone.

    Each output needs a one-element shape or a matching entry in `grad_outputs`
    (the vector of the vector–Jacobian product). With `create_graph=True` the
    returned Tensors carry graphs, so they can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for output in outputs:
        if not output.requires_grad:
            raise RuntimeError("grad: an output does not require grad, so it has no graph to differentiate")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(
                f"grad: input {i} ({type(x).__name__} {getattr(x, 'shape', '')}) does not require grad, "
                "so no gradient is recorded for it; create it with requires_grad=True"
            )
    seeds = [_seed(o, g, create_graph) for o, g in zip(outputs, grad_outputs)]
    _, grads = backpropagate(outputs, seeds, create_graph, targets=inputs)
    result = []
    taken: set[int] = set()
    for x in inputs:
        g = grads.get(id(x))
        if g is None:  # the outputs do not depend on x
            result.append(Tensor._leaf(np.zeros_like(x.data)))
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            # Each result owns a writeable array: never a view nor one another result holds.
            result.append(Tensor._leaf(g.copy() if g.base is not None or id(g) in taken else g))
        taken.add(id(result[-1].data))
    return result


def _plus(a: Any, b: Any) -> Any:
    """a + b, kept an ndarray: numpy returns a scalar when adding two 0-d arrays."""
    total = a + b
    return np.asarray(total) if isinstance(total, np.generic) else total


def _downstream_of(targets: Sequence[Tensor], order: list[Tensor]) -> set[int]:
    """The ids of the targets and of every node computed from one of them."""
    reached = {id(t) for t in targets}
    for node in order:
        if any(id(parent) in reached for parent in node.parents):
            reached.add(id(node))
    return reached


def _seed(root: Tensor, grad: Any, create_graph: bool) -> Any:  # ndarray or Tensor
    """The starting gradient: 1 for a one-element root, else the given `grad` of the same shape."""
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {root.shape}, so pass grad= (an array of that shape); "
                "only a one-element output has the implicit gradient 1"
            )
        # np.array and a reshape cost a third of np.ones, once per backward.
        seed: Any = np.array(1.0, root.data.dtype)
        if root.data.ndim:
            seed = seed.reshape(root.data.shape)
    else:
        seed = grad.data if isinstance(grad, Tensor) and not create_graph else grad
        if not isinstance(seed, Tensor):
            seed = as_array(seed, "backward").astype(root.data.dtype, copy=False)

        if seed.shape != root.shape:
            raise ValueError(f"backward: grad has shape {seed.shape} but the output has shape {root.shape}")
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor._leaf(seed)
    return seed
