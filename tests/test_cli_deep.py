"""Tests for `microgradvg residual` and `microgradvg recurrent`, end to end through `main`.

The printed speeds and gradient norms are checked against backprop written out in numpy
here (the same weights, read through `state_dict`), the SVGs are parsed as XML, and bad
input gives exit status 2, one stderr line and no files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from microgradvg.cli import main
from microgradvg.data import load_embedded
from microgradvg.deep import deep_network
from microgradvg.nn import RNN

ERROR_PREFIX = "microgradvg: error:"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def table_after(stdout: str, header_start: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(header_start))
    rows = []
    for line in lines[start + 1:]:
        cells = line.split()
        if not cells or not cells[0].isdigit():
            break
        rows.append(cells)
    return rows


def numpy_block_speeds(blocks: int, width: int, examples: int, skip: bool) -> np.ndarray:
    """‖∂C/∂b‖ of each block's Linear, by backprop in numpy over the same weights."""
    state = deep_network(blocks, width, skip=skip).state_dict()
    prefix = "block.0." if skip else "0."
    x, labels = load_embedded(examples)
    h = x @ state["0.weight"].T + state["0.bias"]
    inputs, outputs = [], []
    for i in range(1, blocks + 1):
        w, b = state[f"{i}.{prefix}weight"], state[f"{i}.{prefix}bias"]
        a = np.tanh(h @ w.T + b)
        inputs.append(h)
        outputs.append(a)
        h = h + a if skip else a
    logits = h @ state[f"{blocks + 1}.weight"].T + state[f"{blocks + 1}.bias"]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(examples), labels] -= 1.0
    g = p / examples @ state[f"{blocks + 1}.weight"]  # ∂C/∂(last block's output)
    speeds = []
    for i in range(blocks, 0, -1):
        delta = g * (1 - outputs[i - 1] ** 2)  # ∂C/∂z of block i
        speeds.append(np.linalg.norm(delta.sum(axis=0)))
        back = delta @ state[f"{i}.{prefix}weight"]
        g = g + back if skip else back
    return np.array(speeds[::-1])


def test_residual_prints_the_speeds_numpy_computes_and_the_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["residual", "--blocks", "6", "--width", "8", "--examples", "20",
                          "--out", str(tmp_path)], capsys)
    assert status == 0
    rows = table_after(out, "block  with skips")
    assert [int(row[0]) for row in rows] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose([float(r[1]) for r in rows], numpy_block_speeds(6, 8, 20, True), rtol=1e-3)
    np.testing.assert_allclose([float(r[2]) for r in rows], numpy_block_speeds(6, 8, 20, False), rtol=1e-3)
    # 2⁶ paths from the first layer's bias, one per subset of blocks taken: b → linear, then per
    # block 1 factor (the skip's +) or 3 (linear, tanh, +), then linear and the cost: 9 to 21
    assert "(exact, 64 paths, 7 lengths from 9 to 21 factors)" in out
    for name in ("residual_flow.svg", "plain_flow.svg", "speed_per_block.svg", "paths_by_length.svg"):
        assert ElementTree.parse(tmp_path / name).getroot().tag.endswith("svg")


def numpy_through_time(steps: int, hidden: int, radius: float, seed: int = 0) -> np.ndarray:
    """‖∂L/∂hₜ‖ for L = mean(h_T²), by backprop through time in numpy."""
    state = RNN(1, hidden, seed=seed).state_dict()
    w = np.random.default_rng(seed + 1).standard_normal((hidden, hidden))
    w_hh = w * (radius / np.max(np.abs(np.linalg.eigvals(w))))
    x = np.random.default_rng(seed).standard_normal((steps, 16, 1))
    h, states = np.zeros((16, hidden)), []
    for t in range(steps):
        h = np.tanh(x[t] @ state["weight_ih_l0"].T + state["bias_ih_l0"] + h @ w_hh.T + state["bias_hh_l0"])
        states.append(h)
    g = 2 * h / h.size
    norms = []
    for t in range(steps - 1, -1, -1):
        norms.append(np.linalg.norm(g))
        g = (g * (1 - states[t] ** 2)) @ w_hh
    return np.array(norms[::-1])


def test_recurrent_prints_bptt_norms_and_the_clipped_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["recurrent", "--steps", "8", "--hidden", "4", "--radius", "0.5,3",
                          "--out", str(tmp_path)], capsys)
    assert status == 0
    rows = table_after(out, "t ")
    assert [int(row[0]) for row in rows] == list(range(1, 9))
    for column, radius in ((1, 0.5), (2, 3.0)):
        np.testing.assert_allclose([float(r[column]) for r in rows], numpy_through_time(8, 4, radius), rtol=1e-3)
    clipped = next(line for line in out.splitlines() if line.startswith("‖g‖ ≤ 1"))
    assert clipped.split()[4] == "0.1"  # the clipped step: η·max_norm
    names = sorted(os.listdir(tmp_path))
    assert names == ["flow_1.svg", "flow_2.svg", "flow_3.svg", "flow_4.svg", "through_time.svg"]


BAD_INPUTS = {
    "no blocks": ["residual", "--blocks", "0"],
    "too many blocks": ["residual", "--blocks", "61"],
    "too wide": ["residual", "--width", "65"],
    "too many examples": ["residual", "--examples", "501"],
    "unknown norm": ["residual", "--norm", "group"],
    "unknown activation": ["residual", "--activation", "gelu"],
    "no steps": ["recurrent", "--steps", "0"],
    "too many steps": ["recurrent", "--steps", "201"],
    "hidden too large": ["recurrent", "--hidden", "65"],
    "radius zero": ["recurrent", "--radius", "0"],
    "radius not a number": ["recurrent", "--radius", "0.9,big"],
    "too many radii": ["recurrent", "--radius", "1,1,1,1,1"],
    "clip zero": ["recurrent", "--clip", "0"],
    "negative learning rate": ["recurrent", "--lr", "-1"],
    "infinite forget bias": ["recurrent", "--forget-bias", "inf"],
}


@pytest.mark.parametrize("argv", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_with_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = run([*argv, "--out", "out"], capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(ERROR_PREFIX), err
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize(
    "command, options",
    [
        ("residual", ["--blocks", "--width", "--activation", "--norm", "--examples", "--seed", "--out"]),
        ("recurrent", ["--steps", "--hidden", "--radius", "--forget-bias", "--clip", "--lr", "--seed", "--out"]),
    ],
)
def test_help_documents_every_option_with_examples(
    command: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run([command, "--help"], capsys)
    assert status == 0
    for option in options:
        assert option in out
    assert f"microgradvg {command}" in out.split("examples:")[1]


def test_batch_norm_on_one_example_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["residual", "--norm", "batch", "--examples", "1", "--blocks", "2", "--width", "4",
            "--out", str(tmp_path / "o")]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert err.startswith(f"{ERROR_PREFIX} --norm batch") and err.count("\n") == 1
    assert "--examples" in err
    assert not (tmp_path / "o").exists()


def test_a_huge_learning_rate_prints_no_numpy_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["recurrent", "--steps", "3", "--hidden", "2", "--lr", "1e308", "--out", str(tmp_path / "o")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from numpy would raise here
        status, _, err = run(argv, capsys)
    assert status == 0, err
    assert err == ""
