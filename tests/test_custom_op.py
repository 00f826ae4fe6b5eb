"""Tests for `microgradvg.engine.extend`: your own Tensor op, `Tensor.custom`.

A custom op's gradients match central differences alone and among built-in
ops, its factor's Jacobian matches finite differences, chains and pictures see
it, and `grad(..., create_graph=True)` differentiates through a rule written with
Tensor-compatible operations. A rule that returns the wrong number, shape or kind
of gradient is an error that names the op, never a silently wrong gradient.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import leaf

import microgradvg as mg
import microgradvg.engine.tensor
from microgradvg import Tensor, Value, grad, no_grad
from microgradvg.engine.backprop import RULES
from microgradvg.engine.extend import sum_to, unregister
from microgradvg.render import draw_graph
from microgradvg.testing import arrays, broadcastable_shapes, gradcheck, shapes, tensors

# The rule table before this module registers anything: the built-in ops.
BUILT_IN_OPS = sorted(RULES)


@pytest.fixture(autouse=True)
def rule_table_restored() -> Iterator[None]:
    """Each test's custom ops leave the table with it (test_rules.py checks it holds exactly
    the built-in ops)."""
    before = dict(RULES)
    yield
    RULES.clear()
    RULES.update(before)


# ---- the ops under test: each rule defined once, written for ndarrays and Tensors alike ----


def softplus_vjp(g, out, inputs, ctx, needs) -> tuple:
    """∂softplus(x)/∂x = σ(x)."""
    (x,) = inputs
    slope = x.sigmoid() if isinstance(x, Tensor) else 1.0 / (1.0 + np.exp(-x))
    return (g * slope,)


def softplus(x: Tensor) -> Tensor:
    """softplus(x) = ln(1 + eˣ), elementwise, as one node."""
    return Tensor.custom(np.logaddexp(0.0, x.data), [x], softplus_vjp, "softplus")


def softplus_by_built_ins(x: Tensor) -> Tensor:
    return (1.0 + x.exp()).log()


def square_times_vjp(g, out, inputs, ctx, needs) -> tuple:
    """f(a, b) = a²b, broadcast: ∂f/∂a = 2ab, ∂f/∂b = a², each summed back to its input's shape."""
    a, b = inputs
    return (
        sum_to(g * 2.0 * a * b, a.shape) if needs[0] else None,
        sum_to(g * a * a, b.shape) if needs[1] else None,
    )


def square_times(a: Tensor, b: Tensor) -> Tensor:
    return Tensor.custom(a.data**2 * b.data, [a, b], square_times_vjp, "square_times")


def first_derivative(f: Callable[..., Tensor], index: int) -> Callable[..., Tensor]:
    """x ↦ ∂(Σ f)/∂(input `index`) as a graph, to be checked by differences of itself."""

    def derivative(*inputs: Tensor) -> Tensor:
        return grad(f(*inputs).sum(), inputs[index], create_graph=True)[0]

    return derivative


def numeric_jacobian(
    f: Callable[..., np.ndarray], values: list[np.ndarray], index: int
) -> np.ndarray:
    """J[i, j] = ∂f(values)ᵢ/∂values[index]ⱼ by central differences, in plain numpy."""
    eps = 1e-6
    x = values[index]
    columns = []
    for j in range(x.size):
        moved = [v.copy() for v in values]
        moved[index].reshape(-1)[j] += eps
        above = np.asarray(f(*moved))
        moved[index].reshape(-1)[j] -= 2 * eps
        below = np.asarray(f(*moved))
        columns.append(((above - below) / (2 * eps)).reshape(-1))
    return np.stack(columns, axis=1)


# ---- gradients against central differences ------------------------------------------------


@given(tensors(shapes(max_dims=3)))
def test_a_custom_unary_op_passes_gradcheck(x: Tensor) -> None:
    gradcheck(softplus, x)


@given(broadcastable_shapes(shapes(max_dims=3)), st.data())
def test_a_custom_op_on_broadcast_operands_passes_gradcheck(pair, data) -> None:
    a = data.draw(tensors(pair[0]), label="a")
    b = data.draw(tensors(pair[1]), label="b")
    gradcheck(square_times, a, b)
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@given(tensors((3, 4)), tensors((4, 2)), arrays((3, 2)))
def test_a_custom_op_among_built_in_ops_matches_the_same_function_built_in(x, w, target) -> None:
    def loss(x: Tensor, w: Tensor, activation: Callable[[Tensor], Tensor]) -> Tensor:
        z = x @ w  # (3, 2)
        return ((activation(z) * z.tanh() - target) ** 2).mean()

    gradcheck(lambda x, w: loss(x, w, softplus), x, w)
    custom_grads = x.grad.copy(), w.grad.copy()
    x2, w2 = leaf(x.data), leaf(w.data)
    loss(x2, w2, softplus_by_built_ins).backward()
    np.testing.assert_allclose(custom_grads[0], x2.grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(custom_grads[1], w2.grad, rtol=1e-10, atol=1e-12)


@given(tensors(shapes(max_dims=2)))
def test_a_custom_op_can_be_used_twice_in_one_graph(x: Tensor) -> None:
    report = gradcheck(lambda x: softplus(softplus(x) * x), x)
    assert report.elements == x.size


def record_needs_vjp(g, out, inputs, ctx, needs) -> tuple:
    """f(a, c) = a·c; `ctx` is a list that collects the `needs` each call saw."""
    ctx.append(tuple(needs))
    a, c = inputs
    return (g * c if needs[0] else None, g * a if needs[1] else None)


@given(arrays((2, 3)), arrays((2, 3)) | st.floats(-3, 3))
def test_array_and_number_parents_become_constants_that_get_no_gradient(a, constant) -> None:
    x = leaf(a)
    seen: list[tuple[bool, ...]] = []
    y = Tensor.custom(a * constant, [x, constant], record_needs_vjp, "times_constant", ctx=seen)
    assert y.parents[0] is x and not y.parents[1].requires_grad
    y.sum().backward()
    assert seen == [(True, False)]
    np.testing.assert_array_equal(x.grad, np.broadcast_to(constant, a.shape))  # ∂(a·c)/∂a = c
    assert y.parents[1].grad is None


def test_data_takes_the_parents_float_dtype() -> None:
    x32 = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = Tensor.custom([2.0, 4.0], [x32, 3.0], record_needs_vjp, "times_constant", ctx=[])
    assert y.dtype == np.float32 and y.parents[1].dtype == np.float32  # the number took x's dtype
    y.backward(np.ones(2))
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad, [3.0, 3.0])
    x64 = leaf([1.0, 2.0])
    mixed = Tensor.custom([1, 2], [x32, x64], record_needs_vjp, "times_constant", ctx=[])
    assert mixed.dtype == np.float64
    assert Tensor.custom([1, 2], [[1, 2]], record_needs_vjp, "times_constant").dtype == np.float64


def scale_vjp(g, out, inputs, ctx, needs) -> tuple:
    """f(x) = ctx·x, with ctx a constant array: ∂f/∂x = ctx."""
    return (g * ctx,)


def test_gradients_take_their_inputs_dtype() -> None:
    x32 = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    slopes = np.array([3.0, -0.5])  # float64: g·slopes is float64 too
    Tensor.custom(x32.data * slopes, [x32], scale_vjp, "scale", ctx=slopes).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad, slopes)


def test_no_graph_is_recorded_under_no_grad() -> None:
    x = leaf([0.5, -1.0])
    with no_grad():
        y = softplus(x)
    assert not y.requires_grad and y.parents == () and y.op == "softplus"


def test_a_rule_may_build_its_gradients_with_tensors_on_an_ordinary_backward() -> None:
    def vjp(g, out, inputs, ctx, needs) -> tuple:
        return (Tensor(g) * Tensor(inputs[0]).sigmoid(),)  # Tensors, even when given ndarrays

    x = leaf([0.5, -1.0, 2.0])
    gradcheck(lambda x: Tensor.custom(np.logaddexp(0.0, x.data), [x], vjp, "softplus"), x)
    assert type(x.grad) is np.ndarray


# ---- factors, chains and pictures -----------------------------------------------------------


@given(broadcastable_shapes(shapes(max_dims=2)), st.data())
def test_each_factors_jacobian_matches_finite_differences(pair, data) -> None:
    values = [data.draw(arrays(shape)) for shape in pair]
    child = square_times(leaf(values[0]), leaf(values[1]))
    for index, parent in enumerate(child.parents):
        factor = child.factor(index)
        assert factor.op == "square_times" and factor.parent is parent
        expected = numeric_jacobian(lambda a, b: a**2 * b, values, index)
        np.testing.assert_allclose(factor.jacobian(), expected, rtol=1e-6, atol=1e-7)


@given(tensors((2, 3)), st.data())
def test_a_factors_vjp_and_gain_are_g_times_the_jacobian(x: Tensor, data) -> None:
    y = softplus(x)
    factor = y.factor(0)
    assert factor.gain is None  # no backward pass yet
    g = data.draw(arrays((2, 3), 0.1, 2))
    y.backward(g)
    # ∂softplus/∂x = σ(x) on the diagonal, written here without the engine
    jacobian = np.diag(1.0 / (1.0 + np.exp(-x.data.reshape(-1))))
    np.testing.assert_allclose(factor.jacobian(), jacobian, rtol=1e-12)
    np.testing.assert_allclose(factor.vjp(g).reshape(-1), g.reshape(-1) @ jacobian, rtol=1e-12)
    gain = np.linalg.norm(g.reshape(-1) @ jacobian) / np.linalg.norm(g)
    assert factor.gain == pytest.approx(gain, rel=1e-12)


@given(tensors((3,)))
def test_a_chain_through_a_custom_op_sums_to_the_gradient(x: Tensor) -> None:
    loss = (softplus(x) * x).sum()
    loss.backward()
    paths = mg.chain(loss, x).paths()
    assert len(paths) == 2  # x → softplus → *, and x → * directly
    assert any(factor.op == "softplus" for path in paths for factor in path.factors)
    sigma = 1.0 / (1.0 + np.exp(-x.data))
    by_hand = sigma * x.data + np.logaddexp(0.0, x.data)  # ∂(softplus(x)·x)/∂x
    np.testing.assert_allclose(sum(path.product for path in paths), by_hand, rtol=1e-10)
    np.testing.assert_allclose(x.grad, by_hand, rtol=1e-10)


def test_the_graph_picture_names_the_custom_op() -> None:
    x = leaf([0.5, -1.0])
    loss = softplus(x).sum()
    loss.backward()
    source = draw_graph(loss).source
    assert "softplus" in source and "‖J‖" in source


# ---- second derivatives --------------------------------------------------------------------


@given(tensors(shapes(max_dims=2)))
def test_second_derivatives_of_a_custom_op_pass_gradcheck(x: Tensor) -> None:
    slope = first_derivative(softplus, 0)(x)
    assert isinstance(slope, Tensor) and slope.requires_grad  # a graph, not numbers
    np.testing.assert_allclose(slope.data, 1.0 / (1.0 + np.exp(-x.data)), rtol=1e-12)
    gradcheck(first_derivative(softplus, 0), x)


@given(broadcastable_shapes(shapes(max_dims=2)), st.data())
def test_mixed_second_derivatives_of_a_binary_custom_op_pass_gradcheck(pair, data) -> None:
    a = data.draw(tensors(pair[0]), label="a")
    b = data.draw(tensors(pair[1]), label="b")
    for index in (0, 1):
        gradcheck(first_derivative(square_times, index), a, b)


def test_backward_with_create_graph_gives_differentiable_gradients() -> None:
    x = leaf([0.5, -1.0, 2.0])
    (softplus(x) * x).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor)  # σ(x)·x + softplus(x), as a graph
    (slope,) = grad(x.grad.sum(), x)  # ∂/∂x of it: σ'(x)·x + 2σ(x)
    sigma = 1.0 / (1.0 + np.exp(-x.data))
    np.testing.assert_allclose(slope.data, sigma * (1 - sigma) * x.data + 2 * sigma, rtol=1e-12)


# ---- registration ---------------------------------------------------------------------------


def test_the_same_function_can_be_registered_again_and_a_built_in_rule_is_left_alone() -> None:
    built_in = {op: RULES[op] for op in BUILT_IN_OPS}
    x = leaf([0.5, -1.0])
    first, second = softplus(x), softplus(x)
    assert first.op == second.op == "softplus"
    gradcheck(lambda x: softplus(x) + softplus(x), x)
    # the built-in ops keep their rules, unwrapped: the hot path pays nothing for custom ops
    assert all(RULES[op] is rule for op, rule in built_in.items())


@pytest.mark.parametrize("op", BUILT_IN_OPS)
def test_a_built_in_op_name_is_refused(op: str) -> None:
    rule = RULES[op]
    with pytest.raises(ValueError, match="built-in") as error:
        Tensor.custom([1.0], [leaf([1.0])], softplus_vjp, op)
    assert repr(op) in str(error.value)
    assert RULES[op] is rule
    with pytest.raises(ValueError, match="built-in"):
        unregister(op)


def test_another_function_under_a_registered_name_is_refused_until_unregistered() -> None:
    x = leaf([0.5, -1.0])
    softplus(x)

    def wrong_vjp(g, out, inputs, ctx, needs) -> tuple:
        return (g,)

    with pytest.raises(ValueError, match="'softplus' is registered to another function, softplus_vj"):
        Tensor.custom(np.logaddexp(0.0, x.data), [x], wrong_vjp, "softplus")
    gradcheck(softplus, x)  # the first rule still stands
    unregister("softplus")
    with pytest.raises(ValueError, match="not a registered custom op"):
        unregister("softplus")
    y = Tensor.custom(np.logaddexp(0.0, x.data), [x], wrong_vjp, "softplus")
    (by_x,) = grad(y.sum(), x)
    np.testing.assert_array_equal(by_x.data, [1.0, 1.0])  # now the new rule


def test_a_call_with_bad_parents_registers_nothing() -> None:
    x = leaf([1.0])
    with pytest.raises(TypeError, match="parents"):
        Tensor.custom([1.0], x, softplus_vjp, "mine")  # type: ignore[arg-type]
    Tensor.custom([1.0], [x], square_times_vjp, "mine")  # the name is still free


@pytest.mark.parametrize(
    "op, error, message",
    [
        ("", ValueError, "non-empty"),
        ("   ", ValueError, "non-empty"),
        (3, TypeError, "must be a str"),
        (None, TypeError, "must be a str"),
    ],
)
def test_op_must_be_a_non_empty_str(op: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Tensor.custom([1.0], [leaf([1.0])], softplus_vjp, op)


@pytest.mark.parametrize("vjp", [None, 3.0, "softplus_vjp", (softplus_vjp,)])
def test_vjp_must_be_callable(vjp: Any) -> None:
    with pytest.raises(TypeError, match="mine: vjp must be a function"):
        Tensor.custom([1.0], [leaf([1.0])], vjp, "mine")
    assert "mine" not in RULES


@pytest.mark.parametrize(
    "parents, error, message",
    [
        (Tensor([1.0], requires_grad=True), TypeError, "parents must be a tuple or list"),
        (np.array([1.0]), TypeError, "parents must be a tuple or list"),
        ([Value(1.0)], TypeError, "parent 0 is a Value"),
        ([Tensor([1.0]), "one"], TypeError, "mine parent 1: data must be real numbers"),
        ([Tensor([1.0]), None], TypeError, "mine parent 1: data must be real numbers"),
        ([[[1.0, 2.0], [3.0]]], ValueError, "mine parent 0: data must be rectangular"),
    ],
)
def test_parents_must_be_tensors_or_array_likes(parents: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Tensor.custom([1.0], parents, softplus_vjp, "mine")


# ---- a rule that breaks the contract is an error, naming the op --------------------------


def two_gradients_vjp(g, out, inputs, ctx, needs) -> tuple:
    return (g, g)


def bare_gradient_vjp(g, out, inputs, ctx, needs) -> Any:
    return g  # the slip: not a tuple, (g,)


def forgot_sum_to_vjp(g, out, inputs, ctx, needs) -> tuple:
    a, b = inputs
    return (g * 2.0 * a * b, g * a * a)  # the slip: no sum_to over the broadcast axes


def array_gradient_vjp(g, out, inputs, ctx, needs) -> tuple:
    x = inputs[0]
    return (np.ones(x.shape) * 2.0,)  # numbers even on Tensors: ∂/∂x of 2x, but cut off from g


def detached_vjp(g, out, inputs, ctx, needs) -> tuple:
    return (Tensor(g) * 2.0,)  # Tensor(g) copies g into a constant


def unary(vjp: Callable, op: str) -> Callable[[Tensor], Tensor]:
    return lambda x: Tensor.custom(2.0 * x.data, [x], vjp, op)


def binary(vjp: Callable, op: str) -> Callable[[Tensor, Tensor], Tensor]:
    return lambda a, b: Tensor.custom(a.data**2 * b.data, [a, b], vjp, op)


MISTAKES = [
    (unary(two_gradients_vjp, "two"), [(2, 3)], ValueError,
     r"two: vjp returned 2 gradients for 1 input \(shapes \(2, 3\)\)"),
    (unary(bare_gradient_vjp, "bare"), [(2, 3)], TypeError,
     r"bare: vjp must return a tuple .* of shape \(2, 3\) .*mind the comma"),
    (binary(forgot_sum_to_vjp, "nosum"), [(2, 3), (3,)], ValueError,
     r"nosum: vjp returned a gradient of shape \(2, 3\) for input 1, which has shape \(3,\)"),
    (binary(forgot_sum_to_vjp, "nosum"), [(1, 3), (2, 1)], ValueError,
     r"nosum: vjp returned a gradient of shape \(2, 3\) for input 0, which has shape \(1, 3\)"),
]


@pytest.mark.parametrize("f, input_shapes, error, message", MISTAKES)
def test_a_broken_rule_fails_every_pass_naming_the_op(f, input_shapes, error, message) -> None:
    inputs = [leaf(np.ones(shape)) for shape in input_shapes]
    out = f(*inputs)
    with pytest.raises(error, match=message):
        out.sum().backward()
    with pytest.raises(error, match=message):
        out.sum().backward(create_graph=True)
    with pytest.raises(error, match=message):
        grad(out.sum(), inputs)
    with pytest.raises(error, match=message):
        grad(out.sum(), inputs, create_graph=True)
    with pytest.raises(error, match=message):
        out.factor(0).vjp(np.ones(out.shape))
    with pytest.raises(error, match=message):
        _ = mg.chain(out.sum(), inputs[0]).total
    assert all(x.grad is None for x in inputs)  # no partial, wrong gradient was left behind


def test_a_gradient_that_is_not_numbers_is_refused() -> None:
    def text_vjp(g, out, inputs, ctx, needs) -> tuple:
        return (np.full(inputs[0].shape, "x"),)

    with pytest.raises(TypeError, match="text: vjp's gradient 0 must be real numbers"):
        Tensor.custom([1.0, 2.0], [leaf([1.0, 2.0])], text_vjp, "text").sum().backward()


@pytest.mark.parametrize(
    "vjp, error, message",
    [(array_gradient_vjp, TypeError, "gradient 0 must be a Tensor computed from them, got ndarray"),
     (detached_vjp, ValueError, "gradient 0 has no graph, though g has one")],
)
def test_a_rule_that_cuts_the_graph_fails_under_create_graph(vjp, error, message) -> None:
    x = leaf([0.5, -1.0])
    f = unary(vjp, "cut")
    f(x).sum().backward()  # an ordinary backward pass is fine: the numbers are right
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    with pytest.raises(error, match="cut: with create_graph=True .*" + message):
        # the outer square hands f's node g = 2·f(x), which has a graph: a rule that cuts it
        # off would lose a second derivative
        grad((f(x) ** 2).sum(), x, create_graph=True)


def test_none_for_a_needed_input_is_a_zero_gradient() -> None:
    def vjp(g, out, inputs, ctx, needs) -> tuple:
        return (g, None)  # the second input does not change the value: f(a, b) = a

    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    report = gradcheck(lambda a, b: Tensor.custom(a.data, [a, b], vjp, "first"), a, b)
    assert report.elements == 4  # b's elements included, checked as 0
    (by_b,) = grad(Tensor.custom(a.data, [a, b], vjp, "first").sum(), b)
    np.testing.assert_array_equal(by_b.data, [0.0, 0.0])


# ---- the module's own example ----------------------------------------------------------------


def test_the_docstring_example_runs() -> None:
    result = doctest.testmod(microgradvg.engine.tensor, optionflags=doctest.ELLIPSIS)  # Tensor.custom
    assert result.attempted > 0 and result.failed == 0


# ---- review of session 2: rules kept per node, bound methods, gradients the leaf owns ------------


def _double_vjp(g, out, inputs, ctx, needs) -> tuple:
    return (g * 2.0,)


def _triple_vjp(g, out, inputs, ctx, needs) -> tuple:
    return (g * 3.0,)


def test_a_node_keeps_the_rule_it_was_built_with() -> None:
    x = leaf([1.0, 4.0])
    doubled = Tensor.custom(2.0 * x.data, [x], _double_vjp, "scaled")
    unregister("scaled")
    np.testing.assert_array_equal(grad(doubled.sum(), x)[0].data, [2.0, 2.0])  # no rule in between
    tripled = Tensor.custom(3.0 * x.data, [x], _triple_vjp, "scaled")
    np.testing.assert_array_equal(grad(doubled.sum(), x)[0].data, [2.0, 2.0])  # not the new rule
    np.testing.assert_array_equal(grad(tripled.sum(), x)[0].data, [3.0, 3.0])


class Scale:
    """A layer whose rule is a bound method: `self.vjp` is a new object on every access."""

    def __init__(self, k: float) -> None:
        self.k = k

    def vjp(self, g, out, inputs, ctx, needs) -> tuple:
        return (g * self.k,)

    def __call__(self, x: Tensor) -> Tensor:
        return Tensor.custom(x.data * self.k, [x], self.vjp, "scale")


def test_a_bound_method_of_the_same_object_is_the_same_rule() -> None:
    scale, x = Scale(2.0), leaf([1.0, -1.0])
    gradcheck(lambda t: scale(t) + scale(t), x)
    with pytest.raises(ValueError, match="registered to another function"):
        Scale(3.0)(x)  # another object's method is another rule


def _returns_ctx(g, out, inputs, ctx, needs) -> tuple:
    return (ctx,)


def _returns_input(g, out, inputs, ctx, needs) -> tuple:
    return (inputs[0],)


def _returns_one_array_and_its_view(g, out, inputs, ctx, needs) -> tuple:
    shared = np.array(g, copy=True)
    return (shared.reshape(shared.shape), shared)


def test_a_leaf_owns_the_gradient_a_custom_rule_returns() -> None:
    a, weights = leaf([1.0, 2.0]), np.array([7.0, 8.0])
    Tensor.custom((a.data * weights).sum(), [a], _returns_ctx, "by_ctx", ctx=weights).backward()
    assert not np.shares_memory(a.grad, weights)
    a.grad *= 0.5  # an in-place clip of the gradient leaves the rule's ctx alone
    np.testing.assert_array_equal(weights, [7.0, 8.0])

    b = leaf([3.0, 4.0])
    Tensor.custom(b.data**2 / 2, [b], _returns_input, "by_input").backward(np.ones(2))
    assert not np.shares_memory(b.grad, b.data)

    c, d = leaf([3.0, 4.0]), leaf([5.0, 6.0])
    u = c * 1.0
    Tensor.custom(u.data + d.data, [u, d], _returns_one_array_and_its_view, "by_view").backward(np.ones(2))
    assert not np.shares_memory(d.grad, u.grad) and not np.shares_memory(d.grad, c.grad)
