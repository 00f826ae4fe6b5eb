"""The backward pass and the functional `grad`: accumulation, create_graph, higher order.

Leaves accumulate across backward calls, intermediates are recomputed, leaf
gradients are owned arrays; gradients of gradients are checked against
closed forms and against finite differences of the first derivative.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import away_from_zero, leaf, positive

import microgradvg as mg
from microgradvg import Tensor
from microgradvg.engine.functional import linear, sigmoid_cross_entropy, softmax_cross_entropy
from microgradvg.testing import arrays, broadcastable_shapes, gradcheck, shapes

rng = np.random.default_rng(20240605)


def random_leaf(*shape: int) -> Tensor:
    """A leaf of standard normal entries (from this module's seeded generator)."""
    return leaf(rng.standard_normal(shape))


# ---- .grad before and after backward --------------------------------------------------


def test_grad_is_none_before_backward() -> None:
    x = random_leaf(3)
    y = x.tanh()
    assert x.grad is None and y.grad is None


def test_backward_fills_every_node_with_same_shape_arrays() -> None:
    x, w = random_leaf(4, 3), random_leaf(3)
    h = x * w
    loss = h.sum()
    loss.backward()
    for node, shape in [(x, (4, 3)), (w, (3,)), (h, (4, 3))]:
        assert isinstance(node.grad, np.ndarray) and node.grad.shape == shape
    np.testing.assert_array_equal(h.grad, np.ones((4, 3)))
    np.testing.assert_allclose(w.grad, x.data.sum(axis=0), rtol=1e-14)


def test_non_scalar_backward_without_grad_is_a_clear_error() -> None:
    y = random_leaf(2, 3) * 2.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*grad="):
        y.backward()


def test_backward_grad_must_have_the_output_shape() -> None:
    y = random_leaf(2, 3) * 2.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_with_grad_is_a_vector_jacobian_product() -> None:
    x = random_leaf(2, 3)
    v = rng.standard_normal((2, 3))
    (x * x).backward(v)
    np.testing.assert_allclose(x.grad, 2.0 * x.data * v, rtol=1e-14)


def test_one_element_output_of_any_shape_has_implicit_seed() -> None:
    x = random_leaf(1, 1)
    (x * 3.0).backward()
    np.testing.assert_array_equal(x.grad, [[3.0]])


def test_backward_on_a_tensor_without_graph_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(1)).backward()
    with mg.no_grad():
        y = random_leaf(1) * 2.0
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_leaves_without_requires_grad_get_no_gradient() -> None:
    x, constant = random_leaf(3), Tensor(np.ones(3))
    (x * constant).sum().backward()
    assert constant.grad is None and x.grad is not None


# ---- accumulation ---------------------------------------------------------------------


def test_leaf_gradients_accumulate_across_backward_calls() -> None:
    x = random_leaf(3)
    h = x * 2.0
    loss = (h * h).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * 8.0 * x.data, rtol=1e-14)


def test_intermediate_gradients_are_recomputed_not_doubled() -> None:
    x = random_leaf(3)
    h = x * 2.0
    loss = (h * h).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(h.grad, 2.0 * h.data, rtol=1e-14)
    np.testing.assert_array_equal(loss.grad, 1.0)


def test_intermediate_gradient_is_from_the_latest_root() -> None:
    x = random_leaf(3)
    h = x.tanh()
    h.sum().backward()
    (h * 3.0).sum().backward()
    np.testing.assert_array_equal(h.grad, np.full(3, 3.0))


def test_zero_grad_between_steps_resets_accumulation() -> None:
    x = random_leaf(3)
    loss = (x * x).sum()
    loss.backward()
    mg.zero_grad(loss)
    assert x.grad is None
    loss.backward()
    np.testing.assert_allclose(x.grad, 2.0 * x.data, rtol=1e-14)


def test_mini_batch_accumulation_equals_full_batch() -> None:
    w = random_leaf(3)
    data = rng.standard_normal((6, 3))
    for half in (data[:3], data[3:]):
        ((Tensor(half) @ w) ** 2).sum().backward()
    accumulated = w.grad.copy()
    w.grad = None
    ((Tensor(data) @ w) ** 2).sum().backward()
    np.testing.assert_allclose(accumulated, w.grad, rtol=1e-13)


def test_a_leaf_used_on_many_paths_sums_them() -> None:
    x = random_leaf(4)
    (x * x + x).sum().backward()  # ∂/∂x = 2x + 1
    np.testing.assert_allclose(x.grad, 2.0 * x.data + 1.0, rtol=1e-14)


def test_x_plus_x_counts_both_edges() -> None:
    x = random_leaf(3)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(3, 2.0))


def test_a_leaf_root_accumulates_its_own_seed() -> None:
    x = Tensor(np.array([1.5]), requires_grad=True)
    x.backward()
    x.backward()
    np.testing.assert_array_equal(x.grad, [2.0])


# ---- leaf gradients are owned arrays -------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda a, b: a + b,
        lambda a, b: a - (-b),
        lambda a, b: mg.concatenate([a, b]),
        lambda a, b: mg.stack([a, b]),
        lambda a, b: a.reshape(3) + b.reshape(3),
        lambda a, b: a.transpose() + b.T,
        lambda a, b: a.expand((2, 3)) + b,
    ],
    ids=["add", "sub-neg", "concatenate", "stack", "reshape", "transpose", "expand"],
)
def test_mutating_one_leaf_grad_cannot_change_another(build) -> None:
    a, b = random_leaf(3), random_leaf(3)
    out = build(a, b)
    seed = np.ones(out.shape)
    out.backward(seed)
    before_b = b.grad.copy()
    intermediate_before = out.grad.copy()
    a.grad += 100.0  # in place: the leaf owns its array
    np.testing.assert_array_equal(b.grad, before_b)
    np.testing.assert_array_equal(out.grad, intermediate_before)
    np.testing.assert_array_equal(seed, 1.0)
    assert not np.shares_memory(a.grad, b.grad)


def test_leaf_grad_does_not_alias_an_intermediate_or_the_seed() -> None:
    x = random_leaf(2, 3)
    h = x.reshape(6)
    seed = np.ones(6)
    h.backward(seed)
    x.grad[...] = 7.0
    np.testing.assert_array_equal(h.grad, 1.0)
    np.testing.assert_array_equal(seed, 1.0)


def test_leaf_grad_after_sum_is_writeable() -> None:
    x = random_leaf(2, 3)
    x.sum().backward()  # the rule broadcasts; the leaf must still own a writeable array
    x.grad *= 2.0
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


# ---- 0-d leaves keep ndarray gradients (review A6) -------------------------------------------


def test_a_0d_leaf_used_twice_gets_an_ndarray_gradient() -> None:
    x = Tensor(np.array(3.0), requires_grad=True)
    (x * x).backward()  # two edges into x: numpy adds two 0-d arrays into a scalar
    assert type(x.grad) is np.ndarray and x.grad.shape == () and float(x.grad) == 6.0


def test_a_0d_leaf_keeps_an_ndarray_gradient_across_backward_calls() -> None:
    x = Tensor(np.array(3.0), requires_grad=True)
    y = x * 2.0
    y.backward()
    y.backward()  # old + new
    assert type(x.grad) is np.ndarray and float(x.grad) == 4.0
    x.grad += 1.0  # and it can be updated in place like any other gradient
    assert float(x.grad) == 5.0


def test_a_0d_input_to_grad_gets_an_ndarray() -> None:
    x = Tensor(np.array(3.0), requires_grad=True)
    (g,) = mg.grad(x * x + x, x)
    assert type(g.data) is np.ndarray and float(g.data) == 7.0


# ---- deep graphs --------------------------------------------------------------------------


def test_a_graph_twenty_thousand_nodes_deep() -> None:
    # Far past Python's recursion limit: the topological sort must be iterative.
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0])


# ---- functional grad ----------------------------------------------------------------------


def test_grad_returns_tensors_and_leaves_dot_grad_alone() -> None:
    x, w = random_leaf(3), random_leaf(3)
    loss = (x * w).sum()
    gx, gw = mg.grad(loss, [x, w])
    assert isinstance(gx, Tensor) and isinstance(gw, Tensor)
    np.testing.assert_allclose(gx.data, w.data, rtol=1e-15)
    np.testing.assert_allclose(gw.data, x.data, rtol=1e-15)
    assert x.grad is None and w.grad is None and loss.grad is None
    assert not gx.requires_grad


def test_grad_of_a_single_input_is_a_one_element_list() -> None:
    x = random_leaf(2)
    result = mg.grad((x * x).sum(), x)
    assert isinstance(result, list) and len(result) == 1
    np.testing.assert_allclose(result[0].data, 2.0 * x.data, rtol=1e-15)


def test_grad_of_an_unrelated_input_is_zero() -> None:
    x, unrelated = random_leaf(2), random_leaf(4)
    _, g = mg.grad((x * x).sum(), [x, unrelated])
    np.testing.assert_array_equal(g.data, np.zeros(4))


def test_grad_with_grad_outputs_and_several_outputs() -> None:
    x = random_leaf(3)
    v = rng.standard_normal(3)
    (g,) = mg.grad([x * x, x.sum()], x, grad_outputs=[v, None])
    np.testing.assert_allclose(g.data, 2.0 * x.data * v + 1.0, rtol=1e-14)


def test_grad_to_an_intermediate() -> None:
    x = random_leaf(3)
    h = x.exp()
    (g,) = mg.grad((h * h).sum(), h)
    np.testing.assert_allclose(g.data, 2.0 * h.data, rtol=1e-14)


def test_grad_to_an_input_that_does_not_require_grad_is_an_error() -> None:
    # review A1: x is in the graph, but as a constant no gradient reaches it; zeros would lie.
    x, w = Tensor(rng.standard_normal(3)), random_leaf(3)
    loss = (x * w).sum()
    with pytest.raises(ValueError, match="requires_grad"):
        mg.grad(loss, [x])
    with pytest.raises(ValueError, match="input 1"):
        mg.grad(loss, [w, x])
    (gw,) = mg.grad(loss, [w])
    np.testing.assert_array_equal(gw.data, x.data)


@pytest.mark.parametrize(
    "build",
    [
        lambda x, y: [(x + y).sum(), [x, y]],
        lambda x, y: [(x - y).sum(), [x, y]],
        lambda x, y: [x.sum() + y.sum(), [x, y]],
        lambda x, y: [(x.reshape(3, 1) + y).sum(), [x, y]],
        lambda x, y: [x.sum(), [x]],
        lambda x, y: [(x * 2.0).sum(), [x, x]],
        lambda x, y: [mg.stack([x, y]).sum(), [x, y]],
    ],
    ids=["x+y", "x-y", "Σx+Σy", "broadcast", "Σx", "the same input twice", "stack"],
)
def test_grad_returns_separate_writeable_arrays(build) -> None:
    # review A7: rules pass one array (or a read-only broadcast view) to several parents.
    x, y = random_leaf(3), random_leaf(3)
    output, inputs = build(x, y)
    results = mg.grad(output, inputs)
    expected = [g.data.copy() for g in results]
    for i, g in enumerate(results):
        assert g.data.flags.writeable
        for other in results[i + 1 :]:
            assert not np.shares_memory(g.data, other.data)
    results[0].data += 100.0  # in place, as an optimiser would
    for g, before in zip(results[1:], expected[1:]):
        np.testing.assert_array_equal(g.data, before)


def test_grad_errors() -> None:
    x = random_leaf(3)
    with pytest.raises(RuntimeError, match=r"\(3,\)"):
        mg.grad(x * 2.0, x)
    with pytest.raises(ValueError, match="grad_outputs"):
        mg.grad([x.sum(), x.sum()], x, grad_outputs=[None])
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.grad(Tensor(np.ones(1)), x)


# ---- higher order: closed forms --------------------------------------------------------------


@pytest.mark.parametrize("x0", [-2.5, -0.3, 0.0, 0.7, 1.9])
def test_third_derivative_of_tanh(x0: float) -> None:
    x = Tensor(np.array([x0]), requires_grad=True)
    (first,) = mg.grad(x.tanh().sum(), x, create_graph=True)
    (second,) = mg.grad(first.sum(), x, create_graph=True)
    (third,) = mg.grad(second.sum(), x)
    t = np.tanh(x0)
    s = 1.0 - t * t  # sech²
    np.testing.assert_allclose(first.data, [s], rtol=1e-13)
    np.testing.assert_allclose(second.data, [-2.0 * t * s], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(third.data, [-2.0 * s * s + 4.0 * t * t * s], rtol=1e-12)


@pytest.mark.parametrize("x0", [-3.0, 0.0, 0.4, 2.2])
def test_third_derivative_of_sigmoid(x0: float) -> None:
    x = Tensor(np.array([x0]), requires_grad=True)
    (first,) = mg.grad(x.sigmoid().sum(), x, create_graph=True)
    (second,) = mg.grad(first.sum(), x, create_graph=True)
    (third,) = mg.grad(second.sum(), x)
    s = 1.0 / (1.0 + np.exp(-x0))
    np.testing.assert_allclose(second.data, [s * (1 - s) * (1 - 2 * s)], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(third.data, [s * (1 - s) * (1 - 6 * s + 6 * s * s)], rtol=1e-12, atol=1e-15)


def test_fourth_derivative_of_a_polynomial() -> None:
    x = Tensor(np.array([0.5, -1.5]), requires_grad=True)
    y = (x**5).sum()
    g = y
    for _ in range(4):
        (g,) = mg.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 120.0 * x.data, rtol=1e-13)  # d⁴x⁵/dx⁴ = 120x


def test_hessian_of_a_two_variable_function_by_grad_of_grad() -> None:
    # f(x, y) = Σ x²·y + exp(x)·y², with a hand-derived Hessian.
    x, y = random_leaf(3), random_leaf(3)
    f = (x * x * y + x.exp() * y * y).sum()
    gx, gy = mg.grad(f, [x, y], create_graph=True)
    rows = []
    for i in range(3):
        dx, dy = mg.grad(gx[i], [x, y])
        rows.append((dx.data, dy.data))
    xd, yd = x.data, y.data
    for i, (dxx, dxy) in enumerate(rows):
        expected_xx = np.zeros(3)
        expected_xx[i] = 2 * yd[i] + np.exp(xd[i]) * yd[i] ** 2
        expected_xy = np.zeros(3)
        expected_xy[i] = 2 * xd[i] + 2 * np.exp(xd[i]) * yd[i]
        np.testing.assert_allclose(dxx, expected_xx, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(dxy, expected_xy, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gy.data, xd * xd + 2 * np.exp(xd) * yd, rtol=1e-13)


def test_backward_create_graph_gives_differentiable_tensor_grads() -> None:
    x = random_leaf(3)
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Tensor) and first.requires_grad
    np.testing.assert_allclose(first.data, 3.0 * x.data**2, rtol=1e-14)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad, 6.0 * x.data, rtol=1e-14)


def test_backward_create_graph_accumulates_on_leaves() -> None:
    x = random_leaf(3)
    loss = (x * x).sum()
    loss.backward(create_graph=True)
    loss.backward(create_graph=True)
    np.testing.assert_allclose(x.grad.data, 4.0 * x.data, rtol=1e-14)
    (second,) = mg.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.data, np.full(3, 4.0), rtol=1e-14)


def test_gradient_penalty_trains_through_a_first_derivative() -> None:
    # ‖∂L/∂x‖² as a loss on w: the standard use of create_graph.
    x, w = random_leaf(4), random_leaf(4)
    loss = (x * w).tanh().sum()
    (gx,) = mg.grad(loss, x, create_graph=True)
    (gw,) = mg.grad((gx * gx).sum(), w)
    # ∂L/∂x = w·sech²(xw), so ∂‖·‖²/∂w = 2·gx·(sech²(u) + w·x·(−2 tanh(u) sech²(u))), u = xw.
    u = x.data * w.data
    s = 1.0 - np.tanh(u) ** 2
    g = w.data * s
    expected = 2.0 * g * (s - 2.0 * w.data * x.data * np.tanh(u) * s)
    np.testing.assert_allclose(gw.data, expected, rtol=1e-12)


# ---- higher order: second derivatives against finite differences of first derivatives ------


def first_derivative(f):
    """x ↦ ∂f/∂x (all inputs, flattened and joined) as a differentiable Tensor.

    gradcheck on this function compares the engine's second derivatives
    (the VJP through the gradient graph) with central differences of its first.
    """

    def derivative(*inputs: Tensor) -> Tensor:
        grads = mg.grad(f(*inputs), list(inputs), create_graph=True)
        return mg.concatenate([g.reshape(-1) for g in grads])

    return derivative


def bases(array: np.ndarray) -> np.ndarray:
    """Positive, at least 0.3: for log, fractional and Tensor powers."""
    return positive(array, 0.3)


def off_zero(array: np.ndarray) -> np.ndarray:
    """At least 0.2 away from 0: for relu's kink and 1/x's pole."""
    return away_from_zero(array, 0.2)


SECOND_ORDER_UNARY = {
    "exp": (lambda t: t.exp(), lambda a: a),
    "log": (lambda t: t.log(), bases),
    "tanh": (lambda t: t.tanh(), lambda a: a),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: a),
    "relu·x": (lambda t: t.relu() * t, off_zero),
    "x**3": (lambda t: t**3, lambda a: a),
    "x**-1.5": (lambda t: t**-1.5, bases),
    "2**x": (lambda t: 2.0**t, lambda a: a),
    "1/x": (lambda t: 1.0 / t, off_zero),
    "-x·x": (lambda t: -t * t, lambda a: a),
    "sech2": (lambda t: t.sech2(), lambda a: a),
}


@given(name=st.sampled_from(list(SECOND_ORDER_UNARY)), shape=shapes(0, 3, max_side=3), data=st.data())
def test_second_derivative_of_elementwise_ops(name: str, shape, data) -> None:
    op, domain = SECOND_ORDER_UNARY[name]
    x = Tensor(domain(data.draw(arrays(shape, -2, 2))), requires_grad=True)
    weights = data.draw(arrays(shape))
    gradcheck(first_derivative(lambda t: (op(t) * weights).sum()), x)


BINARY_SECOND_ORDER = {
    "a*b": lambda a, b: a * b,
    "a/b": lambda a, b: a / b,
    "a-b": lambda a, b: (a - b) * (a - b),
    "a**b": lambda a, b: a**b,
    "tanh(a+b)": lambda a, b: (a + b).tanh(),
}


@given(
    name=st.sampled_from(list(BINARY_SECOND_ORDER)),
    pair=broadcastable_shapes(shapes(0, 3, max_side=3)),
    data=st.data(),
)
def test_second_derivative_of_broadcasting_binary_ops(name: str, pair, data) -> None:
    op = BINARY_SECOND_ORDER[name]
    a = Tensor(bases(data.draw(arrays(pair[0], -2, 2))), requires_grad=True)
    b_values = data.draw(arrays(pair[1], -2, 2))
    b = Tensor(off_zero(b_values) if name == "a/b" else b_values, requires_grad=True)
    gradcheck(first_derivative(lambda x, y: op(x, y).sum()), a, b)


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
    ((2, 2, 3), (2, 3, 1)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 2)),
]


@given(shape_pair=st.sampled_from(MATMUL_SHAPES), data=st.data())
def test_second_derivative_through_matmul(shape_pair, data) -> None:
    a = Tensor(data.draw(arrays(shape_pair[0], -1, 1)), requires_grad=True)
    b = Tensor(data.draw(arrays(shape_pair[1], -1, 1)), requires_grad=True)
    gradcheck(first_derivative(lambda x, y: (x @ y).tanh().sum()), a, b)


SECOND_ORDER_0D = {
    # name: (f, its second derivative at the 0-d x = 0.4), closed forms
    "tanh(x·2)": (lambda t: (t * 2.0).tanh(), lambda v: -8.0 * np.tanh(2 * v) * (1 - np.tanh(2 * v) ** 2)),
    "sigmoid(x)": (
        lambda t: t.sigmoid(),
        lambda v: (s := 1 / (1 + np.exp(-v))) * (1 - s) * (1 - 2 * s),
    ),
    "tanh(x·[1,2]@[3,-1])": (
        lambda t: (t * Tensor(np.array([1.0, 2.0])) @ Tensor(np.array([3.0, -1.0]))).tanh(),
        lambda v: -2.0 * np.tanh(v) * (1 - np.tanh(v) ** 2),
    ),
}


@pytest.mark.parametrize("name", list(SECOND_ORDER_0D))
def test_second_derivative_through_0d_results(name: str) -> None:
    f, second = SECOND_ORDER_0D[name]
    x = Tensor(np.array(0.4), requires_grad=True)
    (first,) = mg.grad(f(x), x, create_graph=True)
    (result,) = mg.grad(first, x)
    assert float(result.data) == pytest.approx(second(0.4), rel=1e-12)


@given(batch=st.sampled_from([(), (1,), (3,), (2, 2)]), n_in=st.integers(1, 3), n_out=st.integers(1, 3), data=st.data())
def test_second_derivative_through_linear(batch, n_in: int, n_out: int, data) -> None:
    x = Tensor(data.draw(arrays((*batch, n_in), -1, 1)), requires_grad=True)
    w = Tensor(data.draw(arrays((n_out, n_in), -1, 1)), requires_grad=True)
    b = Tensor(data.draw(arrays((n_out,), -1, 1)), requires_grad=True)
    gradcheck(first_derivative(lambda *t: linear(*t).sigmoid().sum()), x, w, b)


@given(shape=shapes(1, 3, max_side=3), keepdims=st.booleans(), name=st.sampled_from(["sum", "mean"]), data=st.data())
def test_second_derivative_through_sum_and_mean(shape, keepdims: bool, name: str, data) -> None:
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    x = Tensor(data.draw(arrays(shape, -1, 1)), requires_grad=True)
    reduce = lambda t: getattr(t, name)(axis=axis, keepdims=keepdims)
    gradcheck(first_derivative(lambda t: (reduce(t.tanh()) ** 2).sum()), x)


@given(shape=shapes(1, 3, max_side=3), log=st.booleans(), data=st.data())
def test_second_derivative_through_softmax(shape, log: bool, data) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = Tensor(data.draw(arrays(shape, -2, 2)), requires_grad=True)
    weights = data.draw(arrays(shape))
    op = (lambda t: t.log_softmax(axis)) if log else (lambda t: t.softmax(axis))
    gradcheck(first_derivative(lambda t: (op(t) * weights).sum()), x)


@given(batch=st.integers(1, 3), classes=st.integers(2, 4), data=st.data())
def test_second_derivative_of_the_fused_losses(batch: int, classes: int, data) -> None:
    z = Tensor(data.draw(arrays((batch, classes), -3, 3)), requires_grad=True)
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)))
    targets = data.draw(arrays((batch, classes), 0, 1))
    gradcheck(first_derivative(lambda t: softmax_cross_entropy(t, labels)), z)
    gradcheck(first_derivative(lambda t: sigmoid_cross_entropy(t, targets)), z)


@given(data=st.data())
def test_second_derivative_through_shape_ops_and_indexing(data) -> None:
    # Entries at least 0.1 apart, so the max has no ties within a finite difference.
    order = np.array(data.draw(st.permutations(range(12))), dtype=float).reshape(3, 4)
    x = Tensor(order * 0.15 - 0.9 + data.draw(arrays((3, 4), -0.02, 0.02)), requires_grad=True)
    y = Tensor(data.draw(arrays((3, 1), -1, 1)), requires_grad=True)
    picks = np.array(data.draw(st.lists(st.integers(0, 2), min_size=1, max_size=5)))

    def f(a: Tensor, b: Tensor) -> Tensor:
        joined = mg.concatenate([a, b.expand((3, 2))], axis=1)  # (3, 6)
        stacked = mg.stack([joined.T, joined.T * 2.0])  # (2, 6, 3)
        picked = stacked.reshape(12, 3).transpose()[picks]  # repeated rows
        return (picked * picked * picked).sum() + a.max(axis=1).tanh().sum()

    gradcheck(first_derivative(f), x, y)


@given(shape=shapes(1, 2, max_side=3), data=st.data())
def test_third_derivative_against_differences_of_the_second(shape, data) -> None:
    x = Tensor(data.draw(arrays(shape, -1.5, 1.5)), requires_grad=True)
    second = first_derivative(lambda t: first_derivative(lambda u: u.tanh().sum())(t).sum())
    gradcheck(second, x)


def _failing_vjp(g, out, inputs, ctx, needs):
    raise ArithmeticError("this rule fails on purpose")


def test_a_failed_backward_keeps_every_leaf_gradient_it_had() -> None:
    from microgradvg.engine.extend import unregister

    w, b = random_leaf(3), random_leaf(3)
    (w * b).sum().backward()
    w_before, b_before = w.grad.copy(), b.grad.copy()
    broken = Tensor.custom(w.data * 2.0, [w], _failing_vjp, "fails_on_purpose")
    try:
        with pytest.raises(ArithmeticError, match="on purpose"):
            (broken * b).sum().backward()  # b gets its share before the broken rule runs
    finally:
        unregister("fails_on_purpose")
    np.testing.assert_array_equal(w.grad, w_before)
    np.testing.assert_array_equal(b.grad, b_before)


def test_a_leaf_grad_of_another_shape_is_an_error_and_every_gradient_stays() -> None:
    a, b = random_leaf(2), random_leaf(2)
    (a * b).sum().backward()
    a_before = a.grad.copy()
    b.grad = np.ones((2, 2))  # would broadcast silently into a (2, 2) gradient for a (2,) leaf
    with pytest.raises(ValueError, match=r"backward: a leaf of shape \(2,\) holds a \.grad of shape \(2, 2\)"):
        (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, a_before)
    np.testing.assert_array_equal(b.grad, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"holds a \.grad of shape \(2, 2\)"):
        (a * b).sum().backward(create_graph=True)
    np.testing.assert_array_equal(a.grad, a_before)  # a comes before b: it too keeps its gradient
