"""Every producer of a picture stays within issue 14's budget at its largest allowed or
default-worst input: at most about 2,000 × 2,000 px, no text under 8 pt, and a chart's
legend never names more lines than it can show. The draw_* views, the matplotlib charts,
Jupyter's pictures and each command of `microgradvg` at the extremes of its options.
(Graphs and chains of 5 to 10⁶ nodes: tests/test_picture_sizes.py.)"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from microgradvg import (
    LayerFlow,
    Tensor,
    diagnose,
    draw_diagnosis,
    draw_flow,
    draw_layers,
    flow_along,
    layer_flow,
    nn,
    plot_spread,
    plot_weight_share,
    save_svg,
    save_weights,
)
from microgradvg.cli import main
from microgradvg.data import load_embedded, one_hot
from microgradvg.render.plots import plot_speeds_during_training, plot_training

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
SVG = "{http://www.w3.org/2000/svg}"
BUDGET_PX = 2000 * 1.05  # "about" 2,000
PX_PER_PT = 96 / 72
MIN_FONT_PT = 8.0
MAX_LEGEND = 10  # lines a legend may name (plus a guide line)
DEEP = [784] + [30] * 30 + [10]  # 30 hidden layers
FONT_SIZE = re.compile(r"font-size:\s*([\d.]+)px")


def text_sizes(root: ET.Element) -> list[float]:
    """The font size of each text, in points: dot writes font-size="…" (points); matplotlib
    a style "font-size: …px" at 72 per inch, so points too. A text made of spans (10⁻⁴ on a
    log axis) counts by its largest: its exponent is a superscript of that size."""
    sizes = []
    for text in root.iter(f"{SVG}text"):
        attribute = text.get("font-size")
        found = [float(attribute)] if attribute else []
        for element in text.iter():
            found += [float(size) for size in FONT_SIZE.findall(element.get("style", ""))]
        if found and "".join(text.itertext()).strip():
            sizes.append(max(found))
    return sizes


def check_budget(path: Path) -> ET.Element:
    """The SVG at `path` within the budget: its size in px and its smallest text."""
    root = ET.parse(path).getroot()
    width, height = (
        float(re.sub("[a-z]+$", "", root.get(side, "0"))) * PX_PER_PT for side in ("width", "height")
    )
    assert width <= BUDGET_PX and height <= BUDGET_PX, (path.name, width, height)
    sizes = text_sizes(root)
    assert sizes and min(sizes) >= MIN_FONT_PT, (path.name, min(sizes, default=None))
    return root


def check_chart(path: Path) -> None:
    """A matplotlib chart within budget, whose legends name at most MAX_LEGEND lines (more
    would hide the chart) and whose lines of one width are told apart by colour."""
    root = check_budget(path)
    for group in root.iter(f"{SVG}g"):
        if group.get("id", "").startswith("legend"):
            entries = [text for text in group.iter(f"{SVG}text") if "".join(text.itertext()).strip()]
            assert len(entries) <= MAX_LEGEND + 1, (path.name, len(entries))


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_embedded(20)


@pytest.fixture(scope="module")
def deep_flow(digits: tuple[np.ndarray, np.ndarray]) -> LayerFlow:
    images, labels = digits
    return layer_flow(nn.MLP(DEEP, seed=0), images, one_hot(labels))


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_thirty_layers_snake_into_rows_or_columns(tmp_path: Path, deep_flow: LayerFlow, rankdir: str) -> None:
    # One row was 9,196 × 243 px, one column 851 × 5,331.
    check_budget(save_svg(draw_layers(deep_flow, input_size=784, rankdir=rankdir), tmp_path / "layers.svg"))


def test_jupyter_shows_thirty_layers_within_budget(tmp_path: Path, deep_flow: LayerFlow) -> None:
    bundle = deep_flow._repr_mimebundle_()
    pictures = re.findall(r"<svg.*?</svg>", " ".join(bundle.values()), re.DOTALL)
    assert pictures
    for index, picture in enumerate(pictures):
        path = tmp_path / f"picture{index}.svg"
        path.write_text(picture)
        check_budget(path)


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_a_diagnosis_of_thirty_layers_fits(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray], rankdir: str
) -> None:
    images, labels = digits
    found = diagnose(nn.MLP(DEEP, seed=0), images, labels, cost="cross_entropy")
    check_budget(save_svg(draw_diagnosis(found, rankdir=rankdir), tmp_path / "diagnosis.svg"))


def test_a_long_title_wraps(tmp_path: Path, deep_flow: LayerFlow) -> None:
    title = "a network described at length: " + ", ".join(["30 sigmoid neurons"] * 16)
    check_budget(save_svg(draw_layers(deep_flow, title=title), tmp_path / "titled.svg"))


@pytest.mark.parametrize("max_nodes", [16, 200])
def test_a_flow_along_two_hundred_states_fits_at_any_max_nodes(tmp_path: Path, max_nodes: int) -> None:
    rng = np.random.default_rng(0)
    h, weight, states = Tensor(rng.normal(size=(4, 8)), requires_grad=True), Tensor(rng.normal(size=(8, 8)) * 0.3), []
    for step in range(200):
        h = (h @ weight).tanh() + h * 0.5
        h.label = f"h{step}"
        states.append(h)
    picture = draw_flow(flow_along((h * h).sum(), states), max_nodes=max_nodes)
    check_budget(save_svg(picture, tmp_path / "flow.svg"))  # max_nodes=200 was 2,800 × 2,115 px


@pytest.mark.parametrize("layers", [4, 30])
def test_speed_charts_of_thirty_layers_keep_a_short_legend(tmp_path: Path, layers: int) -> None:
    # 30 layers were named in a legend that covered the chart and ran off the figure.
    epochs = np.arange(6)
    speeds = 10.0 ** -np.linspace(np.arange(layers)[::-1], np.arange(layers)[::-1] + 1, 6)  # (6, layers)
    arrays = {"epochs": epochs, "speed_bias": speeds, "update_ratio": speeds * 1e-2,
              "saturation": np.linspace(0, 1, 6 * layers).reshape(6, layers)}
    plot_training(arrays, tmp_path / "training.svg")
    plot_speeds_during_training(epochs, speeds, tmp_path / "speeds.svg")
    for name in ("training.svg", "speeds.svg"):
        check_chart(tmp_path / name)
        colours = re.findall(r"stroke: (#[0-9a-f]{6}); stroke-width: 1\.5", (tmp_path / name).read_text())
        assert len(set(colours)) == layers  # one colour per layer, none repeated


def test_the_cancellation_charts_fit_at_many_paths_and_weights(tmp_path: Path) -> None:
    from microgradvg import Value, chain, topological_order

    output = nn.MLP(2, [8, 8, 8, 1], seed=0)([0.1, 0.2])
    assert isinstance(output, Value)
    loss = (output - 1.0) ** 2
    loss.backward()
    weight = next(node for node in topological_order(loss) if node.label == "L1.n0.w0")
    weights = np.random.default_rng(0).normal(size=100_000)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, to measure it
        plot_spread(chain(loss, weight), k=1000).savefig(tmp_path / "spread.svg")
        plot_weight_share(weights).savefig(tmp_path / "share.svg")
    check_chart(tmp_path / "spread.svg")
    check_chart(tmp_path / "share.svg")
    # librsvg refuses an attribute over 10 MB: the envelope keeps the file small.
    assert (tmp_path / "share.svg").stat().st_size < 2_000_000


def _deep_weights(path: Path) -> Path:
    save_weights(nn.MLP(DEEP, seed=0), path)
    return path


COMMANDS = {
    "vanishing, 30 hidden layers": [
        "vanishing", "--sizes", ",".join(map(str, DEEP)), "--seeds", "1", "--examples", "20", "--epochs", "2",
        "--quiet",
    ],
    "exploding, 2,000 layers": ["exploding", "--layers", "2000"],
    "exploding, 1 layer": ["exploding", "--layers", "1"],
    "diagnose, 30 hidden layers": ["diagnose", "--weights", "{weights}", "--examples", "20", "--epochs", "1", "--quiet"],
    "residual, widest and deepest": ["residual", "--blocks", "60", "--width", "64", "--examples", "10"],
    "recurrent, longest, four radii": ["recurrent", "--steps", "200", "--hidden", "64", "--radius", "0.5,1,1.5,10"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_writes_pictures_within_budget(tmp_path: Path, capsys: pytest.CaptureFixture, command: str) -> None:
    arguments = [
        str(_deep_weights(tmp_path / "deep.npz")) if argument == "{weights}" else argument
        for argument in COMMANDS[command]
    ]
    assert main([*arguments, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    pictures = sorted((tmp_path / "out").glob("*.svg"))
    assert pictures
    for picture in pictures:
        check_chart(picture)
