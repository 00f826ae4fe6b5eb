"""Charts drawn with matplotlib: Nielsen's "speed of learning during training" plot.

Uses matplotlib's object API (a `Figure` with no pyplot and no GUI backend), so it
works headless and leaves matplotlib's global state alone; the SVG is byte-stable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

# The formats it writes, each without a date, so that reruns match.
NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}


def plot_speeds_during_training(
    epochs: np.ndarray,
    speeds: np.ndarray,
    path: str | os.PathLike[str] | BinaryIO,
    title: str = "Speed of learning during training",
    layer_names: Sequence[str] | None = None,
) -> None:
    """Write a chart of ‖∂C/∂bˡ‖ against epoch, one line per layer, log-scale y.

    `epochs` has shape (n,), `speeds` (n, layers); `layer_names` label the legend
    (default "hidden layer 1", …). The format follows `path`'s suffix: .svg (the
    default, identical on every run), .png or .pdf; an open binary file gets SVG.
    """
    import matplotlib
    from matplotlib.figure import Figure

    suffix = ""  # an open binary file gets SVG
    if isinstance(path, (str, bytes, os.PathLike)):
        suffix = os.path.splitext(os.fsdecode(path))[1].lower()
    image_format = (suffix or ".svg")[1:]
    if image_format not in NO_DATE:
        raise ValueError(
            f"plot_speeds_during_training: cannot write {suffix!r} files; use .svg, .png or .pdf"
        )
    epochs = np.asarray(epochs)
    speeds = np.asarray(speeds, dtype=float)  # (n, layers)
    if speeds.ndim != 2 or speeds.shape[0] != epochs.shape[0]:
        raise ValueError(f"plot_speeds_during_training: epochs {epochs.shape} and speeds {speeds.shape} do not fit")
    names = list(layer_names or [f"hidden layer {l + 1}" for l in range(speeds.shape[1])])
    # A fixed hash salt and no date make the SVG identical on every run.
    with matplotlib.rc_context({"svg.hashsalt": "microgradvg", "svg.fonttype": "none"}):
        figure = Figure(figsize=(7.0, 4.5))
        axes = figure.add_subplot()
        for layer, name in enumerate(names):
            # Log scale: a speed of exactly 0 (a dead ReLU layer) cannot be drawn, so mask it.
            column = np.where(speeds[:, layer] > 0, speeds[:, layer], np.nan)
            axes.plot(epochs, column, label=name, linewidth=1.5)
        axes.set_yscale("log")
        axes.set_xlabel("epoch")
        axes.set_ylabel("speed of learning ‖∂C/∂bˡ‖")
        axes.set_title(title, fontsize=10)
        axes.grid(True, which="major", alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, format=image_format, metadata=NO_DATE[image_format])
