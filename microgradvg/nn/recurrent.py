"""Recurrent layers with PyTorch's parameters: `RNN` (tanh or relu) and `LSTM`, one layer.

Input (T, B, input_size), parameters `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`,
`bias_hh_l0` with PyTorch's shapes and gate order (i, f, g, o). After a call,
`states` holds each step's hidden state h1 … hT as its own labelled graph node (and
the LSTM's `cells` c1 … cT), so chains and `flow_along` can follow the gradient through time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.functional import linear
from ..engine.tensor import ArrayLike, Tensor, stack
from .init import Seed, rng_from
from .tensor import Module, as_input, check_sizes

NONLINEARITIES = ("tanh", "relu")


class _Recurrent(Module):
    """The parameters and input checks both layers share; `gates` rows per hidden unit."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, seed: Seed, dtype: Any) -> None:
        name = type(self).__name__
        check_sizes(name, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        rng = rng_from(seed)
        bound = 1.0 / np.sqrt(hidden_size)  # PyTorch's U(−1/√H, 1/√H) for every parameter
        rows = self.gates * hidden_size

        def draw(shape: tuple[int, ...], label: str) -> Tensor:
            return Tensor(rng.uniform(-bound, bound, shape).astype(dtype), requires_grad=True, label=label)

        self.weight_ih_l0 = draw((rows, input_size), "W_ih")
        self.weight_hh_l0 = draw((rows, hidden_size), "W_hh")
        self.bias_ih_l0 = draw((rows,), "b_ih")
        self.bias_hh_l0 = draw((rows,), "b_hh")
        self.states: list[Tensor] = []

    def _steps(self, x: ArrayLike) -> Tensor:
        x = as_input(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[0] == 0:
            raise ValueError(
                f"{type(self).__name__}: input of shape {x.shape} does not fit; need (T, B, {self.input_size}) "
                "= (steps, batch, input_size) with at least one step"
            )
        return x

    def _initial(self, h0: ArrayLike | None, batch: int, dtype: Any, name: str) -> Tensor:
        """h0 (or c0) as (B, H); PyTorch's shape for it is (1, B, H), zeros when not given."""
        shape = (1, batch, self.hidden_size)
        if h0 is None:
            return Tensor._leaf(np.zeros(shape[1:], dtype=dtype))
        h0 = as_input(h0)
        if h0.shape != shape:
            raise ValueError(f"{type(self).__name__}: {name} has shape {h0.shape}; need {shape} = (1, batch, hidden_size)")
        return h0.reshape(shape[1:])


class RNN(_Recurrent):
    """hₜ = tanh(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh), PyTorch's `nn.RNN(input_size, hidden_size)`.

    `rnn(x, h0=None)` returns (output, h_T): output (T, B, H) stacks h1 … hT, h_T is (1, B, H).
    The gradient through time is a product of factors ∂hₜ/∂hₜ₋₁ = diag(tanh'(zₜ))·W_hh:
    it vanishes when they shrink and explodes when they grow (Pascanu et al. 2013).
    `nonlinearity="relu"` uses max(0, z) instead of tanh.
    """

    def __init__(
        self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", seed: Seed = None,
        dtype=np.float64,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; valid: {list(NONLINEARITIES)}")
        super().__init__(input_size, hidden_size, seed, dtype)
        self.nonlinearity = nonlinearity

    def __call__(self, x: ArrayLike, h0: ArrayLike | None = None) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        return self.forward(x, h0)

    def forward(self, x: ArrayLike, h0: ArrayLike | None = None) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        x = self._steps(x)
        steps, batch, _ = x.shape
        h = self._initial(h0, batch, x.dtype, "h0")
        w_ih, w_hh, b_ih, b_hh = self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0
        states = []
        for t in range(steps):
            z = linear(x[t], w_ih, b_ih) + linear(h, w_hh, b_hh)  # (B, H)
            h = z.tanh() if self.nonlinearity == "tanh" else z.relu()
            h.label = f"h{t + 1}"
            states.append(h)
        self.states = states
        return stack(states, axis=0), h.reshape(1, batch, self.hidden_size)

    def __repr__(self) -> str:
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return f"RNN({self.input_size}, {self.hidden_size}{extra})"


class LSTM(_Recurrent):
    """PyTorch's `nn.LSTM(input_size, hidden_size)`, gates i, f, g, o stacked in that order:

        (i, f, g, o) = (σ, σ, tanh, σ)(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh)
        cₜ = f ⊙ cₜ₋₁ + i ⊙ g,   hₜ = o ⊙ tanh(cₜ)

    `lstm(x, (h0, c0))` returns (output, (h_T, c_T)). The cell's path cₜ₋₁ → cₜ is
    additive with factor diag(f), no squashing slope and no weight matrix: with f near 1
    the gradient crosses many steps undiminished. `cells` holds c1 … cT.
    """

    gates = 4

    def __init__(self, input_size: int, hidden_size: int, seed: Seed = None, dtype=np.float64) -> None:
        super().__init__(input_size, hidden_size, seed, dtype)
        self.cells: list[Tensor] = []

    def __call__(  # type: ignore[override]
        self, x: ArrayLike, hx: tuple[ArrayLike, ArrayLike] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return self.forward(x, hx)

    def forward(  # type: ignore[override]
        self, x: ArrayLike, hx: tuple[ArrayLike, ArrayLike] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        x = self._steps(x)
        steps, batch, _ = x.shape
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a pair (h0, c0), each of shape (1, batch, hidden_size)")
        h = self._initial(None if hx is None else hx[0], batch, x.dtype, "h0")
        c = self._initial(None if hx is None else hx[1], batch, x.dtype, "c0")
        w_ih, w_hh, b_ih, b_hh = self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0
        n = self.hidden_size
        states, cells = [], []
        for t in range(steps):
            gates = linear(x[t], w_ih, b_ih) + linear(h, w_hh, b_hh)  # (B, 4H)
            squashed = gates.sigmoid()  # i, f and o are read from here, g from its own tanh
            i, f, o = squashed[:, :n], squashed[:, n:2 * n], squashed[:, 3 * n:]
            g = gates[:, 2 * n:3 * n].tanh()
            c = f * c + i * g
            c.label = f"c{t + 1}"
            h = o * c.tanh()
            h.label = f"h{t + 1}"
            states.append(h)
            cells.append(c)
        self.states, self.cells = states, cells
        last = (1, batch, n)
        return stack(states, axis=0), (h.reshape(last), c.reshape(last))

    def __repr__(self) -> str:
        return f"LSTM({self.input_size}, {self.hidden_size})"

