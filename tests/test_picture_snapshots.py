"""One DOT snapshot per view: the same graph must give the same picture, byte for byte.

Each snapshot in tests/snapshots/ was rendered to PNG and looked at before it was committed.
After a deliberate change to a picture, rewrite them with
`MICROGRADVG_UPDATE_SNAPSHOTS=1 pytest tests/test_picture_snapshots.py`, and look again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from graphs import residual_chain

from microgradvg import Value, chain
from microgradvg.nn import MLP
from microgradvg.render import draw_chain, draw_graph, draw_layers

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("MICROGRADVG_UPDATE_SNAPSHOTS") == "1"


def sigmoid_chain(weights: list[float], biases: list[float]) -> tuple[Value, Value]:
    """Tutorial 3's chain of sigmoid neurons: (cost C, first bias b1), after backward."""
    a, first = Value(1.0, "x"), None
    for layer, (weight, bias) in enumerate(zip(weights, biases), start=1):
        w, b = Value(weight, f"w{layer}"), Value(bias, f"b{layer}")
        first = first or b
        z = Value.linear([w], [a], b)
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
    error = a - 0.0
    error.label = f"a{layer} − y"
    square = error**2
    square.label = f"(a{layer} − y)²"
    cost = 0.5 * square
    cost.label = "C"
    cost.backward()
    assert first is not None
    return cost, first


def opposite_signs() -> str:
    x = Value(1.5, "x")
    a, b = 2 * x, -2 * x
    a.label, b.label = "a", "b"
    t = a + b + x * x
    t.label = "t"
    t.backward()
    return draw_graph(t).source


def mlp_over_four_points() -> Value:
    model = MLP(2, [8, 8, 1], seed=0)
    points = [[0.1, 0.2], [0.5, -0.3], [-0.7, 0.9], [0.3, 0.3]]
    loss = Value.sum([(model(p) - 1.0) ** 2 for p in points])
    loss.backward()
    return loss


def deep_tanh() -> str:
    x = Value(0.5, "x")
    y = x
    for _ in range(400):
        y = (y * 1.01).tanh()
    y.backward()
    return draw_graph(y).source


def by_neuron() -> str:
    model = MLP(3, [4, 4, 1], seed=0)
    loss = (model([-1.0, 0.0, 1.0]) - 0.5) ** 2
    loss.backward()
    return draw_graph(loss, group_by="neuron").source


def three_paths() -> str:
    small = MLP(4, [6, 6, 6, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    cost = 0.5 * (small([0.5, -1.0, 0.25, 2.0]) - 1.0) ** 2
    cost.label = "C"
    cost.backward()
    return draw_chain(chain(cost, small.layers[0].neurons[0].w[0]), k=3).source


def residual_paths() -> str:
    """Ten residual blocks h ← h + tanh(w·h), then y = h·h: the top 4 paths have 11 to 13
    factors and differ in one block or in the last edge, drawn as rows (one per path)."""
    return draw_chain(chain(*residual_chain(10)), k=4).source


def nielsen_layers() -> str:
    from microgradvg import layer_flow
    from microgradvg.data import load_embedded

    images, labels = load_embedded(20)
    return draw_layers(layer_flow(MLP([784, 30, 30, 30, 10], seed=0), images, labels)).source


def flow_in_rows() -> str:
    import numpy as np

    from microgradvg import draw_flow, flow_along
    from microgradvg.nn import RNN

    rnn = RNN(2, 3, seed=2)
    _, h = rnn(np.ones((40, 1, 2)))
    return draw_flow(flow_along(h.sum(), rnn.states), title="forty steps").source


VIEWS: dict[str, Callable[[], str]] = {
    "graph_full": opposite_signs,
    "graph_by_layer": lambda: draw_graph(mlp_over_four_points()).source,
    "graph_by_depth": deep_tanh,
    "graph_by_neuron": by_neuron,
    "chain_in_its_graph": lambda: draw_chain(
        chain(*sigmoid_chain([100.0] * 4, [-100.0, -49.9, -50.0, -50.0])), k=1
    ).source,
    "chain_paths_top_to_bottom": three_paths,
    "chain_wrapped": lambda: draw_chain(
        chain(*sigmoid_chain([100.0] * 12, [-100.0] + [-50.0] * 11)), k=5
    ).source,
    "chain_folded": lambda: draw_chain(
        chain(*sigmoid_chain([100.0] * 30, [-100.0] + [-50.0] * 29)), k=5
    ).source,
    "chain_path_rows": residual_paths,
    "layers": nielsen_layers,
    "flow_in_rows": flow_in_rows,
}


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_the_view_matches_its_snapshot(view: str) -> None:
    source = VIEWS[view]()
    assert source == VIEWS[view](), "not deterministic"
    snapshot = SNAPSHOTS / f"{view}.dot"
    if UPDATE:
        snapshot.write_text(source, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot {snapshot.name}: run with MICROGRADVG_UPDATE_SNAPSHOTS=1"
    assert source == snapshot.read_text(encoding="utf-8")
