"""Chains: a gradient ∂output/∂wrt as a sum over paths of products of chain-rule factors.

`chain(output, wrt)` counts the paths exactly, finds the k largest without enumerating
them, sums them (the sum is the gradient `backward()` gives) and prints them factor by
factor with the running product, for `Value` and `Tensor` graphs alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from ..engine.backprop import pull_arrays_with
from ..engine.graph import Node, sweep, topological_order
from ..engine.tensor import Tensor
from ..engine.value import Value
from ..engine.versions import check
from ..formatting import count, rich_display
from .best_paths import BestPaths, Edges, gc_paused
from .by_length import ByLength, split_by_length
from .chain_tables import brief, chain_html, chain_table, path_html, path_table

# paths() without k, and Tensor chains (whose paths are ranked by computing each one),
# enumerate every path; beyond this many they ask for a k or a smaller graph instead.
MAX_ENUMERATED_PATHS = 100_000
# print(chain) shows this many paths.
SHOWN_PATHS = 3


@dataclass(frozen=True)
class Factor:
    """One edge of a path, the chain-rule factor ∂child/∂parent on it.

    `parent` is the node nearer `wrt`, `child` the one nearer `output`, `index` the
    parent's slot in `child.parents`. `value` is `child.factor(index)`: for Value graphs a
    `ScalarFactor`, the float `child.local_derivatives[index]`; for Tensor graphs a
    `TensorFactor`. Both have `vjp`, `jacobian`, `norm` and `gain`.
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

    def __init__(self, chain: Chain, edges: Edges, log_abs: float = math.nan,
                 product: Any = None) -> None:
        self.chain = chain
        self.edges = edges  # ((child, slot), …) from wrt up
        self.log_abs = log_abs  # ln|product|, exact where the float product underflows
        self._product = product

    @cached_property
    def factors(self) -> tuple[Factor, ...]:
        """One Factor per edge, from wrt up to output."""
        return tuple(
            Factor(child.op, child.parents[slot], child, slot, child.factor(slot))
            for child, slot in self.edges
        )

    def values(self) -> np.ndarray:
        """The factors as floats, from wrt up: for Value graphs the factors themselves, read
        off the edges once (a path a million factors long builds no Factor objects; the
        array is shared, so read-only); for Tensor graphs each factor's gain on the gradient
        that the last backward pass left (NaN before one)."""
        if self.chain.is_tensor:
            gains = [factor.value.gain for factor in self.factors]
            return np.array([math.nan if gain is None else gain for gain in gains], float)
        return self._scalar_values

    @cached_property
    def _scalar_values(self) -> np.ndarray:
        values = np.fromiter(
            (child.local_derivatives[slot] for child, slot in self.edges), float, len(self.edges)
        )
        values.flags.writeable = False
        return values

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
                self._product = value_product(
                    child.local_derivatives[slot] for child, slot in self.edges
                )
        return self._product

    def gradients(self) -> list:
        """∂output/∂node along this path only, for each node wrt, …, output (seed last).

        For Value paths entry i is the product of the factors above node i; for Tensor
        paths it is the seed pulled back through their VJPs: g ↦ g·J, edge by edge.
        """
        chain = self.chain
        g: Any = chain.seed
        out = [g]
        for child, slot in reversed(self.edges):
            g = child.factor(slot).vjp(g)
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
            return self.product
        size = self.chain.output.data.size
        result = np.eye(size)
        for factor in reversed(self.factors):
            result = result @ factor.value.jacobian()
        return result

    def __repr__(self) -> str:
        return f"<Path of {len(self)} factors, product={brief(self.product)}>"

    def __str__(self) -> str:
        return self.table()

    def table(self, title: str = "") -> str:
        """The aligned factor-by-factor table of this path."""
        return path_table(self, title)

    def _repr_html_(self) -> str:
        """The same table as HTML, for Jupyter."""
        return path_html(self)


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
        with gc_paused():
            self._order = topological_order(output)
            self.subgraph = self._between(wrt, output)
        # Its factors read the nodes' data: refuse a graph changed in place since it was recorded.
        check(self.subgraph.nodes[1:], "chain")

    def _between(self, wrt: Node, output: Node) -> Subgraph:
        start = next((i for i, node in enumerate(self._order) if node is wrt), None)
        if start is None:
            raise ValueError(
                f"chain: wrt {_describe(wrt)} is not in the graph of output {_describe(output)}; "
                "pick a node the output was computed from (a parameter, an input, an intermediate)"
            )
        self._start = start
        # The descendants of wrt come after it in topological order; a node is one when a
        # parent is, so one pass collects them and their in-edges from within.
        position = {id(wrt): 0}
        nodes: list[Any] = [wrt]
        parents: list[list[tuple[int, int]]] = [[]]
        where = position.get
        for node in self._order[start + 1:]:
            before = node.parents
            if len(before) == 1:  # most nodes of a long chain: no loop, no list to grow
                p = where(id(before[0]))
                if p is not None:
                    position[id(node)] = len(nodes)
                    nodes.append(node)
                    parents.append([(p, 0)])
                continue
            edges = None
            for slot, parent in enumerate(before):
                p = where(id(parent))
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

        Each node n gets ḡ(n) = Σ over edges n→c of factor·ḡ(c), children first, by the
        sweep `backward()` runs: the same additions, in the same order, as it makes for
        wrt.grad. Only the edges between wrt and output carry gradient.
        """
        nodes = self.subgraph.nodes
        grads = {id(self.output): self.seed}
        between = {id(node) for node in nodes}

        def along_the_subgraph(node: Any, g: Any) -> Any:
            return pull_arrays_with(node, g, [id(parent) in between for parent in node.parents])

        sweep(nodes[1:], along_the_subgraph if self.is_tensor else None, grads)  # wrt's own parents need nothing
        total = grads.get(id(self.wrt), 0.0)
        return np.array(total, copy=True).reshape(self.wrt.shape) if self.is_tensor else total

    def by_length(self) -> ByLength:
        """The gradient split by path length (in factors): a mapping ℓ → (count, total).

        `count` is the exact number of paths with ℓ factors, `total` the sum of their
        products (for tensors shaped like wrt); the totals add up to `total` and the
        counts to `num_paths`. One dynamic program over the graph, never listing paths:
        in a deep residual network the counts are binomial while the totals peak at
        short lengths (Veit, Wilber & Belongie 2016).

        >>> from microgradvg import Value
        >>> x = Value(3.0, "x")
        >>> shares = chain(x * x + x, x).by_length()   # x → + directly, or by x·x's two edges
        >>> {length: (share.count, share.total) for length, share in shares.items()}
        {1: (1, 1.0), 2: (2, 6.0)}
        """
        nodes, parents = self.subgraph
        with gc_paused():
            shares = split_by_length(nodes, parents, self.seed, self.is_tensor, getattr(self.wrt, "shape", ()))
        return ByLength(shares, f"∂{self.name(self.output)}/∂{self.name(self.wrt)}")

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
        return [Path(self, edges, log_abs) for edges, log_abs in self._search.top(k)]

    @cached_property
    def _search(self) -> BestPaths:
        return BestPaths(*self.subgraph)

    @cached_property
    def _tensor_paths(self) -> list[Path]:
        nodes, parents = self.subgraph
        found = []
        stack: list[tuple[int, Any, Edges]] = [(len(nodes) - 1, self.seed, ())]
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
    def _positions(self) -> dict[int, int]:
        return {id(node): i for i, node in enumerate(self._order)}

    def name(self, node: Node) -> str:
        """The node's label, or `op#i` with i its place in the output's topological order."""
        if node.label:
            return node.label
        # The output is last and wrt where the subgraph starts: naming the two that every
        # caption names costs no table of the whole graph (a million nodes: half a second).
        if node is self.output:
            i = len(self._order) - 1
        elif node is self.wrt:
            i = self._start
        else:
            i = self._positions[id(node)]
        return f"{node.op or 'leaf'}#{i}"

    def __repr__(self) -> str:
        gradient = f"∂{self.name(self.output)}/∂{self.name(self.wrt)}"
        return f"<Chain {gradient}: {count(self.num_paths)} path{'' if self.num_paths == 1 else 's'}>"

    def __str__(self) -> str:
        return chain_table(self, self._shown())

    def _repr_html_(self) -> str:
        """The printed tables as HTML, for Jupyter."""
        return chain_html(self, self._shown())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """In Jupyter: the tables, and under them the picture `draw_chain` makes."""
        return rich_display(self, self._repr_html_())

    def _shown(self) -> list[Path]:
        too_many = self.is_tensor and self.num_paths > MAX_ENUMERATED_PATHS
        return [] if too_many else self.paths(SHOWN_PATHS)


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


def value_product(factors: Iterable[float]) -> float:
    """Π factors as a float, in the order the paths are ranked: ±∞ when a factor is infinite
    and none is 0 (even where a partial product underflows to 0), NaN for a NaN factor or 0·∞;
    otherwise math.prod, which may overflow to ±∞ or underflow to 0 (`Path.log_abs` does not)."""
    factors = list(factors)
    if any(map(math.isinf, factors)) and not any(map(math.isnan, factors)) and 0.0 not in factors:
        return math.copysign(math.inf, math.prod(math.copysign(1.0, f) for f in factors))
    return math.prod(factors)


# ---- checks ------------------------------------------------------------------


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



__all__ = ["ByLength", "Chain", "Factor", "Path", "Subgraph", "chain", "value_product"]
