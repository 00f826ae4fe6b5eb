"""The text the command prints: the table of speeds next to the book's, the sentence that
explains it, the training summary, and `say`, which survives a closed stdout (`| head`).
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import textwrap

import numpy as np

from ..experiments import InitialSpeeds, Setup
from ..formatting import aligned_table

WIDTH = 100  # the report fits a 100-column terminal: tables by construction, prose wrapped
SLOPE_BOUNDS = {
    "sigmoid": "σ'(z) ≤ 1/4",
    "tanh": "tanh'(z) ≤ 1",
    "relu": "relu'(z) is 0 or 1",
}


def say(text: object = "") -> None:
    """Print a line of the report; if stdout's reader has gone (`| head`), carry on silently.

    The run still finishes and writes its files; only the rest of the report is dropped.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        except (OSError, ValueError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits


def speed_report(speeds: InitialSpeeds, source: str, count: int) -> str:
    """The table of speeds per hidden layer, the book's values, and one line explaining them.

    Columns: ‖∂C/∂bˡ‖ for the first seed and the median over all seeds, the book's value,
    and for the first seed the mean slope f'(zˡ) and the gain ‖∂C/∂bˡ‖/‖∂C/∂bˡ⁺¹‖.
    """
    setup = speeds.setup
    first, last = speeds.seeds[0], speeds.seeds[-1]
    seed_range = f"seed {first}" if first == last else f"seeds {first}–{last}"
    slope = "σ'" if setup.activation == "sigmoid" else f"{setup.activation}'"
    book = speeds.book
    header = [
        "hidden layer", "neurons", f"‖∂C/∂bˡ‖ seed {first}", f"median, {seed_range}", "book",
        f"mean {slope}(zˡ)", "gain l+1→l",
    ]
    rows = [
        [
            str(index + 1), str(stats.size), f"{mine:.4g}", f"{median:.4g}",
            book[index] if book else "–", f"{stats.slope_mean:.3f}",
            "–" if stats.gain is None else f"{stats.gain:.3f}",
        ]
        for index, (stats, mine, median) in enumerate(
            zip(speeds.hidden_stats, speeds.first_seed, speeds.median)
        )
    ]
    lines = [
        textwrap.fill(f"Speed of learning at initialisation: ‖∂C/∂bˡ‖, C averaged over {count} "
                      f"images of {source}", WIDTH),
        f"network {sizes_text(setup.sizes)}: {describe(setup)}",
        "",
        *aligned_table(header, rows),
        "",
        explanation(speeds.median, setup.activation, speeds.first_seed, seed_range),
    ]
    if book is None:
        lines.append("(The book gives values only for 784,30,30,10, 784,30,30,30,10 and "
                     "784,30,30,30,30,10.)")
    elif setup != Setup(sizes=setup.sizes):
        lines.append(f"(The book's values are for {describe(Setup(sizes=setup.sizes))}.)")
    return "\n".join(lines)


def explanation(
    speeds: np.ndarray, activation: str, first_seed: np.ndarray | None = None, seeds: str = ""
) -> str:
    """The book's comparison: the first hidden layer against the last hidden layer.

    `speeds` are the median ‖∂C/∂bˡ‖ per hidden layer over `seeds` ("seeds 0–4"); with
    `first_seed`, the same ratio for the first seed's network, the one the pictures draw.
    Wrapped to 100 columns.
    """
    if len(speeds) < 2:
        return "One hidden layer: nothing to compare it with; try --sizes 784,30,30,30,30,10."
    first, last = float(speeds[0]), float(speeds[-1])
    layers = f"hidden layer 1 (the first) and hidden layer {len(speeds)} (the last hidden layer)"
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return textwrap.fill(f"The speeds of {layers} are {first:.3g} and {last:.3g}.", WIDTH)
    ratio = last / first
    both = f"{first:.3g} vs {last:.3g}, medians over {seeds or 'the seeds'}"
    if first_seed is not None and len(speeds) > 1 and first_seed[0] > 0:
        both += f"; {_times(float(first_seed[-1] / first_seed[0]))} for the first seed's network"
    why = f"each layer back multiplies the gradient by {SLOPE_BOUNDS[activation]} and by a weight matrix"
    compared = f"Hidden layer 1 learns {{}} than hidden layer {len(speeds)}, the last hidden layer ({both})"
    if ratio >= 2:
        text = f"{compared.format(_times(ratio) + ' more slowly')}: {why}, so the gradient vanishes on its way back."
    elif ratio <= 0.5:
        text = f"{compared.format(_times(1 / ratio) + ' faster')}: {why}, and here the gradient grows on its way back."
    else:
        text = (f"The first and last hidden layers learn at similar speeds ({both}), within a factor "
                f"{_times(max(ratio, 1 / ratio))}: the gradient neither vanishes nor explodes.")
    return textwrap.fill(text, WIDTH)


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.2g}×"


def training_report(history: np.ndarray, epochs: int, lr: float) -> str:
    """Speeds per hidden layer before and after training."""
    header = ["hidden layer", "epoch 0", f"epoch {epochs}"]
    rows = [[str(layer + 1), f"{history[0, layer]:.4g}", f"{history[-1, layer]:.4g}"]
            for layer in range(history.shape[1])]
    title = f"Speed of learning during {epochs} epochs of full-batch gradient descent, η = {lr:g}:"
    return "\n".join([title, "", *aligned_table(header, rows)])


SHORT_SIZES = 8  # layer sizes listed one by one; a deeper network's are written in runs


def sizes_text(sizes: tuple[int, ...] | list[int]) -> str:
    """Layer sizes as a learner would type them, short enough for a picture's title:
    [784, 30, 30, 10]; past SHORT_SIZES layers in runs, [784] + [30]*30 + [10]; and when
    even that is long, the ends around "… n more …"."""
    sizes = [int(size) for size in sizes]
    if len(sizes) <= SHORT_SIZES:
        return str(sizes)
    parts: list[str] = []
    singles: list[int] = []
    for size, run in itertools.groupby(sizes):
        n = len(list(run))
        if n >= 3:
            parts += [str(singles)] if singles else []
            parts.append(f"[{size}]*{n}")
            singles = []
        else:
            singles += [size] * n
    parts += [str(singles)] if singles else []
    text = " + ".join(parts)
    if len(text) <= 60:
        return text
    return f"[{sizes[0]}, {sizes[1]}, … {len(sizes) - 4} more …, {sizes[-2]}, {sizes[-1]}]"


def describe(setup: Setup) -> str:
    """The setup in words: 'sigmoid hidden layers, nielsen init, cross_entropy cost'."""
    return f"{setup.activation} hidden layers, {setup.init} init, {setup.cost} cost"
