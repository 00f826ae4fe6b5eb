"""Chain.by_length: counts and totals per path length, against brute-force enumeration on
small graphs and against backward() and the binomial counts on a deep residual network."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from hypothesis import assume, given
from test_chain import scalar_graphs, tensor_dags

from microgradvg import Tensor, Value, chain
from microgradvg.nn import Linear, Residual, Sequential, Tanh


def enumerate_by_length(output: Any, wrt: Any, seed: Any) -> dict[int, tuple[int, Any]]:
    """Every path from output down to wrt, one at a time, grouped by its number of factors."""
    found: dict[int, list] = defaultdict(list)
    stack = [(output, seed, 0)]
    while stack:
        node, g, length = stack.pop()
        if node is wrt:
            found[length].append(g)
        for slot, parent in enumerate(node.parents):
            if isinstance(node, Value):
                stack.append((parent, g * node.local_derivatives[slot], length + 1))
            else:
                stack.append((parent, node.factor(slot).vjp(g), length + 1))
    return {length: (len(parts), sum(parts[1:], parts[0])) for length, parts in found.items()}


@given(graph=scalar_graphs())
def test_value_graphs_match_enumeration(graph) -> None:
    output, wrt = graph
    c = chain(output, wrt)
    assume(c.num_paths <= 5_000)
    expected = enumerate_by_length(output, wrt, 1.0)
    shares = c.by_length()
    assert list(shares) == sorted(expected)
    for length, (n, total) in expected.items():
        assert shares[length].count == n
        assert math.isclose(shares[length].total, total, rel_tol=1e-9, abs_tol=1e-12)
    assert sum(shares.counts) == c.num_paths
    assert math.isclose(shares.total(), c.total, rel_tol=1e-9, abs_tol=1e-12)


@given(graph=tensor_dags())
def test_tensor_graphs_match_enumeration(graph) -> None:
    output, wrt = graph
    c = chain(output, wrt)
    expected = enumerate_by_length(output, wrt, c.seed)
    shares = c.by_length()
    assert list(shares) == sorted(expected)
    for length, (n, total) in expected.items():
        assert shares[length].count == n
        assert shares[length].total.shape == wrt.shape
        np.testing.assert_allclose(shares[length].total, np.reshape(total, wrt.shape), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(shares.total(), c.total, rtol=1e-9, atol=1e-12)


def test_a_deep_residual_network_has_binomial_counts_and_totals_that_sum_to_backward() -> None:
    blocks = 54
    model = Sequential(
        Linear(6, 8, seed=0),
        *[Residual(Sequential(Linear(8, 8, init="pytorch", seed=i), Tanh())) for i in range(1, blocks + 1)],
        Linear(8, 1, seed=99),
    )
    loss = (model(np.random.default_rng(0).standard_normal((4, 6))) ** 2).mean()
    loss.backward()
    shares = chain(loss, model[0].bias).by_length()
    # b → linear, then per block a skip (1 factor: the +) or the block (3: linear, tanh, +), then
    # the last linear, **, mean: 4 + k·3 + (54 − k)·1 factors for the k blocks taken.
    assert list(shares) == [4 + blocks + 2 * k for k in range(blocks + 1)]
    assert shares.counts == [math.comb(blocks, k) for k in range(blocks + 1)]
    np.testing.assert_allclose(shares.total(), model[0].bias.grad, rtol=1e-10, atol=1e-12)
    sizes = shares.sizes
    assert np.argmax(sizes) < np.argmax(shares.counts)  # short paths carry the gradient


def test_printed_table_names_the_gradient_and_fits_100_columns() -> None:
    x = Value(3.0, "x")
    y = x * x + x
    y.label = "y"
    shares = chain(y, x).by_length()
    text = str(shares)
    assert text.splitlines()[:4] == [
        "∂y/∂x by path length: 2 lengths, 3 paths",
        "length  paths  |Σ products|  share",
        "     1      1             1  14.3%",  # 1 of 1 + 6
        "     2      2             6  85.7%",
    ]
    assert max(len(line) for line in text.splitlines()) <= 100
    assert shares[2].count == 2 and shares[2].total == 6.0
    t = Tensor([1.0, 2.0], requires_grad=True)
    assert chain((t * t).sum(), t).by_length()[2].total.shape == (2,)
