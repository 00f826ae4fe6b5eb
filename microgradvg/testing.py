"""Tools for your own derivative tests: `gradcheck` and hypothesis strategies.

`gradcheck(f, *inputs)` compares the gradients `backward()` computes against
central differences in float64; `values`, `arrays`, `tensors`, `shapes` and
`broadcastable_shapes` draw inputs for property-based tests. This module needs
the `test` extra (`pip install microgradvg[test]`, for hypothesis);
`import microgradvg` does not import it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .engine.tensor import Tensor
from .engine.value import Value

Operand = Value | Tensor  # what gradcheck differentiates: either engine's nodes

Shape = tuple[int, ...]

# How many failing elements the AssertionError lists one by one.
_REPORTED_FAILURES = 10
# The cotangent seed for Tensor outputs with more than one element: fixed, so a check repeats.
_COTANGENT_SEED = 0


@dataclass(frozen=True)
class GradcheckReport:
    """What a passing `gradcheck` compared: `elements` gradient entries, and the
    largest absolute and relative differences it saw between analytic and numeric."""

    elements: int
    max_abs_error: float
    max_rel_error: float


@dataclass(frozen=True)
class _Mismatch:
    input_index: int
    element: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float


def gradcheck(
    f: Callable[..., Operand],
    *inputs: Operand,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> GradcheckReport:
    """Check `f`'s gradients with respect to `inputs` against central differences.

    `f(*inputs)` must return a `Value` or a `Tensor`. For a scalar output the
    gradient is ∂f/∂x; for a Tensor output of any other shape, the check is of
    the vector–Jacobian product ∂(u·f)/∂x with a fixed random cotangent u
    (seeded, so a failure repeats). Inputs may mix Values and Tensors; a
    Tensor with `requires_grad=False` is a constant and is not checked.

    The inputs' gradients are zeroed, `backward()` runs once, then every input
    element x is moved to x ± eps and `f` re-run:

        numeric = (f(x + eps) − f(x − eps)) / (2·eps)

    and must satisfy |analytic − numeric| ≤ atol + rtol·|numeric|. The whole
    check runs in float64: float32 Tensor inputs are promoted for its duration,
    so it tests the math, not float32 rounding. Inputs' `data` is restored
    afterwards; their `.grad` keeps the gradient computed here.

    Returns a `GradcheckReport` on success; raises `AssertionError` naming
    each failing input and element, with both values and the errors.

    >>> from microgradvg import Value
    >>> x, y = Value(2.0), Value(-0.5)
    >>> gradcheck(lambda a, b: (a * b).tanh() + a.exp(), x, y).elements
    2
    >>> round(x.grad, 6)  # ∂/∂x = y·sech²(xy) + eˣ = −0.5·sech²(1) + e²
    7.179069
    """
    for position, node in enumerate(inputs):
        if not isinstance(node, (Value, Tensor)):
            raise TypeError(
                f"gradcheck: input {position} is a {type(node).__name__}; "
                "inputs must be Values or Tensors"
            )
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Value) or x.requires_grad]
    if not checked:
        raise ValueError(
            "gradcheck: no input to check (every Tensor input has requires_grad=False)"
        )
    originals: list[Any] = [node.data for node in inputs]
    try:
        for node in inputs:
            if isinstance(node, Tensor):
                node.data = np.array(node.data, dtype=np.float64)  # a float64 copy to perturb
        output = f(*inputs)
        cotangent = _cotangent(output)
        for node in inputs:
            node.grad = 0.0 if isinstance(node, Value) else None
        _backward(output, cotangent)
        analytic = {i: _gradient_of(inputs[i]) for i in checked}

        def evaluate() -> float:
            return _contract(f(*inputs), cotangent)

        mismatches: list[_Mismatch] = []
        elements, max_abs, max_rel = 0, 0.0, 0.0
        for i in checked:
            node = inputs[i]
            for element in np.ndindex(*np.shape(node.data)):
                numeric = _central_difference(node, element, eps, evaluate)
                derivative = float(analytic[i][element])
                abs_error = abs(derivative - numeric)
                scale = max(abs(derivative), abs(numeric))
                rel_error = abs_error / scale if scale > 0.0 else 0.0
                elements += 1
                if math.isfinite(abs_error):
                    max_abs = max(max_abs, abs_error)
                    max_rel = max(max_rel, rel_error)
                if not abs_error <= atol + rtol * abs(numeric):  # `not` so NaN fails
                    mismatches.append(
                        _Mismatch(i, element, derivative, numeric, abs_error, rel_error)
                    )
    finally:
        for node, data in zip(inputs, originals):
            node.data = data
            if isinstance(node, Tensor) and isinstance(node.grad, np.ndarray):
                # float32 in, float32 gradient out, as backward() would have left it
                node.grad = node.grad.astype(data.dtype, copy=False)
    if mismatches:
        raise AssertionError(_failure_report(mismatches, elements, inputs, eps, atol, rtol))
    return GradcheckReport(elements, max_abs, max_rel)


def _cotangent(output: Any) -> np.ndarray | None:
    """None for a scalar output, else the fixed random u of ∂(u·f)/∂x."""
    if isinstance(output, Value):
        return None
    if not isinstance(output, Tensor):
        raise TypeError(
            f"gradcheck: f must return a Value or a Tensor, got {type(output).__name__}"
        )
    if output.data.size == 1:
        return None
    return np.random.default_rng(_COTANGENT_SEED).standard_normal(output.shape)


def _backward(output: Operand, cotangent: np.ndarray | None) -> None:
    if isinstance(output, Tensor) and not output.requires_grad:
        return  # f does not depend on any input: every gradient is 0
    if isinstance(output, Tensor) and cotangent is not None:
        output.backward(cotangent)
    else:
        output.backward()


def _contract(output: Operand, cotangent: np.ndarray | None) -> float:
    """The scalar u·f whose central difference is compared."""
    if isinstance(output, Value):
        return output.data
    data = np.asarray(output.data, dtype=np.float64)
    if cotangent is None:
        return float(data.reshape(()))
    return float(np.sum(cotangent * data))


def _gradient_of(node: Operand) -> np.ndarray:
    """The node's gradient as a float64 array of its shape (zeros if it got none)."""
    if isinstance(node, Value):
        return np.array(node.grad, dtype=np.float64)
    if node.grad is None:
        return np.zeros(node.shape)
    grad = node.grad.data if isinstance(node.grad, Tensor) else node.grad
    grad = np.asarray(grad, dtype=np.float64)
    if grad.shape != node.shape:
        raise AssertionError(
            f"gradcheck: {_describe(node)} got a gradient of shape {grad.shape}; "
            "it must have the input's shape"
        )
    return grad


def _central_difference(
    node: Operand, element: tuple[int, ...], eps: float, evaluate: Callable[[], float]
) -> float:
    """(f(x + eps) − f(x − eps)) / (2·eps) for one element x of `node`, restoring x after."""
    if isinstance(node, Value):
        centre = node.data
        try:
            node.data = centre + eps
            above = evaluate()
            node.data = centre - eps
            below = evaluate()
        finally:
            node.data = centre
    else:
        centre = node.data[element]
        try:
            node.data[element] = centre + eps
            above = evaluate()
            node.data[element] = centre - eps
            below = evaluate()
        finally:
            node.data[element] = centre
    return (above - below) / (2.0 * eps)


def _failure_report(
    mismatches: list[_Mismatch],
    elements: int,
    inputs: Sequence[Operand],
    eps: float,
    atol: float,
    rtol: float,
) -> str:
    lines = [
        (
            f"gradcheck: {len(mismatches)} of {elements} gradient elements differ from "
            f"central differences (eps={eps:g}, "
            f"need |analytic − numeric| ≤ {atol:g} + {rtol:g}·|numeric|)"
        )
    ]
    # Worst first; a NaN error sorts before every number.
    worst = sorted(mismatches, key=lambda m: -math.inf if math.isnan(m.abs_error) else -m.abs_error)
    for m in worst[:_REPORTED_FAILURES]:
        lines.append(
            f"  input {m.input_index} ({_describe(inputs[m.input_index])}), element {m.element}: "
            f"analytic {m.analytic!r}, numeric {m.numeric!r}, abs error {m.abs_error:.3g}, "
            f"rel error {m.rel_error:.3g}"
        )
    if len(mismatches) > _REPORTED_FAILURES:
        lines.append(f"  … and {len(mismatches) - _REPORTED_FAILURES} more")
    return "\n".join(lines)


def _describe(node: Operand) -> str:
    label = f" {node.label!r}" if node.label else ""
    if isinstance(node, Value):
        return f"Value{label} = {node.data!r}"
    return f"Tensor{label} of shape {node.shape}"


# ---- hypothesis strategies ------------------------------------------------------


def values(
    min_value: float = -3, max_value: float = 3, label: str = ""
) -> st.SearchStrategy[Value]:
    """Leaf `Value`s with finite data in [min_value, max_value].

    >>> from hypothesis import given
    >>> @given(values())
    ... def test_neg(x):
    ...     assert (-x).data == -x.data
    >>> test_neg()
    """
    # builds, not map: hypothesis then reports a failing example as `Value(1.0)`.
    floats = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    return st.builds(Value, floats, st.just(label)) if label else st.builds(Value, floats)


def arrays(
    shape: Shape | st.SearchStrategy[Shape],
    min_value: float = -3,
    max_value: float = 3,
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Float arrays (float64 unless `dtype` says float32) of `shape` (a tuple or a
    strategy of shapes), finite, with elements in [min_value, max_value].

    >>> from hypothesis import given
    >>> @given(arrays((2, 3)))
    ... def test_shape(a):
    ...     assert a.shape == (2, 3) and a.dtype == np.float64
    >>> test_shape()
    """
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=width)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def tensors(
    shape: Shape | st.SearchStrategy[Shape],
    requires_grad: bool = True,
    min_value: float = -3,
    max_value: float = 3,
    dtype: Any = np.float64,
) -> st.SearchStrategy[Tensor]:
    """Leaf `Tensor`s over `arrays(shape, min_value, max_value, dtype)`.

    >>> from hypothesis import given
    >>> @given(tensors(shapes(max_dims=2)))
    ... def test_double(t):
    ...     gradcheck(lambda x: (x * x).sum(), t)
    >>> test_double()
    """
    return arrays(shape, min_value, max_value, dtype).map(
        lambda a: Tensor(a, requires_grad=requires_grad)
    )


def shapes(
    min_dims: int = 0, max_dims: int = 3, max_side: int = 4, min_side: int = 1
) -> st.SearchStrategy[Shape]:
    """Array shapes with min_dims..max_dims axes, each of length min_side..max_side.

    >>> from hypothesis import given
    >>> @given(shapes(max_dims=2))
    ... def test_sides(shape):
    ...     assert len(shape) <= 2 and all(1 <= n <= 4 for n in shape)
    >>> test_sides()
    """
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    shape: Shape | st.SearchStrategy[Shape],
) -> st.SearchStrategy[tuple[Shape, Shape]]:
    """Pairs `(a, b)` of shapes that numpy broadcasts together to exactly `shape`.

    Either may have fewer axes than `shape` (missing leading axes) and any axis
    may be 1 where the other keeps the full length.

    >>> from hypothesis import given
    >>> @given(broadcastable_shapes((2, 3)))
    ... def test_pair(pair):
    ...     assert np.broadcast_shapes(*pair) == (2, 3)
    >>> test_pair()
    """
    if isinstance(shape, st.SearchStrategy):
        return shape.flatmap(broadcastable_shapes)
    return _broadcastable_pair(tuple(shape))


@st.composite
def _broadcastable_pair(draw: st.DrawFn, shape: Shape) -> tuple[Shape, Shape]:
    rank = len(shape)
    # One of the two keeps every axis, so the broadcast has exactly `shape`'s rank.
    full = draw(st.sampled_from(["a", "b"]))
    short_rank = draw(st.integers(0, rank))
    ranks = {"a": rank, "b": short_rank} if full == "a" else {"a": short_rank, "b": rank}
    a: list[int] = []
    b: list[int] = []
    for axis, length in enumerate(shape):
        in_a = axis >= rank - ranks["a"]
        in_b = axis >= rank - ranks["b"]
        # Which of them keeps the full length here: at least one must, unless length is 1.
        if in_a and in_b:
            keeper = draw(st.sampled_from(["a", "b", "both"]))
        else:
            keeper = "a" if in_a else "b"
        if in_a:
            a.append(length if keeper in ("a", "both") else 1)
        if in_b:
            b.append(length if keeper in ("b", "both") else 1)
    return tuple(a), tuple(b)


__all__ = [
    "GradcheckReport", "arrays", "broadcastable_shapes", "gradcheck", "shapes", "tensors", "values",
]
