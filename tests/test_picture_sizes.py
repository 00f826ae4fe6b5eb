"""Every picture fits the default budget, whatever the graph: at most about 2,000 × 2,000 px
and no text under 8 pt, for graphs of 5 to 10⁶ nodes (the 10⁶ one takes ~20 s; the suite
skips nothing but the PyTorch cross-checks; benchmarks/bench_render.py times them)."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from graphs import tanh_chain

from microgradvg import Value, chain
from microgradvg.nn import MLP
from microgradvg.render import draw_chain, draw_graph, save_svg

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"
BUDGET_PX = 2000 * 1.05  # "about" 2,000
PX_PER_PT = 96 / 72



def scalar_mlp(nin: int, sizes: list[int]) -> Value:
    model = MLP(nin, sizes, seed=0)
    outputs = model(np.linspace(-1.0, 1.0, nin).tolist())
    outputs = outputs if isinstance(outputs, list) else [outputs]
    loss = Value.sum([(o - 0.5) ** 2 for o in outputs])
    loss.backward()
    return loss


def size_px(path: Path) -> tuple[float, float]:
    root = ET.parse(path).getroot()
    width, height = (float(root.get(side, "0").removesuffix("pt")) * PX_PER_PT for side in ("width", "height"))
    return width, height


def check_budget(path: Path) -> None:
    width, height = size_px(path)
    assert width <= BUDGET_PX and height <= BUDGET_PX, (width, height)
    sizes = [float(text.get("font-size", "14")) for text in ET.parse(path).getroot().iter(f"{SVG}text")]
    assert min(sizes) >= 8.0


@pytest.mark.parametrize("nodes", [5, 50, 500, 5_000, 50_000])
def test_a_chain_of_any_length_fits_as_a_graph_and_as_a_chain(tmp_path: Path, nodes: int) -> None:
    y, x = tanh_chain(nodes)
    check_budget(save_svg(draw_graph(y), tmp_path / "graph.svg"))
    check_budget(save_svg(draw_chain(chain(y, x), k=3), tmp_path / "chain.svg"))


@pytest.mark.parametrize("nodes", [40, 500, 50_000])
def test_a_long_chain_grouped_by_depth_snakes_into_rows_near_3_to_2(tmp_path: Path, nodes: int) -> None:
    y, _ = tanh_chain(nodes)
    width, height = size_px(save_svg(draw_graph(y), tmp_path / "graph.svg"))
    assert 1.3 <= width / height <= 1.9, (width, height)


@pytest.mark.parametrize(
    ("nin", "sizes"),
    [(2, [1]), (2, [3, 1]), (4, [8, 8, 1]), (16, [16, 16, 16, 1]), (784, [30, 10]), (2, [4] * 12 + [1]),
     (2, [3] * 30 + [1])],
)
def test_an_mlp_of_any_width_fits(tmp_path: Path, nin: int, sizes: list[int]) -> None:
    loss = scalar_mlp(nin, sizes)
    check_budget(save_svg(draw_graph(loss), tmp_path / "graph.svg"))
    weights = [n for n in _leaves(loss) if n.label.startswith("L1.n0.w")]
    check_budget(save_svg(draw_chain(chain(loss, weights[0]), k=3), tmp_path / "chain.svg"))


@pytest.mark.parametrize("hidden", [6, 12])
def test_a_deep_network_grouped_by_layer_reads_in_columns_left_to_right(tmp_path: Path, hidden: int) -> None:
    loss = scalar_mlp(2, [4] * hidden + [1])
    picture = draw_graph(loss)
    width, height = size_px(save_svg(picture, tmp_path / "graph.svg"))
    assert 0.75 <= width / height <= 1.9, (width, height)  # and within budget:
    check_budget(tmp_path / "graph.svg")
    layout = subprocess.run(["dot", "-Tplain"], input=picture.source, capture_output=True, text=True, check=True)
    centre = {}  # the x of each layer's first op, by its label
    for line in layout.stdout.splitlines():
        fields = line.split()
        label = re.search(r"<B>(L\d+) · linear</B>", line)
        if fields[0] == "node" and label:
            centre[int(label.group(1)[1:])] = (float(fields[2]), float(fields[3]))
    layers = sorted(centre)
    assert layers == list(range(1, hidden + 1))
    columns = [centre[1]]
    for layer in layers[1:]:  # each layer below the one before, or at the top of a column to its right
        (x, y), (x0, y0) = centre[layer], centre[layer - 1]
        assert (abs(x - x0) < 1.0 and y < y0) or x > x0 + 1.0, (layer, centre)
        columns += [centre[layer]] if abs(x - x0) >= 1.0 else []
    assert len(columns) >= 2
    jumps = re.findall(r'label="→ from (L\d+) · relu"', picture.source)
    assert len(jumps) == len(columns) - 1


def residual(blocks: int) -> tuple[Value, Value]:
    """h ← h + tanh(w·h) `blocks` times from x, then y = h·h: paths of many lengths."""
    x = Value(0.5, "x")
    h = x
    for block in range(blocks):
        h = h + (h * Value(0.9 - 0.03 * block, f"w{block}")).tanh()
    y = h * h
    y.backward()
    return y, x


@pytest.mark.parametrize("k", [3, 8])
@pytest.mark.parametrize("graph", ["mlp", "residual"])
def test_k_long_paths_drawn_as_rows_fit(tmp_path: Path, graph: str, k: int) -> None:
    # The rows view: k > 1 paths of more than a dozen factors, one row each, all of one
    # length (an MLP's, 33 factors) or of several (a residual net's, 31 to 35 and more).
    if graph == "mlp":
        loss = scalar_mlp(2, [4] * 15 + [1])
        wrt = next(n for n in _leaves(loss) if n.label == "L1.n0.w0")
        picture = draw_chain(chain(loss, wrt), k=k)
    else:
        picture = draw_chain(chain(*residual(30)), k=k)
    assert picture.source.count("[label=<<B>#") == k  # one row label per path
    check_budget(save_svg(picture, tmp_path / "rows.svg"))


@pytest.mark.parametrize("group_by", ["neuron", "layer", "depth"])
def test_every_grouping_asked_for_fits(tmp_path: Path, group_by: str) -> None:
    model = MLP(2, [8, 8, 1], seed=0)  # by neuron: 1,772 × 11,304 px; by depth: 2,164 × 295
    loss = Value.sum([(model([0.1 * i, -0.2 * i]) - 0.5) ** 2 for i in range(4)])
    loss.backward()
    check_budget(save_svg(draw_graph(loss, group_by=group_by), tmp_path / "graph.svg"))


def test_a_thirty_layer_tensor_network_by_layer_fits(tmp_path: Path) -> None:
    from microgradvg import Tensor, nn

    model = nn.MLP([4] + [5] * 30 + [3], seed=0)  # 128 groups by layer: 775 × 8,444 px
    loss = ((model(Tensor(np.linspace(-1, 1, 8).reshape(2, 4))) - 0.5) ** 2).sum()
    loss.backward()
    check_budget(save_svg(draw_graph(loss, group_by="layer"), tmp_path / "graph.svg"))


def test_a_hundred_roots_are_grouped_not_drawn_one_by_one(tmp_path: Path) -> None:
    outputs = [Value(float(i), f"x{i}") * 2 for i in range(100)]  # each root alone: 7,726 px tall
    for output in outputs:
        output.backward()
    check_budget(save_svg(draw_graph(outputs), tmp_path / "graph.svg"))


def _leaves(root: Value) -> list[Value]:
    from microgradvg import topological_order

    return [node for node in topological_order(root) if not node.parents]


def test_a_million_nodes_fit(tmp_path: Path, collector_paused: None) -> None:
    y, x = tanh_chain(1_000_001)
    check_budget(save_svg(draw_graph(y), tmp_path / "graph.svg"))
    check_budget(save_svg(draw_chain(chain(y, x), k=1), tmp_path / "chain.svg"))
