"""Recurrent layers and path lengths: microgradvg against PyTorch eager, and by_length's time.

    .venv/bin/python benchmarks/bench_recurrent.py            # the table for benchmarks/README.md
    .venv/bin/python benchmarks/bench_recurrent.py --quick    # fewer repetitions, a smoke test
    .venv/bin/python benchmarks/bench_recurrent.py --profile  # where the RNN step spends its time

A tanh RNN and an LSTM, 100 steps, hidden size 64, batch 32, input size 32, float32: forward
plus backward of the mean square of the output, with the same weights and inputs in both
engines, one thread each (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)), timed round-robin,
beside the floor for any numpy engine: the same step written out by hand in numpy (no graph,
the input projection of all steps in one matmul).
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


def numpy_step(kind: str) -> Callable[[], Any]:
    """The same forward and backward written out in numpy: BPTT by hand, the floor for numpy."""
    ours = (RNN if kind == "rnn" else LSTM)(INPUT, HIDDEN, seed=0, dtype=np.float32)
    w_ih, w_hh, b_ih, b_hh = (p.data for p in ours.parameters())
    x = np.random.default_rng(0).standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    n = HIDDEN

    def step() -> tuple[np.ndarray, np.ndarray]:
        projected = (x.reshape(-1, INPUT) @ w_ih.T + (b_ih + b_hh)).reshape(STEPS, BATCH, -1)
        h, c = np.zeros((BATCH, n), np.float32), np.zeros((BATCH, n), np.float32)
        saved, outputs = [], np.empty((STEPS, BATCH, n), np.float32)
        for t in range(STEPS):
            z = projected[t] + h @ w_hh.T
            if kind == "rnn":
                saved.append(h)
                h = np.tanh(z)
            else:
                s, g = 1 / (1 + np.exp(-z)), np.tanh(z[:, 2 * n:3 * n])
                c_next = s[:, n:2 * n] * c + s[:, :n] * g
                squashed = np.tanh(c_next)
                saved.append((h, c, s, g, squashed))
                h, c = s[:, 3 * n:] * squashed, c_next
            outputs[t] = h
        d_out = 2 * outputs / outputs.size
        dh, dc = np.zeros((BATCH, n), np.float32), np.zeros((BATCH, n), np.float32)
        dz_all = np.empty_like(projected)
        dw_hh = np.zeros_like(w_hh)
        for t in reversed(range(STEPS)):
            dh = dh + d_out[t]
            dz = dz_all[t]
            if kind == "rnn":
                dz[:] = dh * (1 - outputs[t] ** 2)
                previous = saved[t]
            else:
                previous, c_before, s, g, squashed = saved[t]
                i, f, o = s[:, :n], s[:, n:2 * n], s[:, 3 * n:]
                dc = dc + dh * o * (1 - squashed * squashed)
                dz[:, :n], dz[:, n:2 * n] = dc * g * i * (1 - i), dc * c_before * f * (1 - f)
                dz[:, 2 * n:3 * n], dz[:, 3 * n:] = dc * i * (1 - g * g), dh * squashed * o * (1 - o)
                dc = dc * f
            dw_hh += dz.T @ previous
            dh = dz @ w_hh
        return dz_all.reshape(-1, dz_all.shape[-1]).T @ x.reshape(-1, INPUT), dw_hh

    return step


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
    print(f"{'layer':<6} {'microgradvg':>12} {'PyTorch':>10} {'ratio':>7} {'numpy by hand':>14} {'ratio':>7}"
          "  max rel. gradient difference")
    for kind in ("rnn", "lstm"):
        ours, theirs, difference = recurrent_pair(kind)
        by_hand = numpy_step(kind)
        # The hand-written step must compute the same ∂L/∂W_ih and ∂L/∂W_hh to be a fair floor.
        for mine, written in zip(ours()[:2], by_hand()):
            assert np.max(np.abs(mine - written)) <= 1e-5 * np.max(np.abs(mine)), f"{kind}: numpy by hand differs"
        runs: dict[str, list[float]] = {"ours": [], "torch": [], "numpy": []}
        steps = {"ours": ours, "torch": theirs, "numpy": by_hand}
        for _ in range(repeats + 1):  # round-robin, so that all see the same machine load
            for name, step in steps.items():
                if step is not None:
                    runs[name].append(median_seconds(step, 1))
        a, floor = statistics.median(runs["ours"][1:]), statistics.median(runs["numpy"][1:])  # run 0 warms up
        if theirs is not None:
            b = statistics.median(runs["torch"][1:])
            print(f"{kind:<6} {a * 1e3:>9.2f} ms {b * 1e3:>7.2f} ms {a / b:>6.2f}× {floor * 1e3:>11.2f} ms "
                  f"{floor / b:>6.2f}×  {difference:.1e}")
        else:
            print(f"{kind:<6} {a * 1e3:>9.2f} ms {'(no torch)':>10} {'':>7} {floor * 1e3:>11.2f} ms")
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
