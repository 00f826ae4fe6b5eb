"""Optional cross-check against PyTorch in float64 (skipped when torch is not installed).

The same inputs go through both engines; values, first and second derivatives,
a whole MLP step and the optimisers' updates must agree to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import SCALAR_OPS, ScalarOp, domain_arrays, positive

import microgradvg as mg
from microgradvg import Tensor
from microgradvg.engine.functional import linear, sigmoid_cross_entropy, softmax_cross_entropy
from microgradvg.nn import TensorMLP, quadratic_cost
from microgradvg.optim import SGD, Adam
from microgradvg.testing import arrays, broadcastable_shapes, shapes

torch = pytest.importorskip("torch")
F = torch.nn.functional


def run_both(
    ours: Callable[..., Tensor], theirs: Callable[..., torch.Tensor], values: list[np.ndarray]
) -> tuple[Tensor, list[Tensor], torch.Tensor, list[torch.Tensor]]:
    """Forward and backward (with one random cotangent) on both engines."""
    mine = [Tensor(v, requires_grad=True) for v in values]
    reference = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out, expected = ours(*mine), theirs(*reference)
    np.testing.assert_allclose(np.asarray(out.data), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    cotangent = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    return out, mine, expected, reference


def assert_same_grads(mine: list[Tensor], reference: list[torch.Tensor]) -> None:
    for ours, theirs in zip(mine, reference):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-11, atol=1e-12)


BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


@given(symbol=st.sampled_from(list(BINARY)), pair=broadcastable_shapes(shapes(1, 3)), data=st.data())
def test_broadcasting_arithmetic_matches_torch(symbol: str, pair, data) -> None:
    a = positive(data.draw(arrays(pair[0])), 0.3)
    b = positive(data.draw(arrays(pair[1])), 0.3)
    _, mine, _, reference = run_both(BINARY[symbol], BINARY[symbol], [a, b])
    assert_same_grads(mine, reference)


ELEMENTWISE_OPS = [op for op in SCALAR_OPS if op.layout == "broadcast"]


@pytest.mark.parametrize("op", ELEMENTWISE_OPS, ids=repr)
@given(data=st.data())
def test_the_catalogue_matches_torch(op: ScalarOp, data) -> None:
    """Each elementwise function of the shared catalogue, written once, runs on torch too."""
    arity = data.draw(op.arity())
    if arity == 1:
        shapes_ = [data.draw(shapes(0, 3, max_side=3))]
    else:
        shapes_ = list(data.draw(broadcastable_shapes(shapes(0, 3, max_side=3))))
    values = [data.draw(domain_arrays(op.domain(j), shape)) for j, shape in enumerate(shapes_)]
    constant = data.draw(op.constants) if op.constants is not None else None
    free = [not op.domain(j).fixed for j in range(arity)]
    mine = [Tensor(v, requires_grad=g) for v, g in zip(values, free)]
    reference = [torch.tensor(v, dtype=torch.float64, requires_grad=g) for v, g in zip(values, free)]
    out, expected = op.tensor(mine, constant), op.tensor(reference, constant)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-13, atol=1e-300)
    out.backward(np.ones(out.shape))
    expected.backward(torch.ones(expected.shape, dtype=torch.float64))
    assert_same_grads([t for t, g in zip(mine, free) if g], [t for t, g in zip(reference, free) if g])


MATMUL = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 2))]


@pytest.mark.parametrize("left, right", MATMUL)
def test_matmul_matches_torch(left, right) -> None:
    rng = np.random.default_rng(1)
    values = [rng.standard_normal(left), rng.standard_normal(right)]
    _, mine, _, reference = run_both(lambda a, b: a @ b, lambda a, b: a @ b, values)
    assert_same_grads(mine, reference)


UNARY = {
    "exp": (lambda t: t.exp(), torch.exp),
    "log": (lambda t: t.log(), torch.log),
    "tanh": (lambda t: t.tanh(), torch.tanh),
    "sigmoid": (lambda t: t.sigmoid(), torch.sigmoid),
    "relu": (lambda t: t.relu(), torch.relu),
    "neg": (lambda t: -t, torch.neg),
    "**2.5": (lambda t: t**2.5, lambda t: t**2.5),
    "sum axis": (lambda t: t.sum(axis=1, keepdims=True), lambda t: t.sum(dim=1, keepdim=True)),
    "sum tuple": (lambda t: t.sum(axis=(0, 2)), lambda t: t.sum(dim=(0, 2))),
    "mean": (lambda t: t.mean(axis=-1), lambda t: t.mean(dim=-1)),
    "max": (lambda t: t.max(axis=1), lambda t: t.amax(dim=1)),
    "softmax": (lambda t: t.softmax(axis=0), lambda t: torch.softmax(t, dim=0)),
    "log_softmax": (lambda t: t.log_softmax(axis=-1), lambda t: torch.log_softmax(t, dim=-1)),
    "reshape": (lambda t: t.reshape(-1, 2), lambda t: t.reshape(-1, 2)),
    "transpose": (lambda t: t.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "index repeats": (lambda t: t[np.array([1, 0, 1])], lambda t: t[torch.tensor([1, 0, 1])]),
    "index mask": (lambda t: t[np.array([True, False])], lambda t: t[torch.tensor([True, False])]),
    "index slices": (lambda t: t[1:, ::2, 0], lambda t: t[1:, ::2, 0]),
    "expand": (lambda t: t[:, :1].expand((3, 2, 3, 2)), lambda t: t[:, :1].expand(3, 2, 3, 2)),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_and_shape_ops_match_torch(name: str) -> None:
    ours, theirs = UNARY[name]
    value = np.abs(np.random.default_rng(2).standard_normal((2, 3, 2))) + 0.1  # > 0 for log, **2.5, relu
    _, mine, _, reference = run_both(ours, theirs, [value])
    assert_same_grads(mine, reference)


def test_max_with_ties_matches_torch_amax() -> None:
    value = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    _, mine, _, reference = run_both(lambda t: t.max(axis=1), lambda t: t.amax(dim=1), [value])
    assert_same_grads(mine, reference)


def test_concatenate_and_stack_match_torch() -> None:
    rng = np.random.default_rng(3)
    values = [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))]
    _, mine, _, reference = run_both(
        lambda a, b: mg.concatenate([a, b * 2.0], axis=1), lambda a, b: torch.cat([a, b * 2.0], dim=1), values
    )
    assert_same_grads(mine, reference)
    _, mine, _, reference = run_both(
        lambda a, b: mg.stack([a, b], axis=-1), lambda a, b: torch.stack([a, b], dim=-1), values
    )
    assert_same_grads(mine, reference)


@pytest.mark.parametrize("batch", [(), (4,), (2, 3)])
def test_linear_matches_torch(batch) -> None:
    rng = np.random.default_rng(11)
    values = [rng.standard_normal((*batch, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)]
    _, mine, _, reference = run_both(linear, F.linear, values)
    assert_same_grads(mine, reference)


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_losses_match_torch(scale: float) -> None:
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 4)) * scale
    labels = np.array([0, 3, 1, 1, 2])
    targets = rng.uniform(0, 1, (5, 4))
    _, mine, _, reference = run_both(
        lambda z: softmax_cross_entropy(z, labels),
        lambda z: F.cross_entropy(z, torch.tensor(labels)),
        [logits],
    )
    assert_same_grads(mine, reference)
    _, mine, _, reference = run_both(
        lambda z: sigmoid_cross_entropy(z, targets),
        lambda z: F.binary_cross_entropy_with_logits(z, torch.tensor(targets), reduction="sum") / 5,
        [logits],
    )
    assert_same_grads(mine, reference)
    _, mine, _, reference = run_both(
        lambda z: z.log_softmax(axis=1), lambda z: torch.log_softmax(z, dim=1), [logits]
    )
    assert_same_grads(mine, reference)
    _, mine, _, reference = run_both(lambda z: z.softmax(axis=1), lambda z: torch.softmax(z, dim=1), [logits])
    assert_same_grads(mine, reference)


# ---- a whole network --------------------------------------------------------------------------


def torch_copy(model: TensorMLP) -> list[torch.Tensor]:
    return [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in model.parameters()]


def torch_forward(params: list[torch.Tensor], x: torch.Tensor, activation: Callable) -> torch.Tensor:
    for i in range(0, len(params), 2):
        x = activation(F.linear(x, params[i], params[i + 1]))
    return x


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_mlp_gradients_match_torch(activation: str) -> None:
    rng = np.random.default_rng(5)
    model = TensorMLP([6, 5, 4, 3], activation=activation, output_activation="linear", seed=6)
    x, labels = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    loss = softmax_cross_entropy(model(x), labels)
    loss.backward()

    params = torch_copy(model)
    torch_activation = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    hidden = torch_forward(params[:-2], torch.tensor(x), torch_activation)
    expected = F.cross_entropy(F.linear(hidden, params[-2], params[-1]), torch.tensor(labels))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-13)
    for ours, theirs in zip(model.parameters(), params):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimiser_steps_match_torch(kind: str) -> None:
    rng = np.random.default_rng(7)
    model = TensorMLP([4, 5, 2], activation="sigmoid", seed=8)
    params = torch_copy(model)
    if kind == "sgd":
        ours = SGD(model.parameters(), lr=0.3, momentum=0.9, weight_decay=0.01)
        theirs = torch.optim.SGD(params, lr=0.3, momentum=0.9, weight_decay=0.01)
    else:
        ours = Adam(model.parameters(), lr=0.05, betas=(0.8, 0.95), eps=1e-8)
        theirs = torch.optim.Adam(params, lr=0.05, betas=(0.8, 0.95), eps=1e-8)
    for _ in range(4):
        x, y = rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 2))
        ours.zero_grad()
        quadratic_cost(model(x), y).backward()
        ours.step()
        theirs.zero_grad()
        out = torch_forward(params, torch.tensor(x), torch.sigmoid)
        (0.5 * ((out - torch.tensor(y)) ** 2).sum() / 3).backward()
        theirs.step()
    for mine, reference in zip(model.parameters(), params):
        np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---- second and third derivatives -------------------------------------------------------------


def test_hessian_vector_product_of_an_mlp_matches_torch() -> None:
    rng = np.random.default_rng(9)
    model = TensorMLP([3, 4, 2], activation="tanh", output_activation="linear", seed=10)
    x, labels = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    vectors = [rng.standard_normal(p.shape) for p in model.parameters()]

    loss = softmax_cross_entropy(model(x), labels)
    grads = mg.grad(loss, model.parameters(), create_graph=True)
    dot = (grads[0] * vectors[0]).sum()
    for g, v in zip(grads[1:], vectors[1:]):
        dot = dot + (g * v).sum()
    products = mg.grad(dot, model.parameters())

    params = torch_copy(model)
    hidden = torch.tanh(F.linear(torch.tensor(x), params[0], params[1]))
    expected_loss = F.cross_entropy(F.linear(hidden, params[2], params[3]), torch.tensor(labels))
    torch_grads = torch.autograd.grad(expected_loss, params, create_graph=True)
    torch_dot = sum((g * torch.tensor(v)).sum() for g, v in zip(torch_grads, vectors))
    expected = torch.autograd.grad(torch_dot, params)
    for ours, theirs in zip(products, expected):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-13)


def test_third_derivative_of_elementwise_ops_matches_torch() -> None:
    values = np.array([-2.0, -0.4, 0.3, 1.7])
    for ours_op, torch_op in [
        (lambda t: t.tanh(), torch.tanh),
        (lambda t: t.sigmoid(), torch.sigmoid),
        (lambda t: (t * t).exp() * 0.1, lambda t: (t * t).exp() * 0.1),
    ]:
        x = Tensor(values, requires_grad=True)
        g = ours_op(x).sum()
        xt = torch.tensor(values, requires_grad=True)
        gt = torch_op(xt).sum()
        for _ in range(3):
            (g,) = mg.grad(g.sum(), x, create_graph=True)
            (gt,) = torch.autograd.grad(gt.sum(), xt, create_graph=True)
            np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-12, atol=1e-14)
