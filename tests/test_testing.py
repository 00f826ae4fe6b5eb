"""Tests for `microgradvg.testing`: `gradcheck` and the hypothesis strategies.

`gradcheck` must pass correct gradients, catch wrong ones (and say where),
apply its documented tolerance and central-difference formula, seed the
cotangent of a Tensor output, leave its inputs as it found them, and refuse
what it cannot check. The strategies must draw what their docstrings promise.
"""

from __future__ import annotations

import doctest
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradvg.testing
from microgradvg import Tensor, Value
from microgradvg.testing import (
    arrays,
    broadcastable_shapes,
    gradcheck,
    shapes,
    tensors,
    values,
)


def half_the_gradient(a: Value) -> Value:
    """a · (a constant copy of a): the engine sees ∂/∂a = a, the function has 2a."""
    return a * Value(a.data)


def reported(message: str) -> list[tuple[float, float]]:
    """(analytic, numeric) of each element a gradcheck failure lists, in order."""
    return [
        (float(a), float(n)) for a, n in re.findall(r"analytic (\S+), numeric (\S+),", message)
    ]


# ---- passing checks and the report ----------------------------------------------------------


def test_gradcheck_passes_and_reports_what_it_compared():
    x, y = Value(0.3, "x"), Value(-1.2, "y")
    report = gradcheck(lambda a, b: (a * b).sigmoid() + a.exp() / b, x, y)
    assert report.elements == 2 and report.max_abs_error < 1e-8
    # ∂/∂x = y σ′(xy) + eˣ/y, by hand
    s = 1 / (1 + math.exp(0.36))
    assert x.grad == pytest.approx(-1.2 * s * (1 - s) + math.exp(0.3) / -1.2, rel=1e-12)


def test_the_report_holds_the_largest_errors_it_let_through():
    x = Value(1.5)
    report = gradcheck(half_the_gradient, x, atol=2.0)  # analytic 1.5, numeric 3.0
    assert report.elements == 1
    assert report.max_abs_error == pytest.approx(1.5, rel=1e-8)
    assert report.max_rel_error == pytest.approx(0.5, rel=1e-8)  # relative to the larger of the two


def test_gradcheck_is_not_fooled_by_previously_accumulated_gradients():
    x = Value(0.4)
    x.grad = 100.0
    gradcheck(lambda a: a * a, x)
    assert x.grad == pytest.approx(0.8)


# ---- failing checks ---------------------------------------------------------------------------


def test_gradcheck_catches_a_wrong_gradient_and_says_where():
    x, y = Value(1.5, "x"), Value(2.0, "y")
    with pytest.raises(AssertionError) as raised:
        gradcheck(lambda a, b: half_the_gradient(a) + b, x, y)
    message = str(raised.value)
    assert "1 of 2" in message and "input 0" in message and "'x'" in message
    ((analytic, numeric),) = reported(message)
    assert analytic == 1.5 and numeric == pytest.approx(3.0, rel=1e-8)
    assert (x.data, y.data) == (1.5, 2.0)


def test_gradcheck_catches_a_wrong_recorded_factor():
    def f(a: Value) -> Value:
        out = a.tanh()
        out.local_derivatives = (1.0 - out.data,)  # a plausible slip for 1 − tanh²
        return out

    with pytest.raises(AssertionError, match="1 of 1"):
        gradcheck(f, Value(0.7))


def test_a_nan_gradient_fails():
    def f(a: Value) -> Value:
        out = a * 2.0
        out.local_derivatives = (math.nan,)
        return out

    with pytest.raises(AssertionError, match="1 of 1"):
        gradcheck(f, Value(0.5))


@pytest.mark.parametrize(
    ("atol", "rtol", "passes"),
    [
        (1.6, 0.0, True),
        (1.4, 0.0, False),
        (0.0, 0.51, True),  # 0.51 · |numeric 3.0| = 1.53 ≥ 1.5
        (0.0, 0.49, False),
        (0.0, 0.99, True),  # would fail if rtol were taken of |analytic 1.5|: 0.99 · 1.5 < 1.5
    ],
)
def test_the_tolerance_is_atol_plus_rtol_times_the_numeric_derivative(atol, rtol, passes):
    x = Value(1.5)  # analytic 1.5, numeric 3.0: they differ by 1.5
    if passes:
        gradcheck(half_the_gradient, x, atol=atol, rtol=rtol)
    else:
        with pytest.raises(AssertionError, match="1 of 1"):
            gradcheck(half_the_gradient, x, atol=atol, rtol=rtol)


def test_the_numeric_derivative_is_the_central_difference_with_the_given_eps():
    # (f(1 + e) − f(1 − e)) / 2e for f = x³ is 3 + e²: with e = 0.01, 3.0001, off by 1e-4.
    with pytest.raises(AssertionError) as raised:
        gradcheck(lambda a: a**3, Value(1.0), eps=0.01)
    ((analytic, numeric),) = reported(str(raised.value))
    assert analytic == 3.0 and numeric == pytest.approx(3.0001, rel=1e-9)
    gradcheck(lambda a: a**3, Value(1.0), eps=1e-6)


def test_a_long_failure_lists_the_worst_ten_and_counts_the_rest():
    x = Tensor(np.arange(1.0, 13.0), requires_grad=True)  # 12 elements, all wrong
    with pytest.raises(AssertionError) as raised:
        gradcheck(lambda t: (t * t.detach()).sum(), x)  # ∂/∂t is 2t, the graph says t
    message = str(raised.value)
    assert message.startswith("gradcheck: 12 of 12")
    pairs = reported(message)
    assert len(pairs) == 10 and "… and 2 more" in message
    errors = [abs(a - n) for a, n in pairs]
    assert errors == sorted(errors, reverse=True)  # worst first: t = 12, 11, …, 3
    assert pairs[0][0] == 12.0 and pairs[0][1] == pytest.approx(24.0, rel=1e-8)


def test_gradcheck_restores_inputs_when_f_raises():
    x = Value(0.1)

    def f(a: Value) -> Value:
        if a.data != 0.1:
            raise RuntimeError("boom")
        return a * 2

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(f, x)
    assert x.data == 0.1


# ---- Tensors ----------------------------------------------------------------------------------


def test_gradcheck_on_tensors_and_mixed_inputs():
    array = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)
    t = Tensor(array, requires_grad=True)
    data = t.data
    v = Value(0.3)
    report = gradcheck(lambda a, b: (a * a).tanh() * 2.0, t, v)  # any-shape output: a seeded VJP
    assert report.elements == 7
    assert t.data is data and t.data.dtype == np.float32 and t.grad.dtype == np.float32
    assert v.grad == 0.0  # the output does not depend on v
    with pytest.raises(AssertionError, match="6 of 6"):
        gradcheck(lambda a: (a * a.detach()).sum(), t)  # ∂/∂a is 2a, the graph says a
    assert t.data is data


def test_a_tensor_output_is_checked_through_a_seeded_random_cotangent():
    x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    gradcheck(lambda t: t * 3.0, x)
    u = np.random.default_rng(0).standard_normal((2, 2))  # the documented seed
    np.testing.assert_array_equal(x.grad, 3.0 * u)
    first = x.grad.copy()
    gradcheck(lambda t: t * 3.0, x)
    np.testing.assert_array_equal(x.grad, first)  # the same cotangent every time


def test_a_one_element_tensor_output_of_any_shape_is_differentiated_directly():
    x = Tensor(np.array([2.0, -1.0]), requires_grad=True)
    gradcheck(lambda t: (t * t).sum().reshape(1, 1), x)
    np.testing.assert_array_equal(x.grad, [4.0, -2.0])


def test_an_output_that_ignores_a_tensor_input_is_compared_as_zero_gradient():
    x = Tensor(np.ones(3), requires_grad=True)
    report = gradcheck(lambda t: Tensor(np.ones(2)) * 2.0, x)
    assert report.elements == 3 and report.max_abs_error == 0.0
    assert x.grad is None  # no backward pass reached it


def test_float32_inputs_are_checked_in_float64():
    # In float32, x ± 1e-6 rounds back to x near 3, and the central difference would be 0.
    x = Tensor(np.array([3.0, -2.5], dtype=np.float32), requires_grad=True)
    gradcheck(lambda t: (t * t).sum(), x)
    assert x.data.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [6.0, -5.0], rtol=1e-6)


def test_constant_tensors_are_passed_but_not_checked():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = Tensor(np.array([3.0, -1.0]))
    report = gradcheck(lambda a, b: (a * b).sum(), x, c)
    assert report.elements == 2 and c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, -1.0])


def test_gradcheck_refuses_what_it_cannot_check():
    with pytest.raises(TypeError, match="input 0"):
        gradcheck(lambda a: a, 1.0)
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda a: a.sum(), Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="Value or a Tensor"):
        gradcheck(lambda a: a.data, Value(1.0))


def test_the_examples_in_the_testing_module_run():
    result = doctest.testmod(microgradvg.testing, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ---- strategies ---------------------------------------------------------------------------------


@given(values(), values(-1, 1, label="w"))
def test_values_strategy_draws_leaves_in_range(a, b):
    assert not a.parents and -3 <= a.data <= 3 and -1 <= b.data <= 1
    assert type(a.data) is float and b.label == "w"


@given(arrays((2, 3), -0.5, 0.25, dtype=np.float32), arrays(shapes(max_dims=2)))
def test_arrays_strategy_has_the_shape_dtype_and_range(small, any_shape):
    assert small.shape == (2, 3) and small.dtype == np.float32
    assert np.all((small >= -0.5) & (small <= 0.25))
    assert any_shape.dtype == np.float64 and any_shape.ndim <= 2
    assert np.all(np.isfinite(any_shape)) and np.all(np.abs(any_shape) <= 3)


@given(tensors((3,)), tensors((), requires_grad=False, dtype=np.float32))
def test_tensors_strategy_draws_leaves(t, constant):
    assert t.requires_grad and not t.parents and t.shape == (3,) and t.dtype == np.float64
    assert not constant.requires_grad and constant.shape == () and constant.dtype == np.float32


@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
def test_shapes_strategy_respects_its_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= n <= 3 for n in shape)


@given(st.data())
def test_broadcastable_shapes_broadcast_to_exactly_the_target(data):
    target = data.draw(shapes(max_dims=3))
    a, b = data.draw(broadcastable_shapes(target))
    assert np.broadcast_shapes(a, b) == target
    assert max(len(a), len(b)) == len(target)


@given(shapes(max_dims=3).flatmap(lambda s: st.tuples(st.just(s), broadcastable_shapes(st.just(s)))))
def test_broadcastable_shapes_accepts_a_strategy_of_targets(drawn):
    target, (a, b) = drawn
    assert np.broadcast_shapes(a, b) == target
