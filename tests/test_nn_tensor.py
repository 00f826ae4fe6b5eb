"""Tensor networks: Module, Linear, MLP, initialisations, losses.

Expected values come from the formulas (Nielsen's costs, the init variances)
or from the scalar engine run on the same weights, never from this engine.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import leaf

import microgradvg as mg
from microgradvg import Tensor, Value
from microgradvg.nn import (
    MLP,
    Linear,
    Module,
    ScalarMLP,
    TensorMLP,
    cross_entropy,
    l2_penalty,
    quadratic_cost,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from microgradvg.nn.init import initialiser
from microgradvg.optim import SGD
from microgradvg.testing import arrays, gradcheck

# ---- MLP construction, seeding, names ----------------------------------------------


def weights_of(model: TensorMLP) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]


def test_mlp_dispatches_on_call_shape() -> None:
    assert isinstance(MLP([2, 3, 1]), TensorMLP)
    assert isinstance(MLP(2, [3, 1]), ScalarMLP)
    assert isinstance(MLP([2, 3, 1], engine="scalar"), ScalarMLP)
    with pytest.raises(ValueError, match="engine"):
        MLP([2, 3], engine="gpu")
    with pytest.raises(TypeError):
        MLP(3)


def test_mlp_defaults_are_nielsens_sigmoid_network() -> None:
    model = MLP([3, 4, 2])
    assert (model.activation, model.output_activation) == ("sigmoid", "sigmoid")
    out = model(np.zeros((5, 3)))
    assert out.shape == (5, 2) and np.all((out.data > 0) & (out.data < 1))


def test_same_int_seed_gives_same_weights_and_different_seeds_differ() -> None:
    a, b, c = MLP([5, 4, 3], seed=7), MLP([5, 4, 3], seed=7), MLP([5, 4, 3], seed=8)
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(weights_of(a)[0], weights_of(c)[0])


def test_generator_seed_is_reproducible_and_consumed() -> None:
    a = MLP([5, 4, 3], seed=np.random.default_rng(11))
    b = MLP([5, 4, 3], seed=np.random.default_rng(11))
    for wa, wb in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(wa, wb)
    shared = np.random.default_rng(11)
    first, second = MLP([5, 4], seed=shared), MLP([5, 4], seed=shared)
    assert not np.array_equal(first.layers[0].weight.data, second.layers[0].weight.data)


def test_scalar_mlp_seeding_is_reproducible() -> None:
    a, b = MLP(3, [4, 1], seed=5), MLP(3, [4, 1], seed=5)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]


def test_parameters_are_labelled_like_nielsen() -> None:
    model = MLP([4, 3, 2, 1])
    names = [name for name, _ in model.named_parameters()]
    assert names == ["L1.W", "L1.b", "L2.W", "L2.b", "L3.W", "L3.b"]
    assert [p.label for p in model.parameters()] == names
    shapes = [p.shape for p in model.parameters()]
    assert shapes == [(3, 4), (3,), (2, 3), (2,), (1, 2), (1,)]
    assert all(p.requires_grad for p in model.parameters())


def test_named_parameters_walks_nested_modules_and_lists() -> None:
    class Net(Module):
        def __init__(self) -> None:
            self.first = Linear(2, 3, seed=1)
            self.blocks = [Linear(3, 3, seed=2), Linear(3, 1, seed=3)]
            self.frozen = Tensor(np.ones(3))  # no requires_grad: not a parameter
            self.scale = 2.0

        def forward(self, x: Tensor) -> Tensor:
            x = self.first(x).tanh()
            for block in self.blocks:
                x = block(x)
            return x * self.scale

    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "first.weight", "first.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
    ]
    out = net([[1.0, -2.0]])  # a nested list becomes a Tensor
    assert isinstance(out, Tensor) and out.shape == (1, 1)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_linear_computes_x_w_transpose_plus_b() -> None:
    layer = Linear(3, 2, seed=4, label="enc.")
    assert (layer.weight.label, layer.bias.label) == ("enc.W", "enc.b")
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-14)


def test_mlp_zero_grad_clears_every_parameter() -> None:
    model = MLP([3, 4, 2], seed=0)
    quadratic_cost(model(np.ones((2, 3))), np.zeros((2, 2))).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_float32_mlp_stays_float32() -> None:
    model = MLP([3, 4, 2], dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters())
    out = model(np.ones((2, 3), dtype=np.float32))
    assert out.dtype == np.float32
    softmax_cross_entropy(out, [0, 1]).backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


@pytest.mark.parametrize(
    "given_input",
    [np.ones((2, 3)), np.ones((2, 3), dtype=np.int64), [[1, 2, 3], [4, 5, 6]],
     Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3)), requires_grad=True)],
    ids=["float64", "int64", "list", "float64 Tensor", "float64 Tensor that requires grad"],
)
def test_a_float32_mlp_casts_its_input_and_keeps_float32_gradients(given_input) -> None:
    model = MLP([3, 4, 2], dtype=np.float32)
    out = model(given_input)
    assert out.dtype == np.float32
    softmax_cross_entropy(out, [0, 1]).backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    if isinstance(given_input, Tensor) and given_input.requires_grad:
        assert given_input.grad.dtype == np.float64  # the input's own dtype
        reference = MLP([3, 4, 2], dtype=np.float32)
        for mine, theirs in zip(reference.parameters(), model.parameters()):
            mine.data[...] = theirs.data
        x32 = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
        softmax_cross_entropy(reference(x32), [0, 1]).backward()
        np.testing.assert_array_equal(given_input.grad, x32.grad.astype(np.float64))


@pytest.mark.parametrize("sizes", [[3], [3, 0], [3, 2.5]])
def test_bad_sizes_raise(sizes) -> None:
    with pytest.raises(ValueError, match="sizes"):
        TensorMLP(sizes)


def test_unknown_activation_and_init_raise() -> None:
    with pytest.raises(ValueError, match="activation"):
        TensorMLP([2, 2], activation="swish")
    with pytest.raises(ValueError, match="init"):
        TensorMLP([2, 2], init="orthogonal")


# ---- initialisation (the distributions themselves are tested in test_init.py) -------

N_IN = 400


@pytest.mark.parametrize("init", ["uniform", "nielsen_large", "nielsen", "xavier", "he"])
def test_linear_takes_its_parameters_from_the_named_initialiser(init: str) -> None:
    layer = Linear(5, 3, init=init, seed=4)
    weights, biases = initialiser(init)(5, 3, np.random.default_rng(4))
    np.testing.assert_array_equal(layer.weight.data, weights)
    np.testing.assert_array_equal(layer.bias.data, biases)
    assert layer.weight.requires_grad and layer.bias.requires_grad


def test_mlp_passes_init_to_every_layer() -> None:
    model = MLP([N_IN, 600, 300], init="he", seed=1)
    for layer in model.layers:
        n_in = layer.weight.shape[1]
        assert layer.weight.data.std() == pytest.approx(np.sqrt(2.0 / n_in), rel=0.02)


# ---- scalar and tensor engines agree -------------------------------------------------

X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.7, -0.2], [0.1, 1.4]])
Y = np.array([[1.0], [0.0], [1.0], [0.0]])


def copy_scalar_weights(scalar: ScalarMLP, tensor: TensorMLP) -> None:
    for scalar_layer, tensor_layer in zip(scalar.layers, tensor.layers):
        tensor_layer.weight.data[...] = [[w.data for w in neuron.w] for neuron in scalar_layer.neurons]
        tensor_layer.bias.data[...] = [neuron.b.data for neuron in scalar_layer.neurons]


def scalar_quadratic(model: ScalarMLP) -> Value:
    """(1/n) Σₓ ½(a − y)² on Values."""
    terms = [(model(list(x)) - float(y[0])) ** 2 for x, y in zip(X, Y)]
    return Value.sum(terms) * (0.5 / len(X))


def scalar_cross_entropy(model: ScalarMLP) -> Value:
    """−(1/n) Σₓ [y ln a + (1−y) ln(1−a)] on Values."""
    terms = []
    for x, y in zip(X, Y):
        a = model(list(x))
        terms.append(float(y[0]) * a.log() + (1.0 - float(y[0])) * (1.0 - a).log())
    return Value.sum(terms) * (-1.0 / len(X))


@pytest.mark.parametrize(
    "activation, output_activation, cost",
    [
        ("tanh", "sigmoid", "quadratic"),
        ("sigmoid", "sigmoid", "cross_entropy"),
        ("relu", "linear", "quadratic"),
        ("tanh", "tanh", "quadratic"),
    ],
)
def test_scalar_and_tensor_engines_agree(activation: str, output_activation: str, cost: str) -> None:
    scalar = MLP(2, [3, 3, 1], activation=activation, output_activation=output_activation, seed=3)
    tensor = TensorMLP([2, 3, 3, 1], activation=activation, output_activation=output_activation, seed=99)
    copy_scalar_weights(scalar, tensor)

    scalar_loss = scalar_quadratic(scalar) if cost == "quadratic" else scalar_cross_entropy(scalar)
    scalar_loss.backward()
    out = tensor(X)
    tensor_loss = quadratic_cost(out, Y) if cost == "quadratic" else cross_entropy(out, Y)
    tensor_loss.backward()

    assert tensor_loss.item() == pytest.approx(scalar_loss.data, abs=1e-10)
    for scalar_layer, tensor_layer in zip(scalar.layers, tensor.layers):
        weight_grad = np.array([[w.grad for w in neuron.w] for neuron in scalar_layer.neurons])
        bias_grad = np.array([neuron.b.grad for neuron in scalar_layer.neurons])
        np.testing.assert_allclose(tensor_layer.weight.grad, weight_grad, rtol=0, atol=1e-10)
        np.testing.assert_allclose(tensor_layer.bias.grad, bias_grad, rtol=0, atol=1e-10)


# ---- losses: values from their formulas, gradients against central differences --------

Z = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.4]])
T = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.2]])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_quadratic_cost_is_half_squared_distance_averaged_over_batch() -> None:
    a = Tensor(Z, requires_grad=True)
    cost = quadratic_cost(a, T)
    assert cost.item() == pytest.approx(0.5 * np.sum((Z - T) ** 2) / 2, rel=1e-14)
    cost.backward()
    np.testing.assert_allclose(a.grad, (Z - T) / 2, rtol=1e-14)


def test_quadratic_cost_on_one_example_does_not_divide() -> None:
    cost = quadratic_cost(Tensor(Z[0]), T[0].tolist())
    assert cost.item() == pytest.approx(0.5 * np.sum((Z[0] - T[0]) ** 2), rel=1e-14)


def test_nielsen_cross_entropy_value_and_delta() -> None:
    z = Tensor(Z, requires_grad=True)
    cost = cross_entropy(z.sigmoid(), T)
    a = sigmoid(Z)
    expected = -np.sum(T * np.log(a) + (1 - T) * np.log(1 - a)) / 2
    assert cost.item() == pytest.approx(expected, rel=1e-13)
    cost.backward()
    np.testing.assert_allclose(z.grad, (a - T) / 2, rtol=1e-12)  # Nielsen's δᴸ = aᴸ − y


def test_cross_entropy_refuses_outputs_that_are_not_sigmoids() -> None:
    z = Tensor(Z, requires_grad=True)
    with pytest.raises(ValueError, match="sigmoid"):
        cross_entropy(z.tanh(), T)


def test_cross_entropy_evaluates_without_a_graph() -> None:
    with mg.no_grad():
        cost = cross_entropy(Tensor(Z).sigmoid(), T)
    a = sigmoid(Z)
    assert cost.item() == pytest.approx(-np.sum(T * np.log(a) + (1 - T) * np.log(1 - a)) / 2, rel=1e-13)


def test_cross_entropy_without_a_graph_is_finite_at_saturation() -> None:
    with mg.no_grad():
        right = cross_entropy(Tensor(np.array([[1000.0, -1000.0]])).sigmoid(), [[1.0, 0.0]])
        wrong = cross_entropy(Tensor(np.array([[40.0, -40.0]])).sigmoid(), [[0.0, 1.0]])
    assert right.item() == pytest.approx(0.0, abs=1e-300)
    assert wrong.item() == pytest.approx(80.0, rel=1e-12)


def test_cross_entropy_is_finite_where_sigmoid_rounds_to_one() -> None:
    z = Tensor(np.array([[40.0, -40.0]]), requires_grad=True)
    cost = cross_entropy(z.sigmoid(), [[0.0, 1.0]])
    assert cost.item() == pytest.approx(80.0, rel=1e-12)  # ln(1/σ(−40)) ≈ 40 for each entry
    cost.backward()
    np.testing.assert_allclose(z.grad, [[1.0, -1.0]], atol=1e-15)


def test_sigmoid_cross_entropy_value() -> None:
    cost = sigmoid_cross_entropy(Tensor(Z), T)
    a = sigmoid(Z)
    assert cost.item() == pytest.approx(-np.sum(T * np.log(a) + (1 - T) * np.log(1 - a)) / 2, rel=1e-13)


def test_softmax_cross_entropy_value_and_gradient() -> None:
    labels = np.array([2, 0])
    z = Tensor(Z, requires_grad=True)
    cost = softmax_cross_entropy(z, labels)
    p = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    assert cost.item() == pytest.approx(-np.mean(np.log(p[[0, 1], labels])), rel=1e-13)
    cost.backward()
    np.testing.assert_allclose(z.grad, (p - np.eye(3)[labels]) / 2, rtol=1e-12)


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 3], "labels"),
        ([0.0, 1.0], "integers"),
        ([0], "labels"),
        ([-1, 0], "labels"),  # −C ≤ label < 0 would silently index from the row's end
        ([0, -4], "labels"),
        ([0, 10**12], "labels"),
        (np.array([0, 2**64 - 1], dtype=np.uint64), "labels"),  # numpy's indexing wraps it to −1
        (np.array([0, 2**63 + 1], dtype=np.uint64), r"dtype uint64 with range 0\.\.9223372036854775809"),
        (np.array(["a", "b"]), "integers in 0..2, got dtype <U1"),
        (np.array([0, None], dtype=object), "integers in 0..2, got dtype object"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_labels(labels, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        softmax_cross_entropy(Tensor(Z), labels)


def test_softmax_cross_entropy_without_classes_says_so() -> None:
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: the logits have no classes"):
        softmax_cross_entropy(Tensor(np.zeros((2, 0)), requires_grad=True), [0, 0])


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.uint64, np.int64])
def test_softmax_cross_entropy_takes_any_integer_label_dtype(dtype) -> None:
    expected = softmax_cross_entropy(Tensor(Z), np.array([2, 0])).item()
    assert softmax_cross_entropy(Tensor(Z), np.array([2, 0], dtype=dtype)).item() == expected


def test_loss_shape_mismatches_name_the_loss_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"quadratic_cost.*\(2, 3\).*\(3, 2\)"):
        quadratic_cost(Tensor(Z), T.T)
    with pytest.raises(ValueError, match=r"sigmoid_cross_entropy.*\(2, 3\).*\(3,\)"):
        sigmoid_cross_entropy(Tensor(Z), T[0])


@given(shape=st.sampled_from([(3,), (1, 2), (4, 3)]), data=st.data())
def test_nn_losses_gradcheck(shape, data) -> None:
    z = leaf(data.draw(arrays(shape, -4, 4)))
    y = data.draw(arrays(shape, 0, 1))
    w = leaf(data.draw(arrays((2, 3))))
    gradcheck(lambda t: mg.nn.quadratic_cost(t, y), z)
    gradcheck(lambda t: mg.nn.cross_entropy(t.sigmoid(), y), z)
    gradcheck(lambda t, u: mg.nn.l2_penalty([t, u], 0.7), z, w)


def test_l2_penalty_is_half_lambda_sum_of_squares() -> None:
    w = Tensor(Z, requires_grad=True)
    b = Tensor(np.array([0.5, -2.0]), requires_grad=True)
    penalty = l2_penalty([w, b], 0.3)
    assert penalty.item() == pytest.approx(0.15 * (np.sum(Z**2) + 4.25), rel=1e-14)
    penalty.backward()
    np.testing.assert_allclose(w.grad, 0.3 * Z, rtol=1e-14)
    np.testing.assert_allclose(b.grad, 0.3 * b.data, rtol=1e-14)
    with pytest.raises(ValueError, match="no parameters"):
        l2_penalty([], 0.1)


def test_one_training_step_lowers_the_loss() -> None:
    model = MLP([2, 8, 1], activation="tanh", output_activation="sigmoid", seed=2)
    optimiser = SGD(model.parameters(), lr=0.5)
    before = cross_entropy(model(X), Y)
    before.backward()
    optimiser.step()
    after = cross_entropy(model(X), Y)
    assert after.item() < before.item()


def test_repr_says_the_engine_the_sizes_the_activations_and_a_narrow_dtype() -> None:
    assert repr(MLP([784, 30, 10])) == "TensorMLP([784, 30, 10], sigmoid→sigmoid)"
    assert repr(MLP([2, 4, 1], activation="relu", output_activation="linear")) == (
        "TensorMLP([2, 4, 1], relu→linear)"
    )
    assert repr(MLP([3, 2], activation="tanh", dtype=np.float32)) == "TensorMLP([3, 2], tanh, float32)"
    assert repr(MLP(2, [4, 1])).startswith("ScalarMLP(")  # the two engines no longer look alike
