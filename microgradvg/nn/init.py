"""Weight initialisations by the names people know, shared by both engines.

Each returns `(weights, biases)` as float64 arrays, weights shaped
(n_out, n_in) like Nielsen's Wˡ, from a seed or a `numpy.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Seed = int | np.random.Generator | None
Initialiser = Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def rng_from(seed: Seed) -> np.random.Generator:
    """A Generator from an int seed, an existing Generator (used as is) or None (seed 0)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(0)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed: expected an int or a numpy.random.Generator, got {seed!r}")


def uniform(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """micrograd's: weights U(−1, 1), biases 0."""
    return rng.uniform(-1.0, 1.0, (n_out, n_in)), np.zeros(n_out)


def nielsen_large(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Nielsen's large initialisation: weights and biases N(0, 1)."""
    return rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)


def nielsen(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Nielsen's default: weights N(0, 1)/√n_in, biases N(0, 1)."""
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.standard_normal(n_out)


def xavier(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Xavier/Glorot normal: weights N(0, 2/(n_in + n_out)), biases 0."""
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / (n_in + n_out)), np.zeros(n_out)


def he(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """He/Kaiming normal for ReLU: weights N(0, 2/n_in), biases 0."""
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), np.zeros(n_out)


def pytorch(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's nn.Linear default: weights and biases U(−1/√n_in, 1/√n_in)."""
    bound = 1.0 / np.sqrt(n_in)
    return rng.uniform(-bound, bound, (n_out, n_in)), rng.uniform(-bound, bound, n_out)


INITIALISERS: dict[str, Initialiser] = {
    "uniform": uniform,
    "nielsen_large": nielsen_large,
    "nielsen": nielsen,
    "xavier": xavier,
    "he": he,
    "pytorch": pytorch,
}


def initialiser(name: str) -> Initialiser:
    """The initialiser called `name`, or a ValueError listing the valid names."""
    try:
        return INITIALISERS[name]
    except KeyError:
        raise ValueError(f"init: unknown initialisation {name!r}; valid: {sorted(INITIALISERS)}") from None
