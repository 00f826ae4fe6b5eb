"""The k paths with the largest |product| in a Value graph, found without listing them all.

`BestPaths(nodes, parents).top(k)` is a best-first search with an exact bound on ln|factor|:
its cost is the graph's size plus the length of the k paths, however many paths there are
(10³⁰ is common). `Chain.paths(k)` uses it for Value chains.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Edges = tuple[tuple[Any, int], ...]  # a path as ((child, slot in child.parents), …) from wrt up

_NEG_INF = -math.inf


class BestPaths:
    """k largest |products| by best-first search with an exact bound, on ln|factor|.

    best(n) = max over edges n→c of ln|f| + best(c) is the largest completion from n
    (one reverse sweep). Every path is the greedy completion with a last deviation
    (a node, and its r-th best edge); a popped path spawns the next edge at its
    deviation and a first deviation at each node of its greedy tail, only as many as
    still could be among the k. Logs keep ranks right where products underflow; a
    zero factor is ln 0 = −∞, so such paths come last.

    The order, by |product| descending: ±∞ (an infinite factor and no zero), then the
    finite nonzero products, then 0 (a zero factor and no infinity), then NaN (a NaN
    factor, or 0·∞) last; ties in graph order. ln ∞ + ln 0 has no such order, so a graph
    with an infinite or NaN factor is searched class by class (`_top_by_class`).
    """

    def __init__(self, nodes: Sequence[Any], parents: Sequence[Sequence[tuple[int, int]]]) -> None:
        """One reverse sweep for best(n) and each node's two best out-edges. `nodes` are in
        topological order, wrt first and output last; `parents[c]` are the in-edges of node
        c as (parent position, slot in its parents)."""
        m = len(nodes)
        best, second = [_NEG_INF] * m, [_NEG_INF] * m
        best[-1] = 0.0
        degree = [0] * m
        # The best and second-best out-edge of each node, as (child, slot, ln|factor|);
        # flat lists of numbers, so building them allocates no objects per node.
        child1, slot1, ln1 = [0] * m, [0] * m, [0.0] * m
        child2, slot2, ln2 = [0] * m, [0] * m, [0.0] * m
        infinite_or_nan = False
        log = math.log
        with gc_paused():
            for c in range(m - 1, 0, -1):
                below, derivatives = best[c], nodes[c].local_derivatives
                for p, slot in parents[c]:
                    d = derivatives[slot]
                    ln = log(abs(d)) if d else _NEG_INF  # _ln_abs, inline: once per edge
                    if not ln < math.inf:  # ∞ or NaN: ranked by `_top_by_class`
                        infinite_or_nan = True
                    v = ln + below
                    seen = degree[p]
                    degree[p] = seen + 1
                    if seen == 0:
                        best[p], child1[p], slot1[p], ln1[p] = v, c, slot, ln
                    elif v > best[p]:  # the old best becomes the runner-up
                        second[p], child2[p], slot2[p] = best[p], child1[p], slot1[p]
                        ln2[p] = ln1[p]
                        best[p], child1[p], slot1[p], ln1[p] = v, c, slot, ln
                    elif seen == 1 or v > second[p]:
                        second[p], child2[p], slot2[p], ln2[p] = v, c, slot, ln
        self.nodes, self.parents, self.degree = nodes, parents, degree
        self.best, self.second = best, second
        self.first = (child1, slot1, ln1)
        self.runner_up = (child2, slot2, ln2)
        self._ranked: dict[int, list] | None = None
        self.infinite_or_nan = infinite_or_nan

    def edge(self, u: int, rank: int) -> tuple[float, int, int, float]:
        """Node u's out-edge of this rank by completion value (ties in graph order):
        (ln|f| + best(child), child, slot, ln|f|)."""
        if rank < 2:
            children, slots, lns = self.first if rank == 0 else self.runner_up
            child, slot, ln = children[u], slots[u], lns[u]
            return (ln + self.best[child], child, slot, ln)
        if self._ranked is None:  # every node's out-edges, only once a third one is wanted
            nodes, parents = self.nodes, self.parents
            out: dict[int, list] = {}
            for c in range(len(nodes) - 1, 0, -1):
                derivatives = nodes[c].local_derivatives
                for p, slot in parents[c]:
                    if self.degree[p] > 2:
                        ln = _ln_abs(derivatives[slot])
                        out.setdefault(p, []).append((ln + self.best[c], c, slot, ln))
            self._ranked = {p: sorted(edges, key=lambda e: -e[0]) for p, edges in out.items()}
        return self._ranked[u][rank]

    def top(self, k: int) -> list[tuple[Edges, float]]:
        """The k paths with the largest |product|, largest first: each as its edges
        ((child, slot), …) from wrt up, and ln|product| (∞ for ±∞, NaN for NaN)."""
        if self.infinite_or_nan:
            return self._top_by_class(k)
        last, second, degree = len(self.nodes) - 1, self.second, self.degree
        child1, slot1, ln1 = self.first
        found: list[tuple[list, list, list]] = []  # (positions, slots, prefix logs)
        heap: list[tuple] = [(-self.best[0], 0, None, 0, 0, 0)]
        counter = 1
        with gc_paused():
            while heap and len(found) < k:
                _, _, base, cut, u, rank = heapq.heappop(heap)
                if base is None:
                    at, slots, logs, start = [0], [], [0.0], 0
                else:
                    at, slots, logs = base[0][:cut + 1], base[1][:cut], base[2][:cut + 1]
                    _, c, slot, ln = self.edge(u, rank)
                    at.append(c)
                    slots.append(slot)
                    logs.append(logs[-1] + ln)
                    start = cut + 1
                    if rank + 1 < degree[u]:
                        value = logs[cut] + self.edge(u, rank + 1)[0]
                        heapq.heappush(heap, (-value, counter, base, cut, u, rank + 1))
                        counter += 1
                n, total = at[-1], logs[-1]
                while n != last:
                    total += ln1[n]
                    slots.append(slot1[n])
                    n = child1[n]
                    at.append(n)
                    logs.append(total)
                record = (at, slots, logs)
                found.append(record)
                still = k - len(found)
                if still:
                    deviations = [(logs[j] + second[at[j]], j) for j in range(start, len(at) - 1)
                                  if degree[at[j]] > 1]
                    for value, j in heapq.nlargest(still, deviations):
                        heapq.heappush(heap, (-value, counter, record, j, at[j], 1))
                        counter += 1
        nodes = self.nodes
        return [
            (tuple((nodes[at[j + 1]], slot) for j, slot in enumerate(slots)), logs[-1])
            for at, slots, logs in found
        ]


    def _top_by_class(self, k: int) -> list[tuple[Edges, float]]:
        """`top(k)` when some factor is ±∞ or NaN: the ±∞ paths (any k of them: they tie),
        then the finite ones by a search over the finite nonzero edges alone, then the
        zeros, then the NaNs. reach[n][s] is the set of classes a path can end in from
        node n, entered with a prefix of class s: one reverse sweep."""
        nodes, parents = self.nodes, self.parents
        m = len(nodes)
        kinds = [[_kind(nodes[c].local_derivatives[slot]) for _, slot in parents[c]]
                 for c in range(m)]
        reach = [[0] * 4 for _ in range(m)]
        reach[-1] = [1 << s for s in range(4)]
        children: list[list[tuple[int, int, int]]] = [[] for _ in range(m)]
        with gc_paused():
            for c in range(m - 1, 0, -1):
                below = reach[c]
                for (p, slot), kind in zip(parents[c], kinds[c]):
                    children[p].append((c, slot, kind))
                    ahead = reach[p]
                    for s in range(4):
                        ahead[s] |= below[_THEN[s][kind]]
        found: list[tuple[Edges, float]] = []
        for wanted in (INFINITE, FINITE, ZERO, NAN):
            still = k - len(found)
            if still <= 0:
                break
            if reach[0][FINITE] >> wanted & 1 == 0:
                continue
            if wanted == FINITE:
                found += self._finite_only(kinds, reach).top(still)
                continue
            log_abs = {INFINITE: math.inf, ZERO: _NEG_INF, NAN: math.nan}[wanted]
            # Depth first over (node, class of the prefix), only into states that can
            # still end in `wanted`: every step leads to a path, so this costs O(k·length).
            stack: list[tuple[int, int, Any]] = [(0, FINITE, None)]
            while stack and len(found) < k:
                n, state, link = stack.pop()
                if n == m - 1:
                    edges = []
                    while link is not None:
                        link, c, slot = link
                        edges.append((nodes[c], slot))
                    found.append((tuple(reversed(edges)), log_abs))
                    continue
                for c, slot, kind in reversed(children[n]):
                    after = _THEN[state][kind]
                    if reach[c][after] >> wanted & 1:
                        stack.append((c, after, (link, c, slot)))
        return found

    def _finite_only(self, kinds: list[list[int]], reach: list[list[int]]) -> BestPaths:
        """The search over the paths whose factors are all finite and nonzero: the nodes
        on such a path from wrt to output, and only those edges."""
        nodes, parents = self.nodes, self.parents
        position: dict[int, int] = {0: 0}
        kept_nodes: list[Any] = [nodes[0]]
        kept_parents: list[list[tuple[int, int]]] = [[]]
        for c in range(1, len(nodes)):
            if reach[c][FINITE] >> FINITE & 1 == 0:
                continue
            edges = [(position[p], slot) for (p, slot), kind in zip(parents[c], kinds[c])
                     if kind == FINITE and p in position]
            if edges:
                position[c] = len(kept_nodes)
                kept_nodes.append(nodes[c])
                kept_parents.append(edges)
        return BestPaths(kept_nodes, kept_parents)


# A path's product is in one of four classes: its factors all finite and nonzero, or
# with an infinite factor (±∞), a zero factor (0), or a NaN factor or both 0 and ∞ (NaN).
FINITE, INFINITE, ZERO, NAN = 0, 1, 2, 3
# _THEN[class of a prefix][kind of the next factor] = class of the longer prefix.
_THEN = (
    (FINITE, INFINITE, ZERO, NAN),
    (INFINITE, INFINITE, NAN, NAN),
    (ZERO, NAN, ZERO, NAN),
    (NAN, NAN, NAN, NAN),
)


def _kind(d: float) -> int:
    """The class of a one-factor path d."""
    if d == 0.0:
        return ZERO
    if math.isinf(d):
        return INFINITE
    return NAN if math.isnan(d) else FINITE


def _ln_abs(d: float) -> float:
    """ln|d|, with ln 0 = −∞ (ln ∞ = ∞ and ln NaN = NaN send the search to `_top_by_class`)."""
    if d == 0.0:
        return _NEG_INF
    return math.log(abs(d))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building tables over a large graph.

    The tables hold no cycles, but their many small containers would trigger full
    collections that walk the whole graph again and again (2–3× slower).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


__all__ = ["BestPaths", "Edges", "gc_paused"]
