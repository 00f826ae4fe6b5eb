"""The derivative rules of every Tensor op, as a table from op name to VJP.

A rule maps the gradient `g` of an op's output to the gradients of its
inputs: `rule(g, out, inputs, ctx, needs) -> one gradient (or None) per input`.
Each rule is written once and runs on either kind of operand: ndarrays for
an ordinary backward pass, or Tensors when `create_graph=True`, in which case
the rule's own operations are recorded and can be differentiated again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .functional import batch_size
from .tensor import Tensor, scatter_add, sech2, sigmoid_parts

Rule = Callable[[Any, Any, Sequence[Any], Any, Sequence[bool]], tuple]
RULES: dict[str, Rule] = {}


def rule(op: str) -> Callable[[Rule], Rule]:
    """Register the decorated function as the VJP of `op`."""

    def register(function: Rule) -> Rule:
        RULES[op] = function
        return function

    return register


# ---- helpers that work on ndarrays and Tensors alike ---------------------------


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum `g` over the axes that broadcasting added or stretched."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def _raw(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else x


def _kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over `axis` gives with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand(g: Any, shape: tuple[int, ...]) -> Any:
    return g.expand(shape) if isinstance(g, Tensor) else np.broadcast_to(g, shape)


def _exp(x: Any) -> Any:
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def _log(x: Any) -> Any:
    return x.log() if isinstance(x, Tensor) else np.log(x)


def _log_where_positive(x: Any) -> Any:
    """ln x where x > 0, and 0 where x = 0: there xᵖ = 0 for p > 0, so xᵖ·ln x → 0."""
    zeros = _raw(x) == 0
    if not zeros.any():
        return _log(x)
    return _log(x + zeros.astype(_raw(x).dtype))  # ln(0 + 1) = 0 at the zeros


def _tanh(x: Any) -> Any:
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def _sech2(x: Any) -> Any:
    return x.sech2() if isinstance(x, Tensor) else sech2(x)


def _softmax(x: Any, axis: int) -> Any:
    if isinstance(x, Tensor):
        return x.softmax(axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _mask(condition: np.ndarray, like: Any) -> np.ndarray:
    return condition.astype(_raw(like).dtype)


# ---- arithmetic ------------------------------------------------------------------


@rule("+")
def add(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂(a+b)/∂a = ∂(a+b)/∂b = 1, summed back over broadcast axes."""
    a, b = inputs
    return (sum_to(g, a.shape) if needs[0] else None, sum_to(g, b.shape) if needs[1] else None)


@rule("-")
def subtract(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1."""
    a, b = inputs
    return (sum_to(g, a.shape) if needs[0] else None, sum_to(-g, b.shape) if needs[1] else None)


@rule("*")
def multiply(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂(ab)/∂a = b, ∂(ab)/∂b = a."""
    a, b = inputs
    return (sum_to(g * b, a.shape) if needs[0] else None, sum_to(g * a, b.shape) if needs[1] else None)


@rule("/")
def divide(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −(a/b)/b."""
    a, b = inputs
    by_a = g / b
    return (sum_to(by_a, a.shape) if needs[0] else None, sum_to(-by_a * out, b.shape) if needs[1] else None)


@rule("neg")
def negate(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂(−a)/∂a = −1."""
    return (-g,)


@rule("**const")
def power_constant(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂xᵖ/∂x = p·xᵖ⁻¹; for p = 0 it is 0 everywhere, x = 0 included (no 0·∞)."""
    (x,) = inputs
    if ctx == 0:
        return (g * 0.0,)
    return (g * ctx * x ** (ctx - 1.0),)


@rule("**")
def power(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂aᵇ/∂a = b·aᵇ⁻¹, ∂aᵇ/∂b = aᵇ·ln a."""
    a, b = inputs
    by_a = sum_to(g * b * a ** (b - 1.0), a.shape) if needs[0] else None
    by_b = sum_to(g * out * _log_where_positive(a), b.shape) if needs[1] else None
    return (by_a, by_b)


@rule("@")
def matmul(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
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
        by_a = sum_to(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
    if needs[1]:
        by_b = sum_to(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape)
    return (by_a, by_b)


@rule("linear")
def linear(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """z = x Wᵀ + b:  ∂/∂x = g W,  ∂/∂W = gᵀ x,  ∂/∂b = Σ_batch g."""
    x, weight, _ = inputs
    n_out, n_in = weight.shape
    g2 = g if g.ndim == 2 else g.reshape(-1, n_out)
    x2 = x if x.ndim == 2 else x.reshape(-1, n_in)
    by_bias = None
    if needs[2]:  # np.add.reduce skips ndarray.sum's Python wrapper: this runs once per layer per step
        by_bias = g2.sum(axis=0) if isinstance(g2, Tensor) else np.add.reduce(g2, axis=0)
    return (g @ weight if needs[0] else None, g2.T @ x2 if needs[1] else None, by_bias)


# ---- elementwise -------------------------------------------------------------------


@rule("exp")
def exp(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂eˣ/∂x = eˣ."""
    return (g * out,)


@rule("log")
def log(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂ln x/∂x = 1/x."""
    return (g / inputs[0],)


@rule("tanh")
def tanh(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂tanh x/∂x = sech²x."""
    return (g * _sech2(inputs[0]),)


@rule("sech2")
def sech2_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂sech²x/∂x = −2·sech²x·tanh x."""
    return (g * out * _tanh(inputs[0]) * -2.0,)


@rule("sigmoid")
def sigmoid(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """σ'(x) = σ(x)·σ(−x): saved at forward time, or rebuilt as Tensors to differentiate again."""
    if isinstance(g, Tensor):
        return (g * out * (-inputs[0]).sigmoid(),)
    return (g * ctx[0],)


@rule("relu")
def relu(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂relu(x)/∂x = 1 where x > 0, else 0."""
    return (g * _mask(_raw(inputs[0]) > 0, g),)


# ---- reductions ------------------------------------------------------------------


@rule("sum")
def sum_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """Each summed element gets the gradient of its sum."""
    axis, keepdims = ctx
    shape = inputs[0].shape
    kept = g if keepdims else g.reshape(_kept_shape(shape, axis))
    return (_expand(kept, shape),)


@rule("mean")
def mean(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """Each element gets the gradient of its mean divided by the count."""
    axis, keepdims = ctx
    shape = inputs[0].shape
    count = inputs[0].size // max(out.size, 1) if inputs[0].size else 1
    kept = g if keepdims else g.reshape(_kept_shape(shape, axis))
    return (_expand(kept / count, shape),)


@rule("max")
def max_rule(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """The gradient goes to the maxima, split evenly among ties."""
    axis, _ = ctx
    x = _raw(inputs[0])
    kept_shape = _kept_shape(x.shape, axis)
    ties = x == _raw(out).reshape(kept_shape)
    share = ties / ties.sum(axis=axis, keepdims=True)
    return (g.reshape(kept_shape) * share.astype(x.dtype),)


@rule("softmax")
def softmax(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂softmax/∂x: s ⊙ (g − Σ g ⊙ s)."""
    return (out * (g - (g * out).sum(axis=ctx, keepdims=True)),)


@rule("log_softmax")
def log_softmax(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂log_softmax/∂x: g − softmax ⊙ Σ g."""
    return (g - _exp(out) * g.sum(axis=ctx, keepdims=True),)


# ---- shape ------------------------------------------------------------------------


@rule("reshape")
def reshape(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """The gradient takes the input's shape back."""
    return (g.reshape(inputs[0].shape),)


@rule("transpose")
def transpose(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """The gradient is transposed back by the inverse permutation."""
    return (g.transpose(tuple(np.argsort(ctx))),)


@rule("expand")
def expand(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """The gradient sums back over the broadcast axes."""
    return (sum_to(g, inputs[0].shape),)


@rule("index")
def index(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """The gradient is scattered back to the indexed places (repeats accumulate)."""
    shape = inputs[0].shape
    if isinstance(g, Tensor):
        return (g.scatter(ctx, shape),)
    return (scatter_add(np.asarray(g), ctx, shape),)


@rule("scatter")
def scatter(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """The gradient is read back at the scattered places."""
    return (g[ctx[0]],)


def _slices(axis: int, part: Any) -> tuple:
    return (slice(None),) * axis + (part,)


@rule("concatenate")
def concatenate(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """Each input gets its slice of the gradient."""
    grads: list[Any | None] = []
    start = 0
    for x, need in zip(inputs, needs):
        stop = start + x.shape[ctx]
        grads.append(g[_slices(ctx, slice(start, stop))] if need else None)
        start = stop
    return tuple(grads)


@rule("stack")
def stack(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """Each input gets its slice of the gradient."""
    return tuple(g[_slices(ctx, i)] if need else None for i, need in enumerate(needs))


# ---- losses ---------------------------------------------------------------------


@rule("softmax_cross_entropy")
def softmax_cross_entropy(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂/∂z of mean(−log softmax(z)[y]) = (softmax(z) − onehot(y)) / batch.

    An ordinary backward pass uses the slope saved by the forward pass; with
    Tensors (create_graph) it is rebuilt from z so that it can be differentiated.
    """
    z = inputs[0]
    labels, slope = ctx
    if not isinstance(g, Tensor):
        return (g * slope,)
    onehot = np.zeros(z.shape, dtype=_raw(z).dtype)
    onehot[np.arange(z.shape[0]), labels] = 1.0
    return (g * ((_softmax(z, -1) - onehot) / batch_size(z)),)


@rule("sigmoid_cross_entropy")
def sigmoid_cross_entropy(g: Any, out: Any, inputs: Sequence[Any], ctx: Any, needs: Sequence[bool]) -> tuple:
    """∂/∂z of mean(Σ[softplus(z) − y z]) = (σ(z) − y) / batch: Nielsen's δᴸ = aᴸ − y."""
    z = inputs[0]
    sigma = z.sigmoid() if isinstance(z, Tensor) else sigmoid_parts(z)[0]
    return (g * ((sigma - ctx) / batch_size(z)),)
