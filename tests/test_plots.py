"""The speed-of-learning chart: one line per layer, its format chosen by the file's suffix."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from microgradvg.render.plots import plot_speeds_during_training

EPOCHS = np.arange(5)
SPEEDS = np.array([[1e-3 * 2**e, 1e-2 * 1.5**e] for e in range(5)])


def test_svg_names_every_layer_and_is_identical_on_a_rerun(tmp_path: Path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    plot_speeds_during_training(EPOCHS, SPEEDS, first, layer_names=["layer one", "layer two"])
    plot_speeds_during_training(EPOCHS, SPEEDS, second, layer_names=["layer one", "layer two"])
    text = first.read_text()
    ET.fromstring(text)  # well-formed
    assert "layer one" in text and "layer two" in text
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".SVG", b"<?xml")])
def test_the_suffix_picks_the_format(tmp_path: Path, suffix: str, magic: bytes) -> None:
    path = tmp_path / f"speeds{suffix}"
    plot_speeds_during_training(EPOCHS, SPEEDS, path)
    assert path.read_bytes().startswith(magic)


def test_an_unknown_suffix_or_mismatched_shapes_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"plot_speeds_during_training: cannot write '\.jpg'.*\.svg, \.png or \.pdf"):
        plot_speeds_during_training(EPOCHS, SPEEDS, tmp_path / "speeds.jpg")
    with pytest.raises(ValueError, match=r"epochs \(4,\) and speeds \(5, 2\)"):
        plot_speeds_during_training(EPOCHS[:4], SPEEDS, tmp_path / "speeds.svg")


def test_an_open_binary_file_gets_svg() -> None:
    import io

    buffer = io.BytesIO()
    plot_speeds_during_training(EPOCHS, SPEEDS, buffer)
    assert buffer.getvalue().startswith(b"<?xml")
