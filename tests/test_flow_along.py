"""flow_along: norms, gains and Jacobian gains along a sequence of nodes, and its table,
HTML and picture; checked against backward() and against the factor written out by hand."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradvg import Tensor, draw_flow, flow_along, save_svg
from microgradvg.nn import RNN, Linear, Residual, Sequential, Tanh
from microgradvg.testing import arrays


@settings(max_examples=15)
@given(x=arrays((5, 2, 3)), seed=st.integers(0, 20), scale=st.floats(0.2, 3.0))
def test_rnn_states_norms_match_backward_and_the_jacobian_gain_is_diag_slope_times_w(x, seed, scale) -> None:
    rnn = RNN(3, 4, seed=seed)
    rnn.weight_hh_l0.data *= scale
    _, h_last = rnn(x)
    loss = (h_last * h_last).sum()
    flow = flow_along(loss, rnn.states)
    loss.backward()  # fills every intermediate node's .grad: an independent route to ∂L/∂hₜ
    expected = np.array([np.linalg.norm(h.grad) for h in rnn.states])
    np.testing.assert_allclose(flow.norms, expected, rtol=1e-12)
    assert flow.names == ("h1", "h2", "h3", "h4", "h5")
    w = rnn.weight_hh_l0.data
    for t in range(4):
        g = rnn.states[t + 1].grad
        slope = 1.0 - rnn.states[t + 1].data ** 2  # ∂hₜ₊₁/∂hₜ = diag(1 − hₜ₊₁²)·W_hh
        by_hand = np.linalg.norm((g * slope) @ w) / np.linalg.norm(g)
        assert math.isclose(flow.jacobian_gains[t], by_hand, rel_tol=1e-10)
        # the loss depends on hₜ only through hₜ₊₁, so both gains agree
        assert math.isclose(flow.gains[t], expected[t] / expected[t + 1], rel_tol=1e-12)
        assert math.isclose(flow.gains[t], flow.jacobian_gains[t], rel_tol=1e-9)


def test_gain_and_jacobian_gain_differ_when_a_path_skips_the_next_node() -> None:
    rnn = RNN(2, 3, seed=0)
    out, _ = rnn(np.ones((3, 1, 2)))
    loss = (out * out).sum()  # every hₜ reaches L directly, not only through hₜ₊₁
    flow = flow_along(loss, rnn.states)
    loss.backward()
    g3, h3 = rnn.states[2].grad, rnn.states[2].data
    through_h3 = np.linalg.norm((g3 * (1 - h3**2)) @ rnn.weight_hh_l0.data) / np.linalg.norm(g3)
    assert math.isclose(flow.jacobian_gains[1], through_h3, rel_tol=1e-10)
    assert not math.isclose(flow.gains[1], flow.jacobian_gains[1], rel_tol=1e-3)


def test_residual_block_outputs_and_nodes_that_do_not_depend_on_each_other() -> None:
    blocks = [Residual(Sequential(Linear(3, 3, seed=i), Tanh())) for i in range(4)]
    h = Tensor(np.ones((2, 3)), requires_grad=True)
    outputs = []
    for block in blocks:
        h = block(h)
        outputs.append(h)
    loss = h.sum()
    flow = flow_along(loss, outputs)
    assert flow.norms[-1] == pytest.approx(np.sqrt(6.0))  # ∂Σh/∂h = ones(2, 3)
    unrelated = flow_along(loss, [outputs[2], outputs[1]])  # in the wrong order: no factor between
    assert math.isnan(unrelated.jacobian_gains[0])


def test_table_is_at_most_100_columns_and_elides_long_runs() -> None:
    rnn = RNN(2, 3, seed=1)
    _, h = rnn(np.ones((40, 2, 2)))
    flow = flow_along(h.sum(), rnn.states)
    text = str(flow)
    lines = text.splitlines()
    assert lines[0].startswith("Flow along 40 nodes · L = ")
    assert max(len(line) for line in lines) <= 100
    assert "⋮ 24 more" in text and "h40" in text and "h20" not in text
    assert "h20" in flow.table(every_row=True)
    page = flow._repr_html_()
    assert page.count("<tr>") == 41 and "h20" in page


def test_bad_input_names_flow_along() -> None:
    rnn = RNN(2, 3)
    out, h = rnn(np.ones((2, 1, 2)))
    with pytest.raises(TypeError, match="flow_along: loss must be a one-element Tensor, got Tensor of shape"):
        flow_along(out, rnn.states)
    with pytest.raises(ValueError, match="flow_along: nodes is empty"):
        flow_along(h.sum(), [])
    with pytest.raises(TypeError, match="flow_along: node 1 is a Tensor without requires_grad"):
        flow_along(h.sum(), [rnn.states[0], Tensor([1.0])])


def test_picture_thins_long_sequences_and_keeps_the_ends(tmp_path) -> None:
    rnn = RNN(2, 3, seed=2)
    _, h = rnn(np.ones((30, 1, 2)))
    graph = draw_flow(flow_along(h.sum(), rnn.states), max_nodes=6, title="thirty steps")
    source = graph.source
    assert "<B>h1</B>" in source and "<B>h30</B>" in source and "<B>h2</B>" not in source
    assert source.count("steps<BR/>") == 5 and "style=dashed" in source
    assert "(dashed): k − 1 nodes between not drawn" in source  # not a zero gradient
    if shutil.which("dot"):
        save_svg(graph, tmp_path / "flow.svg")
        assert (tmp_path / "flow.svg").read_text().count("<g id=\"node") == 7  # six and the loss


def test_draw_flow_names_itself_for_a_wrong_argument() -> None:
    with pytest.raises(TypeError, match="draw_flow: flow must be what flow_along returns, got int"):
        draw_flow(3)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("steps", [4, 16])
def test_a_long_flow_snakes_into_rows_within_the_picture_budget(tmp_path, steps: int) -> None:
    import xml.etree.ElementTree as ET

    rnn = RNN(2, 3, seed=2)
    _, h = rnn(np.ones((steps, 1, 2)))
    path = save_svg(draw_flow(flow_along(h.sum(), rnn.states)), tmp_path / "flow.svg")
    root = ET.parse(path).getroot()
    width, height = (float(root.get(side, "0").removesuffix("pt")) * 96 / 72 for side in ("width", "height"))
    assert width <= 2000 and height <= 2000, (width, height)
    assert 0.8 <= width / height <= 3.5, (width, height)  # 16 boxes in a row were 3,604 × 239 px


def test_the_legend_shows_the_one_scale_the_boxes_are_coloured_on() -> None:
    """The boxes are coloured by ‖∂L/∂node‖, a norm (purple): the legend shows that scale,
    not the red > 0 and blue < 0 of a signed gradient, which nothing in the picture uses."""
    h = Tensor([0.5, -1.0], requires_grad=True, label="h")
    g = h.tanh()
    source = draw_flow(flow_along((g * g).sum(), [h, g])).source
    assert "‖·‖" in source
    assert "&gt; 0" not in source and "&lt; 0" not in source
