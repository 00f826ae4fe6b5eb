"""microgradvg: reverse-mode autodiff that keeps every chain-rule factor.

`Value` (scalars) and `Tensor` (numpy arrays) record the local derivative on
every edge of the computation graph, so any gradient can be inspected factor
by factor, path by path, and drawn.
"""

from .tensor import Tensor, concatenate, is_grad_enabled, no_grad, stack  # isort: skip (before backprop)
from .backprop import grad
from .graph import topological_order, zero_grad
from .scalar import Value

__all__ = [
    "Tensor", "Value", "concatenate", "grad", "is_grad_enabled", "no_grad", "stack",
    "topological_order", "zero_grad",
]
