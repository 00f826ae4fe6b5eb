"""Your own Tensor op: a value you compute and a derivative rule (VJP) you write.

`custom(data, parents, vjp, op)`, also `Tensor.custom`, puts `vjp` in the rule table
(`rules.RULES`) under `op` and returns the op's node: `backward`, `grad`, `factor(i)`,
chains and `gradcheck` then treat it like a built-in op. The rule is wrapped in a
check that names the op when it returns the wrong number or shapes of gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from .rules import RULES, Rule, sum_to
from .tensor import ArrayLike, Tensor, _result, as_array
from .value import Value

__all__ = ["CheckedRule", "custom", "sum_to", "unregister"]


class CheckedRule:
    """A user's `vjp` as it sits in the rule table, checked on every call.

    It must return a tuple or list with one gradient (or None, meaning 0) per input,
    each of its input's shape. On an ordinary backward pass (ndarray inputs) the
    gradients are handed on as ndarrays of the input's dtype, so a rule may build
    them with Tensors; under `create_graph=True` (Tensor inputs) each must be a
    Tensor, with a graph back to g when g has one: anything else would drop the
    second derivative without a word.
    Only custom ops pay for the check: the built-in rules are called directly.

    A custom node keeps the rule it was built with in its ctx, `(rule, your ctx)`, and
    the table's entry hands each call to that rule: a node built before its name was
    unregistered and registered again keeps its own rule. `unregister` marks the
    entry `retired`, which frees the name.
    """

    __slots__ = ("op", "retired", "vjp")

    def __init__(self, op: str, vjp: Rule) -> None:
        self.op = op
        self.vjp = vjp
        self.retired = False

    def __call__(
        self, g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]
    ) -> tuple:
        """The gradients the node's own rule gives, once checked."""
        built_with, own_ctx = ctx
        return built_with.checked(g, out, inputs, own_ctx, needs)

    def checked(
        self, g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]
    ) -> tuple:
        """The gradients `vjp(g, out, inputs, ctx, needs)` gives, once checked."""
        gradients = self.vjp(g, out, inputs, ctx, needs)
        if not isinstance(gradients, (tuple, list)):
            comma = " (one input: `return (gradient,)`, mind the comma)" if len(inputs) == 1 else ""
            raise TypeError(
                f"{self.op}: vjp must return a tuple with one gradient (or None) per input, "
                f"got {_describe(gradients)}{comma}"
            )
        if len(gradients) != len(inputs):
            raise ValueError(
                f"{self.op}: vjp returned {_count(len(gradients), 'gradient')} for "
                f"{_count(len(inputs), 'input')} (shapes {_shapes(inputs)}); return one per input "
                "(None for an input that gets none)"
            )
        on_tensors = isinstance(g, Tensor)
        checked = []
        for i, (x, gradient) in enumerate(zip(inputs, gradients)):
            if gradient is not None:
                if on_tensors:
                    gradient = self._tensor(i, gradient, g.requires_grad and needs[i])
                else:
                    gradient = self._array(i, x, gradient)
                if gradient.shape != x.shape:
                    raise ValueError(
                        f"{self.op}: vjp returned a gradient of shape {gradient.shape} for input "
                        f"{i}, which has shape {x.shape} (inputs {_shapes(inputs)}); each gradient "
                        "must have its input's shape (sum_to(g, shape) sums over broadcast axes)"
                    )
            checked.append(gradient)
        return tuple(checked)

    def _array(self, i: int, x: np.ndarray, gradient: Any) -> np.ndarray:
        """Gradient `i` of an ordinary backward pass, as an ndarray of `x`'s dtype."""
        array = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"{self.op}: vjp's gradient {i} must be real numbers, got {_describe(gradient)}"
            )
        # Always a copy: a rule may return its ctx, an input or one array twice, and a leaf
        # must own its gradient (an in-place clip of it must not change anything else).
        return array.astype(x.dtype, copy=True)

    def _tensor(self, i: int, gradient: Any, must_follow_g: bool) -> Tensor:
        """Gradient `i` under create_graph: a Tensor, with a graph back to g when g has one."""
        if not isinstance(gradient, Tensor):
            raise TypeError(
                f"{self.op}: with create_graph=True the inputs are Tensors and vjp's gradient "
                f"{i} must be a Tensor computed from them, got {_describe(gradient)}; an array is "
                "a constant, so the second derivative through it would be lost (return None for "
                "a zero gradient)"
            )
        if must_follow_g and not gradient.requires_grad:
            # g·J is linear in g: a gradient with no graph was cut off from g (e.g. by Tensor(g)).
            raise ValueError(
                f"{self.op}: with create_graph=True vjp's gradient {i} has no graph, though g "
                "has one; build it from g and the inputs with Tensor operations (Tensor(g) or "
                ".detach() copies them into constants: the second derivative would be lost; "
                "return None for a zero gradient)"
            )
        return gradient

    def __repr__(self) -> str:
        return f"CheckedRule({self.op!r}, {_name(self.vjp)})"


def custom(
    data: ArrayLike, parents: Sequence[ArrayLike], vjp: Rule, op: str, ctx: Any = None
) -> Tensor:
    """Your own op as one node: its value `data`, its `parents`, and `vjp`, its derivative rule.

    `vjp(g, out, inputs, ctx, needs)` gets the gradient g = ∂L/∂out and returns
    ∂L/∂inputᵢ = g·∂out/∂inputᵢ for each parent, as a tuple, None where `needs[i]` is
    false (a constant parent) or the gradient is 0. It runs on ndarrays for an
    ordinary backward pass and on Tensors under `create_graph=True`: written with
    operations both have (arithmetic, `@`, `.sum`, `.reshape`, `sum_to`), or
    branching on `isinstance(g, Tensor)`, it supports second derivatives. `ctx`
    is kept on the node for the rule, as a constant: a gradient computed from
    it is not differentiated through it.

    `data` is converted to the parents' float dtype; `parents` are Tensors, or
    numbers and arrays, which become constants. `vjp` is registered under `op`
    (a name shown in graphs) on the first call; a built-in op's name, or a name
    registered to another function, is refused (`unregister` frees a name).
    Define `vjp` once, not inside the function that calls `custom`: each
    `def` or lambda there is a new function. Check it with `testing.gradcheck`.

    >>> def double_vjp(g, out, inputs, ctx, needs):   # ∂(2x)/∂x = 2
    ...     return (g * 2.0,)
    >>> x = Tensor([1.0, -3.0], requires_grad=True)
    >>> y = custom(2.0 * x.data, [x], double_vjp, "double")
    >>> y.sum().backward()
    >>> x.grad
    array([2., 2.])
    """
    _require_name_and_rule(op, vjp)
    nodes = _lift_parents(op, parents)
    array = as_array(data.data if isinstance(data, Tensor) else data, op)
    if nodes:
        array = array.astype(np.result_type(*(node.data.dtype for node in nodes)), copy=False)
    return _result(array, nodes, op, (_register(op, vjp), ctx))


def unregister(op: str) -> None:
    """Forget the rule of your op `op`, so that the name can be registered to a new function.

    This is how a REPL session replaces a rule. Nodes already built with `op`
    keep the rule they were built with; a built-in op cannot be unregistered.
    """
    rule = RULES.get(op)
    if isinstance(rule, CheckedRule) and not rule.retired:
        rule.retired = True
        return
    kind = "a built-in op" if op in RULES and not isinstance(rule, CheckedRule) else "not a registered custom op"
    raise ValueError(f"unregister: {op!r} is {kind}")


def _require_name_and_rule(op: Any, vjp: Any) -> None:
    if not isinstance(op, str):
        raise TypeError(
            f"Tensor.custom: op must be a str (the name shown in graphs), got {_describe(op)}"
        )
    if not op.strip():
        raise ValueError(
            f"Tensor.custom: op must be a non-empty name (it is shown in graphs), got {op!r}"
        )
    if not callable(vjp):
        raise TypeError(
            f"{op}: vjp must be a function vjp(g, out, inputs, ctx, needs) returning one gradient "
            f"per input, got {_describe(vjp)}"
        )


def _register(op: str, vjp: Rule) -> CheckedRule:
    """The checked rule for `vjp` under `op`, put in the rule table if the name is free.

    The same function again gets the same rule (`==`, so a bound method of the same
    object counts as the same function).
    """
    rule = RULES.get(op)
    if rule is None or (isinstance(rule, CheckedRule) and rule.retired):
        rule = RULES[op] = CheckedRule(op, vjp)
    elif not isinstance(rule, CheckedRule):
        raise ValueError(f"{op}: {op!r} is a built-in Tensor op; give your op another name")
    elif rule.vjp != vjp:
        raise ValueError(
            f"{op}: the op {op!r} is registered to another function, {_name(rule.vjp)}; give "
            f"this one another name, or unregister({op!r}) first to replace it (a def or lambda "
            "inside the function that calls Tensor.custom is a new function on each call: define "
            "vjp once, and pass the values it needs in ctx)"
        )
    return rule


def _lift_parents(op: str, parents: Sequence[ArrayLike]) -> tuple[Tensor, ...]:
    """The parents as Tensors: numbers take the Tensor parents' dtype, arrays become constants."""
    if not isinstance(parents, (tuple, list)):
        raise TypeError(
            f"{op}: parents must be a tuple or list of Tensors, got {_describe(parents)}; "
            "for one parent x, pass [x]"
        )
    like = next((p for p in parents if isinstance(p, Tensor)), None)
    nodes = []
    for i, parent in enumerate(parents):
        if isinstance(parent, Value):
            raise TypeError(
                f"{op}: parent {i} is a Value; a Tensor op takes Tensors (see Value.custom)"
            )
        if isinstance(parent, Tensor):
            nodes.append(parent)
        elif isinstance(parent, Real) and like is not None:
            nodes.append(Tensor._leaf(np.asarray(parent, dtype=like.data.dtype)))
        else:
            nodes.append(Tensor._leaf(as_array(parent, f"{op} parent {i}")))
    return tuple(nodes)


def _name(function: Any) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _shapes(items: Sequence[Any]) -> str:
    return ", ".join(str(np.shape(item)) for item in items)


def _describe(thing: Any) -> str:
    shape = getattr(thing, "shape", None)
    return type(thing).__name__ + (f" of shape {shape}" if shape is not None else f" {thing!r}")
