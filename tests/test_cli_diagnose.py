"""Tests for `microgradvg diagnose`, end to end through `main([...])`: the printed speeds against
Nielsen's BP1–BP4 in numpy (from test_cli), the SVGs parsed as XML, weights files in both
namings, and every bad file or mismatch giving exit status 2, one stderr line, no `--out`."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_svg, backprop, embedded_digits, nielsen_network, run, staging_leftovers

from microgradvg import save_weights
from microgradvg.nn import TensorMLP

ERROR_PREFIX = "microgradvg: error:"
FEW = ["--examples", "100"]


def printed_rows(stdout: str) -> list[list[str]]:
    """The rows of the first diagnosis table: each a list of its cells."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("layer  size"))
    rows = []
    for line in lines[start + 1:]:
        if not re.match(r"\s*\d+\s", line):
            break
        rows.append(line.split())
    return rows


def test_default_is_nielsens_network_at_initialisation_and_vanishing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(["diagnose", *FEW, "--seed", "2", "--out", str(tmp_path / "out")], capsys)
    assert status == 0, err
    x, y = embedded_digits(100)
    weights, biases = nielsen_network([784, 30, 30, 30, 30, 10], seed=2)
    grad_b, grad_w = backprop(weights, biases, x, y, "cross_entropy")
    rows = printed_rows(out)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    for row, gb, gw, w in zip(rows, grad_b, grad_w, weights):
        assert float(row[3]) == pytest.approx(np.linalg.norm(gb), rel=6e-3)  # printed to 3 figures
        assert float(row[4]) == pytest.approx(np.linalg.norm(gw), rel=6e-3)
        update = 0.1 * np.linalg.norm(gw) / np.linalg.norm(w)
        assert float(row[5]) == pytest.approx(update, rel=6e-2)
    assert "verdict: vanishing" in out
    assert "layer 1, vanishing:" in out
    assert max(len(line) for line in out.splitlines() if not line.startswith("wrote")) <= 100
    assert_svg(tmp_path / "out" / "diagnosis.svg")
    assert "vanishing" in (tmp_path / "out" / "diagnosis.svg").read_text(encoding="utf-8")
    assert staging_leftovers(tmp_path) == []


def test_own_weights_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = save_weights(TensorMLP([784, 12, 10], activation="tanh", output_activation="sigmoid",
                                  init="xavier", seed=1), tmp_path / "mine.npz")
    status, out, err = run(["diagnose", "--weights", str(path), *FEW, "--out", str(tmp_path / "o")],
                           capsys)
    assert status == 0, err
    assert "tanh hidden layers, sigmoid output" in out
    assert "cross_entropy" in out  # auto: a sigmoid output takes Nielsen's cross-entropy
    assert [r[2] for r in printed_rows(out)] == ["tanh", "sigmoid"]


def test_pytorch_state_dict_with_logits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "torch.npz"
    np.savez(path, **{"0.weight": rng.normal(0, 0.05, (16, 784)), "0.bias": np.zeros(16),
                      "2.weight": rng.normal(0, 0.3, (10, 16)), "2.bias": np.zeros(10)})
    argv = ["diagnose", "--weights", str(path), "--activation", "relu", "--output-activation",
            "linear", *FEW, "--out", str(tmp_path / "o")]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert "softmax_cross_entropy" in out  # auto: a linear output gives logits
    assert [r[1] for r in printed_rows(out)] == ["16", "10"]


def test_epochs_draw_the_dashboard_and_diagnose_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diagnose", *FEW, "--epochs", "2", "--quiet", "--out", str(tmp_path)]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert "After 2 epochs of full-batch gradient descent, η = 0.1:" in out
    for name in ("diagnosis.svg", "diagnosis_after_training.svg", "training.svg"):
        assert_svg(tmp_path / name)
    assert "guide 1e-3" in (tmp_path / "training.svg").read_text(encoding="utf-8")


def bad_files(tmp_path: Path) -> list[tuple[list[str], str]]:
    """(extra arguments, what the error line must say) for each bad input."""
    truncated = tmp_path / "truncated.npz"
    good = save_weights(TensorMLP([784, 5, 10], seed=0), tmp_path / "good.npz")
    truncated.write_bytes(good.read_bytes()[:100])
    text = tmp_path / "notes.npz"
    text.write_text("not weights")
    five = save_weights(TensorMLP([5, 3, 10], seed=0), tmp_path / "five.npz")
    three = save_weights(TensorMLP([784, 3, 3], seed=0), tmp_path / "three.npz")
    logits = save_weights(TensorMLP([784, 3, 10], output_activation="linear"), tmp_path / "l.npz")
    mismatched = tmp_path / "mismatched.npz"
    np.savez(mismatched, **{"L1.W": np.ones((3, 784)), "L1.b": np.zeros(3),
                            "L2.W": np.ones((10, 4)), "L2.b": np.zeros(10)})
    return [
        (["--weights", str(tmp_path / "absent.npz")], "absent.npz: no such file"),
        (["--weights", str(truncated)], "corrupt or unreadable .npz archive"),
        (["--weights", str(text)], "not an .npz archive"),
        (["--weights", str(mismatched)], "L2.W has shape (10, 4), so it takes 4 inputs"),
        (["--weights", str(five)], "takes 5 inputs but the images have 784 pixels"),
        (["--weights", str(three)], "has 3 outputs but there are 10 digits"),
        (["--weights", str(logits), "--cost", "cross_entropy"], "--cost cross_entropy:"),
        (["--activation", "gelu"], "invalid choice: 'gelu'"),
    ]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for extra, message in bad_files(tmp_path):
        out_dir = tmp_path / "out"
        status, _, err = run(["diagnose", *extra, *FEW, "--out", str(out_dir)], capsys)
        assert status == 2, (extra, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(ERROR_PREFIX), err
        assert message in lines[0], (message, lines[0])
        assert not out_dir.exists() and staging_leftovers(tmp_path) == []


def test_a_diverging_learning_rate_stops_training_with_the_epoch_and_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import warnings

    argv = ["diagnose", "--examples", "50", "--epochs", "3", "--lr", "1e308", "--quiet",
            "--out", str(tmp_path / "o")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, _, err = run(argv, capsys)
    assert [str(w.message) for w in caught] == []
    assert status == 2 and err.count("\n") == 1 and err.startswith(ERROR_PREFIX), err
    assert "diverged at epoch 1 of 3" in err and "--lr" in err
    assert not (tmp_path / "o").exists() and staging_leftovers(tmp_path) == []


def test_activations_apply_to_nielsens_network_without_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diagnose", "--activation", "relu", "--output-activation", "linear", *FEW,
            "--out", str(tmp_path / "o")]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert "relu hidden layers, linear output" in out
    assert "softmax_cross_entropy" in out  # auto: a linear output gives logits
    assert [r[2] for r in printed_rows(out)] == ["relu"] * 4 + ["linear"]
