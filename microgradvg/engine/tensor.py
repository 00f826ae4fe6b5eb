"""`Tensor`: a numpy array in a computation graph, one node per operation.

Each op runs numpy once and records its parents and the values its derivative rule
needs (`ctx`, a NamedTuple defined beside the rule in `rules.py`). `backprop.py` holds
the rule table and the reverse passes; `factor(i)` exposes each edge's VJP.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import operator
from collections.abc import Callable, Iterator, Sequence
from numbers import Real
from typing import Any, ParamSpec, TypeVar, Union, overload

import numpy as np

from . import backprop
from .extend import Custom, check_custom, register_custom
from .factors import TensorFactor
from .ops import scatter, sech2, sigmoid_parts
from .rules import Along, Index, Permutation, Power, Reduction, Scatter, Sigmoid
from .value import Value
from .versions import EPOCH, version

ArrayLike = Union["Tensor", np.ndarray, float, int, Sequence]
Axis = int | tuple[int, ...] | None
P = ParamSpec("P")
R = TypeVar("R")


# Grad mode belongs to the running thread (and asyncio task), as in PyTorch: a `no_grad`
# block in one thread must not switch recording off in another. A ContextVar reads as fast
# as a class attribute on the per-op path; threading.local is about twice as slow.
_grad_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("grad_enabled", default=True)


@contextlib.contextmanager
def _recording_off() -> Iterator[None]:
    previous = _grad_enabled.get()
    _grad_enabled.set(False)
    try:
        yield
    finally:
        # set, not reset(token): a generator may resume in another context.
        _grad_enabled.set(previous)


class _NoGrad(contextlib.AbstractContextManager[None]):
    """`no_grad()`: a block with recording off, or a decorator of each call of a function."""

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack: the same object may be entered nested

    def __enter__(self) -> None:
        self._previous.append(_grad_enabled.get())
        _grad_enabled.set(False)

    def __exit__(self, *_: object) -> None:
        _grad_enabled.set(self._previous.pop())

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        return _without_recording(function)


def _without_recording(function: Callable[P, R]) -> Callable[P, R]:
    """`function` with recording off in each call; for a generator function, in each resume
    (leaving the block at its first call would run its whole body with recording on)."""
    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def resumed(*args: Any, **kwargs: Any) -> Any:
            inner, sent = function(*args, **kwargs), None
            while True:
                with _recording_off():
                    try:
                        item = inner.send(sent)
                    except StopIteration as stop:
                        return stop.value
                sent = yield item

        return resumed
    return _recording_off()(function)


@overload
def no_grad() -> contextlib.AbstractContextManager[None]: ...
@overload
def no_grad(function: Callable[P, R]) -> Callable[P, R]: ...
def no_grad(function: Callable[P, R] | None = None) -> Any:
    """Inside this block, ops record no graph (for evaluation and updates); per thread.

    `with no_grad(): ...`, or as a decorator, `@no_grad` or `@no_grad()`: each call of the
    function (each resume, for a generator function) runs with recording off. Other
    threads keep their own mode.
    """
    if function is None:
        return _NoGrad()
    return _without_recording(function)


def is_grad_enabled() -> bool:
    """False inside `no_grad()` in this thread."""
    return _grad_enabled.get()


def as_array(data: Any, op: str = "Tensor") -> np.ndarray:
    """`data` as a float ndarray: float32 and float64 kept, everything real → float64 (a copy)."""
    try:
        array = np.array(data)
    except ValueError:
        raise ValueError(
            f"{op}: data must be rectangular (every row the same length), got a ragged {type(data).__name__}"
        ) from None
    if array.dtype == np.float64 or array.dtype == np.float32:
        return array
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise TypeError(f"{op}: data must be real numbers, got dtype {array.dtype} from {type(data).__name__}")


class Tensor:
    """An ndarray that records the graph of operations producing it.

    `data` is the ndarray (float64 by default, float32 kept), `grad` an ndarray
    of the same shape after `backward()` (None before), `op`/`label`/`parents`
    as for `Value`; `factor(i)` is the edge's chain-rule factor (a VJP).

    `version` counts the in-place changes the library made to `data` (optimizer steps, as
    in PyTorch): `backward()` refuses a graph any of whose inputs changed after it was
    recorded, naming the op and the Tensor. Assigning `t.data` yourself, or changing it in
    place (`t.data -= ...`), is the unchecked escape hatch. Indexing copies (`x[0]` never
    follows later changes to `x.data`); `reshape`, `transpose`, `.T`, `expand` and `detach`
    share their parent's memory, as numpy views do (`detach` shares its version too).
    """

    __slots__ = ("_changes", "_recorded", "ctx", "data", "grad", "label", "op", "parents", "requires_grad")
    # Makes numpy hand `ndarray + Tensor` to Tensor.__radd__ instead of building an object array.
    __array_ufunc__ = None
    data: np.ndarray
    grad: Any  # an ndarray, a Tensor after backward(create_graph=True), or None before backward
    requires_grad: bool
    op: str
    label: str
    parents: tuple[Tensor, ...]
    ctx: Any
    _changes: list[int] | None  # [version, epoch of the last change] (engine/versions.py)
    _recorded: int  # the epoch this node was recorded in

    def __init__(self, data: ArrayLike, requires_grad: bool = False, label: str = "") -> None:
        self.data = as_array(data.data if isinstance(data, Tensor) else data)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.op = ""
        self.label = label
        self.parents = ()
        self.ctx = None
        self._changes = None
        self._recorded = 0

    # ---- array-like surface -------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def item(self) -> float:
        """The single element as a Python float (error if there is more than one)."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element Tensor has an item; shape is {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied)."""
        return self.data

    @property
    def version(self) -> int:
        """How many times the library changed `data` in place (optimizer steps); 0 if never."""
        return version(self)

    def detach(self) -> Tensor:
        """The same data as a new leaf that does not require grad (it shares the version too)."""
        leaf = Tensor._leaf(self.data)
        if getattr(self, "_changes", None) is None:
            self._changes = [0, 0]
        leaf._changes = self._changes
        return leaf

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20)
        extras = f", label={self.label!r}" if self.label else ""
        extras += f", op={self.op!r}" if self.op else ""
        extras += ", requires_grad=True" if self.requires_grad else ""
        extras += ", dtype=float32" if self.data.dtype == np.float32 else ""
        return f"Tensor({body}{extras})"

    @staticmethod
    def _leaf(array: np.ndarray) -> Tensor:
        node = _new_tensor(Tensor)
        node.data = array
        node.grad = None
        node.requires_grad = False
        node.op = ""
        node.label = ""
        node.parents = ()
        node.ctx = None
        node._changes = None
        node._recorded = 0
        return node

    @staticmethod
    def custom(
        data: ArrayLike, parents: Sequence[ArrayLike], vjp: Any, op: str, ctx: Any = None
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
        registered to another function, is refused (`extend.unregister` frees a name).
        Define `vjp` once, not inside the function that calls `custom`: each
        `def` or lambda there is a new function. Check it with `testing.gradcheck`.

        >>> def double_vjp(g, out, inputs, ctx, needs):   # ∂(2x)/∂x = 2
        ...     return (g * 2.0,)
        >>> x = Tensor([1.0, -3.0], requires_grad=True)
        >>> y = Tensor.custom(2.0 * x.data, [x], double_vjp, "double")
        >>> y.sum().backward()
        >>> x.grad
        array([2., 2.])
        """
        check_custom(op, vjp)
        nodes = _custom_parents(op, parents)
        array = as_array(data.data if isinstance(data, Tensor) else data, op)
        if nodes:
            array = array.astype(np.result_type(*(node.data.dtype for node in nodes)), copy=False)
        return _result(array, nodes, op, Custom(register_custom(op, vjp), ctx))

    # ---- the graph protocol -------------------------------------------------

    def factor(self, index: int) -> TensorFactor:
        """The chain-rule factor on the edge to `parents[index]` (a `TensorFactor`)."""
        return TensorFactor(self, index)

    def zero_grad(self) -> None:
        """Forget this node's gradient."""
        self.grad = None

    def backward(self, grad: ArrayLike | None = None, create_graph: bool = False) -> None:
        """Fill `grad` on every node of the graph with ∂self/∂node (a VJP with `grad`).

        `grad` defaults to 1 for a one-element Tensor and is required otherwise.
        Intermediate gradients are recomputed on every call; leaf gradients
        accumulate. With `create_graph=True` the gradients are Tensors that can
        themselves be differentiated.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this Tensor does not require grad (no input had requires_grad=True, "
                "or it was computed under no_grad())"
            )
        backprop.backward(self, seed(self, grad, create_graph, "backward"), create_graph)

    # ---- arithmetic ---------------------------------------------------------

    def __add__(self, other: ArrayLike) -> Tensor:
        other = lift(other, self, "+")
        return _result(_broadcasting("+", np.add, self, other), (self, other), "+")

    def __radd__(self, other: ArrayLike) -> Tensor:
        return lift(other, self, "+").__add__(self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        other = lift(other, self, "-")
        return _result(_broadcasting("-", np.subtract, self, other), (self, other), "-")

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return lift(other, self, "-").__sub__(self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        other = lift(other, self, "*")
        return _result(_broadcasting("*", np.multiply, self, other), (self, other), "*")

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return lift(other, self, "*").__mul__(self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        other = lift(other, self, "/")
        return _result(_broadcasting("/", np.divide, self, other), (self, other), "/")

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return lift(other, self, "/").__truediv__(self)

    def __neg__(self) -> Tensor:
        return _result(np.negative(self.data), (self,), "neg")

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        """xᵖ; ∂/∂x = p·xᵖ⁻¹ and, for a Tensor exponent, ∂/∂p = xᵖ·ln x (needs x > 0)."""
        if isinstance(exponent, Real) and not isinstance(exponent, bool):
            p = float(exponent)
            if not p.is_integer() and (self.data < 0).any():
                raise ValueError(
                    f"**: negative base {_first(self.data, self.data < 0)} to the fractional power {p!r} "
                    "is not real; use an integer exponent or bases ≥ 0"
                )
            return _result(np.power(self.data, p), (self,), "**const", Power(p))
        exponent = lift(exponent, self, "**")
        try:
            base, power = np.broadcast_arrays(self.data, exponent.data)
        except ValueError:
            raise ValueError(f"**: shapes {self.shape} and {exponent.shape} do not broadcast") from None
        fractional_of_negative = (base < 0) & (power != np.round(power))
        if fractional_of_negative.any():
            raise ValueError(
                f"**: negative base {_first(base, fractional_of_negative)} to the fractional power "
                f"{_first(power, fractional_of_negative)} is not real; use integer exponents or bases ≥ 0"
            )
        if exponent.requires_grad:
            undefined = (base < 0) | ((base == 0) & (power <= 0))
            if undefined.any():
                raise ValueError(
                    f"**: at base {_first(base, undefined)}, exponent {_first(power, undefined)}, "
                    "∂(x**p)/∂p = x**p·ln(x) is undefined; an exponent that requires grad needs "
                    "bases > 0 (or 0 with a positive exponent)"
                )
        return _result(np.power(self.data, exponent.data), (self, exponent), "**")

    def __rpow__(self, base: ArrayLike) -> Tensor:
        return lift(base, self, "**").__pow__(self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        """numpy's matmul: 1-D, 2-D and batched with broadcast batch dimensions."""
        other = lift(other, self, "@")
        try:
            out = np.matmul(self.data, other.data)
        except ValueError:
            raise ValueError(
                f"@: shapes {self.shape} and {other.shape} do not match for matmul "
                "(the last axis of the left must equal the second-to-last of the right)"
            ) from None
        return _result(out, (self, other), "@")

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return lift(other, self, "@").__matmul__(self)

    # ---- elementwise functions ---------------------------------------------

    def exp(self) -> Tensor:
        """eˣ; ∂eˣ/∂x = eˣ."""
        return _result(np.exp(self.data), (self,), "exp")

    def log(self) -> Tensor:
        """ln x for x > 0; ∂ln x/∂x = 1/x."""
        if (self.data <= 0).any():
            bad = _first(self.data, self.data <= 0)
            raise ValueError(f"log: input {bad!r} is not positive; log needs every entry > 0")
        return _result(np.log(self.data), (self,), "log")

    def tanh(self) -> Tensor:
        """tanh x; ∂tanh/∂x = sech²x, computed without cancellation."""
        return _result(np.tanh(self.data), (self,), "tanh")

    def sigmoid(self) -> Tensor:
        """σ(x) = 1/(1+e⁻ˣ), exact at ±1000; ∂σ/∂x = σ(x)·σ(−x)."""
        out, far = sigmoid_parts(self.data)
        # σ' = f·(1 − f) with f = σ(−|x|): 1 − f ≥ 1/2 does not cancel, and rounding can
        # never lift the product above σ'(0) = 1/4. The logits stay in ctx so that a
        # cost on this output can be computed from them.
        return _result(out, (self,), "sigmoid", _saved(Sigmoid, (far * (1.0 - far), self.data)))

    def relu(self) -> Tensor:
        """max(0, x); ∂relu/∂x = 1 where x > 0, else 0."""
        return _result(np.maximum(self.data, 0.0), (self,), "relu")

    def sech2(self) -> Tensor:
        """sech²x = 1 − tanh²x = 4e/(1+e)² with e = e^(−2|x|): tanh's slope, itself differentiable."""
        return _result(sech2(self.data), (self,), "sech2")

    # ---- reductions ---------------------------------------------------------

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Σ over `axis` (int, tuple or None for all); the gradient broadcasts back."""
        axes = normalize_axis("sum", axis, self.ndim)
        return _result(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum", Reduction(axes, keepdims))

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The mean over `axis`; the gradient is spread evenly back."""
        axes = normalize_axis("mean", axis, self.ndim)
        return _result(self.data.mean(axis=axes, keepdims=keepdims), (self,), "mean", Reduction(axes, keepdims))

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The maximum over `axis`; the gradient is split evenly among tied maxima."""
        axes = normalize_axis("max", axis, self.ndim)
        if self.data.size == 0:
            raise ValueError(f"max: the Tensor of shape {self.shape} is empty")
        return _result(self.data.max(axis=axes, keepdims=keepdims), (self,), "max", Reduction(axes, keepdims))

    def softmax(self, axis: int = -1) -> Tensor:
        """eˣⁱ/Σⱼeˣʲ along `axis`, shifted by the max so ±1000 stays finite."""
        axis = self._softmax_axis("softmax", axis)
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        return _result(e / e.sum(axis=axis, keepdims=True), (self,), "softmax", Along(axis))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """xᵢ − log Σⱼeˣʲ along `axis`, computed stably."""
        axis = self._softmax_axis("log_softmax", axis)
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return _result(out, (self,), "log_softmax", Along(axis))

    def _softmax_axis(self, op: str, axis: int) -> int:
        """`axis` as a non-negative int over which a (log-)softmax can normalise."""
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"{op}: axis must be one int (the axis to normalise over), got {axis!r}")
        if self.ndim == 0:
            raise ValueError(f"{op}: needs at least one axis to normalise over; this Tensor is 0-d")
        axis = int(normalize_axis(op, axis, self.ndim))  # type: ignore[arg-type]
        if self.shape[axis] == 0:
            raise ValueError(f"{op}: axis {axis} of shape {self.shape} is empty, so there is nothing to normalise")
        return axis

    # ---- shape --------------------------------------------------------------

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same data in a new shape (`-1` infers one axis); also `reshape((2, 3))`."""
        try:
            new_shape = _int_tuple(shape)
        except TypeError as error:
            raise TypeError(f"reshape: {error}") from None
        try:
            out = self.data.reshape(new_shape)
        except (ValueError, TypeError):
            raise ValueError(f"reshape: cannot reshape shape {self.shape} into {new_shape}") from None
        return _result(out, (self,), "reshape")

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes (reversed when none are given), like numpy."""
        order = _int_tuple(axes) or tuple(range(self.ndim))[::-1]
        if any(not -self.ndim <= a < self.ndim for a in order) or sorted(
            a % self.ndim for a in order
        ) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {order} are not a permutation of the {self.ndim} axes of {self.shape}")
        order = tuple(a % self.ndim for a in order)
        return _result(self.data.transpose(order), (self,), "transpose", Permutation(order))

    @property
    def T(self) -> Tensor:
        """All axes reversed (the matrix transpose for 2-D)."""
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        for axis in (axis1, axis2):
            if not -self.ndim <= axis < self.ndim:
                raise ValueError(f"swapaxes: axis {axis} is out of range for shape {self.shape}")
        order = list(range(self.ndim))
        order[axis1], order[axis2] = order[axis2], order[axis1]
        return self.transpose(order)

    def expand(self, shape: Sequence[int]) -> Tensor:
        """numpy's broadcast_to; the gradient sums back to this shape."""
        try:
            shape = _int_tuple((shape,))
        except TypeError as error:
            raise TypeError(f"expand: the shape must be ints, {error}") from None
        try:
            out = np.broadcast_to(self.data, shape)
        except ValueError:
            raise ValueError(f"expand: shape {self.shape} cannot broadcast to {shape}") from None
        return _result(out, (self,), "expand")

    def __getitem__(self, index: Any) -> Tensor:
        """numpy indexing: ints, slices, integer arrays (repeats accumulate) and boolean masks."""
        index = _plain_index(index)
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"[]: index {index!r} is invalid for shape {self.shape}: {error}") from None
        if isinstance(out, np.ndarray) and out.base is not None and np.may_share_memory(out, self.data):
            # A copy, whether the parent owns its memory or is itself a view (`x.reshape(2, 3)[0]`):
            # a view would follow later changes to the parent's data.
            out = out.copy()
        return _result(np.asarray(out), (self,), "index", Index(index))

    def scatter(self, index: Any, shape: Sequence[int]) -> Tensor:
        """zeros(shape) with this Tensor added at `index` (the adjoint of indexing)."""
        return _result(scatter(self.data, index, tuple(shape)), (self,), "scatter", Scatter(index, tuple(shape)))


# ---- module functions -------------------------------------------------------


def concatenate(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join Tensors along an existing axis, like numpy.concatenate."""
    parts = _lift_all("concatenate", tensors)
    _require_int_axis("concatenate", axis)
    try:
        out = np.concatenate([t.data for t in parts], axis=axis)
    except (ValueError, np.exceptions.AxisError) as error:
        shapes = [t.shape for t in parts]
        raise ValueError(f"concatenate: shapes {shapes} do not join along axis {axis}: {error}") from None
    return _result(out, parts, "concatenate", Along(axis % out.ndim))


def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join same-shape Tensors along a new axis, like numpy.stack."""
    parts = _lift_all("stack", tensors)
    _require_int_axis("stack", axis)
    try:
        out = np.stack([t.data for t in parts], axis=axis)
    except (ValueError, np.exceptions.AxisError) as error:
        shapes = [t.shape for t in parts]
        raise ValueError(f"stack: shapes {shapes} cannot stack along axis {axis}: {error}") from None
    return _result(out, parts, "stack", Along(axis % out.ndim))





def lift(value: ArrayLike, like: Tensor, op: str = "Tensor") -> Tensor:
    """A Tensor for `value`; Python numbers take `like`'s dtype so float32 stays float32.

    `op` names the operation in the error for a value that is not numbers."""
    if type(value) is Tensor:
        return value
    if isinstance(value, Value):
        raise TypeError(
            f"{op}: a Tensor and a Value cannot be combined: the scalar and tensor engines keep separate "
            "graphs; use Tensor(value.data) for a constant, or build both sides with one engine"
        )
    if isinstance(value, Real) and not isinstance(value, np.ndarray):
        return Tensor._leaf(np.asarray(value, dtype=like.data.dtype))
    if isinstance(value, Tensor):
        return value
    return Tensor._leaf(as_array(value, op))


def seed(root: Tensor, grad: Any, create_graph: bool, op: str) -> Any:
    """∂root/∂root for a reverse pass: 1 for a one-element root, else the given `grad` of the
    root's shape (the v of a vector–Jacobian product); a Tensor under `create_graph`."""
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"{op}: the output has shape {root.shape}, so pass grad= (an array of that shape); "
                "only a one-element output has the implicit gradient 1"
            )
        # np.array and a reshape cost a third of np.ones, once per backward.
        start: Any = np.array(1.0, root.data.dtype)
        if root.data.ndim:
            start = start.reshape(root.data.shape)
    else:
        start = grad.data if isinstance(grad, Tensor) and not create_graph else grad
        if not isinstance(start, Tensor):
            start = as_array(start, op).astype(root.data.dtype, copy=False)
        if start.shape != root.shape:
            raise ValueError(f"{op}: grad has shape {start.shape} but the output has shape {root.shape}")
    if create_graph and not isinstance(start, Tensor):
        start = Tensor._leaf(start)
    return start


def logits_of(activation: Tensor) -> Tensor:
    """The z of a = σ(z), for a cost computed from the logits: the sigmoid's parent, or, when
    no graph was recorded (no_grad), the logits its saved values keep."""
    if activation.parents:
        return activation.parents[0]
    saved: Sigmoid = activation.ctx
    return Tensor._leaf(saved.logits)


def _custom_parents(op: str, parents: Sequence[ArrayLike]) -> tuple[Tensor, ...]:
    """A custom op's parents as Tensors: numbers take the Tensor parents' dtype, arrays become
    constants."""
    if not isinstance(parents, (tuple, list)):
        shape = getattr(parents, "shape", None)
        given = f" of shape {shape}" if shape is not None else f" {parents!r}"
        raise TypeError(
            f"{op}: parents must be a tuple or list of Tensors, got {type(parents).__name__}{given}; "
            "for one parent x, pass [x]"
        )
    like = next((p for p in parents if isinstance(p, Tensor)), None)
    nodes = []
    for i, parent in enumerate(parents):
        if isinstance(parent, Value):
            raise TypeError(f"{op}: parent {i} is a Value; a Tensor op takes Tensors (see Value.custom)")
        if isinstance(parent, Tensor):
            nodes.append(parent)
        elif isinstance(parent, Real) and like is not None:
            nodes.append(Tensor._leaf(np.asarray(parent, dtype=like.data.dtype)))
        else:
            nodes.append(Tensor._leaf(as_array(parent, f"{op} parent {i}")))
    return tuple(nodes)


def normalize_axis(op: str, axis: Axis, ndim: int) -> Axis:
    """`axis` as non-negative ints, or a ValueError naming the op and the valid range."""
    if axis is None:
        return None
    try:
        axes = (operator.index(axis),) if not isinstance(axis, (tuple, list)) else tuple(map(operator.index, axis))
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}") from None
    for a in axes:
        if not -ndim <= a < ndim:
            valid = f"{-ndim}..{ndim - 1}" if ndim else "none; use axis=None"
            raise ValueError(f"{op}: axis {a} is out of range for a {ndim}-D Tensor (valid: {valid})")
    normalized = tuple(int(a) % ndim for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: axis {axis} repeats an axis")
    return normalized[0] if isinstance(axis, (int, np.integer)) else normalized


def _require_int_axis(op: str, axis: Any) -> None:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be one int, got {axis!r}")


def _first(values: np.ndarray, where: np.ndarray) -> float:
    """The first of `values` where `where` holds, as a plain float for error messages."""
    return float(values[where].flat[0])


def _int_tuple(args: tuple[int | Sequence[int], ...]) -> tuple[int, ...]:
    """`(2, 3)` from either `f(2, 3)` or `f((2, 3))`."""
    items = args[0] if len(args) == 1 and not isinstance(args[0], (int, np.integer)) else args
    try:
        return tuple(operator.index(a) for a in items)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"expected whole numbers (ints), got {items!r}") from None


def _lift_all(op: str, tensors: Sequence[ArrayLike]) -> tuple[Tensor, ...]:
    parts = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
    if not parts:
        raise ValueError(f"{op}: needs at least one Tensor")
    return parts


def _broadcasting(op: str, ufunc: Any, a: Tensor, b: Tensor) -> np.ndarray:
    try:
        return ufunc(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} do not broadcast "
            "(each axis, aligned from the right, must be equal or 1)"
        ) from None


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become their ndarrays; lists become arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        data = index.data
        if data.size and not np.array_equal(data, np.round(data)):
            raise IndexError(
                f"[]: a Tensor index holds floats, and {_first(data, data != np.round(data))} is not a whole "
                "number; index with integers (a boolean mask must be a numpy bool array: Tensors hold floats)"
            )
        return data.astype(np.intp)
    if isinstance(index, list):
        return np.asarray(index)
    return index



def _result(data: np.ndarray, parents: tuple, op: str, ctx: Any = None) -> Tensor:
    """A new op node; it keeps its parents only when some parent requires grad.

    `ctx` (arrays and constants, never Tensors) is kept either way.
    """
    node = _new_tensor(Tensor)
    # numpy returns scalars, not 0-d arrays, from 0-d arithmetic and full reductions.
    node.data = data if type(data) is np.ndarray else np.asarray(data)
    node.grad = None
    node.op = op
    node.label = ""
    node.ctx = ctx
    node._recorded = EPOCH[0]  # `_changes` stays unset until an in-place change (versions.py)
    if _grad_enabled.get():
        for parent in parents:
            if parent.requires_grad:
                node.requires_grad = True
                node.parents = parents
                return node
    node.requires_grad = False
    node.parents = ()
    return node


_new_tensor = object.__new__
# A NamedTuple's own __new__ is a Python function; on the hot path, build the same tuple in C.
_saved = tuple.__new__
