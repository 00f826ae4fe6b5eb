"""Version counters: a graph recorded before an in-place change of one of its inputs refuses
`backward`, naming the op and the input; `.data` stays the unchecked escape hatch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradvg as mg
from microgradvg import Tensor, Value
from microgradvg.engine.versions import changed_in_place
from microgradvg.nn import TensorMLP, softmax_cross_entropy
from microgradvg.optim import SGD, Adam

STALE = "was changed in place after"


def stepped(params: list[Any], grad: float = 98.0) -> None:
    """One SGD step (lr 1) of `params` by `grad`, as a training loop would make it."""
    for p in params:
        p.grad = np.full(p.shape, grad) if isinstance(p, Tensor) else grad
    opt = SGD(params, lr=1.0)
    opt.step()
    opt.zero_grad()


# ---- the defects as reported ----------------------------------------------------------


def test_a_step_between_forward_and_backward_is_refused_naming_op_and_tensor() -> None:
    # Before: x.grad came out as w's new data, -96, mixed with nothing to say so.
    w = Tensor(2.0, requires_grad=True, label="w")
    x = Tensor(3.0, requires_grad=True, label="x")
    y = w * x
    stepped([w])
    assert w.version == 1 and x.version == 0
    with pytest.raises(RuntimeError, match=STALE) as error:
        y.backward()
    message = str(error.value)
    assert message.startswith("backward: '*'") and "its input 0, 'w' of shape ()" in message
    assert "version now 1" in message and "escape hatch" in message


def test_sigmoid_times_its_input_after_an_adam_step_is_refused() -> None:
    # σ(a)·a: the sigmoid's saved slope is the old one, the product reads the new a.
    a = Tensor([0.5, -1.0], requires_grad=True, label="a")
    y = (a.sigmoid() * a).sum()
    a.grad = np.ones(2)
    Adam([a], lr=0.1).step()
    with pytest.raises(RuntimeError, match="'sigmoid'.*'a' of shape \\(2,\\)"):
        y.backward()


def test_the_nielsen_step_in_the_wrong_order_names_the_layer_weight() -> None:
    model = TensorMLP([784, 30, 10], seed=0)
    x = np.random.default_rng(0).random((3, 784))
    loss = softmax_cross_entropy(model(x), np.array([1, 2, 3]))
    loss.backward()
    opt = SGD(model.parameters(), lr=0.1)
    opt.step()
    opt.zero_grad()
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert "'linear'" in str(error.value) and "its input 1, 'L1.W' of shape (30, 784)" in str(error.value)
    # The refused pass leaves every gradient as it was (zero_grad's None).
    assert all(p.grad is None for p in model.parameters())


def test_a_refused_pass_gives_every_leaf_its_old_gradient_back() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0], requires_grad=True)
    y = (w * x).sum()
    x.grad = np.array([7.0, 8.0])
    stepped([w])
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()
    assert np.array_equal(x.grad, [7.0, 8.0])


def test_the_right_order_still_works_step_after_step() -> None:
    w = Tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        expected = 2 * w.data  # ∂Σw²/∂w at the data the pass used
        assert np.array_equal(w.grad, expected)
        opt.step()
        opt.zero_grad()
    assert w.version == 3


def test_a_graph_that_reads_a_parameter_only_after_its_step_is_accepted() -> None:
    # The other branch was recorded before the step but never reads w: nothing is stale.
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, -1.0], requires_grad=True)
    early = x * 2.0
    stepped([w])
    (early * w).sum().backward()
    assert np.array_equal(x.grad, 2.0 * w.data) and np.array_equal(w.grad, early.data)


def test_grad_and_create_graph_check_versions_too() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True, label="w")
    y = (w * w).sum()
    stepped([w])
    with pytest.raises(RuntimeError, match="^grad: '\\*'.*'w'"):
        mg.grad(y, w)
    with pytest.raises(RuntimeError, match=STALE):
        y.backward(create_graph=True)


def test_a_chain_over_a_stepped_graph_is_refused() -> None:
    # Its factors would read the stepped weight beside the old activations.
    w = Tensor([[1.0, 2.0]], requires_grad=True, label="w")
    x = Tensor([[0.5], [-1.0]], requires_grad=True)
    y = (w @ x).sigmoid().sum()
    stepped([w])
    with pytest.raises(RuntimeError, match="^chain: '@'.*'w' of shape \\(1, 2\\)"):
        mg.chain(y, x)


def test_detach_shares_the_version() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True, label="w")
    frozen = w.detach()
    x = Tensor([3.0, 4.0], requires_grad=True)
    y = (frozen * x).sum()  # reads w's memory through the detached alias
    stepped([w])
    assert frozen.version == 1
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_a_stepped_interior_node_is_refused_as_its_own_data() -> None:
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = w.exp()  # exp's rule reads its own output
    y.backward(np.ones(2))
    SGD([y], lr=0.5).step()
    with pytest.raises(RuntimeError, match="'exp' \\(node 1 of 1\\): its own data"):
        y.backward(np.ones(2))


def test_assigning_data_is_the_unchecked_escape_hatch() -> None:
    # As in PyTorch's .data: no version goes up, and the gradient uses whatever data is there.
    w = Tensor(2.0, requires_grad=True)
    x = Tensor(3.0, requires_grad=True)
    y = w * x
    w.data -= 98
    y.backward()
    assert w.version == 0 and x.grad == -96.0


def test_changed_in_place_is_the_hook_for_your_own_updates() -> None:
    w = Tensor([1.0], requires_grad=True)
    y = w * 3.0
    w.data *= 0.5
    changed_in_place([w])
    with pytest.raises(RuntimeError, match=STALE):
        y.backward(np.ones(1))


# ---- the scalar engine ------------------------------------------------------------------


def test_a_value_graph_recorded_before_a_step_is_refused() -> None:
    # A Value's factors are floats saved at forward time, so the gradient would not be mixed,
    # but stale: the gradient at w's old data, about to be applied at its new data.
    w, x = Value(2.0, label="w"), Value(3.0, label="x")
    y = w * x
    x.grad = 5.0
    stepped([w])
    assert w.version == 1
    with pytest.raises(RuntimeError, match="'\\*'.*its input 0, 'w' \\(data -96\\).*old values"):
        y.backward()
    assert x.grad == 5.0  # given back


def test_a_values_escape_hatch_gives_the_gradient_at_the_recorded_data() -> None:
    w, x = Value(2.0), Value(3.0)
    y = w * x
    w.data -= 98
    y.backward()
    assert w.version == 0 and x.grad == 2.0  # ∂(wx)/∂x at the recorded w


# ---- property: refused exactly when a node read a parameter before its step -------------

COMBINE: list[Callable[[Any, Any], Any]] = [
    lambda a, b: a * b,
    lambda a, b: a + b,
    lambda a, b: (a * b).sigmoid(),
    lambda a, b: a.tanh() * b,
]


def run(make: Callable[[float], Any], params: list[Any], program: list[tuple[int, int]]) -> Any:
    """acc ← combine(acc, params[k]) for each (combine, k) of `program`, from acc = 0.5."""
    acc = make(0.5)
    for combine, k in program:
        acc = COMBINE[combine](acc, params[k])
    return acc


@given(
    tensors=st.booleans(),
    start=st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3),
    program=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=6),
    stepped_params=st.sets(st.integers(0, 2), min_size=1),
    when=st.integers(0, 6),
)
def test_refused_exactly_when_an_op_read_a_parameter_before_it_was_stepped(
    tensors: bool, start: list[float], program: list[tuple[int, int]], stepped_params: set[int], when: int
) -> None:
    def make(v: float, grad: bool = False) -> Any:
        return Tensor([v], requires_grad=grad) if tensors else Value(v)

    params = [make(v, True) for v in start]
    when = min(when, len(program))
    before = run(make, params, program[:when]) if when else None
    stepped([params[k] for k in sorted(stepped_params)], grad=0.25)
    # The rest of the program, recorded after the step, continues from the early part.
    acc = before if before is not None else make(0.5)
    for combine, k in program[when:]:
        acc = COMBINE[combine](acc, params[k])
    out = acc.sum() if tensors else acc
    stale = any(k in stepped_params for _, k in program[:when])
    if stale:
        with pytest.raises(RuntimeError, match=STALE):
            out.backward()
        return
    out.backward()
    # Accepted: the gradient is the true one at the data the parameters hold now.
    eps = 1e-6
    for i, p in enumerate(params):
        centre = float(np.ravel(p.data)[0])
        shifted = []
        for delta in (eps, -eps):
            values = [float(np.ravel(q.data)[0]) for q in params]
            values[i] = centre + delta
            again = run(make, [make(v) for v in values], program)
            shifted.append(float(np.sum(again.data)))
        numeric = (shifted[0] - shifted[1]) / (2 * eps)
        if tensors:
            analytic = 0.0 if p.grad is None else float(p.grad[0])
        else:
            analytic = p.grad
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7)
