"""layer_curvature: κˡ against finite differences along g, the exact quadratic case, the table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradvg as mg
from microgradvg.engine.derivatives import hessian
from microgradvg.engine.functional import linear, sigmoid_cross_entropy
from microgradvg.flow.curvature import LayerCurvature, layer_curvature
from microgradvg.flow.speeds import SpeedRecorder, layer_flow
from microgradvg.nn import ScalarMLP, TensorMLP, apply_activation, quadratic_cost


def numpy_loss(weights, biases, names, x, y, cost) -> float:
    """C averaged over the batch, by plain numpy (independent of the engine)."""
    a = x
    for w, b, name in zip(weights, biases, names):
        z = a @ w.T + b
        a = {"sigmoid": lambda t: 1 / (1 + np.exp(-t)), "tanh": np.tanh, "linear": lambda t: t}[
            name
        ](z)
    if cost == "quadratic":
        return 0.5 * np.sum((a - y) ** 2) / len(x)
    # −[y ln a + (1−y) ln(1−a)] with a = σ(z) is softplus(z) − y·z: no ln(1 − a) cancellation.
    return np.sum(np.logaddexp(0.0, z) - y * z) / len(x)


CASES = [
    ("sigmoid", "sigmoid", "cross_entropy"),
    ("tanh", "linear", "quadratic"),
    ("sigmoid", "sigmoid", "quadratic"),
]

networks = st.tuples(
    st.lists(st.integers(1, 4), min_size=2, max_size=4),
    st.integers(1, 5),
    st.sampled_from(CASES),
    st.sampled_from(["nielsen", "nielsen_large"]),
    st.integers(0, 2**16),
)


def build(sizes, batch, case, init, seed):
    hidden, output, cost = case
    model = TensorMLP(sizes, activation=hidden, output_activation=output, init=init, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(-1.0, 1.0, (batch, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    return model, x, y, cost


def gradient_of_layer(model: TensorMLP, x, y, cost, layer: int) -> tuple[np.ndarray, np.ndarray]:
    layer_flow(model, x, y, cost=cost)  # leaves ∂C/∂param in .grad
    return model.layers[layer].weight.grad.copy(), model.layers[layer].bias.grad.copy()


def loss_along(model: TensorMLP, x, y, cost, layer: int, direction, t: float) -> float:
    """C with layer `layer`'s (W, b) moved to (W, b) − t·direction, other layers fixed."""
    weights = [lay.weight.data for lay in model.layers]
    biases = [lay.bias.data for lay in model.layers]
    weights[layer] = weights[layer] - t * direction[0]
    biases[layer] = biases[layer] - t * direction[1]
    names = [model.activation_of(l) for l in range(1, len(weights) + 1)]
    return numpy_loss(weights, biases, names, x, y, cost)


@given(networks)
def test_curvature_is_the_second_derivative_along_the_layer_gradient(network) -> None:
    """κ = φ''(0)/gᵀg for φ(t) = C(θˡ − t·g), φ'' by central differences."""
    model, x, y, cost = build(*network)
    curvatures = layer_curvature(model, x, y, cost)
    for index, result in enumerate(curvatures):
        g = gradient_of_layer(model, x, y, cost, index)
        gg = sum(float(np.sum(part * part)) for part in g)
        assert result.gradient_norm == pytest.approx(math.sqrt(gg), rel=1e-12)
        if gg < 1e-16:
            continue

        def second_difference(h: float) -> float:
            phi = [loss_along(model, x, y, cost, index, g, t) for t in (-h, 0.0, h)]  # noqa: B023
            return (phi[0] - 2 * phi[1] + phi[2]) / (h * h)

        h = 1e-3 / math.sqrt(gg)  # a step of length 1e-3 in parameter space
        # Richardson: the O(h²) error of the central second difference cancels.
        second = (4 * second_difference(h / 2) - second_difference(h)) / 3
        assert result.curvature == pytest.approx(second / gg, rel=1e-6, abs=1e-7)


def loss_of_layer(model: TensorMLP, x, y, cost, index: int):
    """θˡ ↦ C, with layer `index`'s W and b cut from one flat vector θˡ and the others fixed."""
    layer = model.layers[index]
    last = len(model.layers) - 1

    def loss(theta: mg.Tensor) -> mg.Tensor:
        weight = theta[: layer.weight.size].reshape(layer.weight.shape)
        bias = theta[layer.weight.size :].reshape(layer.bias.shape)
        a = mg.Tensor(x)
        for l, other in enumerate(model.layers):
            w, b = (weight, bias) if l == index else (other.weight.detach(), other.bias.detach())
            z = linear(a, w, b)
            a = apply_activation(z, model.output_activation if l == last else model.activation)
        return sigmoid_cross_entropy(z, y) if cost == "cross_entropy" else quadratic_cost(a, y)

    return loss


@given(networks)
def test_curvature_matches_the_explicit_hessian_block(network) -> None:
    model, x, y, cost = build(*network)
    for index, result in enumerate(layer_curvature(model, x, y, cost)):
        layer = model.layers[index]
        theta = np.concatenate([layer.weight.data.reshape(-1), layer.bias.data])
        block = hessian(loss_of_layer(model, x, y, cost, index), theta)
        g = np.concatenate(
            [part.reshape(-1) for part in gradient_of_layer(model, x, y, cost, index)]
        )
        if g @ g == 0:
            assert result.curvature is None
            continue
        assert result.curvature == pytest.approx(g @ block @ g / (g @ g), rel=1e-9, abs=1e-13)


@given(networks)
def test_derived_quantities(network) -> None:
    model, x, y, cost = build(*network)
    lr = 0.25
    flow = layer_flow(model, x, y, cost=cost)
    for result, stats in zip(layer_curvature(model, x, y, cost, lr=lr), flow.layers):
        assert result.gradient_norm == pytest.approx(
            math.hypot(stats.speed_bias, stats.speed_weight), rel=1e-12
        )
        assert result.learning_rate == lr
        kappa = result.curvature
        if kappa is not None and kappa > 0:
            assert result.step_size == pytest.approx(1 / kappa, rel=1e-14)
            assert result.steps_needed == pytest.approx(1 / (lr * kappa), rel=1e-14)
            gg = result.gradient_norm**2
            assert result.predicted_decrease == pytest.approx(
                0.5 * gg * gg / (gg * kappa), rel=1e-12
            )
        else:
            assert result.step_size is result.predicted_decrease is result.actual_decrease is None
            assert result.steps_needed is None


@given(
    st.lists(st.integers(1, 4), min_size=2, max_size=3),
    st.integers(1, 6),
    st.sampled_from(["sigmoid", "tanh"]),
    st.integers(0, 2**16),
)
def test_predicted_decrease_is_exact_when_the_cost_is_quadratic_in_the_layer(
    sizes, batch, hidden, seed
) -> None:
    """With a linear output layer and the quadratic cost, C is a quadratic in (Wᴸ, bᴸ)."""
    model = TensorMLP(sizes, activation=hidden, output_activation="linear", seed=seed)
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1, 1, (batch, sizes[0])), rng.uniform(-1, 1, (batch, sizes[-1]))
    last = layer_curvature(model, x, y, "quadratic", lr=0.1)[-1]
    if last.gradient_norm < 1e-12:
        return
    assert last.curvature > 0  # ‖(Wᴸ − t·g_W) a + (bᴸ − t·g_b) − y‖² is convex in t
    scale = max(last.predicted_decrease, 1e-300)
    assert last.actual_decrease == pytest.approx(
        last.predicted_decrease, rel=1e-9, abs=1e-12 * scale
    )
    # And the step g/κ lands on the minimum along −g: the loss there has zero slope along g.
    g = gradient_of_layer(model, x, y, "quadratic", len(sizes) - 2)
    h = 1e-4 * last.step_size
    after = [
        loss_along(model, x, y, "quadratic", len(sizes) - 2, g, last.step_size + d) for d in (-h, h)
    ]
    assert abs(after[1] - after[0]) <= 1e-6 * abs(last.predicted_decrease) + 1e-14


def test_predicted_decrease_approximates_the_actual_one_in_deep_layers() -> None:
    model, x, y, cost = build([4, 5, 5, 3], 8, CASES[0], "nielsen", 3)
    for result in layer_curvature(model, x, y, cost):
        if result.curvature is not None and result.curvature > 0:
            assert result.actual_decrease > 0
            assert result.actual_decrease == pytest.approx(result.predicted_decrease, rel=0.5)


def test_negative_curvature_gives_no_step() -> None:
    model = TensorMLP([3, 3, 3, 2], init="nielsen_large", seed=2)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 1, (4, 3)), np.eye(2)[rng.integers(0, 2, 4)]
    results = layer_curvature(model, x, y, "cross_entropy", lr=0.1)
    negative = results[1]
    assert negative.curvature is not None and negative.curvature < 0
    assert negative.step_size is negative.predicted_decrease is negative.steps_needed is None
    text = str(layer_flow(model, x, y, curvature=True, lr=0.1))
    assert "κˡ ≤ 0" in text


def test_a_layer_with_no_gradient_has_no_curvature() -> None:
    model = TensorMLP([2, 3, 2], activation="relu", output_activation="sigmoid", seed=0)
    model.layers[0].bias.data = np.full(3, -100.0)  # every hidden unit dead: ∂C/∂θ¹ = 0
    x, y = np.ones((2, 2)), np.eye(2)
    first, second = layer_curvature(model, x, y, "cross_entropy", lr=0.1)
    assert first == LayerCurvature(1, 0.0, None, None, None, None, None, 0.1)
    assert second.curvature is not None
    assert "exactly 0" in str(layer_flow(model, x, y, curvature=True, lr=0.1))


def test_scalar_and_tensor_curvatures_agree() -> None:
    model, x, y, cost = build([3, 3, 2], 4, CASES[0], "nielsen", 5)
    twin = ScalarMLP(3, [3, 2], activation="sigmoid", output_activation="sigmoid")
    for scalar_layer, layer in zip(twin.layers, model.layers):
        for j, neuron in enumerate(scalar_layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(layer.weight.data[j, i])
            neuron.b.data = float(layer.bias.data[j])
    for ours, theirs in zip(
        layer_curvature(twin, x, y, cost, 0.1), layer_curvature(model, x, y, cost, 0.1)
    ):
        for field in LayerCurvature.__dataclass_fields__:
            assert getattr(ours, field) == pytest.approx(getattr(theirs, field), rel=1e-10)


def test_curvature_leaves_gradients_alone() -> None:
    model, x, y, cost = build([3, 4, 2], 5, CASES[0], "nielsen", 6)
    params = model.parameters()
    markers = [np.full(p.shape, 7.0) for p in params]
    for p, m in zip(params, markers):
        p.grad = m
    layer_curvature(model, x, y, cost)
    assert all(p.grad is m for p, m in zip(params, markers))


def test_table_shows_curvature_under_the_speeds() -> None:
    model, x, y, cost = build([4, 5, 5, 3], 8, CASES[0], "nielsen", 3)
    flow = layer_flow(model, x, y, cost=cost, curvature=True, lr=0.1)
    assert flow.learning_rate == 0.1 and len(flow.curvature) == 3
    lines = str(flow).splitlines()
    assert "‖∂C/∂bˡ‖" in lines[1] and "κˡ" not in lines[1]  # two tables, stacked
    header = lines.index("Curvature along each layer's own gradient") + 1
    assert {"κˡ", "1/κˡ", "‖g‖/κˡ"} <= set(lines[header].split())
    assert "steps at η=0.1" in lines[header]
    assert len({len(line) for line in lines[header:header + 4]}) == 1
    for c, row in zip(flow.curvature, lines[header + 1:header + 4]):
        cells = row.split()
        assert cells[0] == str(c.layer) and float(cells[1]) == pytest.approx(c.gradient_norm, rel=1e-3)
        if c.step_size is not None:  # ‖g‖/κ, the distance to the parabola's lowest point
            assert float(cells[3]) == pytest.approx(c.gradient_norm / c.curvature, rel=1e-3)
    assert "κˡ = gᵀHg/gᵀg" in str(flow)
    plain = str(layer_flow(model, x, y, cost=cost, curvature=True))
    assert "steps at" not in plain
    alone = layer_curvature(model, x, y, cost, lr=0.1)
    assert alone == flow.curvature and str(alone) in str(flow)


def test_recorder_with_curvature() -> None:
    model, x, y, cost = build([3, 4, 2], 5, CASES[0], "nielsen", 8)
    recorder = SpeedRecorder(model, x, y, cost=cost, curvature=True, lr=0.1)
    recorder.record(0)
    recorder.record(1)
    arrays = recorder.as_arrays()
    for key in ("curvature", "step_size", "predicted_decrease", "steps_needed"):
        assert arrays[key].shape == (2, 2)
    expected = [c.curvature for c in layer_curvature(model, x, y, cost, 0.1)]
    np.testing.assert_allclose(arrays["curvature"][1], expected, rtol=1e-12)


def test_bad_arguments_raise() -> None:
    model, x, y, cost = build([3, 4, 2], 5, CASES[0], "nielsen", 9)
    with pytest.raises(ValueError, match="must be > 0"):
        layer_curvature(model, x, y, cost, lr=0.0)
    with pytest.raises(ValueError, match="unknown cost"):
        layer_curvature(model, x, y, "hinge")
    with mg.no_grad(), pytest.raises(RuntimeError, match="outside no_grad"):
        layer_curvature(model, x, y, cost)
