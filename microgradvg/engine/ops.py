"""The small namespace every derivative rule is written against: ndarrays and Tensors alike.

An ordinary backward pass calls the rules with ndarrays; `create_graph=True` calls them with
Tensors, whose operations are recorded. Arithmetic, `@`, `.sum`, `.reshape`, `.T` and
indexing read the same on both; the few operations that are spelled differently live here,
so that no rule branches on the kind of its operands.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum `g` over the axes that broadcasting added or stretched."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def sum_rows(g: Any) -> Any:
    """Σ over the first axis (a bias's gradient: once per layer per step)."""
    # np.add.reduce skips ndarray.sum's Python wrapper.
    return np.add.reduce(g, axis=0) if type(g) is np.ndarray else g.sum(axis=0)


def raw(x: Any) -> np.ndarray:
    """The numbers: the ndarray itself, or a Tensor's `.data` (for masks and constants)."""
    return x if _on_arrays(x) else x.data


def like(condition: np.ndarray, x: Any) -> np.ndarray:
    """A boolean mask as numbers of `x`'s dtype, a constant in either pass."""
    return condition.astype(raw(x).dtype)


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over `axis` gives with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _on_arrays(x: Any) -> bool:
    return type(x) is np.ndarray or isinstance(x, np.generic)


def broadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    """numpy's broadcast_to; `Tensor.expand` on Tensors."""
    return np.broadcast_to(g, shape) if _on_arrays(g) else g.expand(shape)


def exp(x: Any) -> Any:
    """eˣ."""
    return np.exp(x) if _on_arrays(x) else x.exp()


def log(x: Any) -> Any:
    """ln x."""
    return np.log(x) if _on_arrays(x) else x.log()


def log_where_positive(x: Any) -> Any:
    """ln x where x > 0, and 0 where x = 0: there xᵖ = 0 for p > 0, so xᵖ·ln x → 0."""
    zeros = raw(x) == 0
    if not zeros.any():
        return log(x)
    return log(x + like(zeros, x))  # ln(0 + 1) = 0 at the zeros


def tanh(x: Any) -> Any:
    """tanh x."""
    return np.tanh(x) if _on_arrays(x) else x.tanh()


def sech2(x: Any) -> Any:
    """sech²x = 4e/(1+e)² with e = e^(−2|x|): exact where 1 − tanh²x cancels."""
    if not _on_arrays(x):
        return x.sech2()
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def sigmoid_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """σ(x) and σ(−|x|), from e = e^(−|x|), which never overflows: exact at ±1000."""
    e = np.exp(-np.abs(x))
    near = 1.0 / (1.0 + e)  # σ(|x|)
    far = e * near  # σ(−|x|) ≤ 1/2
    return np.where(x >= 0, near, far), far


def sigmoid(x: Any) -> Any:
    """σ(x) = 1/(1+e⁻ˣ), exact at ±1000."""
    return sigmoid_parts(x)[0] if _on_arrays(x) else x.sigmoid()


def softmax(x: Any, axis: int) -> Any:
    """eˣⁱ/Σⱼeˣʲ along `axis`, shifted by the max."""
    if not _on_arrays(x):
        return x.softmax(axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def scatter(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with `g` added at `index`; repeated integer indices accumulate."""
    if not _on_arrays(g):
        return g.scatter(index, shape)
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    if has_array_index(index):
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


def has_array_index(index: Any) -> bool:
    """Whether `index` holds an integer array (whose repeats must accumulate)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, np.ndarray) and part.dtype != np.bool_ for part in parts)


def saved_or(saved: Any, x: Any, rebuild: Any) -> Any:
    """What the forward pass saved, given x, an op's input (an ndarray); under create_graph,
    where x is a Tensor, `rebuild(x)`, so that the result is itself differentiable (σ', a
    loss's slope)."""
    return saved if type(x) is np.ndarray else rebuild(x)
