"""Value and Tensor compute the same functions: the same numbers and the same gradients.

Every entry of the one catalogue (`strategies.SCALAR_OPS`) runs through both
engines on the same inputs: Tensors of any shape (0-d and broadcasting
included), and, for each element of the result, a Value graph on that
element's operands. Results agree to the last bit where the op is one IEEE
operation (+ − × ÷, negation, max) and to 1e-15 relative otherwise; gradients
agree to the rounding of summing broadcast contributions in another order; and
both engines match central differences (`gradcheck`). Random expression DAGs
built on both engines agree too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    SCALAR_OPS,
    Expression,
    ScalarOp,
    Shape,
    domain_arrays,
    expressions,
)

from microgradvg import Tensor, Value
from microgradvg.testing import broadcastable_shapes, gradcheck, shapes

EPS = float(np.finfo(np.float64).eps)  # 2⁻⁵², the spacing of floats at 1
RELATIVE = 1e-15  # what a correctly rounded function may differ by, in either engine (~4 ulp)
SMALL_SHAPES = shapes(0, 3, max_side=3)


@st.composite
def operand_shapes(draw: st.DrawFn, op: ScalarOp, arity: int) -> list[Shape]:
    """Shapes for the op's Tensor operands, as its `layout` relates them."""
    if op.layout == "same":
        return [draw(SMALL_SHAPES)] * arity
    if op.layout == "neuron":  # n 0-d weights, n inputs of one shape, a 0-d bias
        n, inputs = arity // 2, draw(SMALL_SHAPES)
        return [()] * n + [inputs] * n + [()]
    if arity == 1:
        return [draw(SMALL_SHAPES)]
    return list(draw(broadcastable_shapes(SMALL_SHAPES)))


def value_leaves(array: np.ndarray) -> np.ndarray:
    """An object array of the same shape holding one Value leaf per element."""
    leaves = np.empty(array.shape, dtype=object)
    for i in np.ndindex(array.shape):
        leaves[i] = Value(float(array[i]))
    return leaves


class BothEngines:
    """One drawn case run through both engines.

    `tensors[j]` is operand j as a Tensor (a constant where its domain is fixed),
    `leaves[j]` the same numbers as an object array of Value leaves, and
    `outputs[k]` the Value result for element k of the Tensor result `out`,
    computed from the leaves broadcast to `out`'s shape (so a broadcast leaf
    feeds several outputs, as the Tensor element does).
    """

    def __init__(self, op: ScalarOp, arrays: Sequence[np.ndarray], constant) -> None:
        self.op, self.constant = op, constant
        self.free = [j for j in range(len(arrays)) if not op.domain(j).fixed]
        self.tensors = [
            Tensor(a, requires_grad=j in self.free) for j, a in enumerate(arrays)
        ]
        self.out = op.tensor(self.tensors, constant)
        self.shape = np.broadcast_shapes(*(a.shape for a in arrays))
        self.leaves = [value_leaves(a) for a in arrays]
        self.spread = [np.broadcast_to(leaves, self.shape) for leaves in self.leaves]
        self.outputs = np.empty(self.shape, dtype=object)
        for k in np.ndindex(self.shape):
            self.outputs[k] = op.apply(self.operands(k), constant)

    def operands(self, k: tuple[int, ...]) -> list[Value]:
        return [spread[k] for spread in self.spread]

    def magnitude(self, k: tuple[int, ...]) -> float:
        """|result|, or for a sum of terms, the sum of their magnitudes (its rounding scale)."""
        if not self.op.cancels:
            return abs(self.outputs[k].data)
        absolute = [Value(abs(v.data)) for v in self.operands(k)]
        return abs(self.op.apply(absolute, self.constant).data)

    def value_contributions(self) -> dict[int, list[float]]:
        """For every leaf, ∂outputs[k]/∂leaf for each output k it feeds, one backward per k."""
        contributions: dict[int, list[float]] = {
            id(leaf): [] for leaves in self.leaves for leaf in leaves.flat
        }
        everything = [leaf for leaves in self.leaves for leaf in leaves.flat]
        for k in np.ndindex(self.shape):
            for leaf in everything:
                leaf.grad = 0.0
            self.outputs[k].backward()
            for leaf in self.operands(k):
                contributions[id(leaf)].append(leaf.grad)
        return contributions


def draw_case(data: st.DataObject, op: ScalarOp) -> BothEngines:
    arity = data.draw(op.arity(), label="arity")
    shapes_ = data.draw(operand_shapes(op, arity), label="shapes")
    arrays = [
        data.draw(domain_arrays(op.domain(j), shape), label=f"x{j}")
        for j, shape in enumerate(shapes_)
    ]
    constant = data.draw(op.constants, label="constant") if op.constants is not None else None
    return BothEngines(op, arrays, constant)


# ---- the catalogue through both engines ----------------------------------------------------------


@pytest.mark.parametrize("op", SCALAR_OPS, ids=repr)
@given(data=st.data())
def test_value_and_tensor_compute_the_same_numbers(op: ScalarOp, data: st.DataObject):
    case = draw_case(data, op)
    assert case.out.shape == case.shape and type(case.out.data) is np.ndarray
    assert case.out.dtype == np.float64
    for k in np.ndindex(case.shape):
        value, tensor = case.outputs[k].data, float(case.out.data[k])
        if op.exact:
            assert tensor == value, (k, tensor, value)  # one IEEE operation: the same bits
        else:
            assert abs(tensor - value) <= RELATIVE * case.magnitude(k), (k, tensor, value)


@pytest.mark.parametrize("op", SCALAR_OPS, ids=repr)
@given(data=st.data())
def test_value_and_tensor_compute_the_same_gradients(op: ScalarOp, data: st.DataObject):
    case = draw_case(data, op)
    case.out.backward(np.ones(case.shape))
    contributions = case.value_contributions()
    for j in case.free:
        tensor_grad = case.tensors[j].grad
        assert type(tensor_grad) is np.ndarray and tensor_grad.shape == case.tensors[j].shape
        for i in np.ndindex(tensor_grad.shape):
            terms = contributions[id(case.leaves[j][i])]
            value_grad = math.fsum(terms)
            # Each engine rounds each term a few times and adds the terms in its own order:
            # error ≤ (terms + a few)·ε·Σ|term|, zero where every term is exactly zero.
            tolerance = (len(terms) + 8) * EPS * math.fsum(abs(t) for t in terms)
            assert abs(float(tensor_grad[i]) - value_grad) <= tolerance, (j, i, tensor_grad[i], terms)


@pytest.mark.parametrize("op", SCALAR_OPS, ids=repr)
@given(data=st.data())
def test_both_engines_match_central_differences(op: ScalarOp, data: st.DataObject):
    case = draw_case(data, op)
    constant = case.constant
    gradcheck(lambda *ts: op.tensor(ts, constant), *case.tensors)
    for k in np.ndindex(case.shape):
        operands = case.operands(k)

        def f(*free: Value, operands=operands) -> Value:
            moved = list(operands)
            for j, v in zip(case.free, free):
                moved[j] = v
            return op.apply(moved, constant)

        gradcheck(f, *(operands[j] for j in case.free))


def test_the_catalogue_has_both_engines_for_every_shared_operation():
    names = {op.name for op in SCALAR_OPS}
    assert {
        "a+b", "a+c", "c+a", "a-b", "a-c", "c-a", "a*b", "a*c", "c*a", "a/b", "a/c", "c/a", "-a",
        "a**int", "a**negative", "a**fraction", "a**0", "a**b", "0**b", "c**a", "0**a",
        "exp", "log", "tanh", "sigmoid", "relu", "sum", "linear",
    } <= names
    assert {op.name for op in SCALAR_OPS if op.exact} == {
        "a+b", "a+c", "c+a", "a-b", "a-c", "c-a", "a*b", "a*c", "c*a", "a/b", "a/c", "c/a", "-a",
        "relu",
    }


# ---- corner cases, spelled out ------------------------------------------------------------------


def both(f, *xs: float) -> tuple[list[Value], list[Tensor]]:
    """Run one function on Value leaves and on 0-d Tensor leaves, then backward on each."""
    values = [Value(x) for x in xs]
    tensors = [Tensor(np.array(x), requires_grad=True) for x in xs]
    f(*values).backward()
    f(*tensors).backward()
    return values, tensors


CORNERS = {
    # name: (function on either engine, inputs, result, gradient), results and gradients by hand
    "0**0": (lambda a: a**0, [0.0], 1.0, [0.0]),
    "0**2": (lambda a: a**2, [0.0], 0.0, [0.0]),
    "0**1": (lambda a: a**1, [0.0], 0.0, [1.0]),
    "0.0**p": (lambda p: 0.0**p, [0.5], 0.0, [0.0]),
    "2**p at p=0": (lambda p: 2.0**p, [0.0], 1.0, [math.log(2.0)]),
    "a**b at a=0, b=2": (lambda a, b: a**b, [0.0, 2.0], 0.0, [0.0, 0.0]),
    "3/10": (lambda a, b: a / b, [3.0, 10.0], 3.0 / 10.0, [0.1, -0.03]),
}


@pytest.mark.parametrize("name", list(CORNERS))
def test_corners_by_hand(name: str):
    f, xs, data, grads = CORNERS[name]
    values, tensors = both(f, *xs)
    assert f(*[Value(x) for x in xs]).data == data
    assert float(f(*[Tensor(np.array(x)) for x in xs]).data) == data
    for v, t, expected in zip(values, tensors, grads):
        assert v.grad == pytest.approx(expected, rel=1e-15, abs=0.0), name
        assert float(t.grad) == pytest.approx(expected, rel=1e-15, abs=0.0), name


# ---- random expression DAGs on both engines -------------------------------------------------------


def build_on_tensors(expression: Expression, leaves: Sequence[Tensor]) -> Tensor:
    """The drawn DAG again, each step's function taken from the catalogue's Tensor side."""
    nodes: list[Tensor] = list(leaves)
    for step in expression.steps:
        operands = [
            step.op.domain(j).repair(nodes[i]) if fix else nodes[i]  # repairs are plain arithmetic
            for j, (i, fix) in enumerate(zip(step.operands, step.repaired))
        ]
        out = step.op.tensor(operands, step.constant)
        nodes.append(out / step.scale if step.scale != 1.0 else out)
    outputs = [nodes[i] for i in expression.outputs]
    total = outputs[0]
    for node in outputs[1:]:
        total = total + node
    return total


@given(expressions())
def test_a_random_dag_gives_the_same_value_and_gradients_on_both_engines(expression: Expression):
    leaves = [Tensor(np.array(leaf.data), requires_grad=True) for leaf in expression.leaves]
    root = build_on_tensors(expression, leaves)
    # Rounding compounds through a dozen steps, so this is not bit-for-bit.
    assert float(root.data) == pytest.approx(expression.root.data, rel=1e-10, abs=1e-12)
    expression.root.backward()
    root.backward()
    for value_leaf, tensor_leaf in zip(expression.leaves, leaves):
        tensor_grad = 0.0 if tensor_leaf.grad is None else float(tensor_leaf.grad)
        assert tensor_grad == pytest.approx(value_leaf.grad, rel=1e-9, abs=1e-11)
