"""The extension surface: your own Tensor op's derivative rule (VJP), checked.

`Tensor.custom(data, parents, vjp, op)` builds the node; this module puts `vjp` in the
rule table (`backprop.RULES`) under `op`, wrapped in a check that names the op when it
returns the wrong number or shapes of gradients, so that `backward`, `grad`, `factor(i)`,
chains and `gradcheck` treat it like a built-in op. `unregister` frees a name again;
`sum_to` is the broadcasting helper the built-in rules use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .backprop import RULES, Rule
from .ops import sum_to

__all__ = ["CheckedRule", "Custom", "check_custom", "register_custom", "sum_to", "unregister"]


class CheckedRule:
    """A user's `vjp` as it sits in the rule table, checked on every call.

    It must return a tuple or list with one gradient (or None, meaning 0) per input,
    each of its input's shape. On an ordinary backward pass (ndarray inputs) the
    gradients are handed on as ndarrays of the input's dtype, so a rule may build
    them with Tensors; under `create_graph=True` (Tensor inputs) each must be a
    Tensor, with a graph back to g when g has one: anything else would drop the
    second derivative without a word.
    Only custom ops pay for the check: the built-in rules are called directly.

    A custom node keeps the rule it was built with in its ctx, `Custom(rule, your ctx)`, and
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
        return ctx.rule.checked(g, out, inputs, ctx.ctx, needs)

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
        on_tensors = _is_tensor(g)
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
        array = np.asarray(gradient.data if _is_tensor(gradient) else gradient)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"{self.op}: vjp's gradient {i} must be real numbers, got {_describe(gradient)}"
            )
        # Always a copy: a rule may return its ctx, an input or one array twice, and a leaf
        # must own its gradient (an in-place clip of it must not change anything else).
        return array.astype(x.dtype, copy=True)

    def _tensor(self, i: int, gradient: Any, must_follow_g: bool) -> Any:
        """Gradient `i` under create_graph: a Tensor, with a graph back to g when g has one."""
        if not _is_tensor(gradient):
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


class Custom(NamedTuple):
    """What a custom node saves: the checked rule it was built with, and your ctx."""

    rule: CheckedRule
    ctx: Any


def register_custom(op: str, vjp: Rule) -> CheckedRule:
    """The checked rule for `vjp` under `op`, put in the rule table if the name is free.

    The same function again gets the same rule (`==`, so a bound method of the same
    object counts as the same function); a built-in op's name, or a name registered
    to another function, is refused.
    """
    check_custom(op, vjp)
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


def check_custom(op: Any, vjp: Any) -> None:
    """Refuse an op name that is not a non-empty str, or a vjp that is not callable."""
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


def _is_tensor(x: Any) -> bool:
    """A Tensor, told by its graph attributes (this module sits below tensor.py)."""
    return hasattr(x, "requires_grad") and hasattr(x, "parents")


def _name(function: Any) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _shapes(items: Sequence[Any]) -> str:
    return ", ".join(str(np.shape(item)) for item in items)


def _describe(thing: Any) -> str:
    shape = getattr(thing, "shape", None)
    return type(thing).__name__ + (f" of shape {shape}" if shape is not None else f" {thing!r}")
