"""The PyTorch-shaped modules: Sequential, activations, Residual, LayerNorm, BatchNorm1d,
RNN and LSTM, their gradients against central differences, train/eval, and state dicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import away_from_zero

from microgradvg import Tensor, chain
from microgradvg.nn import (
    LSTM,
    MLP,
    RNN,
    BatchNorm1d,
    LayerNorm,
    Linear,
    Module,
    ReLU,
    Residual,
    ScalarMLP,
    Sequential,
    Sigmoid,
    Tanh,
    TensorMLP,
)
from microgradvg.testing import arrays, gradcheck


def check_module(module: Module, x: np.ndarray, call=None) -> None:
    """gradcheck ∂(u·module(x))/∂(x, every parameter) against central differences."""
    call = call or (lambda m, inp: m(inp))
    parameters = module.parameters()
    inp = Tensor(x, requires_grad=True)

    def f(x_node: Tensor, *_: Tensor) -> Tensor:
        return call(module, x_node)

    gradcheck(f, inp, *parameters, atol=1e-6, rtol=1e-5)


# ---- values and gradients -------------------------------------------------------------


@given(x=arrays((3, 4)), seed=st.integers(0, 10))
def test_sequential_of_linear_tanh_sigmoid_matches_numpy_and_central_differences(x, seed) -> None:
    model = Sequential(Linear(4, 5, seed=seed), Tanh(), Linear(5, 2, seed=seed + 1), Sigmoid())
    first, second = model[0], model[2]
    z = np.tanh(x @ first.weight.data.T + first.bias.data) @ second.weight.data.T + second.bias.data
    np.testing.assert_allclose(model(x).data, 1 / (1 + np.exp(-z)), rtol=1e-12)
    check_module(model, x)


def test_sequential_indexes_and_slices_like_pytorch() -> None:
    model = Sequential(Linear(3, 4, seed=0), Tanh(), Linear(4, 2, seed=1))
    assert len(model) == 3 and isinstance(model[-1], Linear)
    head = model[:2]
    assert isinstance(head, Sequential) and head[0] is model[0]  # the same modules, not copies
    x = np.ones((2, 3))
    np.testing.assert_array_equal(model[2](head(x)).data, model(x).data)
    with pytest.raises(TypeError, match="Sequential: argument 1 must be a Module, got ufunc"):
        Sequential(Tanh(), np.tanh)  # type: ignore[arg-type]


@given(x=arrays((2, 3)).map(away_from_zero))
def test_relu_is_max_zero_and_passes_the_gradient_where_positive(x) -> None:
    out = ReLU()(Tensor(x, requires_grad=True))
    np.testing.assert_array_equal(out.data, np.maximum(x, 0))
    check_module(ReLU(), x)


@given(x=arrays((3, 4)), seed=st.integers(0, 10))
def test_residual_adds_the_input_and_its_jacobian_is_identity_plus_the_blocks(x, seed) -> None:
    block = Sequential(Linear(4, 4, seed=seed), Tanh())
    model = Residual(block)
    np.testing.assert_allclose(model(x).data, x + block(x).data, rtol=1e-14)
    check_module(model, x)
    assert [name for name, _ in model.named_parameters()] == ["block.0.weight", "block.0.bias"]


def test_residual_refuses_a_block_that_changes_the_shape() -> None:
    with pytest.raises(ValueError, match=r"Residual: block maps shape \(2, 3\) to \(2, 4\)"):
        Residual(Linear(3, 4))(np.ones((2, 3)))
    with pytest.raises(TypeError, match="Residual: block must be a Module"):
        Residual(np.tanh)  # type: ignore[arg-type]


def spread_out(x: np.ndarray, axis) -> bool:
    """No group to normalise is nearly constant (the division by σ would be ill-conditioned)."""
    return bool((x.std(axis=axis) > 0.3).all())


@given(x=arrays((3, 4)), weight=arrays((4,)), bias=arrays((4,)))
def test_layer_norm_normalises_each_example_and_matches_central_differences(x, weight, bias) -> None:
    assume(spread_out(x, 1))
    norm = LayerNorm(4)
    norm.weight.data[:], norm.bias.data[:] = weight, bias
    mean, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * weight + bias
    np.testing.assert_allclose(norm(x).data, expected, rtol=1e-12, atol=1e-12)
    check_module(norm, x)


@given(x=arrays((5, 3)))
def test_batch_norm_in_training_uses_the_batch_and_updates_running_stats(x) -> None:
    assume(spread_out(x, 0))
    norm = BatchNorm1d(3, momentum=0.25)
    out = norm(x)
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(out.data, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(norm.running_mean, 0.25 * mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(norm.running_var, 0.75 + 0.25 * x.var(axis=0, ddof=1), rtol=1e-12)
    assert int(norm.num_batches_tracked) == 1
    check_module(norm, x)


@given(x=arrays((4, 3, 2)))
def test_batch_norm_on_three_axes_normalises_over_batch_and_length(x) -> None:
    assume(spread_out(x, (0, 2)))
    norm = BatchNorm1d(3)
    expected = (x - x.mean(axis=(0, 2), keepdims=True)) / np.sqrt(x.var(axis=(0, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(norm(x).data, expected, rtol=1e-12, atol=1e-12)
    check_module(norm, x)


@given(x=arrays((2, 3)), mean=arrays((3,)), var=arrays((3,), 0.1, 4.0))
def test_batch_norm_in_eval_uses_the_running_stats_and_leaves_them(x, mean, var) -> None:
    norm = BatchNorm1d(3).eval()
    norm.running_mean[:], norm.running_var[:] = mean, var
    norm.weight.data[:] = [1.0, 2.0, -1.0]
    np.testing.assert_allclose(norm(x).data, (x - mean) / np.sqrt(var + 1e-5) * [1.0, 2.0, -1.0], rtol=1e-12)
    np.testing.assert_array_equal(norm.running_mean, mean)
    assert int(norm.num_batches_tracked) == 0
    check_module(norm, x)


def test_batch_norm_momentum_none_is_the_cumulative_average() -> None:
    norm = BatchNorm1d(1, momentum=None)
    batches = [np.array([[1.0], [3.0]]), np.array([[5.0], [9.0]])]
    for batch in batches:
        norm(batch)
    np.testing.assert_allclose(norm.running_mean, [(2.0 + 7.0) / 2])
    np.testing.assert_allclose(norm.running_var, [(2.0 + 8.0) / 2])  # unbiased: 2 and 8


def test_batch_norm_refuses_one_example_in_training_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="more than one value per feature.*eval()"):
        BatchNorm1d(3)(np.ones((1, 3)))
    assert BatchNorm1d(3).eval()(np.ones((1, 3))).shape == (1, 3)
    with pytest.raises(ValueError, match=r"BatchNorm1d: input of shape \(2, 4\).*\(batch, 3\)"):
        BatchNorm1d(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNorm1d(3, momentum=2.0)


def test_train_and_eval_reach_every_submodule() -> None:
    model = Sequential(Linear(2, 2), Residual(Sequential(BatchNorm1d(2), Tanh())))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


# ---- recurrent layers ------------------------------------------------------------------


def reference_rnn(x, w_ih, w_hh, b_ih, b_hh, h0, act=np.tanh):
    h, out = h0, []
    for x_t in x:
        h = act(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        out.append(h)
    return np.stack(out)


def reference_lstm(x, w_ih, w_hh, b_ih, b_hh, h0, c0):
    def sigma(z):
        return 1 / (1 + np.exp(-z))

    h, c, out, cells = h0, c0, [], []
    n = h0.shape[-1]
    for x_t in x:
        z = x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = sigma(z[:, :n]), sigma(z[:, n:2 * n]), np.tanh(z[:, 2 * n:3 * n]), sigma(z[:, 3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
        cells.append(c)
    return np.stack(out), np.stack(cells)


@settings(max_examples=15)
@given(x=arrays((4, 2, 3)), h0=arrays((1, 2, 2)), seed=st.integers(0, 10))
def test_rnn_matches_the_recurrence_and_central_differences(x, h0, seed) -> None:
    rnn = RNN(3, 2, seed=seed)
    weights = [p.data for p in rnn.parameters()]
    out, h_last = rnn(x, h0)
    expected = reference_rnn(x, *weights, h0[0])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_last.data, expected[-1:], rtol=1e-12, atol=1e-14)
    assert [h.label for h in rnn.states] == ["h1", "h2", "h3", "h4"]
    np.testing.assert_array_equal(rnn.states[2].data, out.data[2])
    check_module(rnn, x, lambda m, inp: m(inp, h0)[0])


@given(x=arrays((3, 2, 2)).map(away_from_zero), seed=st.integers(0, 10))
def test_relu_rnn_matches_the_recurrence(x, seed) -> None:
    rnn = RNN(2, 3, nonlinearity="relu", seed=seed)
    out, _ = rnn(x)
    expected = reference_rnn(x, *[p.data for p in rnn.parameters()], np.zeros((2, 3)), lambda z: np.maximum(z, 0))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)


@settings(max_examples=6)  # each example checks 81 elements through 3 steps of ~14 nodes
@given(x=arrays((3, 2, 2)), h0=arrays((1, 2, 3)), c0=arrays((1, 2, 3)), seed=st.integers(0, 10))
def test_lstm_matches_the_gates_i_f_g_o_and_central_differences(x, h0, c0, seed) -> None:
    lstm = LSTM(2, 3, seed=seed)
    shapes = [p.shape for p in lstm.parameters()]
    assert shapes == [(12, 2), (12, 3), (12,), (12,)]
    out, (h_last, c_last) = lstm(x, (h0, c0))
    expected, cells = reference_lstm(x, *[p.data for p in lstm.parameters()], h0[0], c0[0])
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_last.data, expected[-1:], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_last.data, cells[-1:], rtol=1e-12, atol=1e-14)
    assert [c.label for c in lstm.cells] == ["c1", "c2", "c3"]
    np.testing.assert_allclose(np.stack([c.data for c in lstm.cells]), cells, rtol=1e-12, atol=1e-14)
    check_module(lstm, x, lambda m, inp: m(inp, (h0, c0))[0])


def test_the_states_are_graph_nodes_the_gradient_flows_through() -> None:
    rnn = RNN(2, 3, seed=0)
    _, h_last = rnn(np.ones((5, 1, 2)))
    loss = h_last.sum()
    loss.backward()
    # Every path from h1 to the loss crosses h2, …, h5 one after the other.
    through = chain(loss, rnn.states[0])
    assert through.num_paths == 1
    np.testing.assert_allclose(through.total, rnn.states[0].grad, rtol=1e-12)


def test_recurrent_layers_name_the_shapes_they_need() -> None:
    with pytest.raises(ValueError, match=r"RNN: input of shape \(2, 3\) does not fit; need \(T, B, 4\)"):
        RNN(4, 2)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"RNN: h0 has shape \(2, 2\); need \(1, 1, 2\)"):
        RNN(4, 2)(np.ones((2, 1, 4)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="unknown nonlinearity 'sigmoid'"):
        RNN(4, 2, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match=r"LSTM: hx must be a pair \(h0, c0\)"):
        LSTM(4, 2)(np.ones((2, 1, 4)), np.ones((1, 1, 2)))
    with pytest.raises(ValueError, match="LSTM: hidden_size must be a positive int, got 0"):
        LSTM(4, 0)


# ---- state dicts ----------------------------------------------------------------------


def test_state_dict_names_follow_pytorch_and_round_trip() -> None:
    model = Sequential(Linear(3, 4), Residual(Sequential(Linear(4, 4), ReLU())), BatchNorm1d(4), Linear(4, 2))
    state = model.state_dict()
    assert sorted(state) == sorted([
        "0.weight", "0.bias", "1.block.0.weight", "1.block.0.bias", "2.weight", "2.bias",
        "2.running_mean", "2.running_var", "2.num_batches_tracked", "3.weight", "3.bias",
    ])
    assert state["2.num_batches_tracked"].dtype == np.int64
    other = Sequential(Linear(3, 4, seed=9), Residual(Sequential(Linear(4, 4, seed=8), ReLU())), BatchNorm1d(4),
                       Linear(4, 2, seed=7))
    x = np.random.default_rng(0).standard_normal((6, 3))
    model(x)  # moves the running stats away from their start
    other.load_state_dict(model.state_dict())
    model.eval()
    other.eval()
    np.testing.assert_array_equal(other(x).data, model(x).data)
    state["0.weight"][:] = 0.0  # a copy: changing it leaves the model alone
    assert np.abs(model[0].weight.data).sum() > 0


def test_load_state_dict_checks_names_and_shapes_before_changing_anything() -> None:
    model = Sequential(Linear(2, 3), Linear(3, 1))
    before = model.state_dict()
    bad_shape = dict(before, **{"1.weight": np.zeros((3, 1))})
    bad_shape["0.bias"] = np.full(3, 7.0)
    with pytest.raises(ValueError, match=r"'1.weight' has shape \(3, 1\) in the mapping but \(1, 3\)"):
        model.load_state_dict(bad_shape)
    np.testing.assert_array_equal(model[0].bias.data, before["0.bias"])  # untouched
    with pytest.raises(KeyError, match=r"missing \['1.bias'\]; unexpected \['2.bias'\]"):
        model.load_state_dict({k if k != "1.bias" else "2.bias": v for k, v in before.items()})
    model.load_state_dict({"0.bias": np.full(3, 2.0)}, strict=False)
    np.testing.assert_array_equal(model[0].bias.data, 2.0)


def test_float32_modules_keep_their_dtype_on_load() -> None:
    rnn = RNN(2, 3, dtype=np.float32)
    rnn.load_state_dict({k: v.astype(np.float64) for k, v in RNN(2, 3, seed=5).state_dict().items()})
    assert all(p.dtype == np.float32 for p in rnn.parameters())
    out, _ = rnn(np.ones((2, 1, 2), dtype=np.float32))
    assert out.dtype == np.float32


def test_scalar_and_tensor_mlps_share_a_state_dict() -> None:
    scalar = MLP(3, [4, 2], activation="tanh", output_activation="sigmoid", seed=1)
    tensor = MLP([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=2)
    assert isinstance(scalar, ScalarMLP) and isinstance(tensor, TensorMLP)
    tensor.load_state_dict(scalar.state_dict())
    x = [0.5, -1.0, 2.0]
    np.testing.assert_allclose(tensor(np.array([x])).data[0], [v.data for v in scalar(x)], rtol=1e-12)
    scalar.load_state_dict({k: v * 2 for k, v in tensor.state_dict().items()})
    np.testing.assert_allclose(scalar.state_dict()["L1.W"], 2 * tensor.layers[0].weight.data, rtol=1e-15)
    with pytest.raises(KeyError, match=r"ScalarMLP.load_state_dict: missing \['L2.b'\]"):
        scalar.load_state_dict({k: v for k, v in scalar.state_dict().items() if k != "L2.b"})
