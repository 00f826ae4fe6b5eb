"""Scalar engine vs micrograd: micrograd's own two-moons demo, step for step, in one process.

Trains micrograd's `MLP(2, [16, 16, 1])` (SVM hinge loss + L2, SGD with its learning-rate
schedule) on micrograd and on `microgradvg.Value`, interleaved step by step, from the same
initial weights on the same data, and prints per-step medians and the ratio micrograd/ours.

    .venv/bin/python benchmarks/bench_scalar.py                          # ~40 s on 2 cores
    .venv/bin/python benchmarks/bench_scalar.py --steps 5 --repeats 2    # a quick look

Every step is timed in two phases (forward = building the graph and the loss, backward),
with the cyclic garbage collector on (Python's default) or off during the step; see --gc.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import micrograd.engine
import micrograd.nn

from microgradvg import nn
from microgradvg.data import make_moons
from microgradvg.engine.graph import topological_order
from microgradvg.engine.value import Value
from microgradvg.optim import SGD

TOLERANCE = 1e-9  # loss and gradients must agree to this (relative to max(1, |x|))

# ---- micrograd's nn.py, written once over any engine's Value class ---------------------------
# The op-for-op variant: the same Python expressions micrograd's Neuron runs, so every * and +
# is its own node on both engines.


class OpForOpNeuron:
    """micrograd's Neuron: relu(Σ wᵢxᵢ + b) as a chain of separate * and + nodes."""

    def __init__(self, value: type, weights: Sequence[float], bias: float, nonlin: bool) -> None:
        self.w = [value(w) for w in weights]
        self.b = value(bias)
        self.nonlin = nonlin

    def __call__(self, x: list[Any]) -> Any:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Any]:
        return self.w + [self.b]


class OpForOpLayer:
    """micrograd's Layer: neurons sharing the same inputs."""

    def __init__(self, neurons: list[OpForOpNeuron]) -> None:
        self.neurons = neurons

    def __call__(self, x: list[Any]) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Any]:
        return [p for n in self.neurons for p in n.parameters()]


class OpForOpMLP:
    """micrograd's MLP, relu on every layer but the last."""

    def __init__(self, value: type, template: micrograd.nn.MLP) -> None:
        """micrograd's MLP over `value`, with `template`'s weights."""
        self.layers = [
            OpForOpLayer([
                OpForOpNeuron(value, [w.data for w in n.w], n.b.data, n.nonlin)
                for n in layer.neurons
            ])
            for layer in template.layers
        ]

    def __call__(self, x: list[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0


# ---- micrograd's demo.ipynb: the loss and the training step ----------------------------------


def demo_loss(model: Any, value: type, X: list[list[float]], y: list[int]) -> tuple[Any, float]:
    """micrograd's `loss()`: mean SVM hinge loss + 1e-4·Σp², and the accuracy."""
    inputs = [list(map(value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def learning_rate(k: int) -> float:
    """micrograd's schedule: 1.0 at step 0 down to 0.1 at step 100."""
    return 1.0 - 0.9 * k / 100


def plain_sgd(model: Any) -> Callable[[float], None]:
    """The demo's update loop, `p.data -= learning_rate * p.grad`."""

    def update(lr: float) -> None:
        for p in model.parameters():
            p.data -= lr * p.grad

    return update


def optim_sgd(model: Any) -> Callable[[float], None]:
    """The same update through `microgradvg.optim.SGD`."""
    optimizer = SGD(model.parameters(), lr=1.0)

    def update(lr: float) -> None:
        optimizer.lr = lr
        optimizer.step()

    return update


@dataclass
class Engine:
    """One contestant: how to build its model and update it, and what it measured."""

    name: str
    value: type
    build: Callable[[], Any]  # a fresh model with the shared initial weights
    make_update: Callable[[Any], Callable[[float], None]]
    model: Any = None
    update: Any = None
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # [gc mode][column]
    losses: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.model = self.build()
        self.update = self.make_update(self.model)

    def step(self, k: int, X: list[list[float]], y: list[int], collector: bool) -> dict[str, float]:
        """One full training step; the graph is released inside the timed region.

        With `collector` False the cyclic garbage collector is off while the step runs
        (only the interpreter's own work is timed); either way it runs after the step,
        untimed for the step, so no engine pays for another engine's garbage.
        """
        if not collector:
            gc.disable()
        t0 = time.perf_counter()
        total_loss, _accuracy = demo_loss(self.model, self.value, X, y)
        t1 = time.perf_counter()
        self.model.zero_grad()
        total_loss.backward()
        t2 = time.perf_counter()
        self.update(learning_rate(k))
        t3 = time.perf_counter()
        loss = float(total_loss.data)
        del total_loss  # drops the graph: refcounting frees ours here, micrograd's has cycles
        t4 = time.perf_counter()
        gc.enable()
        gc.collect()  # untimed for the step; reported separately as "cycle GC"
        t5 = time.perf_counter()
        self.losses.append(loss)
        return {"forward": t1 - t0, "backward": t2 - t1, "update": t3 - t2,
                "step": t4 - t0, "cycle GC": t5 - t4}


def copy_micrograd(template: micrograd.nn.MLP) -> micrograd.nn.MLP:
    """A fresh micrograd MLP with `template`'s weights (its own class, its own code)."""
    model = micrograd.nn.MLP(2, [16, 16, 1])
    for p, q in zip(model.parameters(), template.parameters()):
        p.data = q.data
    return model


def copied_scalar_mlp(template: micrograd.nn.MLP) -> nn.ScalarMLP:
    """microgradvg's own `nn.MLP(2, [16, 16, 1])`, weights copied from micrograd's."""
    model = nn.MLP(2, [16, 16, 1])
    assert isinstance(model, nn.ScalarMLP)
    for ours, theirs in zip(model.layers, template.layers):
        for our_neuron, their_neuron in zip(ours.neurons, theirs.neurons):
            for w, v in zip(our_neuron.w, their_neuron.w):
                w.data = float(v.data)
            our_neuron.b.data = float(their_neuron.b.data)
    return model


# ---- checks: same numbers before any timing ---------------------------------------------------


def graph_size(root: Any) -> tuple[int, int]:
    """(nodes, edges) of a graph on either engine (micrograd's `_prev` is a set)."""
    if isinstance(root, Value):
        order = topological_order(root)
        return len(order), sum(len(node.parents) for node in order)
    seen, stack = {id(root)}, [root]
    edges = 0
    while stack:
        node = stack.pop()
        edges += len(node._prev)
        for parent in node._prev:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen), edges


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def check_same_numbers(engines: list[Engine], X: list[list[float]], y: list[int]) -> dict:
    """Assert every engine gives micrograd's loss and gradients; return graph sizes."""
    reference, sizes, results = engines[0], {}, {}
    for engine in engines:
        engine.reset()
        total_loss, _ = demo_loss(engine.model, engine.value, X, y)
        engine.model.zero_grad()
        total_loss.backward()
        results[engine.name] = (total_loss.data, [p.grad for p in engine.model.parameters()])
        sizes[engine.name] = graph_size(total_loss)
    loss0, grads0 = results[reference.name]
    for engine in engines[1:]:
        loss, grads = results[engine.name]
        bad = [(i, g0, g) for i, (g0, g) in enumerate(zip(grads0, grads)) if not close(g0, g)]
        if not close(loss0, loss) or bad or len(grads) != len(grads0):
            print(f"MISMATCH {engine.name}: loss {loss!r} vs micrograd {loss0!r}; "
                  f"{len(bad)} gradients differ, first: {bad[:3]}")
        assert close(loss0, loss), (engine.name, loss, loss0)
        assert len(grads) == len(grads0) and not bad, (engine.name, bad[:3])
        worst = max(abs(g0 - g) for g0, g in zip(grads0, grads))
        print(f"check {engine.name:<24} loss {loss:.15f} (micrograd {loss0:.15f}), "
              f"{len(grads)} gradients, max |Δ| {worst:.1e}")
    return sizes


# ---- the run ---------------------------------------------------------------------------------


COLUMNS = ("forward", "backward", "update", "step", "cycle GC")
MODES = {"on": (True,), "off": (False,), "both": (True, False)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15,
                        help="training steps per repetition, k = 0, 1, … in the lr schedule")
    parser.add_argument("--repeats", type=int, default=4,
                        help="repetitions, each from the same initial weights")
    parser.add_argument("--gc", choices=sorted(MODES), default="both",
                        help="cyclic garbage collector during the timed step: on (Python's "
                             "default), off, or both (alternating repetitions)")
    parser.add_argument("--seed", type=int, default=1337, help="micrograd's demo seed")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < len(MODES[args.gc]) or args.steps * args.repeats < 4:
        parser.error("need --steps ≥ 1, a repeat per collector mode, and ≥ 4 steps in all")

    random.seed(args.seed)  # micrograd initialises with random.uniform(-1, 1)
    template = micrograd.nn.MLP(2, [16, 16, 1])
    points, labels = make_moons(100, noise=0.1, seed=args.seed)
    X = points.tolist()
    y = [int(label) * 2 - 1 for label in labels]  # the demo's y*2 - 1: labels ±1

    engines = [
        Engine("micrograd", micrograd.engine.Value, lambda: copy_micrograd(template), plain_sgd),
        Engine("microgradvg op-for-op", Value, lambda: OpForOpMLP(Value, template), plain_sgd),
        Engine("microgradvg nn (linear)", Value, lambda: copied_scalar_mlp(template), optim_sgd),
    ]
    sizes = check_same_numbers(engines, X, y)

    modes = MODES[args.gc]
    print(f"\ntiming {args.repeats} × {args.steps} steps per engine, interleaved step by step, "
          f"collector {args.gc} …")
    for engine in engines:
        engine.times = {mode: {c: [] for c in COLUMNS} for mode in ("on", "off")}
    drift = 0.0
    started = time.perf_counter()
    for repeat in range(args.repeats):
        collector = modes[repeat % len(modes)]
        for engine in engines:
            engine.reset()
            engine.losses = []
        for k in range(args.steps):
            turn = (repeat * args.steps + k) % len(engines)  # rotate who goes first
            for engine in engines[turn:] + engines[:turn]:
                timings = engine.step(k, X, y, collector)
                for column, seconds in timings.items():
                    engine.times["on" if collector else "off"][column].append(seconds)
        drift = max(drift, *(abs(a - b) for engine in engines[1:]
                             for a, b in zip(engines[0].losses, engine.losses)))
        assert drift <= 1e-9, f"training trajectories diverged: max |Δloss| {drift:.3g}"
    elapsed = time.perf_counter() - started
    print(f"\nPython {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.machine()}, {os.cpu_count()} CPUs, {threading.active_count()} thread, "
          f"micrograd {version('micrograd')}; timed in {elapsed:.0f} s; every engine's loss "
          f"after {args.steps} steps {engines[0].losses[-1]:.6f} (max |Δ| on any step {drift:.1e})")
    for collector in modes:
        report(engines, sizes, "on" if collector else "off")


def report(engines: list[Engine], sizes: dict, mode: str) -> None:
    """The medians table and the speed-ups for one collector mode."""
    anchor = engines[0]
    count = len(anchor.times[mode]["step"])
    title = {"on": "collector on (Python's default)", "off": "collector off during the step"}
    print(f"\n## {title[mode]}: per-step medians in ms (n = {count} steps per engine)")
    print(f"{'engine':<24} {'nodes':>7} {'edges':>7} " + " ".join(f"{c:>9}" for c in COLUMNS))
    for engine in engines:
        nodes, edges = sizes[engine.name]
        times = engine.times[mode]
        cells = " ".join(f"{1e3 * statistics.median(times[c]):9.2f}" for c in COLUMNS)
        print(f"{engine.name:<24} {nodes:>7} {edges:>7} {cells}")
    ratios = ("forward", "backward", "step", "step + cycle GC")
    print("speed-up = micrograd time / microgradvg time, median of step-by-step paired ratios "
          "[quartiles]")
    print(f"{'engine':<24} " + " ".join(f"{c:>20}" for c in ratios))
    for engine in engines[1:]:
        speedups = [paired_ratio(anchor.times[mode], engine.times[mode], c) for c in ratios]
        print(f"{engine.name:<24} " + " ".join(f"{c:>20}" for c in speedups))
    sys.stdout.flush()


def paired_ratio(anchor: dict[str, list[float]], times: dict[str, list[float]], column: str) -> str:
    """Median and quartiles of anchor/times over steps timed side by side."""

    def series(t: dict[str, list[float]]) -> list[float]:
        if column == "step + cycle GC":
            return [a + b for a, b in zip(t["step"], t["cycle GC"])]
        return t[column]

    ratios = [a / b for a, b in zip(series(anchor), series(times))]
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    return f"{median:.2f}× [{q1:.2f}–{q3:.2f}]"


if __name__ == "__main__":
    main()
