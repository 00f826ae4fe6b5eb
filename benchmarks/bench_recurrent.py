"""Recurrent layers and path lengths: microgradvg against PyTorch eager, and by_length's time.

    .venv/bin/python benchmarks/bench_recurrent.py            # the table for benchmarks/README.md
    .venv/bin/python benchmarks/bench_recurrent.py --quick    # fewer repetitions, a smoke test
    .venv/bin/python benchmarks/bench_recurrent.py --profile  # where the RNN step spends its time

A tanh RNN and an LSTM, 100 steps, hidden size 64, batch 32, input size 32, float32: forward
plus backward of the mean square of the output, with the same weights and inputs in both
engines, one thread each (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)), timed round-robin.
Then `chain(loss, b).by_length()` on a 54-block residual MLP, against one backward() of it.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # before numpy or torch loads its BLAS

import argparse
import cProfile
import gc
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from microgradvg import Tensor, chain
from microgradvg.nn import LSTM, RNN, Linear, Residual, Sequential, Tanh

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None  # type: ignore[assignment]

STEPS, BATCH, INPUT, HIDDEN = 100, 32, 32, 64


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def recurrent_pair(kind: str) -> tuple[Callable[[], Any], Callable[[], Any] | None, float]:
    """One training step's forward+backward in each engine, and their gradients' largest difference."""
    x = np.random.default_rng(0).standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    ours = (RNN if kind == "rnn" else LSTM)(INPUT, HIDDEN, seed=0, dtype=np.float32)

    def step_ours() -> list[np.ndarray]:
        ours.zero_grad()
        out, _ = ours(x)
        (out * out).mean().backward()
        return [p.grad for p in ours.parameters()]

    if torch is None:
        return step_ours, None, float("nan")
    theirs = (torch.nn.RNN if kind == "rnn" else torch.nn.LSTM)(INPUT, HIDDEN)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x_torch = torch.from_numpy(x)

    def step_theirs() -> list[Any]:
        theirs.zero_grad()
        out, _ = theirs(x_torch)
        (out * out).mean().backward()
        return [p.grad for p in theirs.parameters()]

    difference = max(
        float(np.max(np.abs(a - b.numpy())) / max(np.max(np.abs(b.numpy())), 1e-30))
        for a, b in zip(step_ours(), step_theirs())
    )
    return step_ours, step_theirs, difference


def residual_mlp(blocks: int = 54, width: int = 16, batch: int = 8) -> tuple[Tensor, Tensor]:
    model = Sequential(
        Linear(width, width, seed=0),
        *[Residual(Sequential(Linear(width, width, init="pytorch", seed=i), Tanh())) for i in range(1, blocks + 1)],
        Linear(width, 1, seed=blocks + 1),
    )
    x = np.random.default_rng(0).standard_normal((batch, width))
    return (model(x) ** 2).mean(), model[0].bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--profile", action="store_true", help="profile the RNN step and stop")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30
    if torch is not None:
        torch.set_num_threads(1)
    gc.disable()  # the engines' graphs are freed by reference counting; the cyclic collector only adds noise
    print(f"T = {STEPS} steps, batch {BATCH}, input {INPUT}, hidden {HIDDEN}, float32, one thread")
    if args.profile:
        step, _, _ = recurrent_pair("rnn")
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [step() for _ in range(10)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
    print(f"{'layer':<6} {'microgradvg':>12} {'PyTorch':>10} {'ratio':>7}  max rel. gradient difference")
    for kind in ("rnn", "lstm"):
        ours, theirs, difference = recurrent_pair(kind)
        ours()  # warm up both
        if theirs is not None:
            theirs()
        mine: list[float] = []
        reference: list[float] = []
        for _ in range(repeats):  # round-robin, so that both see the same machine load
            mine.append(median_seconds(ours, 1))
            if theirs is not None:
                reference.append(median_seconds(theirs, 1))
        a = statistics.median(mine)
        if reference:
            b = statistics.median(reference)
            print(f"{kind:<6} {a * 1e3:>9.2f} ms {b * 1e3:>7.2f} ms {a / b:>6.2f}×  {difference:.1e}")
        else:
            print(f"{kind:<6} {a * 1e3:>9.2f} ms {'(no torch)':>10}")
    loss, bias = residual_mlp()
    backward = median_seconds(loss.backward, repeats)
    by_length = median_seconds(lambda: chain(loss, bias).by_length(), max(3, repeats // 5))
    shares = chain(loss, bias).by_length()
    print(
        f"\nby_length, 54-block residual MLP (width 16, batch 8): {by_length:.3f} s "
        f"({len(shares)} lengths, {sum(shares.counts):.3e} paths); one backward() {backward * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
