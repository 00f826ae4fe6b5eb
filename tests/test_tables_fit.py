"""Every printed table fits a 100-column terminal, so no column wraps away from its header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microgradvg import Tensor, Value, chain, layer_flow, nn, spread, weight_share
from microgradvg.cli import main
from microgradvg.data import load_embedded, one_hot
from microgradvg.flow import layer_curvature

WIDTH = 100


def widest(text: object) -> tuple[int, str]:
    """The widest line, in characters (what a terminal shows; the tables use no wide glyphs)."""
    return max((len(line), line) for line in str(text).splitlines())


def assert_fits(text: object) -> None:
    width, line = widest(text)
    assert width <= WIDTH, f"{width} columns: {line!r}"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_embedded()
    return images[:100], one_hot(labels[:100])


@pytest.mark.parametrize(
    "network",
    [
        {"sizes": [784, 30, 30, 30, 30, 10]},  # Nielsen's: 159 columns before the split
        {"sizes": [784, 100, 100, 100, 100, 100, 100, 100, 100, 100, 10], "activation": "tanh",
         "output_activation": "sigmoid"},
        {"sizes": [784, 30, 10], "activation": "relu", "output_activation": "sigmoid"},
        {"sizes": [784, 30, 30, 10], "dtype": np.float32},
    ],
    ids=["nielsen", "ten-tanh-layers", "relu-sigmoid", "float32"],
)
def test_layer_flow_with_curvature_fits(digits, network) -> None:
    images, targets = digits
    model = nn.MLP(**network, seed=0)
    flow = layer_flow(model, images, targets, curvature=True, lr=0.001)
    assert_fits(flow)
    assert_fits(layer_curvature(model, images, targets, lr=0.001))
    assert "κˡ" in str(flow) and "‖g‖/κˡ" in str(flow)


def test_chain_spread_and_weight_share_fit() -> None:
    small = nn.MLP(4, [6, 6, 6, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    cost = 0.5 * (small([0.5, -1.0, 0.25, 2.0]) - 1.0) ** 2
    cost.backward()
    weight = small.layers[0].neurons[0].w[0]
    assert_fits(chain(cost, weight))
    assert_fits(spread(cost, weight))
    assert_fits(weight_share([w for neuron in small.layers[0].neurons for w in neuron.w]))
    deep = Value(0.3, "x")
    for _ in range(40):  # a long path prints elided
        deep = deep.sigmoid()
    deep.backward()
    assert_fits(chain(deep, deep.parents[0]))


def test_a_tensor_chain_fits(digits) -> None:
    images, targets = digits
    model = nn.MLP([784, 30, 30, 30, 30, 10], seed=0)
    model.zero_grad()
    cost = nn.cross_entropy(model(Tensor(images[:1])), targets[:1])
    cost.backward()
    assert_fits(chain(cost, model.layers[0].bias))


@pytest.mark.parametrize(
    "argv",
    [
        ["vanishing", "--seeds", "2", "--examples", "100"],
        ["vanishing", "--sizes", "784,30,10", "--activation", "relu", "--examples", "100",
         "--seeds", "2"],
        ["exploding"],
    ],
    ids=["vanishing", "one-hidden-relu", "exploding"],
)
def test_the_command_prints_within_100_columns(argv, tmp_path: Path, capsys) -> None:
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert_fits(capsys.readouterr().out)
