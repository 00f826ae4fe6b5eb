"""Where microgradvg's Tensor step spends its time, for tuning the engine (not for the README).

    .venv/bin/python benchmarks/profile_tensor.py            # Nielsen's network, float64
    .venv/bin/python benchmarks/profile_tensor.py --quick    # a tenth of the repetitions

Phase times against the numpy floor, the backward pass split by rule, the per-node overhead,
the price of SGD's temporary lr·g, and a cProfile of the step. The workloads, the anchor and
the timing loop are `bench_tensor.py`'s.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_tensor
from bench_tensor import (
    WORKLOADS,
    Microgradvg,
    NumpyBackprop,
    Workload,
    initial_parameters,
    mini_batches,
    time_steps,
)

import microgradvg
from microgradvg import nn
from microgradvg.engine.backprop import RULES

# ---- profiling microgradvg's step --------------------------------------------------------------


def phase_times(workload: Workload, reps: int) -> None:
    """Forward (incl. loss), backward and update, microgradvg against the floor, interleaved."""
    parameters = initial_parameters(workload)
    batches = mini_batches(workload)
    floor = NumpyBackprop(workload, parameters)
    mine = Microgradvg(workload, parameters)
    clock = time.perf_counter_ns
    phases: dict[str, list[int]] = {
        k: []
        for k in (
            "np forward",
            "np backward",
            "np update",
            "mg forward",
            "mg backward",
            "mg update",
        )
    }
    for r in range(reps):
        x, y = batches[r % len(batches)]
        t0 = clock()
        activations, slopes, z = floor.forward(x)
        _, delta = floor.loss_and_delta(z, y)
        t1 = clock()
        grads = floor.backward(activations, slopes, delta)
        t2 = clock()
        floor.update(grads)
        t3 = clock()
        phases["np forward"].append(t1 - t0)
        phases["np backward"].append(t2 - t1)
        phases["np update"].append(t3 - t2)
        t0 = clock()
        out = nn.softmax_cross_entropy(mine.model(x), y)
        t1 = clock()
        out.backward()
        t2 = clock()
        mine.optimizer.step()
        mine.optimizer.zero_grad()
        t3 = clock()
        phases["mg forward"].append(t1 - t0)
        phases["mg backward"].append(t2 - t1)
        phases["mg update"].append(t3 - t2)
    nodes = microgradvg.topological_order(out)
    ops = sum(1 for node in nodes if node.parents)
    print(f"\n{workload.name}: {len(nodes)} graph nodes, {ops} op nodes; median µs per phase")
    for phase in ("forward", "backward", "update"):
        n = np.median(phases[f"np {phase}"]) / 1000
        m = np.median(phases[f"mg {phase}"]) / 1000
        print(
            f"  {phase:9s} numpy {n:7.1f}  microgradvg {m:7.1f}  extra {m - n:6.1f}  ({(m - n) / ops:.2f} per op node)"
        )


def backward_breakdown(workload: Workload, reps: int) -> None:
    """microgradvg's backward pass split into graph ordering, derivative rules and bookkeeping."""
    parameters = initial_parameters(workload)
    batches = mini_batches(workload)
    mine = Microgradvg(workload, parameters)
    clock = time.perf_counter_ns
    spent: dict[str, list[int]] = {}
    totals, orders = [], []
    original = dict(RULES)

    def timed(op: str, rule: Callable) -> Callable:
        def run_rule(*args: Any) -> Any:
            t0 = clock()
            result = rule(*args)
            spent[op][-1] += clock() - t0
            return result

        return run_rule

    RULES.update({op: timed(op, rule) for op, rule in original.items()})
    try:
        for r in range(reps):
            loss = nn.softmax_cross_entropy(
                mine.model(batches[r % len(batches)][0]), batches[r % len(batches)][1]
            )
            t0 = clock()
            microgradvg.topological_order(loss)
            t1 = clock()
            for op in original:
                spent.setdefault(op, []).append(0)
            loss.backward()
            t2 = clock()
            mine.optimizer.zero_grad()
            orders.append(t1 - t0)
            totals.append(t2 - t1)
    finally:
        RULES.update(original)
    counts: dict[str, int] = {}
    for node in microgradvg.topological_order(loss):
        if node.parents:
            counts[node.op] = counts.get(node.op, 0) + 1
    rule_total = sum(float(np.median(spent[op])) for op in counts) / 1000
    total = float(np.median(totals)) / 1000
    order = float(np.median(orders)) / 1000
    print("\nbackward() split, median µs (rules timed by wrappers, which add ~0.1 µs per call):")
    print(f"  whole backward() {total:6.1f}")
    print(f"  topological_order {order:5.1f}")
    for op, n in counts.items():
        print(
            f"  rule {op:22s} {np.median(spent[op]) / 1000:5.1f}  ({n} node{'s' if n > 1 else ''})"
        )
    print(f"  bookkeeping (the rest) {total - order - rule_total:5.1f}")


def per_node_overhead(length: int = 200, reps: int = 2000) -> None:
    """Cost of one graph node beyond its numpy work, on a chain of relu ops over a 1×1 array."""
    clock = time.perf_counter_ns
    start = microgradvg.Tensor(np.full((1, 1), 0.5), requires_grad=True)
    raw = start.data

    def forward() -> Any:
        a = start
        for _ in range(length):
            a = a.relu()
        return a

    def numpy_forward() -> None:
        a = raw
        for _ in range(length):
            a = np.maximum(a, 0.0)

    def numpy_backward() -> None:  # what the relu rule computes, without the graph
        g = np.ones_like(raw)
        for _ in range(length):
            g = g * (raw > 0).astype(raw.dtype)

    out = forward()

    def backward() -> None:
        out.backward()
        start.grad = None

    def median(f: Callable) -> float:
        times = []
        for _ in range(reps):
            t0 = clock()
            f()
            times.append(clock() - t0)
        return float(np.median(times)) / 1000 / length

    f, nf, b, nb = median(forward), median(numpy_forward), median(backward), median(numpy_backward)
    print(f"\nper-node overhead (chain of {length} relu nodes on a 1×1 array), µs per node:")
    print(f"  forward  {f:.2f} (numpy op alone {nf:.2f}: overhead {f - nf:.2f})")
    print(f"  backward {b:.2f} (numpy rule ops alone {nb:.2f}: overhead {b - nb:.2f})")


class MicrogradvgScalingGradients(Microgradvg):
    """A what-if, not a way to use the library: SGD as the anchor does it, scaling each `.grad`
    in place (`g *= lr; p -= g`), which leaves the user a wrong `.grad` after the step."""

    name = "microgradvg, SGD scaling p.grad in place"

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        loss = nn.softmax_cross_entropy(self.model(x), y)
        loss.backward()
        for p in self.optimizer.params:
            p.grad *= self.optimizer.lr
            p.data -= p.grad
        self.optimizer.zero_grad()


def price_of_keeping_gradients(workload: Workload, reps: int) -> None:
    """How much of the gap is SGD's temporary lr·g: the real step against the in-place what-if."""
    parameters = initial_parameters(workload)
    batches = mini_batches(workload)
    impls = [
        NumpyBackprop(workload, parameters),
        Microgradvg(workload, parameters),
        MicrogradvgScalingGradients(workload, parameters),
    ]
    times = time_steps(impls, batches, reps, warmup=max(5, reps // 10))
    floor = float(np.median(times[impls[0].name]))
    print("\nSGD's temporary lr·g (numpy has no fused a − λb), median µs per step, interleaved:")
    for impl in impls:
        median = float(np.median(times[impl.name]))
        print(f"  {impl.name:42s} {median:7.1f}  {median / floor:.3f}× numpy")


def profile(workload: Workload, reps: int) -> None:
    print(f"microgradvg from {os.path.dirname(microgradvg.__file__)}")
    phase_times(workload, reps)
    backward_breakdown(workload, reps)
    per_node_overhead()
    price_of_keeping_gradients(workload, reps)
    parameters = initial_parameters(workload)
    batches = mini_batches(workload)
    mine = Microgradvg(workload, parameters)
    profiler = cProfile.Profile()
    profiler.enable()
    for r in range(reps):
        mine.step(*batches[r % len(batches)])
    profiler.disable()
    print(
        f"\ncProfile of {reps} microgradvg steps (tottime, top 25; numpy ufuncs count in their caller):"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the repetitions")
    args = parser.parse_args(argv)
    with bench_tensor.one_blas_thread():
        profile(WORKLOADS[0], 300 if args.quick else 3000)


if __name__ == "__main__":
    main()
