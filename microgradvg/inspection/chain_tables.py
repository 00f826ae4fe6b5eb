"""The printed form of a chain: each path as an aligned table, factor by factor, and a summary.

A Value path shows each factor and the running product (written from its logarithm where the
float underflows); a Tensor path each Jacobian's shape, ‖J‖, gain and the path's gradient
norm. `print(chain)` and `print(path)` come here; nothing else needs to.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..formatting import (
    DASH,
    aligned_table,
    count,
    from_log10,
    html_table,
    optional,
    percent,
    significant,
)

if TYPE_CHECKING:  # for the annotations only: chain imports this module
    from .chain import Chain, Factor, Path

# Paths longer than this print their first and last few factors only.
LONG_PATH = 24
WIDTH = 100  # a terminal's columns: a wider table cuts its op names


def chain_table(chain: Chain, shown: list[Path]) -> str:
    """The title ∂output/∂wrt = …, a table for each path in `shown`, and the summary line."""
    lines = [_title(chain), ""]
    for rank, path in enumerate(shown, start=1):
        lines += [path.table(f"path {rank} of {count(chain.num_paths)}"), ""]
    lines.append(_summary(chain, shown))
    return "\n".join(lines)


def chain_html(chain: Chain, shown: list[Path]) -> str:
    """The same as `chain_table`, for Jupyter: one HTML table per path."""
    parts = [f"<p>{html.escape(_title(chain))}</p>"]
    for rank, path in enumerate(shown, start=1):
        parts.append(path_html(path, f"path {rank} of {count(chain.num_paths)}"))
    parts.append(f"<p>{html.escape(_summary(chain, shown))}</p>")
    return "".join(parts)


def _title(chain: Chain) -> str:
    gradient = f"∂{chain.name(chain.output)}/∂{chain.name(chain.wrt)}"
    if chain.num_paths == 1:
        return f"{gradient} = the product of the factors along its one path"
    return f"{gradient} = sum over {count(chain.num_paths)} paths of the product of their factors"


def _summary(chain: Chain, shown: list[Path]) -> str:
    """How much of the total the shown paths carry: Σ shown / total, or for tensors the
    projection ⟨Σ shown, total⟩ / ‖total‖²."""
    total = chain.total
    if not shown:
        return (f"{count(chain.num_paths)} paths, too many to rank one by one in a Tensor "
                f"chain; ‖total‖ = {significant(float(np.linalg.norm(total)))}")
    if chain.is_tensor:
        part = sum((p.product for p in shown), np.zeros(chain.wrt.shape))
        size = float(np.vdot(total, total))
        share = float(np.vdot(part, total)) / size if size else math.nan
        what = f"‖total‖ = {significant(math.sqrt(size))}"
        text = "carry"
    else:
        part = math.fsum(p.product for p in shown)
        share = part / total if total else math.nan
        what = f"total = {significant(total)}"
        text = f"sum to {significant(part)} ="
    if len(shown) == chain.num_paths:
        return f"{count(chain.num_paths)} path{'s' if len(shown) != 1 else ''}, {what}"
    shown_share = DASH if math.isnan(share) else percent(share)
    return (f"{len(shown)} of {count(chain.num_paths)} paths shown; they {text} {shown_share} of "
            f"the total; {what}")


def path_table(path: Path, title: str = "") -> str:
    """The aligned factor-by-factor table of one path, headed by `title` if given.

    A Tensor path's last column, ‖path grad‖, is the norm of the path's gradient at the
    factor's parent: the seed times the Jacobians from the output down to that parent.
    """
    return _with_heading(path, title, *_path_cells(path))


def path_html(path: Path, title: str = "") -> str:
    """The same table as `path_table`, as HTML for Jupyter, its heading as the caption."""
    summary, header, rows = _path_cells(path)
    return html_table(header, _elide(rows), left=(1, 2), caption=_heading(path, title, summary))


def _path_cells(path: Path) -> tuple[str, list[str], list[list[str]]]:
    """A path's summary ("product = …"), the header of its table and one row per factor."""
    if path.chain.is_tensor:
        return _tensor_path_cells(path)
    return _value_path_cells(path)


def brief(x: Any) -> str:
    """A product for a repr: a float to 4 figures, an array by its shape and norm."""
    if isinstance(x, np.ndarray):
        return f"array{x.shape} ‖·‖={significant(float(np.linalg.norm(x)))}"
    return significant(x)


def _value_path_cells(path: Path) -> tuple[str, list[str], list[list[str]]]:
    rows, running, sign, log10 = [], 1.0, 1.0, 0.0
    for step, factor in enumerate(path.factors, start=1):
        value = factor.value
        running *= value
        sign *= -1.0 if value < 0 else 1.0
        log10 += math.log10(abs(value)) if value else -math.inf
        fits = running != 0.0 and math.isfinite(running)
        shown = significant(running) if fits or not math.isfinite(log10) else from_log10(sign, log10)
        rows.append([str(step), factor.op, _joins(path.chain, factor), significant(value), shown])
    product = path.product
    if (product == 0.0 or not math.isfinite(product)) and math.isfinite(log10):
        summary = f"product = {from_log10(sign, log10)} ({float(product)} as a float)"
    else:
        summary = f"product = {significant(product)}"
    return summary, ["step", "op", "joins", "factor", "running product"], rows


def _tensor_path_cells(path: Path) -> tuple[str, list[str], list[list[str]]]:
    gradients = path.gradients()
    rows = []
    for step, factor in enumerate(path.factors, start=1):
        tensor_factor = factor.value
        rows_, columns = tensor_factor.shape
        rows.append([
            str(step), factor.op, _joins(path.chain, factor), f"{rows_}×{columns}",
            significant(tensor_factor.norm()), optional(tensor_factor.gain, ".4g"),
            significant(float(np.linalg.norm(gradients[step - 1]))),
        ])
    summary = f"‖product‖ = {significant(float(np.linalg.norm(path.product)))}"
    return summary, ["step", "op", "joins", "J shape", "‖J‖", "gain", "‖path grad‖"], rows


def _with_heading(path: Path, title: str, summary: str, header: list[str],
                  rows: list[list[str]]) -> str:
    """'title: n factors, summary' over the table, its middle elided for long paths."""
    lines = [_heading(path, title, summary)]
    table = aligned_table(header, _elide(rows), left=(1, 2), indent="  ")
    if max(len(line) for line in table) > WIDTH:
        # Cut long op names (sigmoid_cros…) to fit a terminal; an unlabelled node's name in
        # the joins column, the usual cause of the width, still spells the op out.
        short = [[row[0], _cut(row[1]), *row[2:]] if len(row) > 1 else row for row in rows]
        table = aligned_table(header, _elide(short), left=(1, 2), indent="  ")
    return "\n".join(lines + table)


def _heading(path: Path, title: str, summary: str) -> str:
    head = f"{title}: " if title else ""
    return f"{head}{len(path)} factor{'s' if len(path) != 1 else ''}, {summary}"


def _cut(op: str, most: int = 12) -> str:
    return op if len(op) <= most else op[: most - 1] + "…"


def _elide(rows: list[list[str]]) -> list[list[str]]:
    if len(rows) <= LONG_PATH:
        return rows
    keep = LONG_PATH // 3
    return rows[:keep] + [[f"⋮  ({len(rows) - 2 * keep:,} more factors)"]] + rows[-keep:]


def _joins(chain: Chain, factor: Factor) -> str:
    """`parent → child`, naming the input slot when the parent fills several (x·x)."""
    text = f"{chain.name(factor.parent)} → {chain.name(factor.child)}"
    if sum(parent is factor.parent for parent in factor.child.parents) > 1:
        text += f" (input {factor.index + 1})"
    return text


__all__ = ["LONG_PATH", "brief", "chain_html", "chain_table", "path_html", "path_table"]
