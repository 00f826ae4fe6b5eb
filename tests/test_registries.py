"""The activation and cost registries against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from microgradvg import Tensor, Value
from microgradvg.nn.activations import ACTIVATIONS, activation, slope_symbol
from microgradvg.nn.costs import COSTS, cost

points = hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-30, 30).filter(lambda v: abs(v) > 1e-3))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@given(z=points)
def test_each_slope_matches_central_differences_of_its_activation(name: str, z: np.ndarray) -> None:
    f = ACTIVATIONS[name]
    h = 1e-6
    numeric = (f.apply(Tensor(z + h)).data - f.apply(Tensor(z - h)).data) / (2 * h)
    np.testing.assert_allclose(f.slope(z), numeric, rtol=1e-5, atol=1e-8)
    assert np.all(f.slope(z) <= f.max_slope)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_an_activation_acts_alike_on_both_engines(name: str) -> None:
    f = ACTIVATIONS[name]
    for z in (-2.5, 0.3, 4.0):
        assert f.apply(Value(z)).data == pytest.approx(float(f.apply(Tensor([z])).data[0]), rel=1e-15)


def test_unknown_names_are_refused_naming_the_caller() -> None:
    with pytest.raises(ValueError, match=r"^layer_flow: unknown activation 'gelu'; valid: \['relu'"):
        activation("gelu", "layer_flow")
    with pytest.raises(ValueError, match=r"^diagnose: unknown cost 'hinge'; valid: \['cross_entropy'"):
        cost("hinge", "diagnose")


def test_slope_symbols() -> None:
    assert slope_symbol(["sigmoid", "sigmoid"]) == "σ'"
    assert slope_symbol(["relu"], prime="′") == "relu′"
    assert slope_symbol(["tanh", "sigmoid"]) == "f'"


@pytest.mark.parametrize("name", list(COSTS))
def test_a_batch_cost_is_the_mean_of_its_example_costs(name: str) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 3))
    measure = COSTS[name]
    targets = rng.integers(0, 3, size=4) if measure.labels else rng.uniform(size=(4, 3))
    logits = Tensor(z)
    outputs = logits if measure.output == "linear" else logits.sigmoid() if measure.output else logits
    batch = measure.of_batch(outputs, targets).item()
    examples = []
    for i in range(4):
        values = [Value(v) for v in z[i]]
        outs = values if measure.output in ("linear", None) else [v.sigmoid() for v in values]
        examples.append(measure.of_example(outs, targets[i]).data)
    assert batch == pytest.approx(np.mean(examples), rel=1e-12)
