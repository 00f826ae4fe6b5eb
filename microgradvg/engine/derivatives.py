"""Derivatives as functions on the Tensor engine: `grad`, Hessian–vector products, Hessians
and Jacobians.

`grad` gives ∂outputs/∂inputs without touching any `.grad`; `hvp` costs two reverse passes at any size (grad with create_graph=True, then the grad
of Σ g·v); `hessian` and `jacobian` build explicit matrices one reverse pass per row,
so they refuse inputs past the size limits named below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

from .backprop import gradients
from .tensor import ArrayLike, Tensor, as_array, seed

# jacobian: one reverse pass per output element and out.size × x.size entries.
MAX_JACOBIAN_ENTRIES = 1_000_000
# hessian: one reverse pass per input element and x.size² entries (1,000² = 10⁶).
MAX_HESSIAN_INPUTS = 1_000

Params = Union[Tensor, ArrayLike, Sequence[Union[Tensor, ArrayLike]]]  # noqa: UP007
Vectors = Union[ArrayLike, Sequence[ArrayLike]]  # noqa: UP007


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Sequence[Any] | None = None,
    create_graph: bool = False,
) -> list[Tensor]:
    """∂(outputs)/∂(inputs) as a list of Tensors, one per input, leaving every `.grad` alone.

    Each output needs a one-element shape or a matching entry in `grad_outputs`
    (the vector of the vector–Jacobian product). With `create_graph=True` the
    returned Tensors carry graphs, so they can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for output in outputs:
        if not output.requires_grad:
            raise RuntimeError("grad: an output does not require grad, so it has no graph to differentiate")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(
                f"grad: input {i} ({type(x).__name__} {getattr(x, 'shape', '')}) does not require grad, "
                "so no gradient is recorded for it; create it with requires_grad=True"
            )
    seeds = [seed(o, g, create_graph, "backward") for o, g in zip(outputs, grad_outputs)]
    grads = gradients(outputs, seeds, inputs, create_graph)
    result = []
    taken: set[int] = set()
    for x in inputs:
        g = grads.get(id(x))
        if g is None:  # the outputs do not depend on x
            result.append(Tensor._leaf(np.zeros_like(x.data)))
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            # Each result owns a writeable array: never a view nor one another result holds.
            g = np.asarray(g)
            result.append(Tensor._leaf(g.copy() if g.base is not None or id(g) in taken else g))
        taken.add(id(result[-1].data))
    return result


def hvp(
    f_or_loss: Tensor | Callable[..., Tensor],
    params: Params,
    vectors: Vectors,
) -> np.ndarray | list[np.ndarray]:
    """H·v, the Hessian of a scalar loss C times a vector v, by double backward.

    g = ∂C/∂θ is built with create_graph=True, so g is itself a graph; then
    H·v = ∂(Σᵢ gᵢ·vᵢ)/∂θ, because ∂/∂θⱼ Σᵢ (∂C/∂θᵢ)·vᵢ = Σᵢ ∂²C/∂θⱼ∂θᵢ · vᵢ.
    Two reverse passes, whatever the number of parameters; H is never formed.

    `f_or_loss` is either a one-element Tensor already computed from `params`
    (e.g. `cost(model(x), y)` with `model.parameters()`), or a function called
    as `f(*params)` returning one. `params` is a Tensor or a list of them (Tensors
    must require grad; ndarrays and numbers become fresh leaves, which only a
    function can use). `vectors` matches `params`: one array per parameter, same
    shape. Returns H·v as an ndarray per parameter — a list when `params` is one,
    a single ndarray when `params` is a single Tensor or array.
    """
    tensors, single = _parameters("hvp", params, fresh_leaves=callable(f_or_loss))
    loss = _scalar_output("hvp", f_or_loss(*tensors) if callable(f_or_loss) else f_or_loss)
    vs = _vectors("hvp", vectors, tensors, single)
    products = hvp_from_gradients(grad(loss, tensors, create_graph=True), tensors, vs)
    return products[0] if single else products


def hvp_from_gradients(
    gradients: Sequence[Tensor], params: Sequence[Tensor], vectors: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """H·v given g = ∂C/∂θ already built with create_graph=True: ∂(Σᵢ gᵢ·vᵢ)/∂θ.

    For several products with one loss (one per layer, say), build g once and
    call this for each v. Parameters whose gradient does not depend on θ
    (C linear in them) contribute H·v = 0 there.
    """
    total = None
    for g, v in zip(gradients, vectors):
        if not g.requires_grad or not np.any(v):
            continue
        term = (g * v).sum()
        total = term if total is None else total + term
    if total is None:
        return [np.zeros_like(p.data) for p in params]
    return [h.data for h in grad(total, list(params))]


def hessian(f: Callable[[Tensor], Tensor], x: ArrayLike) -> np.ndarray:
    """The explicit Hessian H[i…, j…] = ∂²f/∂xᵢ∂xⱼ of a scalar function, shape x.shape + x.shape.

    The Jacobian of the gradient: g = ∂f/∂x with create_graph=True, then one
    reverse pass per element of x for the rows ∂gᵢ/∂x. For x of at most
    MAX_HESSIAN_INPUTS (1,000) elements; past that, use `hvp`.
    """
    x_leaf = _fresh_leaf(x)
    if x_leaf.size > MAX_HESSIAN_INPUTS:
        raise ValueError(
            f"hessian: x has {x_leaf.size:,} elements, over the MAX_HESSIAN_INPUTS limit of "
            f"{MAX_HESSIAN_INPUTS:,} (one reverse pass per element, size² entries); "
            "use hvp(f, x, v) for products H·v instead"
        )
    loss = _scalar_output("hessian", f(x_leaf))
    (g,) = grad(loss, x_leaf, create_graph=True)
    return _jacobian_rows(g, x_leaf)


def jacobian(f: Callable[[Tensor], Tensor], x: ArrayLike) -> np.ndarray:
    """The explicit Jacobian J[i…, j…] = ∂fᵢ/∂xⱼ, shape f(x).shape + x.shape.

    One reverse pass per element of f(x), each a vector–Jacobian product eᵢᵀJ.
    For f(x).size × x.size at most MAX_JACOBIAN_ENTRIES (10⁶); for larger
    problems use `microgradvg.grad` with `grad_outputs` (a single VJP).
    """
    x_leaf = _fresh_leaf(x)
    out = f(x_leaf)
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: f must return a Tensor, got {type(out).__name__}")
    if out.size * x_leaf.size > MAX_JACOBIAN_ENTRIES:
        raise ValueError(
            f"jacobian: f(x) {out.shape} by x {x_leaf.shape} is {out.size * x_leaf.size:,} entries, "
            f"over the MAX_JACOBIAN_ENTRIES limit of {MAX_JACOBIAN_ENTRIES:,}; "
            "use microgradvg.grad(f(x), x, grad_outputs=[v]) for single products vᵀJ"
        )
    return _jacobian_rows(out, x_leaf)


def _jacobian_rows(out: Tensor, x: Tensor) -> np.ndarray:
    """∂out/∂x as an array out.shape + x.shape, one reverse pass per element of out."""
    jac = np.zeros((out.size, x.size), dtype=x.data.dtype)  # (out elements, x elements)
    if out.requires_grad:
        for i in range(out.size):
            seed = np.zeros(out.size, dtype=out.data.dtype)
            seed[i] = 1.0
            (row,) = grad(out, x, grad_outputs=[seed.reshape(out.shape)])
            jac[i] = row.data.reshape(-1)
    return jac.reshape(out.shape + x.shape)


def _fresh_leaf(x: ArrayLike) -> Tensor:
    """A new leaf requiring grad, so the caller's Tensor and its graph are left alone."""
    data = x.data if isinstance(x, Tensor) else as_array(x)
    return Tensor(data.copy(), requires_grad=True)


def _parameters(op: str, params: Params, fresh_leaves: bool) -> tuple[list[Tensor], bool]:
    """The parameters as a list of Tensors that require grad, and whether one was given."""
    single = isinstance(params, (Tensor, np.ndarray)) or np.isscalar(params)
    items: list[Any] = [params] if single else list(params)  # type: ignore[arg-type]
    if not items:
        raise ValueError(f"{op}: no parameters given")
    tensors = []
    for i, p in enumerate(items):
        if isinstance(p, Tensor):
            if not p.requires_grad:
                raise ValueError(
                    f"{op}: parameter {i} (shape {p.shape}) does not require grad; "
                    "create it with requires_grad=True"
                )
            tensors.append(p)
        elif fresh_leaves:
            tensors.append(Tensor(as_array(p, op), requires_grad=True))
        else:
            raise TypeError(
                f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor, so the given loss "
                "cannot depend on it; pass the Tensors the loss was computed from, or a function"
            )
    return tensors, single


def _scalar_output(op: str, loss: Any) -> Tensor:
    if not isinstance(loss, Tensor):
        raise TypeError(f"{op}: the loss must be a Tensor, got {type(loss).__name__}")
    if loss.size != 1:
        raise ValueError(f"{op}: the loss must have one element, got shape {loss.shape}")
    if not loss.requires_grad:
        raise ValueError(
            f"{op}: the loss does not require grad (it does not depend on any parameter "
            "that requires grad, or it was computed under no_grad())"
        )
    return loss


def _vectors(op: str, vectors: Vectors, params: list[Tensor], single: bool) -> list[np.ndarray]:
    items = [vectors] if single else list(vectors)  # type: ignore[arg-type]
    if len(items) != len(params):
        raise ValueError(f"{op}: {len(params)} parameters but {len(items)} vectors")
    out = []
    for i, (v, p) in enumerate(zip(items, params)):
        array = as_array(v.data if isinstance(v, Tensor) else v, op).astype(
            p.data.dtype, copy=False
        )
        if array.shape != p.shape:
            raise ValueError(
                f"{op}: vector {i} has shape {array.shape} but its parameter has shape {p.shape}"
            )
        out.append(array)
    return out
