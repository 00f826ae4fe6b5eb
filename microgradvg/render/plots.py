"""Charts drawn with matplotlib: Nielsen's "speed of learning during training" plot, and the
training dashboard of a `Monitor` (speeds, update ratios, saturation).

Uses matplotlib's object API (a `Figure` with no pyplot and no GUI backend), so it
works headless and leaves matplotlib's global state alone; the SVG is byte-stable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

# The formats it writes, each without a date, so that reruns match.
NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}
# Lines a legend names: past this the default colours repeat (layer 1 and 11 alike) and the
# legend covers the charts, so each line is coloured by its depth on a colour bar instead.
MAX_LEGEND = 10
DEPTH_MAP = "viridis"


def layer_colours(count: int) -> list[Any]:
    """One colour per layer: matplotlib's default cycle up to MAX_LEGEND layers, else the
    layer's depth on DEPTH_MAP (dark: the first layer, yellow: the last)."""
    if count <= MAX_LEGEND:
        return [None] * count
    from matplotlib import colormaps

    return list(colormaps[DEPTH_MAP](np.linspace(0.0, 1.0, count)))


def depth_bar(figure: Any, axes: Any, names: Sequence[str]) -> None:
    """A colour bar beside `axes` (one Axes or a list) that names the layers' colours from
    `layer_colours`: the first, the last and a few between."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    count = len(names)
    mappable = ScalarMappable(Normalize(0, count - 1), colormaps[DEPTH_MAP])
    bar = figure.colorbar(mappable, ax=axes, fraction=0.05, pad=0.02)
    ticks = sorted({round(k * (count - 1) / 5) for k in range(6)})
    bar.set_ticks(ticks, labels=[names[t] for t in ticks])


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

    image_format = _image_format(path, "plot_speeds_during_training")
    epochs = np.asarray(epochs)
    speeds = np.asarray(speeds, dtype=float)  # (n, layers)
    if speeds.ndim != 2 or speeds.shape[0] != epochs.shape[0]:
        raise ValueError(f"plot_speeds_during_training: epochs {epochs.shape} and speeds {speeds.shape} do not fit")
    names = list(layer_names or [f"hidden layer {l + 1}" for l in range(speeds.shape[1])])
    # A fixed hash salt and no date make the SVG identical on every run.
    with matplotlib.rc_context({"svg.hashsalt": "microgradvg", "svg.fonttype": "none"}):
        figure = Figure(figsize=(7.0, 4.5), layout="constrained")
        axes = figure.add_subplot()
        colours = layer_colours(len(names))
        for layer, (name, colour) in enumerate(zip(names, colours)):
            # Log scale: a speed of exactly 0 (a dead ReLU layer) cannot be drawn, so mask it.
            column = np.where(speeds[:, layer] > 0, speeds[:, layer], np.nan)
            axes.plot(epochs, column, label=name, linewidth=1.5, color=colour)
        axes.set_yscale("log")
        axes.set_xlabel("epoch")
        axes.set_ylabel("speed of learning ‖∂C/∂bˡ‖")
        axes.set_title(title, fontsize=10)
        axes.grid(True, which="major", alpha=0.3)
        if len(names) > MAX_LEGEND:
            depth_bar(figure, axes, names)
        else:
            axes.legend()
        figure.savefig(path, format=image_format, metadata=NO_DATE[image_format])


GUIDE_UPDATE_RATIO = 1e-3  # the usual target for η‖∂C/∂Wˡ‖/‖Wˡ‖ (Karpathy's makemore, part 3)


def plot_training(
    arrays: dict[str, np.ndarray],
    path: str | os.PathLike[str] | BinaryIO,
    title: str = "Training, layer by layer",
    layer_names: Sequence[str] | None = None,
    xlabel: str = "epoch",
) -> None:
    """Write three charts against epoch, one line per layer: ‖∂C/∂bˡ‖ (log), the update ratio
    η‖∂C/∂Wˡ‖/‖Wˡ‖ (log, with the 1e-3 guide line) and the share of saturated units.

    `arrays` is `Monitor.as_arrays()`: `epochs` (n,), `speed_bias`, `update_ratio` and
    `saturation` (n, L). `layer_names` label the legend (default "layer 1", …), `xlabel` the
    x-axis ("step" when recorded per step). The format follows `path`'s suffix as in
    `plot_speeds_during_training`.
    """
    import matplotlib
    from matplotlib.figure import Figure

    image_format = _image_format(path, "plot_training")
    missing = {"epochs", "speed_bias", "update_ratio", "saturation"} - set(arrays)
    if missing:
        raise ValueError(f"plot_training: arrays lacks {sorted(missing)}; pass Monitor.as_arrays()")
    epochs = np.asarray(arrays["epochs"])
    panels = [np.asarray(arrays[k], dtype=float) for k in ("speed_bias", "update_ratio", "saturation")]
    if any(p.ndim != 2 or p.shape != panels[0].shape or len(p) != len(epochs) for p in panels):
        shapes = [np.shape(arrays[k]) for k in ("epochs", "speed_bias", "update_ratio", "saturation")]
        raise ValueError(f"plot_training: epochs, speeds, update ratios and saturation {shapes} do not fit")
    names = list(layer_names or [f"layer {l + 1}" for l in range(panels[0].shape[1])])
    with matplotlib.rc_context({"svg.hashsalt": "microgradvg", "svg.fonttype": "none"}):
        figure = Figure(figsize=(7.0, 8.5), layout="constrained")
        speed, update, saturation = figure.subplots(3, 1, sharex=True)
        colours = layer_colours(len(names))
        for layer, (name, colour) in enumerate(zip(names, colours)):
            # Log scales: an exact 0 (a dead layer) cannot be drawn, so it is masked.
            for axes, values in ((speed, panels[0]), (update, panels[1])):
                column = values[:, layer]
                axes.plot(epochs, np.where(column > 0, column, np.nan), label=name, linewidth=1.5,
                          color=colour)
            saturation.plot(epochs, panels[2][:, layer], label=name, linewidth=1.5, color=colour)
        speed.set_yscale("log")
        speed.set_ylabel("speed ‖∂C/∂bˡ‖")
        speed.set_title(title, fontsize=10)
        update.set_yscale("log")
        guide = update.axhline(GUIDE_UPDATE_RATIO, color="black", linestyle="--", linewidth=1.0,
                       label="guide 1e-3")
        update.set_ylabel("update η‖∂C/∂Wˡ‖/‖Wˡ‖")
        saturation.set_ylim(-0.02, 1.02)
        saturation.set_ylabel("share saturated")
        saturation.set_xlabel(xlabel)
        for axes in (speed, update, saturation):
            axes.grid(True, which="major", alpha=0.3)
        if len(names) > MAX_LEGEND:
            depth_bar(figure, [speed, update, saturation], names)
            update.legend(handles=[guide], loc="best", fontsize="small")
        else:
            # Below the charts, so that it never hides a line.
            handles, labels = update.get_legend_handles_labels()
            figure.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6),
                          fontsize="small", frameon=False)
        figure.savefig(path, format=image_format, metadata=NO_DATE[image_format])


def _image_format(path: str | os.PathLike[str] | BinaryIO, caller: str) -> str:
    """"svg", "png" or "pdf" from `path`'s suffix (an open binary file gets SVG)."""
    suffix = ""
    if isinstance(path, (str, bytes, os.PathLike)):
        suffix = os.path.splitext(os.fsdecode(path))[1].lower()
    image_format = (suffix or ".svg")[1:]
    if image_format not in NO_DATE:
        raise ValueError(f"{caller}: cannot write {suffix!r} files; use .svg, .png or .pdf")
    return image_format
