"""How one node of a computation graph is drawn: a box titled by its label and op, showing
its data and gradient, coloured by the gradient's sign and size on the fixed scales. The
full picture (`graphs`) and the collapsed one (`collapse`, for a group of one) both draw
nodes this way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import style

TINY = 1e-150  # a norm below this may have lost squares that underflowed: measured scaled
MAX_LABEL = 60  # characters of a node's own label shown in its box


def node_attributes(
    node: Any, is_root: bool, faded: bool, on_path: bool = False
) -> dict[str, str]:
    """Graphviz attributes of one node: a box titled by label and op, with its data and
    grad, coloured by the sign and size of grad; a double border for a root, grey if faded,
    a bold dark outline on a highlighted path (seen even when the gradient has vanished)."""
    magnitude = gradient_magnitude(node.grad)
    look = style.look(magnitude, gradient_sign(node.grad))
    title = f"<B>{style.escape(node.label, MAX_LABEL)}</B>" if node.label else ""
    if node.op:
        op = style.escape(node.op)
        title = f"{title} · {op}" if title else f"<B>{op}</B>"
    if not title:
        title = "<B>constant</B>" if is_constant(node) else "<B>leaf</B>"
    shape_style = ["rounded", "filled"] if node.parents else ["filled"]
    if look.style != "solid":
        shape_style.append(look.style)
    attributes = {
        "label": style.html_lines(title, *_node_lines(node)),
        "shape": "box",
        "style": ",".join(shape_style),
        "color": look.colour,
        "fillcolor": style.tint(look.colour),
        "penwidth": str(look.pen),
    }
    if is_root:
        attributes["peripheries"] = "2"
    if on_path:
        attributes.update(color=style.INK, penwidth="2.4", fillcolor=style.tint(look.colour, 0.6))
    if faded:
        attributes.update(
            color=style.FADED_COLOUR, fillcolor="white", fontcolor=style.FADED_TEXT, penwidth="0.6"
        )
    return attributes


def _node_lines(node: Any) -> list[str]:
    if is_scalar(node):
        return [f"data {style.number(node.data)}", f"grad {style.number(node.grad)}"]
    data = np.asarray(node.data)
    grad = as_array(node.grad)
    lines = [f"shape {tuple(data.shape)}"]
    if data.size <= 4:
        lines.append(f"data {_values(data)}")
        lines.append("grad —" if grad is None else f"grad {_values(grad)}")
    else:
        lines.append(f"‖data‖ {style.number(norm(data))}")
        lines.append("‖grad‖ —" if grad is None else f"‖grad‖ {style.number(norm(grad))}")
    return lines


def is_scalar(node: Any) -> bool:
    """True for a node of the scalar engine (plain float data), False for a Tensor."""
    return isinstance(node.data, (int, float)) and not isinstance(node.data, np.generic)


def gradient_magnitude(grad: Any) -> float | None:
    """|grad| for a float, ‖grad‖ for an array or Tensor, None when there is none yet."""
    if grad is None:
        return None
    if isinstance(grad, (int, float)):
        return abs(float(grad))
    array = as_array(grad)
    return None if array is None else norm(array)


def norm(array: Any) -> float:
    """‖array‖ (Frobenius), where it is tiny or huge scaled by its largest |element| first
    so that the squares neither underflow nor overflow: a vanished gradient of 1e-170 is
    not drawn as 0."""
    values = np.asarray(array, dtype=float)
    with np.errstate(over="ignore"):  # an overflowed square is scaled below
        plain = float(np.linalg.norm(values))
    if TINY < plain < math.inf:  # no square that matters underflowed, none overflowed
        return plain
    magnitudes = np.abs(values)
    if magnitudes.size == 0:
        return 0.0
    largest = float(magnitudes.max())  # NaN if any element is NaN
    if largest == 0.0 or not math.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(magnitudes / largest))


def row_norms(matrix: np.ndarray) -> np.ndarray:
    """‖row‖ of each row, as `norm`: scaled by its largest |element| first where the
    plain norm underflowed or overflowed."""
    with np.errstate(over="ignore", invalid="ignore"):
        plain = np.linalg.norm(matrix, axis=1)
    odd = ~((plain > TINY) & (plain < math.inf))
    if odd.any():
        magnitudes = np.abs(matrix[odd])
        largest = magnitudes.max(axis=1)  # NaN if any element is
        usable = (largest > 0) & np.isfinite(largest)
        scaled = largest.copy()
        with np.errstate(invalid="ignore"):
            scaled[usable] = largest[usable] * np.linalg.norm(
                magnitudes[usable] / largest[usable, None], axis=1
            )
        plain[odd] = scaled
    return plain


def gradient_sign(grad: Any) -> int:
    """+1 when every element of grad is ≥ 0 (some > 0), −1 when every one is ≤ 0, else 0."""
    if grad is None:
        return 0
    if isinstance(grad, (int, float)):
        return 1 if grad > 0 else -1 if grad < 0 else 0
    array = as_array(grad)
    if array is None or array.size == 0:
        return 0
    # Two reductions, not four: the least and the largest element say it (NaN spreads to both).
    low, high = array.min(), array.max()
    if low >= 0:
        return 1 if high > 0 else 0
    return -1 if high <= 0 else 0


def is_constant(node: Any) -> bool:
    """A Tensor leaf that needs no gradient (an input batch, a target, a constant)."""
    return not node.parents and getattr(node, "requires_grad", True) is False


def as_array(grad: Any) -> np.ndarray | None:
    """A gradient as an ndarray (a Tensor's data, or the array itself), None when there is none."""
    if grad is None:
        return None
    return np.asarray(getattr(grad, "data", grad))


def _values(array: np.ndarray) -> str:
    flat = array.reshape(-1)
    text = ", ".join(style.number(float(x), 3) for x in flat)
    return text if array.ndim == 0 else f"[{text}]"


__all__ = [
    "as_array", "gradient_magnitude", "gradient_sign", "is_constant", "is_scalar",
    "node_attributes", "norm", "row_norms",
]
