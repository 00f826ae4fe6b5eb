"""An MLP's weights in an .npz file: microgradvg's own names, or a PyTorch `nn.Sequential`'s.

`save_weights(model, "net.npz")` writes `L1.W`, `L1.b`, … (Wˡ is (n_l, n_l−1), as Nielsen's)
and the activations; `load_weights("net.npz")` builds the `TensorMLP` back. A PyTorch
state_dict saved with `np.savez(path, **{k: v.numpy() for k, v in sd.items()})` (`0.weight`,
`0.bias`, `2.weight`, …) loads too, with the activation named by the caller; no PyTorch needed.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..data import DataError
from .activations import ACTIVATIONS
from .modules import ReLU, Sequential, Sigmoid, Tanh
from .scalar import ScalarMLP
from .tensor import Linear, Module, TensorMLP

OWN_NAME = re.compile(r"L([1-9][0-9]*)\.(W|b)")
TORCH_NAME = re.compile(r"([0-9]+)\.(weight|bias)")
ACTIVATIONS_KEY = "activations"  # saved by save_weights: one name per layer
# A Sequential of Linear layers, each followed by at most one of these, is an MLP.
ACTIVATION_MODULES: dict[type[Module], str] = {Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "relu"}
_NPZ_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile)


class WeightsError(DataError):
    """A weights file is missing, corrupt, or does not describe an MLP; the message names it."""


def as_mlp(model: object, caller: str = "as_mlp") -> TensorMLP | ScalarMLP:
    """The model as an MLP: a `TensorMLP` or `ScalarMLP` itself; a `Sequential` of `Linear`
    layers with activation modules (`Sigmoid`, `Tanh`, `ReLU`) between them, as a `TensorMLP`
    with copies of its weights. Every hidden layer must have the same activation; no module
    after the last Linear means a linear output. Anything else is a TypeError naming it.
    """
    if isinstance(model, (TensorMLP, ScalarMLP)):
        return model
    if not isinstance(model, Sequential):
        raise TypeError(
            f"{caller}: model must be a TensorMLP, a ScalarMLP or a Sequential of Linear layers "
            f"and activations, got {type(model).__name__}"
        )
    linears: list[Linear] = []
    after: list[str] = []  # the activation after each Linear ("linear" when none)
    for index, module in enumerate(model):
        if isinstance(module, Linear):
            linears.append(module)
            after.append("linear")
        elif type(module) in ACTIVATION_MODULES and linears and after[-1] == "linear":
            after[-1] = ACTIVATION_MODULES[type(module)]
        else:
            names = sorted(kind.__name__ for kind in ACTIVATION_MODULES)
            raise TypeError(
                f"{caller}: the Sequential's module {index} is {type(module).__name__}; an MLP is "
                f"Linear layers, each followed by at most one of {names}"
            )
    if not linears or len(set(after[:-1])) > 1:
        raise TypeError(
            f"{caller}: the Sequential needs at least one Linear layer and the same activation "
            f"after every hidden one, got {after}"
        )
    sizes = [linears[0].weight.shape[1]] + [linear.weight.shape[0] for linear in linears]
    mlp = TensorMLP(sizes, activation=after[0], output_activation=after[-1], init="xavier")
    for layer, linear in zip(mlp.layers, linears):
        layer.weight.data = linear.weight.data.copy()
        layer.bias.data = linear.bias.data.copy()
    return mlp


def save_weights(model: object, path: str | os.PathLike[str]) -> Path:
    """Write the model's Wˡ (n_l, n_l−1) and bˡ (n_l,) as `L1.W`, `L1.b`, … to an .npz file.

    `model` is a `TensorMLP`, a `ScalarMLP` or a `Sequential` MLP (see `as_mlp`). Also
    writes `activations`, one name per layer, so `load_weights(path)` needs no arguments.
    Returns the path written (numpy adds `.npz` when it is missing).
    """
    model = as_mlp(model, "save_weights")
    # flow.batch would read either model as arrays, but nn sits below flow: read them here.
    if isinstance(model, TensorMLP):
        pairs = [(layer.weight.data, layer.bias.data) for layer in model.layers]
        activations = [model.activation_of(l) for l in range(1, len(model.layers) + 1)]
    elif isinstance(model, ScalarMLP):
        pairs = [
            (np.array([[w.data for w in n.w] for n in layer.neurons]),
             np.array([n.b.data for n in layer.neurons]))
            for layer in model.layers
        ]
        activations = [layer.neurons[0].activation for layer in model.layers]
    arrays: dict[str, np.ndarray] = {ACTIVATIONS_KEY: np.array(activations)}
    for l, (weight, bias) in enumerate(pairs, start=1):
        arrays[f"L{l}.W"], arrays[f"L{l}.b"] = weight, bias
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"save_weights: {path} is a directory; give a file name such as {path / 'weights.npz'}")
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub reads ** as allow_pickle
    return path


def load_weights(
    path: str | os.PathLike[str],
    activation: str | None = None,
    output_activation: str | None = None,
) -> TensorMLP:
    """A `TensorMLP` with the weights in the .npz file `path`; layer sizes come from the shapes.

    Names `L1.W`, `L1.b`, … (microgradvg's) or `0.weight`, `0.bias`, `2.weight`, … (a
    PyTorch `nn.Sequential` state_dict: numbered modules, the activations between them
    holding no weights). Hidden layers use `activation` and the last `output_activation`;
    when not given they come from the file's `activations` (written by `save_weights`),
    else hidden layers are sigmoid and the output the same as the hidden layers. For a
    PyTorch network whose output is logits, pass `output_activation="linear"`.
    Raises `WeightsError` (a `DataError`) naming the file and what is wrong with it.
    """
    path = Path(path)
    arrays = _read(path)
    stored = arrays.pop(ACTIVATIONS_KEY, None)
    layers = _layers(path, arrays)
    hidden, output = _activations(path, stored, len(layers), activation, output_activation)
    sizes = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    model = TensorMLP(sizes, activation=hidden, output_activation=output, init="xavier")
    for layer, (weight, bias) in zip(model.layers, layers):
        layer.weight.data = weight
        layer.bias.data = bias
    return model


def _read(path: Path) -> dict[str, np.ndarray]:
    """Every array in the .npz file, or a WeightsError saying why not."""
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if not path.is_file():
        raise WeightsError(f"{path}: not a file")
    try:
        with open(path, "rb") as file:
            if file.read(2) != b"PK":
                raise WeightsError(f"{path}: not an .npz archive (an .npz file is a zip file)")
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except WeightsError:
        raise
    except _NPZ_ERRORS as error:
        raise WeightsError(f"{path}: corrupt or unreadable .npz archive ({error})") from None


def _layers(path: Path, arrays: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(Wˡ, bˡ) for l = 1..L from either naming scheme, with every shape checked."""
    if not arrays:
        raise WeightsError(f"{path}: no weight arrays in the file")
    own = {n: OWN_NAME.fullmatch(n) for n in arrays}
    torch = {n: TORCH_NAME.fullmatch(n) for n in arrays}
    if all(own.values()):
        found = {(int(m[1]), m[2] == "W"): arrays[n] for n, m in own.items() if m}
        indices = sorted({i for i, _ in found})
        if indices != list(range(1, len(indices) + 1)):
            raise WeightsError(f"{path}: layers must be numbered L1, L2, … without gaps, got "
                               f"{', '.join(f'L{i}' for i in indices)}")
        names = {(i, True): f"L{i}.W" for i in indices} | {(i, False): f"L{i}.b" for i in indices}
    elif all(torch.values()):
        found = {(int(m[1]), m[2] == "weight"): arrays[n] for n, m in torch.items() if m}
        indices = sorted({i for i, _ in found})
        names = {(i, True): f"{i}.weight" for i in indices}
        names |= {(i, False): f"{i}.bias" for i in indices}
    else:
        strange = [n for n in arrays if not own[n] and not torch[n]]
        problem = (f"unexpected array name(s) {', '.join(sorted(strange))}" if strange
                   else "mixes microgradvg's names (L1.W) with PyTorch's (0.weight)")
        raise WeightsError(
            f"{path}: {problem}; expected L1.W, L1.b, L2.W, … or a PyTorch nn.Sequential "
            "state_dict (0.weight, 0.bias, 2.weight, …)"
        )
    missing = [names[key] for key in names if key not in found]
    if missing:
        raise WeightsError(f"{path}: missing {', '.join(missing)}")
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    for i in indices:
        weight, bias = found[(i, True)], found[(i, False)]
        w_name, b_name = names[(i, True)], names[(i, False)]
        for name, array in ((w_name, weight), (b_name, bias)):
            if array.dtype.kind not in "fiu":
                raise WeightsError(f"{path}: {name} holds {array.dtype}, not numbers")
            if not np.all(np.isfinite(array)):
                raise WeightsError(f"{path}: {name} has non-finite values (inf or nan)")
        if weight.ndim != 2 or 0 in weight.shape:
            raise WeightsError(f"{path}: {w_name} has shape {weight.shape}; need (n_out, n_in)")
        if bias.shape != (weight.shape[0],):
            raise WeightsError(f"{path}: {b_name} has shape {bias.shape} but {w_name} has "
                               f"shape {weight.shape}; need ({weight.shape[0]},)")
        if layers and weight.shape[1] != layers[-1][0].shape[0]:
            before = names[(indices[len(layers) - 1], True)]
            raise WeightsError(
                f"{path}: {w_name} has shape {weight.shape}, so it takes {weight.shape[1]} inputs, "
                f"but {before} has {layers[-1][0].shape[0]} outputs"
            )
        layers.append((weight.astype(np.float64), bias.astype(np.float64)))
    return layers


def _activations(
    path: Path, stored: np.ndarray | None, count: int, hidden: str | None, output: str | None
) -> tuple[str, str]:
    """The hidden and output activations: the caller's, else the file's, else sigmoid."""
    names: list[str] = []
    if stored is not None:
        names = [str(name) for name in np.atleast_1d(stored)]
        if len(names) != count or not set(names) <= set(ACTIVATIONS) or len(set(names[:-1])) > 1:
            raise WeightsError(
                f"{path}: {ACTIVATIONS_KEY} {names} must name one activation per layer ({count}), "
                f"from {list(ACTIVATIONS)}, the same for every hidden layer"
            )
    for given in (hidden, output):
        if given is not None and given not in ACTIVATIONS:
            raise ValueError(f"load_weights: unknown activation {given!r}; valid: {list(ACTIVATIONS)}")
    hidden = hidden or (names[0] if names else "sigmoid")
    output = output or (names[-1] if names else hidden)
    return hidden, output


__all__ = ["WeightsError", "as_mlp", "load_weights", "save_weights"]
