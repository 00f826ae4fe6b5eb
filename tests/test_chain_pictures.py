"""Chain pictures stay bounded whatever the path: long paths wrap and fold, captions are cut,
every label survives `dot`, and each path's sign is shown."""

from __future__ import annotations

import html
import math
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from graphs import nielsen_chain, residual_chain
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradvg import Tensor, Value, chain
from microgradvg.render import draw_chain, draw_graph, save_svg, style
from microgradvg.render.lines import FOLDED_ELEMENTS

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
NODE = re.compile(r"^\s*(e\d+|n\d+) \[label=")
PX_PER_PT = 96 / 72  # how a browser shows an SVG's points



def svg_size(path: Path) -> tuple[float, float]:
    """(width, height) in px of an SVG that dot wrote (its sizes are in pt)."""
    root = ET.parse(path).getroot()
    return tuple(float(root.get(side, "0").removesuffix("pt")) * PX_PER_PT for side in ("width", "height"))  # type: ignore[return-value]


def drawn_nodes(source: str) -> int:
    return sum(1 for line in source.splitlines() if NODE.match(line))


@needs_dot
@pytest.mark.parametrize("layers", [30, 2000])
def test_a_long_chain_folds_into_a_bounded_picture_near_3_to_2(tmp_path: Path, layers: int) -> None:
    cost, b1 = nielsen_chain(layers)
    picture = draw_chain(chain(cost, b1), k=5)
    assert drawn_nodes(picture.source) <= FOLDED_ELEMENTS
    assert len(picture.source) < 30_000
    width, height = svg_size(save_svg(picture, tmp_path / "chain.svg"))
    assert width <= 2000 and height <= 2000
    assert 1.2 <= width / height <= 1.9


def test_each_folded_box_shows_the_product_of_the_factors_it_holds() -> None:
    cost, b1 = nielsen_chain(30)
    source = draw_chain(chain(cost, b1), k=1).source
    # 4,000 layers of σ'(0) = 1/4 and w = 100 fold by whole layers: each box of two layers
    # holds σ' · w · σ' = 6.25 (w joins its layers: it is the edge between two boxes).
    assert source.count("product 6.25") >= 10
    assert "2 sigmoid, 1 linear" in source
    assert "each |·| 0.25 … 100" in source


def test_the_caption_is_cut_and_the_product_survives_overflow() -> None:
    cost, b1 = nielsen_chain(2000)
    source = draw_chain(chain(cost, b1), k=1).source
    # (1/4)^2000 · 100^1999 · ½ = 10^(1999·2 − 2000·log10 4 − log10 2): far past a float
    exponent = 1999 * 2 - 2000 * math.log10(4) - math.log10(2)
    mantissa = 10 ** (exponent - math.floor(exponent))
    assert f"= {mantissa:.4g}e+{math.floor(exponent)}" in source
    assert "(3,993 more)" in source  # 4,004 factors, 11 written out
    assert "∂C/∂b¹ as a float = inf" in source  # the float total overflowed; the product did not
    assert "#1 (positive)" in source


def test_a_200001_node_chain_writes_kilobytes() -> None:
    x = Value(0.5, "x")
    y = x
    for _ in range(100_000):
        y = (y * 1.0001).tanh()
    y.backward()
    picture = draw_chain(chain(y, x), k=3)
    assert len(picture.source) < 30_000
    assert drawn_nodes(picture.source) <= FOLDED_ELEMENTS
    assert "200,001 nodes" in picture.source


def test_a_short_chain_stays_on_one_row_and_a_medium_one_wraps() -> None:
    cost, b1 = nielsen_chain(4)  # 11 factors: the whole graph, paths highlighted
    assert "class=path" in draw_chain(chain(cost, b1), k=1).source
    assert "rank=same" not in draw_chain(chain(cost, b1), k=1).source
    cost, b1 = nielsen_chain(12)  # 27 factors, 28 nodes: one by one, in rows
    source = draw_chain(chain(cost, b1), k=1).source
    assert "wrapped into rows" in source and "rank=same" in source
    assert drawn_nodes(source) == 28 and "dir=back" in source


def test_each_path_shows_its_sign_in_its_own_colour() -> None:
    x = Value(1.5, "x")
    a, b = 3 * x, -2 * x
    out = a + b
    out.backward()
    source = draw_chain(chain(out, x), k=2).source
    positive = style.gradient_colour(1.0, 1)
    negative = style.gradient_colour(1.0, -1)
    assert re.search(f'<FONT COLOR="{positive}">#1 \\(positive\\): 3 × 1 = 3</FONT>', source)
    assert re.search(f'<FONT COLOR="{negative}">#2 \\(negative\\): -2 × 1 = -2</FONT>', source)


# ---- labels: anything a user can type ------------------------------------------------------


@needs_dot
def test_control_characters_and_a_huge_label_render(tmp_path: Path) -> None:
    x = Value(2.0, "x\x01y\x0cz")
    y = x * x
    y.label = "w" * 20_000
    y.backward()
    path = save_svg(draw_graph(y), tmp_path / "labels.svg")
    text = path.read_text()
    assert "x\\x01y\\x0cz" in text and "…" in text
    assert len(text) < 20_000


@needs_dot
@settings(max_examples=10, deadline=None)
@given(label=st.text(max_size=40), title=st.text(max_size=40))
def test_any_text_label_renders_through_dot(tmp_path_factory: pytest.TempPathFactory,
                                           label: str, title: str) -> None:
    x = Value(1.0, label)
    y = x.tanh()
    y.label = label[::-1]
    y.backward()
    path = save_svg(draw_graph(y, title=title), tmp_path_factory.mktemp("labels") / "y.svg")
    ET.parse(path)  # well-formed XML, whatever the label held


def test_a_huge_k_lists_no_more_paths_than_are_highlighted(monkeypatch: pytest.MonkeyPatch) -> None:
    """k = 10⁶ on 2³⁰ paths: listing them all to draw the top 8 took minutes."""
    y, x = residual_chain(30)
    found = chain(y, x)
    asked: list[int] = []
    listed = found.paths
    monkeypatch.setattr(found, "paths", lambda k=None: asked.append(k) or listed(k))
    source = draw_chain(found, k=10**6).source
    assert asked == [100]
    assert "the top 100 by size" in html.unescape(source)


def test_a_tensor_chain_with_too_many_paths_to_rank_is_refused_by_draw_chain() -> None:
    x = Tensor(np.array([0.5, 0.2]), requires_grad=True, label="x")
    h = x
    for _ in range(20):  # 2²⁰ paths, each computed to rank it
        h = h + (h * 0.3).tanh()
    y = (h * h).sum()
    y.backward()
    with pytest.raises(ValueError, match=r"^draw_chain: paths: there are .* draw_graph\(output\)"):
        draw_chain(chain(y, x), k=3)


def test_many_short_paths_on_their_graph_stay_within_the_budget() -> None:
    """k = 30 of a residual chain's 32 paths: each highlighted edge names its first three
    paths and how many more (29 names made a 5,903-px sliver), and the graph, as wide as
    its longest highlighted path with those names, is laid out top to bottom."""
    y, x = residual_chain(4)
    source = draw_chain(chain(y, x), k=30).source
    assert "rankdir=TB" in source
    assert " more</FONT>" in source
    assert max(len(names) for names in re.findall(r'POINT-SIZE="8">(#[^<]*)<', source)) <= 20


def test_a_ten_thousand_character_label_is_cut_in_captions_boxes_and_groups() -> None:
    """Labels are cut as in a node's box (60 characters), in a chain's caption, a folded
    box's lines and a group's title: uncut, they made pictures 7,000 to 8,000 px wide."""
    label = "x" * 10_000
    a, b = Value(0.5, label), Value(0.3, label)
    y = (a * b).tanh()
    y.label = label
    y.backward()
    h = a
    for _ in range(40):
        h = (h * 1.1).tanh()
        h.label = label
    h.backward()
    sources = [
        draw_chain(chain(y, a)).source,
        draw_chain(chain(h, a)).source,  # folded into boxes
        draw_graph(y, group_by="neuron").source,  # the two leaves: one group, "leaf xxx…"
    ]
    for source in sources:
        assert "x" * 61 not in source
