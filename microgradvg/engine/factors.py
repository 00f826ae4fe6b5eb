"""The chain-rule factor on one edge, for either engine, built on demand.

A factor stands for the Jacobian ∂child/∂parent: it applies the vector–Jacobian product,
forms the explicit Jacobian (for small shapes), gives its norm, and reports its gain on the
gradient of the last backward pass. `ScalarFactor` is a Value edge's local derivative, a
float with these methods; `TensorFactor` applies a Tensor op's rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .backprop import pull_arrays_with

MAX_FACTOR_JACOBIAN_ENTRIES = 4_000_000


class ScalarFactor(float):
    """∂child/∂parent on a Value edge: the float in `child.local_derivatives`."""

    __slots__ = ()
    shape = (1, 1)

    def vjp(self, g: float) -> float:
        """g ↦ g·∂child/∂parent."""
        return self * g

    def jacobian(self) -> np.ndarray:
        """The 1×1 Jacobian."""
        return np.array([[float(self)]])

    def norm(self) -> float:
        """|∂child/∂parent|."""
        return abs(float(self))

    @property
    def gain(self) -> float:
        """|∂child/∂parent|: a scalar edge scales any gradient by its size."""
        return abs(float(self))


class TensorFactor:
    """∂child/∂parent for the edge from `child.parents[index]` to `child`."""

    def __init__(self, child: Any, index: int) -> None:
        self.child = child
        self.index = index
        self.parent = child.parents[index]
        self.op = child.op

    @property
    def shape(self) -> tuple[int, int]:
        """The Jacobian's shape: (child elements, parent elements)."""
        return (self.child.data.size, self.parent.data.size)

    def vjp(self, g: Any) -> np.ndarray:
        """g ↦ g·J: the part of ∂/∂parent that flows through this edge, for child gradient g."""
        child = self.child
        g = np.asarray(g, dtype=child.data.dtype).reshape(child.shape)
        needs = [i == self.index for i in range(len(child.parents))]
        return pull_arrays_with(child, g, needs)[self.index]

    def jacobian(self) -> np.ndarray:
        """The explicit matrix J[i, j] = ∂childᵢ/∂parentⱼ (flattened), for small shapes."""
        rows, columns = self.shape
        if rows * columns > MAX_FACTOR_JACOBIAN_ENTRIES:
            raise ValueError(
                f"jacobian: the {self.op} factor is {rows}×{columns}, over the "
                f"{MAX_FACTOR_JACOBIAN_ENTRIES:,}-entry limit; use vjp() instead"
            )
        basis = np.eye(rows, dtype=self.child.data.dtype)
        return np.stack([np.asarray(self.vjp(row)).reshape(-1) for row in basis]) if rows else np.zeros(self.shape)

    def norm(self) -> float:
        """The Frobenius norm ‖J‖: exact when J fits in memory, else a 64-probe estimate."""
        rows, columns = self.shape
        if rows * columns <= MAX_FACTOR_JACOBIAN_ENTRIES:
            return float(np.linalg.norm(self.jacobian()))
        rng = np.random.default_rng(0)  # E‖uᵀJ‖² = ‖J‖² for u ~ N(0, I); seeded so pictures are stable
        probes = [np.sum(np.square(self.vjp(rng.standard_normal(rows)))) for _ in range(64)]
        return float(np.sqrt(np.mean(probes)))

    @property
    def gain(self) -> float | None:
        """‖gradient out‖ / ‖gradient in‖ on this edge in the last backward pass (None before
        one, or when it left graphs, under create_graph)."""
        g = self.child.grad
        if not isinstance(g, (np.ndarray, np.generic)):
            return None
        size_in = float(np.linalg.norm(g))
        if size_in == 0.0:
            return 0.0
        return float(np.linalg.norm(self.vjp(g))) / size_in

    def __repr__(self) -> str:
        return f"TensorFactor({self.op}: {self.parent.shape} → {self.child.shape})"
