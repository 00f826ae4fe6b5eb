"""The matplotlib charts of render/curves.py: files that parse, one bar per length, errors."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from microgradvg import Value, chain, flow_along
from microgradvg.nn import RNN
from microgradvg.render.curves import plot_by_length, plot_flows


def test_by_length_chart_has_a_bar_per_length_in_each_panel(tmp_path: Path) -> None:
    x = Value(0.5, "x")
    h = x
    for _ in range(4):
        h = h + (h * 0.9).tanh()  # four residual blocks: lengths 4 … 12
    shares = chain(h, x).by_length()
    path = tmp_path / "lengths.svg"
    plot_by_length(shares, path)
    text = path.read_text()
    assert ElementTree.fromstring(text).tag.endswith("svg")
    assert text.count('id="patch_') >= 2 * len(shares)  # the bars, beside the figure's own patches
    plot_by_length(shares, tmp_path / "again.svg")
    assert (tmp_path / "again.svg").read_text() == text  # byte-stable


def test_flows_chart_and_its_errors(tmp_path: Path) -> None:
    rnn = RNN(2, 3, seed=0)
    _, h = rnn(np.ones((5, 1, 2)))
    flow = flow_along(h.sum(), rnn.states)
    plot_flows([flow], ["rnn"], tmp_path / "flow.png")
    assert (tmp_path / "flow.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="plot_flows: need one name per flow"):
        plot_flows([flow], [], tmp_path / "x.svg")
    with pytest.raises(ValueError, match="plot_by_length: cannot write '.gif' files"):
        plot_by_length(chain(h.sum(), rnn.states[0]).by_length(), tmp_path / "x.gif")
