"""Version counters: a backward pass refuses a graph whose inputs changed in place after recording.

Each in-place change the library makes (an optimizer step) goes through `changed_in_place`,
which raises the node's version and stamps it with a new epoch; each recorded node keeps the
epoch it was recorded in. `check` finds any input changed after the node reading it was made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

# The epoch: how many in-place changes the library has made so far (all threads). A node
# records it when it is made; in-place changes raise it. One mutable cell, read on every op.
EPOCH = [0]
_LOCK = threading.Lock()  # two threads' changes never share an epoch
_recorded = attrgetter("_recorded")


def changed_in_place(nodes: Iterable[Any]) -> None:
    """Mark `nodes` (Tensors or Values) as changed in place now: each one's version goes up by 1.

    Call it beside any in-place update of `.data` that should be checked, as the optimizers
    do; a graph recorded before it then refuses `backward()`. Assigning `.data` alone is the
    unchecked escape hatch.
    """
    with _LOCK:
        EPOCH[0] = epoch = EPOCH[0] + 1
    for node in nodes:
        # [version, epoch of the last change], shared with the node's `detach()`ed aliases.
        changes = getattr(node, "_changes", None)  # unset on op results until now
        if changes is None:
            node._changes = [1, epoch]
        else:
            changes[0] += 1
            changes[1] = epoch


def version(node: Any) -> int:
    """How many times the library has changed `node` in place (0 if never)."""
    changes = getattr(node, "_changes", None)
    return 0 if changes is None else changes[0]


def check(order: Sequence[Any], op: str) -> None:
    """Raise a RuntimeError if a node of `order` (recorded nodes only), or one of its
    inputs, was changed in place after the node was recorded."""
    # The common case in one C-level pass: nothing changed since the oldest node was made.
    if not order or min(map(_recorded, order)) >= EPOCH[0]:
        return
    for position, node in enumerate(order):
        recorded = node._recorded
        for index, item in enumerate((node, *node.parents)):
            changes = getattr(item, "_changes", None)
            if changes is not None and changes[1] > recorded:
                raise RuntimeError(_message(op, node, position, len(order), index - 1, item))


def _message(op: str, node: Any, position: int, size: int, index: int, changed: Any) -> str:
    """Names the op, the node and the changed input, and the way out."""
    name = f"{node.op!r}" + (f" ({node.label})" if node.label else "")
    what = "its own data" if index < 0 else f"its input {index}, {_describe(changed)},"
    # A Value's factors are floats saved at forward time: its gradient would be stale, not mixed.
    harm = "mix old and new values" if hasattr(node, "shape") else "be the one at the old values"
    return (
        f"{op}: {name} (node {position + 1} of {size}): {what} was changed in place after {name} "
        f"was recorded (version now {version(changed)}), so the gradient would {harm}; run the "
        "forward pass again after updating parameters (assigning .data directly is the "
        "unchecked escape hatch)"
    )


def _describe(node: Any) -> str:
    """A Tensor by label and shape, a Value by label and data."""
    label = f"{node.label!r}" if node.label else "unlabelled"
    if hasattr(node, "shape"):
        return f"{label} of shape {node.shape}"
    return f"{label} (data {node.data:.6g})"
