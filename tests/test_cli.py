"""Tests for the `microgradvg` command, run end to end: in-process through `main([...])` and
once as `python -m microgradvg`. Printed speeds are checked against Nielsen's equations
BP1–BP4 written out in numpy here, SVGs are parsed as XML, and every bad input must give
exit status 2, one stderr line and an untouched `--out`."""

from __future__ import annotations

import io
import itertools
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

import microgradvg
from microgradvg.cli import build_parser, main, with_default_command
from microgradvg.cli.options import COMMANDS

EMBEDDED = Path(microgradvg.__file__).parent / "datasets" / "mnist_1k.npz"
SMALL = ["--sizes", "784,10,10,10", "--examples", "100", "--seeds", "2"]
ERROR_PREFIX = "microgradvg: error:"


# ---- an independent computation: Nielsen's network and backprop in plain numpy ---------------


def embedded_digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` embedded images (count, 784) in [0, 1] and one-hot labels (count, 10)."""
    with np.load(EMBEDDED) as archive:
        images = archive["images"][:count].reshape(count, 784) / 255.0
        labels = archive["labels"][:count].astype(int)
    return images, np.eye(10)[labels]


def nielsen_network(sizes: list[int], seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Nielsen's default initialisation, drawn layer by layer from one generator:
    W ~ N(0, 1)/√n_in of shape (n_out, n_in), then b ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in itertools.pairwise(sizes):
        weights.append(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in))
        biases.append(rng.standard_normal(n_out))
    return weights, biases


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def backprop(
    weights: list[np.ndarray], biases: list[np.ndarray], x: np.ndarray, y: np.ndarray, cost: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(∂C/∂bˡ, ∂C/∂Wˡ) for C the mean cost over the rows of x, by BP1–BP4."""
    activations, zs = [x], []
    for w, b in zip(weights, biases):
        zs.append(activations[-1] @ w.T + b)  # (N, n_out)
        activations.append(sigmoid(zs[-1]))
    output = activations[-1]
    # BP1: δᴸ = ∇ₐC ⊙ σ'(zᴸ); for the cross-entropy the σ'(zᴸ) cancels: δᴸ = aᴸ − y.
    delta = output - y if cost == "cross_entropy" else (output - y) * output * (1 - output)
    grad_b, grad_w = [None] * len(weights), [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        grad_b[layer] = delta.mean(axis=0)  # BP3: ∂C/∂bˡ = δˡ (averaged over examples)
        grad_w[layer] = delta.T @ activations[layer] / len(x)  # BP4: ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ
        if layer:
            a = activations[layer]
            delta = (delta @ weights[layer]) * a * (1 - a)  # BP2: δˡ = (Wˡ⁺¹)ᵀδˡ⁺¹ ⊙ σ'(zˡ)
    return grad_b, grad_w


def numpy_speeds(sizes: list[int], seed: int, count: int, cost: str = "cross_entropy") -> np.ndarray:
    """‖∂C/∂bˡ‖ for every hidden layer of Nielsen's network from `seed`, at initialisation."""
    x, y = embedded_digits(count)
    weights, biases = nielsen_network(sizes, seed)
    grad_b, _ = backprop(weights, biases, x, y, cost)
    return np.array([np.linalg.norm(g) for g in grad_b[:-1]])


# ---- helpers -------------------------------------------------------------------------


def printed_table(stdout: str, first_header: str = "hidden layer") -> list[list[float]]:
    """The numeric rows of the first table whose header starts with `first_header`."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(first_header))
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append([float(cell) if cell != "–" else float("nan") for cell in line.split()])
    return rows


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_svg(path: Path) -> None:
    assert path.is_file(), path
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg"), root.tag


def staging_leftovers(directory: Path) -> list[Path]:
    return list(directory.glob(".microgradvg-*"))


# ---- vanishing: the numbers ----------------------------------------------------------------


def test_printed_speeds_equal_numpy_backprop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["vanishing", *SMALL, "--seed", "3", "--out", str(tmp_path / "out")], capsys)
    assert status == 0, err
    rows = np.array(printed_table(out))  # layer, neurons, this seed, median, book
    per_seed = np.array([numpy_speeds([784, 10, 10, 10], seed, 100) for seed in (3, 4)])
    assert rows[:, 0].tolist() == [1, 2]
    assert rows[:, 1].tolist() == [10, 10]
    np.testing.assert_allclose(rows[:, 2], per_seed[0], rtol=1e-3)
    np.testing.assert_allclose(rows[:, 3], np.median(per_seed, axis=0), rtol=1e-3)
    assert np.isnan(rows[:, 4]).all()  # the book has no values for this network


def test_quadratic_cost_speeds_equal_numpy_backprop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["vanishing", *SMALL, "--seeds", "1", "--cost", "quadratic", "--out", str(tmp_path)]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    rows = np.array(printed_table(out))
    np.testing.assert_allclose(rows[:, 2], numpy_speeds([784, 10, 10, 10], 0, 100, "quadratic"), rtol=1e-3)


def test_default_run_is_nielsens_network_next_to_the_book(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = run([], capsys)  # no command: vanishing, 1,000 images, 5 seeds, --out out
    assert status == 0, err
    rows = np.array(printed_table(out))
    sizes = [784, 30, 30, 30, 30, 10]
    per_seed = np.array([numpy_speeds(sizes, seed, 1000) for seed in range(5)])
    np.testing.assert_allclose(rows[:, 2], per_seed[0], rtol=1e-3)
    np.testing.assert_allclose(rows[:, 3], np.median(per_seed, axis=0), rtol=1e-3)
    assert rows[:, 4].tolist() == [0.003, 0.017, 0.070, 0.285]
    # The book's point, reproduced: each layer back learns several times more slowly.
    assert (np.diff(rows[:, 3]) > 0).all() and rows[-1, 3] / rows[0, 3] > 20
    assert "more slowly than hidden layer 4, the last hidden layer" in " ".join(out.split())
    assert_svg(tmp_path / "out" / "layer_flow.svg")
    assert_svg(tmp_path / "out" / "chain_b1.svg")
    assert staging_leftovers(tmp_path) == []


def test_book_values_for_two_hidden_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--sizes", "784,30,30,10", "--examples", "100", "--seeds", "1", "--out", str(tmp_path)]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert np.array(printed_table(out))[:, 4].tolist() == [0.07, 0.31]


def test_relu_and_he_remedy_the_vanishing_gradient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--activation", "relu", "--init", "he", "--examples", "200", "--seeds", "3", "--out", str(tmp_path)]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    medians = np.array(printed_table(out))[:, 3]
    assert medians[-1] / medians[0] < 5  # against ~90× for sigmoid


# ---- vanishing: the files ----------------------------------------------------------------


def test_writes_svgs_that_parse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "nested" / "out"
    status, out, err = run(["vanishing", *SMALL, "--out", str(out_dir)], capsys)
    assert status == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["chain_b1.svg", "layer_flow.svg"]
    for path in out_dir.iterdir():
        assert_svg(path)
        assert f"wrote {path}" in out
    assert staging_leftovers(tmp_path) == [] and staging_leftovers(tmp_path / "nested") == []


def test_epochs_train_like_numpy_gradient_descent_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["vanishing", *SMALL, "--epochs", "2", "--lr", "0.5", "--quiet", "--out", str(tmp_path)]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert err == ""  # --quiet and not a tty: no progress bar
    assert_svg(tmp_path / "speed_during_training.svg")
    svg_text = (tmp_path / "speed_during_training.svg").read_text()
    assert "hidden layer 1" in svg_text and "epoch" in svg_text
    # Two full-batch steps w ← w − η∂C/∂w with BP3/BP4 gradients, then BP1–BP3 for the speeds.
    x, y = embedded_digits(100)
    weights, biases = nielsen_network([784, 10, 10, 10], 0)
    speeds = []
    for _ in range(3):
        grad_b, grad_w = backprop(weights, biases, x, y, "cross_entropy")
        speeds.append([np.linalg.norm(g) for g in grad_b[:-1]])
        weights = [w - 0.5 * g for w, g in zip(weights, grad_w)]
        biases = [b - 0.5 * g for b, g in zip(biases, grad_b)]
    rows = np.array(printed_table(out[out.index("Speed of learning during"):]))  # layer, epoch 0, epoch 2
    np.testing.assert_allclose(rows[:, 1], speeds[0], rtol=1e-3)
    np.testing.assert_allclose(rows[:, 2], speeds[2], rtol=1e-3)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_bar_only_on_a_terminal_and_not_quiet(
    quiet: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = [*SMALL, "--seeds", "1", "--epochs", "2", "--out", str(tmp_path), *(["--quiet"] if quiet else [])]
    assert main(argv) == 0
    assert ("training:" in terminal.getvalue()) != quiet  # the bar is drawn at 0% at least


def test_failure_after_some_files_leaves_out_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import microgradvg.render.plots

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(microgradvg.render.plots, "plot_speeds_during_training", disk_full)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "layer_flow.svg").write_text("<svg>old</svg>")
    status, _, err = run(["vanishing", *SMALL, "--epochs", "1", "--out", str(out_dir)], capsys)
    assert status == 1
    assert err.count("\n") == 1 and err.startswith(ERROR_PREFIX) and "No space left" in err
    assert [p.name for p in out_dir.iterdir()] == ["layer_flow.svg"]
    assert (out_dir / "layer_flow.svg").read_text() == "<svg>old</svg>"
    assert staging_leftovers(tmp_path) == []


def test_missing_graphviz_is_one_line_and_no_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import microgradvg.render

    def no_dot(*args: object, **kwargs: object) -> None:
        raise microgradvg.render.GraphvizNotFound("Graphviz's dot is not on PATH; install graphviz")

    monkeypatch.setattr(microgradvg.render, "save_svg", no_dot)
    status, _, err = run([*SMALL, "--out", str(tmp_path / "out")], capsys)
    assert status == 1
    assert err == f"{ERROR_PREFIX} Graphviz's dot is not on PATH; install graphviz\n"
    assert os.listdir(tmp_path) == []


def test_a_directory_in_the_way_of_a_file_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "layer_flow.svg").mkdir()
    status, _, err = run([*SMALL, "--out", str(tmp_path)], capsys)
    assert status == 2 and err.startswith(ERROR_PREFIX) and "is a directory" in err
    assert os.listdir(tmp_path) == ["layer_flow.svg"]


# ---- bad input ---------------------------------------------------------------------------


def junk_file(directory: Path, name: str) -> str:
    path = directory / name
    path.write_bytes(bytes(range(256)) * 3)
    return str(path)


BAD_INPUTS = {
    "sizes with no hidden layer": ["--sizes", "784"],
    "sizes not matching the 784 pixels": ["--sizes", "10,30,10"],
    "sizes not ending in 10 digits": ["--sizes", "784,30,7"],
    "sizes not numbers": ["--sizes", "784,thirty,10"],
    "a zero-width layer": ["--sizes", "784,0,10"],
    "too many weights": ["--sizes", "784,100000,100000,10"],
    "unknown activation": ["--activation", "softplus"],
    "unknown init": ["--init", "uniform"],
    "unknown cost": ["--cost", "hinge"],
    "zero examples": ["--examples", "0"],
    "negative examples": ["--examples", "-5"],
    "more examples than embedded": ["--examples", "1001"],
    "more seeds than the budget": ["--seeds", "101"],
    "more epochs than the budget": ["--epochs", "10001"],
    "zero epochs": ["--epochs", "0"],
    "zero seeds": ["--seeds", "0"],
    "negative seed": ["--seed", "-1"],
    "negative learning rate": ["--lr", "-0.1"],
    "learning rate not a number": ["--lr", "nan"],
    "unknown option": ["--colour", "red"],
    "unknown command": ["vanish"],
    "missing data file": ["--data", "no/such/mnist.pkl.gz"],
    "unrecognised data file name": ["--data", "digits.csv"],
    "exploding with no layers": ["exploding", "--layers", "0"],
    "exploding with more layers than the budget": ["exploding", "--layers", "100001"],
    "exploding with infinite weight": ["exploding", "--weight", "inf"],
}


@pytest.mark.parametrize("argv", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_with_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if argv[0] != "exploding":
        argv = [*argv, "--examples", "10"] if "--examples" not in argv else argv
    status, _, err = run([*argv, "--out", "out"], capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(ERROR_PREFIX), err
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == []  # neither out/ nor a staging directory


@pytest.mark.parametrize("name", ["mnist.npz", "mnist.pkl.gz", "train-images-idx3-ubyte"])
def test_corrupt_data_file_exits_2(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = junk_file(tmp_path, name)
    if name.endswith("idx3-ubyte"):
        junk_file(tmp_path, "train-labels-idx1-ubyte")
    status, _, err = run(["--data", data, "--examples", "10", "--out", str(tmp_path / "out")], capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(ERROR_PREFIX) and data in err
    assert not (tmp_path / "out").exists() and staging_leftovers(tmp_path) == []


def test_data_file_with_too_few_images_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiny.npz"
    with np.load(EMBEDDED) as archive:
        np.savez(path, images=archive["images"][:20], labels=archive["labels"][:20])
    status, _, err = run(["--data", str(path), "--examples", "21", "--out", str(tmp_path / "o")], capsys)
    assert status == 2 and "only 20 images" in err


def test_data_file_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Digits given with --data (here the embedded ones, reversed) change the numbers."""
    path = tmp_path / "reversed.npz"
    with np.load(EMBEDDED) as archive:
        np.savez(path, images=archive["images"][::-1], labels=archive["labels"][::-1])
    argv = ["--data", str(path), "--sizes", "784,10,10,10", "--examples", "1000", "--seeds", "1"]
    status, out, err = run([*argv, "--out", str(tmp_path / "o")], capsys)
    assert status == 0, err
    # The mean over all 1,000 images does not depend on their order.
    np.testing.assert_allclose(
        np.array(printed_table(out))[:, 2], numpy_speeds([784, 10, 10, 10], 0, 1000), rtol=1e-3
    )


def test_out_in_a_read_only_parent_stages_inside_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from microgradvg.cli import staging

    make_directory = staging.tempfile.mkdtemp

    def read_only_parent(prefix: str, dir: Path) -> str:
        if Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return make_directory(prefix=prefix, dir=dir)

    monkeypatch.setattr(staging.tempfile, "mkdtemp", read_only_parent)
    (tmp_path / "out").mkdir()
    status, _, err = run([*SMALL, "--out", str(tmp_path / "out")], capsys)
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / "out")) == ["chain_b1.svg", "layer_flow.svg"]
    status, _, err = run([*SMALL, "--out", str(tmp_path / "new")], capsys)
    assert status == 2 and "cannot write in" in err and "Permission denied" in err


def test_out_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a directory")
    status, _, err = run([*SMALL, "--out", str(blocker)], capsys)
    assert status == 2 and err.startswith(ERROR_PREFIX) and "not a directory" in err
    assert blocker.read_text() == "not a directory" and staging_leftovers(tmp_path) == []


def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make loading the digits, the first piece of work, fail the run (exit 1)."""
    from microgradvg.cli import commands

    def load_examples(*args: object) -> None:
        raise AssertionError("the work started before --out was checked")

    monkeypatch.setattr(commands, "load_examples", load_examples)


def assert_one_error_line(status: int, err: str, *fragments: str) -> None:
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith(ERROR_PREFIX), err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_out_exits_2_instead_of_writing_here(
    out: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    no_work(monkeypatch)
    status, _, err = run([*SMALL, "--out", out], capsys)
    assert_one_error_line(status, err, "--out", "directory name")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("inside", ["{}", "x/{}/y"], ids=["last name", "a middle name"])
def test_an_out_name_too_long_exits_2_before_any_work(
    inside: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    no_work(monkeypatch)
    out = tmp_path / inside.format("d" * 300)
    status, _, err = run([*SMALL, "--out", str(out)], capsys)
    assert_one_error_line(status, err, "File name too long")
    assert os.listdir(tmp_path) == []


def test_an_unwritable_out_exits_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tests may run as root, whom permission bits do not stop: refuse writes in DIR.
    from microgradvg.cli import staging

    make_directory = staging.tempfile.mkdtemp
    locked = tmp_path / "locked"
    locked.mkdir()

    def unwritable(prefix: str = "", dir: Path | None = None) -> str:
        if dir is not None and Path(dir) == locked:
            raise PermissionError(13, "Permission denied")
        return make_directory(prefix=prefix, dir=dir)

    monkeypatch.setattr(staging.tempfile, "mkdtemp", unwritable)
    no_work(monkeypatch)
    status, _, err = run([*SMALL, "--out", str(locked)], capsys)
    assert_one_error_line(status, err, "Permission denied", str(locked))
    assert os.listdir(tmp_path) == ["locked"] and os.listdir(locked) == []


def test_a_diverging_learning_rate_stops_with_the_epoch_and_no_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*SMALL, "--seeds", "1", "--epochs", "3", "--lr", "1e308", "--quiet", "--out", str(tmp_path / "o")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, _, err = run(argv, capsys)
    assert [str(w.message) for w in caught] == []
    assert_one_error_line(status, err, "diverged at epoch 1 of 3", "--lr")
    assert not (tmp_path / "o").exists() and staging_leftovers(tmp_path) == []


def test_a_data_file_smaller_than_the_default_examples_uses_all_its_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "small.npz"
    with np.load(EMBEDDED) as archive:
        np.savez(path, images=archive["images"][:50], labels=archive["labels"][:50])
    argv = ["--data", str(path), "--sizes", "784,10,10,10", "--seeds", "1", "--out", str(tmp_path / "o")]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    assert "averaged over 50 images" in out
    np.testing.assert_allclose(
        np.array(printed_table(out))[:, 2], numpy_speeds([784, 10, 10, 10], 0, 50), rtol=1e-3
    )


@pytest.mark.parametrize("given, slope", [("ReLU", "relu'(zˡ)"), ("TANH", "tanh'(zˡ)"), ("Sigmoid", "σ'(zˡ)")])
def test_activation_in_any_case_and_the_text_names_its_slope(
    given: str, slope: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run([*SMALL, "--seeds", "1", "--activation", given, "--out", str(tmp_path)], capsys)
    assert status == 0, err
    assert f"each layer back is a {slope} and a W factor" in out
    assert f"{given.lower()} hidden layers" in out


# ---- help ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command, options",
    [
        (None, ["vanishing", "exploding", "diagnose"]),
        ("vanishing", ["--sizes", "--activation", "--init", "--cost", "--seed", "--seeds",
                       "--examples", "--data", "--epochs", "--lr", "--out", "--quiet"]),
        ("exploding", ["--layers", "--weight", "--out"]),
        ("diagnose", ["--weights", "--activation", "--output-activation", "--cost", "--data",
                      "--examples", "--lr", "--seed", "--epochs", "--out", "--quiet"]),
    ],
)
def test_help_documents_every_option_with_examples(
    command: str | None, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run([command, "--help"] if command else ["--help"], capsys)
    assert status == 0
    for option in options:
        assert option in out
    assert "examples:" in out and "microgradvg" in out.split("examples:")[1]


def test_every_example_in_the_help_parses(capsys: pytest.CaptureFixture[str]) -> None:
    examples = []
    for command in ([], *([name] for name in COMMANDS)):
        assert main([*command, "--help"]) == 0
        help_text = capsys.readouterr().out
        examples += [line.strip() for line in help_text.split("examples:")[1].splitlines()
                     if line.strip().startswith("microgradvg")]
    assert len(examples) >= 8
    for example in examples:
        options = build_parser().parse_args(with_default_command(shlex.split(example)[1:]))
        assert options.command in COMMANDS, example


# ---- exploding ---------------------------------------------------------------------------


def test_exploding_prints_factors_of_25(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["exploding", "--out", str(tmp_path)], capsys)
    assert status == 0, err
    # ∂C/∂b¹ = σ'(z¹)·w²σ'(z²)·w³σ'(z³)·w⁴σ'(z⁴)·∂C/∂a⁴ = ¼·25·25·25·½, z = 0 everywhere.
    assert "∂C/∂b¹ = 1953.12" in out
    assert "w·σ'(z) = 25" in out
    assert_svg(tmp_path / "exploding_chain.svg")


def test_exploding_with_small_weights_vanishes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["exploding", "--layers", "3", "--weight", "1", "--out", str(tmp_path)], capsys)
    assert status == 0, err
    assert f"∂C/∂b¹ = {0.25 * 0.25**2 * 0.5:.6g}" in out


# ---- as a program ------------------------------------------------------------------------


def test_python_m_microgradvg(tmp_path: Path) -> None:
    """`python -m microgradvg` runs the same command, in a fresh process."""
    command = [sys.executable, "-m", "microgradvg", *SMALL, "--out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    rows = np.array(printed_table(done.stdout))
    np.testing.assert_allclose(rows[:, 2], numpy_speeds([784, 10, 10, 10], 0, 100), rtol=1e-3)
    assert_svg(tmp_path / "out" / "layer_flow.svg")

    bad = subprocess.run(
        [*command[:3], "--sizes", "784"], capture_output=True, text=True, timeout=120, check=False
    )
    assert bad.returncode == 2
    assert re.fullmatch(f"{ERROR_PREFIX} .*\n", bad.stderr), bad.stderr


def test_closed_stdout_still_writes_the_files(tmp_path: Path) -> None:
    """`microgradvg | head -1`: the reader goes away, the run still finishes quietly."""
    command = [sys.executable, "-m", "microgradvg", *SMALL, "--out", str(tmp_path / "out")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # long before the child has imported numpy and printed anything
    status = process.wait(timeout=120)
    assert process.stderr.read() == b""
    process.stderr.close()
    assert status == 0
    assert_svg(tmp_path / "out" / "chain_b1.svg")
