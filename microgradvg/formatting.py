"""How numbers and tables are written, in one place: the printed tables and the pictures use it.

`significant(x)` writes a float in a REPL table, `number(x)` in a picture label, `count(n)` an
exact count (≈ m×10^e once it is huge), `superscript(3)` a layer index; `aligned_table` lines
up rows of cells into columns, and `html_table` writes the same cells for Jupyter.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

DASH = "—"  # a number that does not exist: no next layer, no finite step, no gradient yet

# Floats are written in two styles, each pinned by the tutorials' transcripts and the tests:
# tables printed in the REPL (chain, spread) use `significant`, Python's general format, which
# drops trailing zeros (4.5e-07); picture labels use `number`, which keeps its figures in
# exponent form (4.50e-07) so labels along one scale have one length, and never writes a
# four-figure value such as 1953 in exponent form.


def significant(x: float, digits: int = 4) -> str:
    """x to `digits` significant figures in Python's general format: 0.001234, 1e-05, 1.235e+05."""
    return f"{x:.{digits}g}"


def number(x: float, digits: int = 4) -> str:
    """A float for a label: `digits` significant figures, exponent only when needed."""
    if x == 0.0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if 1e-3 <= abs(x) < 1e5:
        text = f"{x:.{digits}g}"
        return f"{x:.0f}" if "e" in text else text  # 1953.1 with 3 digits: "1953", not "1.95e+03"
    return f"{x:.{max(digits - 2, 1)}e}"


def optional(value: float | None, spec: str) -> str:
    """`value` in the format `spec` (".3e"), or a dash when there is none."""
    return DASH if value is None else format(value, spec)


def percent(fraction: float) -> str:
    """A fraction as a percentage to 4 significant figures: 0.25 → '25%'."""
    return f"{100 * fraction:.4g}%"


def count(n: int) -> str:
    """An exact count with thousands separators, or ≈ m×10^e when it has over 15 digits."""
    if n < 10**15:
        return f"{n:,}"
    exponent = math.log10(n)  # exact enough for any int, and never str() of a 10⁴⁰⁰⁰-sized one
    whole = math.floor(exponent)
    return f"≈{10 ** (exponent - whole):.3f}×10^{whole}"


def from_log10(sign: float, log10: float) -> str:
    """A number too small (or large) for a float, from its sign and log₁₀|x|: -3.2e-400."""
    whole = math.floor(log10)
    return f"{'-' if sign < 0 else ''}{10 ** (log10 - whole):.4g}e{whole:+d}"


def superscript(n: int) -> str:
    """n in superscript digits: 12 → ¹², -1 → ⁻¹."""
    return str(n).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))


def aligned_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], left: Collection[int] = (),
    indent: str = "",
) -> list[str]:
    """The rows under the header in columns: columns in `left` aligned left, the others right.

    A row of one cell is a note (an elision, "⋮ 40 more"): it is written as it is and does
    not widen the columns.
    """
    full = [header] + [row for row in rows if len(row) > 1]
    widths = [max(len(row[i]) for row in full) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        if len(row) == 1:
            lines.append(indent + row[0])
            continue
        cells = [
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines


def html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], left: Collection[int] = (),
    caption: str = "", notes: Sequence[str] = (),
) -> str:
    """The cells `aligned_table` takes, as an HTML <table> for Jupyter's `_repr_html_`.

    The caption goes above, each note in a last row across every column; columns in `left`
    align left, the others right, so that numbers line up as in the printed table. A row
    of one cell (an elision) spans the table too.
    """
    def cell(tag: str, text: str, column: int) -> str:
        align = "left" if column in left else "right"
        return f'<{tag} style="text-align:{align}">{html.escape(text)}</{tag}>'

    def spanning(text: str) -> str:
        return f'<tr><td colspan="{len(header)}" style="text-align:left">{html.escape(text)}</td></tr>'

    head = "<tr>" + "".join(cell("th", text, i) for i, text in enumerate(header)) + "</tr>"
    body = [
        spanning(row[0]) if len(row) == 1
        else "<tr>" + "".join(cell("td", text, i) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    ]
    body += [spanning(note) for note in notes]
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


# Jupyter's pictures: render/ (above the classes it draws) registers a drawer per class that
# returns SVG text, or None when Graphviz cannot draw it; `picture` looks one up.
_DRAWERS: dict[type, Callable[[Any], str | None]] = {}


def register_picture(kind: type, draw: Callable[[Any], str | None]) -> None:
    """Let objects of `kind` show as a picture in Jupyter: `draw(obj)` returns SVG text."""
    _DRAWERS[kind] = draw


def picture(obj: Any) -> str | None:
    """The SVG of `obj` from the drawer registered for its class, or None if there is none."""
    for kind in type(obj).__mro__:
        if kind in _DRAWERS:
            return _DRAWERS[kind](obj)
    return None


def rich_display(obj: Any, table: str) -> dict[str, str]:
    """A Jupyter mime bundle: the HTML `table` with the object's picture under it, the picture
    on its own as image/svg+xml, and the printed form as text/plain."""
    bundle = {"text/plain": repr(obj), "text/html": table}
    svg = picture(obj)
    if svg is not None:
        encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        # An <img> rather than inline SVG: Graphviz reuses ids (graph0, node1), which would
        # clash between two pictures inlined in one notebook page.
        bundle["text/html"] += f'<img src="data:image/svg+xml;base64,{encoded}">'
        bundle["image/svg+xml"] = svg
    return bundle


__all__ = [
    "DASH", "aligned_table", "count", "from_log10", "html_table", "number", "optional", "percent",
    "picture", "register_picture", "rich_display", "significant", "superscript",
]
