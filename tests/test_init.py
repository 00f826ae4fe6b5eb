"""Tests for `microgradvg.nn.init`: each initialiser's distribution, shapes and seeding.

Expected spreads come from the published formulas (micrograd's U(−1, 1),
Nielsen's N(0, 1) and N(0, 1/n_in), Xavier's 2/(n_in + n_out), He's 2/n_in),
checked on large draws in both orientations so that n_in and n_out cannot be
swapped unnoticed; the fraction of draws within one standard deviation tells
a normal (68.3 %) from a uniform (57.7 %).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from microgradvg.nn.init import INITIALISERS, initialiser, rng_from

BIG = [(400, 2000), (2000, 400)]  # (n_in, n_out): 800,000 weights either way


def weight_std(name: str, n_in: int, n_out: int) -> float:
    """The standard deviation each initialisation is documented to draw weights with."""
    return {
        "uniform": 1.0 / math.sqrt(3.0),  # U(−1, 1): variance (1 − (−1))²/12 = 1/3
        "nielsen_large": 1.0,
        "nielsen": 1.0 / math.sqrt(n_in),
        "xavier": math.sqrt(2.0 / (n_in + n_out)),
        "he": math.sqrt(2.0 / n_in),
        "pytorch": 1.0 / math.sqrt(3.0 * n_in),  # U(−1/√n_in, 1/√n_in): variance (2/√n_in)²/12
    }[name]


NORMAL_BIASES = {"nielsen_large", "nielsen"}  # N(0, 1); pytorch's are uniform, the others start at 0
UNIFORM = {"uniform", "pytorch"}


def test_the_initialisations_people_know_are_all_there():
    assert set(INITIALISERS) == {"uniform", "nielsen_large", "nielsen", "xavier", "he", "pytorch"}
    for name, function in INITIALISERS.items():
        assert initialiser(name) is function


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_shapes_are_n_out_by_n_in_and_float64(name: str):
    weights, biases = initialiser(name)(3, 5, np.random.default_rng(0))
    assert weights.shape == (5, 3) and biases.shape == (5,)  # Nielsen's Wˡ: (n_out, n_in)
    assert weights.dtype == np.float64 and biases.dtype == np.float64


@pytest.mark.parametrize("n_in, n_out", BIG)
@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_weights_have_the_documented_spread(name: str, n_in: int, n_out: int):
    weights, _ = initialiser(name)(n_in, n_out, np.random.default_rng(1))
    std = weight_std(name, n_in, n_out)
    # mean within 5 standard errors of 0; sample std within 1 % (its standard error is 0.08 %)
    assert abs(weights.mean()) < 5 * std / math.sqrt(weights.size)
    assert weights.std() == pytest.approx(std, rel=0.01)
    within_one_std = np.mean(np.abs(weights) < std)
    if name in UNIFORM:
        bound = std * math.sqrt(3.0)
        assert weights.min() >= -bound and weights.max() <= bound
        assert within_one_std == pytest.approx(1.0 / math.sqrt(3.0), abs=0.005)
    else:
        assert within_one_std == pytest.approx(math.erf(1.0 / math.sqrt(2.0)), abs=0.005)


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_biases_are_standard_normal_for_nielsen_and_zero_otherwise(name: str):
    _, biases = initialiser(name)(3, 20_000, np.random.default_rng(2))
    if name in NORMAL_BIASES:
        assert abs(biases.mean()) < 5 / math.sqrt(biases.size)
        assert biases.std() == pytest.approx(1.0, rel=0.03)  # standard error 0.5 %
    elif name == "pytorch":  # U(−1/√3, 1/√3) for n_in = 3: standard deviation 1/3
        assert abs(biases.max()) <= 1 / math.sqrt(3.0) and biases.std() == pytest.approx(1 / 3, rel=0.03)
    else:
        np.testing.assert_array_equal(biases, 0.0)


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_weights_and_biases_are_not_the_same_draws(name: str):
    weights, biases = initialiser(name)(1, 50, np.random.default_rng(3))
    assert not np.array_equal(weights[:, 0], biases)


# ---- seeding --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_the_same_seed_gives_the_same_arrays_and_another_seed_others(name: str):
    make = initialiser(name)
    first, again, other = make(4, 3, rng_from(7)), make(4, 3, rng_from(7)), make(4, 3, rng_from(8))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_an_int_seed_is_numpys_default_generator_with_that_seed():
    expected = np.random.default_rng(42).standard_normal(5)
    np.testing.assert_array_equal(rng_from(42).standard_normal(5), expected)
    np.testing.assert_array_equal(rng_from(np.int64(42)).standard_normal(5), expected)


def test_no_seed_means_seed_0():
    np.testing.assert_array_equal(
        rng_from(None).standard_normal(5), np.random.default_rng(0).standard_normal(5)
    )


def test_a_generator_is_used_as_is_and_advanced():
    generator = np.random.default_rng(5)
    assert rng_from(generator) is generator
    first = initialiser("he")(3, 2, rng_from(generator))[0]
    second = initialiser("he")(3, 2, rng_from(generator))[0]
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("seed", [True, 2.5, "seven", [1, 2]], ids=repr)
def test_a_seed_that_is_not_an_int_or_a_generator_is_refused(seed):
    with pytest.raises(TypeError, match="seed"):
        rng_from(seed)


def test_an_unknown_name_is_an_error_listing_the_known_ones():
    with pytest.raises(ValueError) as raised:
        initialiser("orthogonal")
    message = str(raised.value)
    assert "'orthogonal'" in message
    for name in INITIALISERS:
        assert name in message
