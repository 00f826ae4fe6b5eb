"""Rendering speed: the two pictures the gradient-flow issue puts a budget on, `dot` included.

1. The layer view of Nielsen's [784, 30, 30, 30, 30, 10] sigmoid network on 100 embedded
   MNIST digits: `layer_flow` + `draw_layers` + `save_svg` — budget 1 s.
2. The full graph of a scalar `MLP(784, [30, 10])` on one digit (about 24,700 nodes, so it is
   collapsed by layer): forward + backward + `draw_graph` + `save_svg` — budget 5 s.

Each is run `--repeats` times; medians are printed with each stage, and as a ratio to the
anchor measured in the same run: `dot -Tsvg` on a one-node graph (the cost of starting dot).

    .venv/bin/python benchmarks/bench_render.py             # ~10 s
    .venv/bin/python benchmarks/bench_render.py --repeats 3 --keep out/   # also keep the SVGs
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import graphviz

from microgradvg.data import load_embedded
from microgradvg.engine.graph import topological_order
from microgradvg.engine.value import Value
from microgradvg.flow.speeds import layer_flow
from microgradvg.nn import MLP
from microgradvg.render import draw_graph, draw_layers, save_svg

LAYER_BUDGET = 1.0  # seconds, the budget for the layer view
SCALAR_BUDGET = 5.0  # seconds, the budget for the scalar MLP picture
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
    return 1 if failed else 0


def scalar_loss() -> Value:
    """Squared error of MLP(784, [30, 10]) on the first embedded digit (before backward)."""
    images, labels = load_embedded(1)
    outputs = MLP(784, [30, 10], seed=0)(images[0].tolist())
    assert isinstance(outputs, list)
    return Value.sum([(o - (1.0 if j == labels[0] else 0.0)) ** 2 for j, o in enumerate(outputs)])


if __name__ == "__main__":
    sys.exit(main())
