"""Hypothesis strategies for the project's own tests, on top of `microgradvg.testing`.

`SCALAR_OPS` is the catalogue of every `Value` operation (Values and numbers on
both sides), each with the math it should compute written out independently and
the domain where it is smooth. `expressions()` draws random expression DAGs over
that catalogue that reuse nodes (`a*a`, shared sub-expressions) and stay finite
and differentiable; `leaves()` and `constants()` draw their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from microgradvg import Value

Constant = int | float | None


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# ---- domains: where an operand keeps an op finite and differentiable ------------


@dataclass(frozen=True)
class Domain:
    """Where an operand may lie, with a margin so ±1e-6 perturbations stay inside.

    `contains(x)` tests a value, `repair(v)` maps any Value smoothly into the
    domain (used when a drawn operand falls outside), `floats` draws from it.
    """

    name: str
    contains: Callable[[float], bool]
    repair: Callable[[Value], Value]
    floats: st.SearchStrategy[float]


def _square_plus_half(v: Value) -> Value:
    return v * v + 0.5  # ≥ 0.5: positive, and away from 0


ANYWHERE = Domain("anywhere", lambda x: True, lambda v: v, _floats(-3, 3))
POSITIVE = Domain("positive", lambda x: x >= 0.1, _square_plus_half, _floats(0.1, 4))
NONZERO = Domain(
    "nonzero", lambda x: abs(x) >= 0.25, _square_plus_half, _floats(-4, -0.25) | _floats(0.25, 4)
)
MODERATE = Domain("moderate", lambda x: abs(x) <= 3, lambda v: v.tanh(), _floats(-3, 3))
AWAY_FROM_KINK = Domain(
    "away from 0",
    lambda x: abs(x) >= 0.05,
    _square_plus_half,
    _floats(-3, -0.05) | _floats(0.05, 3),
)


# ---- the catalogue of Value operations --------------------------------------------


def constants() -> st.SearchStrategy[int | float]:
    """Python numbers, ints and floats, for the number side of a binary op."""
    return st.integers(-3, 3) | _floats(-3, 3)


_NONZERO_CONSTANTS = st.integers(1, 3) | st.integers(-3, -1) | _floats(0.1, 3) | _floats(-3, -0.1)


@dataclass(frozen=True)
class ScalarOp:
    """One Value operation: how to call it, what it must compute, where it is smooth.

    `apply(operands, constant)` runs it on Values; `reference(xs, constant)` is
    the same math on floats, written without the engine. `arities` draws how
    many Value operands it takes; operand j must lie in `domain(j)`.
    """

    name: str
    op: str
    apply: Callable[[Sequence[Value], Constant], Value]
    reference: Callable[[Sequence[float], Constant], float]
    domains: tuple[Domain, ...] = (ANYWHERE,)
    constants: st.SearchStrategy[Any] | None = None
    arities: st.SearchStrategy[int] | None = None

    def domain(self, j: int) -> Domain:
        return self.domains[min(j, len(self.domains) - 1)]

    def arity(self) -> st.SearchStrategy[int]:
        return self.arities if self.arities is not None else st.just(len(self.domains))

    def __repr__(self) -> str:
        return self.name


def _linear(operands: Sequence[Value], constant: Constant) -> Value:
    n = len(operands) // 2
    return Value.linear(operands[:n], operands[n : 2 * n], operands[-1])


def _linear_reference(xs: Sequence[float], constant: Constant) -> float:
    n = len(xs) // 2
    return sum(w * x for w, x in zip(xs[:n], xs[n : 2 * n])) + xs[-1]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


SCALAR_OPS: tuple[ScalarOp, ...] = (
    ScalarOp("a+b", "+", lambda v, c: v[0] + v[1], lambda x, c: x[0] + x[1], (ANYWHERE, ANYWHERE)),
    ScalarOp("a+c", "+", lambda v, c: v[0] + c, lambda x, c: x[0] + c, constants=constants()),
    ScalarOp("c+a", "+", lambda v, c: c + v[0], lambda x, c: c + x[0], constants=constants()),
    ScalarOp("a-b", "-", lambda v, c: v[0] - v[1], lambda x, c: x[0] - x[1], (ANYWHERE, ANYWHERE)),
    ScalarOp("a-c", "-", lambda v, c: v[0] - c, lambda x, c: x[0] - c, constants=constants()),
    ScalarOp("c-a", "-", lambda v, c: c - v[0], lambda x, c: c - x[0], constants=constants()),
    ScalarOp("a*b", "*", lambda v, c: v[0] * v[1], lambda x, c: x[0] * x[1], (ANYWHERE, ANYWHERE)),
    ScalarOp("a*c", "*", lambda v, c: v[0] * c, lambda x, c: x[0] * c, constants=constants()),
    ScalarOp("c*a", "*", lambda v, c: c * v[0], lambda x, c: c * x[0], constants=constants()),
    ScalarOp("a/b", "/", lambda v, c: v[0] / v[1], lambda x, c: x[0] / x[1], (ANYWHERE, NONZERO)),
    ScalarOp(
        "a/c", "/", lambda v, c: v[0] / c, lambda x, c: x[0] / c, constants=_NONZERO_CONSTANTS
    ),
    ScalarOp("c/a", "/", lambda v, c: c / v[0], lambda x, c: c / x[0], (NONZERO,), constants()),
    ScalarOp(
        "a**b", "**", lambda v, c: v[0] ** v[1], lambda x, c: x[0] ** x[1], (POSITIVE, MODERATE)
    ),
    ScalarOp(
        "a**int", "**", lambda v, c: v[0] ** c, lambda x, c: x[0] ** c,
        constants=st.sampled_from([0, 1, 2, 3, 2.0, 3.0]),
    ),
    ScalarOp(
        "a**negative", "**", lambda v, c: v[0] ** c, lambda x, c: 1.0 / x[0] ** -c, (NONZERO,),
        st.sampled_from([-1, -2, -3, -1.0]),
    ),
    ScalarOp(
        "a**fraction", "**", lambda v, c: v[0] ** c, lambda x, c: math.exp(c * math.log(x[0])),
        (POSITIVE,), st.sampled_from([0.5, 1.5, -0.5, 2.5, 1 / 3]) | _floats(-2, 2),
    ),
    ScalarOp(
        "c**a", "**", lambda v, c: c ** v[0], lambda x, c: math.exp(x[0] * math.log(c)),
        (MODERATE,),
        st.sampled_from([0.5, 2, math.e, 3]) | _floats(0.2, 3),
    ),
    ScalarOp("-a", "neg", lambda v, c: -v[0], lambda x, c: -x[0]),
    ScalarOp("exp", "exp", lambda v, c: v[0].exp(), lambda x, c: math.e ** x[0], (MODERATE,)),
    ScalarOp("log", "log", lambda v, c: v[0].log(), lambda x, c: math.log(x[0]), (POSITIVE,)),
    ScalarOp(
        "tanh", "tanh", lambda v, c: v[0].tanh(),
        lambda x, c: (math.exp(2 * x[0]) - 1) / (math.exp(2 * x[0]) + 1),
    ),
    ScalarOp("sigmoid", "sigmoid", lambda v, c: v[0].sigmoid(), lambda x, c: _sigmoid(x[0])),
    ScalarOp(
        "relu", "relu", lambda v, c: v[0].relu(), lambda x, c: max(0.0, x[0]), (AWAY_FROM_KINK,)
    ),
    ScalarOp("sum", "+", lambda v, c: Value.sum(v), lambda x, c: sum(x), arities=st.integers(1, 4)),
    ScalarOp(
        "linear", "linear", _linear, _linear_reference,
        arities=st.integers(1, 3).map(lambda n: 2 * n + 1),  # n weights, n inputs, a bias
    ),
)

OPS_BY_NAME = {op.name: op for op in SCALAR_OPS}


# ---- leaves ------------------------------------------------------------------------------


def leaves(
    min_size: int = 1, max_size: int = 4, min_value: float = -3, max_value: float = 3
) -> st.SearchStrategy[list[Value]]:
    """Lists of leaf Values labelled x0, x1, …"""
    return st.lists(_floats(min_value, max_value), min_size=min_size, max_size=max_size).map(
        lambda xs: [Value(x, f"x{i}") for i, x in enumerate(xs)]
    )


# ---- expression DAGs ----------------------------------------------------------------------

# Nodes are kept within ±LIMIT by dividing by a power of ten, so values stay moderate.
LIMIT = 10.0


@dataclass(frozen=True)
class Step:
    """One node of an expression: `op` applied to earlier nodes (by index).

    Operands flagged in `repaired` go through their domain's `repair` first; the
    result is divided by `scale`. Both were decided once, when the step was drawn,
    so rebuilding at slightly moved leaves computes the same function.
    """

    op: ScalarOp
    operands: tuple[int, ...]
    repaired: tuple[bool, ...]
    constant: Constant
    scale: float

    def run(self, nodes: Sequence[Value]) -> Value:
        operands = [
            self.op.domain(j).repair(nodes[i]) if fix else nodes[i]
            for j, (i, fix) in enumerate(zip(self.operands, self.repaired))
        ]
        out = self.op.apply(operands, self.constant)
        return out / self.scale if self.scale != 1.0 else out


@dataclass(frozen=True)
class Expression:
    """A random DAG over Values: `leaves`, then `steps`, summed over `outputs`.

    `build(*leaves)` evaluates it afresh on any leaves (so `gradcheck` can move
    them); `root` is the graph built on `self.leaves` when it was drawn.
    """

    leaves: tuple[Value, ...]
    steps: tuple[Step, ...]
    outputs: tuple[int, ...]
    root: Value

    def build(self, *leaves: Value) -> Value:
        nodes = list(leaves)
        for step in self.steps:
            nodes.append(step.run(nodes))
        return _sum_of(nodes, self.outputs)

    def __repr__(self) -> str:
        n = len(self.leaves)
        lines = [", ".join(f"v{i} = {leaf.data!r}" for i, leaf in enumerate(self.leaves))]
        for k, step in enumerate(self.steps, start=n):
            args = [
                f"repair(v{i})" if fix else f"v{i}" for i, fix in zip(step.operands, step.repaired)
            ]
            constant = f", c={step.constant!r}" if step.constant is not None else ""
            scale = f" / {step.scale:g}" if step.scale != 1.0 else ""
            lines.append(f"v{k} = {step.op.name}({', '.join(args)}{constant}){scale}")
        lines.append("root = sum(" + ", ".join(f"v{i}" for i in self.outputs) + ")")
        return "Expression(\n  " + "\n  ".join(lines) + "\n)"


def _sum_of(nodes: Sequence[Value], outputs: tuple[int, ...]) -> Value:
    return nodes[outputs[0]] if len(outputs) == 1 else Value.sum(nodes[i] for i in outputs)


@st.composite
def expressions(
    draw: st.DrawFn,
    min_leaves: int = 1,
    max_leaves: int = 4,
    min_steps: int = 1,
    max_steps: int = 12,
    ops: Sequence[ScalarOp] = SCALAR_OPS,
) -> Expression:
    """Random expression DAGs over `ops` that reuse nodes and stay smooth and finite.

    Each step picks its operands among all nodes made so far (leaves included),
    often the same node twice; the root sums every node nobody used, so every
    leaf influences it.
    """
    leaf_nodes = draw(leaves(min_leaves, max_leaves))
    nodes: list[Value] = list(leaf_nodes)
    used: set[int] = set()
    steps: list[Step] = []
    for _ in range(draw(st.integers(min_steps, max_steps))):
        op = draw(st.sampled_from(ops))
        operands: list[int] = []
        for _ in range(draw(op.arity())):
            if operands and draw(st.booleans()):
                index = draw(st.sampled_from(operands))  # the same node again: a*a
            else:
                index = len(nodes) - 1 - draw(st.integers(0, len(nodes) - 1))  # shrinks to recent
            operands.append(index)
        repaired = tuple(
            not op.domain(j).contains(nodes[i].data) for j, i in enumerate(operands)
        )
        constant = draw(op.constants) if op.constants is not None else None
        step = Step(op, tuple(operands), repaired, constant, 1.0)
        out = step.run(nodes)
        if not math.isfinite(out.data):
            raise AssertionError(f"strategy bug: {op.name} made {out.data!r} from a guarded domain")
        if abs(out.data) > LIMIT:
            scale = 10.0 ** math.ceil(math.log10(abs(out.data) / LIMIT))
            step = Step(op, tuple(operands), repaired, constant, scale)
            out = step.run(nodes)
        steps.append(step)
        used.update(operands)
        nodes.append(out)
    outputs = tuple(i for i in range(len(nodes)) if i not in used)
    return Expression(tuple(leaf_nodes), tuple(steps), outputs, _sum_of(nodes, outputs))
