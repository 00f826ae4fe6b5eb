"""A path drawn as a wrapped line comes out near 3:2 whatever its length: the columns and the
gap between rows are chosen from the labels, and checked here on what `dot` really draws."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from graphs import nielsen_chain, tanh_chain

from microgradvg import chain
from microgradvg.render import draw_chain, save_svg

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
PX_PER_PT = 96 / 72




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
        *(lambda n=n: nielsen_chain(n) for n in (5, 6, 9, 13)),
        # Folded into boxes: 30 layers (64 nodes), 2,000 (4,004 nodes), 1,000 tanh (2,001).
        lambda: nielsen_chain(30),
        lambda: nielsen_chain(2000),
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
