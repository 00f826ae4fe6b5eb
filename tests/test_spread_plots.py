"""plot_spread and plot_weight_share: the bars are the paths' products (or the weights'
gradients), coloured by sign, and the running sum ends at the gradient backward() gives."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from matplotlib.colors import to_hex

from microgradvg import Tensor, Value, chain, plot_spread, plot_weight_share, spread
from microgradvg.render.spread_plots import NEGATIVE, POSITIVE, REST


def two_layer_sum(x_value: float = 0.7) -> tuple[Value, Value, list[float]]:
    """out = Σⱼ vⱼ·tanh(uⱼ·x): one path per j, each with product vⱼ·tanh'(uⱼx)·uⱼ."""
    x = Value(x_value, "x")
    us, vs = [1.5, -0.8, 0.3, 2.0, -1.1], [0.9, 1.2, -2.0, -0.4, 0.6]
    out = Value.sum([Value(v) * (Value(u) * x).tanh() for u, v in zip(us, vs)])
    out.backward()
    products = [v * (1 - math.tanh(u * x_value) ** 2) * u for u, v in zip(us, vs)]
    return out, x, products


def bars(figure) -> list:
    """The bars of the left-hand chart (its one bar container)."""
    (container,) = figure.axes[0].containers
    return list(container)


def bar_heights(figure) -> list[float]:
    return [bar.get_height() for bar in bars(figure)]


def running_sum(figure) -> np.ndarray:
    return np.asarray(figure.axes[0].lines[0].get_ydata())


def test_every_path_is_a_bar_coloured_by_sign_and_the_running_sum_ends_at_the_gradient() -> None:
    out, x, products = two_layer_sum()
    figure = plot_spread(chain(out, x), k=10)
    expected = sorted(products, key=abs, reverse=True)
    assert bar_heights(figure) == pytest.approx(expected, rel=1e-12)
    colours = [to_hex(bar.get_facecolor()) for bar in bars(figure)]
    assert colours == [POSITIVE if p > 0 else NEGATIVE for p in expected]
    assert {POSITIVE, NEGATIVE} <= set(colours)  # these paths pull both ways
    assert running_sum(figure)[-1] == pytest.approx(x.grad, rel=1e-12)
    assert np.allclose(running_sum(figure), np.cumsum(expected))


def test_past_k_paths_the_rest_is_one_grey_bar_and_the_sum_still_reaches_the_gradient() -> None:
    out, x, products = two_layer_sum()
    figure = plot_spread(spread(chain(out, x)), k=2)  # a Spread works as well as its Chain
    heights = bar_heights(figure)
    expected = sorted(products, key=abs, reverse=True)
    assert heights[:2] == pytest.approx(expected[:2], rel=1e-12)
    assert heights[2] == pytest.approx(sum(expected[2:]), rel=1e-9, abs=1e-15)
    assert to_hex(bars(figure)[2].get_facecolor()) == REST
    assert running_sum(figure)[-1] == pytest.approx(x.grad, rel=1e-12)
    balance = [patch.get_height() for patch in figure.axes[1].patches]
    assert balance == pytest.approx(
        [sum(p for p in products if p > 0), sum(p for p in products if p < 0), x.grad]
    )


def test_a_tensor_chain_counts_each_path_along_the_total_gradient() -> None:
    w = Tensor([0.5, -1.0, 2.0], requires_grad=True, label="w")
    out = (w * w).sum() + (w * -3.0).sum() + w.tanh().sum()
    out.backward()
    figure = plot_spread(chain(out, w))
    # the components ⟨p, t⟩/‖t‖ of the paths add up to ‖t‖, t = ∂out/∂w from backward
    assert running_sum(figure)[-1] == pytest.approx(float(np.linalg.norm(w.grad)), rel=1e-12)


def test_bad_arguments_name_plot_spread() -> None:
    out, x, _ = two_layer_sum()
    with pytest.raises(ValueError, match="plot_spread: k"):
        plot_spread(chain(out, x), k=0)
    with pytest.raises(TypeError, match="plot_spread: pass a Chain"):
        plot_spread(out)


def test_weight_share_bars_are_the_gradients_by_size_with_their_signs() -> None:
    gradients = np.array([0.3, -0.05, 0.0, -1.2, 0.6, 0.01, -0.2, 0.02, 0.0, 0.4])
    figure = plot_weight_share(gradients, top=0.2)
    expected = gradients[np.argsort(-np.abs(gradients), kind="stable")]
    assert bar_heights(figure) == pytest.approx(list(expected))
    colours = [to_hex(bar.get_facecolor()) for bar in bars(figure)[:2]]
    assert colours == [NEGATIVE, POSITIVE]  # −1.2, then 0.6
    shares = figure.axes[1].lines[0].get_ydata()
    assert shares[-1] == pytest.approx(1.0)
    top_two = (1.2 + 0.6) / np.abs(gradients).sum()
    assert shares[2] == pytest.approx(top_two)
    legend = figure.axes[0].get_legend().get_texts()[0].get_text()
    assert f"{top_two:.0%} of Σ|g|" in legend and "2 weights" in legend


def test_many_weights_are_drawn_as_a_curve_not_bars() -> None:
    gradients = np.array([(-1) ** i * 1.0 / (i + 1) for i in itertools.islice(itertools.count(), 1000)])
    figure = plot_weight_share(gradients)
    assert not figure.axes[0].containers and len(figure.axes[0].collections) >= 2
