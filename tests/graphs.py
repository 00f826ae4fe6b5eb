"""Graphs the picture tests draw, built one way for every test module that needs them."""

from __future__ import annotations

from microgradvg import Value
from microgradvg.experiments import exploding_network


def tanh_chain(nodes: int) -> tuple[Value, Value]:
    """x → (·1.0001 → tanh) repeated: (y, x), a path of about `nodes` nodes, after backward."""
    x = Value(0.5, "x")
    y = x
    for _ in range(max(1, (nodes - 1) // 2)):
        y = (y * 1.0001).tanh()
    y.backward()
    return y, x


def nielsen_chain(layers: int) -> tuple[Value, Value]:
    """Nielsen's chain of sigmoid neurons, every w = 100 and every z = 0 (the library's own
    `exploding_network`): (cost C, b¹) after backward, a path of 2 · layers + 4 nodes."""
    cost, first = exploding_network(layers)
    cost.backward()
    return cost, first


def residual_chain(blocks: int = 10) -> tuple[Value, Value]:
    """h ← h + tanh(w·h) `blocks` times from x, then y = h·h: (y, x) after backward. The
    top paths skip every block (twice: y = h·h has two edges from h) or go through one
    or two blocks."""
    x = Value(0.5, "x")
    h = x
    for block in range(1, blocks + 1):
        f = (h * Value(0.9 - 0.17 * (block - 1), f"w{block}")).tanh()
        f.label = f"f{block}"
        h = h + f
        h.label = f"h{block}"
    y = h * h
    y.label = "y"
    y.backward()
    return y, x
