"""Tests for `microgradvg.engine.rules`: the table of derivative rules and its one broadcasting helper.

Every op a Tensor can record has exactly one rule, and every rule belongs to an
op; each rule gives the same numbers on ndarrays (an ordinary backward pass)
as on Tensors (`create_graph=True`, where the rule's own arithmetic is
recorded); and `sum_to` undoes broadcasting, checked against a plain loop.
(Each rule's numbers against central differences are in test_tensor.py.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import away_from_zero, leaf, positive

import microgradvg as mg
from microgradvg import Tensor
from microgradvg.engine.backprop import RULES
from microgradvg.engine.extend import CheckedRule
from microgradvg.engine.functional import linear, sigmoid_cross_entropy, softmax_cross_entropy
from microgradvg.engine.ops import sum_to
from microgradvg.testing import arrays, broadcastable_shapes, shapes

Build = Callable[[np.random.Generator], tuple[Tensor, list[Tensor]]]


def normal(rng: np.random.Generator, *shape: int) -> Tensor:
    return leaf(rng.standard_normal(shape))


def unary(f: Callable[[Tensor], Tensor], *shape: int, domain=lambda a: a) -> Build:
    def build(rng: np.random.Generator) -> tuple[Tensor, list[Tensor]]:
        x = leaf(domain(rng.standard_normal(shape)))
        return f(x), [x]

    return build


def binary(f: Callable[[Tensor, Tensor], Tensor], left: tuple, right: tuple, domain=lambda a: a) -> Build:
    def build(rng: np.random.Generator) -> tuple[Tensor, list[Tensor]]:
        a = leaf(domain(rng.standard_normal(left)))
        b = leaf(rng.standard_normal(right))
        return f(a, b), [a, b]

    return build


def linear_case(rng: np.random.Generator) -> tuple[Tensor, list[Tensor]]:
    x, w, b = normal(rng, 4, 3), normal(rng, 2, 3), normal(rng, 2)
    return linear(x, w, b), [x, w, b]


def joined(join) -> Build:
    def build(rng: np.random.Generator) -> tuple[Tensor, list[Tensor]]:
        a, b = normal(rng, 2, 3), normal(rng, 2, 3)
        return join([a, b], axis=1), [a, b]

    return build


# op name → a small graph whose root is recorded by that op (leaves require grad)
OPS: dict[str, Build] = {
    "+": binary(lambda a, b: a + b, (2, 3), (3,)),
    "-": binary(lambda a, b: a - b, (2, 1), (2, 3)),
    "*": binary(lambda a, b: a * b, (2, 3), (1, 3)),
    "/": binary(lambda a, b: b / a, (2, 3), (3,), domain=positive),
    "neg": unary(lambda x: -x, 2, 3),
    "**const": unary(lambda x: x**3, 2, 3),
    "**": binary(lambda a, b: a**b, (2, 3), (3,), domain=positive),
    "@": binary(lambda a, b: a @ b, (2, 3), (3, 4)),
    "linear": linear_case,
    "exp": unary(lambda x: x.exp(), 2, 3),
    "log": unary(lambda x: x.log(), 2, 3, domain=positive),
    "tanh": unary(lambda x: x.tanh(), 2, 3),
    "sech2": unary(lambda x: x.sech2(), 2, 3),
    "sigmoid": unary(lambda x: x.sigmoid(), 2, 3),
    "relu": unary(lambda x: x.relu(), 2, 3, domain=away_from_zero),
    "sum": unary(lambda x: x.sum(axis=0), 2, 3),
    "mean": unary(lambda x: x.mean(axis=(0, 2), keepdims=True), 2, 3, 2),
    "max": unary(lambda x: x.max(axis=1), 2, 3),
    "softmax": unary(lambda x: x.softmax(axis=0), 3, 2),
    "log_softmax": unary(lambda x: x.log_softmax(), 2, 3),
    "reshape": unary(lambda x: x.reshape(3, 2), 2, 3),
    "transpose": unary(lambda x: x.transpose(2, 0, 1), 2, 3, 2),
    "expand": unary(lambda x: x.expand((4, 2, 3)), 2, 1),
    "index": unary(lambda x: x[np.array([1, 0, 1])], 2, 3),
    "scatter": unary(lambda x: x.scatter(np.array([2, 0, 2]), (4,)), 3),
    "concatenate": joined(mg.concatenate),
    "stack": joined(mg.stack),
    "softmax_cross_entropy": unary(lambda z: softmax_cross_entropy(z, np.array([2, 0, 1])), 3, 4),
    "sigmoid_cross_entropy": unary(
        lambda z: sigmoid_cross_entropy(z, np.array([[1.0, 0.0, 0.25], [0.0, 0.5, 1.0]])), 2, 3
    ),
}


def test_every_recordable_op_has_a_rule_and_every_rule_an_op():
    built_in = {op for op, rule in RULES.items() if not isinstance(rule, CheckedRule)}  # not users' ops
    assert built_in == set(OPS)


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_case_is_recorded_by_its_op(name: str):
    root, _ = OPS[name](np.random.default_rng(0))
    assert root.op == name and root.requires_grad


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_rule_gives_the_same_numbers_on_arrays_and_on_tensors(name: str):
    arrays_root, arrays_leaves = OPS[name](np.random.default_rng(1))
    graph_root, graph_leaves = OPS[name](np.random.default_rng(1))
    cotangent = np.random.default_rng(2).standard_normal(arrays_root.shape)
    arrays_root.backward(cotangent)
    graph_root.backward(cotangent, create_graph=True)
    for plain, recorded in zip(arrays_leaves, graph_leaves):
        assert type(plain.grad) is np.ndarray and isinstance(recorded.grad, Tensor)
        # the same math, though not always the same formula (σ′ is saved at forward time)
        np.testing.assert_allclose(recorded.grad.data, plain.grad, rtol=1e-14, atol=1e-15)


# ---- sum_to -----------------------------------------------------------------------------------


def summed_by_loop(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Σ of g's elements into the element of `shape` each one was broadcast from."""
    out = np.zeros(shape)
    lead = g.ndim - len(shape)
    for index in np.ndindex(g.shape):
        source = tuple(0 if n == 1 else i for i, n in zip(index[lead:], shape))
        out[source] += g[index]
    return out


@given(pair=broadcastable_shapes(shapes(0, 3)), data=st.data())
def test_sum_to_undoes_broadcasting(pair, data):
    small, other = pair
    big = np.broadcast_shapes(small, other)
    g = data.draw(arrays(big))
    expected = summed_by_loop(g, small)
    np.testing.assert_allclose(sum_to(g, small), expected, rtol=1e-13, atol=1e-13)
    on_tensor = sum_to(Tensor(g), small)  # the create_graph path: the same numbers, as a Tensor
    assert isinstance(on_tensor, Tensor)
    np.testing.assert_allclose(on_tensor.data, expected, rtol=1e-13, atol=1e-13)

