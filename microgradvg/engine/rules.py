"""The derivative rules of the Tensor ops, each beside the values its op saves for it.

A rule maps the gradient `g` of an op's output to the gradients of its inputs:
`rule(g, out, inputs, ctx, needs) -> one gradient (or None) per input`, where `ctx` is
the op's saved values, a NamedTuple defined here. Each rule is written once against the
namespace in `ops.py`: it runs on ndarrays for an ordinary backward pass, and on Tensors
when `create_graph=True`, in which case its own operations are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from . import ops
from .backprop import register

Needs = Sequence[bool]


# ---- what the ops save -------------------------------------------------------------


class Power(NamedTuple):
    """x ** p for a number p."""

    exponent: float


class Sigmoid(NamedTuple):
    """σ(x): its slope σ'(x), computed without cancellation, and the logits x, from which a
    cost on this output is computed exactly (kept even when no graph is recorded)."""

    slope: np.ndarray
    logits: np.ndarray


class Reduction(NamedTuple):
    """sum, mean and max: over which axes (None for all), and whether they were kept."""

    axis: Any
    keepdims: bool


class Along(NamedTuple):
    """softmax, log_softmax, concatenate and stack: the one axis they work along."""

    axis: int


class Permutation(NamedTuple):
    """transpose: the new order of the axes."""

    axes: tuple[int, ...]


class Index(NamedTuple):
    """x[index], with Tensors in the index already turned into integer arrays."""

    index: Any


class Scatter(NamedTuple):
    """zeros(shape) with x added at index."""

    index: Any
    shape: tuple[int, ...]


# ---- arithmetic ------------------------------------------------------------------


@register("+")
def add(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂(a+b)/∂a = ∂(a+b)/∂b = 1, summed back over broadcast axes."""
    a, b = inputs
    return (ops.sum_to(g, a.shape) if needs[0] else None, ops.sum_to(g, b.shape) if needs[1] else None)


@register("-")
def subtract(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1."""
    a, b = inputs
    return (ops.sum_to(g, a.shape) if needs[0] else None, ops.sum_to(-g, b.shape) if needs[1] else None)


@register("*")
def multiply(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂(ab)/∂a = b, ∂(ab)/∂b = a."""
    a, b = inputs
    return (ops.sum_to(g * b, a.shape) if needs[0] else None, ops.sum_to(g * a, b.shape) if needs[1] else None)


@register("/")
def divide(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −(a/b)/b."""
    a, b = inputs
    by_a = g / b
    return (ops.sum_to(by_a, a.shape) if needs[0] else None, ops.sum_to(-by_a * out, b.shape) if needs[1] else None)


@register("neg")
def negate(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂(−a)/∂a = −1."""
    return (-g,)


@register("**const")
def power_constant(g: Any, out: Any, inputs: Sequence[Any], ctx: Power, needs: Needs) -> tuple:
    """∂xᵖ/∂x = p·xᵖ⁻¹; for p = 0 it is 0 everywhere, x = 0 included (no 0·∞)."""
    (x,) = inputs
    p = ctx.exponent
    if p == 0:
        return (g * 0.0,)
    return (g * p * x ** (p - 1.0),)


@register("**")
def power(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂aᵇ/∂a = b·aᵇ⁻¹ (0 where b = 0, x = 0 included, as for a number exponent), ∂aᵇ/∂b = aᵇ·ln a."""
    a, b = inputs
    by_a = ops.sum_to(g * _power_slope(a, b), a.shape) if needs[0] else None
    by_b = ops.sum_to(g * out * ops.log_where_positive(a), b.shape) if needs[1] else None
    return (by_a, by_b)


def _power_slope(a: Any, b: Any) -> Any:
    """b·aᵇ⁻¹, with 0 where b = 0 (not 0·0⁻¹ = NaN at a = 0)."""
    base, exponent = ops.raw(a), ops.raw(b)
    at_zero = (exponent == 0) & (base == 0)
    if at_zero.any():
        a = a + ops.like(at_zero, a)  # 1 there, so b·1ᵇ⁻¹ = 0
    try:
        return b * a ** (b - 1.0)
    except ValueError:
        # Under create_graph, with an exponent that requires grad, aᵇ⁻¹ at a = 0 and b ≤ 1
        # has no derivative in b (ln 0): say so with the user's exponent, not b − 1.
        base, exponent = np.broadcast_arrays(base, exponent)
        where = (base == 0) & (exponent <= 1)
        if not where.any():
            raise
        raise ValueError(
            f"**: at base {float(base[where][0])!r}, exponent {float(exponent[where][0])!r}, the "
            "slope ∂(x**p)/∂x = p·x**(p−1) has no derivative in p (it needs ln 0); second "
            "derivatives of x**p with an exponent that requires grad need bases > 0, or 0 "
            "with exponents > 1"
        ) from None


@register("@")
def matmul(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂(AB)/∂A = g Bᵀ, ∂(AB)/∂B = Aᵀ g, with numpy's 1-D and batch rules."""
    a, b = inputs
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if needs[0] else None, g * a if needs[1] else None)
    a2 = a.reshape(1, a.shape[0]) if a.ndim == 1 else a
    b2 = b.reshape(b.shape[0], 1) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = g2.reshape(*g2.shape[:-1], 1, g2.shape[-1])
    if b.ndim == 1:
        g2 = g2.reshape(*g2.shape, 1)
    by_a = by_b = None
    if needs[0]:
        by_a = ops.sum_to(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
    if needs[1]:
        by_b = ops.sum_to(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
    return (by_a, by_b)


# ---- elementwise -------------------------------------------------------------------


@register("exp")
def exp(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂eˣ/∂x = eˣ."""
    return (g * out,)


@register("log")
def log(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂ln x/∂x = 1/x."""
    return (g / inputs[0],)


@register("tanh")
def tanh(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂tanh x/∂x = sech²x."""
    return (g * ops.sech2(inputs[0]),)


@register("sech2")
def sech2_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂sech²x/∂x = −2·sech²x·tanh x."""
    return (g * out * ops.tanh(inputs[0]) * -2.0,)


@register("sigmoid")
def sigmoid(g: Any, out: Any, inputs: Sequence[Any], ctx: Sigmoid, needs: Needs) -> tuple:
    """σ'(x) = σ(x)·σ(−x): saved at forward time, or rebuilt as Tensors to differentiate again."""
    return (g * ops.saved_or(ctx.slope, inputs[0], _sigmoid_slope),)


def _sigmoid_slope(x: Any) -> Any:
    return x.sigmoid() * (-x).sigmoid()


@register("relu")
def relu(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """∂relu(x)/∂x = 1 where x > 0, else 0."""
    return (g * ops.like(ops.raw(inputs[0]) > 0, g),)


# ---- reductions ------------------------------------------------------------------


@register("sum")
def sum_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Reduction, needs: Needs) -> tuple:
    """Each summed element gets the gradient of its sum."""
    shape = inputs[0].shape
    kept = g if ctx.keepdims else g.reshape(ops.kept_shape(shape, ctx.axis))
    return (ops.broadcast_to(kept, shape),)


@register("mean")
def mean(g: Any, out: Any, inputs: Sequence[Any], ctx: Reduction, needs: Needs) -> tuple:
    """Each element gets the gradient of its mean divided by the count."""
    shape = inputs[0].shape
    count = inputs[0].size // max(out.size, 1) if inputs[0].size else 1
    kept = g if ctx.keepdims else g.reshape(ops.kept_shape(shape, ctx.axis))
    return (ops.broadcast_to(kept / count, shape),)


@register("max")
def max_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Reduction, needs: Needs) -> tuple:
    """The gradient goes to the maxima, split evenly among ties."""
    x = ops.raw(inputs[0])
    kept_shape = ops.kept_shape(x.shape, ctx.axis)
    ties = x == ops.raw(out).reshape(kept_shape)
    share = ties / ties.sum(axis=ctx.axis, keepdims=True)
    return (g.reshape(kept_shape) * share.astype(x.dtype),)


@register("softmax")
def softmax(g: Any, out: Any, inputs: Sequence[Any], ctx: Along, needs: Needs) -> tuple:
    """∂softmax/∂x: s ⊙ (g − Σ g ⊙ s)."""
    return (out * (g - (g * out).sum(axis=ctx.axis, keepdims=True)),)


@register("log_softmax")
def log_softmax(g: Any, out: Any, inputs: Sequence[Any], ctx: Along, needs: Needs) -> tuple:
    """∂log_softmax/∂x: g − softmax ⊙ Σ g."""
    return (g - ops.exp(out) * g.sum(axis=ctx.axis, keepdims=True),)


# ---- shape ------------------------------------------------------------------------


@register("reshape")
def reshape(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """The gradient takes the input's shape back."""
    return (g.reshape(inputs[0].shape),)


@register("transpose")
def transpose(g: Any, out: Any, inputs: Sequence[Any], ctx: Permutation, needs: Needs) -> tuple:
    """The gradient is transposed back by the inverse permutation."""
    return (g.transpose(tuple(int(a) for a in np.argsort(ctx.axes))),)


@register("expand")
def expand(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Needs) -> tuple:
    """The gradient sums back over the broadcast axes."""
    return (ops.sum_to(g, inputs[0].shape),)


@register("index")
def index(g: Any, out: Any, inputs: Sequence[Any], ctx: Index, needs: Needs) -> tuple:
    """The gradient is scattered back to the indexed places (repeats accumulate)."""
    return (ops.scatter(g, ctx.index, inputs[0].shape),)


@register("scatter")
def scatter(g: Any, out: Any, inputs: Sequence[Any], ctx: Scatter, needs: Needs) -> tuple:
    """The gradient is read back at the scattered places."""
    return (g[ctx.index],)


def _slices(axis: int, part: Any) -> tuple:
    return (slice(None),) * axis + (part,)


@register("concatenate")
def concatenate(g: Any, out: Any, inputs: Sequence[Any], ctx: Along, needs: Needs) -> tuple:
    """Each input gets its slice of the gradient."""
    grads: list[Any | None] = []
    start = 0
    for x, need in zip(inputs, needs):
        stop = start + x.shape[ctx.axis]
        grads.append(g[_slices(ctx.axis, slice(start, stop))] if need else None)
        start = stop
    return tuple(grads)


@register("stack")
def stack(g: Any, out: Any, inputs: Sequence[Any], ctx: Along, needs: Needs) -> tuple:
    """Each input gets its slice of the gradient."""
    return tuple(g[_slices(ctx.axis, i)] if need else None for i, need in enumerate(needs))
