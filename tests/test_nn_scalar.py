"""Tests for the scalar networks in `microgradvg.nn` (`Neuron`, `Layer`, `ScalarMLP`)
and for `optim.SGD`/`Adam` on `Value` parameters.

Structure, labels and seeding; every activation against its formula; a whole
forward pass against numpy; gradients against `gradcheck`; errors; training.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np
import pytest

from microgradvg import Value, topological_order
from microgradvg.nn import ACTIVATIONS, MLP, Layer, Neuron, ScalarMLP
from microgradvg.optim import SGD, Adam
from microgradvg.testing import gradcheck

FORMULAS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "linear": lambda z: z,
}


def parameter_count(nin: int, nouts: list[int]) -> int:
    """Each neuron of a layer has one weight per input plus a bias."""
    sizes = [nin, *nouts]
    return sum((n_in + 1) * n_out for n_in, n_out in pairwise(sizes))


def weights_and_biases(model: ScalarMLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (
            np.array([[w.data for w in neuron.w] for neuron in layer.neurons]),
            np.array([neuron.b.data for neuron in layer.neurons]),
        )
        for layer in model.layers
    ]


def numpy_forward(model: ScalarMLP, x: list[float], activation: str, output: str) -> np.ndarray:
    """aˡ = f(Wˡaˡ⁻¹ + bˡ), computed from the parameters' data with numpy."""
    a = np.array(x)
    layers = weights_and_biases(model)
    for index, (weights, biases) in enumerate(layers):
        f = FORMULAS[output if index == len(layers) - 1 else activation]
        a = f(weights @ a + biases)
    return a


# ---- structure -------------------------------------------------------------------------


def test_mlp_with_nin_and_nouts_is_a_scalar_mlp_of_the_right_shape():
    model = MLP(2, [16, 16, 1])
    assert isinstance(model, ScalarMLP)
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    for n_in, layer in zip([2, 16, 16], model.layers):
        assert all(len(neuron.w) == n_in for neuron in layer.neurons)
    assert len(model.parameters()) == parameter_count(2, [16, 16, 1]) == 337


def test_default_activations_are_relu_hidden_and_linear_output():
    model = MLP(2, [4, 4, 1])
    assert [layer.neurons[0].activation for layer in model.layers] == ["relu", "relu", "linear"]
    model = MLP(2, [4, 1], activation="tanh")
    assert [layer.neurons[0].activation for layer in model.layers] == ["tanh", "linear"]


def test_parameters_are_distinct_leaves_weights_before_bias_neuron_by_neuron():
    model = MLP(3, [2, 1])
    params = model.parameters()
    assert len({id(p) for p in params}) == len(params)
    assert all(isinstance(p, Value) and not p.parents for p in params)
    first = model.layers[0].neurons[0]
    assert params[:4] == [*first.w, first.b]
    assert model.layers[0].parameters() == params[:8]
    assert first.parameters() == [*first.w, first.b]


def test_parameter_labels_name_layer_neuron_and_weight():
    model = MLP(8, [4, 1])
    assert model.layers[0].neurons[3].w[7].label == "L1.n3.w7"
    assert model.layers[1].neurons[0].b.label == "L2.n0.b"
    for l, layer in enumerate(model.layers, start=1):
        for j, neuron in enumerate(layer.neurons):
            assert [w.label for w in neuron.w] == [f"L{l}.n{j}.w{i}" for i in range(len(neuron.w))]
            assert neuron.b.label == f"L{l}.n{j}.b"
    labels = [p.label for p in model.parameters()]
    assert len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"L\d+\.n\d+\.(w\d+|b)", label) for label in labels)


def test_float_inputs_become_leaves_labelled_x0_x1():
    model = MLP(2, [3, 1])
    out = model([0.5, -1.0])
    inputs = [n for n in topological_order(out) if not n.parents and n.label.startswith("x")]
    assert sorted((n.label, n.data) for n in inputs) == [("x0", 0.5), ("x1", -1.0)]


def test_each_pre_activation_is_one_linear_node_whose_factor_to_the_previous_layer_is_the_weight():
    model = MLP(2, [3, 1], activation="tanh")
    out = model([0.5, -1.0])
    assert out.op == "linear"  # a linear output is the pre-activation itself
    hidden = model.layers[0].neurons
    weights = model.layers[1].neurons[0].w
    # parents: the 3 weights, the 3 hidden activations, then the bias
    assert list(out.parents[:3]) == weights and out.parents[6] is model.layers[1].neurons[0].b
    for i in range(3):
        activation = out.parents[3 + i]
        assert activation.op == "tanh" and activation.parents[0].op == "linear"
        assert activation.parents[0].parents[:2] == tuple(hidden[i].w)
        assert out.factor(3 + i) == weights[i].data
        assert out.factor(i) == activation.data


# ---- seeding and initialisation ---------------------------------------------------------


def data_of(model: ScalarMLP) -> list[float]:
    return [p.data for p in model.parameters()]


def test_the_same_int_seed_gives_the_same_network_and_another_seed_another():
    assert data_of(MLP(2, [5, 3, 1], seed=7)) == data_of(MLP(2, [5, 3, 1], seed=7))
    assert data_of(MLP(2, [5, 3, 1], seed=7)) != data_of(MLP(2, [5, 3, 1], seed=8))


def test_no_seed_is_reproducible_too():
    assert data_of(MLP(2, [5, 1])) == data_of(MLP(2, [5, 1]))


def test_a_generator_seeds_like_its_int_and_is_advanced():
    from_generator = MLP(2, [5, 1], seed=np.random.default_rng(11))
    assert data_of(from_generator) == data_of(MLP(2, [5, 1], seed=np.random.default_rng(11)))
    assert data_of(from_generator) == data_of(MLP(2, [5, 1], seed=11))
    rng = np.random.default_rng(11)
    first, second = MLP(2, [5, 1], seed=rng), MLP(2, [5, 1], seed=rng)
    assert data_of(first) != data_of(second)


def test_default_initialisation_is_micrograds_uniform_weights_and_zero_biases():
    model = MLP(4, [50, 50, 1], seed=3)
    weights = np.array([w.data for layer in model.layers for n in layer.neurons for w in n.w])
    biases = [n.b.data for layer in model.layers for n in layer.neurons]
    assert np.all(np.abs(weights) <= 1.0) and biases == [0.0] * len(biases)
    # U(−1, 1): mean 0, variance 1/3; 2,750 samples put both well within these bounds
    assert abs(weights.mean()) < 0.1 and abs(weights.var() - 1 / 3) < 0.05
    assert all(type(p.data) is float for p in model.parameters())


def test_named_initialisations_change_the_weights():
    uniform = data_of(MLP(3, [4, 1], seed=1))
    for init in ["nielsen", "xavier", "he", "nielsen_large"]:
        assert data_of(MLP(3, [4, 1], seed=1, init=init)) != uniform


# ---- activations and the forward pass ---------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("z_sign", [1.0, -1.0])
def test_a_neuron_applies_its_activation_to_w_dot_x_plus_b(activation, z_sign):
    neuron = Neuron([0.5 * z_sign, -1.5 * z_sign], 0.25 * z_sign, activation, "n")
    out = neuron([2.0, 0.5])
    z = z_sign * (0.5 * 2.0 - 1.5 * 0.5 + 0.25)  # ±0.5
    expected = {"relu": max(z, 0.0), "tanh": math.tanh(z), "sigmoid": 1 / (1 + math.exp(-z)),
                "linear": z}[activation]
    assert out.data == pytest.approx(expected, rel=1e-15)
    assert out.op == activation
    out.backward()
    slope = {"relu": 1.0 if z > 0 else 0.0, "tanh": 1 - math.tanh(z) ** 2,
             "sigmoid": math.exp(-z) / (1 + math.exp(-z)) ** 2, "linear": 1.0}[activation]
    assert [w.grad for w in neuron.w] == pytest.approx([slope * 2.0, slope * 0.5], rel=1e-12)
    assert neuron.b.grad == pytest.approx(slope, rel=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output", ACTIVATIONS)
def test_the_whole_forward_pass_matches_numpy(activation, output):
    model = ScalarMLP(3, [4, 3, 2], activation=activation, output_activation=output, seed=5)
    x = [0.3, -1.2, 0.8]
    outs = model(x)
    assert isinstance(outs, list) and len(outs) == 2  # the last layer is wider than 1
    assert [o.data for o in outs] == pytest.approx(numpy_forward(model, x, activation, output),
                                                    rel=1e-12, abs=1e-15)
    assert all(o.op == output for o in outs)
    activations = [layer.neurons[0].activation for layer in model.layers]
    assert activations == [activation, activation, output]


def test_a_one_output_network_returns_a_value():
    out = MLP(2, [3, 1])([1.0, 2.0])
    assert isinstance(out, Value)


def test_layer_calls_every_neuron_on_the_same_inputs():
    neurons = [Neuron([1.0, 2.0], 0.0, "linear", f"n{j}") for j in range(3)]
    x = [Value(1.0), Value(0.5)]
    outs = Layer(neurons)(x)
    assert [o.data for o in outs] == [2.0, 2.0, 2.0]
    assert all(o.parents[2] is x[0] and o.parents[3] is x[1] for o in outs)


# ---- gradients ------------------------------------------------------------------------


SAMPLES = [([0.5, -1.0], 1.0), ([-0.3, 0.8], -1.0), ([1.2, 0.1], 0.5)]


def squared_error(model: ScalarMLP) -> Value:
    return Value.sum((model(x) - y) ** 2 for x, y in SAMPLES)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_loss_gradients_match_central_differences_for_every_parameter(activation):
    model = ScalarMLP(2, [4, 3, 1], activation=activation, output_activation="tanh", seed=2)
    report = gradcheck(lambda *params: squared_error(model), *model.parameters())
    assert report.elements == parameter_count(2, [4, 3, 1])


def test_input_gradients_match_central_differences():
    model = MLP(3, [4, 1], activation="sigmoid", seed=4)
    gradcheck(lambda *x: model(list(x)), Value(0.2), Value(-0.7), Value(1.1))


def test_model_zero_grad_resets_every_parameter():
    model = MLP(2, [4, 1], activation="tanh", seed=1)
    squared_error(model).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# ---- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda: ScalarMLP(0, [1]), ValueError, ["0"]),
        (lambda: ScalarMLP(2, []), ValueError, ["layer"]),
        (lambda: ScalarMLP(2, [3, 0]), ValueError, ["0"]),
        (lambda: ScalarMLP(2, [2.5]), ValueError, ["2.5"]),
        (lambda: MLP(2, [3, 1], activation="softplus"), ValueError, ["softplus", "relu", "tanh"]),
        (lambda: MLP(2, [3, 1], output_activation="soft"), ValueError, ["soft", "sigmoid"]),
        (lambda: Neuron([1.0], 0.0, "step", "n"), ValueError, ["step"]),
        (lambda: MLP(2, [3, 1], init="glorious"), ValueError, ["glorious", "xavier"]),
        (lambda: MLP(2, [3, 1], seed="seven"), TypeError, ["seven"]),
        (lambda: MLP(2, [3, 1])([1.0]), ValueError, ["linear", "2", "1"]),
        (lambda: MLP(2), TypeError, ["MLP"]),
        (lambda: MLP([2], [3, 1]), TypeError, ["MLP"]),
        (lambda: MLP(2, [3], engine="gpu"), ValueError, ["gpu", "scalar"]),
        # review A8: a Tensor-only option must not be silently dropped by a scalar MLP
        (lambda: MLP(2, [3, 1], dtype=np.float32), TypeError, ["dtype"]),
        (lambda: MLP([2, 3, 1], engine="scalar", dtype=np.float32), TypeError, ["dtype"]),
    ],
    ids=["nin 0", "no layers", "empty layer", "float size", "activation", "output activation",
         "neuron activation", "init", "seed", "input length", "nin alone", "list nin", "engine",
         "tensor option", "tensor option, engine='scalar'"],
)
def test_bad_arguments_raise_errors_naming_them(make, error, words):
    with pytest.raises(error) as raised:
        make()
    message = str(raised.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


# ---- optimisers on Values -------------------------------------------------------------


def test_one_sgd_step_is_w_minus_lr_times_grad():
    w = Value(3.0)
    ((w - 1.0) ** 2).backward()  # ∂/∂w = 2(w − 1) = 4
    SGD([w], lr=0.1).step()
    assert w.data == pytest.approx(3.0 - 0.1 * 4.0, rel=1e-15)
    assert type(w.data) is float


def test_sgd_momentum_and_weight_decay_follow_the_formulas_by_hand():
    w = Value(2.0)
    optimizer = SGD([w], lr=0.1, momentum=0.9, weight_decay=0.5)
    data, velocity = 2.0, 0.0
    for _ in range(3):
        optimizer.zero_grad()
        (w * w).backward()
        g = 2 * data + 0.5 * data  # ∂(w²)/∂w + λw
        velocity = 0.9 * velocity + g
        data -= 0.1 * velocity
        optimizer.step()
        assert w.data == pytest.approx(data, rel=1e-14)


def test_sgd_zero_grad_sets_value_gradients_to_zero():
    w = Value(1.0)
    w.grad = 5.0
    SGD([w], lr=0.1).zero_grad()
    assert w.grad == 0.0


def test_adams_first_step_moves_each_value_by_about_lr_against_its_gradient():
    a, b = Value(1.0), Value(-2.0)
    (a * 3.0 - b * 0.5).backward()  # gradients 3 and −0.5
    Adam([a, b], lr=0.01).step()
    # m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g)
    assert a.data == pytest.approx(1.0 - 0.01, rel=1e-9)
    assert b.data == pytest.approx(-2.0 + 0.01, rel=1e-9)
    assert type(a.data) is float and type(b.data) is float


def test_sgd_training_reduces_a_small_regression_loss():
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    optimizer = SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = squared_error(model)
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    assert losses[-1] < 0.25 * losses[0]
    assert all(later <= earlier * (1 + 1e-9) for earlier, later in pairwise(losses))


def test_a_neurons_nodes_are_labelled_so_chains_read_neuron_by_neuron() -> None:
    model = MLP(2, [3, 1], activation="tanh", output_activation="linear", seed=0)
    out = model([0.5, -1.0])
    assert out.label == "L2.n0.z"  # a linear output layer: the pre-activation is the output
    hidden = [parent for parent in out.parents if parent.op == "tanh"]
    assert sorted(node.label for node in hidden) == ["L1.n0.a", "L1.n1.a", "L1.n2.a"]
    assert sorted(node.parents[0].label for node in hidden) == ["L1.n0.z", "L1.n1.z", "L1.n2.z"]


def test_repr_says_the_engine_the_sizes_and_the_activations():
    assert repr(ScalarMLP(2, [4, 4, 1])) == "ScalarMLP(2, [4, 4, 1], relu→linear)"
    sigmoid = ScalarMLP(2, [4, 4, 1], activation="sigmoid", output_activation="sigmoid")
    assert repr(sigmoid) == "ScalarMLP(2, [4, 4, 1], sigmoid→sigmoid)"
    assert repr(ScalarMLP(3, [1], output_activation="tanh")) == "ScalarMLP(3, [1], tanh)"
