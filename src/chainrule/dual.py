"""``Dual``: scalar forward-mode autodiff with dual numbers ``a + da * eps`` (``eps**2 = 0``).

A ``Dual`` carries a value ``a`` and a tangent ``da`` (the derivative of ``a`` with respect to
one chosen input).  Every operation computes its value and pushes the tangent through its own
derivative, side by side::

    sin(a + da eps) = sin a + (cos a * da) eps      ->    Dual(sin(a), cos(a) * da)

Seed the input with tangent 1 and the output's tangent is the derivative: ``derivative(f, x)``.
One forward pass gives the derivative with respect to one input, where reverse mode
(``chainrule.scalar.Value``) gives the derivatives with respect to all inputs of one output.

Values and tangents are floats: a ``Dual`` of ``Dual`` s (nested differentiation) is refused,
because it invites perturbation confusion (two derivatives' tangents mistaken for each other).
Out-of-domain inputs raise the same ``ValueError`` s as ``Value``; comparisons compare values,
so code that branches (``if x > 0``) runs unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real

from chainrule.scalar import _INF, _div, _exp, _log, _pow, _pow_dbase, _pow_dexp, _sigmoid, _sqrt

__all__ = ["Dual", "derivative"]


def _real(x: object, what: str) -> float:
    if isinstance(x, Real) and not isinstance(x, Dual):
        return float(x)
    if isinstance(x, Dual):
        raise TypeError(f"Dual: {what} must be a real number; nested Duals are not supported")
    raise TypeError(f"Dual: {what} must be a real number, got {type(x).__name__}")


def _scale(d: float, da: float) -> float:
    """``d * da``, but a zero tangent stays zero even where ``d`` is inf (no ``inf * 0 = nan``)."""
    return d * da if da != 0.0 else 0.0


def _lift(x: object) -> Dual | None:
    """A Dual as is; a real number as a constant (tangent 0); anything else None."""
    if isinstance(x, Dual):
        return x
    if isinstance(x, Real):
        return Dual(float(x))
    return None


class Dual:
    """``value + tangent * eps``: a number and its derivative along one direction."""

    __slots__ = ("value", "tangent")

    def __init__(self, value: float, tangent: float = 0.0) -> None:
        self.value: float = value if type(value) is float else _real(value, "value")
        self.tangent: float = tangent if type(tangent) is float else _real(tangent, "tangent")

    def __repr__(self) -> str:
        return f"Dual(value={self.value}, tangent={self.tangent})"

    # --- arithmetic: value, then tangent ---------------------------------------------------

    def __add__(self, other: Dual | float) -> Dual:
        """(a + b)' = da + db."""
        rhs = _lift(other)
        if rhs is None:
            return NotImplemented
        return Dual(self.value + rhs.value, self.tangent + rhs.tangent)

    def __sub__(self, other: Dual | float) -> Dual:
        """(a - b)' = da - db."""
        rhs = _lift(other)
        if rhs is None:
            return NotImplemented
        return Dual(self.value - rhs.value, self.tangent - rhs.tangent)

    def __mul__(self, other: Dual | float) -> Dual:
        """(a b)' = da b + a db   (product rule)."""
        rhs = _lift(other)
        if rhs is None:
            return NotImplemented
        a, b = self.value, rhs.value
        return Dual(a * b, self.tangent * b + a * rhs.tangent)

    def __truediv__(self, other: Dual | float) -> Dual:
        """(a / b)' = (da - (a/b) db) / b   (quotient rule)."""
        rhs = _lift(other)
        if rhs is None:
            return NotImplemented
        b = rhs.value
        out = _div(self.value, b)
        return Dual(out, (self.tangent - out * rhs.tangent) / b)

    def __pow__(self, other: Dual | float) -> Dual:
        """(a ** c)' = c a**(c-1) da;   (a ** b)' = b a**(b-1) da + a**b log(a) db."""
        a = self.value
        if isinstance(other, Dual):
            b = other.value
            out = _pow(a, b)
            # a constant exponent (db == 0) adds nothing, not even log(a) of an a <= 0
            da, db = self.tangent, other.tangent
            return Dual(out, _scale(_pow_dbase(a, b), da) + _scale(_pow_dexp(a, out), db))
        if isinstance(other, Real):
            c = float(other)
            return Dual(_pow(a, c), _scale(_pow_dbase(a, c), self.tangent))
        return NotImplemented

    __radd__ = __add__  # b + a == a + b
    __rmul__ = __mul__  # b * a == a * b

    def __rsub__(self, other: float) -> Dual:
        lhs = _lift(other)
        if lhs is None:
            return NotImplemented
        return lhs - self

    def __rtruediv__(self, other: float) -> Dual:
        lhs = _lift(other)
        if lhs is None:
            return NotImplemented
        return lhs / self

    def __rpow__(self, other: float) -> Dual:
        lhs = _lift(other)
        if lhs is None:
            return NotImplemented
        return lhs**self

    def __neg__(self) -> Dual:
        """(-a)' = -da."""
        return Dual(-self.value, -self.tangent)

    # --- elementary functions: value, then tangent -----------------------------------------

    def relu(self) -> Dual:
        """relu(a)' = da if a > 0 else 0."""
        a = self.value
        return Dual(a, self.tangent) if a > 0.0 else Dual(0.0, 0.0)

    def tanh(self) -> Dual:
        """tanh(a)' = (1 - tanh(a)**2) da."""
        t = math.tanh(self.value)
        return Dual(t, (1.0 - t * t) * self.tangent)

    def sigmoid(self) -> Dual:
        """s(a)' = s(a) s(-a) da   (= s(1 - s) da, in a form that never overflows)."""
        a = self.value
        s = _sigmoid(a)
        return Dual(s, s * _sigmoid(-a) * self.tangent)

    def exp(self) -> Dual:
        """exp(a)' = exp(a) da."""
        e = _exp(self.value)
        return Dual(e, e * self.tangent)

    def log(self) -> Dual:
        """log(a)' = da / a   (a > 0)."""
        a = self.value
        return Dual(_log(a), self.tangent / a)

    def sin(self) -> Dual:
        """sin(a)' = cos(a) da."""
        a = self.value
        return Dual(math.sin(a), math.cos(a) * self.tangent)

    def cos(self) -> Dual:
        """cos(a)' = -sin(a) da."""
        a = self.value
        return Dual(math.cos(a), -math.sin(a) * self.tangent)

    def sqrt(self) -> Dual:
        """sqrt(a)' = da / (2 sqrt a)   (a >= 0; inf at 0)."""
        r = _sqrt(self.value)
        return Dual(r, _scale(0.5 / r if r > 0.0 else _INF, self.tangent))

    # --- comparisons look at values only, so branching code runs -----------------------------

    def __eq__(self, other: object) -> bool:
        o = _lift(other)
        return NotImplemented if o is None else self.value == o.value

    def __lt__(self, other: Dual | float) -> bool:
        o = _lift(other)
        return NotImplemented if o is None else self.value < o.value

    def __le__(self, other: Dual | float) -> bool:
        o = _lift(other)
        return NotImplemented if o is None else self.value <= o.value

    def __gt__(self, other: Dual | float) -> bool:
        o = _lift(other)
        return NotImplemented if o is None else self.value > o.value

    def __ge__(self, other: Dual | float) -> bool:
        o = _lift(other)
        return NotImplemented if o is None else self.value >= o.value

    def __hash__(self) -> int:  # equal Duals (equal values) hash alike, like equal floats
        return hash(self.value)


def derivative(f: Callable[[Dual], Dual | float], x: float) -> float:
    """f'(x) by forward mode: run ``f`` on ``Dual(x, 1)`` and read the output's tangent.

    ``f`` must be built from Dual operations (and numbers); a constant result has derivative 0.
    """
    out = f(Dual(x, 1.0))
    if isinstance(out, Dual):
        return out.tangent
    if isinstance(out, Real):
        return 0.0
    raise TypeError(f"derivative: f must return a Dual or a real number, got {type(out).__name__}")
