"""layer_flow and SpeedRecorder against a hand-written numpy backprop (Nielsen's BP1–BP4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradvg as mg
from microgradvg.data import load_embedded, one_hot
from microgradvg.flow.speeds import LayerFlow, LayerStats, SpeedRecorder, layer_flow
from microgradvg.nn import ScalarMLP, TensorMLP, apply_activation
from microgradvg.nn.costs import COSTS
from microgradvg.testing import gradcheck

# ---- the independent reference: numpy, Nielsen's four equations -------------------------------


def activate(z: np.ndarray, name: str) -> np.ndarray:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return z


def slope(z: np.ndarray, name: str) -> np.ndarray:
    """σ'(z) for each activation, written from its textbook formula."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    return np.ones_like(z)


def numpy_backprop(weights, biases, names, x, y, cost):
    """(C, [∂C/∂bˡ], [∂C/∂Wˡ], [σ'(zˡ)]) for C averaged over the n examples, by BP1–BP4."""
    n = len(x)
    a, activations, zs = x, [x], []
    for w, b, name in zip(weights, biases, names):
        z = a @ w.T + b  # (n, n_l): zˡ = Wˡaˡ⁻¹ + bˡ per example
        a = activate(z, name)
        zs.append(z)
        activations.append(a)
    if cost == "quadratic":
        loss = 0.5 * np.sum((a - y) ** 2) / n
        delta = (a - y) * slope(zs[-1], names[-1])  # BP1: δᴸ = ∇ₐC ⊙ σ'(zᴸ)
    elif cost == "cross_entropy":
        loss = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / n
        delta = a - y  # BP1 for cross-entropy on sigmoid outputs: σ'(zᴸ) cancels
    else:
        e = np.exp(zs[-1] - zs[-1].max(axis=1, keepdims=True))
        softmax = e / e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(softmax[np.arange(n), y.argmax(axis=1)]))
        delta = softmax - y
    delta = delta / n  # the cost is a mean over the examples
    bias_grads, weight_grads = [None] * len(weights), [None] * len(weights)
    for l in reversed(range(len(weights))):
        bias_grads[l] = delta.sum(axis=0)  # BP3: ∂C/∂bˡ = δˡ, summed over the batch
        weight_grads[l] = delta.T @ activations[l]  # BP4: ∂C/∂Wˡ = δˡ(aˡ⁻¹)ᵀ
        if l:
            delta = (delta @ weights[l]) * slope(zs[l - 1], names[l - 1])  # BP2
    return loss, bias_grads, weight_grads, [slope(z, name) for z, name in zip(zs, names)]


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def expected_stats(weights, bias_grads, weight_grads, slopes) -> list[LayerStats]:
    stats = []
    for l in range(len(weights)):
        last = l == len(weights) - 1
        stats.append(
            LayerStats(
                layer=l + 1,
                size=weights[l].shape[0],
                speed_bias=np.linalg.norm(bias_grads[l]),
                speed_weight=np.linalg.norm(weight_grads[l]),
                slope_mean=slopes[l].mean(),
                slope_max=slopes[l].max(),
                next_weight_norm=None
                if last
                else np.linalg.svd(weights[l + 1], compute_uv=False)[0],
                gain=None
                if last
                else ratio(np.linalg.norm(bias_grads[l]), np.linalg.norm(bias_grads[l + 1])),
                next_weight_frobenius=None if last else np.sqrt(np.sum(weights[l + 1] ** 2)),
            )
        )
    return stats


def assert_stats_close(actual: list[LayerStats], expected: list[LayerStats], rtol: float) -> None:
    """Every field equal to `rtol`; entries that cancel to ~0 may differ by rounding (ATOL)."""
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        for field in LayerStats.__dataclass_fields__:
            a, b = getattr(got, field), getattr(want, field)
            if b is None:
                assert a is None, field
            elif field == "gain" and expected[got.layer].speed_bias < ATOL:
                continue  # a ratio of two rounding errors: both near-zero speeds are checked
            else:
                assert a == pytest.approx(float(b), rel=rtol, abs=ATOL, nan_ok=True), (
                    got.layer,
                    field,
                )


ATOL = 1e-13  # gradients here are O(1); a sum that cancels to 0 leaves ~1e-17 of rounding


# ---- building networks ----------------------------------------------------------------------

CASES = [  # (hidden activation, output activation, cost)
    ("sigmoid", "sigmoid", "cross_entropy"),
    ("sigmoid", "sigmoid", "quadratic"),
    ("tanh", "sigmoid", "cross_entropy"),
    ("relu", "linear", "softmax_cross_entropy"),
    ("tanh", "tanh", "quadratic"),
    ("sigmoid", "linear", "quadratic"),
]

networks = st.tuples(
    st.lists(st.integers(1, 5), min_size=2, max_size=5),  # sizes
    st.integers(1, 6),  # batch
    st.sampled_from(CASES),
    st.sampled_from(["nielsen", "nielsen_large", "xavier"]),
    st.integers(0, 2**16),
)


def build(sizes, batch, case, init, seed):
    hidden, output, cost = case
    model = TensorMLP(sizes, activation=hidden, output_activation=output, init=init, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0.0, 1.0, (batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], batch)
    y = (
        np.eye(sizes[-1])[labels]
        if cost != "quadratic"
        else rng.uniform(0.0, 1.0, (batch, sizes[-1]))
    )
    return model, x, y, cost


def scalar_twin(model: TensorMLP) -> ScalarMLP:
    """A ScalarMLP holding exactly the TensorMLP's weights and biases."""
    twin = ScalarMLP(
        model.sizes[0],
        model.sizes[1:],
        activation=model.activation,
        output_activation=model.output_activation,
    )
    for scalar_layer, layer in zip(twin.layers, model.layers):
        for j, neuron in enumerate(scalar_layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(layer.weight.data[j, i])
            neuron.b.data = float(layer.bias.data[j])
    return twin


def reference(model: TensorMLP, x, y, cost):
    weights = [layer.weight.data for layer in model.layers]
    biases = [layer.bias.data for layer in model.layers]
    names = [model.activation_of(l) for l in range(1, len(weights) + 1)]
    return weights, numpy_backprop(weights, biases, names, x, y, cost)


# ---- the numbers ------------------------------------------------------------------------------


@given(networks)
def test_tensor_flow_matches_numpy_backprop(network) -> None:
    model, x, y, cost = build(*network)
    weights, (loss, bias_grads, weight_grads, slopes) = reference(model, x, y, cost)
    flow = layer_flow(model, x, y, cost=cost)
    assert flow.loss == pytest.approx(loss, rel=1e-10)
    assert flow.batch_size == len(x) and flow.cost == cost
    assert_stats_close(
        flow.layers, expected_stats(weights, bias_grads, weight_grads, slopes), rtol=1e-9
    )
    # Afterwards the parameters hold the batch gradient ∂C/∂param.
    for layer, b_grad, w_grad in zip(model.layers, bias_grads, weight_grads):
        np.testing.assert_allclose(layer.bias.grad, b_grad, rtol=1e-9, atol=ATOL)
        np.testing.assert_allclose(layer.weight.grad, w_grad, rtol=1e-9, atol=ATOL)


@given(networks.filter(lambda n: n[2][0] != "relu"))  # relu has kinks where z = 0 exactly
def test_speeds_are_norms_of_gradients_that_pass_gradcheck(network) -> None:
    """The cost layer_flow differentiates is the batch mean: its gradient passes gradcheck."""
    model, x, y, cost = build(*network)
    hidden, output = model.activation, model.output_activation

    def batch_cost(*params: mg.Tensor) -> mg.Tensor:
        a, last = mg.Tensor(x), len(params) // 2 - 1
        for l in range(last + 1):
            z = a @ params[2 * l].T + params[2 * l + 1]  # (n, n_l)
            a = apply_activation(z, output if l == last else hidden)
        labels = y.argmax(axis=1) if cost == "softmax_cross_entropy" else y
        return COSTS[cost].of_batch(a, labels)

    params = model.parameters()
    gradcheck(batch_cost, *params, atol=1e-7, rtol=1e-5)  # leaves the checked gradients in .grad
    checked = [p.grad.copy() for p in params]
    flow = layer_flow(model, x, y, cost=cost)
    for l, stats in enumerate(flow.layers):
        assert stats.speed_weight == pytest.approx(
            np.linalg.norm(checked[2 * l]), rel=1e-10, abs=ATOL
        )
        assert stats.speed_bias == pytest.approx(
            np.linalg.norm(checked[2 * l + 1]), rel=1e-10, abs=ATOL
        )


@given(networks.filter(lambda n: n[1] <= 4 and sum(n[0]) <= 14))
def test_scalar_and_tensor_flows_agree(network) -> None:
    model, x, y, cost = build(*network)
    twin = scalar_twin(model)
    tensor_flow = layer_flow(model, x, y, cost=cost)
    scalar_flow = layer_flow(twin, x, y, cost=cost)
    assert scalar_flow.loss == pytest.approx(tensor_flow.loss, rel=1e-10)
    assert scalar_flow.activations == tensor_flow.activations
    assert_stats_close(scalar_flow.layers, tensor_flow.layers, rtol=1e-10)
    # The scalar model's leaves hold the same batch gradient.
    for scalar_layer, layer in zip(twin.layers, model.layers):
        b_grads = [neuron.b.grad for neuron in scalar_layer.neurons]
        np.testing.assert_allclose(b_grads, layer.bias.grad, rtol=1e-10, atol=ATOL)


@given(networks)
def test_sigmoid_slope_is_at_most_a_quarter(network) -> None:
    sizes, batch, _, init, seed = network
    model, x, y, cost = build(sizes, batch, ("sigmoid", "sigmoid", "cross_entropy"), init, seed)
    for stats in layer_flow(model, x * 50.0 - 25.0, y, cost=cost).layers:
        assert 0.0 <= stats.slope_mean <= stats.slope_max <= 0.25


@pytest.mark.parametrize(("engine", "z"), [("tensor", 1.7e-16), ("scalar", -1e-12)])
def test_sigmoid_slope_never_exceeds_a_quarter_near_zero(engine: str, z: float) -> None:
    model = TensorMLP([1, 1], seed=0)
    model.layers[0].weight.data = np.zeros((1, 1))
    model.layers[0].bias.data = np.array([z])  # so z¹ = 0·x + z exactly
    net = model if engine == "tensor" else scalar_twin(model)
    assert layer_flow(net, np.ones((1, 1)), np.ones((1, 1))).layers[0].slope_max <= 0.25


@given(networks)
def test_gain_is_the_ratio_of_speeds(network) -> None:
    model, x, y, cost = build(*network)
    flow = layer_flow(model, x, y, cost=cost)
    speeds = flow.speeds()
    assert isinstance(speeds, np.ndarray) and speeds.shape == (len(model.layers),)
    for l, stats in enumerate(flow.layers[:-1]):
        if speeds[l + 1] > 0:
            assert stats.gain == speeds[l] / speeds[l + 1]
        else:
            assert math.isnan(stats.gain)
    last = flow.layers[-1]
    assert (
        last.gain is None and last.next_weight_norm is None and last.next_weight_frobenius is None
    )
    np.testing.assert_array_equal(flow.weight_speeds(), [s.speed_weight for s in flow.layers])


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_one_neuron_per_layer_is_a_product_of_factors(engine: str) -> None:
    """Nielsen's toy net: ∂C/∂b¹ = σ'(z¹)·w²·σ'(z²)·w³·σ'(z³)·w⁴·σ'(z⁴)·∂C/∂a⁴, one example."""
    model = TensorMLP([1, 1, 1, 1, 1], init="nielsen_large", seed=4)
    net = model if engine == "tensor" else scalar_twin(model)
    x, y = np.array([[0.6]]), np.array([[0.2]])
    flow = layer_flow(net, x, y, cost="quadratic")
    s = flow.layers
    ws = [abs(float(layer.weight.data[0, 0])) for layer in model.layers]
    for l in range(3):
        assert s[l].slope_mean == s[l].slope_max
        assert s[l].next_weight_norm == pytest.approx(ws[l + 1], rel=1e-15)
        assert s[l].gain == pytest.approx(s[l].slope_mean * ws[l + 1], rel=1e-12)
    # ∂C/∂b⁴ = σ'(z⁴)·(a⁴ − y): the last factors; then each layer multiplies by σ'(zˡ)·|wˡ⁺¹|.
    output = mg.Tensor(x)
    for layer in model.layers:
        output = (output @ layer.weight.T + layer.bias).sigmoid()
    assert s[3].speed_bias == pytest.approx(s[3].slope_mean * abs(output.item() - 0.2), rel=1e-12)
    product = s[3].speed_bias * np.prod([s[l].slope_mean * ws[l + 1] for l in range(3)])
    assert s[0].speed_bias == pytest.approx(product, rel=1e-12)


def test_speed_of_learning_vanishes_in_nielsens_network() -> None:
    """[784, 30, 30, 30, 30, 10], sigmoid: each hidden layer learns slower than the next."""
    images, labels = load_embedded(1000)
    flow = layer_flow(TensorMLP([784, 30, 30, 30, 30, 10], seed=0), images, one_hot(labels))
    speeds = flow.speeds()
    assert np.all(np.diff(speeds) > 0)
    assert speeds[0] < speeds[3] / 20  # Nielsen: about 0.003 against 0.285
    assert all(stats.gain < 0.5 for stats in flow.layers[:-1])


# ---- gradients before and after, inputs, table ------------------------------------------------


def test_existing_gradients_are_reset_first() -> None:
    model, x, y, cost = build([3, 4, 2], 5, CASES[0], "nielsen", 1)
    clean = layer_flow(model, x, y, cost=cost)
    for p in model.parameters():
        p.grad = np.full(p.shape, 1e3)
    again = layer_flow(model, x, y, cost=cost)
    assert again.layers == clean.layers
    twin = scalar_twin(model)
    for p in twin.parameters():
        p.grad = 1e3
    assert_stats_close(layer_flow(twin, x, y, cost=cost).layers, clean.layers, rtol=1e-10)


def test_labels_one_hot_and_single_examples() -> None:
    model, x, y, _ = build([4, 3, 3], 5, CASES[0], "nielsen", 2)
    labels = y.argmax(axis=1)
    assert layer_flow(model, x, labels).layers == layer_flow(model, x, y).layers
    softmax_model = TensorMLP([4, 3, 3], activation="relu", output_activation="linear", seed=2)
    by_labels = layer_flow(softmax_model, x, labels, cost="softmax_cross_entropy")
    by_one_hot = layer_flow(softmax_model, x, y, cost="softmax_cross_entropy")
    assert by_labels.layers == by_one_hot.layers
    single = layer_flow(model, x[0], y[0:1])
    assert single.batch_size == 1
    assert single.layers == layer_flow(model, x[:1], y[:1]).layers
    one_output = TensorMLP([4, 3, 1], seed=3)
    assert layer_flow(one_output, x, y[:, 0], cost="quadratic").batch_size == 5


def test_float32_model() -> None:
    model = TensorMLP([4, 3, 2], seed=5, dtype=np.float32)
    x = np.random.default_rng(0).uniform(size=(6, 4))
    flow = layer_flow(model, x, np.eye(2)[[0, 1, 0, 1, 1, 0]])
    assert model.layers[0].bias.grad.dtype == np.float32
    assert all(np.isfinite(s.speed_bias) for s in flow.layers)


def test_table_reads_in_a_repl() -> None:
    model, x, y, cost = build([5, 4, 4, 3], 7, CASES[0], "nielsen", 3)
    flow = layer_flow(model, x, y, cost=cost)
    text = str(flow)
    lines = text.splitlines()
    assert "cross_entropy" in lines[0] and "batch of 7 examples" in lines[0]
    table = lines[1:5]
    assert len({len(line) for line in table}) == 1  # aligned columns
    assert "‖∂C/∂bˡ‖" in table[0] and "gain" in table[0]
    assert table[3].split()[:3] == ["3", "3", "sigmoid"] and "—" in table[3]
    assert f"{flow.layers[0].speed_bias:.3e}" in table[1]
    assert repr(flow) == text
    assert flow.sizes == (5, 4, 4, 3)
    assert isinstance(flow, LayerFlow)


@pytest.mark.parametrize(
    ("hidden", "output", "symbol"),
    [("sigmoid", "sigmoid", "σ'"), ("relu", "relu", "relu'"), ("tanh", "sigmoid", "f'")],
)
def test_slope_columns_name_the_activation(hidden: str, output: str, symbol: str) -> None:
    model = TensorMLP([4, 3, 2], activation=hidden, output_activation=output, seed=1)
    text = str(layer_flow(model, np.ones((2, 4)), np.zeros((2, 2)), cost="quadratic"))
    header = text.splitlines()[1]
    assert f"mean {symbol}(zˡ)" in header and f"max {symbol}(zˡ)" in header
    assert ("σ'" in header) == (symbol == "σ'")
    assert ("f'(zˡ): the slope of layer l's own activation" in text) == (symbol == "f'")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cost": "hinge"}, ValueError, "unknown cost"),
        ({"cost": "softmax_cross_entropy"}, ValueError, "takes logits"),
        ({"x": np.zeros((3, 5))}, ValueError, r"need \(n, 4\)"),
        ({"y": np.zeros((3, 5))}, ValueError, r"need \(3, 2\)"),
        ({"y": np.array([0, 1, 7])}, ValueError, "labels must lie in 0..1"),
        ({"model": "not a model"}, TypeError, "TensorMLP or a ScalarMLP"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message) -> None:
    arguments = {
        "model": TensorMLP([4, 3, 2], seed=0),
        "x": np.zeros((3, 4)),
        "y": np.eye(2)[[0, 1, 1]],
        "cost": "cross_entropy",
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        layer_flow(**arguments)


def test_cross_entropy_needs_sigmoid_outputs_and_a_graph() -> None:
    model = TensorMLP([4, 3, 2], output_activation="linear", seed=0)
    with pytest.raises(ValueError, match="sigmoid outputs"):
        layer_flow(model, np.zeros((3, 4)), np.eye(2)[[0, 1, 1]])
    with mg.no_grad(), pytest.raises(RuntimeError, match="outside no_grad"):
        layer_flow(TensorMLP([4, 3, 2]), np.zeros((3, 4)), np.eye(2)[[0, 1, 1]])


# ---- the recorder -----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_recorder_during_training(engine: str) -> None:
    model, x, y, cost = build([3, 4, 4, 2], 6, CASES[0], "nielsen", 7)
    net = model if engine == "tensor" else scalar_twin(model)
    recorder = SpeedRecorder(net, x, y, cost=cost)
    empty = recorder.as_arrays()
    assert empty["epochs"].shape == (0,) and empty["speed_bias"].shape == (0, 3)
    params = net.parameters()
    expected = []
    for epoch in range(4):
        expected.append(layer_flow(net, x, y, cost=cost).speeds())  # .grad now holds ∂C/∂p
        gradients = [p.grad for p in params]
        flow = recorder.record(epoch)
        # Recording leaves the training loop's gradients exactly as they were.
        assert all(p.grad is g for p, g in zip(params, gradients))
        np.testing.assert_allclose(flow.speeds(), expected[-1], rtol=1e-12)
        for p in params:  # one step of gradient descent
            p.data = p.data - 0.5 * p.grad
    arrays = recorder.as_arrays()
    assert len(recorder) == 4 and len(recorder.flows) == 4
    np.testing.assert_array_equal(arrays["epochs"], [0, 1, 2, 3])
    for key in ("speed_bias", "speed_weight", "slope_mean", "slope_max", "gain"):
        assert arrays[key].shape == (4, 3), key
    np.testing.assert_allclose(arrays["speed_bias"], np.array(expected), rtol=1e-12)
    assert np.isnan(arrays["gain"][:, -1]).all()
    assert not np.allclose(arrays["speed_bias"][0], arrays["speed_bias"][-1])  # training moved them


def test_recording_can_keep_the_batch_gradient_for_the_training_step() -> None:
    model, x, y, cost = build([3, 4, 4, 2], 6, CASES[0], "nielsen", 7)
    recorder = SpeedRecorder(model, x, y, cost=cost)
    params = model.parameters()
    for p in params:
        p.grad = np.full_like(p.data, 123.0)  # a stale gradient that must not survive
    recorder.record(0, keep_gradients=True)
    kept = [p.grad.copy() for p in params]
    for p in params:
        p.grad = None
    mg.nn.cross_entropy(model(x), y).backward()  # CASES[0]'s cost on the batch, computed afresh
    for p, g in zip(params, kept):
        np.testing.assert_allclose(g, p.grad, rtol=1e-13, atol=0)
