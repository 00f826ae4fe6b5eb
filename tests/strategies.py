"""Hypothesis strategies and shared helpers for the project's own tests.

`SCALAR_OPS` is the one catalogue of math functions: every `Value` operation
(Values and numbers on both sides), the same function on `Tensor`s, the math it
should compute written out independently, and the domain where it is smooth.
`expressions()` draws random expression DAGs over it that reuse nodes (`a*a`,
shared sub-expressions); `leaves()`, `constants()`, `domain_arrays()` and
`distinct()` draw inputs; `positive`, `away_from_zero`, `leaf`, `reachable`,
`reference_log_softmax` and `EXTREME` are what several test modules share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradvg as mg
from microgradvg import Tensor, Value
from microgradvg.engine.functional import linear as tensor_linear
from microgradvg.testing import arrays

Constant = int | float | None
Shape = tuple[int, ...]


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# ---- shared helpers -------------------------------------------------------------------


def positive(array: np.ndarray, floor: float = 0.2) -> np.ndarray:
    """Magnitudes shifted into [floor, …): bases for log and fractional or Tensor powers."""
    return np.abs(array) + floor


def away_from_zero(array: np.ndarray, gap: float = 0.1) -> np.ndarray:
    """The same signs, magnitudes pushed past `gap` (for relu, division, x**negative)."""
    return np.where(array >= 0, array + gap, array - gap)


def leaf(array: Any) -> Tensor:
    """A Tensor leaf that requires grad."""
    return Tensor(array, requires_grad=True)


def reachable(root: Any) -> dict[int, Any]:
    """Every node `root` depends on (root included), by id, found by a plain search
    over `parents` that is independent of the engine's own topological sort."""
    seen = {id(root): root}
    pending = [root]
    while pending:
        for parent in pending.pop().parents:
            if id(parent) not in seen:
                seen[id(parent)] = parent
                pending.append(parent)
    return seen


def reference_log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    """log softmax in plain numpy, shifted by the max (the reference for softmax and its losses)."""
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# Logits at ±1000, where a naive exp overflows; row 1 has two tied maxima.
EXTREME = np.array([[-1000.0, 1000.0, 0.0], [1000.0, 1000.0, -1000.0]])


@st.composite
def distinct(draw: st.DrawFn, shape: Shape) -> np.ndarray:
    """Arrays whose entries are at least 0.3 apart, so a max has no ties within a
    finite difference."""
    size = math.prod(shape)
    order = draw(st.permutations(range(size)))
    jitter = draw(arrays((size,), -0.1, 0.1))
    return (np.asarray(order, dtype=float) * 0.5 + jitter).reshape(shape)


# ---- domains: where an operand keeps an op finite and differentiable ------------


@dataclass(frozen=True)
class Domain:
    """Where an operand may lie, with a margin so ±1e-6 perturbations stay inside.

    `contains(x)` tests a value, `repair(v)` maps any Value smoothly into the
    domain (used when a drawn operand falls outside), `floats` draws from it.
    A `fixed` operand is a constant the op is not differentiable across (a base
    of exactly 0): tests hold it still instead of perturbing it.
    """

    name: str
    contains: Callable[[float], bool]
    repair: Callable[[Value], Value]
    floats: st.SearchStrategy[float]
    fixed: bool = False


def _square_plus_half(v: Value) -> Value:
    return v * v + 0.5  # ≥ 0.5: positive, and away from 0


ANYWHERE = Domain("anywhere", lambda x: True, lambda v: v, _floats(-3, 3))
# Zero itself drawn often: x**0 must have slope 0 there too, not 0·∞.
ZERO_OFTEN = Domain("anywhere, 0 often", lambda x: True, lambda v: v, st.just(0.0) | _floats(-3, 3))
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
AT_LEAST_ONE = Domain("≥ 1.1", lambda x: x >= 1.1, lambda v: v * v + 1.1, _floats(1.1, 3))
# Never "contained", so an expression always repairs its operand to v·0 = 0 exactly.
ZERO = Domain("exactly 0", lambda x: False, lambda v: v * 0.0, st.just(0.0), fixed=True)


def domain_arrays(domain: Domain, shape: Shape) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of `shape` whose elements lie in `domain`."""
    return hnp.arrays(np.float64, shape, elements=domain.floats)


# ---- the catalogue: each function on Values and on Tensors ------------------------------


def constants() -> st.SearchStrategy[int | float]:
    """Python numbers, ints and floats, for the number side of a binary op."""
    return st.integers(-3, 3) | _floats(-3, 3)


_NONZERO_CONSTANTS = st.integers(1, 3) | st.integers(-3, -1) | _floats(0.1, 3) | _floats(-3, -0.1)
_ZEROS = st.sampled_from([0, 0.0])


@dataclass(frozen=True)
class ScalarOp:
    """One math function: on Values, on Tensors, as plain float math, and where it is smooth.

    `apply(operands, constant)` runs it on Values; `tensor(operands, constant)` is
    the same function on Tensors, element by element (operands broadcast);
    `reference(xs, constant)` is the math on floats, written without either
    engine. `arities` draws how many operands it takes; operand j must lie in
    `domain(j)`. `exact` marks a single IEEE operation (+ − × ÷, negation, max),
    which both engines must round identically; `cancels` marks a sum of terms,
    whose rounding is relative to the sum of magnitudes (the function applied to
    |operands|). `layout` says how the Tensor operands' shapes relate:
    "broadcast" (any broadcastable shapes), "same" (one shape) or "neuron"
    (0-d weights and bias, inputs of one shape).
    """

    name: str
    op: str
    apply: Callable[[Sequence[Value], Constant], Value]
    reference: Callable[[Sequence[float], Constant], float]
    tensor: Callable[[Sequence[Tensor], Constant], Tensor]
    domains: tuple[Domain, ...] = (ANYWHERE,)
    constants: st.SearchStrategy[Any] | None = None
    arities: st.SearchStrategy[int] | None = None
    exact: bool = False
    cancels: bool = False
    layout: str = "broadcast"

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


def _tensor_linear(operands: Sequence[Tensor], constant: Constant) -> Tensor:
    """One neuron over a batch: n 0-d weights, n inputs of one shape S, a 0-d bias."""
    n = len(operands) // 2
    weights = mg.stack(operands[:n]).reshape(1, n)  # (1, n)
    inputs = mg.stack(operands[n : 2 * n], axis=-1)  # S + (n,)
    z = tensor_linear(inputs, weights, operands[-1].reshape(1))  # S + (1,)
    return z.reshape(inputs.shape[:-1])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


SCALAR_OPS: tuple[ScalarOp, ...] = (
    ScalarOp(
        "a+b", "+", lambda v, c: v[0] + v[1], lambda x, c: x[0] + x[1], lambda t, c: t[0] + t[1],
        (ANYWHERE, ANYWHERE), exact=True,
    ),
    ScalarOp(
        "a+c", "+", lambda v, c: v[0] + c, lambda x, c: x[0] + c, lambda t, c: t[0] + c,
        constants=constants(), exact=True,
    ),
    ScalarOp(
        "c+a", "+", lambda v, c: c + v[0], lambda x, c: c + x[0], lambda t, c: c + t[0],
        constants=constants(), exact=True,
    ),
    ScalarOp(
        "a-b", "-", lambda v, c: v[0] - v[1], lambda x, c: x[0] - x[1], lambda t, c: t[0] - t[1],
        (ANYWHERE, ANYWHERE), exact=True,
    ),
    ScalarOp(
        "a-c", "-", lambda v, c: v[0] - c, lambda x, c: x[0] - c, lambda t, c: t[0] - c,
        constants=constants(), exact=True,
    ),
    ScalarOp(
        "c-a", "-", lambda v, c: c - v[0], lambda x, c: c - x[0], lambda t, c: c - t[0],
        constants=constants(), exact=True,
    ),
    ScalarOp(
        "a*b", "*", lambda v, c: v[0] * v[1], lambda x, c: x[0] * x[1], lambda t, c: t[0] * t[1],
        (ANYWHERE, ANYWHERE), exact=True,
    ),
    ScalarOp(
        "a*c", "*", lambda v, c: v[0] * c, lambda x, c: x[0] * c, lambda t, c: t[0] * c,
        constants=constants(), exact=True,
    ),
    ScalarOp(
        "c*a", "*", lambda v, c: c * v[0], lambda x, c: c * x[0], lambda t, c: c * t[0],
        constants=constants(), exact=True,
    ),
    ScalarOp(
        "a/b", "/", lambda v, c: v[0] / v[1], lambda x, c: x[0] / x[1], lambda t, c: t[0] / t[1],
        (ANYWHERE, NONZERO), exact=True,
    ),
    ScalarOp(
        "a/c", "/", lambda v, c: v[0] / c, lambda x, c: x[0] / c, lambda t, c: t[0] / c,
        constants=_NONZERO_CONSTANTS, exact=True,
    ),
    ScalarOp(
        "c/a", "/", lambda v, c: c / v[0], lambda x, c: c / x[0], lambda t, c: c / t[0],
        (NONZERO,), constants(), exact=True,
    ),
    ScalarOp(
        "a**b", "**", lambda v, c: v[0] ** v[1], lambda x, c: x[0] ** x[1],
        lambda t, c: t[0] ** t[1], (POSITIVE, MODERATE),
    ),
    ScalarOp(
        # A Value or Tensor exponent on a base of exactly 0: 0ᵇ = 0 for b > 0, so ∂/∂b = 0.
        # The base is held at 0 (fixed); b ≥ 1 keeps ∂/∂a = b·0ᵇ⁻¹ finite for the Value engine.
        "0**b", "**", lambda v, c: v[0] ** v[1], lambda x, c: x[0] ** x[1],
        lambda t, c: t[0] ** t[1], (ZERO, AT_LEAST_ONE),
    ),
    ScalarOp(
        "a**int", "**", lambda v, c: v[0] ** c, lambda x, c: x[0] ** c, lambda t, c: t[0] ** c,
        constants=st.sampled_from([0, 1, 2, 3, 2.0, 3.0]),
    ),
    ScalarOp(
        # x⁰ = 1 everywhere, so its slope is 0 everywhere, at x = 0 included.
        "a**0", "**", lambda v, c: v[0] ** c, lambda x, c: 1.0, lambda t, c: t[0] ** c,
        (ZERO_OFTEN,), _ZEROS,
    ),
    ScalarOp(
        "a**negative", "**", lambda v, c: v[0] ** c, lambda x, c: 1.0 / x[0] ** -c,
        lambda t, c: t[0] ** c, (NONZERO,), st.sampled_from([-1, -2, -3, -1.0]),
    ),
    ScalarOp(
        "a**fraction", "**", lambda v, c: v[0] ** c, lambda x, c: math.exp(c * math.log(x[0])),
        lambda t, c: t[0] ** c,
        (POSITIVE,), st.sampled_from([0.5, 1.5, -0.5, 2.5, 1 / 3]) | _floats(-2, 2),
    ),
    ScalarOp(
        "c**a", "**", lambda v, c: c ** v[0], lambda x, c: math.exp(x[0] * math.log(c)),
        lambda t, c: c ** t[0], (MODERATE,),
        st.sampled_from([0.5, 2, math.e, 3]) | _floats(0.2, 3),
    ),
    ScalarOp(
        # A number 0 to a Value or Tensor power: 0ᵃ = 0 for a > 0, so ∂/∂a = 0.
        "0**a", "**", lambda v, c: c ** v[0], lambda x, c: 0.0, lambda t, c: c ** t[0],
        (POSITIVE,), _ZEROS,
    ),
    ScalarOp(
        "-a", "neg", lambda v, c: -v[0], lambda x, c: -x[0], lambda t, c: -t[0], exact=True
    ),
    ScalarOp(
        "exp", "exp", lambda v, c: v[0].exp(), lambda x, c: math.e ** x[0],
        lambda t, c: t[0].exp(), (MODERATE,),
    ),
    ScalarOp(
        "log", "log", lambda v, c: v[0].log(), lambda x, c: math.log(x[0]),
        lambda t, c: t[0].log(), (POSITIVE,),
    ),
    ScalarOp(
        "tanh", "tanh", lambda v, c: v[0].tanh(),
        lambda x, c: (math.exp(2 * x[0]) - 1) / (math.exp(2 * x[0]) + 1), lambda t, c: t[0].tanh(),
    ),
    ScalarOp(
        "sigmoid", "sigmoid", lambda v, c: v[0].sigmoid(), lambda x, c: _sigmoid(x[0]),
        lambda t, c: t[0].sigmoid(),
    ),
    ScalarOp(
        "relu", "relu", lambda v, c: v[0].relu(), lambda x, c: max(0.0, x[0]),
        lambda t, c: t[0].relu(), (AWAY_FROM_KINK,), exact=True,
    ),
    ScalarOp(
        # Value.sum is one n-ary node; on Tensors, the operands stacked and summed over the new axis.
        "sum", "+", lambda v, c: Value.sum(v), lambda x, c: sum(x),
        lambda t, c: mg.stack(t).sum(axis=0),
        arities=st.integers(1, 4), cancels=True, layout="same",
    ),
    ScalarOp(
        "linear", "linear", _linear, _linear_reference, _tensor_linear,
        arities=st.integers(1, 3).map(lambda n: 2 * n + 1),  # n weights, n inputs, a bias
        cancels=True, layout="neuron",
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
