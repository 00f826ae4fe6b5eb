"""Where a grouped picture's groups go: its ranks, the spine of groups one chain runs
through (`spine`), and a deep network's spine cut into columns of whole layers, like a
newspaper's (`in_columns`). `collapse` chooses among these from the groups and their links.
"""

from __future__ import annotations

import graphviz

from . import rows, style
from .nodes import MAX_LABEL

NOTE = {"shape": "plaintext", "fontsize": "9", "fontcolor": style.INK}  # "to …", "from …"
CAPTION_HEIGHT = 130.0  # points: a grouped view's caption and legend, for the snake's rows


def ranks(groups: int, links: list[tuple[int, int]]) -> int:
    """How many ranks the groups take: 1 + the longest chain of links (cycles cut)."""
    rank = [0] * groups
    for _ in range(groups):
        changed = False
        for parent, child in links:
            if rank[parent] + 1 > rank[child] and rank[parent] < groups:
                rank[child] = rank[parent] + 1
                changed = True
        if not changed:
            break
    return 1 + max(rank, default=0)


def in_columns(
    graph: graphviz.Digraph,
    nodes: list[dict[str, str]],
    names: list[str],
    spine: list[int],
    edges: dict[tuple[int, int], dict[str, str]],
    steps: dict[tuple[int, int], dict[str, str]],
) -> set[int]:
    """Lay a long spine fed by side groups (a deep network: layer after layer, each fed by
    its weights and biases) out in columns, like a newspaper's, near 3:2: each column a
    cluster of whole layers, read top to bottom and left to right; the step from the foot
    of a column to the top of the next is an arrow out to a note "to …" and one in from a
    note "from …". Moves every step but those jumps into `edges` (drawn by the caller);
    returns the groups it drew."""
    width, box_height = element_size([nodes[g] for g in spine], list(steps.values()))
    # Top to bottom, dot gives each edge label a rank of its own: a step is box, label and gaps.
    label_height = max(rows.text_size(edge["label"])[1] for edge in steps.values())
    height = box_height + label_height + 25.0
    sides: dict[int, list[int]] = {}
    for source, target in edges:
        sides.setdefault(target, []).append(source)
    side_width = element_size([nodes[s] for s, _ in edges], [])[0]
    width = max(width, max(len(fed) for fed in sides.values()) * side_width)
    per_column = rows.columns(len(spine), width, height, CAPTION_HEIGHT, across=False)
    tops = _column_tops(spine, set(sides), per_column)
    placed: set[int] = set()
    # Defined before any other node, the clusters keep their order: left to right.
    for k, (top, stop) in enumerate(zip(tops, [*tops[1:], len(spine)])):
        with graph.subgraph(name=f"cluster_column{k}") as column:
            column.attr(style="invis", label="")  # not the graph's caption again
            if k:
                source, target = spine[top - 1], spine[top]
                column.node(f"g{target}_in", label=f"→ from {names[source][:MAX_LABEL]}", **NOTE)
                into = {key: value for key, value in steps.pop((source, target)).items() if key != "label"}
                column.edge(f"g{target}_in", f"g{target}", **into)
            for g in spine[top:stop]:
                for side in sides.get(g, []):
                    column.node(f"g{side}", **nodes[side])
                    placed.add(side)
                column.node(f"g{g}", group=f"column{k}", **nodes[g])  # straight down the column
                placed.add(g)
            if stop < len(spine):
                source, target = spine[stop - 1], spine[stop]
                column.node(f"g{source}_out", label=f"to {names[target][:MAX_LABEL]} →", **NOTE)
                column.edge(f"g{source}", f"g{source}_out", **steps[(source, target)])
    edges.update(steps)
    return placed


def _column_tops(spine: list[int], fed: set[int], per_column: int) -> list[int]:
    """Where each column of a spine starts (positions): about every `per_column` groups, at
    the nearest group fed by side groups (a layer's first op), never at the last one."""
    starts = [i for i, g in enumerate(spine) if g in fed and 0 < i < len(spine) - 1]
    tops = [0]
    for wanted in range(per_column, len(spine) - 1, per_column):
        best = min(starts, key=lambda i: abs(i - wanted), default=None)
        if best is not None and best > tops[-1]:
            tops.append(best)
    return tops


def spine(groups: int, links: list[tuple[int, int]]) -> list[int] | None:
    """The longest chain of groups through the links, if every other group only feeds it
    (no link into it, every link out of it into the chain); None otherwise, or on a cycle."""
    into: list[list[int]] = [[] for _ in range(groups)]
    waiting = [0] * groups
    for source, target in links:
        into[target].append(source)
        waiting[target] += 1
    ready = [g for g in range(groups) if not waiting[g]]
    length, before = [1] * groups, [-1] * groups
    order = []
    out: list[list[int]] = [[] for _ in range(groups)]
    for source, target in links:
        out[source].append(target)
    while ready:  # Kahn's order, with the longest chain into each group
        g = ready.pop()
        order.append(g)
        for target in out[g]:
            if length[g] + 1 > length[target]:
                length[target], before[target] = length[g] + 1, g
            waiting[target] -= 1
            if not waiting[target]:
                ready.append(target)
    if len(order) < groups:
        return None  # a cycle
    end = max(range(groups), key=lambda g: (length[g], g))
    spine = [end]
    while before[spine[-1]] >= 0:
        spine.append(before[spine[-1]])
    spine.reverse()
    if len(spine) > 1 and len(into[spine[1]]) > 1:
        spine.pop(0)  # one of several inputs to the first op (weights, biases, inputs): a side one
    on = set(spine)
    side = all(not into[g] and all(t in on for t in out[g]) for g in range(groups) if g not in on)
    return spine if side else None


def element_size(nodes: list[dict[str, str]], edges: list[dict[str, str]]) -> tuple[float, float]:
    """The place one group and its edge take in a snake, in points (wide: beside, tall: above)."""
    boxes = [rows.text_size(node["label"]) for node in nodes]
    labels = [rows.text_size(edge["label"]) for edge in edges]
    width = max(w for w, _ in boxes) + max((w for w, _ in labels), default=0.0) + 40.0
    return width, max(h for _, h in boxes) + 40.0


__all__ = ["CAPTION_HEIGHT", "element_size", "in_columns", "ranks", "spine"]
