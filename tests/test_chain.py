"""Tests for microgradvg.inspection.chain: path counts, k-best paths, totals and the printed tables.

Every property is checked against brute force: all paths enumerated from the output
down, on random Value and Tensor DAGs that reuse nodes.
"""

from __future__ import annotations

import math
import random
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import expressions

from microgradvg import Tensor, Value
from microgradvg.engine.graph import topological_order, zero_grad
from microgradvg.inspection.chain import MAX_ENUMERATED_PATHS, Chain, chain
from microgradvg.testing import tensors, values

# ---- random DAGs and brute force (test_spread.py uses these too) ----------------------

# Zero is drawn on purpose: zero factors must rank last and not upset the search.
FLOATS = st.one_of(st.just(0.0), st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False))
VALUE_OPS = ("+", "-", "*", "linear", "tanh", "sigmoid", "relu", "neg", "scale")


@st.composite
def value_dags(draw: Any, max_leaves: int = 3, max_ops: int = 9) -> tuple[Value, Value]:
    """(output, wrt): a random Value DAG whose nodes are reused, and one of its nodes."""
    count = draw(st.integers(1, max_leaves))
    nodes = [draw(values(-2.0, 2.0, label=f"x{i}")) for i in range(count)]

    def pick() -> Value:
        return nodes[draw(st.integers(0, len(nodes) - 1))]

    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(VALUE_OPS))
        a = pick()
        if op in ("+", "-", "*"):
            b = pick()
            node = a + b if op == "+" else a - b if op == "-" else a * b
        elif op == "linear":
            node = Value.linear([a], [pick()], pick())
        elif op == "neg":
            node = -a
        elif op == "scale":
            node = a * draw(FLOATS)
        else:
            node = getattr(a, op)()
        nodes.append(node)
    extra = draw(st.lists(st.integers(0, len(nodes) - 1), max_size=2))
    output = Value.sum([nodes[-1]] + [nodes[i] for i in extra])
    wrt = draw(st.sampled_from(topological_order(output)))
    return output, wrt


@st.composite
def expression_graphs(draw: Any) -> tuple[Value, Value]:
    """(output, wrt) on the shared `expressions()` DAGs, which cover every Value op."""
    expression = draw(expressions())
    return expression.root, draw(st.sampled_from(topological_order(expression.root)))


def scalar_graphs() -> st.SearchStrategy[tuple[Value, Value]]:
    """Both kinds of random Value DAG: ours (with zero factors) and the shared catalogue's."""
    return value_dags() | expression_graphs()


@st.composite
def tensor_dags(draw: Any, max_ops: int = 6) -> tuple[Tensor, Tensor]:
    """(output, wrt): a random Tensor DAG of vectors (with a matrix, a broadcast scalar)."""
    def leaf(shape: tuple[int, ...], name: str) -> Tensor:
        node = draw(tensors(shape, min_value=-1.5, max_value=1.5))
        node.label = name
        return node

    matrix, scale = leaf((3, 3), "M"), leaf((), "s")
    nodes = [leaf((3,), "x0"), leaf((3,), "x1")]

    def pick() -> Tensor:
        return nodes[draw(st.integers(0, len(nodes) - 1))]

    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(["+", "-", "*", "tanh", "sigmoid", "matvec", "scale"]))
        a = pick()
        if op in ("+", "-", "*"):
            b = pick()
            node = a + b if op == "+" else a - b if op == "-" else a * b
        elif op == "matvec":
            node = matrix @ a
        elif op == "scale":
            node = a * scale
        else:
            node = getattr(a, op)()
        nodes.append(node)
    output = (nodes[-1] * pick()).sum()
    wrt = draw(st.sampled_from(topological_order(output)))
    return output, wrt


def all_paths(output: Any, wrt: Any) -> list[tuple]:
    """Every path wrt → output as ((child, slot), …) from wrt up, by plain recursion."""
    memo: dict[int, list[tuple]] = {}

    def into(node: Any) -> list[tuple]:
        if node is wrt:
            return [()]
        if id(node) not in memo:
            memo[id(node)] = [
                below + ((node, slot),)
                for slot, parent in enumerate(node.parents)
                for below in into(parent)
            ]
        return memo[id(node)]

    return into(output)


def value_product(path: tuple) -> float:
    """Π of the factors, multiplied from wrt up."""
    return math.prod(child.local_derivatives[slot] for child, slot in path)


def tensor_product(path: tuple, seed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    g = seed
    for child, slot in reversed(path):
        g = child.factor(slot).vjp(g)
    return np.asarray(g).reshape(shape)


def key(path: Any) -> tuple:
    edges = path.edges if hasattr(path, "edges") else path
    return tuple((id(child), slot) for child, slot in edges)


def fresh_backward(output: Any) -> None:
    zero_grad(output)
    output.backward()


# ---- Value graphs: the properties ---------------------------------------------------


@given(scalar_graphs())
def test_total_is_the_sum_of_path_products_and_the_gradient(dag: tuple[Value, Value]) -> None:
    output, wrt = dag
    products = [value_product(p) for p in all_paths(output, wrt)]
    c = chain(output, wrt)
    scale = math.fsum(abs(p) for p in products) + 1e-300
    assert abs(c.total - math.fsum(products)) <= 1e-12 * scale
    fresh_backward(output)
    assert abs(c.total - wrt.grad) <= 1e-12 * scale


@given(scalar_graphs())
def test_num_paths_counts_the_enumerated_paths(dag: tuple[Value, Value]) -> None:
    output, wrt = dag
    assert chain(output, wrt).num_paths == len(all_paths(output, wrt))


@given(scalar_graphs(), st.integers(1, 12))
def test_top_k_paths_are_the_k_largest_of_the_enumeration(dag: tuple[Value, Value], k: int) -> None:
    output, wrt = dag
    expected = sorted((abs(value_product(p)) for p in all_paths(output, wrt)), reverse=True)[:k]
    found = chain(output, wrt).paths(k)
    assert len(found) == len(expected)
    assert len({key(p) for p in found}) == len(found)  # distinct paths
    got = [abs(p.product) for p in found]
    for a, b in pairwise(got):  # largest first (ranked on logs, so up to rounding)
        assert a >= b * (1 - 1e-12)
    # Ties may come in either order, so compare the multisets of |product|.
    assert sorted(got, reverse=True) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(scalar_graphs())
def test_all_paths_are_the_enumerated_paths_each_once(dag: tuple[Value, Value]) -> None:
    output, wrt = dag
    c = chain(output, wrt)
    enumerated = all_paths(output, wrt)
    found = c.paths()
    assert sorted(map(key, found)) == sorted(map(key, enumerated))
    for path in found:
        assert path.product == value_product(path.edges)
        assert [f.value for f in path.factors] == [
            child.local_derivatives[slot] for child, slot in path.edges
        ]
        assert path.nodes[0] is wrt and path.nodes[-1] is output
        for factor in path.factors:  # parent is nearer wrt, child nearer output
            assert factor.child.parents[factor.index] is factor.parent


def layered(width: int, depth: int, seed: int = 0) -> tuple[Value, Value]:
    """A deep net of 2-input tanh neurons in a ring: width·2^depth-ish paths from x0."""
    rng = random.Random(seed)
    xs = [Value(rng.uniform(-1, 1), f"x{i}") for i in range(width)]
    a = xs
    for _ in range(depth):
        a = [
            Value.linear([Value(rng.gauss(0, 1.2)), Value(rng.gauss(0, 1.2))],
                         [a[j], a[(j + 1) % width]], Value(rng.gauss(0, 0.1))).tanh()
            for j in range(width)
        ]
    return Value.sum(a), xs[0]


def test_top_k_on_a_layered_net_with_thousands_of_paths() -> None:
    output, wrt = layered(width=3, depth=14, seed=1)
    enumerated = all_paths(output, wrt)
    c = chain(output, wrt)
    assert c.num_paths == len(enumerated) > 10_000
    expected = sorted((abs(value_product(p)) for p in enumerated), reverse=True)
    for k in (1, 10, 100):
        got = [abs(p.product) for p in c.paths(k)]
        assert got == pytest.approx(expected[:k], rel=1e-12)


def test_top_k_on_an_mlp_where_activations_feed_many_neurons() -> None:
    from microgradvg.nn import MLP

    model = MLP(3, [5, 5, 5, 1], activation="tanh", seed=4)
    x = Value(0.7, "x")
    loss = (model([x, 0.2, -1.0]) - 0.5) ** 2
    enumerated = all_paths(loss, x)
    c = chain(loss, x)
    assert c.num_paths == len(enumerated) == 5 * 5 * 5
    expected = sorted((abs(value_product(p)) for p in enumerated), reverse=True)
    for k in (1, 7, 60, 125):
        found = c.paths(k)
        assert len({key(p) for p in found}) == len(found)
        assert [abs(p.product) for p in found] == pytest.approx(expected[:k], rel=1e-12)


def doubling(layers: int) -> tuple[Value, Value]:
    """Two nodes per layer, each the sum or difference of both before: 2^layers paths."""
    x = Value(0.5, "x")
    a, b = x, Value(0.25, "y")
    a, b = a + b, a - b
    for _ in range(layers - 1):
        a, b = a * 0.5 + b * 0.25, a * 0.25 - b * 0.5
    return a + b, x


def test_num_paths_is_exact_for_10_to_the_30_paths() -> None:
    output, x = doubling(100)
    c = chain(output, x)
    assert c.num_paths == 2**100 == 1_267_650_600_228_229_401_496_703_205_376
    assert "≈1.268×10^30 paths" in str(c)
    fresh_backward(output)
    assert c.total == pytest.approx(x.grad, rel=1e-12)
    top = c.paths(5)
    assert len(top) == 5 and all(len(p) == 200 for p in top)
    with pytest.raises(ValueError, match="paths"):
        c.paths()


def test_paths_10_on_100000_nodes_with_astronomically_many_paths() -> None:
    # No timing here (a loaded machine makes any bound flaky): bench_chain.py holds the speed.
    output, x = layered(width=10, depth=2000)
    assert len(topological_order(output)) > 100_000
    top = chain(output, x).paths(10)
    assert len(top) == 10
    assert all(a.log_abs >= b.log_abs for a, b in pairwise(top))


def test_ranking_survives_products_that_underflow() -> None:
    x = Value(1.0, "x")
    slow, fast = x, x
    for _ in range(1200):
        slow, fast = slow * 0.5, fast * 0.4
    output = slow + fast
    c = chain(output, x)
    best, second = c.paths(2)
    assert best.product == 0.0 and second.product == 0.0  # both underflow float64
    assert best.log_abs == pytest.approx(1200 * math.log(0.5))
    assert second.log_abs == pytest.approx(1200 * math.log(0.4))
    assert best.factors[0].child is not second.factors[0].child
    assert "e-362 (0.0 as a float)" in str(best)


def test_zero_factors_rank_last() -> None:
    x = Value(0.5, "x")
    dead = (x * -3.0).relu()  # relu at a negative input: factor 0
    live = x.tanh()
    output = dead + live + x * 0.1
    c = chain(output, x)
    assert c.num_paths == 3
    products = [p.product for p in c.paths()]
    assert products[:2] == pytest.approx([1 - math.tanh(0.5) ** 2, 0.1])
    assert products[2] == 0.0
    assert [p.product for p in c.paths(3)] == products


def test_a_node_used_twice_gives_two_paths() -> None:
    x = Value(3.0, "x")
    c = chain(x * x, x)
    assert c.num_paths == 2 and c.total == 6.0
    assert {p.factors[0].index for p in c.paths()} == {0, 1}
    assert "(input 1)" in str(c) and "(input 2)" in str(c)


def test_wrt_is_the_output() -> None:
    x = Value(2.0, "x")
    y = x.tanh()
    for node in (x, y):
        c = chain(node, node)
        assert c.num_paths == 1 and c.total == 1.0
        (path,) = c.paths()
        assert path.factors == () and path.product == 1.0


def test_total_matches_grad_for_every_node_of_an_mlp_graph() -> None:
    from microgradvg.nn import MLP

    model = MLP(3, [4, 4, 1], activation="tanh", seed=0)
    loss = (model([0.5, -1.0, 2.0]) - 1.0) ** 2
    fresh_backward(loss)
    for node in topological_order(loss):
        c = chain(loss, node)
        assert c.total == pytest.approx(node.grad, rel=1e-12, abs=1e-15)


# ---- Nielsen's toy network ------------------------------------------------------------


def sigmoid_prime(z: float) -> float:
    s = 1.0 / (1.0 + math.exp(-z))
    return s * (1.0 - s)


def test_nielsen_toy_chain_for_db1_is_factor_for_factor() -> None:
    """One neuron per layer: ∂C/∂b¹ = σ'(z¹)·w²·σ'(z²)·w³·σ'(z³)·w⁴·σ'(z⁴)·(a⁴ − y)."""
    x, y = 0.8, 0.2
    weights, biases = [0.6, -1.4, 0.9, 1.7], [0.3, -0.2, 0.5, 0.1]
    w = [Value(v, f"w{i + 1}") for i, v in enumerate(weights)]
    b = [Value(v, f"b{i + 1}") for i, v in enumerate(biases)]
    a: Value = Value(x, "x")
    for wl, bl in zip(w, b):
        a = Value.linear([wl], [a], bl).sigmoid()
    cost = 0.5 * (a - y) ** 2
    # The same network in plain floats, independently.
    zs, activation = [], x
    for wl_, bl_ in zip(weights, biases):
        zs.append(wl_ * activation + bl_)
        activation = 1.0 / (1.0 + math.exp(-zs[-1]))
    primes = [sigmoid_prime(z) for z in zs]

    c = chain(cost, b[0])
    assert c.num_paths == 1
    (path,) = c.paths()
    ops = [f.op for f in path.factors]
    values = [f.value for f in path.factors]
    assert ops[:8] == ["linear", "sigmoid", "linear", "sigmoid", "linear", "sigmoid",
                       "linear", "sigmoid"]
    expected = [1.0, primes[0], weights[1], primes[1], weights[2], primes[2], weights[3], primes[3]]
    assert values[:8] == pytest.approx(expected, rel=1e-12)
    assert path.factors[0].parent is b[0]
    assert [f.parent for f in path.factors[2:8:2]] == [f.child for f in path.factors[1:7:2]]
    # Then the cost's factors: a⁴ − y (1), (·)² (2(a⁴ − y)), ½ · (½); their product is a⁴ − y.
    assert ops[8:] == ["-", "**", "*"]
    assert values[8:] == pytest.approx([1.0, 2 * (activation - y), 0.5])
    assert math.prod(values[8:]) == pytest.approx(activation - y)
    db1 = math.prod(primes) * math.prod(weights[1:]) * (activation - y)
    assert path.product == pytest.approx(db1, rel=1e-12)
    fresh_backward(cost)
    assert c.total == pytest.approx(b[0].grad, rel=1e-12) == pytest.approx(db1, rel=1e-12)
    text = str(c)
    assert "the product of the factors along its one path" in text
    assert "b1 → linear#" in text and "running product" in text


# ---- printing ---------------------------------------------------------------------------


def test_str_is_an_aligned_deterministic_table_with_a_summary() -> None:
    texts = []
    for _ in range(2):
        output, wrt = layered(width=2, depth=4, seed=3)
        texts.append(str(chain(output, wrt)))
    assert texts[0] == texts[1]
    text = texts[0]
    assert text.count("running product") == 3  # the top three paths
    assert "3 of 16 paths shown; they sum to" in text and "% of the total; total =" in text
    first = text.split("\n\n")[1].splitlines()[1:]  # the first path's header and rows
    assert len({len(line) for line in first}) == 1  # right-aligned numbers: one width
    assert repr(chain(output, wrt)).startswith("<Chain ∂+#")


def test_long_paths_are_elided_in_the_middle() -> None:
    output, x = doubling(40)
    text = str(chain(output, x).paths(1)[0])
    assert "(64 more factors)" in text


# ---- errors -----------------------------------------------------------------------------


def test_wrt_outside_the_graph_is_a_value_error_naming_both() -> None:
    x, stranger = Value(1.0, "x"), Value(2.0, "stranger")
    y = x.tanh()
    y.label = "y"
    with pytest.raises(ValueError, match=r"wrt Value\(.*'stranger'.*output Value\(.*'y'"):
        chain(y, stranger)


def test_engines_do_not_mix_and_tensor_outputs_need_one_element_or_a_seed() -> None:
    x = Tensor([1.0, 2.0], requires_grad=True, label="x")
    y = x * 3.0
    with pytest.raises(ValueError, match="2 elements.*seed="):
        chain(y, x)
    with pytest.raises(TypeError, match="must be a Tensor"):
        chain(y.sum(), Value(1.0))
    with pytest.raises(TypeError, match="must be a Value"):
        chain(Value(1.0), x)
    with pytest.raises(ValueError, match="seed has shape"):
        chain(y, x, seed=[1.0])


# ---- Tensor graphs ----------------------------------------------------------------------


@given(tensor_dags())
def test_tensor_paths_sum_to_the_gradient_and_jacobians_agree(dag: tuple[Tensor, Tensor]) -> None:
    output, wrt = dag
    c = chain(output, wrt)
    enumerated = all_paths(output, wrt)
    assert c.num_paths == len(enumerated)
    found = c.paths()
    assert sorted(map(key, found)) == sorted(map(key, enumerated))
    seed = np.ones_like(output.data)
    for path in found:
        assert path.product.shape == wrt.shape
        assert np.allclose(path.product, tensor_product(path.edges, seed, wrt.shape))
        jacobian = path.jacobian_product()
        assert jacobian.shape == (1, wrt.data.size)
        assert np.allclose(jacobian.reshape(wrt.shape), path.product, atol=1e-12)
    norms = [np.linalg.norm(p.product) for p in found]
    assert norms == sorted(norms, reverse=True)
    fresh_backward(output)
    assert np.allclose(sum(p.product for p in found), c.total, atol=1e-12)
    assert np.allclose(c.total, wrt.grad, rtol=1e-12, atol=1e-12)


def test_tensor_mlp_chain_and_table() -> None:
    from microgradvg.nn import MLP, quadratic_cost

    model = MLP([4, 3, 2], seed=0)
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    cost = quadratic_cost(model(x), np.array([[0.0, 1.0], [1.0, 0.0]]))
    weight = model.layers[0].weight
    fresh_backward(cost)
    c = chain(cost, weight)
    assert c.num_paths == 2  # (a − y) feeds the square twice
    assert np.allclose(c.total, weight.grad, rtol=1e-12)
    for path in c.paths():
        J = path.jacobian_product()
        assert np.allclose(J.reshape(weight.shape), path.product)
    text = str(c)
    for column in ("J shape", "‖J‖", "gain", "‖path grad‖", "2 paths, ‖total‖ ="):
        assert column in text
    assert "6×12" in text  # the linear factor ∂z¹/∂W¹: z¹ is 2×3, W¹ is 3×4


def test_tensor_seed_gives_the_vector_jacobian_product() -> None:
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True, label="x")
    y = (x * x).tanh() + x
    v = np.array([1.0, -2.0, 0.5])
    c = chain(y, x, seed=v)
    y.backward(v)
    assert c.num_paths == 3 and np.allclose(c.total, x.grad)
    assert np.allclose(sum(p.product for p in c.paths()), x.grad)
    top = c.paths(1)[0]
    assert np.allclose(v @ top.jacobian_product(), top.product)


def test_too_many_tensor_paths_are_not_listed() -> None:
    x = Tensor([1.0], requires_grad=True, label="x")
    a, b = x, x * 1.0
    for _ in range(18):
        a, b = a + b, a - b
    c = chain((a + b).sum(), x)
    assert c.num_paths > MAX_ENUMERATED_PATHS
    with pytest.raises(ValueError, match="Tensor chain ranks paths by computing each one"):
        c.paths(1)
    assert "paths, too many to rank one by one in a Tensor chain; ‖total‖ =" in str(c)
    assert isinstance(c, Chain)


def test_k_of_zero_or_less_gives_no_paths() -> None:
    x = Value(1.0, "x")
    c = chain(x.tanh(), x)
    assert c.paths(0) == [] and c.paths(-3) == []


def test_docstring_examples() -> None:
    import doctest
    import importlib

    # `microgradvg.chain` is the function (the package exports it), so fetch its module.
    assert doctest.testmod(importlib.import_module("microgradvg.inspection.chain")).failed == 0


# ---- infinite, NaN and zero factors: the order ±∞, finite by |product|, 0, NaN ----------

SPECIAL_FACTORS = st.sampled_from(
    [0.0, -0.0, math.inf, -math.inf, math.nan, 0.5, -0.5, 1.0, 2.0, -3.0]
)


@st.composite
def factor_dags(draw: Any) -> tuple[Value, Value]:
    """(output, x): a DAG of custom nodes with parallel edges and chosen factors."""
    x = Value(1.0, "x")
    nodes, used = [x], set()
    for i in range(draw(st.integers(1, 6))):
        picks = draw(st.lists(st.integers(0, len(nodes) - 1), min_size=1, max_size=3))
        used.update(picks)
        factors = [draw(SPECIAL_FACTORS) for _ in picks]
        nodes.append(Value.custom(0.0, [nodes[j] for j in picks], factors, f"f{i}"))
    sinks = [node for j, node in enumerate(nodes) if j not in used]
    output = Value.custom(0.0, sinks, [draw(SPECIAL_FACTORS) for _ in sinks], "out")
    return output, x


def product_rank(factors: list[float]) -> tuple[int, float]:
    """(class, |product|) in the documented order, from the factors' kinds alone:
    0 for ±∞, 1 finite nonzero, 2 zero, 3 NaN (a NaN factor, or both 0 and ∞)."""
    has_nan = any(math.isnan(f) for f in factors)
    has_inf = any(math.isinf(f) for f in factors)
    has_zero = any(f == 0.0 for f in factors)
    if has_nan or (has_inf and has_zero):
        return (3, 0.0)
    if has_inf:
        return (0, math.inf)
    if has_zero:
        return (2, 0.0)
    return (1, abs(math.prod(factors)))


def found_rank(product: float) -> tuple[int, float]:
    if math.isnan(product):
        return (3, 0.0)
    if math.isinf(product):
        return (0, math.inf)
    return (1, abs(product)) if product else (2, 0.0)


def order(rank: tuple[int, float]) -> tuple[int, float]:
    return (rank[0], -rank[1])


@given(factor_dags(), st.integers(1, 12))
def test_top_k_with_infinite_nan_and_zero_factors_matches_brute_force(dag, k: int) -> None:
    output, x = dag
    every = [[child.local_derivatives[slot] for child, slot in p] for p in all_paths(output, x)]
    expected = sorted((product_rank(f) for f in every), key=order)[:k]
    found = chain(output, x).paths(k)
    assert len(found) == len(expected)
    assert len({key(p) for p in found}) == len(found)
    got = [found_rank(p.product) for p in found]
    for path, rank in zip(found, got):  # each product is its own factors' product
        assert rank == product_rank([f.value for f in path.factors])
        if rank[0] == 3:
            assert math.isnan(path.log_abs)
        else:
            ln = math.log(rank[1]) if rank[1] else -math.inf
            assert path.log_abs == pytest.approx(ln, abs=1e-12)
    assert got == sorted(got, key=order)
    assert sorted(got, key=order) == expected


def test_paths_through_parallel_infinite_and_zero_factors() -> None:
    # x → a by three edges with factors ∞, 0, 2, and a → b by 0, 2, ∞: of the nine
    # products three are ∞, one 4, three 0 and two ∞·0 = NaN, which rank last.
    x = Value(1.0, "x")
    a = Value.custom(0.0, [x, x, x], [math.inf, 0.0, 2.0], "a")
    b = Value.custom(0.0, [a, a, a], [0.0, 2.0, math.inf], "b")
    c = chain(b, x)
    assert [p.product for p in c.paths(4)] == [math.inf, math.inf, math.inf, 4.0]
    every = [p.product for p in c.paths()]
    assert every[4:7] == [0.0, 0.0, 0.0] and all(math.isnan(p) for p in every[7:])
    assert "path 1 of 9: 2 factors, product = inf" in str(c)


def test_an_infinite_factor_after_an_underflow_still_gives_an_infinite_product() -> None:
    x = Value(1.0, "x")
    node = x
    for i in range(3):  # 1e-200 · 1e-200 underflows to 0 before the ∞ factor comes
        node = Value.custom(0.0, [node], [1e-200 if i < 2 else -math.inf], f"f{i}")
    (path,) = chain(node, x).paths()
    assert path.product == -math.inf and path.log_abs == math.inf


def test_an_overflowed_product_prints_the_float_it_overflows_to() -> None:
    x = Value(1.0, "x")
    node = Value.custom(0.0, [Value.custom(0.0, [x], [1e300], "big")], [1e300], "bigger")
    (path,) = chain(node, x).paths()
    assert path.product == math.inf and path.log_abs == pytest.approx(600 * math.log(10))
    assert "product = 1e+600 (inf as a float)" in str(path)
