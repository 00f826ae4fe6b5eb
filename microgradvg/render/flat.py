"""A computation graph read once into flat arrays (`Flat`), and totals over groups of its
nodes (`Sums`) and over the edges between groups (`links`), summed by numpy: what the
grouped picture (`collapse`) shows, for a million nodes in a second or two.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, cast

import numpy as np

from .nodes import as_array, is_constant, is_scalar, row_norms

PARENTS, GRAD, LOCAL_DERIVATIVES = (attrgetter(name) for name in ("parents", "grad", "local_derivatives"))


class Flat:
    """A graph in topological order as flat arrays: for edge e (children in order, each
    child's parents in slot order) its `parent` and `child` positions, and for every node its
    gradient's size and sign. A Value graph is read off its nodes by C-level iterators (map,
    chain), with no Python code run per node or edge: a million edges take a tenth of a
    second. A Tensor graph's gradients are arrays: read shape by shape (`array_gradients`)."""

    def __init__(self, order: Sequence[Any]) -> None:
        self.order = order
        # Nodes hash by identity (neither engine defines __eq__), so they key the dict.
        self.position = position = dict(zip(order, range(len(order))))
        self.counts = np.fromiter(map(len, map(PARENTS, order)), np.intp, len(order))
        edges = int(self.counts.sum())
        self.parent = np.fromiter(
            map(position.__getitem__, itertools.chain.from_iterable(map(PARENTS, order))), np.intp, edges
        )
        self.child = np.repeat(np.arange(len(order)), self.counts)
        self.scalar = is_scalar(order[0])
        if self.scalar:  # every gradient is a float: read them at once
            grads = np.fromiter(map(GRAD, order), float, len(order))
            # NaN has no sign: 0, as gradient_sign gives it.
            self.magnitude, self.sign = np.abs(grads), np.nan_to_num(np.sign(grads))
            self.known = np.ones(len(order), bool)
        else:
            self.magnitude, self.sign, self.known = array_gradients(list(map(GRAD, order)))

    def depths(self) -> list[int]:
        """The longest path from a leaf to each node, in edges."""
        depth = [0] * len(self.order)
        parents, e = self.parent.tolist(), 0
        for i, count in enumerate(self.counts.tolist()):
            if count == 1:  # most ops have one or two parents: no slice, no max()
                depth[i] = depth[parents[e]] + 1
            elif count == 2:
                depth[i] = max(depth[parents[e]], depth[parents[e + 1]]) + 1
            elif count:
                depth[i] = max(depth[p] for p in parents[e:e + count]) + 1
            e += count
        return depth

    def edge_flows(self, wanted: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """Per edge: its factor (Values; None for Tensors), the size and sign of the gradient
        flowing along it (factor · the child's gradient; a Tensor factor's VJP), and whether
        that gradient is known. A Tensor edge's VJP is a rule's call (tens of µs): only the
        `wanted` edges (those between groups) into a Tensor that requires grad are pulled
        through theirs; the rest carry no known gradient."""
        order = self.order
        if self.scalar:
            factors = itertools.chain.from_iterable(map(LOCAL_DERIVATIVES, order))
            factor = np.fromiter(factors, float, self.parent.size)
            with np.errstate(over="ignore", invalid="ignore"):  # 1e300 · 1e300, 0 · ∞
                signed = factor * np.fromiter(map(GRAD, order), float, len(order))[self.child]
            sign = np.nan_to_num(np.sign(signed))
            return factor, np.abs(signed), sign, np.ones(factor.size, bool)
        # backward() sends no gradient into a Tensor that does not require grad (an input
        # batch, a constant): such an edge carries none, as in the full picture.
        needed = np.fromiter((not is_constant(node) for node in order), bool, len(order))
        slots = np.arange(self.parent.size) - np.repeat(np.cumsum(self.counts) - self.counts, self.counts)
        pulled = np.flatnonzero(wanted & needed[self.parent])
        passed: list[Any] = []  # None: no gradient yet
        for e in pulled.tolist():
            child = order[self.child[e]]
            grad = as_array(child.grad)
            with np.errstate(all="ignore"):  # NaN and ∞ in, NaN and ∞ drawn
                passed.append(None if grad is None else child.factor(int(slots[e])).vjp(grad))
        edges = self.parent.size
        size, sign, known = np.full(edges, math.nan), np.zeros(edges), np.zeros(edges, bool)
        size[pulled], sign[pulled], known[pulled] = array_gradients(passed)
        return None, size, sign, known


def array_gradients(grads: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(‖g‖, sign, known) of each gradient, an array or a Tensor (None: not known), as
    `nodes.norm` and `nodes.gradient_sign` give them one by one, but for all the gradients of
    one shape at once, as the rows of one matrix: a long chain has a handful of shapes."""
    count = len(grads)
    size, sign, known = np.full(count, math.nan), np.zeros(count), np.zeros(count, bool)
    arrays: list[Any] = [None] * count
    rows_of: dict[tuple[int, ...], list[int]] = {}
    for i, grad in enumerate(grads):
        if grad is None:
            continue
        # Most are ndarrays already; as_array reads a Tensor's data (not None: grad is not).
        array: np.ndarray = grad if type(grad) is np.ndarray else cast(np.ndarray, as_array(grad))
        arrays[i] = array
        rows = rows_of.get(array.shape)
        if rows is None:
            rows_of[array.shape] = [i]
        else:
            rows.append(i)
    for rows in rows_of.values():
        matrix = np.array([arrays[i] for i in rows], dtype=float).reshape(len(rows), -1)
        known[rows] = True
        if matrix.shape[1] == 0:
            size[rows], sign[rows] = 0.0, 0
            continue
        size[rows] = row_norms(matrix)
        # The least and the largest element say the sign (NaN spreads to both, and is 0).
        low, high = matrix.min(axis=1), matrix.max(axis=1)
        sign[rows] = np.where(low >= 0, (high > 0).astype(int), -(high <= 0).astype(int))
    return size, sign, known


@dataclass
class Sums:
    """Totals over the members of each group (or the edges of each link), index by index:
    how many, how many with no gradient, how many with a zero one, the norm √Σ|g|² of the
    known ones, max |g| (both NaN if one |g| is), and the one sign their nonzero gradients share (0 when they
    differ, or when there are none)."""

    members: np.ndarray
    unknown: np.ndarray
    zeros: np.ndarray
    norms: np.ndarray
    largest: np.ndarray
    sign: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, size: int, magnitude: np.ndarray, sign: np.ndarray,
           known: np.ndarray) -> Sums:
        """Sum `magnitude`/`sign` (of gradients; NaN counts as nonzero) by `codes` into `size` totals."""
        def total(weights: Any = None) -> np.ndarray:
            return np.bincount(codes, weights, minlength=size)

        nonzero = known & (magnitude != 0.0)
        largest = np.zeros(size)
        np.fmax.at(largest, codes[nonzero], magnitude[nonzero])
        kinds = [total(nonzero & (sign == s)) > 0 for s in (1, -1, 0)]
        one = (kinds[0].astype(int) + kinds[1] + kinds[2]) == 1
        norms = grouped_norms(codes, size, np.where(nonzero, magnitude, 0.0), largest)
        # NaN in a group makes its max NaN, as it makes its norm: all NaN showed "max |grad| 0".
        largest[total(known & np.isnan(magnitude)) > 0] = np.nan
        return cls(
            members=total().astype(int),
            unknown=total(~known).astype(int),
            zeros=total(known & (magnitude == 0.0)).astype(int),
            norms=norms,
            largest=largest,
            sign=np.where(one & kinds[0], 1, np.where(one & kinds[1], -1, 0)),
        )

    def norm(self, i: int) -> float | None:
        """The gradient norm of group i, √Σ|g|² (None if no member has a gradient)."""
        return None if self.unknown[i] == self.members[i] else float(self.norms[i])


def grouped_norms(codes: np.ndarray, size: int, values: np.ndarray, largest: np.ndarray) -> np.ndarray:
    """√Σ values² by `codes` into `size` totals, each group's values scaled by its `largest`
    |value| first, so that the squares neither underflow (gradients of 1e-170 are not 0)
    nor overflow; NaN if a value is NaN, ∞ if one is infinite."""
    scale = np.where(np.isfinite(largest) & (largest > 0.0), largest, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):  # ∞ and NaN give ∞ and NaN, as they should
        ratio = values / scale[codes]
        return scale * np.sqrt(np.bincount(codes, ratio * ratio, minlength=size))


@dataclass
class Link:
    """The edges from one group to another: how many, √Σ factor² and Σ factor (Values), and
    the gradient flowing along them: its norm (None if unknown) and its one sign (0: mixed)."""

    edges: int
    factor_norm: float
    factor_sum: float
    flow: float | None
    sign: int


def links(flat: Flat, codes: np.ndarray, groups: int) -> tuple[dict[tuple[int, int], Link], np.ndarray]:
    """The links between groups, in order of their first edge, and the edges inside each group."""
    source, target = codes[flat.parent], codes[flat.child]
    inside = source == target
    inside_count = np.bincount(target[inside], minlength=groups)
    between = ~inside
    factor, flow, sign, known = flat.edge_flows(between)
    pair = source[between] * groups + target[between]
    unique, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    sums = Sums.of(inverse, unique.size, flow[between], sign[between], known[between])
    factor_norm: np.ndarray = np.zeros(unique.size)
    factor_sum: np.ndarray = np.zeros(unique.size)
    if factor is not None:
        factor = factor[between]
        largest = np.zeros(unique.size)
        np.fmax.at(largest, inverse, np.abs(factor))
        factor_norm = grouped_norms(inverse, unique.size, factor, largest)
        with np.errstate(invalid="ignore"):  # ∞ − ∞
            factor_sum = np.bincount(inverse, factor, minlength=unique.size)
    links = {}
    for j in np.argsort(first, kind="stable").tolist():
        edges = int(sums.members[j])
        links[(int(unique[j] // groups), int(unique[j] % groups))] = Link(
            edges=edges,
            factor_norm=float(factor_norm[j]),
            factor_sum=float(factor_sum[j]),
            flow=sums.norm(j),
            sign=int(sums.sign[j]),
        )
    return links, inside_count


__all__ = ["Flat", "Link", "Sums", "grouped_norms", "links"]
