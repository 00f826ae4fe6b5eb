"""Tests for `Monitor`, `train_monitored` and `plot_training`: the recorded update ratios and
saturation against numpy (test_diagnose's BP1–BP4), training steps, and the dashboard file."""

from __future__ import annotations

from xml.etree import ElementTree

import numpy as np
import pytest
from test_diagnose import SLOPES, data, forward, gradients

from microgradvg import Monitor, plot_training
from microgradvg.experiments import train_monitored
from microgradvg.nn import ScalarMLP, TensorMLP


def by_hand(model: TensorMLP, x, y, lr):
    """(update ratio, saturation) per layer, in numpy."""
    params = [(layer.weight.data, layer.bias.data) for layer in model.layers]
    acts = [model.activation_of(l) for l in range(1, len(params) + 1)]
    grads = gradients(params, acts, x, y, "cross_entropy")
    zs, _ = forward(params, acts, x)
    update = [lr * np.linalg.norm(g[0]) / np.linalg.norm(w) for (w, _), g in zip(params, grads)]
    maximum = {"sigmoid": 0.25, "tanh": 1.0}
    saturation = [np.mean(SLOPES[a][1](z) < 0.1 * maximum[a]) for z, a in zip(zs, acts)]
    return np.array(update), np.array(saturation)


def test_each_record_matches_numpy_and_training_moves_the_weights():
    x, y = data(3, 20, 4, 2)
    model = TensorMLP([4, 5, 2], activation="tanh", output_activation="sigmoid",
                      init="nielsen_large", seed=3)
    expected = [by_hand(model, x, y, 0.5)]
    monitor = Monitor(model, x, y, lr=0.5)
    monitor.record(0, keep_gradients=True)
    for layer in model.layers:  # one gradient step by hand, with the gradient the record kept
        layer.weight.data = layer.weight.data - 0.5 * layer.weight.grad
        layer.bias.data = layer.bias.data - 0.5 * layer.bias.grad
    expected.append(by_hand(model, x, y, 0.5))
    monitor.record(1)
    arrays = monitor.as_arrays()
    assert arrays["epochs"].tolist() == [0, 1]
    for row, (update, saturation) in enumerate(expected):
        assert np.allclose(arrays["update_ratio"][row], update, rtol=1e-10)
        assert np.allclose(arrays["saturation"][row], saturation)
    assert arrays["saturation"][0].max() > 0  # N(0, 1) weights: some tanh units are flat
    assert len(monitor) == 2


def test_train_monitored_records_every_epoch_and_lowers_the_cost():
    x, y = data(4, 30, 3, 2)
    model = ScalarMLP(3, [4, 2], activation="sigmoid", output_activation="sigmoid", seed=4)
    monitor = train_monitored(model, x, y, epochs=3, lr=1.0)
    arrays = monitor.as_arrays()
    assert arrays["epochs"].tolist() == [0, 1, 2, 3]
    assert arrays["update_ratio"].shape == arrays["saturation"].shape == (4, 2)
    losses = [flow.loss for flow in monitor.recorder.flows]
    assert losses[-1] < losses[0]


def test_monitor_refuses_a_bad_rate():
    with pytest.raises(ValueError, match="Monitor: the learning rate"):
        Monitor(TensorMLP([2, 1]), np.zeros((1, 2)), np.zeros((1, 1)), lr=-1.0)


def test_the_dashboard_is_one_svg_identical_on_every_run(tmp_path):
    x, y = data(5, 10, 3, 2)
    monitor = train_monitored(TensorMLP([3, 4, 2], seed=5), x, y, epochs=2)
    arrays = monitor.as_arrays()
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    plot_training(arrays, first, title="dashboard", xlabel="step")
    plot_training(arrays, second, title="dashboard", xlabel="step")
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text(encoding="utf-8")
    ElementTree.fromstring(text)
    for words in ("guide 1e-3", "share saturated", "layer 2", "dashboard", ">step<"):
        assert words in text
    with pytest.raises(ValueError, match=r"plot_training: cannot write '\.gif' files"):
        plot_training(arrays, tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"plot_training: arrays lacks \['saturation'"):
        plot_training({k: v for k, v in arrays.items() if k != "saturation"}, first)


def test_monitor_errors_name_the_monitor() -> None:
    model = TensorMLP([3, 2, 2], seed=0)
    x, y = np.full((4, 3), np.nan), np.eye(2)[[0, 1, 0, 1]]
    with pytest.raises(ValueError, match="^Monitor: "):
        Monitor(model, x, y)
    monitor = Monitor(model, np.ones((4, 3)), y)
    with pytest.raises(TypeError, match=r"^Monitor.record: epoch must be a number, got 'a'"):
        monitor.record("a")
    assert len(monitor.recorder) == 0
