"""The look shared by every picture: the gradient colour scale, numbers, HTML labels, legend.

One fixed scale maps a gradient magnitude to a colour and a pen width, one colour per decade
from |g| ≤ 1e-8 (pale blue: vanishing) to |g| ≥ 1e2 (red: exploding), so two pictures can be
compared by eye. Exactly-zero gradients get their own grey, dashed look.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import graphviz

# Numbers are written by ..formatting, their one home for tables and pictures alike; style
# passes on the three a picture uses, so every picture writes them as style.number etc.
from ..formatting import count, number, superscript

FONT = "Helvetica,Arial,sans-serif"

LOWEST_DECADE = -8  # |g| ≤ 1e-8 is drawn as vanishing
HIGHEST_DECADE = 2  # |g| ≥ 1e2 is drawn as exploding
# One colour per decade, LOWEST_DECADE … HIGHEST_DECADE: pale blue → deep blue → plum → red.
DECADE_COLOURS = (
    "#d4e4f4",  # ≤ 1e-8
    "#b5cfea",  # 1e-7
    "#93b8de",  # 1e-6
    "#6f9fd1",  # 1e-5
    "#4d84c2",  # 1e-4
    "#356aae",  # 1e-3
    "#335094",  # 1e-2
    "#46398a",  # 1e-1
    "#74307c",  # 1e0
    "#ad2b55",  # 1e1
    "#e3202b",  # ≥ 1e2
)
ZERO_COLOUR = "#b8b8b8"  # a gradient of exactly 0 (a dead relu, an unused input)
UNKNOWN_COLOUR = "#8c8c8c"  # no gradient yet (before backward)
FADED_COLOUR = "#e2e2e2"
FADED_TEXT = "#b4b4b4"
INK = "#222222"
MIN_PEN, MAX_PEN = 0.6, 3.6


class Look:
    """Colour, pen width and line style for one gradient magnitude."""

    __slots__ = ("colour", "pen", "style")

    def __init__(self, colour: str, pen: float, style: str = "solid") -> None:
        self.colour, self.pen, self.style = colour, pen, style


def decade(magnitude: float) -> int:
    """⌊log10 |g|⌋ clipped to the scale, LOWEST_DECADE … HIGHEST_DECADE (|g| > 0)."""
    if not math.isfinite(magnitude):
        return HIGHEST_DECADE
    return max(LOWEST_DECADE, min(HIGHEST_DECADE, math.floor(math.log10(magnitude))))


def look(magnitude: float | None) -> Look:
    """Colour and pen width for gradient magnitude |g| (None: no gradient yet; NaN: exploding)."""
    if magnitude is None:
        return Look(UNKNOWN_COLOUR, 1.0)
    magnitude = abs(magnitude)
    if magnitude == 0.0:
        return Look(ZERO_COLOUR, MIN_PEN, "dashed")
    step = decade(magnitude) - LOWEST_DECADE
    pen = MIN_PEN + (MAX_PEN - MIN_PEN) * step / (HIGHEST_DECADE - LOWEST_DECADE)
    return Look(DECADE_COLOURS[step], round(pen, 2))


def gradient_colour(magnitude: float | None) -> str:
    """The colour of the fixed scale for gradient magnitude |g| (see `DECADE_COLOURS`)."""
    return look(magnitude).colour


def tint(colour: str, amount: float = 0.82) -> str:
    """`colour` mixed with white (amount 1 = white): a fill light enough for black text."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    mixed = (round(c + (255 - c) * amount) for c in (red, green, blue))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def escape(text: str) -> str:
    """Text made safe inside a Graphviz HTML label."""
    return html.escape(text, quote=True)


def html_lines(title: str, *lines: str, size: int = 10) -> str:
    """An HTML label: `title` (already escaped, may contain markup) then smaller plain lines."""
    body = "".join(f'<BR/><FONT POINT-SIZE="{size - 1}">{escape(line)}</FONT>' for line in lines)
    return f"<{title}{body}>"


def new_digraph(
    title: str = "", caption: Sequence[str] = (), legend: str | None = None, rankdir: str = "LR"
) -> graphviz.Digraph:
    """An empty Digraph with the house font and sizes, labelled with the title (bold), the
    caption lines and the legend.

    The legend (the colour scale, titled by what it measures, e.g. "|gradient|") sits in the
    graph's label at the top left, so it never disturbs the layout of the nodes.
    """
    rows = [f'<TR><TD ALIGN="LEFT"><B>{escape(title)}</B></TD></TR>'] if title else []
    rows += [
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">{escape(line)}</FONT></TD></TR>'
        for line in caption
        if line
    ]
    if legend is not None:
        rows.append(f'<TR><TD ALIGN="LEFT">{legend_table(legend)}</TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
    label = f"<{table}{''.join(rows)}</TABLE>>"
    return graphviz.Digraph(
        graph_attr={
            "rankdir": rankdir,
            "fontname": FONT,
            "fontsize": "13",
            "bgcolor": "white",
            "nodesep": "0.18",
            "ranksep": "0.45",
            "labelloc": "t",
            "labeljust": "l",
            "label": label if rows else "",
        },
        node_attr={"fontname": FONT, "fontsize": "10", "fontcolor": INK, "margin": "0.08,0.04"},
        edge_attr={"fontname": FONT, "fontsize": "9", "fontcolor": INK, "arrowsize": "0.6"},
    )


def legend_table(what: str) -> str:
    """The colour scale as an HTML table: `what` it measures, then one swatch per decade and 0."""
    cells = []
    for step, colour in enumerate(DECADE_COLOURS):
        power = LOWEST_DECADE + step
        text = (
            f"≤1e{power}"
            if step == 0
            else f"≥1e{power}"
            if power == HIGHEST_DECADE
            else f"1e{power}"
        )
        ink = "white" if step >= 5 else INK
        cells.append(
            f'<TD BGCOLOR="{colour}"><FONT COLOR="{ink}" POINT-SIZE="8">{escape(text)}</FONT></TD>'
        )
    cells.append(f'<TD BGCOLOR="#f2f2f2"><FONT POINT-SIZE="8" COLOR="{INK}">0 (dashed)</FONT></TD>')
    return (
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="3"><TR>'
        f'<TD><FONT POINT-SIZE="9">{escape(what)}:</FONT></TD>{"".join(cells)}'
        '<TD><FONT POINT-SIZE="9">(pale blue: vanishing, red: exploding)</FONT></TD></TR></TABLE>'
    )


__all__ = [
    "DECADE_COLOURS", "FADED_COLOUR", "FADED_TEXT", "FONT", "HIGHEST_DECADE", "INK",
    "LOWEST_DECADE", "MAX_PEN", "MIN_PEN", "UNKNOWN_COLOUR", "ZERO_COLOUR", "Look", "count",
    "decade", "escape", "gradient_colour", "html_lines", "legend_table", "look", "new_digraph",
    "number", "superscript", "tint",
]
