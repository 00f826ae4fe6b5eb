"""Time the per-layer flow table for Nielsen's [784, 30, 30, 30, 30, 10] over 1,000 digits.

Run: `python benchmarks/bench_flow.py [--repeats N]`. Prints the median time of
`layer_flow` (target < 0.2 s), the same with curvature, and the ratio to an anchor measured
in the same run: the same numbers from a hand-written numpy backprop (BP1–BP4).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from microgradvg.data import load_embedded, one_hot
from microgradvg.flow.speeds import layer_flow
from microgradvg.nn import TensorMLP

SIZES = [784, 30, 30, 30, 30, 10]
TARGET_SECONDS = 0.2


def numpy_flow(
    weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray
) -> list:
    """The anchor: forward, BP1–BP4 for sigmoid layers and cross-entropy, and the table's norms."""
    a, activations, slopes = x, [x], []
    for w, b in zip(weights, biases):
        s = 1.0 / (1.0 + np.exp(-(a @ w.T + b)))  # (n, n_l)
        slopes.append(s * (1.0 - s))
        activations.append(s)
        a = s
    delta = (a - y) / len(x)  # BP1 for cross-entropy, batch-averaged
    rows = []
    for layer in range(len(weights) - 1, -1, -1):
        bias_grad = delta.sum(axis=0)  # BP3
        weight_grad = delta.T @ activations[layer]  # BP4
        rows.append(
            (
                np.linalg.norm(bias_grad),
                np.linalg.norm(weight_grad),
                slopes[layer].mean(),
                slopes[layer].max(),
            )
        )
        if layer:
            delta = (delta @ weights[layer]) * slopes[layer - 1]  # BP2
    norms = [(np.linalg.norm(w, 2), np.linalg.norm(w)) for w in weights[1:]]
    return rows[::-1] + norms


def median_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each run; the runs take turns, so load from other processes hits all alike."""
    for run in runs.values():
        run()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    repeats = parser.parse_args().repeats

    images, labels = load_embedded(1000)
    targets = one_hot(labels)
    model = TensorMLP(SIZES, seed=0)
    weights = [layer.weight.data for layer in model.layers]
    biases = [layer.bias.data for layer in model.layers]

    medians = median_seconds(
        {
            "anchor": lambda: numpy_flow(weights, biases, images, targets),
            "flow": lambda: layer_flow(model, images, targets),
            "curvature": lambda: layer_flow(model, images, targets, curvature=True, lr=0.1),
        },
        repeats,
    )
    anchor, flow, with_curvature = medians["anchor"], medians["flow"], medians["curvature"]

    print(layer_flow(model, images, targets))
    print()
    print(f"{SIZES} over 1,000 embedded digits, cross-entropy, median of {repeats} runs")
    print(f"  anchor (numpy BP1–BP4)        {anchor * 1e3:8.2f} ms")
    print(
        f"  layer_flow                    {flow * 1e3:8.2f} ms   {flow / anchor:5.2f}× anchor   "
        f"target < {TARGET_SECONDS * 1e3:.0f} ms: {'met' if flow < TARGET_SECONDS else 'MISSED'}"
    )
    print(
        f"  layer_flow(curvature=True)    {with_curvature * 1e3:8.2f} ms   {with_curvature / anchor:5.2f}× anchor"
    )


if __name__ == "__main__":
    main()
