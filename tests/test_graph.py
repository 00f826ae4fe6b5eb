"""Tests for `microgradvg.engine.graph`: topological order, leaves, edges and zero_grad.

The order must put parents before children with the root last, visit each
node once, be the same for the same graph, survive graphs a million nodes deep,
and work on Value graphs, Tensor graphs and any object with `parents`.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from strategies import Expression, expressions, reachable

from microgradvg import Tensor, Value, grad, topological_order, zero_grad
from microgradvg.engine.graph import edges, walk


class Node:
    """The least the protocol needs for ordering: a tuple of parents."""

    __slots__ = ("name", "parents")

    def __init__(self, *parents: Node, name: str = "") -> None:
        self.parents = parents
        self.name = name


def assert_topological(order: list, *roots) -> None:
    """Each node once, parents before children, exactly the nodes the roots depend on."""
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    expected: dict[int, object] = {}
    for root in roots:
        expected.update(reachable(root))
    assert set(position) == set(expected)
    for i, node in enumerate(order):
        for parent in node.parents:
            assert position[id(parent)] < i, "a parent comes after its child"


def structure(order: list) -> list[tuple]:
    """The order described without ids: each node's op, data and its parents' positions."""
    position = {id(node): i for i, node in enumerate(order)}
    return [(n.op, n.data, n.label, tuple(position[id(p)] for p in n.parents)) for n in order]


# ---- order on random Value DAGs ---------------------------------------------------------


@given(expressions())
def test_parents_come_before_children_and_the_root_is_last(expression: Expression):
    order = topological_order(expression.root)
    assert_topological(order, expression.root)
    assert order[-1] is expression.root


@given(expressions())
def test_the_order_is_deterministic(expression: Expression):
    order = topological_order(expression.root)
    assert topological_order(expression.root) == order
    rebuilt = expression.build(*expression.leaves)  # the same graph from new node objects
    assert structure(topological_order(rebuilt)) == structure(order)


def leaves(root):
    """The leaves a backward walk splits off (it resets gradients: use on fresh graphs only)."""
    return walk((root,), reset=root.grad)[1]


@given(expressions())
def test_a_backward_walk_splits_off_the_parentless_nodes_in_order(expression: Expression):
    order = topological_order(expression.root)
    for i, node in enumerate(order):
        node.grad = float(i)
    interior, leaves, earlier = walk((expression.root,), reset=-1.0)
    # The root sums every node no step used, so every drawn leaf is reachable.
    assert {id(n) for n in leaves} == {id(n) for n in expression.leaves}
    assert leaves == [n for n in order if not n.parents]
    assert interior == [n for n in order if n.parents]
    assert earlier == [float(order.index(n)) for n in leaves]
    assert all(node.grad == -1.0 for node in order)


@given(expressions())
def test_edges_lists_every_parent_slot_once(expression: Expression):
    order = topological_order(expression.root)
    listed = list(edges(order))
    assert len(listed) == sum(len(n.parents) for n in order)
    assert all(child.parents[index] is parent for child, index, parent in listed)


def test_a_node_used_twice_is_ordered_once():
    a = Value(2.0)
    b = a * a
    assert topological_order(b) == [a, b]
    assert list(edges([a, b])) == [(b, 0, a), (b, 1, a)]


def test_a_leaf_alone():
    a = Value(1.0)
    assert topological_order(a) == [a] and leaves(a) == [a]


# ---- deep and wide graphs ------------------------------------------------------------------


def test_a_million_deep_chain_is_ordered_without_recursion(collector_paused):
    depth = 1_000_000
    bottom = Node(name="bottom")
    node = bottom
    for _ in range(depth):
        node = Node(node)
    order = topological_order(node)
    assert len(order) == depth + 1 and order[0] is bottom and order[-1] is node
    assert all(order[i + 1].parents[0] is order[i] for i in range(depth))


def test_a_wide_node_with_many_parents():
    inputs = [Node(name=str(i)) for i in range(100_000)]
    top = Node(*inputs)
    order = topological_order(top)
    assert order[:-1] == inputs and order[-1] is top


def test_a_ladder_with_exponentially_many_paths_is_visited_in_linear_time(collector_paused):
    # Each level doubles the number of paths (b + b) then halves the value, so after
    # n levels there are 2ⁿ paths, each with product 0.5ⁿ, and ∂top/∂a = Σ = 1.
    levels = 100_000
    a = Value(1.0)
    b = a
    for _ in range(levels):
        b = (b + b) * 0.5
    order = topological_order(b)
    assert len(order) == 2 * levels + 1
    b.backward()
    assert a.grad == 1.0


# ---- zero_grad -----------------------------------------------------------------------------


@given(expressions())
def test_zero_grad_zeroes_every_value_in_the_graph(expression: Expression):
    expression.root.backward()
    zero_grad(expression.root)
    assert all(node.grad == 0.0 for node in reachable(expression.root).values())


def test_zero_grad_leaves_other_graphs_alone():
    a, b = Value(1.0), Value(2.0)
    c, d = a * 3.0, b * 3.0
    c.backward()
    d.backward()
    zero_grad(c)
    assert (a.grad, c.grad, b.grad, d.grad) == (0.0, 0.0, 3.0, 1.0)


# ---- Tensor graphs -------------------------------------------------------------------------


def tensor_graph() -> tuple[Tensor, Tensor, Tensor]:
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True, label="x")
    w = Tensor(rng.standard_normal((4, 2)), requires_grad=True, label="w")
    h = (x @ w).tanh()
    y = (h * h + x.sum(axis=1, keepdims=True) * 2.0).sum()
    return x, w, y


def test_tensor_graphs_are_ordered_parents_first():
    x, w, y = tensor_graph()
    order = topological_order(y)
    assert_topological(order, y)
    assert order[-1] is y
    assert x in order and w in order
    assert structure_of_tensors(order) == structure_of_tensors(topological_order(tensor_graph()[2]))


def structure_of_tensors(order: list) -> list[tuple]:
    position = {id(node): i for i, node in enumerate(order)}
    return [(n.op, n.shape, tuple(position[id(p)] for p in n.parents)) for n in order]


def test_tensor_leaves_include_inputs_and_lifted_constants():
    x, w, y = tensor_graph()
    found = leaves(y)
    assert all(not n.parents for n in found)
    assert [n for n in found if n.requires_grad] == [x, w]


def test_zero_grad_forgets_every_tensor_gradient():
    x, w, y = tensor_graph()
    y.backward()
    assert x.grad is not None and w.grad is not None
    zero_grad(y)
    assert all(node.grad is None for node in topological_order(y))


def test_a_deep_tensor_chain_backpropagates():
    depth = 20_000  # far beyond Python's recursion limit
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(depth):
        y = y * 1.0
    y.sum().backward()
    assert np.array_equal(x.grad, [1.0, 1.0])


# ---- several roots ---------------------------------------------------------------------------


def test_several_independent_roots_are_all_ordered():
    a, b = Value(1.0), Value(2.0)
    c, d = a * b, b + 1.0
    order = topological_order(c, d)
    assert_topological(order, c, d)


def test_a_root_that_is_a_parent_of_another_root_still_comes_first():
    a = Value(1.0)
    b = a * 2.0
    assert_topological(topological_order(b, a), b, a)


def test_grad_of_two_outputs_where_one_feeds_the_other():
    x = Tensor([1.0], requires_grad=True)
    y = x * 2.0
    z = y * 3.0
    (gradient,) = grad([z, y], [x])
    assert gradient.data.tolist() == [6.0 + 2.0]  # ∂z/∂x + ∂y/∂x
