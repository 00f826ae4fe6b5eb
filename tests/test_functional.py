"""Tests for `microgradvg.engine.functional`: the fused `linear` and the two cross-entropy losses.

Values against the formulas in plain numpy, gradients against central
differences, ±1000 logits without overflow, and errors that name the bad
input (shapes, labels outside the classes, targets outside [0, 1]).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import EXTREME, leaf, reference_log_softmax

import microgradvg as mg
from microgradvg import Tensor
from microgradvg.engine.functional import (
    batch_size,
    linear,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from microgradvg.testing import arrays, gradcheck

# ---- linear ------------------------------------------------------------------------------------


@given(
    batch=st.sampled_from([(), (1,), (3,), (2, 3)]),
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 4),
    data=st.data(),
)
def test_linear(batch, n_in: int, n_out: int, data) -> None:
    x = leaf(data.draw(arrays((*batch, n_in))))
    w = leaf(data.draw(arrays((n_out, n_in))))
    b = leaf(data.draw(arrays((n_out,))))
    out = linear(x, w, b)
    np.testing.assert_allclose(out.data, x.data @ w.data.T + b.data, rtol=1e-12, atol=1e-12)
    gradcheck(linear, x, w, b)


@given(batch=st.sampled_from([(), (0,), (2,), (2, 3)]), n_out=st.integers(0, 3))
def test_linear_with_zero_input_features_gives_zero_gradients(batch, n_out: int) -> None:
    # z = b whatever x is: ∂/∂b = Σ g over the batch, and x and W have no entries.
    x, w = leaf(np.zeros((*batch, 0))), leaf(np.zeros((n_out, 0)))
    b = leaf(np.arange(n_out, dtype=float))
    out = linear(x, w, b)
    np.testing.assert_array_equal(out.data, np.broadcast_to(b.data, (*batch, n_out)))
    seed = np.arange(out.data.size, dtype=float).reshape(out.shape) + 1.0
    out.backward(seed)
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    np.testing.assert_array_equal(b.grad, seed.sum(axis=tuple(range(len(batch)))))


def test_linear_shape_error_names_all_three_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear: x \(2, 3\), W \(4, 2\), b \(4,\)"):
        linear(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 2))), Tensor(np.ones(4)))


def test_linear_takes_an_array_input_as_a_constant() -> None:
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    w, b = leaf(np.array([[0.5, -1.0]])), leaf(np.array([0.25]))
    out = linear(x, w, b)
    np.testing.assert_array_equal(out.data, [[-1.25], [2.75]])  # x Wᵀ + b by hand
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, [[4.0, 1.0]])  # Σ over the batch of x
    np.testing.assert_array_equal(b.grad, [2.0])


def test_linear_parameters_must_be_tensors() -> None:
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="linear"):
        linear(x, np.ones((4, 3)), Tensor(np.ones(4)))
    with pytest.raises(TypeError, match="linear"):
        linear(x, Tensor(np.ones((4, 3))), [0.0] * 4)


# ---- softmax cross-entropy -----------------------------------------------------------------


@given(batch=st.integers(1, 4), classes=st.integers(1, 5), data=st.data())
def test_softmax_cross_entropy(batch: int, classes: int, data) -> None:
    z = data.draw(arrays((batch, classes), -5, 5))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch)))
    logits = leaf(z)
    loss = softmax_cross_entropy(logits, labels)
    expected = -np.mean(reference_log_softmax(z, 1)[np.arange(batch), labels])
    assert loss.shape == () and loss.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    gradcheck(lambda t: softmax_cross_entropy(t, labels), logits)


@pytest.mark.usefixtures("strict_numpy")
def test_softmax_cross_entropy_at_extremes() -> None:
    z = Tensor(EXTREME, requires_grad=True)
    loss = softmax_cross_entropy(z, [0, 2])
    # −log softmax: row 0 label 0 → 2000; row 1 label 2 → 2000 + log 2.
    assert loss.item() == pytest.approx((2000.0 + 2000.0 + np.log(2.0)) / 2, rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(z.grad, [[-0.5, 0.5, 0.0], [0.25, 0.25, -0.5]], atol=1e-15)


def test_softmax_cross_entropy_takes_whole_number_labels_from_a_tensor() -> None:
    z = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    from_ints = softmax_cross_entropy(Tensor(z), np.array([2, 0]))
    from_tensor = softmax_cross_entropy(Tensor(z), Tensor([2.0, 0.0]))  # a Tensor holds floats
    assert from_tensor.item() == from_ints.item()
    with pytest.raises(ValueError, match="softmax_cross_entropy"):
        softmax_cross_entropy(Tensor(z), Tensor([1.5, 0.0]))


# ---- sigmoid cross-entropy -----------------------------------------------------------------


@given(shape=st.sampled_from([(3,), (1, 2), (4, 3)]), data=st.data())
def test_sigmoid_cross_entropy(shape, data) -> None:
    z = data.draw(arrays(shape, -5, 5))
    y = data.draw(arrays(shape, 0, 1))
    logits = leaf(z)
    loss = sigmoid_cross_entropy(logits, y)
    a = 1.0 / (1.0 + np.exp(-z))
    batch = shape[0] if len(shape) > 1 else 1
    expected = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / batch
    assert loss.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    gradcheck(lambda t: sigmoid_cross_entropy(t, y), logits)


@pytest.mark.usefixtures("strict_numpy")
def test_sigmoid_cross_entropy_at_extremes() -> None:
    z = Tensor(EXTREME, requires_grad=True)
    y = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    loss = sigmoid_cross_entropy(z, y)
    # softplus(z) − y z: 1000, 1000, log 2 ; 0, 1000, 1000.
    assert loss.item() == pytest.approx((4000.0 + np.log(2.0)) / 2, rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(z.grad, [[-0.5, 0.5, -0.25], [0.0, 0.5, -0.5]], atol=1e-15)


@pytest.mark.parametrize(
    "targets, bad",
    [([[5.0, -3.0]], r"5\.0|-3\.0"), ([[0.5, 1.5]], r"1\.5"), ([[-0.25, 0.0]], r"-0\.25"),
     ([[np.nan, 0.0]], "nan")],
    ids=["5 and -3", "1.5", "-0.25", "nan"],
)
def test_sigmoid_cross_entropy_refuses_targets_outside_0_1_and_names_them(targets, bad) -> None:
    # review A11: −[y ln a + (1−y) ln(1−a)] is a cost only for probabilities y.
    z = Tensor(np.array([[0.3, -1.2]]), requires_grad=True)
    with pytest.raises(ValueError, match="sigmoid_cross_entropy") as raised:
        sigmoid_cross_entropy(z, targets)
    assert raised.match(bad)
    with pytest.raises(ValueError, match=bad):
        mg.nn.cross_entropy(z.sigmoid(), targets)  # Nielsen's cost on σ(z) goes the same way


def test_sigmoid_cross_entropy_accepts_targets_at_exactly_0_and_1() -> None:
    z = Tensor(np.array([[0.0, 0.0]]), requires_grad=True)
    loss = sigmoid_cross_entropy(z, [[0.0, 1.0]])
    assert loss.item() == pytest.approx(2 * np.log(2.0), rel=1e-15)  # each term is ln 2 at z = 0


# ---- batch size -----------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "expected"), [((3,), 1), ((1, 2), 1), ((4, 3), 4), ((2, 3, 5), 2)])
def test_batch_size_is_the_first_axis_or_1_for_one_example(shape, expected) -> None:
    assert batch_size(np.zeros(shape)) == expected


# ---- targets that require grad: every cost gives them their gradient ---------------------


@pytest.mark.parametrize("cost", ["quadratic_cost", "sigmoid_cross_entropy", "cross_entropy"])
@given(shape=st.sampled_from([(3,), (2, 3)]), data=st.data())
def test_every_cost_gives_targets_that_require_grad_their_gradient(cost: str, shape, data) -> None:
    """Targets are values like any other: ∂C/∂y, checked against central differences."""
    function = {
        "quadratic_cost": mg.nn.quadratic_cost,
        "sigmoid_cross_entropy": sigmoid_cross_entropy,
        "cross_entropy": lambda z, y: mg.nn.cross_entropy(z.sigmoid(), y),
    }[cost]
    z = leaf(data.draw(arrays(shape)))
    y = leaf(data.draw(arrays(shape, 0.05, 0.95)))
    gradcheck(function, z, y)
    assert y.grad is not None and y.grad.shape == shape


def test_sigmoid_cross_entropy_target_gradient_to_second_order() -> None:
    # C = Σ[softplus(z) − y z]/B: ∂C/∂y = −z/B, ∂²C/∂y∂z = −1/B.
    z = leaf(np.array([[0.5, -1.0], [2.0, 0.0]]))
    y = leaf(np.array([[0.2, 0.7], [1.0, 0.0]]))
    gz, gy = mg.grad(sigmoid_cross_entropy(z, y), [z, y], create_graph=True)
    np.testing.assert_allclose(gz.data, (1 / (1 + np.exp(-z.data)) - y.data) / 2)
    np.testing.assert_allclose(gy.data, -z.data / 2)
    (by_z,) = mg.grad(gy.sum(), [z])
    np.testing.assert_allclose(by_z.data, np.full((2, 2), -0.5))


def test_softmax_cross_entropy_refuses_labels_that_require_grad() -> None:
    """Class indices have no gradient; a Tensor of them that requires grad is a mistake."""
    labels = Tensor([0.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: labels .*class indices.*require"):
        softmax_cross_entropy(leaf(np.zeros((2, 3))), labels)
