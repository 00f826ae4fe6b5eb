"""k > 1 long paths are drawn as rows, one per path, folded alike, with what path #1 also
takes faded, so a learner sees where the paths part."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from graphs import residual_chain

from microgradvg import Value, chain, topological_order
from microgradvg.nn import MLP
from microgradvg.render import draw_chain, style
from microgradvg.render.path_rows import row_runs

ROW_LABEL = re.compile(r'^\s*r(\d+) \[label=<<B>#(\d+) (\w+)</B>(.*?)> .*fontcolor="(#[0-9a-f]+)"', re.MULTILINE)



def deep_mlp() -> tuple[Value, Value]:
    """MLP(2, [4]·15 + [1]) with tanh: (loss, the first weight of the first neuron); its
    paths all have 33 factors and part in which neuron they go through in each layer."""
    model = MLP(2, [4] * 15 + [1], activation="tanh", seed=0)
    loss = (model([-1.0, 1.0]) - 0.5) ** 2
    loss.label = "C"
    loss.backward()
    weight = next(n for n in topological_order(loss) if n.label == "L1.n0.w0")
    return loss, weight


def rows_of(source: str) -> dict[int, list[str]]:
    """Each row's element and edge lines of the DOT, by row index."""
    rows: dict[int, list[str]] = {}
    for line in source.splitlines():
        found = re.match(r"\s*r(\d+)e\d+", line)
        if found:
            rows.setdefault(int(found[1]), []).append(line)
    return rows


def test_every_one_of_k_long_paths_gets_a_row_and_k_1_keeps_the_wrapped_line() -> None:
    loss, weight = deep_mlp()
    source = draw_chain(chain(loss, weight), k=3).source
    labels = ROW_LABEL.findall(source)
    assert [(row, rank) for row, rank, *_ in labels] == [("0", "1"), ("1", "2"), ("2", "3")]
    assert "drawn: path #1" not in source
    assert all(f"#{rank} (" in source for rank in (1, 2, 3))  # each path's caption line stays
    single = draw_chain(chain(loss, weight), k=1).source
    assert "r0 [" not in single and "path #1 has 34 nodes, drawn alone" in single


def test_rows_are_labelled_with_rank_sign_and_product_in_the_colour_of_the_sign() -> None:
    loss, weight = deep_mlp()
    source = draw_chain(chain(loss, weight), k=8).source
    paths = chain(loss, weight).paths(8)
    signs = set()
    for (row, rank, which, rest, colour), path in zip(ROW_LABEL.findall(source), paths):
        sign = 1 if path.product > 0 else -1
        signs.add(sign)
        assert which == ("positive" if sign > 0 else "negative")
        assert colour == style.gradient_colour(1.0, sign)
        assert f"product {style.number(path.product, 3)}" in rest
    assert signs == {1, -1}  # the example has both, so the colours are tested both ways


def test_paths_of_one_length_are_cut_at_the_same_places() -> None:
    loss, weight = deep_mlp()
    rows = rows_of(draw_chain(chain(loss, weight), k=8).source)
    counts = [
        [re.search(r"(\d+) factors?", line)[1] for line in lines if "shape=box3d" in line]  # type: ignore[index]
        for lines in rows.values()
    ]
    assert len(counts) == 8 and len(counts[0]) >= 3
    assert all(row == counts[0] for row in counts)
    assert sum(map(int, counts[0])) + len(counts[0]) + 1 == 33  # boxes + the edges between


@pytest.mark.parametrize(("length", "boxes", "period"), [(33, 5, 2), (13, 6, 1), (4004, 6, 2), (7, 6, 1)])
def test_row_runs_cover_the_path_once_with_whole_periods(length: int, boxes: int, period: int) -> None:
    runs = row_runs(length, boxes, period)
    assert runs[0] == (0, 1) and runs[-1] == (length, length + 1)
    assert all(stop == start for (_, stop), (start, _) in pairwise(runs))
    middle = runs[1:-1]
    assert len(middle) <= max(boxes, length - 1)
    if length - 1 >= boxes * period:
        assert len(middle) == boxes
        assert all((start - 1) % period == 0 for start, _ in middle)


def test_what_path_1_also_takes_is_faded_and_the_detour_stands_out() -> None:
    y, x = residual_chain()
    source = draw_chain(chain(y, x), k=4).source
    rows = rows_of(source)
    assert not any("same as #1" in line or "class=faded" in line for line in rows[0])
    # Path #2 is path #1 but for the last edge (the other slot of y = h·h): every box of
    # its row is "same as #1", and of its edges only the last is drawn in colour.
    boxes = [line for line in rows[1] if "shape=box3d" in line]
    assert boxes and all("same as #1" in line for line in boxes)
    edges = [line for line in rows[1] if "->" in line]
    assert ["class=faded" in line for line in edges] == [True] * (len(edges) - 1) + [False]
    # Path #3 goes through block 1 (x · w1, tanh) and then skips: that box is in colour and
    # names the nodes off path #1; the rest of the row is faded.
    detour = [line for line in rows[2] if "shape=box3d" in line and "same as #1" not in line]
    assert len(detour) == 1 and "off #1: * … f1" in detour[0]


def test_more_than_eight_paths_draw_the_top_eight_rows() -> None:
    y, x = residual_chain()
    source = draw_chain(chain(y, x), k=10).source
    assert len(ROW_LABEL.findall(source)) == 8
    assert "drawn: the top 8 of these 10" in source
