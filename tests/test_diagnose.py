"""Tests for `diagnose`: every measurement against numpy written out here (and PyTorch when it
is installed), and each verdict on a network built so that its answer is known."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradvg import diagnose, no_grad
from microgradvg.flow.diagnose import LINE_SEARCH_STEPS, VERDICTS, Diagnosis
from microgradvg.nn import (
    MLP,
    Linear,
    ReLU,
    Residual,
    ScalarMLP,
    Sequential,
    Sigmoid,
    Tanh,
    TensorMLP,
)

# ---- the independent computation: an MLP, its cost and backprop in plain numpy --------------

SLOPES = {  # f and f' by hand
    "sigmoid": (lambda z: 0.5 * (1 + np.tanh(z / 2)), lambda z: 0.25 / np.cosh(z / 2) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "linear": (lambda z: z, np.ones_like),
}
MAXIMUM = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0, "linear": 1.0}


def arrays(model: TensorMLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(layer.weight.data.copy(), layer.bias.data.copy()) for layer in model.layers]


def forward(params, activations, x):
    """zˡ and aˡ per layer."""
    zs, outs, a = [], [], x
    for (w, b), act in zip(params, activations):
        z = a @ w.T + b
        a = SLOPES[act][0](z)
        zs.append(z)
        outs.append(a)
    return zs, outs


def cost_of(params, activations, x, y, cost):
    zs, outs = forward(params, activations, x)
    z, a = zs[-1], outs[-1]
    if cost == "quadratic":
        return 0.5 * np.sum((a - y) ** 2) / len(x)
    # Nielsen's cross-entropy from the logits: softplus(z) − yz.
    return np.sum(np.logaddexp(0, z) - y * z) / len(x)


def gradients(params, activations, x, y, cost):
    """∂C/∂(Wˡ, bˡ) by BP1–BP4."""
    zs, outs = forward(params, activations, x)
    a = outs[-1]
    delta = a - y
    if cost == "quadratic":
        delta = delta * SLOPES[activations[-1]][1](zs[-1])
    result = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        before = x if l == 0 else outs[l - 1]
        result[l] = (delta.T @ before / len(x), delta.mean(axis=0))
        if l:
            delta = (delta @ params[l][0]) * SLOPES[activations[l - 1]][1](zs[l - 1])
    return result


def moved(params, l, t, g):
    out = [(w.copy(), b.copy()) for w, b in params]
    out[l] = (params[l][0] - t * g[0], params[l][1] - t * g[1])
    return out


def expected(model: TensorMLP, x, y, cost, lr):
    """Every number of `diagnose`, by hand: κ from central differences of the gradient."""
    params = arrays(model)
    acts = [model.activation_of(l) for l in range(1, len(params) + 1)]
    grads = gradients(params, acts, x, y, cost)
    zs, _ = forward(params, acts, x)
    c0 = cost_of(params, acts, x, y, cost)
    rows = []
    for l, ((w, b), g, z, act) in enumerate(zip(params, grads, zs, acts)):
        gg = np.sum(g[0] ** 2) + np.sum(g[1] ** 2)
        eps = 1e-5 / np.sqrt(gg)
        plus = gradients(moved(params, l, -eps, g), acts, x, y, cost)[l]
        minus = gradients(moved(params, l, eps, g), acts, x, y, cost)[l]
        hg = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]  # H g for layer l's block
        # Central differences across a ReLU's kink measure a jump, not a curvature.
        kink = any(
            act_k == "relu" and np.any((zp > 0) != (zm > 0))
            for act_k, zp, zm in zip(
                acts, forward(moved(params, l, -eps, g), acts, x)[0],
                forward(moved(params, l, eps, g), acts, x)[0],
            )
        )
        kappa = (np.sum(g[0] * hg[0]) + np.sum(g[1] * hg[1])) / gg
        steps = list(LINE_SEARCH_STEPS) + ([1 / kappa] if kappa > 0 else [])
        drops = [c0 - cost_of(moved(params, l, t, g), acts, x, y, cost) for t in steps]
        flat = SLOPES[act][1](z) < 0.1 * MAXIMUM[act]
        rows.append({
            "speed": np.linalg.norm(g[1]), "weight_speed": np.linalg.norm(g[0]),
            "gradient_ratio": np.linalg.norm(g[0]) / np.linalg.norm(w),
            "update_ratio": lr * np.linalg.norm(g[0]) / np.linalg.norm(w),
            "saturation": flat.all(axis=0).mean() if act == "relu" else flat.mean(),
            "dead": int(flat.all(axis=0).sum()), "curvature": kappa, "kink": kink,
            "step": np.sqrt(gg) / kappa if kappa > 0 else None,
            "line_search_drop": max(drops), "line_search_step": steps[int(np.argmax(drops))],
            # Every step whose drop ties the best: where C is flat, which one wins is rounding.
            "tied_steps": [s for s, d in zip(steps, drops) if d >= max(drops) - 1e-15],
        })
    return c0, rows


def data(seed, n, n_in, n_out):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(size=(n, n_out))


# ---- each measurement against numpy ----------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=2, max_size=4),
    st.sampled_from([("sigmoid", "sigmoid", "cross_entropy"), ("tanh", "linear", "quadratic"),
                     ("relu", "sigmoid", "quadratic"), ("sigmoid", "tanh", "quadratic")]),
    st.sampled_from(["nielsen", "nielsen_large", "xavier"]),
    st.integers(0, 2**16),
    st.sampled_from([0.01, 0.1, 3.0]),
)
def test_every_measurement_matches_numpy(sizes, case, init, seed, lr):
    activation, output, cost = case
    model = TensorMLP(sizes, activation=activation, output_activation=output, init=init, seed=seed)
    x, y = data(seed, 7, sizes[0], sizes[-1])
    found = diagnose(model, x, y, cost=cost, lr=lr)
    loss, rows = expected(model, x, y, cost, lr)
    assert found.loss == pytest.approx(loss, rel=1e-12)
    for got, want in zip(found.layers, rows):
        for field in ("speed", "weight_speed", "gradient_ratio", "update_ratio", "saturation",
                      "dead"):
            assert getattr(got, field) == pytest.approx(want[field], rel=1e-9, abs=1e-14), field
        if want["kink"]:  # the reference κ (and so its step 1/κ in the line search) is not one
            continue
        # The best t may be 1/κ, which the central differences give to about 1e-4 only; the
        # drop there is flat in t (a minimum along the line), so it still agrees closely.
        assert any(
            got.line_search_step == pytest.approx(s, rel=1e-9 if s in LINE_SEARCH_STEPS else 1e-4)
            for s in want["tied_steps"]
        ), (got.line_search_step, want["tied_steps"])
        assert got.line_search_drop == pytest.approx(want["line_search_drop"], rel=1e-7, abs=1e-13)
        if abs(want["curvature"]) > 1e-6:  # central differences are good to ~1e-9 absolute
            assert got.curvature == pytest.approx(want["curvature"], rel=1e-4)
            if want["step"] is not None and got.step is not None:
                assert got.step == pytest.approx(want["step"], rel=1e-4)


def test_scalar_mlp_gets_the_same_diagnosis_as_its_tensor_twin():
    scalar = ScalarMLP(3, [4, 2], activation="tanh", output_activation="sigmoid", seed=3)
    twin = TensorMLP([3, 4, 2], activation="tanh", output_activation="sigmoid")
    for layer, neurons in zip(twin.layers, scalar.layers):
        layer.weight.data = np.array([[w.data for w in n.w] for n in neurons.neurons])
        layer.bias.data = np.array([n.b.data for n in neurons.neurons])
    x, y = data(1, 5, 3, 2)
    assert str(diagnose(scalar, x, y)) == str(diagnose(twin, x, y))
    assert all(p.grad == 0.0 for p in scalar.parameters())


def test_a_sequential_mlp_gets_the_diagnosis_of_the_same_tensor_mlp():
    first, second = Linear(3, 4, seed=1), Linear(4, 2, seed=2)
    sequential = Sequential(first, Tanh(), second, Sigmoid())
    twin = TensorMLP([3, 4, 2], activation="tanh", output_activation="sigmoid")
    for layer, linear in zip(twin.layers, (first, second)):
        layer.weight.data, layer.bias.data = linear.weight.data, linear.bias.data
    x, y = data(8, 6, 3, 2)
    assert str(diagnose(sequential, x, y)) == str(diagnose(twin, x, y))
    logits = Sequential(Linear(3, 4, seed=3), ReLU(), Linear(4, 2, seed=4))
    labels = np.array([0, 1, 1, 0, 1, 0])
    found = diagnose(logits, x, labels, cost="softmax_cross_entropy")
    assert [d.activation for d in found.layers] == ["relu", "linear"]
    with pytest.raises(TypeError, match=r"diagnose: the Sequential's module 1 is Residual"):
        diagnose(Sequential(first, Residual(Linear(4, 4)), second), x, y)
    with pytest.raises(TypeError, match=r"the same activation after every hidden one"):
        diagnose(Sequential(Linear(3, 4), Tanh(), Linear(4, 4), ReLU(), second), x, y)


def test_what_is_not_an_mlp_is_refused_by_name():
    with pytest.raises(TypeError, match="diagnose: model must be a TensorMLP, a ScalarMLP or a "
                                        "Sequential of Linear layers and activations, got Linear"):
        diagnose(Linear(2, 1), np.zeros((1, 2)), np.zeros((1, 1)))


def test_parameters_and_their_gradients_are_left_as_they_were():
    model = MLP([4, 3, 2], seed=1)
    x, y = data(2, 6, 4, 2)
    for p in model.parameters():
        p.grad = np.full(p.shape, 7.0)
    before = copy.deepcopy([(p.data, p.grad) for p in model.parameters()])
    diagnose(model, x, y)
    for p, (data_before, grad_before) in zip(model.parameters(), before):
        assert np.array_equal(p.data, data_before)
        assert np.array_equal(p.grad, grad_before)


# ---- verdicts on networks whose answer is known ----------------------------------------------


@pytest.fixture(scope="module")
def digits():
    from microgradvg.data import load_embedded, one_hot

    images, labels = load_embedded(300)
    return images, one_hot(labels)


def test_nielsens_deep_network_at_initialisation_is_vanishing(digits):
    # Nielsen, chapter 5: the first layer learns ~100× more slowly than the last.
    found = diagnose(MLP([784, 30, 30, 30, 30, 10], seed=0), *digits)
    assert found.layers[0].verdict == "vanishing"
    assert found.verdict == "vanishing"


def test_sigmoid_network_with_huge_first_layer_weights_is_saturated():
    # |z¹| ≥ 6 for every example and unit: σ'(z¹) ≤ σ'(6) ≈ 0.0025 < 0.025.
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    model = TensorMLP([2, 3, 1], init="xavier")
    model.layers[0].weight.data = np.array([[10.0, 10.0], [-10.0, -10.0], [10.0, 20.0]])
    model.layers[0].bias.data = np.array([-4.0, 4.0, -4.0])
    z = x @ model.layers[0].weight.data.T + model.layers[0].bias.data
    assert np.all(np.abs(z) >= 6)
    found = diagnose(model, x, y)
    assert found.layers[0].saturation == 1.0
    assert found.layers[0].verdict == "saturated"


def test_a_last_layer_at_its_least_squares_optimum_is_near_a_minimum():
    # Linear output, quadratic cost: the best Wᴸ, bᴸ for fixed aᴸ⁻¹ solve least squares.
    x, y = data(5, 20, 3, 2)
    model = TensorMLP([3, 4, 2], activation="tanh", output_activation="linear", seed=5)
    hidden = np.tanh(x @ model.layers[0].weight.data.T + model.layers[0].bias.data)
    design = np.hstack([hidden, np.ones((20, 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]  # (5, 2)
    model.layers[1].weight.data = solution[:4].T.copy()
    model.layers[1].bias.data = solution[4].copy()
    found = diagnose(model, x, y, cost="quadratic")
    assert found.layers[1].verdict == "near a minimum"
    assert found.layers[1].line_search_drop < 1e-12


def test_a_step_as_large_as_the_weights_is_exploding():
    x, y = data(6, 10, 3, 2)
    model = TensorMLP([3, 4, 2], seed=6)
    found = diagnose(model, x, y, lr=1e4)
    assert found.layers[-1].update_ratio >= 1.0
    assert found.layers[-1].verdict == "exploding"
    assert found.verdict == "exploding"


def test_a_gradient_that_grows_on_its_way_back_is_exploding():
    # Nielsen's exploding chain: w = 100 and z = 0 in every layer, each factor w·σ'(0) = 25.
    model = TensorMLP([1, 1, 1, 1], init="xavier")
    for layer in model.layers:
        layer.weight.data = np.array([[100.0]])
    model.layers[0].bias.data = np.array([-100.0])  # x = 1: z¹ = 0
    model.layers[1].bias.data = np.array([-50.0])  # a = ½: z = 0
    model.layers[2].bias.data = np.array([-50.0])
    found = diagnose(model, np.array([[1.0]]), np.array([[0.0]]), cost="quadratic", lr=1e-4)
    assert found.layers[0].update_ratio > 100 * found.layers[-1].update_ratio
    assert found.layers[0].verdict == "exploding"


def test_logistic_regression_at_initialisation_is_healthy():
    x, y = data(7, 50, 4, 1)
    y = (x[:, :1] > 0).astype(float)
    found = diagnose(TensorMLP([4, 1], init="xavier", seed=7), x, y, lr=0.1)
    assert found.layers[0].verdict == "healthy"
    assert 1e-4 <= found.layers[0].update_ratio < 1


# ---- output and errors ------------------------------------------------------------------------


def test_the_table_fits_100_columns_and_names_every_verdict(digits):
    found = diagnose(MLP([784, 30, 30, 10], seed=1), *digits)
    text = str(found)
    assert max(len(line) for line in text.splitlines()) <= 100
    for d in found.layers:
        assert f"layer {d.layer}, {d.verdict}: {d.reason}" in text
    page = found._repr_html_()
    assert page.count("<tr>") == 1 + len(found.layers) + 2  # header, layers, two notes
    assert all(d.verdict in page for d in found.layers)


def test_bad_calls_say_what_is_wrong():
    model = MLP([2, 2, 1], seed=0)
    x, y = np.zeros((3, 2)), np.zeros((3, 1))
    with pytest.raises(ValueError, match="diagnose: the learning rate"):
        diagnose(model, x, y, lr=0.0)
    with no_grad(), pytest.raises(RuntimeError, match="diagnose: needs to record"):
        diagnose(model, x, y)
    with pytest.raises(ValueError, match=r"x has shape \(3, 3\)"):
        diagnose(model, np.zeros((3, 3)), y)
    assert isinstance(diagnose(model, x, y), Diagnosis)


# ---- PyTorch, when installed ------------------------------------------------------------------


def test_speeds_curvature_and_line_search_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    model = TensorMLP([5, 4, 3, 2], activation="tanh", output_activation="sigmoid", seed=11)
    x, y = data(11, 8, 5, 2)
    found = diagnose(model, x, y)
    params = [torch.tensor(a, requires_grad=True) for pair in arrays(model) for a in pair]

    def cost(ps):
        a = torch.tensor(x)
        for l in range(3):
            z = a @ ps[2 * l].T + ps[2 * l + 1]
            a = torch.tanh(z) if l < 2 else z
        return torch.nn.functional.binary_cross_entropy_with_logits(
            a, torch.tensor(y), reduction="sum") / len(x)

    c = cost(params)
    grads = torch.autograd.grad(c, params, create_graph=True)
    for l, d in enumerate(found.layers):
        gw, gb = grads[2 * l], grads[2 * l + 1]
        assert d.speed == pytest.approx(gb.norm().item(), rel=1e-10)
        assert d.weight_speed == pytest.approx(gw.norm().item(), rel=1e-10)
        v = [gw.detach(), gb.detach()]
        hv = torch.autograd.grad((gw * v[0]).sum() + (gb * v[1]).sum(),
                                 [params[2 * l], params[2 * l + 1]], retain_graph=True)
        gg = sum((t * t).sum() for t in v)
        kappa = (sum((h * t).sum() for h, t in zip(hv, v)) / gg).item()
        assert d.curvature == pytest.approx(kappa, rel=1e-8)
        with torch.no_grad():
            trial = list(params)
            trial[2 * l] = params[2 * l] - d.line_search_step * v[0]
            trial[2 * l + 1] = params[2 * l + 1] - d.line_search_step * v[1]
            assert d.line_search_drop == pytest.approx((c - cost(trial)).item(), rel=1e-8)


def test_the_picture_shows_every_layer_with_its_verdict_in_its_colour(digits, tmp_path):
    from xml.etree import ElementTree

    from microgradvg.render import draw_diagnosis, save_svg
    from microgradvg.render.diagnosis import VERDICT_COLOURS

    found = diagnose(MLP([784, 30, 30, 30, 10], seed=0), *digits)
    picture = draw_diagnosis(found, title="Nielsen's network")
    for d in found.layers:
        assert f"layer{d.layer} [" in picture.source
        assert f'<FONT COLOR="{VERDICT_COLOURS[d.verdict]}"><B>{d.verdict}</B>' in picture.source
    assert f"verdict: {found.verdict}" in picture.source
    if __import__("shutil").which("dot"):
        ElementTree.parse(save_svg(picture, tmp_path / "diagnosis.svg"))


def test_a_layer_whose_update_and_output_update_are_zero_gets_a_verdict():
    # Dead ReLUs: layers 1 and 2 get no gradient at all, so both update ratios are 0; the
    # rule "it grew going back" once divided by the output layer's 0.
    model = TensorMLP([1, 1, 1, 1], activation="relu", output_activation="sigmoid", seed=1)
    x, y = data(1, 7, 1, 1)
    found = diagnose(model, x, y, cost="quadratic")
    assert [layer.speed for layer in found.layers][:2] == [0.0, 0.0]
    assert all(layer.verdict in VERDICTS for layer in found.layers)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_or_targets_are_refused_not_diagnosed(bad):
    """A NaN or ±∞ in x or y is a data error, not an exploding gradient (it was diagnosed so)."""
    model = MLP([2, 2, 1], seed=0)
    x, y = np.zeros((3, 2)), np.zeros((3, 1))
    x[1, 0] = bad
    with pytest.raises(ValueError, match=r"diagnose: x has non-finite values \(nan or ±inf\)"):
        diagnose(model, x, y)
    x[1, 0] = 0.0
    y[2, 0] = bad
    with pytest.raises(ValueError, match=r"diagnose: y has non-finite values \(nan or ±inf\)"):
        diagnose(model, x, y)
