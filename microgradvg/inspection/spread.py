"""How a gradient is assembled from many paths, and how it spreads over many weights.

`spread(output, wrt)` counts the paths into a node, sums their positive and their
negative products (by dynamic programming, not enumeration) and measures how much they
cancel; `weight_share(layer)` measures how concentrated a layer's gradient is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from ..engine.value import Value
from ..formatting import count, html_table, percent, significant
from .chain import Chain, chain


@dataclass(frozen=True)
class Spread:
    """How ∂output/∂wrt = Σ over paths p of p is made up.

    `positive` = Σ of the positive path products, `negative` = Σ of the negative ones
    (≤ 0), `magnitude` = Σ|p| = positive − negative, and `cancellation_ratio` =
    |Σp| / Σ|p|: 1 when every path pulls the same way, near 0 when they cancel.
    `top_sum` is the sum of the `top` largest |p|, and `top_share` = Σ_top |p| / Σ|p|
    the share of the magnitude they carry. For a Tensor wrt each (path, element) is
    one contribution: `total` and `top_sum` are arrays, the rest sum over elements.
    `chain` is the Chain it was measured on (for `plot_spread`, which draws its paths).
    """

    name: str
    num_paths: int
    total: Any
    positive: float
    negative: float
    magnitude: float
    cancellation_ratio: float
    top: int
    top_sum: Any
    top_share: float
    chain: Chain | None = field(default=None, repr=False, compare=False)  # for its paths

    def __str__(self) -> str:
        rows, top = self._cells()
        return "\n".join(
            [f"spread of {self.name}", *(f"  {name:<30} {value}" for name, value in rows), f"  {top}"]
        )

    def _repr_html_(self) -> str:
        """The same numbers as an HTML table, for Jupyter."""
        rows, top = self._cells()
        return html_table(["", "value"], rows, left=(0,), caption=f"spread of {self.name}",
                          notes=[top])

    def _cells(self) -> tuple[list[list[str]], str]:
        size = _l1 if isinstance(self.total, np.ndarray) else significant
        rows = [
            ["paths", count(self.num_paths)],
            ["total  Σ p", size(self.total)],
            ["positive paths  Σ p⁺", significant(self.positive)],
            ["negative paths  Σ p⁻", significant(self.negative)],
            ["magnitude  Σ |p|", significant(self.magnitude)],
            ["cancellation  |Σ p| / Σ |p|", significant(self.cancellation_ratio)],
        ]
        top = (f"top {self.top} path{'s' if self.top != 1 else ''}: Σ p = {size(self.top_sum)}, "
               f"share of Σ |p| = {percent(self.top_share)}")
        return rows, top


def spread(chain_or_output: Chain | Value | Tensor, wrt: Value | Tensor | None = None,
           top: int = 3) -> Spread:
    """Σp⁺, Σp⁻, Σ|p| and |Σp|/Σ|p| over the paths p from wrt to output.

    For Value graphs these are sums over the DAG, never over the (possibly 10³⁰) paths:
    with P(n), N(n) the sums of the positive and of the |negative| products from n up to
    the output, an edge n→c with factor f > 0 adds f·P(c) to P(n) and f·N(c) to N(n),
    and one with f < 0 adds |f|·N(c) to P(n) and |f|·P(c) to N(n). The `top` paths come
    from the k-best search. Tensor chains list their (few) paths instead.
    """
    if isinstance(chain_or_output, Chain):
        if wrt is not None:
            raise ValueError("spread: give either a Chain, or an output and wrt — not both")
        owner = chain_or_output
    else:
        if wrt is None:
            raise ValueError("spread: give the node to differentiate by, spread(output, wrt)")
        owner = chain(chain_or_output, wrt)
    name = f"∂{owner.name(owner.output)}/∂{owner.name(owner.wrt)}"
    if owner.is_tensor:
        return _tensor_spread(owner, name, top)
    nodes, parents = owner.subgraph
    positive = [0.0] * len(nodes)
    negative = [0.0] * len(nodes)
    positive[-1] = 1.0
    for c in range(len(nodes) - 1, 0, -1):
        up, down, derivatives = positive[c], negative[c], nodes[c].local_derivatives
        for p, slot in parents[c]:
            f = derivatives[slot]
            if f > 0.0:
                positive[p] += f * up
                negative[p] += f * down
            elif f < 0.0:
                positive[p] -= f * down
                negative[p] -= f * up
    magnitude = positive[0] + negative[0]
    shown = owner.paths(top)
    top_sum = math.fsum(path.product for path in shown)
    top_abs = math.fsum(abs(path.product) for path in shown)
    return Spread(
        name, owner.num_paths, owner.total, positive[0], -negative[0], magnitude,
        _ratio(abs(owner.total), magnitude), len(shown), top_sum, _ratio(top_abs, magnitude),
        owner,
    )


def _tensor_spread(owner: Chain, name: str, top: int) -> Spread:
    products = [path.product for path in owner.paths()]
    positive = float(sum(np.clip(p, 0.0, None).sum() for p in products))
    negative = float(sum(np.clip(p, None, 0.0).sum() for p in products))
    magnitude = positive - negative
    shown = products[:top]
    top_sum = sum(shown, np.zeros(owner.wrt.shape))
    top_abs = float(sum(np.abs(p).sum() for p in shown))
    return Spread(
        name, owner.num_paths, owner.total, positive, negative, magnitude,
        _ratio(float(np.abs(owner.total).sum()), magnitude), len(shown), top_sum,
        _ratio(top_abs, magnitude), owner,
    )


def _l1(x: np.ndarray) -> str:
    return f"‖·‖₁ = {significant(float(np.abs(x).sum()))}"


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class WeightShare:
    """How a layer's gradient is distributed over its `count` weights, by |g|.

    `top_share` = Σ |g| over the ⌈top·count⌉ largest / Σ |g| (a share of the L1 mass,
    not of ‖g‖²). `gini` = Σᵢ Σⱼ ||gᵢ| − |gⱼ|| / (2n Σ|g|): 0 when every weight gets the
    same |g|, → 1 when one gets it all. `effective_number` = (Σ|g|)² / Σ g²: how many
    equal weights would carry the same signal (n when even, 1 when one dominates).
    All are 0 when every gradient is 0.
    """

    count: int
    top: float
    top_count: int
    top_share: float
    gini: float
    effective_number: float
    magnitude: float

    def _repr_html_(self) -> str:
        """The same numbers as an HTML table, for Jupyter."""
        rows = [
            [f"top {percent(self.top)} ({self.top_count:,} weights) hold", percent(self.top_share),
             "of Σ |g|"],
            ["Gini of |g|", f"{self.gini:.4f}", "0 = even, 1 = all in one weight"],
            ["effective number", significant(self.effective_number),
             f"(Σ|g|)²/Σg²; {100 * self.effective_number / self.count:.4g}% of the weights"],
        ]
        caption = f"gradient over {self.count:,} weights (Σ |g| = {significant(self.magnitude)})"
        return html_table(["", "value", ""], rows, left=(0, 2), caption=caption)

    def __str__(self) -> str:
        return "\n".join([
            f"gradient over {self.count:,} weights  (Σ |g| = {significant(self.magnitude)})",
            (f"  top {percent(self.top)} ({self.top_count:,} weights) hold "
             f"{percent(self.top_share)} of Σ |g|"),
            f"  Gini of |g|            {self.gini:.4f}   (0 = even, 1 = all in one weight)",
            (f"  effective number       {significant(self.effective_number)}   "
             f"((Σ|g|)²/Σg²; {100 * self.effective_number / self.count:.4g}% of the weights)"),
        ])


def weight_share(gradients: Any, top: float = 0.1) -> WeightShare:
    """How concentrated the gradient of a set of weights is: share of Σ|g| in the top ones.

    `gradients` is anything holding them: a module or layer (its `parameters()`), a
    list of Values or Tensors (their `.grad`), an ndarray or a list of floats.
    """
    if not 0.0 < top <= 1.0:
        raise ValueError(f"weight_share: top is a fraction of the weights, in (0, 1]; got {top!r}")
    g = np.sort(np.abs(flat_gradients(gradients)))  # ascending
    n = g.size
    if n == 0:
        raise ValueError("weight_share: no gradients given")
    top_count = max(1, math.ceil(top * n - 1e-9))
    magnitude = float(g.sum())
    if magnitude == 0.0:
        return WeightShare(n, top, top_count, 0.0, 0.0, 0.0, 0.0)
    ranks = np.arange(1, n + 1)
    gini = float(2.0 * np.dot(ranks, g) / (n * magnitude) - (n + 1) / n)
    return WeightShare(
        n, top, top_count, float(g[n - top_count:].sum()) / magnitude, max(gini, 0.0),
        _effective_number(g), magnitude,
    )


def _effective_number(g: np.ndarray) -> float:
    """(Σ|g|)² / Σg², on g/max|g| so that tiny gradients do not underflow to 0/0."""
    scaled = g / g.max()
    return float(scaled.sum() ** 2 / np.dot(scaled, scaled))


def flat_gradients(gradients: Any) -> np.ndarray:
    """Every gradient held by `gradients` (as `weight_share` takes them), flat, in float64."""
    if hasattr(gradients, "parameters") and callable(gradients.parameters):
        gradients = gradients.parameters()
    if isinstance(gradients, np.ndarray):
        return gradients.astype(np.float64).reshape(-1)
    if isinstance(gradients, (Value, Tensor)):
        gradients = [gradients]
    parts = []
    for item in gradients:
        if isinstance(item, Value):
            parts.append(np.array([item.grad]))
        elif isinstance(item, Tensor):
            if item.grad is None:
                raise ValueError(
                    f"weight_share: a Tensor of shape {item.shape} has no gradient; "
                    "call backward() first"
                )
            parts.append(np.asarray(item.grad, dtype=np.float64).reshape(-1))
        else:
            parts.append(np.asarray(item, dtype=np.float64).reshape(-1))
    return np.concatenate(parts) if parts else np.zeros(0)


__all__ = ["Spread", "WeightShare", "flat_gradients", "spread", "weight_share"]
