"""Tensor: every op's forward value against numpy and its gradient against central differences.

Shapes, broadcasting partners and values come from hypothesis (0-d and size-1
axes included); `microgradvg.testing.gradcheck` does the float64 comparison.
Also: dtype rules, numpy interop, error messages, stability at ±1000.
"""

from __future__ import annotations

import operator
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import EXTREME, away_from_zero, distinct, leaf, positive, reference_log_softmax

import microgradvg as mg
import microgradvg.nn
from microgradvg import Tensor, Value
from microgradvg.engine.functional import linear
from microgradvg.testing import arrays, broadcastable_shapes, gradcheck, shapes, tensors

# ---- strategies --------------------------------------------------------------------------


@st.composite
def axes(draw: st.DrawFn, ndim: int):
    """None, one axis (possibly negative), or a tuple of distinct axes (possibly empty)."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes for every case of numpy's matmul rules."""
    side = st.integers(1, 4)
    n, k, m = draw(side), draw(side), draw(side)
    kind = draw(st.sampled_from(["1·1", "1·2", "2·1", "2·2", "batched", "broadcast", "1·batch", "batch·1"]))
    if kind == "1·1":
        return (k,), (k,)
    if kind == "1·2":
        return (k,), (k, m)
    if kind == "2·1":
        return (n, k), (k,)
    if kind == "2·2":
        return (n, k), (k, m)
    if kind == "batched":
        batch = draw(shapes(1, 2, max_side=3))
        return (*batch, n, k), (*batch, k, m)
    if kind == "broadcast":
        left, right = draw(broadcastable_shapes(shapes(1, 2, max_side=3)))
        return (*left, n, k), (*right, k, m)
    batch = draw(shapes(1, 2, max_side=3))
    return ((k,), (*batch, k, m)) if kind == "1·batch" else ((*batch, n, k), (k,))


@st.composite
def indices(draw: st.DrawFn, shape: tuple[int, ...]):
    """ints, slices, integer arrays with repeats, boolean masks, and mixtures, valid for `shape`."""
    first = shape[0]
    kind = draw(st.sampled_from(["int", "slices", "repeats", "mask", "row mask", "mixed", "ints"]))
    if kind == "int":
        return draw(st.integers(-first, first - 1))
    if kind == "slices":
        parts = []
        for n in shape[: draw(st.integers(1, len(shape)))]:
            start = draw(st.none() | st.integers(-n, n))
            stop = draw(st.none() | st.integers(-n, n))
            step = draw(st.none() | st.sampled_from([1, 2, -1, -2]))
            parts.append(slice(start, stop, step))
        return tuple(parts)
    if kind == "repeats":
        picks = draw(st.lists(st.integers(-first, first - 1), min_size=1, max_size=6))
        return np.array(picks + [picks[0]])  # at least one repeat
    if kind == "mask":
        return draw(arrays(shape, -1, 1)) > 0
    if kind == "row mask":
        return draw(arrays((first,), -1, 1)) > 0
    if kind == "ints":
        return tuple(draw(st.integers(-n, n - 1)) for n in shape[: draw(st.integers(1, len(shape)))])
    # mixed: a slice on the first axis and a repeated integer array on the second
    if len(shape) < 2:
        return (slice(None, None, -1),)
    picks = draw(st.lists(st.integers(0, shape[1] - 1), min_size=1, max_size=4))
    return (slice(1, None), np.array(picks * 2))


nonscalar_shapes = shapes(1, 3)
small_shapes = shapes(0, 3)

# ---- construction and dtype rules -----------------------------------------------------------


@pytest.mark.parametrize(
    "data", [3, [1, 2, 3], [[1.5, 2.0]], np.arange(4), np.ones(2, dtype=np.float16), [True, False]],
    ids=["int", "int list", "float list", "int array", "float16", "bool"],
)
def test_ints_lists_and_other_reals_become_float64(data) -> None:
    t = Tensor(data)
    assert isinstance(t.data, np.ndarray) and t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))
    assert t.grad is None and not t.requires_grad


def test_float32_and_float64_are_kept() -> None:
    assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert Tensor(np.ones(3)).dtype == np.float64


def test_construction_copies_the_array() -> None:
    source = np.zeros(3)
    t = Tensor(source)
    source[0] = 5.0
    assert t.data[0] == 0.0
    u = Tensor(t)
    t.data[1] = 7.0
    assert u.data[1] == 0.0


@pytest.mark.parametrize("data", [[1 + 2j], "abc", [object()]])
def test_non_real_data_is_a_type_error_naming_tensor(data) -> None:
    with pytest.raises(TypeError, match="Tensor"):
        Tensor(data)


def test_ragged_list_error_names_tensor() -> None:
    with pytest.raises(ValueError, match="Tensor"):
        Tensor([[1.0, 2.0], [3.0]])


def test_array_surface() -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, label="x")
    assert (t.shape, t.ndim, t.size, len(t), t.label) == ((2, 3), 2, 6, 2, "x")
    assert t.numpy() is t.data
    assert Tensor([[2.5]]).item() == 2.5 and isinstance(Tensor([[2.5]]).item(), float)
    with pytest.raises(ValueError, match=r"item.*\(2, 3\)"):
        t.item()
    assert "label='x'" in repr(t) and "requires_grad=True" in repr(t)


def test_detach_is_a_leaf_outside_the_graph() -> None:
    x = leaf(np.array([1.0, -2.0, 3.0]))
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.parents == () and d.op == ""
    np.testing.assert_array_equal(d.data, y.data)
    (x * d).sum().backward()  # d is a constant: ∂/∂x = d, not d + 2x
    np.testing.assert_array_equal(x.grad, y.data)


def test_no_grad_records_nothing_and_restores_the_mode() -> None:
    x = leaf(np.ones(3))
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2.0 + 1.0
        with mg.no_grad():
            pass
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.parents == ()
    np.testing.assert_array_equal(y.data, 3.0)
    with pytest.raises(KeyError), mg.no_grad():
        raise KeyError("boom")
    assert mg.is_grad_enabled()
    assert (x * 2.0).requires_grad


def _in_thread(work) -> threading.Thread:
    """Start `work` in a real thread; its exceptions are re-raised by `_join`."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # noqa: BLE001 (re-raised in the test's thread by _join)
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _join(thread: threading.Thread) -> None:
    thread.join(timeout=10)
    assert not thread.is_alive(), "the thread hung"
    if thread.errors:  # type: ignore[attr-defined]
        raise thread.errors[0]  # type: ignore[attr-defined]


def test_no_grad_in_one_thread_leaves_recording_on_in_another() -> None:
    entered, checked = threading.Event(), threading.Event()

    def evaluate() -> None:
        with mg.no_grad():
            entered.set()
            assert checked.wait(10)
            assert not mg.is_grad_enabled()

    thread = _in_thread(evaluate)
    assert entered.wait(10)
    try:
        assert mg.is_grad_enabled()
        x = leaf(np.array([1.0, 2.0]))
        (x * x).sum().backward()
    finally:
        checked.set()
    _join(thread)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on() -> None:
    # A enters, B enters, A leaves, B leaves: with one global flag B restores A's "off".
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with mg.no_grad():
            a_in.set()
            assert b_in.wait(10)
        a_out.set()
        assert mg.is_grad_enabled()

    def second() -> None:
        assert a_in.wait(10)
        with mg.no_grad():
            b_in.set()
            assert a_out.wait(10)
            assert not mg.is_grad_enabled()
        assert mg.is_grad_enabled()

    threads = [_in_thread(first), _in_thread(second)]
    for thread in threads:
        _join(thread)
    assert mg.is_grad_enabled()
    x = leaf(np.array([3.0]))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0])


def test_a_new_thread_records_even_when_started_inside_no_grad() -> None:
    seen: list[bool] = []
    with mg.no_grad():
        _join(_in_thread(lambda: seen.append(mg.is_grad_enabled())))
    assert seen == [True]


@pytest.mark.parametrize("decorate", [mg.no_grad, mg.no_grad()], ids=["@no_grad", "@no_grad()"])
def test_no_grad_is_a_decorator_for_each_call(decorate) -> None:
    x = leaf(np.array([1.0, -2.0]))

    def evaluate(scale: float, depth: int = 0) -> Tensor:
        """Evaluate without a graph."""
        assert not mg.is_grad_enabled()
        return evaluate(scale, depth - 1) if depth > 0 else x * scale

    wrapped = decorate(evaluate)
    assert wrapped.__name__ == "evaluate" and wrapped.__doc__ == "Evaluate without a graph."
    for _ in range(2):  # the same decorated function, called twice and recursively
        y = wrapped(3.0, depth=2)
        assert not y.requires_grad and y.parents == ()
        assert mg.is_grad_enabled()

    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        decorate(fail)()
    assert mg.is_grad_enabled()
    results = []
    threads = [_in_thread(lambda: results.append(wrapped(2.0).requires_grad)) for _ in range(4)]
    for thread in threads:
        _join(thread)
    assert results == [False] * 4 and (x * 2.0).requires_grad


BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
}


@pytest.mark.parametrize("symbol", list(BINARY))
@pytest.mark.parametrize("scalar", [2, 0.5])
def test_float32_stays_float32_with_python_numbers_on_either_side(symbol: str, scalar) -> None:
    op = BINARY[symbol]
    t = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    for out in (op(t, scalar), op(scalar, t)):
        assert out.dtype == np.float32
        out.backward(np.ones(3, dtype=np.float32))
        assert t.grad.dtype == np.float32
        t.grad = None


@given(pair=broadcastable_shapes(small_shapes), symbol=st.sampled_from(list(BINARY)), data=st.data())
def test_numpy_arrays_on_either_side_give_tensors(pair, symbol: str, data) -> None:
    op = BINARY[symbol]
    a = positive(data.draw(arrays(pair[0])))
    b = positive(data.draw(arrays(pair[1])))
    for out, expected in ((op(a, Tensor(b)), op(a, b)), (op(Tensor(a), b), op(a, b))):
        assert type(out) is Tensor
        np.testing.assert_allclose(out.data, expected, rtol=1e-14)


@given(shape_pair=matmul_shapes(), data=st.data())
def test_numpy_matmul_on_either_side(shape_pair, data) -> None:
    a, b = data.draw(arrays(shape_pair[0])), data.draw(arrays(shape_pair[1]))
    for out in (a @ Tensor(b), Tensor(a) @ b):
        assert type(out) is Tensor
        np.testing.assert_allclose(out.data, a @ b, rtol=1e-12, atol=1e-12)


def test_lists_on_either_side() -> None:
    t = Tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(([1.0, 1.0, 1.0] + t).data, [2.0, 3.0, 4.0])
    np.testing.assert_array_equal((t - [1, 1, 1]).data, [0.0, 1.0, 2.0])


# ---- arithmetic gradients -------------------------------------------------------------------


@given(pair=broadcastable_shapes(small_shapes), symbol=st.sampled_from(["+", "-", "*", "/"]), data=st.data())
def test_broadcasting_arithmetic(pair, symbol: str, data) -> None:
    op = BINARY[symbol]
    a = data.draw(arrays(pair[0]))
    b = data.draw(arrays(pair[1]))
    if symbol == "/":
        b = away_from_zero(b, 0.5)
    x, y = leaf(a), leaf(b)
    out = op(x, y)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(out.data, op(a, b), rtol=1e-14)
    gradcheck(op, x, y)
    assert x.grad.shape == a.shape and y.grad.shape == b.shape


@given(pair=broadcastable_shapes(small_shapes), data=st.data())
def test_power_with_a_tensor_exponent(pair, data) -> None:
    base = positive(data.draw(arrays(pair[0], -2, 2)))
    exponent = data.draw(arrays(pair[1], -2, 2))
    x, p = leaf(base), leaf(exponent)
    np.testing.assert_allclose((x**p).data, base**exponent, rtol=1e-13)
    gradcheck(operator.pow, x, p)


@given(shape=small_shapes, exponent=st.sampled_from([2, 3, -1, -2, 0, 1]), data=st.data())
def test_power_with_an_integer_exponent_on_any_sign(shape, exponent: int, data) -> None:
    base = away_from_zero(data.draw(arrays(shape, -2, 2)), 0.3)
    x = leaf(base)
    np.testing.assert_allclose((x**exponent).data, base ** float(exponent), rtol=1e-14)
    gradcheck(lambda t: t**exponent, x)


@given(shape=small_shapes, exponent=st.floats(-2.5, 2.5), data=st.data())
def test_power_with_a_fractional_exponent(shape, exponent: float, data) -> None:
    x = leaf(positive(data.draw(arrays(shape, -2, 2))))
    gradcheck(lambda t: t**exponent, x)


@given(shape=small_shapes, base=st.floats(0.2, 4.0), data=st.data())
def test_number_to_a_tensor_power(shape, base: float, data) -> None:
    x = leaf(data.draw(arrays(shape, -2, 2)))
    np.testing.assert_allclose((base**x).data, base**x.data, rtol=1e-14)
    gradcheck(lambda t: base**t, x)


@given(shape=small_shapes, number=st.floats(-3, 3).filter(lambda v: abs(v) > 0.3), data=st.data())
def test_python_numbers_on_either_side(shape, number: float, data) -> None:
    x = leaf(away_from_zero(data.draw(arrays(shape)), 0.3))
    for symbol, op in BINARY.items():
        if symbol == "**":
            continue
        gradcheck(lambda t, op=op: op(t, number), x)
        gradcheck(lambda t, op=op: op(number, t), x)


@given(pair=broadcastable_shapes(small_shapes), data=st.data())
def test_numpy_constant_operands_get_no_gradient_but_shape_the_result(pair, data) -> None:
    constant = data.draw(arrays(pair[0]))
    x = leaf(away_from_zero(data.draw(arrays(pair[1])), 0.5))
    gradcheck(lambda t: constant / t * constant - t, x)
    gradcheck(lambda t: (constant - t) * (t + constant), x)


@given(x=tensors(small_shapes))
def test_negation(x: Tensor) -> None:
    np.testing.assert_array_equal((-x).data, -x.data)
    gradcheck(operator.neg, x)


@given(shape_pair=matmul_shapes(), data=st.data())
def test_matmul(shape_pair, data) -> None:
    a, b = data.draw(arrays(shape_pair[0])), data.draw(arrays(shape_pair[1]))
    x, y = leaf(a), leaf(b)
    out = x @ y
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12, atol=1e-12)
    gradcheck(operator.matmul, x, y)
    assert x.grad.shape == a.shape and y.grad.shape == b.shape


def test_matmul_of_vectors_is_a_0d_dot_product() -> None:
    x, y = leaf(np.array([1.0, 2.0, 3.0])), leaf(np.array([4.0, -5.0, 6.0]))
    out = x @ y
    assert out.shape == () and out.item() == 12.0
    out.backward()
    np.testing.assert_array_equal(x.grad, y.data)
    np.testing.assert_array_equal(y.grad, x.data)


# ---- elementwise ------------------------------------------------------------------------------

ELEMENTWISE = {
    "exp": (np.exp, lambda a: a),
    "log": (np.log, positive),
    "tanh": (np.tanh, lambda a: a),
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda a: a),
    "relu": (lambda a: np.maximum(a, 0.0), away_from_zero),
}


@given(name=st.sampled_from(list(ELEMENTWISE)), shape=small_shapes, data=st.data())
def test_elementwise(name: str, shape, data) -> None:
    reference, domain = ELEMENTWISE[name]
    a = domain(data.draw(arrays(shape)))
    x = leaf(a)
    out = getattr(x, name)()
    np.testing.assert_allclose(out.data, reference(a), rtol=1e-14, atol=1e-300)
    gradcheck(lambda t: getattr(t, name)(), x)


@given(name=st.sampled_from(list(ELEMENTWISE)), shape=nonscalar_shapes, data=st.data())
def test_elementwise_after_another_op(name: str, shape, data) -> None:
    x = leaf(data.draw(arrays(shape, -1, 1)))
    # t·2 + c keeps relu's and log's inputs away from their kinks and poles.
    shift = 3.0 if name == "log" else 0.0
    offset = away_from_zero(data.draw(arrays(shape, -1, 1)), 2.5) if name == "relu" else shift
    gradcheck(lambda t: getattr(t * 2.0 + offset, name)().sum(), x)


def test_relu_gradient_is_a_step() -> None:
    x = leaf(np.array([-2.0, -0.5, 0.5, 2.0]))
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0, 1.0])


# ---- reductions --------------------------------------------------------------------------------


@given(shape=small_shapes, keepdims=st.booleans(), data=st.data())
def test_sum_and_mean(shape, keepdims: bool, data) -> None:
    axis = data.draw(axes(len(shape)))
    a = data.draw(arrays(shape))
    x = leaf(a)
    for name in ("sum", "mean"):
        out = getattr(x, name)(axis=axis, keepdims=keepdims)
        expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-15)
        gradcheck(lambda t, name=name: getattr(t, name)(axis=axis, keepdims=keepdims), x)


@given(shape=small_shapes, keepdims=st.booleans(), data=st.data())
def test_max_without_ties(shape, keepdims: bool, data) -> None:
    axis = data.draw(axes(len(shape)))
    a = data.draw(distinct(shape))
    x = leaf(a)
    out = x.max(axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(out.data, np.max(a, axis=axis, keepdims=keepdims))
    gradcheck(lambda t: t.max(axis=axis, keepdims=keepdims), x)


def test_max_splits_the_gradient_among_ties() -> None:
    x = leaf(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", ["sum", "mean", "max", "softmax", "log_softmax"])
def test_axis_out_of_range_names_the_op(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: axis 2 .*2-D"):
        getattr(Tensor(np.ones((2, 3))), name)(axis=2)


def test_repeated_axis_is_an_error() -> None:
    with pytest.raises(ValueError, match="sum.*repeats"):
        Tensor(np.ones((2, 3))).sum(axis=(1, -1))


def test_0d_reduction_over_an_axis_is_consistent() -> None:
    # A 0-d Tensor may either reduce over "axis 0" to itself or refuse with the op's own message;
    # what it must not do is let numpy's error through for some spellings.
    x = Tensor(np.array(2.0))
    for name in ("sum", "mean", "max"):
        for axis in (0, -1, (0,)):
            try:
                result = getattr(x, name)(axis=axis)
            except ValueError as error:
                assert str(error).startswith(f"{name}:"), (name, axis, error)
            else:
                assert result.item() == 2.0, (name, axis)


# ---- softmax and log_softmax ------------------------------------------------------------------


@given(shape=nonscalar_shapes, data=st.data())
def test_softmax_and_log_softmax_on_any_axis(shape, data) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = data.draw(arrays(shape))
    x = leaf(a)
    expected = reference_log_softmax(a, axis)
    np.testing.assert_allclose(x.log_softmax(axis).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.softmax(axis).data, np.exp(expected), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.softmax(axis).data.sum(axis=axis), 1.0, rtol=1e-12)
    gradcheck(lambda t: t.softmax(axis), x)
    gradcheck(lambda t: t.log_softmax(axis), x)


def test_softmax_default_axis_is_the_last() -> None:
    a = np.array([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(Tensor(a).softmax().data, np.exp(reference_log_softmax(a, 1)), rtol=1e-14)


# ---- shape ops ----------------------------------------------------------------------------------


@st.composite
def reshapes(draw: st.DrawFn, shape: tuple[int, ...]):
    """(target as given to reshape, the target's true shape): tuples, varargs and -1."""
    size = int(np.prod(shape))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    first = draw(st.sampled_from(divisors))
    target = (first, size // first)
    if draw(st.booleans()):
        target = (target[0], 1, target[1])
    spelled = list(target)
    if draw(st.booleans()):
        spelled[draw(st.integers(0, len(spelled) - 1))] = -1
    return tuple(spelled), target


@given(shape=small_shapes, as_tuple=st.booleans(), data=st.data())
def test_reshape(shape, as_tuple: bool, data) -> None:
    spelled, target = data.draw(reshapes(shape))
    a = data.draw(arrays(shape))
    x = leaf(a)
    out = x.reshape(spelled) if as_tuple else x.reshape(*spelled)
    assert out.shape == target
    np.testing.assert_array_equal(out.data, a.reshape(target))
    gradcheck(lambda t: t.reshape(spelled), x)


@given(shape=small_shapes, with_axes=st.booleans(), as_tuple=st.booleans(), data=st.data())
def test_transpose(shape, with_axes: bool, as_tuple: bool, data) -> None:
    a = data.draw(arrays(shape))
    x = leaf(a)
    if with_axes and shape:
        order = tuple(data.draw(st.permutations(range(len(shape)))))
        out = x.transpose(order) if as_tuple else x.transpose(*order)
        np.testing.assert_array_equal(out.data, a.transpose(order))
        gradcheck(lambda t: t.transpose(order), x)
    else:
        np.testing.assert_array_equal(x.transpose().data, a.transpose())
        np.testing.assert_array_equal(x.T.data, a.T)
        gradcheck(lambda t: t.T, x)


@given(shape=nonscalar_shapes, data=st.data())
def test_indexing(shape, data) -> None:
    index = data.draw(indices(shape))
    a = data.draw(arrays(shape))
    x = leaf(a)
    out = x[index]
    np.testing.assert_array_equal(out.data, a[index])
    gradcheck(lambda t: t[index], x)


def test_repeated_integer_indices_accumulate() -> None:
    x = leaf(np.array([10.0, 20.0, 30.0]))
    out = x[np.array([0, 2, 0, 0])]
    out.backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [8.0, 0.0, 2.0])
    y = leaf(np.zeros((2, 2)))
    y[[1, 1], [0, 0]].sum().backward()
    np.testing.assert_array_equal(y.grad, [[0.0, 0.0], [2.0, 0.0]])


def test_index_result_does_not_see_later_updates_of_its_parent() -> None:
    x = leaf(np.arange(4.0))
    part = x[1:3]
    x.data += 100.0
    np.testing.assert_array_equal(part.data, [1.0, 2.0])


def test_a_float_tensor_index_must_hold_whole_numbers() -> None:
    # review A2: 0.7 and 1.9 were truncated to 0 and 1 without a word.
    x = leaf(np.array([10.0, 20.0, 30.0]))
    with pytest.raises((IndexError, ValueError), match="0.7"):
        x[Tensor([0.7, 1.9])]
    with pytest.raises((IndexError, ValueError), match="1.5"):
        leaf(np.ones((2, 3)))[Tensor([1.5]), 0]
    out = x[Tensor([2.0, 0.0, 2.0])]  # floats that are whole numbers index like ints
    np.testing.assert_array_equal(out.data, [30.0, 10.0, 30.0])
    out.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 4.0])


def test_bad_index_names_the_shape() -> None:
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        Tensor(np.ones((2, 3)))[5]


@st.composite
def concatenations(draw: st.DrawFn):
    base = list(draw(nonscalar_shapes))
    axis = draw(st.integers(-len(base), len(base) - 1))
    lengths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    part_shapes = []
    for length in lengths:
        part = list(base)
        part[axis] = length
        part_shapes.append(tuple(part))
    return part_shapes, axis


@given(spec=concatenations(), data=st.data())
def test_concatenate(spec, data) -> None:
    part_shapes, axis = spec
    arrays_ = [data.draw(arrays(s)) for s in part_shapes]
    parts = [leaf(a) for a in arrays_]
    out = mg.concatenate(parts, axis=axis)
    np.testing.assert_array_equal(out.data, np.concatenate(arrays_, axis=axis))
    gradcheck(lambda *ts: mg.concatenate(ts, axis=axis), *parts)


@given(shape=small_shapes, count=st.integers(1, 3), data=st.data())
def test_stack(shape, count: int, data) -> None:
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays_ = [data.draw(arrays(shape)) for _ in range(count)]
    parts = [leaf(a) for a in arrays_]
    out = mg.stack(parts, axis=axis)
    np.testing.assert_array_equal(out.data, np.stack(arrays_, axis=axis))
    gradcheck(lambda *ts: mg.stack(ts, axis=axis), *parts)


def test_concatenate_and_stack_lift_arrays_and_skip_constants() -> None:
    x = leaf(np.ones(2))
    out = mg.concatenate([x, np.zeros(3)])
    assert out.shape == (5,)
    out.backward(np.arange(5.0))
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])
    assert mg.stack([[1.0, 2.0], x]).shape == (2, 2)


@given(target=small_shapes, data=st.data())
def test_expand(target, data) -> None:
    source_shape, _ = data.draw(broadcastable_shapes(target))
    a = data.draw(arrays(source_shape))
    x = leaf(a)
    out = x.expand(target)
    np.testing.assert_array_equal(out.data, np.broadcast_to(a, target))
    gradcheck(lambda t: t.expand(target), x)


# ---- stability at ±1000 -------------------------------------------------------------------------

@pytest.mark.usefixtures("strict_numpy")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_at_extremes(dtype) -> None:
    x = Tensor(EXTREME.astype(dtype), requires_grad=True)
    s = x.sigmoid()
    np.testing.assert_array_equal(s.data, [[0.0, 1.0, 0.5], [1.0, 1.0, 0.0]])
    s.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.25], [0.0, 0.0, 0.0]])
    assert s.dtype == dtype and x.grad.dtype == dtype


@pytest.mark.usefixtures("strict_numpy")
def test_sigmoid_keeps_tiny_values_exact() -> None:
    s = Tensor(np.array([-30.0, -700.0])).sigmoid()
    np.testing.assert_allclose(s.data, [np.exp(-30.0) / (1 + np.exp(-30.0)), np.exp(-700.0)], rtol=1e-14)


@pytest.mark.usefixtures("strict_numpy")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_softmax_and_softmax_at_extremes(dtype) -> None:
    x = Tensor(EXTREME.astype(dtype), requires_grad=True)
    out = x.log_softmax(axis=1)
    # Row 0: max 1000 → [−2000, 0, −1000]; row 1: two maxima of 1000 → log ½ each.
    expected = np.array([[-2000.0, 0.0, -1000.0], [-np.log(2.0), -np.log(2.0), -2000.0 - np.log(2.0)]])
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    weights = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], dtype=dtype)
    (out * weights).sum().backward()
    # ∂/∂x = w − softmax(x)·Σw, with softmax = [0, 1, 0] and [½, ½, 0].
    np.testing.assert_allclose(x.grad, [[1.0, -4.0, 3.0], [-0.5, -0.5, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(Tensor(EXTREME).softmax(axis=1).data, [[0, 1, 0], [0.5, 0.5, 0]], atol=0)
    np.testing.assert_allclose(Tensor(EXTREME).softmax(axis=0).data, [[0, 0.5, 1], [1, 0.5, 0]], atol=0)


# ---- errors name the op and both shapes ----------------------------------------------------------


@pytest.mark.parametrize("symbol", list(BINARY))
def test_broadcast_errors_name_the_op_and_both_shapes(symbol: str) -> None:
    op = BINARY[symbol]
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=re.escape(f"{symbol}: shapes (2, 3) and (4,)")):
        op(a, b)
    with pytest.raises(ValueError, match=re.escape(f"{symbol}: shapes (4,) and (2, 3)")):
        op(np.ones(4), a)


@pytest.mark.parametrize(
    "build, pattern",
    [
        (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))), r"@: shapes \(2, 3\) and \(2, 3\)"),
        (lambda: Tensor(np.ones(3)) @ np.ones((4, 2)), r"@: shapes \(3,\) and \(4, 2\)"),
        (lambda: Tensor(np.ones((2, 3))).reshape(4), r"reshape.*\(2, 3\).*\(4,\)"),
        (lambda: Tensor(np.ones((2, 3))).expand((4,)), r"expand.*\(2, 3\).*\(4,\)"),
        (lambda: Tensor(np.ones((2, 3))).transpose(0, 0), r"transpose.*\(0, 0\).*\(2, 3\)"),
        (lambda: mg.concatenate([np.ones((2, 3)), np.ones((2, 2))]), r"concatenate.*\(2, 3\).*\(2, 2\)"),
        (lambda: mg.stack([np.ones(2), np.ones(3)]), r"stack.*\(2,\).*\(3,\)"),
        (lambda: mg.concatenate([]), "concatenate"),
    ],
    ids=["matmul", "matmul-numpy", "reshape", "expand", "transpose", "concatenate", "stack", "empty"],
)
def test_shape_errors_name_the_op_and_shapes(build, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda t: t.transpose(0, 3),
        lambda t: t.transpose(2, 0),
        lambda t: t.transpose(-3, 1),
        lambda t: t.transpose((1, 0, 2)),
        lambda t: t.swapaxes(0, 2),
    ],
    ids=["(0, 3)", "(2, 0)", "(-3, 1)", "three axes", "swapaxes(0, 2)"],
)
def test_transpose_refuses_axes_a_2d_tensor_does_not_have(build) -> None:
    # review A5: axes were taken modulo ndim, so (0, 3) on 2-D silently meant (0, 1).
    with pytest.raises(ValueError, match="transpose|swapaxes"):
        build(Tensor(np.ones((2, 3))))


@pytest.mark.parametrize("shape", [(2.9, 3), ((2.9, 3),), (2, 3.0)], ids=["2.9, 3", "(2.9, 3)", "2, 3.0"])
def test_reshape_refuses_sizes_that_are_not_ints(shape) -> None:
    # review A5: 2.9 was truncated to 2.
    with pytest.raises((TypeError, ValueError), match="reshape"):
        Tensor(np.ones(6)).reshape(*shape)


@pytest.mark.parametrize(
    "build, pattern",
    [
        (lambda: Tensor([0.5, -1.0]).log(), "log.*-1.0.*> 0"),
        (lambda: Tensor([-2.0, 1.0]) ** 0.5, r"\*\*.*-2.0.*0.5"),
        (lambda: Tensor([-2.0]) ** Tensor([2.0], requires_grad=True), r"\*\*.*-2.0.*> 0"),
    ],
)
def test_domain_errors_name_the_op_and_value(build, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        build()


def test_x_to_the_power_0_has_gradient_0_at_x_0() -> None:
    # review A4: the rule p·xᵖ⁻¹ is 0·∞ = nan at x = 0 when p = 0; x⁰ = 1 is flat everywhere.
    for zero in (0, 0.0):
        x = leaf([0.0, 2.0, -1.5])
        out = x**zero
        np.testing.assert_array_equal(out.data, [1.0, 1.0, 1.0])
        out.sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])
    x = leaf([0.0, 2.0])
    (first,) = mg.grad((x**0).sum(), x, create_graph=True)  # and through a gradient graph
    np.testing.assert_array_equal(first.data, [0.0, 0.0])


def test_a_tensor_exponent_on_a_base_of_0() -> None:
    # review A10: 0ᵖ = 0 for every p > 0, so ∂/∂p = 0 there (Value says the same).
    p = leaf([2.0, 0.5, 3.0])
    out = Tensor([0.0, 0.0, 0.0]) ** p
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(p.grad, [0.0, 0.0, 0.0])
    q = Value(2.0)
    (Value(0.0) ** q).backward()
    assert q.grad == 0.0
    r = leaf([1.5])
    (0.0**r).sum().backward()  # a number base, lifted
    np.testing.assert_array_equal(r.grad, [0.0])


@pytest.mark.parametrize(
    "build",
    [
        lambda: Tensor([-8.0]) ** Tensor([1 / 3]),
        lambda: Tensor([-8.0]) ** Tensor([1 / 3], requires_grad=True),
        lambda: Tensor([[-8.0], [8.0]]) ** Tensor([2.0, 1 / 3]),  # broadcast: (-8)^(1/3) is in there
        lambda: (-8.0) ** Tensor([1 / 3]),
    ],
    ids=["constant exponent", "exponent requires grad", "broadcast", "number base"],
)
def test_a_negative_base_to_a_fractional_tensor_exponent_is_an_error(build) -> None:
    # review A10: numpy would give nan silently; a real result does not exist.
    with pytest.raises(ValueError, match=r"\*\*.*-8"):
        build()


@pytest.mark.parametrize("symbol", list(BINARY))
def test_a_tensor_and_a_value_do_not_mix(symbol: str) -> None:
    # The engines keep separate graphs: a silent mix would drop one side's gradient.
    op = BINARY[symbol]
    t, v = Tensor([1.0, 2.0], requires_grad=True), Value(2.0)
    with pytest.raises(TypeError, match="Value"):
        op(t, v)
    with pytest.raises(TypeError, match="Value"):
        op(v, t)


@pytest.mark.parametrize("symbol", [*BINARY, "@"])
def test_an_operand_that_is_not_numbers_is_an_error_naming_the_op(symbol: str) -> None:
    op = BINARY.get(symbol, operator.matmul)
    t = Tensor([1.0, 2.0])
    for left, right in ((t, ["a", "b"]), (np.array(["a", "b"], dtype=object), t)):
        with pytest.raises(TypeError, match=re.escape(f"{symbol}: data must be real numbers")):
            op(left, right)


def test_integer_powers_of_negative_bases_are_fine() -> None:
    x = leaf(np.array([-2.0, 3.0]))
    (x**3).sum().backward()
    np.testing.assert_array_equal(x.grad, [12.0, 27.0])


# ---- 0-d Tensors through chains of ops (regressions: numpy gives scalars for 0-d results) ----

CHAINS_0D = {
    "(2x).tanh": (lambda t: (t * 2.0).tanh(), lambda v: 2.0 / np.cosh(2.0 * v) ** 2),
    "x.sum()*2": (lambda t: t.sum() * 2.0, lambda v: 2.0),
    "x.mean()": (lambda t: t.mean(), lambda v: 1.0),
    "x.mean()*2": (lambda t: t.mean() * 2.0, lambda v: 2.0),
    "x.sigmoid()*2": (lambda t: t.sigmoid() * 2.0, lambda v: 2.0 * np.exp(-v) / (1 + np.exp(-v)) ** 2),
    "x.exp().tanh()": (lambda t: t.exp().tanh(), lambda v: np.exp(v) / np.cosh(np.exp(v)) ** 2),
}


@pytest.mark.parametrize("name", list(CHAINS_0D))
def test_0d_chains_backpropagate(name: str) -> None:
    build, derivative = CHAINS_0D[name]
    x = leaf(np.array(0.5))
    out = build(x)
    out.backward()
    assert isinstance(out.data, np.ndarray) and isinstance(x.grad, np.ndarray)
    assert x.grad.shape == () and float(x.grad) == pytest.approx(derivative(0.5), rel=1e-12)


def test_0d_results_and_grads_are_ndarrays() -> None:
    x = leaf(np.array(2.0))
    y = x * 3.0
    y.backward()
    assert isinstance(y.data, np.ndarray) and isinstance(x.grad, np.ndarray)


# ---- indexing copies, whether the parent owns its memory or is a view ------------------


def test_indexing_a_view_copies_like_indexing_its_base() -> None:
    # Before: x.reshape(2, 3)[0] followed later changes to x.data, while x[0:2] did not.
    x = Tensor(np.arange(6.0), requires_grad=True)
    through_a_view, direct = x.reshape(2, 3)[0], x[0:2]
    x.data += 100.0
    assert np.array_equal(through_a_view.data, [0.0, 1.0, 2.0])
    assert np.array_equal(direct.data, [0.0, 1.0])


VIEWS: list[Callable[[Tensor], Tensor]] = [
    lambda x: x,
    lambda x: x.reshape(3, 4),
    lambda x: x.reshape(2, 6).T,
    lambda x: x.reshape(1, 12).expand((3, 12)),
    lambda x: x.detach(),
]
INDICES = [0, -1, slice(1, 3), slice(None, None, 2), (Ellipsis, 0), (slice(None), None), ()]


@given(st.sampled_from(VIEWS), st.sampled_from(INDICES))
def test_no_index_of_any_view_shares_memory_with_the_base(view: Callable, index: Any) -> None:
    x = Tensor(np.arange(12.0))
    parent = view(x)
    part = parent[index]
    expected = np.array(parent.data[index], copy=True)
    x.data += 1000.0
    assert not np.shares_memory(part.data, x.data)
    assert np.array_equal(part.data, expected)


# ---- ** at a zero base --------------------------------------------------------------------


@pytest.mark.parametrize("exponent", [Tensor(0.0), Tensor([0.0, 0.0]), np.float64(0.0)], ids=repr)
def test_x_to_a_zero_tensor_power_has_slope_0_at_x_0(exponent) -> None:
    # x⁰ = 1 for every x: slope 0 everywhere, at 0 too, as for x ** 0.0, Value and PyTorch.
    x = leaf(np.array([0.0, 2.0]))
    (x ** exponent).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    x = leaf(np.array([0.0, 2.0]))
    (slope,) = mg.grad((x ** Tensor(0.0)).sum(), [x], create_graph=True)
    np.testing.assert_array_equal(slope.data, [0.0, 0.0])
    assert mg.hessian(lambda t: (t ** Tensor(0.0)).sum(), np.array([0.0, 2.0])).tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("p", [0.5, 1.0])
def test_second_order_of_a_tensor_power_at_base_0_names_the_users_exponent(p: float) -> None:
    # ∂(xᵖ)/∂x = p·xᵖ⁻¹ has no derivative in p at x = 0 for p ≤ 1 (ln 0): the error must
    # name the exponent the user wrote, not the p − 1 built inside the rule.
    x, exponent = leaf(np.array([0.0, 1.0])), leaf(np.array([p, p]))
    loss = (x ** exponent).sum()
    with pytest.raises(ValueError, match=rf"\*\*: .*base 0\.0.*exponent {p}\b") as caught:
        mg.grad(loss, [x, exponent], create_graph=True)
    assert f"exponent {p - 1}" not in str(caught.value)
    with pytest.raises(ValueError, match=rf"exponent {p}\b"):
        mg.hvp(lambda a, b: (a ** b).sum(), [np.array([0.0, 1.0]), np.array([p, p])],
               [np.ones(2), np.ones(2)])


def test_second_order_of_a_tensor_power_at_base_0_above_1_matches_torch_values() -> None:
    # p = 2 at x = 0: ∂²/∂x² = p(p−1)x^(p−2) = 2, ∂²/∂x∂p = x^(p−1)(1 + p ln x) → 0.
    products = mg.hvp(lambda a, b: (a ** b).sum(), [np.array([0.0]), np.array([2.0])],
                      [np.ones(1), np.zeros(1)])
    np.testing.assert_allclose(products[0], [2.0])
    np.testing.assert_allclose(products[1], [0.0])


# ---- dtype policy: a leaf's gradient has the leaf's dtype -------------------------------------

DTYPE_OPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / (b * b + 1.0), "**": lambda a, b: (a * a + 1.0) ** b,
    "@": lambda a, b: a @ b.T, "max": lambda a, b: (a + b).max(axis=0),
    "concatenate": lambda a, b: mg.concatenate([a, b]), "stack": lambda a, b: mg.stack([a, b]),
    "index": lambda a, b: a[np.array([0, 0])] * b[0], "linear": lambda a, b: linear(a, b, b[:, 0]),
    "softmax": lambda a, b: (a * b).softmax(-1), "tanh·sigmoid": lambda a, b: a.tanh() * b.sigmoid(),
}


@pytest.mark.parametrize("op", DTYPE_OPS, ids=list(DTYPE_OPS))
@given(first=st.sampled_from([np.float32, np.float64]), second=st.sampled_from([np.float32, np.float64]),
       data=st.data())
def test_every_leaf_gradient_has_the_leafs_own_dtype(op: str, first, second, data) -> None:
    a = Tensor(data.draw(arrays((2, 2))).astype(first), requires_grad=True)
    b = Tensor(data.draw(arrays((2, 2))).astype(second), requires_grad=True)
    out = DTYPE_OPS[op](a, b)
    out.backward(np.ones(out.shape))
    assert a.grad.dtype == first and b.grad.dtype == second
    # The same numbers as the float64 computation, to float32 precision.
    a64, b64 = (Tensor(t.data.astype(np.float64), requires_grad=True) for t in (a, b))
    DTYPE_OPS[op](a64, b64).backward(np.ones(out.shape))
    np.testing.assert_allclose(a.grad, a64.grad, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.grad, b64.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("decorate", [mg.no_grad, mg.no_grad()], ids=["@no_grad", "@no_grad()"])
def test_no_grad_on_a_generator_function_records_nothing_while_it_runs(decorate) -> None:
    """As in PyTorch: the body runs with recording off at every resume, the caller's mode
    between (it ran with recording on: the decorator left the block at the first call)."""
    x = leaf(np.array([1.0, -2.0]))
    seen: list[bool] = []

    @decorate
    def scaled(scales):
        for scale in scales:
            seen.append(mg.is_grad_enabled())
            received = yield x * scale
            seen.append(received)
        return "done"

    steps = scaled([2.0, 3.0])
    first = next(steps)
    assert mg.is_grad_enabled()  # the caller records between resumes
    second = steps.send("sent")
    assert not first.requires_grad and not second.requires_grad
    with pytest.raises(StopIteration) as stop:
        steps.send("again")
    assert stop.value.value == "done"
    assert seen == [False, "sent", False, "again"]
    assert mg.is_grad_enabled()
