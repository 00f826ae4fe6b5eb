"""SGD and Adam against their update formulas, applied by hand on a quadratic.

The loss is ½‖A w − y‖², whose gradient Aᵀ(A w − y) we write out in numpy, so
every step of the optimiser is checked against an independent computation.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradvg import Tensor, Value
from microgradvg.optim import SGD, Adam, clip_grad_norm
from microgradvg.testing import arrays

A = np.array([[2.0, -1.0, 0.5], [0.3, 1.5, -2.0]])
Y = np.array([1.0, -0.5])
W0 = np.array([0.2, -0.4, 1.1])


def loss_of(w: Tensor) -> Tensor:
    """½‖A w − y‖² on the engine."""
    residual = Tensor(A) @ w - Y
    return (residual * residual).sum() * 0.5


def gradient(w: np.ndarray) -> np.ndarray:
    """∇ of ½‖A w − y‖², by hand: Aᵀ(A w − y)."""
    return A.T @ (A @ w - Y)


def run(optimiser_factory, steps: int) -> list[np.ndarray]:
    """The parameter after each of `steps` optimiser steps, on the engine."""
    w = Tensor(W0.copy(), requires_grad=True)
    optimiser = optimiser_factory([w])
    history = []
    for _ in range(steps):
        optimiser.zero_grad()
        loss_of(w).backward()
        optimiser.step()
        history.append(w.data.copy())
    return history


@pytest.mark.parametrize("lr", [0.01, 0.1])
def test_plain_sgd_is_w_minus_lr_times_gradient(lr: float) -> None:
    history = run(lambda params: SGD(params, lr=lr), steps=5)
    w = W0.copy()
    for got in history:
        w = w - lr * gradient(w)
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum, weight_decay", [(0.9, 0.0), (0.0, 0.05), (0.5, 0.1)])
def test_sgd_momentum_and_weight_decay(momentum: float, weight_decay: float) -> None:
    lr = 0.05
    history = run(lambda params: SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay), steps=6)
    w = W0.copy()
    velocity = np.zeros_like(w)
    for step, got in enumerate(history):
        g = gradient(w) + weight_decay * w
        # PyTorch's convention: the first step's velocity is the gradient itself.
        velocity = g if step == 0 else momentum * velocity + g
        w = w - lr * velocity
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9)])
def test_adam_matches_kingma_and_ba(betas: tuple[float, float]) -> None:
    lr, eps = 0.01, 1e-8
    history = run(lambda params: Adam(params, lr=lr, betas=betas, eps=eps), steps=6)
    beta1, beta2 = betas
    w = W0.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, got in enumerate(history, start=1):
        g = gradient(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_coordinate_by_about_lr() -> None:
    # With bias correction the first step is lr·g/(|g| + eps) ≈ lr·sign(g).
    (got,) = run(lambda params: Adam(params, lr=0.1), steps=1)
    np.testing.assert_allclose(W0 - got, 0.1 * np.sign(gradient(W0)), rtol=1e-6)


def test_sgd_drives_the_quadratic_down() -> None:
    history = run(lambda params: SGD(params, lr=0.05, momentum=0.9), steps=200)
    final = Tensor(history[-1])
    assert loss_of(final).item() < 1e-6


def test_optimisers_skip_parameters_without_gradient() -> None:
    used = Tensor(np.ones(2), requires_grad=True)
    unused = Tensor(np.full(2, 3.0), requires_grad=True)
    for optimiser in (SGD([used, unused], lr=0.1, momentum=0.5), Adam([used, unused], lr=0.1)):
        (used * used).sum().backward()
        optimiser.step()
        np.testing.assert_array_equal(unused.data, [3.0, 3.0])
        optimiser.zero_grad()
        assert used.grad is None and unused.grad is None


def test_sgd_updates_scalar_values() -> None:
    w = Value(2.0)
    optimiser = SGD([w], lr=0.25, weight_decay=0.1)
    (w * w).backward()  # ∂(w²)/∂w = 2w = 4
    optimiser.step()
    assert w.data == pytest.approx(2.0 - 0.25 * (4.0 + 0.1 * 2.0), abs=1e-15)
    optimiser.zero_grad()
    assert w.grad == 0.0


def test_adam_updates_scalar_values() -> None:
    w = Value(-1.5)
    optimiser = Adam([w], lr=0.1)
    (w * w * w).backward()  # 3w² = 6.75 > 0, so the first step is ≈ −lr
    optimiser.step()
    assert w.data == pytest.approx(-1.6, abs=1e-8)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda w: SGD([], lr=0.1), "empty"),
        (lambda w: SGD([w], lr=0.0), "lr"),
        (lambda w: SGD([w], lr=0.1, momentum=1.0), "momentum"),
        (lambda w: Adam([w], lr=-1.0), "lr"),
        (lambda w: SGD([w], lr=0.1, weight_decay=-0.01), "weight_decay"),
        (lambda w: Adam([w], lr=0.1, betas=(0.9, 1.0)), "betas"),
        (lambda w: Adam([w], lr=0.1, betas=(-0.1, 0.999)), "betas"),
        (lambda w: Adam([w], lr=0.1, betas=(0.9,)), "betas"),
        (lambda w: Adam([w], lr=0.1, eps=0.0), "eps"),
    ],
)
def test_bad_settings_raise(make, message: str) -> None:
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        make(w)


@pytest.mark.parametrize(
    "factory",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.1),
    ],
    ids=["sgd", "sgd momentum decay", "adam"],
)
def test_a_step_after_backward_with_create_graph_uses_the_gradients_numbers(factory) -> None:
    # After backward(create_graph=True), .grad is a Tensor; the step must read its numbers.
    plain = Tensor(W0.copy(), requires_grad=True)
    graphed = Tensor(W0.copy(), requires_grad=True)
    loss_of(plain).backward()
    loss_of(graphed).backward(create_graph=True)
    assert isinstance(graphed.grad, Tensor)
    factory([plain]).step()
    factory([graphed]).step()
    assert type(graphed.data) is np.ndarray
    np.testing.assert_array_equal(graphed.data, plain.data)


def test_zero_grad_clears_a_parameter_added_to_the_list_later() -> None:
    first, later = Tensor([1.0], requires_grad=True), Value(2.0)
    opt = SGD([first], lr=0.1)
    opt.params.append(later)
    first.grad, later.grad = np.ones(1), 3.0
    opt.zero_grad()
    assert first.grad is None and later.grad == 0.0


@given(grads=st.lists(arrays((3,)), min_size=1, max_size=3), max_norm=st.floats(0.1, 10.0))
def test_clip_grad_norm_scales_all_gradients_together_to_at_most_max_norm(grads, max_norm) -> None:
    params = [Tensor(np.zeros(3), requires_grad=True) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g.copy()
    total = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    assert clip_grad_norm(params, max_norm) == pytest.approx(total, rel=1e-12)
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * scale, rtol=1e-12)
    with pytest.raises(ValueError, match="clip_grad_norm: max_norm must be > 0"):
        clip_grad_norm(params, 0.0)
