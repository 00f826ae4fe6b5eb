"""The gradient split by path length: how many paths of each length, and what they add up to.

`chain(output, wrt).by_length()` is exact, without listing paths: one dynamic program
over the graph, like `num_paths`, carrying one count and one partial gradient per length.
It is Veit, Wilber & Belongie's (2016) view of a residual network, computed rather than sampled.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..formatting import aligned_table, count, significant

# print(by_length) shows every length when there are at most this many, else the largest.
SHOWN_LENGTHS = 24


@dataclass(frozen=True)
class LengthShare:
    """The paths of one length: `count` of them (an exact int), and `total`, Σ of their products.

    For a Value graph `total` is a float; for a Tensor graph an ndarray shaped like wrt,
    the part of seed·∂output/∂wrt that these paths carry.
    """

    length: int
    count: int
    total: Any

    @property
    def size(self) -> float:
        """|total| (a float), or ‖total‖ for a Tensor graph."""
        return float(np.linalg.norm(self.total)) if isinstance(self.total, np.ndarray) else abs(self.total)


class ByLength(Mapping[int, LengthShare]):
    """A mapping from path length (counted in factors) to the `LengthShare` of that length.

    Only lengths that have paths are keys, in increasing order. Σ of the totals is the
    chain's `total` (the gradient) and Σ of the counts its `num_paths`.
    """

    def __init__(self, shares: list[LengthShare], gradient: str) -> None:
        self._shares = {share.length: share for share in shares}
        self.gradient = gradient

    def __getitem__(self, length: int) -> LengthShare:
        return self._shares[length]

    def __iter__(self) -> Iterator[int]:
        return iter(self._shares)

    def __len__(self) -> int:
        return len(self._shares)

    @property
    def lengths(self) -> np.ndarray:
        """The path lengths that occur, increasing, shape (n,)."""
        return np.array(list(self._shares), dtype=int)

    @property
    def counts(self) -> list[int]:
        """The number of paths of each length, as exact ints (they outgrow any float)."""
        return [share.count for share in self._shares.values()]

    @property
    def sizes(self) -> np.ndarray:
        """|total| (or ‖total‖) of each length, shape (n,)."""
        return np.array([share.size for share in self._shares.values()])

    def total(self) -> Any:
        """Σ over lengths of the totals: the whole gradient."""
        totals = [share.total for share in self._shares.values()]
        return sum(totals[1:], totals[0]) if totals else 0.0

    def __repr__(self) -> str:
        return f"<ByLength {self.gradient}: {len(self)} lengths, {count(sum(self.counts))} paths>"

    def __str__(self) -> str:
        shares = list(self._shares.values())
        grand = sum(share.size for share in shares) or 1.0
        shown = shares
        if len(shares) > SHOWN_LENGTHS:
            largest = sorted(shares, key=lambda share: -share.size)[:SHOWN_LENGTHS]
            shown = sorted(largest, key=lambda share: share.length)
        bars = "‖Σ products‖" if shares and isinstance(shares[0].total, np.ndarray) else "|Σ products|"
        rows = [
            [str(share.length), count(share.count), significant(share.size), f"{100 * share.size / grand:.1f}%"]
            for share in shown
        ]
        lines = [f"{self.gradient} by path length: {len(self)} lengths, {count(sum(self.counts))} paths"]
        lines += aligned_table(["length", "paths", bars, "share"], rows)
        if len(shown) < len(shares):
            lines.append(f"(the {len(shown)} lengths with the largest {bars} of {len(shares)})")
        lines.append(f"share: {bars} of the length over their sum over lengths (signs can cancel between lengths)")
        return "\n".join(lines)


def split_by_length(nodes: list, parents: list, seed: Any, is_tensor: bool, wrt_shape: tuple) -> list[LengthShare]:
    """Count and sum the paths from nodes[0] to nodes[-1] by length, children first.

    For each node n and length ℓ, count(n, ℓ) = Σ over edges n→c of count(c, ℓ − 1) and
    ḡ(n, ℓ) = Σ over edges n→c of ḡ(c, ℓ − 1)·∂c/∂n, from count(out, 0) = 1, ḡ(out, 0) = seed.
    Each node keeps one entry per length that reaches it: lengths × edges steps in all.
    """
    last = len(nodes) - 1
    counts: list[dict[int, int] | None] = [None] * len(nodes)
    totals: list[dict[int, Any] | None] = [None] * len(nodes)
    counts[last], totals[last] = {0: 1}, {0: seed}
    for c in range(last, 0, -1):
        child_counts, child_totals = counts[c], totals[c]
        assert child_counts is not None and child_totals is not None  # every node is on a path to the output
        counts[c] = totals[c] = None  # done with: free the partial gradients as the sweep goes down
        child = nodes[c]
        for p, slot in parents[c]:
            if counts[p] is None:
                counts[p], totals[p] = {}, {}
            parent_counts, parent_totals = counts[p], totals[p]
            assert parent_counts is not None and parent_totals is not None
            if is_tensor:
                factor = child.factor(slot)
                for length, g in child_totals.items():
                    part = factor.vjp(g)
                    _add(parent_counts, parent_totals, length + 1, child_counts[length], part)
            else:
                derivative = child.local_derivatives[slot]
                for length, g in child_totals.items():
                    _add(parent_counts, parent_totals, length + 1, child_counts[length], derivative * g)
    wrt_counts, wrt_totals = counts[0], totals[0]
    assert wrt_counts is not None and wrt_totals is not None
    shares = []
    for length in sorted(wrt_counts):
        total = wrt_totals[length]
        if is_tensor:
            total = np.array(total, copy=True).reshape(wrt_shape)
        shares.append(LengthShare(length, wrt_counts[length], total))
    return shares


def _add(counts: dict[int, int], totals: dict[int, Any], length: int, n: int, part: Any) -> None:
    if length in counts:
        counts[length] += n
        totals[length] = totals[length] + part
    else:
        counts[length] = n
        totals[length] = part
