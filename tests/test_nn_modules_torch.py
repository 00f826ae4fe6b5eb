"""The PyTorch-shaped modules against PyTorch itself (skipped when torch is not installed).

Weights go across through state dicts, both ways; values and every gradient must agree
to rounding in float64, in training and in eval, for the same inputs and cotangent.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from microgradvg import Tensor
from microgradvg.nn import (
    LSTM,
    RNN,
    BatchNorm1d,
    LayerNorm,
    Linear,
    Module,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
)
from microgradvg.testing import arrays

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: threads only add start-up time on a shared machine
nn = torch.nn


def to_torch(state: dict[str, np.ndarray]) -> dict:
    return {name: torch.from_numpy(array) for name, array in state.items()}


def pair(ours: Module, theirs, direction: str) -> None:
    """Give both the same weights, copied the way `direction` names."""
    theirs.double()
    if direction == "torch→ours":
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(to_torch(ours.state_dict()))


def compare(ours: Module, theirs, x: np.ndarray, call=None, take=None) -> None:
    """Same output and same ∂(u·output)/∂(input, parameters) with one random cotangent u."""
    call = call or (lambda m, inp: m(inp))
    take = take or (lambda out: out)
    mine_x = Tensor(x, requires_grad=True)
    their_x = torch.tensor(x, requires_grad=True)
    out, expected = take(call(ours, mine_x)), take(call(theirs, their_x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = np.random.default_rng(1).standard_normal(out.shape)
    ours.zero_grad()
    theirs.zero_grad()
    out.backward(u)
    expected.backward(torch.from_numpy(u))
    np.testing.assert_allclose(mine_x.grad, their_x.grad.numpy(), rtol=1e-9, atol=1e-11)
    theirs_by_name = dict(theirs.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(
            parameter.grad, theirs_by_name[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name
        )


DIRECTIONS = st.sampled_from(["torch→ours", "ours→torch"])


@settings(max_examples=10)
@given(x=arrays((5, 4)), direction=DIRECTIONS, seed=st.integers(0, 99))
def test_a_residual_network_with_every_module_matches_torch_in_train_and_eval(x, direction, seed) -> None:
    # Examples that differ: a batch of equal rows would leave BatchNorm dividing rounding by √ε.
    assume((x.std(axis=0) > 0.3).all())
    torch.manual_seed(seed)
    ours = Sequential(
        Linear(4, 6, seed=seed), Tanh(),
        Residual(Sequential(Linear(6, 6, seed=seed + 1), LayerNorm(6), Sigmoid())),
        BatchNorm1d(6), ReLU(), Linear(6, 3, seed=seed + 2),
    )

    class TorchResidual(nn.Module):
        def __init__(self, block) -> None:
            super().__init__()
            self.block = block

        def forward(self, inp):
            return inp + self.block(inp)

    theirs = nn.Sequential(
        nn.Linear(4, 6), nn.Tanh(), TorchResidual(nn.Sequential(nn.Linear(6, 6), nn.LayerNorm(6), nn.Sigmoid())),
        nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3),
    )
    pair(ours, theirs, direction)
    for _ in range(2):  # two training batches move the running statistics
        compare(ours, theirs, x)
        x = x * 1.5 + 0.25
    for name, array in ours.state_dict().items():
        np.testing.assert_allclose(array, theirs.state_dict()[name].numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    compare(ours, theirs, x)


@settings(max_examples=10)
@given(x=arrays((4, 3, 2)), h0=arrays((1, 3, 5)), direction=DIRECTIONS,
       nonlinearity=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 99))
def test_rnn_matches_torch(x, h0, direction, nonlinearity, seed) -> None:
    torch.manual_seed(seed)
    ours, theirs = RNN(2, 5, nonlinearity=nonlinearity, seed=seed), nn.RNN(2, 5, nonlinearity=nonlinearity)
    pair(ours, theirs, direction)
    compare(ours, theirs, x, lambda m, inp: m(inp, torch.from_numpy(h0) if m is theirs else h0),
            lambda out: out[0])
    compare(ours, theirs, x, lambda m, inp: m(inp), lambda out: out[1])


@settings(max_examples=10)
@given(x=arrays((4, 3, 2)), h0=arrays((1, 3, 5)), c0=arrays((1, 3, 5)), direction=DIRECTIONS,
       seed=st.integers(0, 99))
def test_lstm_matches_torch(x, h0, c0, direction, seed) -> None:
    torch.manual_seed(seed)
    ours, theirs = LSTM(2, 5, seed=seed), nn.LSTM(2, 5)
    pair(ours, theirs, direction)

    def call(m, inp):
        return m(inp, (torch.from_numpy(h0), torch.from_numpy(c0)) if m is theirs else (h0, c0))

    compare(ours, theirs, x, call, lambda out: out[0])
    compare(ours, theirs, x, call, lambda out: out[1][1])  # c_T


def test_state_dict_keys_and_shapes_are_torchs() -> None:
    for ours, theirs in [
        (LSTM(3, 4), nn.LSTM(3, 4)),
        (RNN(3, 4), nn.RNN(3, 4)),
        (BatchNorm1d(4), nn.BatchNorm1d(4)),
        (LayerNorm(4), nn.LayerNorm(4)),
        (Sequential(Linear(3, 4), Tanh(), Linear(4, 1)), nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))),
    ]:
        mine = {name: array.shape for name, array in ours.state_dict().items()}
        assert mine == {name: tuple(t.shape) for name, t in theirs.state_dict().items()}
        theirs.load_state_dict(to_torch(ours.state_dict()))  # strict: every key matches
