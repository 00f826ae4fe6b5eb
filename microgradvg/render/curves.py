"""Charts for deep networks, drawn with matplotlib: paths by length, and gradients along nodes.

`plot_by_length` draws Veit et al.'s two panels (how many paths of each length; how much
gradient they carry), `plot_flows` ‖∂L/∂node‖ along several `flow_along` results on one
log scale (per block, per time step). Object API, no pyplot; the SVGs are byte-stable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from .plots import NO_DATE, _image_format

Target = str | os.PathLike[str] | BinaryIO


def plot_by_length(shares: Any, path: Target, title: str = "The gradient by path length") -> None:
    """Two panels over path length ℓ: the number of paths (log scale) and ‖Σ products‖ of them.

    `shares` is a `chain(...).by_length()`. The counts peak at the binomial mode, the
    gradient far below it when per-path products shrink fast with length.
    """
    import matplotlib
    from matplotlib.figure import Figure

    image_format = _image_format(path, "plot_by_length")
    lengths = shares.lengths
    if not len(lengths):
        raise ValueError("plot_by_length: there are no paths to plot")
    counts = np.array([float(n) for n in shares.counts])
    sizes = shares.sizes
    with matplotlib.rc_context({"svg.hashsalt": "microgradvg", "svg.fonttype": "none"}):
        figure = Figure(figsize=(7.0, 5.2))
        top, bottom = figure.subplots(2, 1, sharex=True)
        top.bar(lengths, counts, width=1.4, color="#8c8c8c")
        top.set_yscale("log")
        top.set_ylabel("number of paths")
        top.axvline(lengths[np.argmax(counts)], color="#8c8c8c", linestyle=":", linewidth=1)
        bottom.bar(lengths, sizes, width=1.4, color="#2166ac")
        bottom.set_ylabel("‖Σ products‖ of those paths")
        bottom.set_xlabel("path length ℓ (factors)")
        bottom.axvline(lengths[np.argmax(sizes)], color="#2166ac", linestyle=":", linewidth=1)
        top.set_title(title, fontsize=10)
        for axes in (top, bottom):
            axes.grid(True, which="major", alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, format=image_format, metadata=NO_DATE[image_format])


def plot_flows(
    flows: Sequence[Any], names: Sequence[str], path: Target, title: str = "", xlabel: str = "node",
) -> None:
    """‖∂L/∂node‖ against the node's position (1, 2, …), one line per flow, log-scale y."""
    import matplotlib
    from matplotlib.figure import Figure

    image_format = _image_format(path, "plot_flows")
    if len(flows) != len(names) or not flows:
        raise ValueError(f"plot_flows: need one name per flow, got {len(flows)} flows and {len(names)} names")
    with matplotlib.rc_context({"svg.hashsalt": "microgradvg", "svg.fonttype": "none"}):
        figure = Figure(figsize=(7.0, 4.2))
        axes = figure.add_subplot()
        for flow, name in zip(flows, names):
            norms = np.asarray(flow.norms, dtype=float)
            axes.plot(np.arange(1, len(norms) + 1), np.where(norms > 0, norms, np.nan), label=name, linewidth=1.5)
        axes.set_yscale("log")
        axes.set_xlabel(xlabel)
        axes.set_ylabel("‖∂L/∂node‖")
        if title:
            axes.set_title(title, fontsize=10)
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path, format=image_format, metadata=NO_DATE[image_format])
