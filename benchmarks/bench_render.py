"""Rendering speed: the two pictures the gradient-flow issue puts a budget on, `dot` included.

1. The layer view of Nielsen's [784, 30, 30, 30, 30, 10] sigmoid network on 100 embedded
   MNIST digits: `layer_flow` + `draw_layers` + `save_svg` — budget 1 s.
2. The full graph of a scalar `MLP(784, [30, 10])` on one digit (about 24,700 nodes, so it is
   collapsed by layer): forward + backward + `draw_graph` + `save_svg` — budget 5 s.

3. Pictures at every size, 5 to 10⁶ nodes: a chain of tanh (x → ·1.0001 → tanh → …) drawn
   with `draw_graph` and as `draw_chain`, `dot` included (building the graph and backward
   are not counted; `chain()`, which a user runs before `draw_chain`, is timed on its own)
   — budget 5 s each; with the picture's size in px.
4. Networks: `draw_graph` + dot on the scalar MLP(784, [30, 10]) over 1, 10 and 100 digits
   (47,000 to 4.7 million edges, grouped by layer) and on deep narrow relu networks of 6, 12 and 30
   hidden layers (grouped, in columns), and Tensor chains of 10³ to 10⁶ nodes — budget 5 s each.

Each is run `--repeats` times (the sizes past 10⁴ nodes once); medians are printed with each
stage, and as a ratio to the anchor measured in the same run: `dot -Tsvg` on a one-node graph
(the cost of starting dot).

    .venv/bin/python benchmarks/bench_render.py             # ~4 minutes, most of it at 10⁶
    .venv/bin/python benchmarks/bench_render.py --largest 100000 --repeats 3 --keep out/
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import graphviz
import numpy as np

from microgradvg.data import load_embedded
from microgradvg.engine.graph import topological_order
from microgradvg.engine.tensor import Tensor
from microgradvg.engine.value import Value
from microgradvg.flow.speeds import layer_flow
from microgradvg.inspection.chain import chain
from microgradvg.nn import MLP
from microgradvg.render import draw_chain, draw_graph, draw_layers, save_svg

LAYER_BUDGET = 1.0  # seconds, the budget for the layer view
SCALAR_BUDGET = 5.0  # seconds, the budget for the scalar MLP picture
SIZE_BUDGET = 5.0  # seconds, the pictures issue's budget at every size
SIZES = (5, 50, 500, 5_000, 50_000, 500_000, 1_000_001)
DIGITS = (1, 10, 100)  # MLP(784, [30, 10]) graphs of 47,000 to 4.7 million edges
DEPTHS = (6, 12, 30)  # hidden layers of the deep narrow networks
TENSOR_NODES = (1_000, 100_000, 1_000_000)  # Tensor chains, for the grouping of array gradients
NIELSEN = [784, 30, 30, 30, 30, 10]


def layer_view(out: Path) -> dict[str, float]:
    """layer_flow on 100 digits, draw_layers, save_svg; the seconds of each stage."""
    images, labels = load_embedded(100)
    net = MLP(NIELSEN, seed=0)
    times: dict[str, float] = {}
    start = time.perf_counter()
    flow = layer_flow(net, images, labels)
    times["layer_flow"] = time.perf_counter() - start
    mark = time.perf_counter()
    picture = draw_layers(flow, input_size=NIELSEN[0], title="Nielsen's [784, 30, 30, 30, 30, 10]")
    times["draw_layers"] = time.perf_counter() - mark
    mark = time.perf_counter()
    save_svg(picture, out / "layers.svg")
    times["dot"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return times


def scalar_picture(out: Path) -> dict[str, float]:
    """Forward and backward of one digit through a scalar MLP(784, [30, 10]), then its picture."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    loss = scalar_loss()
    loss.backward()
    times["forward+backward"] = time.perf_counter() - start
    mark = time.perf_counter()
    picture = draw_graph(loss)
    times["draw_graph"] = time.perf_counter() - mark
    mark = time.perf_counter()
    save_svg(picture, out / "scalar_mlp.svg")
    times["dot"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - start
    return times


def tanh_chain(nodes: int) -> tuple[Value, Value]:
    """x → (·1.0001 → tanh) repeated, `nodes` nodes in all, after backward."""
    x = Value(0.5, "x")
    y = x
    for _ in range(max(1, (nodes - 1) // 2)):
        y = (y * 1.0001).tanh()
    y.backward()
    return y, x


def picture_size(path: Path) -> str:
    """An SVG's width × height in px (dot writes pt; a browser shows 96 px per 72 pt)."""
    root = ET.parse(path).getroot()
    width, height = (float(root.get(side, "0").removesuffix("pt")) * 96 / 72 for side in ("width", "height"))
    return f"{width:,.0f} × {height:,.0f}"


def sizes_table(out: Path, largest: int, repeats: int) -> bool:
    """Draw + dot for draw_graph and draw_chain at every size; True if any is over budget.
    `chain()` is timed too, on its own: a user pays it before draw_chain."""
    print("\npictures at every size: draw + dot, seconds (median), and the picture in px")
    print(f"  {'nodes':>10}  {'draw_graph':>10}  {'size':>13}  {'chain()':>8}  {'draw_chain':>10}  {'size':>13}")
    over = False
    for nodes in (n for n in SIZES if n <= largest):
        with paused_collector():
            y, x = tanh_chain(nodes)
            start = time.perf_counter()
            gradient = chain(y, x)
            analysis = time.perf_counter() - start
            row = []
            for name in ("graph", "chain"):
                samples = []
                for _ in range(repeats if nodes <= 10_000 else 1):
                    start = time.perf_counter()
                    picture = draw_graph(y) if name == "graph" else draw_chain(gradient, k=3)
                    path = save_svg(picture, out / f"{name}_{nodes}.svg")
                    samples.append(time.perf_counter() - start)
                seconds = statistics.median(samples)
                over |= seconds > SIZE_BUDGET
                if name == "chain":
                    row.append(f"{analysis:8.2f}")
                row += [f"{seconds:10.2f}", f"{picture_size(path):>13}"]
            del y, x, gradient
        print(f"  {nodes:>10,}  " + "  ".join(row))
    return over


def networks_table(out: Path, largest: int) -> bool:
    """draw_graph + dot on the scalar MLP(784, [30, 10]) over more and more digits (one graph
    of about 25,000 nodes a digit, grouped by layer), on deep narrow networks (grouped by
    layer, in columns) and on Tensor chains up to 10⁶ nodes; True if any is over budget."""
    print("\nnetworks: draw_graph + dot, seconds (one run), and the picture in px")
    over = False
    cases = [
        (f"MLP(784, [30, 10]), {d} digit{'' if d == 1 else 's'}", lambda d=d: scalar_loss(d)) for d in DIGITS
    ]
    cases += [(f"MLP(2, [4] × {h} + [1])", lambda h=h: deep_loss(h)) for h in DEPTHS]
    cases += [(f"Tensor chain, {n:,} nodes", lambda n=n: tensor_chain(n)) for n in TENSOR_NODES]
    for name, build in cases:
        with paused_collector():
            loss = build()
            order = topological_order(loss)
            nodes, edges = len(order), sum(len(node.parents) for node in order)
            del order
            if nodes > largest:
                continue
            loss.backward()
            start = time.perf_counter()
            path = save_svg(draw_graph(loss), out / "network.svg")
            seconds = time.perf_counter() - start
            over |= seconds > SIZE_BUDGET
            del loss
        print(f"  {name:<32} {nodes:>9,} nodes {edges:>10,} edges  {seconds:6.2f} s  {picture_size(path):>13}")
    return over


@contextmanager
def paused_collector() -> Iterator[None]:
    """No cyclic collection while a graph of a million nodes lives: it would rescan them."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def anchor(out: Path) -> float:
    """`dot -Tsvg` on a one-node graph: what every picture pays to start dot."""
    start = time.perf_counter()
    graph = graphviz.Digraph()
    graph.node("a")
    save_svg(graph, out / "anchor.svg")
    return time.perf_counter() - start


def medians(run: Callable[[Path], dict[str, float]], out: Path, repeats: int) -> dict[str, float]:
    samples = [run(out) for _ in range(repeats)]
    return {stage: statistics.median(s[stage] for s in samples) for stage in samples[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per picture (default 7)")
    parser.add_argument("--keep", type=Path, help="directory to keep the SVGs in")
    parser.add_argument("--largest", type=int, default=SIZES[-1],
                        help="the largest graph drawn in the size sweep (default 1,000,001 nodes)")
    args = parser.parse_args(argv)
    version = subprocess.run(
        ["dot", "-V"], capture_output=True, text=True, check=False
    ).stderr.strip()
    print(f"python {platform.python_version()} · {version} · {platform.machine()}")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        base = statistics.median(anchor(out) for _ in range(args.repeats))
        print(f"anchor: dot -Tsvg on a one-node graph  {base * 1000:8.1f} ms")
        failed = False
        for name, run, budget in (
            ("layer view, Nielsen [784,30,30,30,30,10], 100 digits", layer_view, LAYER_BUDGET),
            ("scalar MLP(784, [30, 10]) graph, one digit", scalar_picture, SCALAR_BUDGET),
        ):
            result = medians(run, out, args.repeats)
            verdict = "within" if result["total"] <= budget else "OVER"
            failed |= verdict == "OVER"
            print(f"\n{name}  (median of {args.repeats})")
            for stage, seconds in result.items():
                print(f"  {stage:<18} {seconds * 1000:8.1f} ms   {seconds / base:6.1f}× anchor")
            print(f"  {verdict} the {budget:g} s budget ({result['total'] / budget:.0%} of it)")
        nodes = len(topological_order(scalar_loss()))
        print(f"\n(the scalar graph has {nodes:,} nodes; the picture collapses them by layer)")
        if sizes_table(out, args.largest, args.repeats) | networks_table(out, args.largest):
            print(f"  OVER the {SIZE_BUDGET:g} s budget at some size")
            failed = True
    return 1 if failed else 0


def scalar_loss(digits: int = 1) -> Value:
    """Squared error of MLP(784, [30, 10]) on the first embedded digits (before backward)."""
    images, labels = load_embedded(digits)
    model = MLP(784, [30, 10], seed=0)
    terms = []
    for image, label in zip(images, labels):
        outputs = model(image.tolist())
        assert isinstance(outputs, list)
        terms += [(o - (1.0 if j == label else 0.0)) ** 2 for j, o in enumerate(outputs)]
    return Value.sum(terms)


def tensor_chain(nodes: int) -> Tensor:
    """Σ of x → (·1.0001 → tanh) repeated, x of shape (4,): about `nodes` Tensor nodes (each
    step records a constant 1.0001 too), before backward."""
    x = Tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True, label="x")
    y = x
    for _ in range(max(1, nodes // 3)):
        y = (y * 1.0001).tanh()
    return y.sum()


def deep_loss(hidden: int) -> Value:
    """Squared error of a deep narrow relu network MLP(2, [4] × hidden + [1]) on one point."""
    output = MLP(2, [4] * hidden + [1], seed=0)([0.3, -0.5])
    assert isinstance(output, Value)
    return (output - 1.0) ** 2


if __name__ == "__main__":
    sys.exit(main())
