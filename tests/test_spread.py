"""Tests for microgradvg.inspection.spread: path sums by sign against brute force, and weight shares."""

from __future__ import annotations

import math
from itertools import product as pairs

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_chain import all_paths, doubling, layered, scalar_graphs, tensor_dags, value_product

from microgradvg import Tensor, Value
from microgradvg.inspection.chain import chain
from microgradvg.inspection.spread import Spread, WeightShare, spread, weight_share


def close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-12 * scale + 1e-300


@given(scalar_graphs(), st.integers(1, 5))
def test_spread_sums_equal_brute_force(dag: tuple[Value, Value], top: int) -> None:
    output, wrt = dag
    products = [value_product(p) for p in all_paths(output, wrt)]
    s = spread(output, wrt, top=top)
    magnitude = math.fsum(abs(p) for p in products)
    assert s.num_paths == len(products)
    assert close(s.positive, math.fsum(p for p in products if p > 0), magnitude)
    assert close(s.negative, math.fsum(p for p in products if p < 0), magnitude)
    assert close(s.magnitude, magnitude, magnitude)
    assert s.negative <= 0.0 <= s.positive
    expected_ratio = abs(math.fsum(products)) / magnitude if magnitude else 0.0
    assert s.cancellation_ratio == pytest.approx(expected_ratio, rel=1e-9, abs=1e-12)
    assert 0.0 <= s.cancellation_ratio <= 1.0 + 1e-12
    ranked = sorted(products, key=abs, reverse=True)
    best = ranked[:top]
    assert s.top == len(best)
    tie_at_the_cut = len(ranked) > top and math.isclose(abs(ranked[top - 1]), abs(ranked[top]))
    if not tie_at_the_cut:  # else either of the tied paths may be in the top
        assert close(s.top_sum, math.fsum(best), magnitude)
    expected_share = math.fsum(abs(p) for p in best) / magnitude if magnitude else 0.0
    assert s.top_share == pytest.approx(expected_share, rel=1e-9, abs=1e-12)


@given(tensor_dags())
def test_tensor_spread_sums_each_element_of_each_path(dag: tuple[Tensor, Tensor]) -> None:
    output, wrt = dag
    c = chain(output, wrt)
    products = [p.product for p in c.paths()]
    s = spread(c, top=2)
    assert s.positive == pytest.approx(sum(np.clip(p, 0, None).sum() for p in products))
    assert s.negative == pytest.approx(sum(np.clip(p, None, 0).sum() for p in products))
    assert s.magnitude == pytest.approx(sum(np.abs(p).sum() for p in products))
    assert np.allclose(s.top_sum, sum(products[:2], np.zeros(wrt.shape)))
    assert np.allclose(s.total, c.total)
    expected = np.abs(c.total).sum() / s.magnitude if s.magnitude else 0.0
    assert s.cancellation_ratio == pytest.approx(expected, abs=1e-12)
    assert "‖·‖₁ =" in str(s)


def test_spread_of_a_chain_or_of_output_and_wrt_agree() -> None:
    output, x = layered(width=3, depth=6, seed=2)
    assert spread(chain(output, x)) == spread(output, x)
    with pytest.raises(ValueError, match="not both"):
        spread(chain(output, x), x)
    with pytest.raises(ValueError, match="spread\\(output, wrt\\)"):
        spread(output)


def test_spread_over_10_to_the_30_paths_by_dynamic_programming() -> None:
    output, x = doubling(100)
    s = spread(output, x)
    assert s.num_paths == 2**100
    assert s.positive + s.negative == pytest.approx(s.total, abs=1e-12 * s.magnitude)
    assert s.magnitude == pytest.approx(s.positive - s.negative)
    assert s.top == 3 and 0.0 < s.top_share < 1.0


def test_cancellation_on_a_deep_tanh_net() -> None:
    """Products of ~10⁻¹¹⁴ over 10⁶⁰² paths: positive and negative nearly cancel."""
    output, x = layered(width=10, depth=2000)
    s = spread(output, x)
    assert s.magnitude > 0 and s.cancellation_ratio < 1e-100
    assert s.top_share < 1e-100
    text = str(s)
    assert "≈1.148×10^602" in text and "cancellation  |Σ p| / Σ |p|" in text


def test_spread_str_reads_top_to_bottom() -> None:
    x = Value(0.5, "x")
    output = x * 2.0 + x * -1.0 + x.tanh()
    output.label = "y"
    s = spread(output, x, top=1)
    assert isinstance(s, Spread)
    assert s.positive == pytest.approx(2.0 + 1 - math.tanh(0.5) ** 2)
    assert s.negative == -1.0
    lines = str(s).splitlines()
    assert lines[0] == "spread of ∂y/∂x"
    assert "top 1 path: Σ p = 2, share of Σ |p| = " in lines[-1]


# ---- weight_share ------------------------------------------------------------------------


def gini_by_pairs(g: np.ndarray) -> float:
    g = np.abs(g)
    return sum(abs(a - b) for a, b in pairs(g, g)) / (2 * len(g) * g.sum())


@given(st.lists(st.floats(-10, 10), min_size=1, max_size=40), st.floats(0.01, 1.0))
def test_weight_share_against_definitions(gradients: list[float], top: float) -> None:
    g = np.array(gradients)
    share = weight_share(g, top=top)
    magnitude = np.abs(g).sum()
    assert share.count == len(g)
    assert share.top_count == max(1, math.ceil(top * len(g) - 1e-9))
    if magnitude == 0:
        assert (share.top_share, share.gini, share.effective_number) == (0.0, 0.0, 0.0)
        return
    largest = np.sort(np.abs(g))[::-1][: share.top_count]
    assert share.top_share == pytest.approx(largest.sum() / magnitude)
    assert share.gini == pytest.approx(gini_by_pairs(g), abs=1e-9)
    h = np.abs(g) / np.abs(g).max()  # (Σ|g|)²/Σg² is scale-free; this keeps 1e-230 finite
    assert share.effective_number == pytest.approx(h.sum() ** 2 / np.square(h).sum())
    assert 1.0 - 1e-9 <= share.effective_number <= len(g) + 1e-9


def test_weight_share_extremes() -> None:
    even = weight_share(np.full(100, -0.3))
    assert even.top_count == 10 and even.top_share == pytest.approx(0.1)
    assert even.gini == pytest.approx(0.0, abs=1e-12)
    assert even.effective_number == pytest.approx(100)
    one = weight_share(np.eye(1, 100).ravel())
    assert one.top_share == 1.0 and one.effective_number == 1.0
    assert one.gini == pytest.approx(1 - 1 / 100)
    assert "top 10% (10 weights) hold 10% of Σ |g|" in str(even)
    assert isinstance(even, WeightShare)


def test_weight_share_reads_layers_values_and_tensors() -> None:
    from microgradvg.nn import MLP, quadratic_cost

    scalar = MLP(3, [4, 1], activation="tanh", seed=0)
    loss = (scalar([1.0, -0.5, 0.25]) - 1.0) ** 2
    loss.backward()
    layer = scalar.layers[0]
    by_layer = weight_share(layer)
    by_values = weight_share([p.grad for p in layer.parameters()])
    assert by_layer == by_values and by_layer.count == 16

    tensor = MLP([4, 3, 2], seed=0)
    weight = tensor.layers[0].weight
    with pytest.raises(ValueError, match="no gradient"):
        weight_share([weight])
    cost = quadratic_cost(tensor(np.ones((2, 4))), np.zeros((2, 2)))
    cost.backward()
    assert weight_share(weight) == weight_share(weight.grad)
    assert weight_share(tensor.layers[0]).count == 15
    with pytest.raises(ValueError, match="fraction"):
        weight_share(weight, top=0.0)
    with pytest.raises(ValueError, match="no gradients"):
        weight_share([])


def test_weight_share_str() -> None:
    text = str(weight_share(np.arange(1.0, 11.0), top=0.2))
    assert text.splitlines()[0] == "gradient over 10 weights  (Σ |g| = 55)"
    assert "top 20% (2 weights) hold 34.55% of Σ |g|" in text
    assert "Gini of |g|" in text and "effective number" in text
