"""A path drawn as a wrapped line comes out near 3:2 whatever its length: the columns and the
gap between rows are chosen from the labels, and checked here on what `dot` really draws."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from microgradvg import Value, chain
from microgradvg.render import draw_chain, save_svg

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
PX_PER_PT = 96 / 72


def tanh_chain(nodes: int) -> tuple[Value, Value]:
    """x → (·1.0001 → tanh) repeated: (y, x), a path of `nodes` nodes (odd), after backward."""
    x = Value(0.5, "x")
    y = x
    for _ in range((nodes - 1) // 2):
        y = (y * 1.0001).tanh()
    y.backward()
    return y, x


def sigmoid_chain(layers: int) -> tuple[Value, Value]:
    """Nielsen's chain of sigmoid neurons, w = 100 and z = 0: (C, b1), a path of 2 · layers + 4 nodes."""
    a, first = Value(1.0, "x"), None
    for layer in range(1, layers + 1):
        w, b = Value(100.0, f"w{layer}"), Value(-100.0 if layer == 1 else -50.0, f"b{layer}")
        first = first or b
        z = Value.linear([w], [a], b)
        z.label = f"z{layer}"
        a = z.sigmoid()
        a.label = f"a{layer}"
    cost = 0.5 * (a - 0.0) ** 2
    cost.label = "C"
    cost.backward()
    assert first is not None
    return cost, first


def rendered_size(path: Path) -> tuple[float, float]:
    root = ET.parse(path).getroot()
    width, height = (float(root.get(side, "0").removesuffix("pt")) * PX_PER_PT for side in ("width", "height"))
    return width, height


@pytest.mark.parametrize(
    "make",
    [
        # Wrapped node by node: 15 to 29 nodes, both the narrow tanh labels and the wider
        # labelled layers, where the count of rows steps (17 nodes: 3 rows or 4).
        *(lambda n=n: tanh_chain(n) for n in (15, 17, 19, 25, 29)),
        *(lambda n=n: sigmoid_chain(n) for n in (5, 6, 9, 13)),
        # Folded into boxes: 30 layers (64 nodes), 2,000 (4,004 nodes), 1,000 tanh (2,001).
        lambda: sigmoid_chain(30),
        lambda: sigmoid_chain(2000),
        lambda: tanh_chain(2001),
    ],
    ids=[*(f"tanh{n}" for n in (15, 17, 19, 25, 29)), *(f"sigmoid{n}" for n in (5, 6, 9, 13)),
         "sigmoid30", "sigmoid2000", "tanh2001"],
)
def test_a_wrapped_or_folded_chain_comes_out_near_3_to_2(tmp_path: Path, make) -> None:
    output, wrt = make()
    picture = draw_chain(chain(output, wrt), k=1)
    assert "rank=same" in picture.source, "not drawn as a wrapped line"
    width, height = rendered_size(save_svg(picture, tmp_path / "chain.svg"))
    assert width <= 2000 and height <= 2000
    assert 1.3 <= width / height <= 1.9, (width, height)
