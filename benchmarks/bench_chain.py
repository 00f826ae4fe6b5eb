"""`chain(loss, x).paths(10)` on a scalar graph of 100,000 nodes with ~10⁶⁰² paths.

Builds a deep ring of 2-input tanh neurons (`Value.linear` + `.tanh()`), then times
`chain(output, x0).paths(10)` from scratch (path DP, k-best search) against one
`output.backward()` on the same graph, the anchor, measured in the same run. Median of
several runs; the target is well under 1 s.

    .venv/bin/python benchmarks/bench_chain.py                 # ~10 s
    .venv/bin/python benchmarks/bench_chain.py --repeats 3 --width 100 --depth 200
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from microgradvg import chain
from microgradvg.engine.graph import topological_order, zero_grad
from microgradvg.engine.value import Value
from microgradvg.formatting import count
from microgradvg.inspection.spread import spread

TARGET_SECONDS = 1.0


def layered(width: int, depth: int, seed: int = 0) -> tuple[Value, Value]:
    """depth layers of `width` neurons aⱼ = tanh(w₀aⱼ + w₁aⱼ₊₁ + b) in a ring; 50 nodes per
    layer of 10. From x0 the number of paths doubles with every layer."""
    rng = random.Random(seed)
    xs = [Value(rng.uniform(-1, 1), f"x{i}") for i in range(width)]
    a = xs
    for _ in range(depth):
        a = [
            Value.linear([Value(rng.gauss(0, 1.2)), Value(rng.gauss(0, 1.2))],
                         [a[j], a[(j + 1) % width]], Value(rng.gauss(0, 0.1))).tanh()
            for j in range(width)
        ]
    return Value.sum(a), xs[0]


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=10)
    parser.add_argument("--depth", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    output, x = layered(args.width, args.depth)
    nodes = len(topological_order(output))
    c = chain(output, x)
    top = c.paths(args.k)
    print(f"graph: {nodes:,} nodes, width {args.width}, depth {args.depth}; "
          f"{count(c.num_paths)} paths from x0, each of {len(top[0]):,} factors")
    print(f"best path: ln|product| = {top[0].log_abs:.2f} (product {top[0].product:.3g}); "
          f"total ∂out/∂x0 = {c.total:.3g}")

    def backward() -> None:
        zero_grad(output)
        output.backward()

    anchor = median_seconds(backward, args.repeats)
    rows = [
        ("output.backward()  (anchor)", anchor),
        ("chain(output, x0)", median_seconds(lambda: chain(output, x), args.repeats)),
        (f"chain(output, x0).paths({args.k})",
         median_seconds(lambda: chain(output, x).paths(args.k), args.repeats)),
        ("chain(output, x0).num_paths",
         median_seconds(lambda: chain(output, x).num_paths, args.repeats)),
        ("chain(output, x0).total", median_seconds(lambda: chain(output, x).total, args.repeats)),
        ("spread(output, x0)", median_seconds(lambda: spread(output, x), args.repeats)),
    ]
    print(f"\nmedian of {args.repeats} runs")
    for name, seconds in rows:
        print(f"  {name:<34} {seconds * 1000:8.1f} ms   {seconds / anchor:5.2f}× backward")
    paths_seconds = rows[2][1]
    verdict = "OK" if paths_seconds < TARGET_SECONDS else "TOO SLOW"
    print(f"\npaths({args.k}) target < {TARGET_SECONDS:g} s: {paths_seconds:.3f} s  {verdict}")


if __name__ == "__main__":
    main()
