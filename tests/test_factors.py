"""Per-edge factors of Tensor graphs: Jacobians, VJPs, gains, chains of factors.

Each factor's explicit Jacobian is compared with central differences of the
op's forward map (perturbing the parent, re-running the op), so a wrong rule
or a wrong Jacobian assembly shows up; VJPs and gains are checked against J.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import away_from_zero, distinct, positive

import microgradvg as mg
from microgradvg import Tensor
from microgradvg.engine.factors import MAX_FACTOR_JACOBIAN_ENTRIES, TensorFactor
from microgradvg.engine.functional import linear, sigmoid_cross_entropy, softmax_cross_entropy
from microgradvg.testing import arrays, broadcastable_shapes, shapes

Op = Callable[..., Tensor]


def numeric_jacobian(op: Op, inputs: list[np.ndarray], index: int, eps: float = 1e-6) -> np.ndarray:
    """∂op(…)/∂inputs[index] by central differences: rows are output elements, columns input ones."""
    columns = []
    for j in range(inputs[index].size):
        plus = [a.copy() for a in inputs]
        minus = [a.copy() for a in inputs]
        plus[index].flat[j] += eps
        minus[index].flat[j] -= eps
        difference = np.asarray(op(*map(Tensor, plus)).data) - np.asarray(op(*map(Tensor, minus)).data)
        columns.append(difference.reshape(-1) / (2 * eps))
    size = np.asarray(op(*map(Tensor, inputs)).data).size
    return np.stack(columns, axis=1) if columns else np.zeros((size, 0))


def bases(a: np.ndarray) -> np.ndarray:
    return positive(a, 0.3)


def off_zero(a: np.ndarray) -> np.ndarray:
    return away_from_zero(a, 0.3)


LABELS = np.array([2, 0])
TARGETS = np.array([[1.0, 0.0, 0.3], [0.0, 1.0, 0.8]])

# name: (op on Tensors, input shapes, how to make drawn values valid for the op)
CATALOGUE: dict[str, tuple[Op, list[tuple[int, ...]], Callable[[np.ndarray], np.ndarray]]] = {
    "neg": (lambda a: -a, [(2, 3)], lambda a: a),
    "**const": (lambda a: a**3, [(2, 3)], lambda a: a),
    "**": (lambda a, b: a**b, [(2, 3), (3,)], bases),
    "@ 2·2": (lambda a, b: a @ b, [(2, 3), (3, 2)], lambda a: a),
    "@ 1·2": (lambda a, b: a @ b, [(3,), (3, 2)], lambda a: a),
    "@ 2·1": (lambda a, b: a @ b, [(2, 3), (3,)], lambda a: a),
    "@ batch": (lambda a, b: a @ b, [(2, 1, 2, 2), (3, 2, 2)], lambda a: a),
    "exp": (lambda a: a.exp(), [(2, 3)], lambda a: a),
    "log": (lambda a: a.log(), [(2, 3)], bases),
    "tanh": (lambda a: a.tanh(), [(2, 3)], lambda a: a),
    "sech2": (lambda a: a.sech2(), [(2, 3)], lambda a: a),
    "sigmoid": (lambda a: a.sigmoid(), [(2, 3)], lambda a: a),
    "relu": (lambda a: a.relu(), [(2, 3)], off_zero),
    "sum axis": (lambda a: a.sum(axis=1, keepdims=True), [(2, 3)], lambda a: a),
    "sum all": (lambda a: a.sum(), [(2, 3)], lambda a: a),
    "mean tuple": (lambda a: a.mean(axis=(0, 2)), [(2, 3, 2)], lambda a: a),
    "softmax": (lambda a: a.softmax(axis=0), [(3, 2)], lambda a: a),
    "log_softmax": (lambda a: a.log_softmax(), [(2, 3)], lambda a: a),
    "reshape": (lambda a: a.reshape(3, -1), [(2, 3)], lambda a: a),
    "transpose": (lambda a: a.transpose(2, 0, 1), [(2, 3, 2)], lambda a: a),
    "index repeats": (lambda a: a[np.array([1, 0, 1, 1])], [(2, 3)], lambda a: a),
    "index mask": (lambda a: a[np.array([[True, False, True], [False, True, True]])], [(2, 3)], lambda a: a),
    "index slice": (lambda a: a[:, ::-2], [(2, 3)], lambda a: a),
    "scatter": (lambda a: a.scatter(np.array([0, 2, 0]), (4,)), [(3,)], lambda a: a),
    "expand": (lambda a: a.expand((2, 3, 3)), [(3, 1)], lambda a: a),
    "concatenate": (lambda a, b: mg.concatenate([a, b], axis=1), [(2, 2), (2, 3)], lambda a: a),
    "stack": (lambda a, b: mg.stack([a, b], axis=-1), [(2, 3), (2, 3)], lambda a: a),
    "linear": (linear, [(2, 3), (4, 3), (4,)], lambda a: a),
    "softmax_cross_entropy": (lambda z: softmax_cross_entropy(z, LABELS), [(2, 3)], lambda a: a),
    "sigmoid_cross_entropy": (lambda z: sigmoid_cross_entropy(z, TARGETS), [(2, 3)], lambda a: a),
}


def build(op: Op, values: list[np.ndarray]) -> Tensor:
    return op(*(Tensor(v, requires_grad=True) for v in values))


@given(name=st.sampled_from(list(CATALOGUE)), data=st.data())
def test_jacobian_matches_finite_differences(name: str, data) -> None:
    op, input_shapes, domain = CATALOGUE[name]
    values = [domain(data.draw(arrays(s, -2, 2))) for s in input_shapes]
    child = build(op, values)
    for index, parent in enumerate(child.parents):
        factor = child.factor(index)
        assert isinstance(factor, TensorFactor)
        assert factor.parent is parent and factor.child is child and factor.op == child.op
        assert factor.shape == (child.data.size, parent.data.size)
        jacobian = factor.jacobian()
        assert jacobian.shape == factor.shape
        expected = numeric_jacobian(op, values, index)
        np.testing.assert_allclose(jacobian, expected, rtol=1e-6, atol=1e-7)


@given(name=st.sampled_from(["max axis", "max all"]), data=st.data())
def test_jacobian_of_max_matches_finite_differences(name: str, data) -> None:
    op = (lambda a: a.max(axis=0)) if name == "max axis" else (lambda a: a.max())
    values = [data.draw(distinct((3, 2)))]
    child = build(op, values)
    np.testing.assert_allclose(child.factor(0).jacobian(), numeric_jacobian(op, values, 0), atol=1e-7)


@given(
    symbol=st.sampled_from(["+", "-", "*", "/"]),
    pair=broadcastable_shapes(shapes(0, 2, max_side=3)),
    data=st.data(),
)
def test_broadcasting_factors_match_finite_differences(symbol: str, pair, data) -> None:
    op = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[symbol]
    engine_op: Op = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    }[symbol]
    values = [data.draw(arrays(pair[0])), off_zero(data.draw(arrays(pair[1])))]
    child = build(engine_op, values)
    np.testing.assert_allclose(child.data, op(*values), rtol=1e-14)
    for index in (0, 1):
        expected = numeric_jacobian(engine_op, values, index)
        np.testing.assert_allclose(child.factor(index).jacobian(), expected, rtol=1e-6, atol=1e-7)


def test_factor_to_a_lifted_number_is_its_own_edge() -> None:
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    child = x * 3.0
    np.testing.assert_array_equal(child.factor(0).jacobian(), 3.0 * np.eye(2))
    np.testing.assert_array_equal(child.factor(1).jacobian(), [[1.0], [2.0]])  # ∂(3x)/∂3 = x


@given(name=st.sampled_from(list(CATALOGUE)), data=st.data())
def test_vjp_is_g_times_the_jacobian(name: str, data) -> None:
    op, input_shapes, domain = CATALOGUE[name]
    values = [domain(data.draw(arrays(s, -2, 2))) for s in input_shapes]
    child = build(op, values)
    g = data.draw(arrays(child.shape))
    for index, parent in enumerate(child.parents):
        factor = child.factor(index)
        product = np.asarray(factor.vjp(g))
        assert product.shape == parent.shape
        expected = np.reshape(g, -1) @ numeric_jacobian(op, values, index)
        np.testing.assert_allclose(product.reshape(-1), expected, rtol=1e-6, atol=1e-6)


def test_vjp_accepts_a_flat_gradient() -> None:
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    child = x * x
    # One edge of x·x: ∂(a·b)/∂a = b, so this edge alone carries x (the other carries the other x).
    np.testing.assert_allclose(child.factor(0).vjp(np.ones(6)), x.data)


# ---- gain --------------------------------------------------------------------------------


def test_gain_is_none_before_backward_and_after_create_graph() -> None:
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = x.tanh()
    loss = (h * h).sum()
    assert h.factor(0).gain is None
    loss.backward(create_graph=True)
    assert h.factor(0).gain is None


@given(name=st.sampled_from(list(CATALOGUE)), data=st.data())
def test_gain_after_backward_is_the_ratio_of_gradient_norms(name: str, data) -> None:
    op, input_shapes, domain = CATALOGUE[name]
    values = [domain(data.draw(arrays(s, -2, 2))) for s in input_shapes]
    child = build(op, values)
    weights = data.draw(arrays(child.shape))
    (child * weights).sum().backward()
    g = np.asarray(child.grad).reshape(-1)
    np.testing.assert_allclose(g, np.reshape(weights, -1), rtol=1e-15)
    for index in range(len(child.parents)):
        gain = child.factor(index).gain
        norm_in = np.linalg.norm(g)
        if norm_in == 0.0:
            assert gain == 0.0
            continue
        # Independently: ‖g·J‖ / ‖g‖ with J from finite differences.
        expected = np.linalg.norm(g @ numeric_jacobian(op, values, index)) / norm_in
        assert gain == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_gain_of_a_known_edge() -> None:
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    child = x * np.array([2.0, 0.5])
    child.backward(np.array([1.0, 1.0]))
    # g·J = [2, 0.5]: ‖·‖ = √4.25, ‖g‖ = √2
    assert child.factor(0).gain == pytest.approx(np.sqrt(4.25) / np.sqrt(2.0), rel=1e-15)


# ---- chains of factors -------------------------------------------------------------------


@given(n_in=st.integers(1, 4), n_out=st.integers(1, 4), data=st.data())
def test_product_of_jacobians_along_a_chain_is_the_gradient(n_in: int, n_out: int, data) -> None:
    x = Tensor(data.draw(arrays((n_in,))), requires_grad=True)
    weight = Tensor(data.draw(arrays((n_out, n_in))), requires_grad=True)
    bias = Tensor(data.draw(arrays((n_out,))), requires_grad=True)
    h = x.tanh()
    z = linear(h, weight, bias)
    loss = z.sum()
    loss.backward()
    # x → tanh → linear → sum: ∂loss/∂x = J_sum · J_linear · J_tanh.
    assert loss.parents[0] is z and z.parents[0] is h and h.parents[0] is x
    chain = loss.factor(0).jacobian() @ z.factor(0).jacobian() @ h.factor(0).jacobian()
    np.testing.assert_allclose(chain.reshape(-1), x.grad, rtol=1e-12, atol=1e-15)
    # …and each factor is what the math says: J_tanh = diag(sech²x), J_linear = W, J_sum = 1ᵀ.
    np.testing.assert_allclose(h.factor(0).jacobian(), np.diag(1.0 - np.tanh(x.data) ** 2), rtol=1e-13)
    np.testing.assert_array_equal(z.factor(0).jacobian(), weight.data)
    np.testing.assert_array_equal(loss.factor(0).jacobian(), np.ones((1, n_out)))


def test_sum_over_paths_of_factor_products_is_the_gradient() -> None:
    # x reaches the loss through two paths (x·x and tanh x); the gradient sums them.
    x = Tensor(np.array([0.7, -0.2]), requires_grad=True)
    square = x * x
    squashed = x.tanh()
    total = square + squashed
    loss = total.sum()
    loss.backward()
    top = loss.factor(0).jacobian() @ total.factor(0).jacobian()
    via_square = top @ square.factor(0).jacobian() + top @ square.factor(1).jacobian()
    via_tanh = loss.factor(0).jacobian() @ total.factor(1).jacobian() @ squashed.factor(0).jacobian()
    np.testing.assert_allclose((via_square + via_tanh).reshape(-1), x.grad, rtol=1e-14)


# ---- size limits and norms ---------------------------------------------------------------


def test_jacobian_refuses_huge_factors_and_names_the_op() -> None:
    n = int(np.sqrt(MAX_FACTOR_JACOBIAN_ENTRIES)) + 1
    x = Tensor(np.ones(n), requires_grad=True)
    child = x.tanh()
    with pytest.raises(ValueError, match=r"jacobian: the tanh factor .* vjp"):
        child.factor(0).jacobian()


def test_norm_is_the_frobenius_norm_exact_or_estimated() -> None:
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    w = np.array([[2.0, -1.0], [0.5, 3.0]])
    assert (x * w).factor(0).norm() == pytest.approx(np.linalg.norm(w), rel=1e-15)
    n = int(np.sqrt(MAX_FACTOR_JACOBIAN_ENTRIES)) + 1  # too big for the exact path: 64-probe estimate
    scale = np.linspace(0.5, 2.0, n)
    big = Tensor(np.ones(n), requires_grad=True) * scale
    assert big.factor(0).norm() == pytest.approx(np.linalg.norm(scale), rel=0.02)


def test_float32_factors_stay_float32() -> None:
    x = Tensor(np.array([0.5, -1.0], dtype=np.float32), requires_grad=True)
    child = x.tanh()
    assert child.factor(0).jacobian().dtype == np.float32
    assert np.asarray(child.factor(0).vjp(np.ones(2))).dtype == np.float32


def test_repr_names_op_and_shapes() -> None:
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    assert repr(x.sum(axis=0).factor(0)) == "TensorFactor(sum: (2, 3) → (3,))"
