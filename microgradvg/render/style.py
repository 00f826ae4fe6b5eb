"""The look shared by every picture: the gradient colour scales, numbers, HTML labels, legend.

A gradient's sign picks the hue (red: positive, blue: negative; purple: a norm, whose
elements' signs differ) and its size the strength, one step per decade from |g| ≤ 1e-8
(pale, thin: vanishing) to |g| ≥ 1e2 (dark, thick: exploding), on fixed scales so two
pictures compare by eye. Exactly-zero gradients are grey and dashed everywhere.
"""

from __future__ import annotations

import html
import math
import re
import textwrap
from collections.abc import Sequence

import graphviz

# Numbers are written by ..formatting, their one home for tables and pictures alike; style
# passes on the three a picture uses, so every picture writes them as style.number etc.
from ..formatting import count, number, superscript

# DejaVu Sans Condensed first: its "‖" is clear (in Helvetica's stand-ins it reads as "ll"),
# and it is about as wide as the Helvetica metrics dot lays out HTML labels with.
FONT = "DejaVu Sans Condensed,DejaVu Sans,Helvetica,Arial,sans-serif"

LOWEST_DECADE = -8  # |g| ≤ 1e-8 is drawn as vanishing
HIGHEST_DECADE = 2  # |g| ≥ 1e2 is drawn as exploding
# One colour per decade, LOWEST_DECADE … HIGHEST_DECADE, pale (vanishing) to dark (exploding),
# in three hue families: positive gradients red, negative ones blue (so paths that pull
# opposite ways, and cancel, look different), and norms of mixed-sign arrays purple.
POSITIVE_COLOURS = (
    "#fcbba1", "#fca285", "#fc8a6a", "#fb7252", "#f6573e", "#ef3b2c",
    "#d92623", "#c3161b", "#ad1117", "#8c0912", "#67000d",
)
NEGATIVE_COLOURS = (
    "#c6dbef", "#aed1e7", "#94c4df", "#75b4d8", "#5ba3d0", "#4292c6",
    "#2e7ebc", "#1c6bb0", "#0d57a1", "#084488", "#08306b",
)
DECADE_COLOURS = (  # the norm scale: a ‖gradient‖ with no one sign, a speed of learning
    "#dadaeb", "#c8c9e2", "#b6b6d8", "#a4a1cc", "#928ec2", "#807dba",
    "#7363ac", "#66499f", "#582f93", "#4c1788", "#3f007d",
)
FAMILIES = {1: POSITIVE_COLOURS, -1: NEGATIVE_COLOURS, 0: DECADE_COLOURS}
ZERO_COLOUR = "#b8b8b8"  # a gradient of exactly 0 (a dead relu, an unused input)
UNKNOWN_COLOUR = "#8c8c8c"  # no gradient yet (before backward)
FADED_COLOUR = "#e2e2e2"
FADED_TEXT = "#b4b4b4"
INK = "#222222"
MIN_PEN, MAX_PEN = 0.6, 3.6
TITLE_WIDTH = 100  # characters of a title's line (13-point bold, ~1,000 px); a longer one wraps


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


def look(magnitude: float | None, sign: int = 0) -> Look:
    """Colour and pen width for a gradient of size |g| (None: no gradient yet; NaN: exploding).

    `sign` picks the hue family: +1 red, −1 blue, 0 (a norm of mixed signs) purple; the
    decade of |g| picks the strength and the pen width.
    """
    if magnitude is None:
        return Look(UNKNOWN_COLOUR, 1.0)
    magnitude = abs(magnitude)
    if magnitude == 0.0:
        return Look(ZERO_COLOUR, MIN_PEN, "dashed")
    step = decade(magnitude) - LOWEST_DECADE
    pen = MIN_PEN + (MAX_PEN - MIN_PEN) * step / (HIGHEST_DECADE - LOWEST_DECADE)
    return Look(FAMILIES[sign][step], round(pen, 2))


def signed_look(value: float | None) -> Look:
    """The look of a signed gradient g: red for g > 0, blue for g < 0, by decade of |g|."""
    if value is None or math.isnan(value):
        return look(None if value is None else math.inf)
    return look(abs(value), 1 if value > 0 else -1 if value < 0 else 0)


def gradient_colour(magnitude: float | None, sign: int = 0) -> str:
    """The colour of the fixed scale for a gradient of size |g| and sign (0: a norm)."""
    return look(magnitude, sign).colour


def tint(colour: str, amount: float = 0.82) -> str:
    """`colour` mixed with white (amount 1 = white): a fill light enough for black text."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    mixed = (round(c + (255 - c) * amount) for c in (red, green, blue))
    return "#" + "".join(f"{c:02x}" for c in mixed)


# Characters dot or the SVG's XML cannot carry: C0/C1 controls, lone surrogates, U+FFFE/F.
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 1000  # characters of one piece of text; dot refuses HTML labels over 16,384


def escape(text: str, limit: int = MAX_TEXT) -> str:
    """Text made safe inside a Graphviz HTML label: unprintable characters written as
    escapes (\\x01), anything past `limit` characters cut to an ellipsis, &<>" escaped."""
    text = UNPRINTABLE.sub(lambda match: ascii(match[0])[1:-1], text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


class Markup(str):
    """A caption line already written as Graphviz HTML (escaped, may hold <FONT> etc.)."""


def markup(line: str) -> str:
    """`line` as HTML: a `Markup` line as it is, any other escaped."""
    return line if isinstance(line, Markup) else escape(line)


def html_lines(title: str, *lines: str, size: int = 10) -> str:
    """An HTML label: `title` (already escaped, may contain markup) then smaller plain lines."""
    body = "".join(f'<BR/><FONT POINT-SIZE="{size - 1}">{escape(line)}</FONT>' for line in lines)
    return f"<{title}{body}>"


def title_lines(title: str) -> list[str]:
    """`title` as `new_digraph` writes it: lines of at most TITLE_WIDTH characters, broken
    at spaces where it can, after the first MAX_TEXT characters (so at most 10 lines)."""
    if len(title) > MAX_TEXT:
        title = title[: MAX_TEXT - 1] + "…"
    return textwrap.wrap(title, TITLE_WIDTH, break_on_hyphens=False)


RANKDIRS = ("LR", "TB", "RL", "BT")  # Graphviz's; dot silently lays out any other value TB


def check_rankdir(function: str, rankdir: str, auto: bool = False) -> None:
    """Refuse a `rankdir` Graphviz does not know (and "auto" where `auto` is False), naming
    `function` and the valid values."""
    valid = (("auto",) if auto else ()) + RANKDIRS
    if not isinstance(rankdir, str) or rankdir not in valid:
        raise ValueError(f"{function}: rankdir must be one of {', '.join(map(repr, valid))}; got {rankdir!r}")


def new_digraph(
    title: str = "",
    caption: Sequence[str] = (),
    legend: str | None = None,
    rankdir: str = "LR",
    signs: Sequence[int] = (1, -1),
) -> graphviz.Digraph:
    """An empty Digraph with the house font and sizes, labelled with the title (bold), the
    caption lines and the legend.

    The legend (the colour scales of `signs`, titled by what they measure, e.g.
    "gradient") sits in the graph's label at the top left, so it never disturbs the layout
    of the nodes. A caption line that is `Markup` is written as it is, others are escaped.
    """
    # A long title (a deep network's sizes, say) wraps rather than widen the picture.
    heading = "<BR/>".join(escape(line) for line in title_lines(title))
    rows = [f'<TR><TD ALIGN="LEFT" BALIGN="LEFT"><B>{heading}</B></TD></TR>'] if title else []
    rows += [
        f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10">{markup(line)}</FONT></TD></TR>'
        for line in caption
        if line
    ]
    if legend is not None:
        rows.append(f'<TR><TD ALIGN="LEFT">{legend_table(legend, signs)}</TD></TR>')
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


def legend_table(what: str, signs: Sequence[int] = (1, -1)) -> str:
    """The colour scales as an HTML table: `what` they measure, a row of decades, then one
    row of swatches per hue family in `signs` (1 positive, −1 negative, 0 a norm), and 0."""
    names = {1: "&gt; 0", -1: "&lt; 0", 0: "‖·‖"}
    header = ['<TD></TD>']
    for step in range(len(DECADE_COLOURS)):
        power = LOWEST_DECADE + step
        text = f"≤1e{power}" if step == 0 else f"≥1e{power}" if power == HIGHEST_DECADE else f"1e{power}"
        header.append(f'<TD><FONT POINT-SIZE="8">{escape(text)}</FONT></TD>')
    header.append(
        f'<TD BGCOLOR="#f2f2f2" ROWSPAN="{len(signs) + 1}"><FONT POINT-SIZE="8" COLOR="{INK}">'
        "0<BR/>(dashed)</FONT></TD>"
    )
    rows = [f"<TR>{''.join(header)}</TR>"]
    for sign in signs:
        cells = "".join(
            f'<TD BGCOLOR="{colour}" WIDTH="22" HEIGHT="9"></TD>' for colour in FAMILIES[sign]
        )
        rows.append(f'<TR><TD ALIGN="RIGHT"><FONT POINT-SIZE="8">{names[sign]}</FONT></TD>{cells}</TR>')
    return (
        '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="2">'
        f'<TR><TD COLSPAN="{len(DECADE_COLOURS) + 2}" ALIGN="LEFT"><FONT POINT-SIZE="9">'
        f"{escape(what)}: pale and thin, vanishing; dark and thick, exploding</FONT></TD></TR>"
        f"{''.join(rows)}</TABLE>"
    )


__all__ = [
    "DECADE_COLOURS", "FADED_COLOUR", "FADED_TEXT", "FAMILIES", "FONT", "HIGHEST_DECADE", "INK",
    "LOWEST_DECADE", "MAX_PEN", "MIN_PEN", "NEGATIVE_COLOURS", "POSITIVE_COLOURS",
    "RANKDIRS", "UNKNOWN_COLOUR", "ZERO_COLOUR", "Look", "Markup", "check_rankdir", "count",
    "decade", "escape",
    "gradient_colour", "html_lines", "legend_table", "look", "markup", "new_digraph", "number",
    "signed_look", "superscript", "tint", "title_lines",
]
