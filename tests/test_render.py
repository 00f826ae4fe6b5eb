"""Tests for microgradvg.render: DOT content, colours, collapse, chains, layers and save_svg."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import numpy as np
import pytest

from microgradvg import Tensor, Value
from microgradvg.engine.graph import topological_order
from microgradvg.nn import MLP
from microgradvg.render import (
    DECADE_COLOURS,
    NEGATIVE_COLOURS,
    POSITIVE_COLOURS,
    ZERO_COLOUR,
    GraphvizFailed,
    GraphvizNotFound,
    GraphvizTimeout,
    draw_chain,
    draw_graph,
    draw_layers,
    gradient_colour,
    save_svg,
    style,
    svg,
)

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"

NODE_LINE = re.compile(r"^\s*(n\d+|g\d+) \[(.*)\]$")
EDGE_LINE = re.compile(r"^\s*(\w+) -> (\w+) \[(.*)\]$")


# ---- small graphs and stand-ins --------------------------------------------------------


def micrograd_example() -> Value:
    """micrograd's README neuron: o = tanh(x1·w1 + x2·w2 + b), with every node labelled."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def node_lines(source: str) -> dict[str, str]:
    """Node id → its attribute text, from DOT written by graphviz.Digraph."""
    return {m[1]: m[2] for line in source.splitlines() if (m := NODE_LINE.match(line))}


def edge_lines(source: str) -> list[tuple[str, str, str]]:
    """(tail, head, attribute text) of every edge statement."""
    return [(m[1], m[2], m[3]) for line in source.splitlines() if (m := EDGE_LINE.match(line))]


def svg_texts(path: FilePath) -> list[str]:
    """Every <text> of an SVG file, which must parse as XML."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return [element.text or "" for element in root.iter(f"{SVG}text")]


@dataclass
class StandInFactor:
    op: str
    parent: Any
    child: Any
    index: int
    value: Any


@dataclass
class StandInPath:
    factors: list
    product: float

    def values(self) -> np.ndarray:
        return np.array([float(f.value) for f in self.factors])

    @property
    def edges(self) -> list:
        return [(f.child, f.index) for f in self.factors]

    @property
    def nodes(self) -> list:
        return [self.factors[0].parent] + [f.child for f in self.factors]


@dataclass
class StandInChain:
    """Honours the `microgradvg.chain.Chain` contract by enumerating every path."""

    output: Any
    wrt: Any
    all_paths: list = field(default_factory=list)

    def __post_init__(self) -> None:
        below = {id(self.wrt)}  # wrt and the nodes computed from it
        for node in topological_order(self.output):
            if any(id(parent) in below for parent in node.parents):
                below.add(id(node))

        def walk(node: Any, above: list) -> None:  # from output down to wrt
            if node is self.wrt:
                factors = list(reversed(above))
                self.all_paths.append(
                    StandInPath(factors, float(np.prod([f.value for f in factors])))
                )
                return
            for index, parent in enumerate(node.parents):
                if id(parent) in below:
                    factor = StandInFactor(node.op, parent, node, index, node.factor(index))
                    walk(parent, [*above, factor])

        walk(self.output, [])
        self.all_paths.sort(key=lambda p: -abs(p.product))

    @property
    def num_paths(self) -> int:
        return len(self.all_paths)

    @property
    def total(self) -> float:
        return sum(p.product for p in self.all_paths)

    def paths(self, k: int) -> list:
        return self.all_paths[:k]


@dataclass
class StandInStats:
    layer: int
    size: int
    speed_bias: float
    speed_weight: float
    slope_mean: float
    slope_max: float
    next_weight_norm: float | None
    gain: float | None


@dataclass
class StandInFlow:
    layers: list
    cost: str = "cross_entropy"
    loss: float = 7.2
    activations: tuple = ("sigmoid",) * 5

    def speeds(self) -> np.ndarray:
        return np.array([s.speed_bias for s in self.layers])


def nielsen_flow() -> StandInFlow:
    """The shape of Nielsen's [784, 30, 30, 30, 30, 10] numbers: each layer ~4× slower."""
    speeds = [0.0029, 0.0114, 0.0584, 0.2705, 1.314]
    layers = []
    for i, speed in enumerate(speeds):
        last = i == len(speeds) - 1
        layers.append(
            StandInStats(
                layer=i + 1,
                size=10 if last else 30,
                speed_bias=speed,
                speed_weight=3 * speed,
                slope_mean=0.21,
                slope_max=0.25,
                next_weight_norm=None if last else 2.0 - 0.1 * i,
                gain=None if last else speed / speeds[i + 1],
            )
        )
    return StandInFlow(layers)


def scalar_mlp_loss(sizes: list[int], nin: int, seed: int = 0) -> Value:
    """One example through a scalar MLP and a squared-error loss, after backward."""
    model = MLP(nin, sizes, seed=seed)
    x = np.linspace(-1.0, 1.0, nin).tolist()
    out = model(x)
    outs = out if isinstance(out, list) else [out]
    loss = Value.sum([(o - 0.5) ** 2 for o in outs])
    loss.backward()
    return loss


# ---- the full graph --------------------------------------------------------------------


def test_value_graph_shows_label_op_data_grad_and_edge_factors() -> None:
    o = micrograd_example()
    source = draw_graph(o).source
    nodes = node_lines(source)
    order = topological_order(o)
    assert sorted(nodes) == sorted(f"n{i}" for i in range(len(order)))
    n_index = next(i for i, node in enumerate(order) if node.label == "n")
    assert "<B>n</B> · +" in nodes[f"n{n_index}"]
    assert "data 0.8814" in nodes[f"n{n_index}"] and "grad 0.5" in nodes[f"n{n_index}"]
    # ∂(x1·w1)/∂x1 = w1 = -3 labels the edge x1 → x1*w1.
    x1, x1w1 = (next(i for i, n in enumerate(order) if n.label == name) for name in ("x1", "x1*w1"))
    edges = {(tail, head): attributes for tail, head, attributes in edge_lines(source)}
    assert "label=<-3>" in edges[(f"n{x1}", f"n{x1w1}")]
    assert len(edges) == sum(len(node.parents) for node in order)


def test_tensor_graph_shows_shape_norms_small_values_and_factor_gain_and_norm() -> None:
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="W")
    x = Tensor([1.0, -1.0])
    y = (w @ x).sigmoid().sum()
    y.backward()
    source = draw_graph(y).source
    assert "shape (2, 2)" in source and "data [1, 2, 3, 4]" in source
    (x_id,) = [i for i, attributes in node_lines(source).items() if "<B>constant</B>" in attributes]
    (x_edge,) = [a for t, _, a in edge_lines(source) if t == x_id]
    assert "style=dotted" in x_edge  # backward sends no gradient into x
    assert "‖J‖" in source and "gain" in source
    big = Tensor(np.ones((3, 3)), requires_grad=True, label="B")
    (big * 2.0).sum().backward()
    nodes = node_lines(draw_graph((big * 2.0).sum()).source)
    assert "‖data‖ 3" in nodes["n0"] and "data [" not in nodes["n0"]  # 9 values: norms only


def test_tensor_factor_choice_and_bad_choice() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True, label="w")
    y = (w * w).sum()
    y.backward()
    assert "‖J‖" not in draw_graph(y, tensor_factor="gain").source
    assert "gain" not in draw_graph(y, tensor_factor="norm").source
    with pytest.raises(ValueError, match="tensor_factor"):
        draw_graph(y, tensor_factor="jacobian")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(y, max_nodes=0)


def test_dot_is_deterministic_for_the_same_graph_built_twice() -> None:
    first = draw_graph(scalar_mlp_loss([4, 4, 1], 3)).source
    second = draw_graph(scalar_mlp_loss([4, 4, 1], 3)).source
    assert first == second
    assert "0x" not in first  # no id()-based names


@needs_dot
def test_svg_is_byte_identical_across_builds_and_parses_with_labels(tmp_path: FilePath) -> None:
    paths = [save_svg(draw_graph(micrograd_example()), tmp_path / f"o{i}.svg") for i in range(2)]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    texts = svg_texts(paths[0])
    for expected in ("x1", "w1", "x1*w1", "o", "data 0.7071", "grad 0.5", "-3"):
        assert expected in texts, expected
    assert set(tmp_path.iterdir()) == set(paths)  # no temporary files left behind


# ---- the colour scale ------------------------------------------------------------------


def test_colour_scale_decades_and_special_cases() -> None:
    assert gradient_colour(1e-12) == gradient_colour(1e-8) == DECADE_COLOURS[0]
    assert gradient_colour(3e-5) == DECADE_COLOURS[3]
    assert gradient_colour(0.5) == DECADE_COLOURS[7]
    assert (
        gradient_colour(1e2)
        == gradient_colour(1e9)
        == gradient_colour(float("inf"))
        == DECADE_COLOURS[-1]
    )
    assert gradient_colour(-2e-3) == gradient_colour(2e-3)
    assert gradient_colour(0.0) == ZERO_COLOUR
    assert len(set(DECADE_COLOURS)) == len(DECADE_COLOURS) == 11
    pens = [style.look(10.0**p).pen for p in range(-9, 4)]
    assert pens == sorted(pens) and pens[0] < pens[-1]
    assert style.look(0.0).style == "dashed"


def test_numbers_in_labels() -> None:
    assert [style.number(x, 3) for x in (0.0, 1953.125, -0.25, 4.5e-7, 2.5e6)] == [
        "0",
        "1953",
        "-0.25",
        "4.5e-07",
        "2.5e+06",
    ]
    assert style.number(float("nan")) == "nan"


def test_a_vanishing_gradient_is_drawn_pale_and_thin() -> None:
    x = Value(20.0, "x")  # tanh(20) is flat: ∂/∂x ≈ 1.7e-17
    y = x.tanh()
    y.label = "y"
    y.backward()
    nodes = node_lines(draw_graph(y).source)
    assert f'color="{POSITIVE_COLOURS[0]}"' in nodes["n0"] and "penwidth=0.6" in nodes["n0"]
    assert f'color="{POSITIVE_COLOURS[8]}"' in nodes["n1"]  # grad 1 at the root
    (edge,) = edge_lines(draw_graph(y).source)
    assert f'color="{POSITIVE_COLOURS[0]}"' in edge[2]


def test_opposite_gradients_get_opposite_hues_of_the_same_strength() -> None:
    x = Value(1.5, "x")
    a, b = 2 * x, -2 * x  # the edges x → a and x → b carry +2 and −2
    a.label, b.label = "a", "b"
    total = a + b
    total.backward()
    source = draw_graph(total).source
    order = topological_order(total)
    ids = {node.label: f"n{i}" for i, node in enumerate(order) if node.label}
    edges = {(t, h): attributes for t, h, attributes in edge_lines(source)}
    assert f'color="{POSITIVE_COLOURS[8]}"' in edges[(ids["x"], ids["a"])]
    assert f'color="{NEGATIVE_COLOURS[8]}"' in edges[(ids["x"], ids["b"])]
    assert POSITIVE_COLOURS[8] != NEGATIVE_COLOURS[8]
    assert "&gt; 0" in source and "&lt; 0" in source  # the legend names both hues
    assert f'color="{ZERO_COLOUR}"' in node_lines(source)[ids["x"]]  # 2 − 2 = 0
    assert "dashed" in node_lines(source)[ids["x"]]


def test_a_tensor_gradient_is_coloured_by_its_one_sign_or_as_a_norm() -> None:
    w = Tensor([1.0, -2.0], requires_grad=True, label="w")
    v = Tensor([3.0, 4.0], requires_grad=True, label="v")
    y = (w * w).sum() + (v * 2.0).sum()  # ∂y/∂w = 2w has both signs, ∂y/∂v = 2 does not
    y.backward()
    nodes = node_lines(draw_graph(y).source)
    order = topological_order(y)
    index = {node.label: f"n{i}" for i, node in enumerate(order) if node.label}
    assert f'color="{gradient_colour(float(np.linalg.norm([2.0, -4.0])))}"' in nodes[index["w"]]
    assert f'color="{gradient_colour(float(np.linalg.norm([2.0, 2.0])), 1)}"' in nodes[index["v"]]


def test_a_zero_gradient_is_grey_and_dashed() -> None:
    x = Value(-1.0, "x")
    y = x.relu()
    y.backward()
    nodes = node_lines(draw_graph(y).source)
    assert f'color="{ZERO_COLOUR}"' in nodes["n0"]
    (edge,) = edge_lines(draw_graph(y).source)
    assert "style=dashed" in edge[2]


# ---- collapsing large graphs ----------------------------------------------------------


def test_large_scalar_mlp_collapses_by_layer_with_a_caption() -> None:
    loss = scalar_mlp_loss([30, 10], 784)
    total = len(topological_order(loss))
    graph = draw_graph(loss)
    nodes = node_lines(graph.source)
    assert 5 <= len(nodes) <= 20
    assert f"collapsed {total:,} nodes into {len(nodes)} groups (by layer and op)" in graph.source
    assert "max_nodes=" not in graph.source  # 24,735 nodes would not finish: never suggested
    assert "L1 weights</B> ×23,520" in graph.source and "inputs</B> ×784" in graph.source
    assert "23,520 edges" in graph.source


@needs_dot
def test_large_scalar_mlp_picture_parses(tmp_path: FilePath) -> None:
    # No timing here (a loaded machine makes any bound flaky): bench_render.py holds it to 5 s.
    loss = scalar_mlp_loss([30, 10], 784)
    path = save_svg(draw_graph(loss), tmp_path / "mlp.svg", timeout=30)
    texts = svg_texts(path)
    assert any(text.startswith("collapsed 2") for text in texts)


def test_group_by_neuron_keeps_op_nodes_and_merges_each_neurons_parameters() -> None:
    loss = scalar_mlp_loss([4, 4, 1], 3)
    graph = draw_graph(loss, group_by="neuron")
    assert "L1.n0 parameters</B> ×4" in graph.source  # 3 weights and a bias
    assert "(by neuron" in graph.source
    ops = sum(1 for node in topological_order(loss) if node.parents)
    groups = len(
        {f"L{layer}.n{j}" for layer, width in ((1, 4), (2, 4), (3, 1)) for j in range(width)}
    )
    assert len(node_lines(graph.source)) == ops + groups + 1  # + the inputs


def test_a_grouping_asked_for_that_does_not_fit_is_replaced_and_the_caption_says_so() -> None:
    loss = scalar_mlp_loss([4, 4, 1], 3)
    order = topological_order(loss)

    def by_neuron(node: Value) -> object:  # every op on its own, a neuron's parameters together
        named = re.match(r"L\d+\.n\d+", node.label)
        return id(node) if node.parents else named.group(0) if named else "inputs"

    groups = len({by_neuron(node) for node in order})
    links = len({(by_neuron(parent), by_neuron(child)) for child in order for parent in child.parents})
    assert min(groups, links) > 10
    source = html.unescape(draw_graph(loss, max_nodes=10, group_by="neuron").source)
    automatic = html.unescape(draw_graph(loss, max_nodes=10).source)
    caption = re.search(r"collapsed [^;<]*\)", automatic)
    assert caption is not None and caption.group(0) in source  # the automatic choice instead
    assert (f"group_by='neuron' makes {groups} groups and {links} links between them, "
            "over max_nodes=10") in source
    assert f"(pass max_nodes={max(groups, links)} for 'neuron')" in source
    assert f"into {groups} groups (by neuron" in draw_graph(loss, max_nodes=max(groups, links), group_by="neuron").source


def test_a_replaced_grouping_is_never_suggested_where_dot_would_not_finish() -> None:
    """MLP(784, [30, 10]) on ten digits by neuron is 4,300 links: max_nodes=4300 took dot
    12 s for a picture 87,894 points tall. The caption says why instead of suggesting it."""
    loss = scalar_mlp_loss([30, 10], 784)
    source = html.unescape(draw_graph(loss, group_by="neuron").source)
    assert "group_by='neuron' makes 132 groups and 430 links between them" in source
    assert "pass max_nodes" not in source
    assert "too many to draw readably" in source


def test_auto_grouping_takes_neurons_when_they_fit_and_layers_otherwise() -> None:
    loss = scalar_mlp_loss([8, 8, 1], 2)  # 143 nodes
    by_neuron = draw_graph(loss, max_nodes=130)
    assert "into 54 groups (by neuron" in by_neuron.source
    assert "grad 0 on every one" in by_neuron.source  # a dead relu's parameters
    assert "(by layer and op)" in draw_graph(loss, max_nodes=100).source


def test_a_single_edge_between_kept_nodes_shows_its_signed_factor() -> None:
    loss = scalar_mlp_loss([8, 8, 1], 2)
    source = draw_graph(loss, max_nodes=130).source  # by neuron: op nodes are kept
    assert "(by neuron" in source
    negative_weights = [
        n.local_derivatives[slot]
        for n in topological_order(loss)
        if n.op == "linear"
        for slot, r in enumerate(n.parents)
        if r.op == "relu" and n.local_derivatives[slot] < 0
    ]
    assert negative_weights  # relu → linear edges carry the weight, some of them negative
    labels = " ".join(a for _, _, a in edge_lines(source))
    for weight in negative_weights:
        assert f"label=<{style.number(weight, 3)}>" in labels


def test_a_labelled_tensor_graph_over_budget_falls_back_to_depth() -> None:
    net = MLP([6, 5, 5, 5, 3])
    x = Tensor(np.linspace(-1, 1, 12).reshape(2, 6))
    cost = (net(x) * net(x)).sum()
    cost.backward()
    graph = draw_graph(cost, max_nodes=16)
    assert "(by depth" in graph.source
    assert len(node_lines(graph.source)) <= 16
    assert "‖gradient‖" in graph.source and "1 edge<" in graph.source


def test_unlabelled_graph_collapses_by_depth() -> None:
    x = Value(0.5, "")
    y = x
    for _ in range(400):
        y = (y * 1.01).tanh()
    y.backward()
    graph = draw_graph(y, max_nodes=50)
    nodes = node_lines(graph.source)
    assert "(by depth" in graph.source and len(nodes) <= 50
    with pytest.raises(ValueError, match="group_by"):
        draw_graph(y, max_nodes=50, group_by="colour")


def test_a_graph_within_budget_is_not_collapsed_unless_a_grouping_is_asked_for() -> None:
    loss = scalar_mlp_loss([3, 1], 2)
    assert len(topological_order(loss)) <= 60
    assert "collapsed" not in draw_graph(loss).source
    assert "collapsed" in draw_graph(loss, max_nodes=10).source
    assert "(by layer and op)" in draw_graph(loss, group_by="layer").source
    assert "(by depth" in draw_graph(loss, group_by="depth").source
    big = scalar_mlp_loss([4, 4, 1], 3)  # 64 nodes: past 60, grouped by default
    assert "collapsed 64 nodes" in draw_graph(big).source
    assert "pass max_nodes=64" in draw_graph(big).source  # that finishes: it may be suggested
    with pytest.raises(ValueError, match=r"group_by must be one of 'auto', 'neuron', 'layer', 'depth'; got 'layers'"):
        draw_graph(loss, group_by="layers")  # refused even when nothing is grouped


def test_per_example_duplicates_merge_into_one_node_per_layer_and_op() -> None:
    model = MLP(2, [8, 8, 1], seed=0)
    points = [[0.1, 0.2], [0.5, -0.3], [-0.7, 0.9], [0.3, 0.3]]
    loss = Value.sum([(model(p) - 1.0) ** 2 for p in points])
    loss.backward()
    source = draw_graph(loss).source
    assert "(by layer and op)" in source
    # 8 neurons × 4 examples: one node with its count, not 4 copies of each neuron
    assert source.count("L1 · linear</B> ×32") == 1 and source.count("L2 · relu</B> ×32") == 1
    assert len(node_lines(source)) <= 20


# ---- chains ----------------------------------------------------------------------------


def test_chain_highlight_marks_exactly_the_paths_edges() -> None:
    loss = scalar_mlp_loss([3, 3, 1], 2)
    order = topological_order(loss)
    ids = {id(node): i for i, node in enumerate(order)}
    w = next(node for node in order if node.label == "L1.n1.w0")
    chain = StandInChain(loss, w)
    assert chain.num_paths == 3
    source = draw_chain(chain, k=2).source
    expected = {
        (f"n{ids[id(f.parent)]}", f"n{ids[id(f.child)]}") for p in chain.paths(2) for f in p.factors
    }
    highlighted = {(t, h) for t, h, a in edge_lines(source) if "class=path" in a}
    faded = {(t, h) for t, h, a in edge_lines(source) if "class=faded" in a}
    assert highlighted == expected
    assert len(highlighted) + len(faded) == len(edge_lines(source))
    assert (
        "the sum over 3 paths" in source
        and "#1 (" in source
        and "#2 (" in source
        and "#3 (" not in source
    )
    far = next(node for node in order if node.label == "L1.n0.w0")
    assert 'color="#e2e2e2"' in node_lines(source)[f"n{ids[id(far)]}"]  # off the paths: faded


def test_chain_over_budget_draws_only_the_path_nodes() -> None:
    loss = scalar_mlp_loss([30, 10], 784)
    order = topological_order(loss)
    w = next(node for node in order if node.label == "L1.n3.w300")
    chain = StandInChain(loss, w)
    source = draw_chain(chain, k=2).source
    on_paths = {id(n) for p in chain.paths(2) for f in p.factors for n in (f.parent, f.child)}
    assert len(node_lines(source)) == len(on_paths)
    assert f"out of {len(order):,}" in source
    assert all("class=path" in a for _, _, a in edge_lines(source))
    with pytest.raises(ValueError, match="k must be"):
        draw_chain(chain, k=0)


def test_chain_from_the_chain_module() -> None:
    from microgradvg.inspection import chain as chain_module
    loss = scalar_mlp_loss([3, 3, 1], 2)
    w = next(node for node in topological_order(loss) if node.label == "L1.n1.w0")
    source = draw_chain(chain_module.chain(loss, w), k=1).source
    # w → z¹ → a¹ → z² → a² → z³ → (z³ − 0.5) → (…)² → Σ: eight factors on the top path
    assert sum("class=path" in a for _, _, a in edge_lines(source)) == 8


# ---- the layer view --------------------------------------------------------------------


def test_layer_view_of_nielsens_network() -> None:
    flow = nielsen_flow()
    source = draw_layers(flow, input_size=784).source
    nodes = node_lines(source) | {
        m[1]: m[2] for line in source.splitlines() if (m := re.match(r"^\s*(\w+) \[(.*)\]$", line))
    }
    assert {"input", "layer1", "layer5", "cost"} <= set(nodes)
    assert "784 values" in nodes["input"]
    assert "30 sigmoid neurons" in nodes["layer1"] and "10 sigmoid neurons" in nodes["layer5"]
    assert "‖∂C/∂b¹‖" in nodes["layer1"] and "0.0029" in nodes["layer1"]
    assert f'color="{gradient_colour(0.0029)}"' in nodes["layer1"]
    assert f'color="{gradient_colour(1.314)}"' in nodes["layer5"]
    edges = {(t, h): a for t, h, a in edge_lines(source)}
    assert list(edges) == [
        ("input", "layer1"),
        ("layer1", "layer2"),
        ("layer2", "layer3"),
        ("layer3", "layer4"),
        ("layer4", "layer5"),
        ("layer5", "cost"),
    ]
    assert "‖W²‖₂ 2" in edges[("layer1", "layer2")] and "gain ×0.254" in edges[("layer1", "layer2")]
    # The book's comparison: first hidden layer against the last hidden one, not the output.
    assert "hidden layer 1 learns 93.3× more slowly than hidden layer 4, the last hidden layer" in source  # 0.2705 / 0.0029


@needs_dot
def test_layer_view_svg_parses_and_lays_out_left_to_right(tmp_path: FilePath) -> None:
    path = save_svg(draw_layers(nielsen_flow(), input_size=784), tmp_path / "layers.svg")
    root = ET.parse(path).getroot()
    x_of = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "node" and title is not None:
            x_of[title.text] = float(next(group.iter(f"{SVG}text")).get("x"))
    names = ["input", "layer1", "layer2", "layer3", "layer4", "layer5", "cost"]
    assert [x_of[name] for name in names] == sorted(x_of[name] for name in names)


def test_layer_view_from_the_flow_module() -> None:
    flow_module = pytest.importorskip("microgradvg.flow")
    from microgradvg.data import load_embedded

    x, y = load_embedded(20)
    flow = flow_module.layer_flow(MLP([784, 30, 30, 10]), x, y)
    source = draw_layers(flow, input_size=784).source
    assert "output layer 3" in source and "cross-entropy" in source
    assert "σ′(z¹)" in source


def test_layer_view_names_each_layers_own_slope() -> None:
    flow_module = pytest.importorskip("microgradvg.flow")

    model = MLP([4, 3, 2], activation="relu", output_activation="sigmoid", seed=0)
    flow = flow_module.layer_flow(model, np.ones((2, 4)), np.zeros((2, 2)), cost="quadratic")
    source = draw_layers(flow, input_size=4).source
    assert "relu′(z¹)" in source and "σ′(z²)" in source and "σ′(z¹)" not in source


# ---- save_svg --------------------------------------------------------------------------


def test_missing_dot_says_how_to_install_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: FilePath
) -> None:
    monkeypatch.setattr(svg.shutil, "which", lambda name: None)
    graph = draw_graph(micrograd_example())
    with pytest.raises(GraphvizNotFound) as info:
        save_svg(graph, tmp_path / "o.svg")
    message = str(info.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert ".source" in message
    assert list(tmp_path.iterdir()) == []
    assert graph.source.startswith("digraph")


def test_missing_dot_through_an_empty_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: FilePath
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizNotFound, match="install Graphviz"):
        save_svg(draw_graph(micrograd_example()), tmp_path / "o.svg")


def test_timeout_names_the_size_and_suggests_collapsing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: FilePath
) -> None:
    def slow(command: list, **options: Any) -> None:
        raise subprocess.TimeoutExpired(command, options["timeout"])

    monkeypatch.setattr(svg.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(svg.subprocess, "run", slow)
    o = micrograd_example()
    target = tmp_path / "o.svg"
    target.write_text("old picture")
    with pytest.raises(GraphvizTimeout) as info:
        save_svg(draw_graph(o), target, timeout=0.5)
    message = str(info.value)
    nodes, edges = len(topological_order(o)), sum(len(n.parents) for n in topological_order(o))
    assert f"within 0.5 s ({nodes} nodes, {edges} edges)" in message
    assert "max_nodes" in message
    assert target.read_text() == "old picture"  # nothing half-written
    assert list(tmp_path.iterdir()) == [target]


@needs_dot
def test_a_failed_rename_keeps_the_old_file_and_no_partial_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: FilePath
) -> None:
    def interrupted(source: str, target: str) -> None:
        raise OSError("disk full")

    target = tmp_path / "o.svg"
    target.write_text("old picture")
    monkeypatch.setattr(svg.os, "replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        save_svg(draw_graph(micrograd_example()), target)
    assert target.read_text() == "old picture"
    assert list(tmp_path.iterdir()) == [target]


@needs_dot
def test_dot_failure_is_reported_and_leaves_no_file(tmp_path: FilePath) -> None:
    graph = draw_graph(micrograd_example())
    graph.body.append("\tbroken [label=<unclosed>\n")
    with pytest.raises(GraphvizFailed, match="dot -Tsvg failed"):
        save_svg(graph, tmp_path / "o.svg")
    assert list(tmp_path.iterdir()) == []


def test_count_statements_counts_nodes_and_edges_not_attributes() -> None:
    source = draw_graph(micrograd_example()).source
    assert svg.count_statements(source) == (10, 9)


def test_a_caption_suggests_drawing_every_node_only_where_that_would_happen() -> None:
    deep = Value(0.5, "x")
    for _ in range(24):  # 49 nodes, 48 edges deep: grouped by depth whatever max_nodes says
        deep = (deep * 1.0001).tanh()
    deep.backward()
    assert "to draw every node" not in draw_graph(deep).source
    assert "(by depth" in draw_graph(deep, max_nodes=49).source
    wide = scalar_mlp_loss([8, 8, 1], 2)  # 143 nodes, shallow: drawn in full at max_nodes=143
    nodes = len(topological_order(wide))
    assert f"pass max_nodes={nodes} (and group_by=&#x27;auto&#x27;) to draw every node" in draw_graph(wide).source
    assert "collapsed" not in draw_graph(wide, max_nodes=nodes).source


def _hostile_calls() -> list[tuple[str, Any]]:
    """(function name, a call with one bad argument) for every draw_* function."""
    from microgradvg import chain, flow_along
    from microgradvg.render import draw_diagnosis, draw_flow

    x = Value(0.5, "x")
    y = (x * x).tanh()
    y.backward()
    path = chain(y, x)
    h = Tensor([0.5, -1.0], requires_grad=True, label="h")
    g = h.tanh()
    flow = flow_along((g * g).sum(), [h, g])
    return [
        ("draw_graph", lambda: draw_graph(y, rankdir="sideways")),
        ("draw_graph", lambda: draw_graph(y, rankdir=None)),
        ("draw_graph", lambda: draw_graph(y, max_nodes=0)),
        ("draw_graph", lambda: draw_graph(y, max_nodes=True)),
        ("draw_graph", lambda: draw_graph(y, tensor_factor="gains")),
        ("draw_graph", lambda: draw_graph(3.0)),
        ("draw_graph", lambda: draw_graph([y, "y"])),
        ("draw_chain", lambda: draw_chain(path, k=2.5)),
        ("draw_chain", lambda: draw_chain(path, k="3")),
        ("draw_chain", lambda: draw_chain(path, k=None)),
        ("draw_chain", lambda: draw_chain(path, rankdir="auto")),
        ("draw_chain", lambda: draw_chain(path, max_nodes=-1)),
        ("draw_chain", lambda: draw_chain(y)),
        ("draw_layers", lambda: draw_layers(y)),
        ("draw_diagnosis", lambda: draw_diagnosis(y)),
        ("draw_flow", lambda: draw_flow(flow, max_nodes="3")),
    ]


@pytest.mark.parametrize("case", range(16))
def test_a_bad_argument_is_refused_naming_the_function_and_what_is_valid(case: int) -> None:
    """Never a bare TypeError from inside, nor a rankdir dot silently reads as "TB"."""
    function, call = _hostile_calls()[case]
    with pytest.raises((ValueError, TypeError), match=f"^{function}: .* (must|got)"):
        call()


def test_draw_layers_and_draw_diagnosis_refuse_an_unknown_rankdir() -> None:
    from microgradvg import diagnose, layer_flow
    from microgradvg.render import draw_diagnosis

    model = MLP([2, 3, 1], seed=0)
    x, target = np.array([[0.5, -0.2]]), np.array([[1.0]])
    with pytest.raises(ValueError, match="^draw_layers: rankdir must be one of 'LR', 'TB'"):
        draw_layers(layer_flow(model, x, target), rankdir="vertical")
    with pytest.raises(ValueError, match="^draw_diagnosis: rankdir must be one of 'LR', 'TB'"):
        draw_diagnosis(diagnose(model, x, target), rankdir="vertical")
