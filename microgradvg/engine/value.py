"""`Value`: a scalar that records how it was computed, factor by factor.

Every operation stores, at forward time, the local derivative ∂self/∂parent
of each parent edge in `local_derivatives`, so after `backward()` any
gradient can be read back as a sum over paths of products of these floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

from .factors import ScalarFactor
from .graph import sweep, walk
from .versions import EPOCH, check, version

Number = int | float

# math.exp overflows a float64 above this argument.
_EXP_MAX = 709.782712893384


class Value:
    """A float in a computation graph.

    `data` is the float, `grad` is ∂(root)/∂self after `root.backward()`,
    `op` the short name of the operation that made it (`""` for a leaf),
    `parents` the Values it was computed from, and `local_derivatives[i]` is
    ∂self/∂parents[i], the chain-rule factor on that edge.

    `version` counts the optimizer steps that changed `data`; `backward()` refuses a graph
    recorded before one of its Values was stepped (its factors, saved as floats, would give
    the gradient at the old values). Assigning `.data` yourself is the unchecked escape hatch.
    """

    __slots__ = ("_changes", "_recorded", "data", "grad", "label", "local_derivatives", "op", "parents")
    data: float
    grad: float
    op: str
    label: str
    parents: tuple[Value, ...]
    local_derivatives: tuple[float, ...]
    _changes: list[int] | None  # [version, epoch of the last change], unset on op results (versions.py)
    _recorded: int  # the epoch this node was recorded in

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(data, Real):
            raise TypeError(f"Value: data must be a real number, got {type(data).__name__} {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.op = ""
        self.label = label
        self.parents = ()
        self.local_derivatives = ()
        self._changes = None
        self._recorded = 0

    # ---- the graph protocol ------------------------------------------------

    def factor(self, index: int) -> ScalarFactor:
        """The local derivative ∂self/∂parents[index] on that edge (a float)."""
        return ScalarFactor(self.local_derivatives[index])

    def zero_grad(self) -> None:
        """Set this node's gradient to 0."""
        self.grad = 0.0

    @property
    def version(self) -> int:
        """How many times the library changed `data` in place (optimizer steps); 0 if never."""
        return version(self)

    def backward(self) -> None:
        """Fill `grad` on every node of the graph with ∂self/∂node.

        One walk in reverse topological order (`graph.sweep`), accumulating
        `parent.grad += local_derivative · child.grad` on each edge.
        Intermediate gradients are recomputed on every call; leaf gradients
        accumulate across calls (call `zero_grad` between steps). A graph recorded before
        an optimizer step changed one of its Values is refused (see `version`).
        """
        order, leaves, earlier = walk((self,), 0.0)
        try:
            check(order, "backward")
        except RuntimeError:
            for leaf, grad in zip(leaves, earlier):
                leaf.grad = grad
            raise
        self.grad = 1.0
        sweep(order, None)
        # Add this pass's whole gradient to the earlier one, rather than summing the
        # edges onto it, so accumulating is exactly old + new even when edges cancel.
        for leaf, grad in zip(leaves, earlier):
            leaf.grad += grad

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label}{op})"

    # ---- binary operations -------------------------------------------------

    def __add__(self, other: Value | Number) -> Value:
        """∂(a+b)/∂a = 1, ∂(a+b)/∂b = 1."""
        if type(other) is Value:
            return _result(self.data + other.data, (self, other), (1.0, 1.0), "+")
        if isinstance(other, Real):
            return _result(self.data + float(other), (self,), (1.0,), "+")
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Value | Number) -> Value:
        """∂(a−b)/∂a = 1, ∂(a−b)/∂b = −1."""
        if type(other) is Value:
            return _result(self.data - other.data, (self, other), (1.0, -1.0), "-")
        if isinstance(other, Real):
            return _result(self.data - float(other), (self,), (1.0,), "-")
        return NotImplemented

    def __rsub__(self, other: Number) -> Value:
        """∂(c−a)/∂a = −1."""
        if isinstance(other, Real):
            return _result(float(other) - self.data, (self,), (-1.0,), "-")
        return NotImplemented

    def __mul__(self, other: Value | Number) -> Value:
        """∂(ab)/∂a = b, ∂(ab)/∂b = a."""
        if type(other) is Value:
            return _result(self.data * other.data, (self, other), (other.data, self.data), "*")
        if isinstance(other, Real):
            other = float(other)
            return _result(self.data * other, (self,), (other,), "*")
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other: Value | Number) -> Value:
        """∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²."""
        if type(other) is Value:
            if other.data == 0.0:
                raise ZeroDivisionError(f"/: division of {self.data!r} by a Value that is 0.0")
            quotient = self.data / other.data  # correctly rounded, unlike a·(1/b)
            return _result(quotient, (self, other), (1.0 / other.data, -quotient / other.data), "/")
        if isinstance(other, Real):
            if other == 0:
                raise ZeroDivisionError(f"/: division of Value({self.data!r}) by the number 0")
            other = float(other)
            return _result(self.data / other, (self,), (1.0 / other,), "/")
        return NotImplemented

    def __rtruediv__(self, other: Number) -> Value:
        """∂(c/a)/∂a = −c/a²."""
        if not isinstance(other, Real):
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError(f"/: division of the number {other!r} by a Value that is 0.0")
        quotient = float(other) / self.data
        return _result(quotient, (self,), (-quotient / self.data,), "/")

    def __pow__(self, other: Value | Number) -> Value:
        """∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a (a Value exponent needs a > 0, or a = 0 < b)."""
        base = self.data
        if type(other) is Value:
            exponent = other.data
            power = _power(base, exponent)
            slopes = (_power_slope(base, exponent), _exponent_slope(base, power))
            return _result(power, (self, other), slopes, "**")
        if isinstance(other, Real):
            power = _power(base, float(other))
            return _result(power, (self,), (_power_slope(base, float(other)),), "**")
        return NotImplemented

    def __rpow__(self, other: Number) -> Value:
        """∂(cᵃ)/∂a = cᵃ·ln c, for a base c > 0 (or c = 0 with a > 0)."""
        if not isinstance(other, Real):
            return NotImplemented
        power = _power(float(other), self.data)
        return _result(power, (self,), (_exponent_slope(float(other), power),), "**")

    def __neg__(self) -> Value:
        """∂(−a)/∂a = −1."""
        return _result(-self.data, (self,), (-1.0,), "neg")

    # ---- elementwise functions ----------------------------------------------

    def exp(self) -> Value:
        """∂eᵃ/∂a = eᵃ."""
        if self.data > _EXP_MAX:
            raise OverflowError(
                f"exp: exp({self.data!r}) overflows float64; valid inputs are ≤ {_EXP_MAX}"
            )
        out = math.exp(self.data)
        return _result(out, (self,), (out,), "exp")

    def log(self) -> Value:
        """∂ln a/∂a = 1/a, for a > 0."""
        if self.data <= 0.0:
            raise ValueError(f"log: input {self.data!r} is not positive; log needs a value > 0")
        return _result(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> Value:
        """∂tanh a/∂a = 1 − tanh²a, computed as 4e/(1+e)² with e = e^(−2|a|) to stay exact."""
        e = math.exp(-2.0 * abs(self.data))
        return _result(math.tanh(self.data), (self,), (4.0 * e / ((1.0 + e) * (1.0 + e)),), "tanh")

    def sigmoid(self) -> Value:
        """σ(a) = 1/(1+e⁻ᵃ); ∂σ/∂a = σ(a)·σ(−a), both computed without overflow.

        With f = σ(−|a|) = e/(1+e), e = e^(−|a|): σ' = f·(1 − f), where 1 − f ≥ 1/2 has no
        cancellation (exact in the tails) and rounding can never lift it above 1/4.
        """
        x = self.data
        e = math.exp(-abs(x))
        far = e / (1.0 + e)  # σ(−|x|) ≤ 1/2
        s = 1.0 - far if x >= 0.0 else far
        return _result(s, (self,), (far * (1.0 - far),), "sigmoid")

    def relu(self) -> Value:
        """relu(a) = max(0, a); ∂relu/∂a = 1 if a > 0 else 0."""
        if self.data > 0.0:
            return _result(self.data, (self,), (1.0,), "relu")
        return _result(0.0, (self,), (0.0,), "relu")

    # ---- n-ary operations ---------------------------------------------------

    @staticmethod
    def custom(
        data: float, parents: Iterable[Value], local_derivatives: Iterable[float], op: str
    ) -> Value:
        """Your own operation as one node: its value, its parents, and ∂data/∂parentᵢ for each.

        For example softplus(x) = ln(1 + eˣ), whose derivative is σ(x):
        `Value.custom(math.log1p(math.exp(x.data)), [x], [1 / (1 + math.exp(-x.data))], "softplus")`.
        Check the derivatives you supply with `microgradvg.testing.gradcheck`.
        """
        parents, slopes = tuple(parents), tuple(local_derivatives)
        _require_values(op, parents)
        if len(slopes) != len(parents):
            raise ValueError(f"{op}: {len(parents)} parents but {len(slopes)} local derivatives; give one per parent")
        for slope in (data, *slopes):
            if not isinstance(slope, Real):
                raise TypeError(f"{op}: value and local derivatives must be real numbers, got {slope!r}")
        return _result(float(data), parents, tuple(map(float, slopes)), op)

    @staticmethod
    def sum(values: Iterable[Value]) -> Value:
        """One "+" node over many Values: ∂(Σ aᵢ)/∂aᵢ = 1 on every edge."""
        parents = tuple(values)
        _require_values("sum", parents)
        return _result(_sum([v.data for v in parents]), parents, (1.0,) * len(parents), "+")

    @staticmethod
    def linear(weights: Iterable[Value], inputs: Iterable[Value], bias: Value) -> Value:
        """One node z = Σ wᵢxᵢ + b, with ∂z/∂wᵢ = xᵢ, ∂z/∂xᵢ = wᵢ, ∂z/∂b = 1.

        A neuron's pre-activation as a single node keeps chains short: the
        factor from one layer's activation to the next layer's z is the weight.
        """
        ws, xs = tuple(weights), tuple(inputs)
        if len(ws) != len(xs):
            raise ValueError(f"linear: {len(ws)} weights but {len(xs)} inputs; they must match")
        _require_values("linear", ws + xs + (bias,))
        w_data = [w.data for w in ws]
        x_data = [x.data for x in xs]
        z = _sum(list(map(float.__mul__, w_data, x_data))) + bias.data
        return _result(z, ws + xs + (bias,), (*x_data, *w_data, 1.0), "linear")


def _result(data: float, parents: tuple, local_derivatives: tuple, op: str) -> Value:
    """A new non-leaf Value; skips `__init__`'s checks, which leaves never skip."""
    node = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node.op = op
    node.label = ""
    node.parents = parents
    node.local_derivatives = local_derivatives
    # `_changes` stays unset (read with a default) until an in-place change: one store less
    # on every scalar op.
    node._recorded = EPOCH[0]
    return node


_new_value = object.__new__


def _sum(terms: list[float]) -> float:
    """Σ terms correctly rounded (math.fsum); where a term or a partial sum is infinite,
    fsum raises, so fall back to left-to-right addition, which gives inf or nan like `+`."""
    try:
        return math.fsum(terms)
    except (OverflowError, ValueError):
        return sum(terms)


def _power(base: float, exponent: float) -> float:
    """base**exponent as a real float, or a ValueError naming the operands."""
    if base < 0.0 and not float(exponent).is_integer():
        raise ValueError(
            f"**: negative base {base!r} to the fractional power {exponent!r} is not real; "
            "use an integer exponent or a base ≥ 0"
        )
    if base == 0.0 and exponent < 0:
        raise ValueError(f"**: 0.0 to the negative power {exponent!r} is undefined")
    try:
        return float(base**exponent)
    except OverflowError:
        raise OverflowError(f"**: {base!r} ** {exponent!r} overflows float64") from None


def _exponent_slope(base: float, power: float) -> float:
    """∂(aᵇ)/∂b = aᵇ·ln a, given aᵇ; 0 at a = 0 (where aᵇ = 0 for b > 0); undefined for a < 0."""
    if base > 0.0:
        return power * math.log(base)
    if base == 0.0:
        return 0.0
    raise ValueError(
        f"**: base {base!r} is negative, so ∂(a**b)/∂b = a**b·ln(a) is undefined; "
        "an exponent that is a Value needs a base ≥ 0"
    )


def _power_slope(base: float, exponent: float) -> float:
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, with the 0⁰ corner (b = 0) giving 0."""
    if exponent == 0:
        return 0.0
    if base == 0.0 and exponent < 1:
        raise ValueError(
            f"**: ∂(a**{exponent!r})/∂a is infinite at a = 0.0; use an exponent ≥ 1 there"
        )
    return float(exponent * _power(base, exponent - 1))


def _require_values(op: str, nodes: tuple) -> None:
    for node in nodes:
        if type(node) is not Value:
            raise TypeError(f"{op}: expected Values, got {type(node).__name__} {node!r}")
