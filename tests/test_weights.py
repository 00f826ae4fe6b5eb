"""Tests for `save_weights` and `load_weights`: round trips through both engines, a PyTorch
state_dict by its names (and by PyTorch itself when installed), and every kind of bad file."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from microgradvg import Tensor, load_weights, save_weights
from microgradvg.data import DataError
from microgradvg.nn import MLP, Linear, ReLU, ScalarMLP, Sequential, TensorMLP, WeightsError


def forward_by_hand(pairs, hidden, output, x):
    """The MLP's output in numpy: relu, tanh or sigmoid between layers, `output` at the end."""
    functions = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "linear": lambda z: z,
                 "sigmoid": lambda z: 0.5 * (1 + np.tanh(z / 2))}
    for l, (w, b) in enumerate(pairs):
        x = functions[output if l == len(pairs) - 1 else hidden](x @ w.T + b)
    return x


def test_a_tensor_mlp_comes_back_with_its_weights_and_activations(tmp_path):
    model = TensorMLP([5, 4, 3], activation="tanh", output_activation="linear", seed=2)
    written = save_weights(model, tmp_path / "net")
    assert written.name == "net.npz"
    back = load_weights(written)
    assert back.sizes == [5, 4, 3]
    assert (back.activation, back.output_activation) == ("tanh", "linear")
    for a, b in zip(model.parameters(), back.parameters()):
        assert np.array_equal(a.data, b.data)
    with np.load(written) as archive:
        assert sorted(archive.files) == ["L1.W", "L1.b", "L2.W", "L2.b", "activations"]


def test_a_scalar_mlp_saves_the_same_numbers_a_tensor_mlp_computes_with(tmp_path):
    scalar = ScalarMLP(3, [4, 2], activation="relu", output_activation="sigmoid", seed=4)
    back = load_weights(save_weights(scalar, tmp_path / "scalar.npz"))
    x = [0.5, -1.0, 2.0]
    expected = [v.data for v in scalar(x)]
    assert np.allclose(back(Tensor([x])).data[0], expected, rtol=1e-14)


def test_a_pytorch_state_dict_by_its_names(tmp_path):
    rng = np.random.default_rng(0)
    pairs = [(rng.normal(size=(6, 4)), rng.normal(size=6)), (rng.normal(size=(3, 6)),
                                                             rng.normal(size=3))]
    path = tmp_path / "torch.npz"
    # nn.Sequential(Linear(4, 6), ReLU(), Linear(6, 3)): modules 0 and 2 hold the weights.
    np.savez(path, **{"0.weight": pairs[0][0].astype(np.float32), "0.bias": pairs[0][1],
                      "2.weight": pairs[1][0], "2.bias": pairs[1][1]})
    model = load_weights(path, activation="relu", output_activation="linear")
    assert model.sizes == [4, 6, 3]
    x = rng.normal(size=(5, 4))
    want = forward_by_hand([(pairs[0][0].astype(np.float32), pairs[0][1]), pairs[1]], "relu",
                           "linear", x)
    assert np.allclose(model(Tensor(x)).data, want, rtol=1e-12)
    assert load_weights(path).activation == "sigmoid"  # nothing stored, nothing named


def test_a_real_pytorch_sequential_loads_and_computes_the_same(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Tanh(), torch.nn.Linear(5, 5),
                              torch.nn.Tanh(), torch.nn.Linear(5, 2))
    np.savez(tmp_path / "sd.npz", **{k: v.numpy() for k, v in net.state_dict().items()})
    model = load_weights(tmp_path / "sd.npz", activation="tanh", output_activation="linear")
    x = np.random.default_rng(1).normal(size=(4, 7))
    with torch.no_grad():
        want = net(torch.tensor(x, dtype=torch.float32)).numpy()
    assert np.allclose(model(Tensor(x)).data, want, atol=1e-5)


def test_a_sequential_mlp_is_saved_as_the_mlp_it_is(tmp_path):
    sequential = Sequential(Linear(3, 5, seed=1), ReLU(), Linear(5, 2, seed=2))
    back = load_weights(save_weights(sequential, tmp_path / "seq.npz"))
    assert (back.sizes, back.activation, back.output_activation) == ([3, 5, 2], "relu", "linear")
    x = np.random.default_rng(2).normal(size=(4, 3))
    assert np.array_equal(back(Tensor(x)).data, sequential(Tensor(x)).data)


def test_arguments_override_the_stored_activations(tmp_path):
    path = save_weights(MLP([2, 3, 1], seed=0), tmp_path / "n.npz")
    model = load_weights(path, activation="relu")
    assert (model.activation, model.output_activation) == ("relu", "sigmoid")
    with pytest.raises(ValueError, match="load_weights: unknown activation 'gelu'"):
        load_weights(path, activation="gelu")


# ---- bad files: a WeightsError (a DataError) naming the file and what is wrong ---------------


def write(tmp_path, **arrays):
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    return path


W1, B1, W2, B2 = np.ones((3, 2)), np.zeros(3), np.ones((1, 3)), np.zeros(1)

BAD_ARRAYS = [
    ({"L1.W": W1, "L1.b": B1, "L2.W": np.ones((1, 4)), "L2.b": B2},
     r"L2\.W has shape \(1, 4\), so it takes 4 inputs, but L1\.W has 3 outputs"),
    ({"L1.W": W1, "L1.b": np.zeros(2)}, r"L1\.b has shape \(2,\) but L1\.W has shape \(3, 2\)"),
    ({"L1.W": W1, "L2.W": W2, "L2.b": B2}, r"missing L1\.b"),
    ({"L1.W": W1, "L1.b": B1, "L3.W": W2, "L3.b": B2}, r"numbered L1, L2, … without gaps, got L1, L3"),
    ({"L1.W": W1, "L1.b": B1, "2.weight": W2, "2.bias": B2}, r"mixes microgradvg's names"),
    ({"layer1": W1}, r"unexpected array name\(s\) layer1"),
    ({"L1.W": np.ones(3), "L1.b": B1}, r"L1\.W has shape \(3,\); need \(n_out, n_in\)"),
    ({"L1.W": np.array([[1.0, np.nan]]), "L1.b": np.zeros(1)}, r"L1\.W has non-finite values"),
    ({"0.weight": np.array([["a", "b"]]), "0.bias": np.zeros(1)}, r"0\.weight holds <U1, not numbers"),
    ({"L1.W": W1, "L1.b": B1, "activations": np.array(["relu", "relu"])},
     r"activations \['relu', 'relu'\] must name one activation per layer \(1\)"),
    ({}, r"no weight arrays"),
]


@pytest.mark.parametrize(("arrays", "message"), BAD_ARRAYS)
def test_mismatched_arrays_are_refused_by_name(tmp_path, arrays, message):
    path = write(tmp_path, **arrays)
    with pytest.raises(WeightsError, match=message) as caught:
        load_weights(path)
    assert str(caught.value).startswith(str(path))


def test_corrupt_and_missing_files_are_refused(tmp_path):
    good = save_weights(MLP([2, 3, 1], seed=0), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    text = tmp_path / "text.npz"
    text.write_text("L1.W = [[1, 2]]\n")
    damaged = tmp_path / "damaged.npz"  # a valid zip whose member is not an .npy array
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("L1.W.npy", b"\x93NUMPY garbage")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{"L1.W": np.array([object()]), "L1.b": B1})
    cases = [
        (tmp_path / "absent.npz", "no such file"),
        (tmp_path, "not a file"),
        (text, r"not an \.npz archive"),
        (truncated, r"corrupt or unreadable \.npz archive"),
        (damaged, r"corrupt or unreadable \.npz archive"),
        (pickled, r"corrupt or unreadable \.npz archive"),
    ]
    for path, message in cases:
        with pytest.raises(WeightsError, match=message) as caught:
            load_weights(path)
        assert str(caught.value).startswith(str(path)), path
        assert isinstance(caught.value, DataError)


def test_save_refuses_what_is_not_an_mlp(tmp_path):
    with pytest.raises(TypeError, match="save_weights: model must be a TensorMLP, a ScalarMLP or a"):
        save_weights(object(), tmp_path / "x.npz")  # type: ignore[arg-type]


def test_save_weights_refuses_a_directory(tmp_path) -> None:
    # numpy would write tmp_path + ".npz" beside the directory without a word.
    with pytest.raises(IsADirectoryError, match="save_weights: .* is a directory"):
        save_weights(TensorMLP([2, 3, 1], seed=0), tmp_path)
    assert not tmp_path.with_name(tmp_path.name + ".npz").exists()
