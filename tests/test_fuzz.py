"""A standing differential fuzz: random programs on the Value and Tensor APIs, checked
against central differences always and against PyTorch when it is installed.

A program is drawn op by op over the nodes so far (so nodes are reused many times):
the op catalogue, broadcasting, basic, fancy and boolean indexing, reductions with ties,
reshapes, matmul; Tensor programs are also checked to second order (H·v by double
backward against central differences of the gradient). `HYPOTHESIS_PROFILE=thorough`
searches much harder than the CI default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradvg as mg
from microgradvg import Tensor, Value

try:
    import torch
except ImportError:  # the PyTorch comparison is optional
    torch = None

EPS = 1e-6  # central-difference step
LIMIT = 10.0  # a node beyond ±LIMIT is divided by a power of ten, so values stay moderate
LEAF_SHAPES = [(2, 3), (3,), (2, 1), (1, 3), ()]


# ---- one namespace per library: the ops the programs use, written once each ------------


class Library:
    """How a program's ops are spelled in one library (microgradvg or PyTorch)."""

    def leaf(self, array: np.ndarray) -> Any:
        raise NotImplementedError

    def constant(self, array: np.ndarray) -> Any:
        raise NotImplementedError

    def reduce(self, how: str, x: Any, axis: int | None, keepdims: bool) -> Any:
        raise NotImplementedError

    def join(self, how: str, parts: Sequence[Any], axis: int) -> Any:
        raise NotImplementedError


class Microgradvg(Library):
    def leaf(self, array: np.ndarray) -> Any:
        return Tensor(array, requires_grad=True)

    def constant(self, array: np.ndarray) -> Any:
        return Tensor(array)

    def reduce(self, how: str, x: Any, axis: int | None, keepdims: bool) -> Any:
        return getattr(x, how)(axis=axis, keepdims=keepdims)

    def join(self, how: str, parts: Sequence[Any], axis: int) -> Any:
        return (mg.stack if how == "stack" else mg.concatenate)(parts, axis=axis)


class PyTorch(Library):
    def leaf(self, array: np.ndarray) -> Any:
        return torch.tensor(array, dtype=torch.float64, requires_grad=True)

    def constant(self, array: np.ndarray) -> Any:
        return torch.tensor(array, dtype=torch.float64)

    def reduce(self, how: str, x: Any, axis: int | None, keepdims: bool) -> Any:
        dims = tuple(range(x.ndim)) if axis is None else axis
        if how == "max":  # amax splits the gradient among tied maxima, as microgradvg does
            return torch.amax(x, dim=dims, keepdim=keepdims)
        return getattr(torch, how)(x, dim=dims, keepdim=keepdims)

    def join(self, how: str, parts: Sequence[Any], axis: int) -> Any:
        return (torch.stack if how == "stack" else torch.cat)(list(parts), dim=axis)


MICROGRADVG = Microgradvg()


# ---- the Tensor op catalogue: (arity, function of (library, operands, parameters)) -----------

def _positive(a: Any) -> Any:
    return a * a + 0.5


TENSOR_OPS: dict[str, Callable[[Library, Sequence[Any], Any], Any]] = {
    "+": lambda lib, x, p: x[0] + x[1],
    "-": lambda lib, x, p: x[0] - x[1],
    "*": lambda lib, x, p: x[0] * x[1],
    "/": lambda lib, x, p: x[0] / _positive(x[1]),
    "**tensor": lambda lib, x, p: _positive(x[0]) ** x[1].tanh(),
    "**int": lambda lib, x, p: x[0] ** p,
    "**fraction": lambda lib, x, p: _positive(x[0]) ** p,
    "number-": lambda lib, x, p: p - x[0],
    "number/": lambda lib, x, p: p / _positive(x[0]),
    "neg": lambda lib, x, p: -x[0],
    "tanh": lambda lib, x, p: x[0].tanh(),
    "sigmoid": lambda lib, x, p: x[0].sigmoid(),
    "exp": lambda lib, x, p: x[0].tanh().exp(),
    "log": lambda lib, x, p: _positive(x[0]).log(),
    "relu": lambda lib, x, p: x[0].relu(),
    "times constant": lambda lib, x, p: x[0] * lib.constant(p),
    "sum": lambda lib, x, p: lib.reduce("sum", x[0], *p),
    "mean": lambda lib, x, p: lib.reduce("mean", x[0], *p),
    "max": lambda lib, x, p: lib.reduce("max", x[0], *p),
    "softmax": lambda lib, x, p: x[0].softmax(p) if lib is MICROGRADVG else x[0].softmax(dim=p),
    "log_softmax": lambda lib, x, p: (
        x[0].log_softmax(p) if lib is MICROGRADVG else x[0].log_softmax(dim=p)
    ),
    "reshape": lambda lib, x, p: x[0].reshape(p),
    "transpose": lambda lib, x, p: x[0].T if lib is MICROGRADVG else x[0].permute(*reversed(range(x[0].ndim))),
    "index": lambda lib, x, p: x[0][p if lib is MICROGRADVG else _torch_index(p)],
    "matmul": lambda lib, x, p: x[0] @ x[1],
    "stack": lambda lib, x, p: lib.join("stack", x, p),
    "concatenate": lambda lib, x, p: lib.join("concatenate", x, p),
}


# Steps draw a family first, so indexing and reductions come up as often as arithmetic.
OP_FAMILIES = (
    ("neg", "tanh", "sigmoid", "exp", "log", "relu", "**int", "**fraction", "number-", "number/"),
    ("+", "-", "*", "/", "**tensor", "times constant"),
    ("sum", "mean", "max", "softmax", "log_softmax"),
    ("index",),
    ("reshape", "transpose", "matmul", "stack", "concatenate"),
)
assert sorted(sum(OP_FAMILIES, ())) == sorted(TENSOR_OPS)


def _torch_index(index: Any) -> Any:
    parts = index if isinstance(index, tuple) else (index,)
    converted = tuple(torch.from_numpy(part) if isinstance(part, np.ndarray) else part for part in parts)
    return converted if isinstance(index, tuple) else converted[0]


@dataclass(frozen=True)
class Step:
    """`op` on earlier nodes (by index) with its parameters, the result divided by `scale`."""

    op: str
    operands: tuple[int, ...]
    parameter: Any
    scale: float

    def __repr__(self) -> str:
        return f"{self.op}{self.operands} {self.parameter!r} /{self.scale:g}"


@dataclass
class Program:
    """Leaves (arrays), steps, and a loss Σ over chosen outputs of ⟨node, weight⟩."""

    leaves: list[np.ndarray]
    steps: list[Step] = field(default_factory=list)
    outputs: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def run(self, lib: Library, leaves: Sequence[Any]) -> Any:
        nodes = list(leaves)
        for step in self.steps:
            out = TENSOR_OPS[step.op](lib, [nodes[i] for i in step.operands], step.parameter)
            nodes.append(out / step.scale if step.scale != 1.0 else out)
        loss = None
        for i, weight in self.outputs:
            term = (nodes[i] * lib.constant(weight)).sum()
            loss = term if loss is None else loss + term
        return loss

    def loss_at(self, arrays: Sequence[np.ndarray]) -> float:
        with mg.no_grad():
            return float(self.run(MICROGRADVG, [Tensor(a) for a in arrays]).data)


# ---- drawing a program ----------------------------------------------------------------------


@st.composite
def programs(draw: st.DrawFn, max_steps: int = 8) -> Program:
    """A random Tensor program; its shapes are tracked by running it while it is drawn."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    count = draw(st.integers(1, 3))
    leaves = [rng.uniform(-2, 2, draw(st.sampled_from(LEAF_SHAPES))) for _ in range(count)]
    program = Program(leaves)
    with mg.no_grad():
        nodes = [Tensor(a) for a in leaves]
        for _ in range(draw(st.integers(1, max_steps))):
            step = draw(_step(nodes, rng))
            if step is None:
                continue
            out = TENSOR_OPS[step.op](MICROGRADVG, [nodes[i] for i in step.operands], step.parameter)
            biggest = float(np.abs(out.data).max(initial=0.0))
            scale = 10.0 ** math.ceil(math.log10(biggest / LIMIT)) if biggest > LIMIT else 1.0
            step = Step(step.op, step.operands, step.parameter, scale)
            program.steps.append(step)
            nodes.append(out / scale)
    # The last node always counts; earlier ones join it now and then (more reuse).
    chosen = {len(nodes) - 1} | set(draw(st.lists(st.integers(0, len(nodes) - 1), max_size=2)))
    program.outputs = [(i, rng.standard_normal(nodes[i].shape)) for i in sorted(chosen)]
    return program


@st.composite
def _step(draw: st.DrawFn, nodes: list[Tensor], rng: np.random.Generator) -> Step | None:
    """One step over `nodes`, or None when the drawn op does not fit the drawn operand."""
    # Recent nodes more often, so programs grow deep as well as wide.
    a = draw(st.integers(0, len(nodes) - 1) | st.just(len(nodes) - 1))
    x = nodes[a]
    op = draw(st.sampled_from(draw(st.sampled_from(OP_FAMILIES))))
    if op in ("neg", "tanh", "sigmoid", "exp", "log", "relu"):
        return Step(op, (a,), None, 1.0)
    if op in ("+", "-", "*", "/", "**tensor"):
        partners = [i for i, n in enumerate(nodes) if _broadcast(x.shape, n.shape)]
        return Step(op, (a, draw(st.sampled_from(partners))), None, 1.0)
    if op == "**int":
        return Step(op, (a,), draw(st.sampled_from([0, 1, 2, 3])), 1.0)
    if op == "**fraction":
        return Step(op, (a,), draw(st.sampled_from([0.5, 1.5, -0.5, 1 / 3])), 1.0)
    if op in ("number-", "number/"):
        return Step(op, (a,), draw(st.sampled_from([0.5, 2.0, -3.0])), 1.0)
    if op == "times constant":
        return Step(op, (a,), rng.uniform(-2, 2, x.shape), 1.0)
    if op in ("sum", "mean", "max"):
        # max and mean over nothing are undefined (mean's NaN would make the check vacuous)
        if op != "sum" and x.size == 0:
            return None
        axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)) if x.ndim else None
        return Step(op, (a,), (axis, draw(st.booleans())), 1.0)
    if op in ("softmax", "log_softmax"):
        if x.ndim == 0 or x.size == 0:
            return None
        return Step(op, (a,), draw(st.integers(-x.ndim, x.ndim - 1)), 1.0)
    if op == "reshape":
        return Step(op, (a,), (-1,) if x.ndim != 1 else (1, x.size), 1.0)
    if op == "transpose":
        return Step(op, (a,), None, 1.0) if x.ndim >= 2 else None
    if op == "index":
        index = draw(_index(x.shape, rng))
        return None if index is None else Step(op, (a,), index, 1.0)
    if op == "matmul":
        if x.ndim != 2:
            return None
        partners = [i for i, n in enumerate(nodes) if n.ndim in (1, 2) and n.shape[0] == x.shape[1]]
        return Step(op, (a, draw(st.sampled_from(partners))), None, 1.0) if partners else None
    # stack / concatenate: a node with a node of its shape (itself included: ties, reuse)
    partners = [i for i, n in enumerate(nodes) if n.shape == x.shape]
    if op == "concatenate" and x.ndim == 0:
        return None
    axis = draw(st.integers(0, x.ndim if op == "stack" else x.ndim - 1))
    return Step(op, (a, draw(st.sampled_from(partners))), axis, 1.0)


@st.composite
def _index(draw: st.DrawFn, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
    """A basic, fancy (with repeats) or boolean index valid for `shape`."""
    if not shape or shape[0] == 0:
        return None
    kind = draw(st.sampled_from(["int", "slice", "fancy", "mask", "mixed"]))
    n = shape[0]
    if kind == "int":
        return draw(st.integers(-n, n - 1))
    if kind == "slice":
        start = draw(st.integers(0, n - 1))
        return slice(start, None, draw(st.sampled_from([1, 2])))
    if kind == "fancy":  # repeats accumulate in the gradient
        return rng.integers(0, n, size=draw(st.integers(1, 4)))
    if kind == "mask":
        return rng.random(shape) < 0.6
    if len(shape) < 2:
        return None
    return (rng.integers(0, n, size=3), slice(1, None))


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


# ---- the checks -------------------------------------------------------------------------------


def gradients(program: Program) -> list[np.ndarray]:
    leaves = [Tensor(a.copy(), requires_grad=True) for a in program.leaves]
    program.run(MICROGRADVG, leaves).backward()
    return [np.zeros_like(a) if t.grad is None else np.asarray(t.grad) for t, a in zip(leaves, program.leaves)]


def central_differences(program: Program) -> list[np.ndarray]:
    result = []
    for j, array in enumerate(program.leaves):
        numeric = np.zeros_like(array)
        for position in np.ndindex(array.shape):
            moved = [a.copy() for a in program.leaves]
            moved[j][position] += EPS
            up = program.loss_at(moved)
            moved[j][position] -= 2 * EPS
            numeric[position] = (up - program.loss_at(moved)) / (2 * EPS)
        result.append(numeric)
    return result


def hessian_vector_product(program: Program, vectors: list[np.ndarray]) -> list[np.ndarray]:
    leaves = [Tensor(a.copy(), requires_grad=True) for a in program.leaves]
    loss = program.run(MICROGRADVG, leaves)
    firsts = mg.grad(loss, leaves, create_graph=True)
    inner = None
    for g, v in zip(firsts, vectors):
        term = (g * Tensor(v)).sum()
        inner = term if inner is None else inner + term
    if inner is None or not inner.requires_grad:  # the loss is linear in every leaf
        return [np.zeros_like(a) for a in program.leaves]
    return [np.asarray(g.data) for g in mg.grad(inner, leaves)]


def assert_close(ours: Sequence[np.ndarray], reference: Sequence[np.ndarray], rtol: float, atol: float,
                 what: str, program: Program) -> None:
    for j, (a, b) in enumerate(zip(ours, reference)):
        scale = max(1.0, float(np.abs(b).max(initial=0.0)))
        np.testing.assert_allclose(
            a, b, rtol=rtol, atol=atol * scale, err_msg=f"{what}, leaf {j}, program {program.steps}"
        )


@given(programs())
def test_random_tensor_programs_match_central_differences(program: Program) -> None:
    assert_close(gradients(program), central_differences(program), 1e-5, 1e-6, "first order", program)


@given(programs(max_steps=5), st.integers(0, 2**32 - 1))
def test_random_tensor_programs_second_order_matches_differences_of_the_gradient(
    program: Program, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    vectors = [rng.standard_normal(a.shape) for a in program.leaves]

    def gradient_at(t: float) -> list[np.ndarray]:
        moved = Program([a + t * v for a, v in zip(program.leaves, vectors)], program.steps, program.outputs)
        return gradients(moved)

    up, down = gradient_at(1e-5), gradient_at(-1e-5)
    numeric = [(u - d) / 2e-5 for u, d in zip(up, down)]
    assert_close(hessian_vector_product(program, vectors), numeric, 1e-4, 1e-5, "H·v", program)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@given(programs(), st.integers(0, 2**32 - 1))
def test_random_tensor_programs_match_pytorch_to_second_order(program: Program, seed: int) -> None:
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in program.leaves]
    loss = program.run(PyTorch(), theirs)
    firsts = torch.autograd.grad(loss, theirs, create_graph=True, allow_unused=True)
    expected = [np.zeros_like(a) if g is None else g.detach().numpy() for g, a in zip(firsts, program.leaves)]
    assert_close(gradients(program), expected, 1e-10, 1e-12, "first order vs torch", program)
    rng = np.random.default_rng(seed)
    vectors = [rng.standard_normal(a.shape) for a in program.leaves]
    inner = sum(((g * torch.tensor(v)).sum() for g, v in zip(firsts, vectors) if g is not None),
                torch.tensor(0.0, dtype=torch.float64))
    if inner.requires_grad:
        seconds = torch.autograd.grad(inner, theirs, allow_unused=True)
        expected = [np.zeros_like(a) if g is None else g.numpy() for g, a in zip(seconds, program.leaves)]
    else:
        expected = [np.zeros_like(a) for a in program.leaves]
    assert_close(hessian_vector_product(program, vectors), expected, 1e-9, 1e-11, "H·v vs torch", program)


# ---- Value programs: the same idea on the scalar engine --------------------------------------

VALUE_OPS: dict[str, Callable[[Sequence[Any], Any], Any]] = {
    "+": lambda x, p: x[0] + x[1],
    "-": lambda x, p: x[0] - x[1],
    "*": lambda x, p: x[0] * x[1],
    "/": lambda x, p: x[0] / _positive(x[1]),
    "**value": lambda x, p: _positive(x[0]) ** x[1].tanh(),
    "**number": lambda x, p: x[0] ** p,
    "number**": lambda x, p: p ** x[0].tanh(),
    "number-": lambda x, p: p - x[0],
    "number/": lambda x, p: p / _positive(x[0]),
    "neg": lambda x, p: -x[0],
    "tanh": lambda x, p: x[0].tanh(),
    "sigmoid": lambda x, p: x[0].sigmoid(),
    "exp": lambda x, p: x[0].tanh().exp(),
    "log": lambda x, p: _positive(x[0]).log(),
    "relu": lambda x, p: x[0].relu(),
}


@dataclass(frozen=True)
class ValueProgram:
    leaves: tuple[float, ...]
    steps: tuple[Step, ...]

    def run(self, leaves: Sequence[Any], total: Callable[[list[Any]], Any]) -> Any:
        nodes = list(leaves)
        for step in self.steps:
            out = VALUE_OPS[step.op]([nodes[i] for i in step.operands], step.parameter)
            nodes.append(out / step.scale if step.scale != 1.0 else out)
        return total(nodes[len(leaves):] or nodes)


@st.composite
def value_programs(draw: st.DrawFn) -> ValueProgram:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    leaves = tuple(float(v) for v in rng.uniform(-2, 2, draw(st.integers(1, 4))))
    nodes = [Value(v) for v in leaves]
    steps = []
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(sorted(VALUE_OPS)))
        operands = tuple(draw(st.integers(0, len(nodes) - 1) | st.just(len(nodes) - 1)) for _ in range(2))
        parameter = {"**number": draw(st.sampled_from([0, 2, 3, 0.5, -1.0])),
                     "number**": 2.0, "number-": 1.5, "number/": -2.0}.get(op)
        if op == "**number" and parameter in (0.5, -1.0) and nodes[operands[0]].data <= 0.3:
            parameter = 2
        out = VALUE_OPS[op]([nodes[i] for i in operands], parameter)
        scale = 10.0 ** math.ceil(math.log10(abs(out.data) / LIMIT)) if abs(out.data) > LIMIT else 1.0
        steps.append(Step(op, operands, parameter, scale))
        nodes.append(out / scale)
    return ValueProgram(leaves, tuple(steps))


def _value_total(nodes: list[Value]) -> Value:
    return Value.sum(nodes)


@given(value_programs())
def test_random_value_programs_match_central_differences_and_pytorch(program: ValueProgram) -> None:
    leaves = [Value(v) for v in program.leaves]
    program.run(leaves, _value_total).backward()
    for j in range(len(leaves)):
        def at(t: float, j: int = j) -> float:
            moved = [Value(v + (t if i == j else 0.0)) for i, v in enumerate(program.leaves)]
            return program.run(moved, _value_total).data

        numeric = (at(EPS) - at(-EPS)) / (2 * EPS)
        assert leaves[j].grad == pytest.approx(numeric, rel=1e-5, abs=1e-6), program.steps
    if torch is None:
        return
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in program.leaves]
    program.run(theirs, lambda nodes: torch.stack(nodes).sum()).backward()
    for ours, reference in zip(leaves, theirs):
        expected = 0.0 if reference.grad is None else float(reference.grad)
        assert ours.grad == pytest.approx(expected, rel=1e-10, abs=1e-12), program.steps
