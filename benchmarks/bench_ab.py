"""Two versions of microgradvg, step against step: what a change costs, measured on a busy machine.

    git archive main microgradvg | tar -x -C /tmp/old       # any two trees holding microgradvg/
    .venv/bin/python benchmarks/bench_ab.py /tmp/old . --steps 600

Each tree's package is imported under its own name; the Nielsen step (float64 and float32),
the wide float32 step and the scalar demo step run alternately on both, and the median of
the paired new/old step ratios is printed: load that comes and goes hits both sides alike.
"""

from __future__ import annotations

import os

# One BLAS thread for both sides: set before numpy loads its BLAS.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import gc
import importlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

Step = Callable[[], None]


def load(tree: str, name: str, into: Path) -> ModuleType:
    """The microgradvg package of `tree`, imported as `name` (a copy, so both can coexist)."""
    shutil.copytree(Path(tree) / "microgradvg", into / name)
    for module in (".nn", ".optim", ".data"):  # the submodules the steps reach as attributes
        importlib.import_module(name + module)
    return importlib.import_module(name)


def tensor_step(mg: Any, dtype: type, sizes: tuple[int, ...], activation: str, batch: int) -> Step:
    """One SGD step of a TensorMLP on the embedded digits, a new mini-batch each call."""
    images, labels = mg.data.load_embedded(1000)
    model = mg.nn.TensorMLP(list(sizes), activation=activation, output_activation="linear",
                            dtype=dtype, seed=0)
    opt = mg.optim.SGD(model.parameters(), lr=0.1)
    batches = [(images[i:i + batch].astype(dtype), labels[i:i + batch])
               for i in range(0, 1000 - batch, batch)]
    state = {"i": 0}

    def step() -> None:
        state["i"] = (state["i"] + 1) % len(batches)
        x, y = batches[state["i"]]
        loss = mg.nn.softmax_cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step


def scalar_step(mg: Any) -> Step:
    """One step of micrograd's demo on `Value`s: MLP(2, [16, 16, 1]), hinge loss, 100 moons."""
    points, labels = mg.data.make_moons(100, noise=0.1, seed=1)
    model = mg.nn.MLP(2, [16, 16, 1], seed=0)
    opt = mg.optim.SGD(model.parameters(), lr=0.05)

    def step() -> None:
        scores = [model([mg.Value(float(a)) for a in point]) for point in points]
        losses = [(1 + -float(2 * y - 1) * s).relu() for y, s in zip(labels, scores)]
        loss = mg.Value.sum(losses) * (1.0 / len(losses))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def paired(label: str, old: Step, new: Step, rounds: int) -> None:
    """Time the two steps alternately (which goes first alternates too); print the medians."""
    for step in (old, new):
        for _ in range(5):
            step()
    times: dict[str, list[float]] = {"old": [], "new": []}
    gc.disable()
    try:
        for r in range(rounds):
            order = (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old))
            for side, step in order:
                start = time.perf_counter()
                step()
                times[side].append(time.perf_counter() - start)
    finally:
        gc.enable()
    ratio = statistics.median(n / o for n, o in zip(times["new"], times["old"]))
    old_median, new_median = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"{label}: old {old_median * 1e6:,.1f} µs, new {new_median * 1e6:,.1f} µs, "
          f"median paired new/old {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="a directory holding the old microgradvg/")
    parser.add_argument("new", help="a directory holding the new microgradvg/")
    parser.add_argument("--steps", type=int, default=400, help="paired Nielsen steps a side")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    sys.path.insert(0, str(root))
    old, new = load(args.old, "mg_old", root), load(args.new, "mg_new", root)
    nielsen = ((784, 30, 30, 30, 10), "sigmoid", 10)
    paired("Nielsen float64", tensor_step(old, np.float64, *nielsen), tensor_step(new, np.float64, *nielsen),
           args.steps)
    paired("Nielsen float32", tensor_step(old, np.float32, *nielsen), tensor_step(new, np.float32, *nielsen),
           args.steps)
    wide = ((784, 512, 512, 10), "relu", 256)
    paired("wide float32", tensor_step(old, np.float32, *wide), tensor_step(new, np.float32, *wide),
           max(args.steps // 10, 20))
    paired("scalar demo", scalar_step(old), scalar_step(new), max(args.steps // 40, 8))


if __name__ == "__main__":
    main()
