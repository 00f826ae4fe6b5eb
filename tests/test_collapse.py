"""The grouped picture's numbers (render/collapse.py) against a reference written node by
node here: which group each node falls in, each group's count, zeros, norm, largest |grad|
and sign, and each link's edges, factors and flow, on random graphs whose factors and
gradients include NaN, ±inf and -0.0, with parents used twice (x·x), several roots and more
than ten, a single node, and Tensors before and after a backward pass."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradvg import Tensor, Value, draw_graph
from microgradvg.engine.graph import topological_order
from microgradvg.render import collapse
from microgradvg.render.flat import Flat, Sums
from microgradvg.render.flat import links as group_links

SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -2.5, 1e-300, -1e300, math.inf, -math.inf, math.nan])
NUMBERS = st.one_of(SPECIAL, st.floats(-10, 10))
LEAF_LABELS = st.sampled_from(["L1.w", "L1.n0.w2", "L2.b", "L2.n1.b", "x0", "x", "", "c"])


# ---- the reference, one node and one edge at a time ----------------------------------------


def sign_of(grad: Any) -> int:
    """+1 if every element is ≥ 0 and one > 0, −1 if every one is ≤ 0 and one < 0, else 0."""
    values = np.atleast_1d(np.asarray(getattr(grad, "data", grad), float)).ravel().tolist()
    if any(math.isnan(v) for v in values):
        return 0
    if all(v >= 0 for v in values) and any(v > 0 for v in values):
        return 1
    if all(v <= 0 for v in values) and any(v < 0 for v in values):
        return -1
    return 0


def length(values: list[float]) -> float:
    """√Σ v², exact where the squares would underflow or overflow; NaN if any v is NaN."""
    return math.nan if any(math.isnan(v) for v in values) else math.hypot(*values)


def size_of(grad: Any) -> float | None:
    if grad is None:
        return None
    return length(np.atleast_1d(np.asarray(getattr(grad, "data", grad), float)).ravel().tolist())


def totals(items: list[tuple[float | None, int]]) -> dict[str, Any]:
    """What a group (or link) shows of its members' (size, sign): counts, norm, max, sign."""
    known = [(m, s) for m, s in items if m is not None]
    nonzero = [(m, s) for m, s in known if m != 0.0]  # NaN is not zero
    nan = any(math.isnan(m) for m, _ in nonzero)
    signs = {s for _, s in nonzero}
    return {
        "members": len(items),
        "unknown": len(items) - len(known),
        "zeros": len(known) - len(nonzero),
        "norm": None if not known else length([m for m, _ in nonzero]),
        "largest": math.nan if nan else max((m for m, _ in nonzero), default=0.0),
        "sign": signs.pop() if len(signs) == 1 else 0,
    }


def depth_keys(order: list[Any], roots: set[int], bands: int) -> list[str]:
    """Group names by depth: each root alone, leaves together, op nodes by band of depth
    (and by op where the band is one depth deep)."""
    position = {id(node): i for i, node in enumerate(order)}
    depth: list[int] = []
    for node in order:
        depth.append(max((depth[position[id(p)]] + 1 for p in node.parents), default=0))
    deepest = max(depth)
    width = max(1, math.ceil(deepest / bands))
    keys = []
    for i, node in enumerate(order):
        if i in roots:
            keys.append(f"#{i}")
        elif not node.parents:
            keys.append("leaves")
        else:
            low = 1 + (depth[i] - 1) // width * width
            high = min(low + width - 1, deepest)
            keys.append(f"depth {low} · {node.op}" if low == high else f"depth {low}–{high}")
    return keys


def check_against_reference(order: list[Any], codes: np.ndarray, names: list[str]) -> None:
    flat = Flat(order)
    keys = [names[c] for c in codes.tolist()]
    groups = Sums.of(codes, len(names), flat.magnitude, flat.sign, flat.known)
    for g, name in enumerate(names):
        want = totals([(size_of(n.grad), sign_of(n.grad)) for n, k in zip(order, keys) if k == name])
        got = {
            "members": int(groups.members[g]),
            "unknown": int(groups.unknown[g]),
            "zeros": int(groups.zeros[g]),
            "norm": groups.norm(g),
            "largest": float(groups.largest[g]),
            "sign": int(groups.sign[g]),
        }
        assert_same(got, want, f"group {name}")
    position = {id(node): i for i, node in enumerate(order)}
    edges: dict[tuple[str, str], list[tuple[float | None, float | None, int]]] = {}
    inside: dict[str, int] = {}
    for child in order:
        for slot, parent in enumerate(child.parents):
            source, target = keys[position[id(parent)]], keys[position[id(child)]]
            if source == target:
                inside[target] = inside.get(target, 0) + 1
                continue
            if isinstance(child, Value):
                factor = child.local_derivatives[slot]
                flow = factor * child.grad
                edges.setdefault((source, target), []).append((factor, abs(flow), sign_of(flow)))
            elif child.grad is None or getattr(parent, "requires_grad", True) is False:
                # no gradient yet, or none sent into a constant (backward() sends it none)
                edges.setdefault((source, target), []).append((None, None, 0))
            else:
                with np.errstate(all="ignore"):  # NaN and ∞ gradients
                    passed = child.factor(slot).vjp(np.asarray(child.grad.data))
                edges.setdefault((source, target), []).append((None, size_of(passed), sign_of(passed)))
    links, inside_count = group_links(flat, codes, len(names))
    assert {names[g]: int(n) for g, n in enumerate(inside_count) if n} == inside
    got_links = {(names[a], names[b]): link for (a, b), link in links.items()}
    assert list(got_links) == list(edges)  # in the order of their first edge
    for pair, members in edges.items():
        link = got_links[pair]
        want = totals([(flow, sign) for _, flow, sign in members])
        factors = [f for f, _, _ in members if f is not None]
        assert_same(
            {"edges": link.edges, "flow": link.flow, "sign": link.sign,
             "factor_norm": link.factor_norm, "factor_sum": link.factor_sum},
            {"edges": want["members"], "flow": want["norm"], "sign": want["sign"],
             "factor_norm": length(factors),
             "factor_sum": sum(factors) if factors else 0.0},
            f"link {pair}",
        )


def assert_same(got: dict[str, Any], want: dict[str, Any], what: str) -> None:
    for key, value in want.items():
        other = got[key]
        if isinstance(value, float) and isinstance(other, float):
            same = (math.isnan(value) and math.isnan(other)) or math.isclose(value, other, rel_tol=1e-12)
        else:
            same = value == other
        assert same, f"{what}: {key} is {other!r}, the reference says {value!r}"


# ---- graphs ---------------------------------------------------------------------------------


@st.composite
def value_graphs(draw: st.DrawFn) -> tuple[list[Any], list[Any]]:
    """Leaves with network-like labels, op nodes with 1–3 parents (repeats allowed) and any
    factors, any gradients; the roots are every node nothing uses."""
    nodes = [Value(1.0, draw(LEAF_LABELS)) for _ in range(draw(st.integers(1, 16)))]
    for _ in range(draw(st.integers(0, 14))):
        # The first parent is often the newest node, so that some graphs are deep.
        first = nodes[-1] if draw(st.booleans()) else draw(st.sampled_from(nodes))
        parents = [first, *draw(st.lists(st.sampled_from(nodes), max_size=2))]
        node = Value(0.0)
        node.op = draw(st.sampled_from(["+", "*", "tanh"]))
        node.parents = tuple(parents)
        node.local_derivatives = tuple(draw(NUMBERS) for _ in parents)
        nodes.append(node)
    for node in nodes:
        node.grad = draw(NUMBERS)
    used = {id(p) for node in nodes for p in node.parents}
    roots = [node for node in nodes if id(node) not in used]
    return topological_order(*roots), roots


@given(value_graphs(), st.sampled_from(collapse.DEPTH_BANDS))
@settings(max_examples=300, deadline=None)
def test_value_groups_by_depth_match_the_reference(graph: tuple[list[Any], list[Any]], bands: int) -> None:
    order, roots = graph
    flat = Flat(order)
    alone = {flat.position[root] for root in roots}
    alone = alone if len(alone) <= collapse.ALONE_ROOTS else set()  # as collapsed_graph does
    codes, names = collapse._depth_groups(flat, flat.depths(), alone, bands)
    assert [names[c] for c in codes.tolist()] == depth_keys(order, alone, bands)
    check_against_reference(order, codes, names)


@given(value_graphs(), st.sampled_from(["layer", "neuron"]))
@settings(max_examples=200, deadline=None)
def test_value_groups_by_label_match_the_reference(graph: tuple[list[Any], list[Any]], mode: str) -> None:
    order, roots = graph
    flat = Flat(order)
    alone = {flat.position[root] for root in roots}
    alone = alone if len(alone) <= collapse.ALONE_ROOTS else set()
    codes, names = collapse._label_groups(mode, flat, alone)
    check_against_reference(order, codes, names)


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_tensor_groups_match_the_reference(data: st.DataObject) -> None:
    """Tensor graphs before backward (no gradient yet), after it, and with NaN and ±inf."""
    x = Tensor(np.array([[1.0, -2.0]]), requires_grad=True, label="x0")
    w = Tensor(np.array([[0.5, -1.0], [2.0, 0.0]]), requires_grad=True, label="L1.W")
    z = x @ w.T + Tensor(np.array([[0.25, -0.5]]), label="L1.c")  # a constant: no gradient into it
    out = (z * z).sum() if data.draw(st.booleans()) else (z.tanh() + z).sum()
    if data.draw(st.booleans()):
        out.backward()
    order = topological_order(out)
    for node in order:
        if node.grad is not None and data.draw(st.booleans()):
            node.grad = Tensor(np.full(node.data.shape, data.draw(NUMBERS)))
    flat = Flat(order)
    for bands in collapse.DEPTH_BANDS:
        codes, names = collapse._depth_groups(flat, flat.depths(), {len(order) - 1}, bands)
        check_against_reference(order, codes, names)
    codes, names = collapse._label_groups("layer", flat, {len(order) - 1})
    check_against_reference(order, codes, names)


def test_tiny_and_huge_gradients_keep_their_size() -> None:
    """A gradient of 1e-170 (its square underflows) is not drawn as 0, in a node of its
    own, a group or a link; nor is one of 1e200 (its square overflows) drawn as ∞."""
    for size in (1e-170, 1e200):
        x = Tensor(np.array([1.0, 2.0]), requires_grad=True, label="x")
        y = (x * 3.0).sum()
        for node in topological_order(y):
            node.grad = np.full(np.shape(node.data), size)
        order = topological_order(y)
        flat = Flat(order)
        assert all(math.isclose(m, size * math.sqrt(np.size(n.data)), rel_tol=1e-9)
                   for m, n in zip(flat.magnitude, order))
        codes = np.zeros(len(order), np.intp)  # all in one group
        sums = Sums.of(codes, 1, flat.magnitude, flat.sign, flat.known)
        elements = sum(np.size(node.data) for node in order)
        assert math.isclose(sums.norm(0) or 0.0, size * math.sqrt(elements), rel_tol=1e-9)
        assert "grad 0" not in draw_graph(y, group_by="depth").source


def test_a_band_one_depth_deep_at_the_end_keeps_its_ops_apart() -> None:
    """Eleven outputs 13 deep (more than ten roots: grouped like any node) in 6 bands make
    bands of 3 and a last band one depth deep, which keeps its ops apart like every band
    one deep: not one group "depth 13–13" over every op there."""
    h = Value(0.5, "x")
    for _ in range(6):
        h = (h * 1.5).tanh()
    outputs = [h + float(i) if i % 2 else h * float(i) for i in range(11)]  # depth 13
    order = topological_order(*outputs)
    flat = Flat(order)
    _, names = collapse._depth_groups(flat, flat.depths(), set(), 6)
    assert "depth 13–13" not in names
    assert {"depth 13 · +", "depth 13 · *"} <= set(names)


def test_grouping_huge_and_infinite_gradients_warns_nothing() -> None:
    """1e300 · 1e300, ∞ − ∞ and 0 · ∞ in the sums are what the picture shows (∞, NaN), not
    numpy RuntimeWarnings printed at the user."""
    x = Value(1e300, "x")
    y = x * x * Value(math.inf, "c") * Value(0.0, "z")
    y.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_graph(y, group_by="depth")
        draw_graph(y, group_by="layer")


def test_grouping_a_tensor_graph_with_huge_gradients_warns_nothing() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, label="x")  # its gradient: 1e200 each
    y = (x * 1e200).sum()
    y.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_graph(y, group_by="depth")


def test_a_group_of_nan_gradients_shows_nan_not_a_largest_of_zero() -> None:
    x = Value(0.5, "x")
    y = x
    for _ in range(20):
        y = (y * math.nan).tanh()
    y.backward()
    source = draw_graph(y, group_by="depth").source
    assert "max |grad| nan" in source
    assert "max |grad| 0<" not in source
