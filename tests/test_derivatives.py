"""hvp, hessian and jacobian: against each other, finite differences of gradients, closed forms."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradvg as mg
from microgradvg.engine.derivatives import (
    MAX_HESSIAN_INPUTS,
    MAX_JACOBIAN_ENTRIES,
    hessian,
    hvp,
    jacobian,
)
from microgradvg.engine.functional import linear, sigmoid_cross_entropy, softmax_cross_entropy
from microgradvg.engine.tensor import Tensor
from microgradvg.nn import TensorMLP, apply_activation, quadratic_cost
from microgradvg.testing import gradcheck

EPS = 1e-5  # central differences of gradients: error O(EPS²) plus rounding O(1e-16/EPS)


def sech_squared(x: np.ndarray) -> np.ndarray:
    """1/cosh²x, from numpy's cosh: independent of the engine's own sech² (fine for |x| ≤ 3)."""
    return 1.0 / np.cosh(x) ** 2


def gradient(f: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """∂f/∂x from an ordinary (first-order) backward pass."""
    leaf = Tensor(x, requires_grad=True)
    f(leaf).backward()
    return np.zeros_like(x) if leaf.grad is None else leaf.grad


def hessian_by_differences(f: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """H[:, j] = (∇f(x + εeⱼ) − ∇f(x − εeⱼ)) / 2ε, shape x.shape + x.shape."""
    columns = []
    for j in range(x.size):
        step = np.zeros(x.size)
        step[j] = EPS
        step = step.reshape(x.shape)
        columns.append(((gradient(f, x + step) - gradient(f, x - step)) / (2 * EPS)).reshape(-1))
    return np.stack(columns, axis=1).reshape(x.shape + x.shape)


def jacobian_by_differences(f: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """J[..., j] = (f(x + εeⱼ) − f(x − εeⱼ)) / 2ε, shape f(x).shape + x.shape."""
    out_shape = f(Tensor(x)).shape
    columns = []
    for j in range(x.size):
        step = np.zeros(x.size)
        step[j] = EPS
        step = step.reshape(x.shape)
        columns.append(
            ((f(Tensor(x + step)).data - f(Tensor(x - step)).data) / (2 * EPS)).reshape(-1)
        )
    return np.stack(columns, axis=1).reshape(out_shape + x.shape)


# ---- a catalogue of smooth scalar and vector functions ----------------------------------------

SCALAR_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "Σ x³": lambda x: (x**3).sum(),
    "Σ tanh(x)·σ(x)": lambda x: (x.tanh() * x.sigmoid()).sum(),
    "Σ exp(x/3)·x": lambda x: ((x / 3.0).exp() * x).sum(),
    "log Σ exp(x)": lambda x: x.exp().sum().log(),
    "Σ log_softmax(x)²": lambda x: (x.reshape(-1).log_softmax() ** 2).sum(),
    "Σ x/(1+x²)": lambda x: (x / (x * x + 1.0)).sum(),
    "(Σ x)·(Σ sech²(x))": lambda x: x.sum() * x.sech2().sum(),
    "‖x‖⁴": lambda x: (x * x).sum() ** 2,
}

VECTOR_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh(x)·x₀": lambda x: x.tanh() * x.reshape(-1)[0],
    "softmax(x)": lambda x: x.reshape(-1).softmax(),
    "σ(x)ᵀ reversed": lambda x: x.sigmoid().reshape(-1)[::-1] * 2.0,
    "cumulative x²": lambda x: mg.stack(
        [(x.reshape(-1)[: i + 1] ** 2).sum() for i in range(x.size)]
    ),
}

small_shapes = st.sampled_from([(1,), (3,), (2, 2), (4,), (2, 3)])
seeds = st.integers(0, 2**16)


def point(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.5, 1.5, shape)


@given(name=st.sampled_from(sorted(SCALAR_FUNCTIONS)), shape=small_shapes, seed=seeds)
def test_hessian_matches_differences_of_gradients(
    name: str, shape: tuple[int, ...], seed: int
) -> None:
    f, x = SCALAR_FUNCTIONS[name], point(shape, seed)
    expected = hessian_by_differences(f, x)
    actual = hessian(f, x)
    assert actual.shape == shape + shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)
    flat = actual.reshape(x.size, x.size)
    np.testing.assert_allclose(flat, flat.T, rtol=1e-12, atol=1e-13)  # ∂²f/∂xᵢ∂xⱼ = ∂²f/∂xⱼ∂xᵢ


@given(name=st.sampled_from(sorted(SCALAR_FUNCTIONS)), shape=small_shapes, seed=seeds)
def test_hvp_equals_hessian_times_vector(name: str, shape: tuple[int, ...], seed: int) -> None:
    f, x = SCALAR_FUNCTIONS[name], point(shape, seed)
    v = np.random.default_rng(seed + 1).standard_normal(shape)
    product = hvp(f, x, v)
    assert isinstance(product, np.ndarray) and product.shape == shape
    expected = hessian(f, x).reshape(x.size, x.size) @ v.reshape(-1)
    np.testing.assert_allclose(product.reshape(-1), expected, rtol=1e-10, atol=1e-12)


@given(name=st.sampled_from(sorted(SCALAR_FUNCTIONS)), shape=small_shapes, seed=seeds)
def test_double_backward_passes_gradcheck(name: str, shape: tuple[int, ...], seed: int) -> None:
    """The gradient built with create_graph=True is itself differentiated correctly."""
    f = SCALAR_FUNCTIONS[name]

    def first_derivative(x: Tensor) -> Tensor:
        return mg.grad(f(x), x, create_graph=True)[0]

    gradcheck(
        first_derivative, Tensor(point(shape, seed), requires_grad=True), atol=1e-6, rtol=1e-5
    )


@given(name=st.sampled_from(sorted(VECTOR_FUNCTIONS)), shape=small_shapes, seed=seeds)
def test_jacobian_matches_differences(name: str, shape: tuple[int, ...], seed: int) -> None:
    f, x = VECTOR_FUNCTIONS[name], point(shape, seed)
    actual = jacobian(f, x)
    expected = jacobian_by_differences(f, x)
    assert actual.shape == expected.shape == f(Tensor(x)).shape + shape
    np.testing.assert_allclose(actual, expected, rtol=1e-7, atol=1e-8)


def test_jacobian_of_a_gradient_is_the_hessian() -> None:
    f = SCALAR_FUNCTIONS["Σ tanh(x)·σ(x)"]
    x = point((4,), 3)
    np.testing.assert_allclose(
        jacobian(lambda t: mg.grad(f(t), t, create_graph=True)[0], x), hessian(f, x), rtol=1e-13
    )


def test_jacobian_of_elementwise_is_diagonal_of_the_slope() -> None:
    x = point((5,), 4)
    np.testing.assert_allclose(jacobian(lambda t: t.tanh(), x), np.diag(sech_squared(x)), rtol=1e-14)


def test_functions_flat_in_x_have_zero_derivatives() -> None:
    x = point((3,), 5)
    np.testing.assert_array_equal(hessian(lambda t: (t * 2.0).sum(), x), np.zeros((3, 3)))
    np.testing.assert_array_equal(hvp(lambda t: (t * 2.0).sum(), x, np.ones(3)), np.zeros(3))
    np.testing.assert_array_equal(jacobian(lambda t: Tensor(np.ones(2)) * 1.0, x), np.zeros((2, 3)))


# ---- third order on a scalar function -------------------------------------------------------


def test_third_derivative_of_tanh() -> None:
    """d/dx tanh = sech², d²/dx² = −2 sech² tanh, d³/dx³ = 4 sech² tanh² − 2 sech⁴."""
    x_values = np.linspace(-3.0, 3.0, 13)
    x = Tensor(x_values, requires_grad=True)
    (first,) = mg.grad(x.tanh().sum(), x, create_graph=True)
    (second,) = mg.grad(first.sum(), x, create_graph=True)
    (third,) = mg.grad(second.sum(), x)
    t, s = np.tanh(x_values), sech_squared(x_values)
    np.testing.assert_allclose(first.data, s, rtol=1e-14)
    np.testing.assert_allclose(second.data, -2.0 * s * t, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(third.data, 4.0 * s * t * t - 2.0 * s * s, rtol=1e-12, atol=1e-15)


def test_third_derivative_of_sigmoid_matches_differences_of_the_second() -> None:
    x_values = np.linspace(-4.0, 4.0, 9)

    def second(values: np.ndarray) -> np.ndarray:
        x = Tensor(values, requires_grad=True)
        (first,) = mg.grad(x.sigmoid().sum(), x, create_graph=True)
        return mg.grad(first.sum(), x)[0].data

    x = Tensor(x_values, requires_grad=True)
    (first,) = mg.grad(x.sigmoid().sum(), x, create_graph=True)
    (second_graph,) = mg.grad(first.sum(), x, create_graph=True)
    (third,) = mg.grad(second_graph.sum(), x)
    numeric = (second(x_values + EPS) - second(x_values - EPS)) / (2 * EPS)
    np.testing.assert_allclose(third.data, numeric, rtol=1e-6, atol=1e-9)


# ---- on small networks: hvp over all parameters against the explicit Hessian ---------------------

ACTIVATION_COSTS = [
    ("sigmoid", "sigmoid", "cross_entropy"),
    ("tanh", "sigmoid", "quadratic"),
    ("sigmoid", "linear", "softmax_cross_entropy"),
    ("tanh", "tanh", "quadratic"),
    ("relu", "linear", "quadratic"),
]


def network_loss(
    params: list[Tensor], x: np.ndarray, y: np.ndarray, hidden: str, output: str, cost: str
) -> Tensor:
    """C of an MLP whose parameters [W¹, b¹, W², b², …] are given as Tensors."""
    a = Tensor(x)
    n_layers = len(params) // 2
    for l in range(n_layers):
        z = linear(a, params[2 * l], params[2 * l + 1])
        a = apply_activation(z, output if l == n_layers - 1 else hidden)
    if cost == "cross_entropy":
        return sigmoid_cross_entropy(z, y)
    if cost == "softmax_cross_entropy":
        return softmax_cross_entropy(a, y.argmax(axis=1))
    return quadratic_cost(a, y)


def flat_loss(model: TensorMLP, x: np.ndarray, y: np.ndarray, hidden: str, output: str, cost: str):
    """θ ↦ C as a function of one flat parameter vector, cut into W and b by indexing."""
    shapes = [p.shape for p in model.parameters()]

    def f(theta: Tensor) -> Tensor:
        params, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            params.append(theta[start : start + size].reshape(shape))
            start += size
        return network_loss(params, x, y, hidden, output, cost)

    return f


networks = st.tuples(
    st.lists(st.integers(1, 3), min_size=2, max_size=4),  # layer sizes
    st.integers(1, 4),  # batch
    st.sampled_from(ACTIVATION_COSTS),
    seeds,
)


@given(networks)
def test_hvp_on_networks_matches_explicit_hessian(network) -> None:
    sizes, batch, (hidden, output, cost), seed = network
    rng = np.random.default_rng(seed)
    model = TensorMLP(sizes, activation=hidden, output_activation=output, init="nielsen", seed=seed)
    x = rng.standard_normal((batch, sizes[0]))
    y = (
        np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
        if cost != "quadratic"
        else rng.uniform(0, 1, (batch, sizes[-1]))
    )
    params = model.parameters()
    theta = np.concatenate([p.data.reshape(-1) for p in params])
    f = flat_loss(model, x, y, hidden, output, cost)
    explicit = hessian(f, theta)
    np.testing.assert_allclose(explicit, hessian_by_differences(f, theta), rtol=1e-5, atol=1e-7)

    vectors = [rng.standard_normal(p.shape) for p in params]
    loss = network_loss(params, x, y, hidden, output, cost)
    products = hvp(loss, params, vectors)
    assert [h.shape for h in products] == [p.shape for p in params]
    flat_product = np.concatenate([h.reshape(-1) for h in products])
    expected = explicit @ np.concatenate([v.reshape(-1) for v in vectors])
    np.testing.assert_allclose(flat_product, expected, rtol=1e-9, atol=1e-12)


def test_hvp_leaves_gradients_alone() -> None:
    model = TensorMLP([3, 2, 2], seed=1)
    params = model.parameters()
    x, y = point((4, 3), 6), np.eye(2)[[0, 1, 1, 0]]
    network_loss(params, x, y, "sigmoid", "sigmoid", "cross_entropy").backward()
    before = [p.grad.copy() for p in params]
    loss = network_loss(params, x, y, "sigmoid", "sigmoid", "cross_entropy")
    hvp(loss, params, [np.ones(p.shape) for p in params])
    for p, g in zip(params, before):
        np.testing.assert_array_equal(p.grad, g)


def test_hvp_with_a_function_of_several_parameters() -> None:
    """f(a, b) = Σ a²b: H = [[2 diag(b), 2 diag(a)], [2 diag(a), 0]]."""
    a, b = point((3,), 7), point((3,), 8)
    u, v = point((3,), 9), point((3,), 10)
    ha, hb = hvp(lambda p, q: (p * p * q).sum(), [a, b], [u, v])
    np.testing.assert_allclose(ha, 2 * b * u + 2 * a * v, rtol=1e-14)
    np.testing.assert_allclose(hb, 2 * a * u, rtol=1e-14)


# ---- errors name the problem ---------------------------------------------------------------------


def test_size_limits_are_named() -> None:
    with pytest.raises(ValueError, match="MAX_HESSIAN_INPUTS"):
        hessian(lambda t: (t * t).sum(), np.zeros(MAX_HESSIAN_INPUTS + 1))
    side = int(np.sqrt(MAX_JACOBIAN_ENTRIES)) + 1
    with pytest.raises(ValueError, match="MAX_JACOBIAN_ENTRIES"):
        jacobian(lambda t: t * 2.0, np.zeros(side))


def test_bad_arguments_raise() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="one element"):
        hvp(x * 2.0, x, np.ones(3))
    with pytest.raises(ValueError, match="one element"):
        hessian(lambda t: t * 2.0, np.ones(3))
    with pytest.raises(ValueError, match=r"vector 0 has shape \(2,\)"):
        hvp((x * x).sum(), x, np.ones(2))
    with pytest.raises(ValueError, match="1 parameters but 2 vectors"):
        hvp((x * x).sum(), [x], [np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="does not require grad"):
        hvp((x * x).sum(), Tensor(np.ones(3)), np.ones(3))
    with pytest.raises(TypeError, match="not a Tensor"):
        hvp((x * x).sum(), np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="must return a Tensor"):
        jacobian(lambda t: 1.0, np.ones(2))
    with mg.no_grad():
        constant = (x * x).sum()
    with pytest.raises(ValueError, match="does not require grad"):
        hvp(constant, x, np.ones(3))


def test_caller_tensor_is_not_modified() -> None:
    x = Tensor(point((3,), 11), requires_grad=True)
    data = x.data.copy()
    hessian(lambda t: (t**3).sum(), x)
    np.testing.assert_array_equal(x.data, data)
    assert x.grad is None


def test_against_pytorch_when_installed() -> None:
    torch = pytest.importorskip("torch")
    model = TensorMLP([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=2)
    x, y = point((5, 3), 12), np.eye(2)[[0, 1, 1, 0, 1]]
    params = model.parameters()
    vectors = [point(p.shape, 13 + i) for i, p in enumerate(params)]
    ours = hvp(network_loss(params, x, y, "tanh", "sigmoid", "quadratic"), params, vectors)

    def torch_loss(w1, b1, w2, b2):
        a = torch.tanh(torch.as_tensor(x) @ w1.T + b1)
        a = torch.sigmoid(a @ w2.T + b2)
        return 0.5 * ((a - torch.as_tensor(y)) ** 2).sum() / len(x)

    _, theirs = torch.autograd.functional.hvp(
        torch_loss,
        tuple(torch.as_tensor(p.data) for p in params),
        tuple(torch.as_tensor(v) for v in vectors),
    )
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference.numpy(), rtol=1e-10, atol=1e-13)
