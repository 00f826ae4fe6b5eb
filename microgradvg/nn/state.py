"""Saving and loading parameters by name: `state_dict` and `load_state_dict` as numpy arrays.

The names and shapes are PyTorch's where a module has a PyTorch twin (`0.weight`,
`weight_hh_l0`, `running_var`), so `model.load_state_dict(torch_model.state_dict())`
copies weights in, and `{k: torch.from_numpy(v) for k, v in model.state_dict().items()}` out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

# A named slot: its current array, and how to put a new array in it.
Slot = tuple[str, np.ndarray, Callable[[np.ndarray], None]]


def state_of(slots: Iterable[Slot]) -> dict[str, np.ndarray]:
    """name → a copy of the array (a copy: training must not change a saved state)."""
    return {name: np.array(array, copy=True) for name, array, _ in slots}


def load_into(owner: str, slots: Iterable[Slot], mapping: Mapping[str, Any], strict: bool = True) -> None:
    """Put `mapping[name]` in every slot, after checking every name and shape first.

    Values may be numpy arrays, microgradvg Tensors or anything `numpy.asarray` reads
    (PyTorch tensors from `state_dict()` among them); each is cast to the slot's dtype.
    With `strict`, a missing or unexpected name is an error; nothing is changed on error.
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{owner}.load_state_dict: expected a mapping of name → array, got {type(mapping).__name__}")
    slots = list(slots)
    names = {name for name, _, _ in slots}
    missing = [name for name in names if name not in mapping]
    unexpected = [name for name in mapping if name not in names]
    if strict and (missing or unexpected):
        parts = [f"missing {sorted(missing)}"] if missing else []
        parts += [f"unexpected {sorted(unexpected)}"] if unexpected else []
        raise KeyError(
            f"{owner}.load_state_dict: {'; '.join(parts)}; valid names: {[name for name, _, _ in slots]}"
            " (strict=False loads the names both have)"
        )
    updates = []
    for name, array, put in slots:
        if name not in mapping:
            continue
        value = mapping[name]
        value = np.asarray(getattr(value, "data", value) if not isinstance(value, np.ndarray) else value)
        if value.shape != array.shape:
            raise ValueError(
                f"{owner}.load_state_dict: {name!r} has shape {value.shape} in the mapping but "
                f"{array.shape} in the model"
            )
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{owner}.load_state_dict: {name!r} must hold real numbers, got dtype {value.dtype}")
        updates.append((put, value.astype(array.dtype, copy=True)))
    for put, value in updates:
        put(value)
