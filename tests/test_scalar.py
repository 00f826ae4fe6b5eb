"""Tests for `microgradvg.engine.value.Value`.

Random expression DAGs and every single op are checked against central
differences in float64, and + − × ÷ against Python's own float arithmetic, bit
for bit; numerics at ±1000 and the precision of σ′ and tanh′ against 60-digit
`decimal` arithmetic; a million-op chain; accumulation rules; the error messages.
(`gradcheck` itself is tested in test_testing.py.)
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import OPS_BY_NAME, SCALAR_OPS, Expression, ScalarOp, expressions, reachable

from microgradvg import Value, zero_grad
from microgradvg.testing import gradcheck

# ---- random DAGs against central differences ------------------------------------------


@given(expressions())
def test_every_leaf_gradient_of_a_random_dag_matches_central_differences(expression: Expression):
    gradcheck(expression.build, *expression.leaves)


@given(expressions())
def test_the_drawn_graph_and_a_rebuilt_one_agree(expression: Expression):
    rebuilt = expression.build(*expression.leaves)
    assert rebuilt.data == expression.root.data
    expression.root.backward()
    first = [leaf.grad for leaf in expression.leaves]
    zero_grad(expression.root)
    rebuilt.backward()
    assert [leaf.grad for leaf in expression.leaves] == first


@given(expressions())
def test_backward_twice_doubles_leaf_gradients_and_recomputes_the_others(expression: Expression):
    root = expression.root
    nodes = list(reachable(root).values())
    root.backward()
    first = {id(node): node.grad for node in nodes}
    root.backward()
    for node in nodes:
        if node.parents:
            assert node.grad == first[id(node)], node
        else:
            assert node.grad == 2 * first[id(node)], node  # exactly: old + the same new gradient
    assert root.grad == 1.0


@given(expressions())
def test_zero_grad_resets_every_node_of_a_random_dag(expression: Expression):
    expression.root.backward()
    zero_grad(expression.root)
    assert all(node.grad == 0.0 for node in reachable(expression.root).values())


# ---- each op on its own: data and recorded local derivatives --------------------------


def _central_difference(op: ScalarOp, xs: list[float], constant, j: int) -> float:
    h = 1e-6 * max(1.0, abs(xs[j]))
    above = xs[:j] + [xs[j] + h] + xs[j + 1 :]
    below = xs[:j] + [xs[j] - h] + xs[j + 1 :]
    return (op.reference(above, constant) - op.reference(below, constant)) / (2 * h)


@pytest.mark.parametrize("op", SCALAR_OPS, ids=repr)
@given(data=st.data())
def test_each_op_records_its_local_derivatives(op: ScalarOp, data: st.DataObject):
    arity = data.draw(op.arity(), label="arity")
    xs = [data.draw(op.domain(j).floats, label=f"x{j}") for j in range(arity)]
    constant = data.draw(op.constants, label="constant") if op.constants is not None else None
    operands = [Value(x) for x in xs]

    node = op.apply(operands, constant)

    assert node.op == op.op
    assert len(node.parents) == arity and all(p is v for p, v in zip(node.parents, operands))
    assert isinstance(node.data, float)
    if op.exact:  # one IEEE operation: the same bits as Python's float arithmetic
        assert node.data == op.reference(xs, constant)
    else:
        assert node.data == pytest.approx(op.reference(xs, constant), rel=1e-12, abs=1e-12)
    assert len(node.local_derivatives) == arity
    for j in range(arity):
        assert isinstance(node.local_derivatives[j], float)
        assert node.factor(j) == node.local_derivatives[j]
        if op.domain(j).fixed:
            continue  # a base of exactly 0: not differentiable across it
        numeric = _central_difference(op, xs, constant, j)
        assert node.local_derivatives[j] == pytest.approx(numeric, rel=1e-6, abs=1e-8), j


def test_the_catalogue_covers_every_value_operation():
    operators = {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                 "__truediv__", "__rtruediv__", "__pow__", "__rpow__", "__neg__"}
    assert operators <= set(dir(Value))
    covered_ops = {op.op for op in SCALAR_OPS}
    assert covered_ops == {"+", "-", "*", "/", "**", "neg", "exp", "log", "tanh", "sigmoid",
                           "relu", "linear"}
    names = set(OPS_BY_NAME)
    assert {"a+c", "c+a", "a-c", "c-a", "a*c", "c*a", "a/c", "c/a", "c**a", "a**b"} <= names


@pytest.mark.parametrize(
    ("build", "gradient"),
    [
        (lambda a: a + a, lambda a: 2.0),
        (lambda a: a - a, lambda a: 0.0),
        (lambda a: a * a, lambda a: 2 * a),
        (lambda a: a / a, lambda a: 0.0),
        (lambda a: a**a, lambda a: a**a * (1 + math.log(a))),
        (lambda a: Value.sum([a, a, a]), lambda a: 3.0),
        (lambda a: Value.linear([a, a], [a, a], a), lambda a: 4 * a + 1),  # z = 2a² + a
    ],
    ids=["a+a", "a-a", "a*a", "a/a", "a**a", "sum(a,a,a)", "linear(a,a;a,a;a)"],
)
def test_the_same_node_on_several_edges_sums_their_contributions(build, gradient):
    a = Value(1.7)
    build(a).backward()
    assert a.grad == pytest.approx(gradient(1.7), rel=1e-14, abs=1e-14)


def test_a_times_a_has_two_edges_each_with_factor_a():
    a = Value(3.0)
    b = a * a
    assert len(b.parents) == 2 and b.parents[0] is a and b.parents[1] is a
    assert b.local_derivatives == (3.0, 3.0)
    b.backward()
    assert a.grad == 6.0


def test_shared_sub_expressions_accumulate():
    a = Value(0.5)
    b = a + a
    c = b + b
    c.backward()
    assert (a.grad, b.grad, c.grad) == (4.0, 2.0, 1.0)


def test_relu_derivative_is_zero_at_and_below_zero():
    for x, out, slope in [(-2.0, 0.0, 0.0), (0.0, 0.0, 0.0), (2.0, 2.0, 1.0)]:
        node = Value(x).relu()
        assert (node.data, node.local_derivatives) == (out, (slope,))


# ---- numerics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "function", "expected"),
    [
        (1000.0, "sigmoid", 1.0),
        (-1000.0, "sigmoid", 0.0),
        (1000.0, "tanh", 1.0),
        (-1000.0, "tanh", -1.0),
    ],
)
def test_sigmoid_and_tanh_at_plus_minus_1000_are_exact_with_zero_gradient(x, function, expected):
    a = Value(x)
    out = getattr(a, function)()
    assert out.data == expected
    out.backward()
    assert a.grad == 0.0 and not math.isnan(a.grad)


def _decimal_sigmoid(x: float) -> tuple[float, float]:
    """σ(x) and σ′(x) = σ(x)·σ(−x), in 60-digit decimal arithmetic."""
    with localcontext() as context:
        context.prec = 60
        s = 1 / (1 + (-Decimal(x)).exp())
        s_of_minus_x = 1 / (1 + Decimal(x).exp())  # 1 − s, without the cancellation
        return float(s), float(s * s_of_minus_x)


def _decimal_tanh(x: float) -> tuple[float, float]:
    """tanh x = (e²ˣ − 1)/(e²ˣ + 1) and tanh′x = 1/cosh²x, in 60-digit decimals."""
    with localcontext() as context:
        context.prec = 60
        e2 = (2 * Decimal(x)).exp()
        cosh = (Decimal(x).exp() + (-Decimal(x)).exp()) / 2
        return float((e2 - 1) / (e2 + 1)), float(1 / (cosh * cosh))


@pytest.mark.parametrize("x", [0.5, -0.5, 5.0, -5.0, 20.0, -20.0, 30.0, -30.0, 300.0, -300.0])
def test_sigmoid_and_tanh_derivatives_are_accurate_to_a_few_ulps(x):
    for function, reference in [("sigmoid", _decimal_sigmoid), ("tanh", _decimal_tanh)]:
        value, slope = reference(x)
        node = getattr(Value(x), function)()
        assert node.data == pytest.approx(value, rel=1e-15, abs=0.0), function
        assert node.local_derivatives[0] == pytest.approx(slope, rel=1e-15, abs=0.0), function


@pytest.mark.parametrize("x", [700.0, -700.0])
def test_sigmoid_stays_accurate_near_the_float_range(x):
    value, slope = _decimal_sigmoid(x)
    node = Value(x).sigmoid()
    assert node.data == pytest.approx(value, rel=1e-15, abs=0.0)
    assert node.local_derivatives[0] == pytest.approx(slope, rel=1e-14, abs=0.0)


def test_exp_accepts_exactly_what_math_exp_accepts():
    largest = math.log(sys.float_info.max)
    assert Value(largest).exp().data == math.exp(largest)
    beyond = math.nextafter(largest, math.inf)
    while True:  # the first float whose exp overflows
        try:
            math.exp(beyond)
        except OverflowError:
            break
        assert Value(beyond).exp().data == math.exp(beyond)
        beyond = math.nextafter(beyond, math.inf)
    with pytest.raises(OverflowError):
        Value(beyond).exp()


def test_a_chain_of_a_million_ops_backpropagates(collector_paused):
    n, factor = 1_000_000, 1.0000001
    x = Value(1.0, "x")
    y = x
    for _ in range(n):
        y = y * factor
    y.backward()  # no RecursionError
    with localcontext() as context:
        context.prec = 50
        expected = float(Decimal(factor) ** n)  # ∂y/∂x = factorⁿ, from the exact float factor
    assert x.grad == pytest.approx(expected, rel=1e-9)
    assert y.data == pytest.approx(expected, rel=1e-9)


# ---- accumulation -----------------------------------------------------------------------


def test_leaves_accumulate_across_backward_calls_and_intermediates_do_not():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    d.backward()
    assert (a.grad, b.grad, c.grad, d.grad) == (-2.0, 2.0, 1.0, 1.0)  # ∂d/∂a = b + 1
    d.backward()
    assert (a.grad, b.grad, c.grad, d.grad) == (-4.0, 4.0, 1.0, 1.0)


def test_backward_of_a_leaf_accumulates_one():
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


def test_zero_grad_resets_every_node_and_the_next_backward_starts_afresh():
    a, b = Value(2.0), Value(-3.0)
    c = (a * b).tanh() + a
    c.backward()
    zero_grad(c)
    assert all(node.grad == 0.0 for node in reachable(c).values())
    c.backward()
    assert a.grad == pytest.approx(-3.0 / math.cosh(-6.0) ** 2 + 1, rel=1e-12)


def test_value_zero_grad_resets_one_node():
    a = Value(1.0)
    a.grad = 3.0
    a.zero_grad()
    assert a.grad == 0.0


# ---- rounding and overflow like Python's floats (review A3, A9) -------------------------


@pytest.mark.parametrize(
    ("a", "b"), [(3.0, 10.0), (1.0, 3.0), (2.0, 7.0), (0.7, 0.1), (1e-300, 5e-324), (1e300, 1e-10)]
)
def test_value_division_is_one_correctly_rounded_division(a, b):
    # a·(1/b) rounds twice: 3/10 would be 0.30000000000000004, and 1e-300/5e-324 infinite.
    assert (Value(a) / Value(b)).data == a / b
    assert (Value(a) / b).data == a / b and (a / Value(b)).data == a / b


def test_a_tiny_divisor_gives_a_finite_quotient():
    quotient = (Value(1e-300) / Value(5e-324)).data
    assert math.isfinite(quotient) and quotient == 1e-300 / 5e-324


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: Value.sum([Value(1e308)] * 2), math.inf),
        (lambda: Value.sum([Value(-1e308), Value(-1e308), Value(1.0)]), -math.inf),
        (lambda: Value.linear([Value(1e308)] * 2, [Value(1.0)] * 2, Value(0.0)), math.inf),
        (lambda: Value.sum([Value(math.inf), Value(1.0)]), math.inf),
    ],
    ids=["sum 2e308", "sum -2e308", "linear 2e308", "sum inf"],
)
def test_sum_and_linear_overflow_to_infinity_like_plus(build, expected):
    assert build().data == expected
    assert (Value(1e308) + Value(1e308)).data == math.inf  # what + does, for comparison


def test_sum_of_opposite_infinities_is_nan_like_plus():
    assert math.isnan(Value.sum([Value(math.inf), Value(-math.inf)]).data)
    assert math.isnan((Value(math.inf) + Value(-math.inf)).data)


def test_sum_is_still_correctly_rounded_where_it_is_finite():
    # Left to right, 1e16 + 1 + 1 − 1e16 is 0 (each 1 is lost); the exact sum is 2.
    assert Value.sum([Value(1e16), Value(1.0), Value(1.0), Value(-1e16)]).data == 2.0


# ---- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: Value(0.0).log(), ValueError, ["log", "0.0"]),
        (lambda: Value(-1.0).log(), ValueError, ["log", "-1.0"]),
        (lambda: Value(-2.0) ** 0.5, ValueError, ["**", "-2.0", "0.5"]),
        (lambda: Value(-2.0) ** Value(1.5), ValueError, ["**", "-2.0"]),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, ["**", "-2.0"]),
        (lambda: (-2) ** Value(0.5), ValueError, ["**", "-2"]),
        (lambda: (-2) ** Value(2.0), ValueError, ["**", "-2"]),
        (lambda: 2 ** Value(2000.0), OverflowError, ["**", "2", "2000"]),
        (lambda: Value(10.0) ** 400, OverflowError, ["**", "10.0", "400"]),
        (lambda: Value(0.0) ** -1, ValueError, ["**", "0.0", "-1"]),
        (lambda: 0 ** Value(-1.0), ValueError, ["**", "0", "-1"]),
        (lambda: Value(0.0) ** 0.5, ValueError, ["**", "0.0", "0.5"]),
        (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, ["/", "1.0", "0"]),
        (lambda: Value(1.5) / 0, ZeroDivisionError, ["/", "1.5", "0"]),
        (lambda: 7 / Value(0.0), ZeroDivisionError, ["/", "7", "0"]),
        (lambda: Value("x"), TypeError, ["Value", "'x'"]),
        (lambda: Value(None), TypeError, ["Value", "None"]),
        (lambda: Value(1000.0).exp(), OverflowError, ["exp", "1000.0"]),
        (lambda: Value.sum([Value(1.0), 2.5]), TypeError, ["sum", "2.5"]),
        (lambda: Value.linear([Value(1.0)], [Value(1.0), Value(2.0)], Value(0.0)), ValueError,
         ["linear", "1", "2"]),
        (lambda: Value.linear([0.25], [Value(1.0)], Value(0.0)), TypeError, ["linear", "0.25"]),
    ],
    ids=[
        "log(0)", "log(-1)", "(-2)**0.5", "(-2)**Value(1.5)", "(-2)**Value(2)", "-2**Value(0.5)",
        "-2**Value(2)", "2**Value(2000)", "10**400", "0**-1", "0**Value(-1)", "0**0.5",
        "1/Value(0)", "1.5/0", "7/Value(0)", "Value('x')", "Value(None)", "exp(1000)",
        "sum(non-Value)", "linear(mismatch)", "linear(non-Value)",
    ],
)
def test_errors_name_the_op_and_the_values(make, error, words):
    with pytest.raises(error) as raised:
        make()
    message = str(raised.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_numbers_that_are_not_real_are_refused_by_ops():
    with pytest.raises(TypeError):
        Value(1.0) + "2"
    with pytest.raises(TypeError):
        Value(1.0) * [2.0]


# ---- numbers of other types ------------------------------------------------------------


def test_leaves_store_plain_floats():
    for data in [3, 2.5, True, np.float64(1.25), np.int64(4), np.float32(0.5)]:
        assert type(Value(data).data) is float


NUMPY_CONSTANT_OPS = ["a+c", "c+a", "a-c", "c-a", "a*c", "c*a", "a/c", "c/a", "a**int", "c**a"]


@pytest.mark.parametrize("name", NUMPY_CONSTANT_OPS)
@pytest.mark.parametrize("constant", [np.float32(3.0), np.float64(3.0), np.int64(3)], ids=repr)
def test_numpy_scalar_constants_compute_in_float64(name, constant):
    # A float32 constant (a pixel of a float32 image, say) must not pull the Value
    # down to float32 arithmetic. 0.1 is not a float32 number, so float32 would show.
    a = 0.1
    node = OPS_BY_NAME[name].apply([Value(a)], constant)
    expected = OPS_BY_NAME[name].reference([a], float(constant))
    assert type(node.data) is float  # plain floats, as the design promises
    if OPS_BY_NAME[name].exact:
        assert node.data == expected  # float64 arithmetic, rounded once
    else:
        assert node.data == pytest.approx(expected, rel=1e-15)
    assert all(type(derivative) is float for derivative in node.local_derivatives)


# ---- repr -------------------------------------------------------------------------------


def test_repr_shows_data_grad_and_label():
    w = Value(2.5, label="weight")
    text = repr(w)
    assert "2.5" in text and "grad=0" in text and "weight" in text
    y = w * w
    y.backward()
    assert "grad=5" in repr(w)
    assert "6.25" in repr(y) and "*" in repr(y)


def test_a_custom_operation_is_one_node_with_the_given_factors():
    x, y = Value(0.7), Value(-1.2)
    out = Value.custom(x.data * math.sin(y.data), [x, y], [math.sin(y.data), x.data * math.cos(y.data)], "xsin")
    assert (out.op, out.parents, out.data) == ("xsin", (x, y), 0.7 * math.sin(-1.2))
    assert out.local_derivatives == (math.sin(-1.2), 0.7 * math.cos(-1.2))
    gradcheck(lambda a, b: Value.custom(
        a.data * math.sin(b.data), [a, b], [math.sin(b.data), a.data * math.cos(b.data)], "xsin"
    ), x, y)


def test_a_custom_operation_with_a_wrong_factor_fails_gradcheck():
    def cube(a):  # ∂a³/∂a is 3a², not 2a²
        return Value.custom(a.data**3, [a], [2 * a.data**2], "cube")

    with pytest.raises(AssertionError, match="differ"):
        gradcheck(cube, Value(1.5))


@pytest.mark.parametrize(
    ("parents", "slopes", "error", "message"),
    [([1.0], [1.0], TypeError, "expected Values"), ([Value(1.0)], [], ValueError, "1 parents but 0"),
     ([Value(1.0)], ["x"], TypeError, "real numbers")],
)
def test_a_custom_operation_checks_its_arguments(parents, slopes, error, message):
    with pytest.raises(error, match=message):
        Value.custom(1.0, parents, slopes, "mine")
