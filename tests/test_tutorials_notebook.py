"""In Jupyter the results show as tables and pictures: a small notebook run by a real kernel.

Each class a tutorial prints has a `_repr_html_` with a real <table> built by
`formatting.html_table` from the same cells as its printed table; a Chain and a LayerFlow
also carry their picture (image/svg+xml).
"""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

from microgradvg import (
    SpeedRecorder,
    chain,
    layer_curvature,
    layer_flow,
    nn,
    spread,
    weight_share,
)
from microgradvg.formatting import html_table

SETUP = """\
import numpy as np
from microgradvg import SpeedRecorder, chain, layer_curvature, layer_flow, nn, spread, weight_share
small = nn.MLP(3, [4, 4, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
C = 0.5 * (small([0.5, -1.0, 2.0]) - 1.0) ** 2
C.label = "C"
C.backward()
w = small.layers[0].neurons[0].w[0]
model = nn.MLP([6, 5, 5, 2], seed=0)
x, y = np.linspace(-1, 1, 24).reshape(4, 6), np.eye(2)[[0, 1, 1, 0]]
recorder = SpeedRecorder(model, x, y)
_ = recorder.record(0)
"""
# Each cell's last expression, and whether its output must carry a picture too.
CELLS = {
    "chain(C, w)": True,
    "chain(C, w).paths(1)[0]": False,
    "spread(C, w)": False,
    "weight_share([v for n in small.layers[0].neurons for v in n.w])": False,
    "layer_flow(model, x, y, curvature=True, lr=0.1)": True,
    "layer_curvature(model, x, y, lr=0.1)": False,
    "layer_curvature(model, x, y, lr=0.1)[0]": False,
    "recorder": False,
}


def small_results():
    small = nn.MLP(3, [4, 4, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    cost = 0.5 * (small([0.5, -1.0, 2.0]) - 1.0) ** 2
    cost.label = "C"
    cost.backward()
    weight = small.layers[0].neurons[0].w[0]
    model = nn.MLP([6, 5, 5, 2], seed=0)
    x, y = np.linspace(-1, 1, 24).reshape(4, 6), np.eye(2)[[0, 1, 1, 0]]
    recorder = SpeedRecorder(model, x, y)
    recorder.record(0)
    recorder.record(1)
    gradient = chain(cost, weight)
    return {
        "chain": gradient,
        "path": gradient.paths(1)[0],
        "spread": spread(gradient),
        "weight_share": weight_share([v for n in small.layers[0].neurons for v in n.w]),
        "layer_flow": layer_flow(model, x, y, curvature=True, lr=0.1),
        "layer_curvatures": layer_curvature(model, x, y, lr=0.1),
        "layer_curvature": layer_curvature(model, x, y, lr=0.1)[0],
        "speed_recorder": recorder,
    }


def cells_of(table: str) -> list[str]:
    return [html.unescape(cell) for cell in re.findall(r"<t[dh](?: [^>]*)?>(.*?)</t[dh]>", table)]


def test_html_table_escapes_aligns_and_spans() -> None:
    table = html_table(["name", "x"], [["a<b", "1"], ["⋮ 3 more"]], left=(0,), caption="T & U",
                       notes=["note"])
    assert table.startswith("<table><caption>T &amp; U</caption>") and table.endswith("</table>")
    assert cells_of(table) == ["name", "x", "a<b", "1", "⋮ 3 more", "note"]
    assert '<td style="text-align:left">a&lt;b</td><td style="text-align:right">1</td>' in table
    assert table.count('colspan="2"') == 2


@pytest.mark.parametrize("name", list(small_results()))
def test_every_result_has_an_html_table_with_the_printed_numbers(name: str) -> None:
    result = small_results()[name]
    table = result._repr_html_()
    assert table.count("<table>") >= 1 and table.count("<table>") == table.count("</table>")
    cells = cells_of(table)
    printed = {
        "speed_recorder": "",  # it prints no table; its numbers are checked below
        "layer_curvature": str(small_results()["layer_curvatures"]),  # one row of that table
    }.get(name, str(result))
    # Every number of the table is one the printed form shows too (the same cells).
    numbers = [cell for cell in cells if re.fullmatch(r"-?[\d.]+(e[+-]\d+)?", cell)]
    assert numbers, cells
    for number in numbers:
        assert not printed or number in printed, number


def test_speed_recorder_table_has_a_row_per_record() -> None:
    recorder = small_results()["speed_recorder"]
    rows = re.findall(r"<tr>(.*?)</tr>", recorder._repr_html_())
    assert len(rows) == 1 + 2  # header, epochs 0 and 1
    speeds = recorder.as_arrays()["speed_bias"]
    assert f"{speeds[1, 0]:.3e}" in rows[2]


def test_a_notebook_shows_tables_and_pictures() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SETUP)]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    for cell, (source, with_picture) in zip(notebook.cells[1:], CELLS.items()):
        outputs = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(outputs) == 1, (source, cell.outputs)
        data = outputs[0]["data"]
        assert "<table>" in data["text/html"] and "</table>" in data["text/html"], source
        assert ("image/svg+xml" in data) == with_picture, source
        if with_picture:
            assert "<svg" in data["image/svg+xml"] and "data:image/svg+xml;base64," in data["text/html"]
