"""Chains: a gradient ∂output/∂wrt as a sum over paths of products of chain-rule factors.

`chain(output, wrt)` counts the paths exactly, finds the k largest without enumerating
them, sums them (the sum is the gradient `backward()` gives) and prints them factor by
factor with the running product, for `Value` and `Tensor` graphs alike.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from .formatting import DASH, aligned_table, count, from_log10, percent, significant
from .graph import topological_order
from .scalar import Value
from .tensor import Tensor

Node = Value | Tensor

# paths() without k, and Tensor chains (whose paths are ranked by computing each one),
# enumerate every path; beyond this many they ask for a k or a smaller graph instead.
MAX_ENUMERATED_PATHS = 100_000
# Paths longer than this print their first and last few factors only.
LONG_PATH = 24
SHOWN_PATHS = 3

_NEG_INF = -math.inf


@dataclass(frozen=True)
class Factor:
    """One edge of a path, the chain-rule factor ∂child/∂parent on it.

    `parent` is the node nearer `wrt`, `child` the one nearer `output`, `index` the
    parent's slot in `child.parents`. `value` is a float for Value graphs
    (`child.local_derivatives[index]`) and a `TensorFactor` for Tensor graphs.
    """

    op: str
    parent: Any
    child: Any
    index: int
    value: Any


class Subgraph(NamedTuple):
    """The nodes on some path from wrt to output, wrt first and output last (topological
    order), and for each node its in-edges `(parent position, slot in node.parents)`."""

    nodes: list
    parents: list


class Path:
    """One path from `wrt` up to `output`: its `factors` and their `product`.

    Value graph: product = Π factor values, a float (the factors multiplied from wrt up).
    Tensor graph: product = this path's share of seed·∂output/∂wrt, an ndarray shaped
    like wrt: the factors' VJPs applied to the seed from the output down to wrt.
    """

    def __init__(self, chain: Chain, edges: tuple, log_abs: float = math.nan,
                 product: Any = None) -> None:
        self.chain = chain
        self.edges = edges  # ((child, slot), …) from wrt up
        self.log_abs = log_abs  # ln|product|, exact where the float product underflows
        self._product = product

    @cached_property
    def factors(self) -> tuple[Factor, ...]:
        """One Factor per edge, from wrt up to output."""
        tensor = self.chain.is_tensor
        return tuple(
            Factor(child.op, child.parents[slot], child, slot,
                   child.factor(slot) if tensor else child.local_derivatives[slot])
            for child, slot in self.edges
        )

    @property
    def nodes(self) -> list:
        """The nodes along the path: wrt, …, output."""
        return [self.chain.wrt] + [child for child, _ in self.edges]

    def __len__(self) -> int:
        return len(self.edges)

    @property
    def product(self) -> Any:
        """Π of the factors (float), or for tensors the path's VJP from the seed (ndarray)."""
        if self._product is None:
            if self.chain.is_tensor:
                self._product = self.gradients()[0]
            else:
                factors = (child.local_derivatives[slot] for child, slot in self.edges)
                self._product = math.prod(factors)
        return self._product

    def gradients(self) -> list:
        """∂output/∂node along this path only, for each node wrt, …, output (seed last).

        For Value paths entry i is the product of the factors above node i; for Tensor
        paths it is the seed pulled back through their VJPs: g ↦ g·J, edge by edge.
        """
        chain = self.chain
        g: Any = chain.seed if chain.is_tensor else 1.0
        out = [g]
        for child, slot in reversed(self.edges):
            g = child.factor(slot).vjp(g) if chain.is_tensor else child.local_derivatives[slot] * g
            out.append(g)
        out.reverse()
        if chain.is_tensor:
            out[0] = np.array(out[0], copy=True).reshape(chain.wrt.shape)
        return out

    def jacobian_product(self) -> Any:
        """The explicit product of Jacobians Jₗ ⋯ J₂ J₁ (output elements × wrt elements).

        seed · (Jₗ ⋯ J₁), reshaped like wrt, equals `product`. For Value paths every
        Jacobian is 1×1, so this is `product` itself. Only for small shapes.
        """
        if not self.chain.is_tensor:
            return math.prod(f.value for f in self.factors)
        size = self.chain.output.data.size
        result = np.eye(size)
        for factor in reversed(self.factors):
            result = result @ factor.value.jacobian()
        return result

    def __repr__(self) -> str:
        return f"<Path of {len(self)} factors, product={_short(self.product)}>"

    def __str__(self) -> str:
        return self.table()

    def table(self, title: str = "") -> str:
        """The aligned factor-by-factor table of this path."""
        if self.chain.is_tensor:
            return _tensor_path_table(self, title)
        return _value_path_table(self, title)


class Chain:
    """The chain rule for ∂output/∂wrt, laid out path by path. Build it with `chain()`.

    `num_paths` is the exact count, `total` the sum of all path products (the gradient),
    `paths(k)` the k largest. `print(chain)` shows the top three paths, one row per
    factor from wrt up: its op, the nodes it joins (label, or op#i), and for Values its
    value and the running product; for Tensors the Jacobian's shape, ‖J‖ (Frobenius),
    its gain ‖g·J‖/‖g‖ on the gradient g that the last backward() left on the child,
    and the norm of this path's gradient at the parent. A summary line follows.
    """

    def __init__(self, output: Node, wrt: Node, seed: Any = None) -> None:
        self.output: Any = output
        self.wrt: Any = wrt
        self.is_tensor = isinstance(output, Tensor)
        self.seed = _check(output, wrt, seed)
        with _gc_paused():
            self._order = topological_order(output)
            self.subgraph = self._between(wrt, output)

    def _between(self, wrt: Node, output: Node) -> Subgraph:
        start = next((i for i, node in enumerate(self._order) if node is wrt), None)
        if start is None:
            raise ValueError(
                f"chain: wrt {_describe(wrt)} is not in the graph of output {_describe(output)}; "
                "pick a node the output was computed from (a parameter, an input, an intermediate)"
            )
        # The descendants of wrt come after it in topological order; a node is one when a
        # parent is, so one pass collects them and their in-edges from within.
        position = {id(wrt): 0}
        nodes: list[Any] = [wrt]
        parents: list[list[tuple[int, int]]] = [[]]
        for node in self._order[start + 1:]:
            edges = None
            for slot, parent in enumerate(node.parents):
                p = position.get(id(parent))
                if p is not None:
                    if edges is None:
                        edges = []
                    edges.append((p, slot))
            if edges is not None:
                position[id(node)] = len(nodes)
                nodes.append(node)
                parents.append(edges)
        return Subgraph(nodes, parents)

    @cached_property
    def num_paths(self) -> int:
        """The exact number of paths wrt → output: count(n) = Σ over edges n→c of count(c)."""
        nodes, parents = self.subgraph
        paths_from = [0] * len(nodes)
        paths_from[-1] = 1
        for c in range(len(nodes) - 1, 0, -1):
            k = paths_from[c]
            for p, _ in parents[c]:
                paths_from[p] += k
        return paths_from[0]

    @cached_property
    def total(self) -> Any:
        """Σ over paths of their products = ∂output/∂wrt, summed by one reverse sweep.

        Each node n gets ḡ(n) = Σ over edges n→c of factor·ḡ(c), children first:
        the same additions, in the same order, as `backward()` makes for wrt.grad.
        """
        nodes, parents = self.subgraph
        if self.is_tensor:
            grads: list[Any] = [None] * len(nodes)
            grads[-1] = self.seed
            for c in range(len(nodes) - 1, 0, -1):
                g, child = grads[c], nodes[c]
                for p, slot in parents[c]:
                    part = child.factor(slot).vjp(g)
                    grads[p] = part if grads[p] is None else grads[p] + part
            return np.array(grads[0], copy=True).reshape(self.wrt.shape)
        adjoint = [0.0] * len(nodes)
        adjoint[-1] = 1.0
        for c in range(len(nodes) - 1, 0, -1):
            a, derivatives = adjoint[c], nodes[c].local_derivatives
            for p, slot in parents[c]:
                adjoint[p] += derivatives[slot] * a
        return adjoint[0]

    def paths(self, k: int | None = None) -> list[Path]:
        """The paths by |product|, largest first (for tensors by ‖product‖); at most k of them.

        Value graphs use a best-first k-best search: the cost is the graph's size plus
        the length of the k paths, however many paths there are. Without k every path
        is listed, up to MAX_ENUMERATED_PATHS.
        """
        if (k is None or self.is_tensor) and self.num_paths > MAX_ENUMERATED_PATHS:
            raise ValueError(
                f"paths: there are {count(self.num_paths)} paths, over the "
                f"{MAX_ENUMERATED_PATHS:,} that are listed in full"
                + ("; a Tensor chain ranks paths by computing each one" if self.is_tensor
                   else "; ask for the top k, paths(k)")
            )
        if k is None:
            k = self.num_paths
        if k <= 0:
            return []
        if self.is_tensor:
            return self._tensor_paths[:k]
        return self._search.top(k)

    @cached_property
    def _search(self) -> _BestPaths:
        return _BestPaths(self)

    @cached_property
    def _tensor_paths(self) -> list[Path]:
        nodes, parents = self.subgraph
        found = []
        stack: list[tuple[int, Any, tuple]] = [(len(nodes) - 1, self.seed, ())]
        while stack:  # depth first from the output down, sharing each suffix's VJPs
            c, g, above = stack.pop()
            if c == 0:
                product = np.array(g, copy=True).reshape(self.wrt.shape)
                found.append(Path(self, above, product=product))
                continue
            child = nodes[c]
            for p, slot in reversed(parents[c]):
                stack.append((p, child.factor(slot).vjp(g), ((child, slot),) + above))
        found.sort(key=lambda path: -float(np.linalg.norm(path.product)))
        return found

    @cached_property
    def _names(self) -> dict[int, str]:
        return {
            id(node): node.label or f"{node.op or 'leaf'}#{i}" for i, node in enumerate(self._order)
        }

    def name(self, node: Node) -> str:
        """The node's label, or `op#i` with i its place in the output's topological order."""
        return self._names[id(node)]

    def __repr__(self) -> str:
        gradient = f"∂{self.name(self.output)}/∂{self.name(self.wrt)}"
        return f"<Chain {gradient}: {count(self.num_paths)} path{'' if self.num_paths == 1 else 's'}>"

    def __str__(self) -> str:
        num_paths = self.num_paths
        gradient = f"∂{self.name(self.output)}/∂{self.name(self.wrt)}"
        if num_paths == 1:
            title = f"{gradient} = the product of the factors along its one path"
        else:
            title = f"{gradient} = sum over {count(num_paths)} paths of the product of their factors"
        lines = [title, ""]
        if self.is_tensor and num_paths > MAX_ENUMERATED_PATHS:
            shown: list[Path] = []
        else:
            shown = self.paths(SHOWN_PATHS)
        for rank, path in enumerate(shown, start=1):
            lines += [path.table(f"path {rank} of {count(num_paths)}"), ""]
        lines.append(self._summary(shown))
        return "\n".join(lines)

    def _summary(self, shown: list[Path]) -> str:
        total = self.total
        if not shown:
            return (f"{count(self.num_paths)} paths, too many to rank one by one in a Tensor "
                    f"chain; ‖total‖ = {significant(float(np.linalg.norm(total)))}")
        if self.is_tensor:
            part = sum((p.product for p in shown), np.zeros(self.wrt.shape))
            size = float(np.vdot(total, total))
            share = float(np.vdot(part, total)) / size if size else math.nan
            what = f"‖total‖ = {significant(math.sqrt(size))}"
            text = "carry"
        else:
            part = math.fsum(p.product for p in shown)
            share = part / total if total else math.nan
            what = f"total = {significant(total)}"
            text = f"sum to {significant(part)} ="
        if len(shown) == self.num_paths:
            return f"{count(self.num_paths)} path{'s' if len(shown) != 1 else ''}, {what}"
        shown_share = DASH if math.isnan(share) else percent(share)
        return (f"{len(shown)} of {count(self.num_paths)} paths shown; they {text} {shown_share} of "
                f"the total; {what}")


def chain(output: Node, wrt: Node, seed: Any = None) -> Chain:
    """The chain rule for ∂output/∂wrt = Σ over paths of Π over edges of ∂child/∂parent.

    `output` is a Value, or a one-element Tensor (for a larger one pass `seed`, the
    vector v of the vector–Jacobian product v·∂output/∂wrt, shaped like output).
    `wrt` is any node the output was computed from. `total` equals `wrt.grad` after
    `output.backward()` (a fresh one: leaf gradients accumulate across calls); for a
    Tensor that does not require grad backward() leaves no `.grad`, but `total` is
    still ∂output/∂wrt.

    >>> from microgradvg import Value
    >>> x = Value(3.0, "x")
    >>> c = chain(x * x + x, x)          # ∂(x² + x)/∂x = x + x + 1: three paths
    >>> c.num_paths, c.total
    (3, 7.0)
    >>> [p.product for p in c.paths(2)]
    [3.0, 3.0]
    """
    return Chain(output, wrt, seed)


# ---- the k-best search (Value graphs) ----------------------------------------


class _BestPaths:
    """k largest |products| by best-first search with an exact bound, on ln|factor|.

    best(n) = max over edges n→c of ln|f| + best(c) is the largest completion from n
    (one reverse sweep). Every path is the greedy completion with a last deviation
    (a node, and its r-th best edge); a popped path spawns the next edge at its
    deviation and a first deviation at each node of its greedy tail, only as many as
    still could be among the k. Logs keep ranks right where products underflow; a
    zero factor is ln 0 = −∞, so such paths come last.
    """

    def __init__(self, owner: Chain) -> None:
        nodes, parents = owner.subgraph
        m = len(nodes)
        best, second = [_NEG_INF] * m, [_NEG_INF] * m
        best[-1] = 0.0
        degree = [0] * m
        # The best and second-best out-edge of each node, as (child, slot, ln|factor|);
        # flat lists of numbers, so building them allocates no objects per node.
        child1, slot1, ln1 = [0] * m, [0] * m, [0.0] * m
        child2, slot2, ln2 = [0] * m, [0] * m, [0.0] * m
        isnan = math.isnan
        with _gc_paused():
            for c in range(m - 1, 0, -1):
                below, derivatives = best[c], nodes[c].local_derivatives
                for p, slot in parents[c]:
                    ln = _ln_abs(derivatives[slot])
                    v = ln + below
                    if isnan(v):  # ln ∞ + ln 0: rank with the zeros
                        v = _NEG_INF
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
        self.owner, self.nodes, self.degree = owner, nodes, degree
        self.best, self.second = best, second
        self.first = (child1, slot1, ln1)
        self.runner_up = (child2, slot2, ln2)
        self._ranked: dict[int, list] | None = None

    def edge(self, u: int, rank: int) -> tuple[float, int, int, float]:
        """Node u's out-edge of this rank by completion value (ties in graph order):
        (ln|f| + best(child), child, slot, ln|f|)."""
        if rank < 2:
            children, slots, lns = self.first if rank == 0 else self.runner_up
            child, slot, ln = children[u], slots[u], lns[u]
            return (ln + self.best[child], child, slot, ln)
        if self._ranked is None:  # every node's out-edges, only once a third one is wanted
            nodes, parents = self.owner.subgraph
            out: dict[int, list] = {}
            for c in range(len(nodes) - 1, 0, -1):
                derivatives = nodes[c].local_derivatives
                for p, slot in parents[c]:
                    if self.degree[p] > 2:
                        ln = _ln_abs(derivatives[slot])
                        v = ln + self.best[c]
                        v = _NEG_INF if math.isnan(v) else v
                        out.setdefault(p, []).append((v, c, slot, ln))
            self._ranked = {p: sorted(edges, key=lambda e: -e[0]) for p, edges in out.items()}
        return self._ranked[u][rank]

    def top(self, k: int) -> list[Path]:
        last, second, degree = len(self.nodes) - 1, self.second, self.degree
        child1, slot1, ln1 = self.first
        found: list[tuple[list, list, list]] = []  # (positions, slots, prefix logs)
        heap: list[tuple] = [(-self.best[0], 0, None, 0, 0, 0)]
        counter = 1
        with _gc_paused():
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
                        key = math.inf if math.isnan(value) else -value
                        heapq.heappush(heap, (key, counter, record, j, at[j], 1))
                        counter += 1
        nodes = self.nodes
        paths = []
        for at, slots, logs in found:
            edges = tuple((nodes[at[j + 1]], slot) for j, slot in enumerate(slots))
            paths.append(Path(self.owner, edges, logs[-1]))
        return paths


def _ln_abs(d: float) -> float:
    """ln|d|, with ln 0 = −∞ and NaN ranked with the zeros."""
    if d == 0.0 or math.isnan(d):
        return _NEG_INF
    return math.log(abs(d))


@contextmanager
def _gc_paused() -> Iterator[None]:
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


# ---- checks and formatting -----------------------------------------------------


def _check(output: Any, wrt: Any, seed: Any) -> Any:
    """The seed of the chain (1 for Values), after checking the two nodes."""
    if isinstance(output, Value):
        if not isinstance(wrt, Value):
            raise TypeError(
                f"chain: output is a Value, so wrt must be a Value, got {type(wrt).__name__}"
            )
        if seed is not None:
            raise ValueError("chain: seed is for Tensor outputs; a Value output is a scalar")
        return 1.0
    if not isinstance(output, Tensor):
        raise TypeError(f"chain: output must be a Value or a Tensor, got {type(output).__name__}")
    if not isinstance(wrt, Tensor):
        raise TypeError(
            f"chain: output is a Tensor, so wrt must be a Tensor, got {type(wrt).__name__}"
        )
    if seed is None:
        if output.data.size != 1:
            raise ValueError(
                f"chain: output {_describe(output)} has {output.data.size} elements; a chain "
                "needs a one-element output (e.g. a loss), or seed= an array shaped like it "
                "(the v in v·∂output/∂wrt)"
            )
        return np.ones_like(output.data)
    seed = np.asarray(seed.data if isinstance(seed, Tensor) else seed, dtype=output.data.dtype)
    if seed.shape != output.shape:
        raise ValueError(f"chain: seed has shape {seed.shape} but output has shape {output.shape}")
    return seed


def _describe(node: Any) -> str:
    if isinstance(node, Tensor):
        parts = [f"label={node.label!r}"] if node.label else []
        parts += [f"op={node.op!r}"] if node.op else []
        return f"Tensor({', '.join(parts + [f'shape={node.shape}'])})"
    return repr(node)


# benchmarks/bench_chain.py imports count under its old private name.
_count = count


def _short(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"array{x.shape} ‖·‖={significant(float(np.linalg.norm(x)))}"
    return significant(x)


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


def _value_path_table(path: Path, title: str) -> str:
    chain = path.chain
    rows, running, sign, log10 = [], 1.0, 1.0, 0.0
    for step, factor in enumerate(path.factors, start=1):
        value = factor.value
        running *= value
        sign *= -1.0 if value < 0 else 1.0
        log10 += math.log10(abs(value)) if value else _NEG_INF
        fits = running != 0.0 and math.isfinite(running)
        shown = significant(running) if fits or not math.isfinite(log10) else from_log10(sign, log10)
        rows.append([str(step), factor.op, _joins(chain, factor), significant(value), shown])
    product = path.product
    head = f"{title}: " if title else ""
    if (product == 0.0 or not math.isfinite(product)) and math.isfinite(log10):
        summary = f"product = {from_log10(sign, log10)} (0.0 as a float)"
    else:
        summary = f"product = {significant(product)}"
    lines = [f"{head}{len(path)} factor{'s' if len(path) != 1 else ''}, {summary}"]
    lines += aligned_table(["step", "op", "joins", "factor", "running product"], _elide(rows),
                           left=(1, 2), indent="  ")
    return "\n".join(lines)


def _tensor_path_table(path: Path, title: str) -> str:
    chain = path.chain
    gradients = path.gradients()
    rows = []
    for step, factor in enumerate(path.factors, start=1):
        tensor_factor = factor.value
        rows_, columns = tensor_factor.shape
        gain = tensor_factor.gain
        rows.append([
            str(step), factor.op, _joins(chain, factor),
            f"{rows_}×{columns}", significant(tensor_factor.norm()), DASH if gain is None else significant(gain),
            significant(float(np.linalg.norm(gradients[step - 1]))),
        ])
    head = f"{title}: " if title else ""
    norm = significant(float(np.linalg.norm(path.product)))
    lines = [f"{head}{len(path)} factor{'s' if len(path) != 1 else ''}, ‖product‖ = {norm}"]
    lines += aligned_table(["step", "op", "joins", "J shape", "‖J‖", "gain", "‖path grad‖ at parent"],
                           _elide(rows), left=(1, 2), indent="  ")
    return "\n".join(lines)


__all__ = ["Chain", "Factor", "Path", "Subgraph", "chain"]
