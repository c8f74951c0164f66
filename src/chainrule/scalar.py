"""``Value``: the chapter's scalar reverse-mode autodiff engine (micrograd-compatible API).

Every operation computes, in the forward pass, its output *and* the local derivative of that
output with respect to each of its inputs, and records both in the new node::

    Value(forward value, inputs, op name, local derivatives d out / d input)

``backward()`` then walks the graph from the output down to the leaves (reverse topological
order) and applies the chain rule, one edge at a time::

    child.grad += d(out)/d(child) * out.grad

**Accumulation (exercise 14).** The ``+=`` is what makes shared subexpressions come out right.
``a * a`` records ``_prev == (a, a)`` and ``_local == (a.data, a.data)``: the loop meets ``a``
twice and adds ``a.data * g`` each time, so ``a.grad == 2 * a.data`` (the product rule) with no
special case.  Diamonds work the same way: ``b = a + a; c = b + b`` gives ``dc/da == 4``.

**No closures.**  Nodes store numbers, not functions, so a graph holds no reference cycles: it is
freed by reference counting the moment it is dropped, and Python's cyclic garbage collector only
ever scans it, never has to untangle it.  (Untangling closures is most of micrograd's run time.)

**Calling ``backward()`` more than once** follows PyTorch:

* *leaves* (Values with no inputs: parameters, inputs, constants) **accumulate** into ``.grad``
  across calls, so two calls on the same output double a leaf's gradient;
* *intermediate* nodes hold the gradient of the **latest** call only; they are reset at the
  start of each call, so a second call never counts the first one's gradient again.

Call ``zero_grad()`` (on the output, or on each parameter) between optimisation steps.

**Numbers.**  Data and gradients are Python floats (IEEE float64).  An input outside an
operation's domain raises ``ValueError`` naming the operation and the value (``log`` of a
non-positive number, ``0 ** -1``, a negative base with a non-integer exponent, ``sqrt`` of a
negative number, division by zero).  A result too large for a float (``exp(1000)``,
``10 ** 400``) is ``inf``, as in NumPy and PyTorch, never an ``OverflowError``.  An operand that is
neither a ``Value`` nor a real number makes the operator return ``NotImplemented``, so Python
raises its usual ``TypeError`` naming the operator and both types.
"""

from __future__ import annotations

import math
from numbers import Real

__all__ = ["Value", "topological_order"]

_INF = math.inf


# --- float helpers: domain checks and overflow-safe forms (shared with dual.py) ---------------


def _exp(x: float) -> float:
    """``e**x``, or ``inf`` where it overflows a float (x > 709.78...)."""
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


def _sigmoid(x: float) -> float:
    """``1 / (1 + e**-x)``, exponentiating only non-positive numbers, so it never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _log(x: float) -> float:
    if x <= 0.0:
        raise ValueError(f"log: argument must be positive, got {x}")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0.0:
        raise ValueError(f"sqrt: argument must be non-negative, got {x}")
    return math.sqrt(x)


def _div(x: float, y: float) -> float:
    if y == 0.0:
        raise ValueError(f"div: {x} / {y} is undefined (division by zero)")
    return x / y


def _pow(x: float, y: float) -> float:
    """``x ** y`` for real x, y; undefined cases raise ValueError, overflow gives +-inf."""
    if x == 0.0 and y < 0.0:
        raise ValueError(f"pow: {x} ** {y} is undefined (division by zero)")
    if x < 0.0 and not y.is_integer():
        raise ValueError(f"pow: {x} ** {y} is undefined (negative base with non-integer exponent)")
    try:
        return x**y
    except OverflowError:
        return -_INF if x < 0.0 and y % 2.0 == 1.0 else _INF


def _pow_dbase(x: float, c: float) -> float:
    """``d/dx x**c = c * x**(c-1)``; 0 when c == 0, and +inf at x == 0 when 0 < c < 1."""
    if c == 0.0:
        return 0.0
    if x == 0.0 and c < 1.0:
        return _INF
    return c * _pow(x, c - 1.0)


def _pow_dexp(x: float, out: float) -> float:
    """``d/dy x**y = x**y * log x``; 0 at x == 0 (y >= 0), NaN for x < 0, as PyTorch."""
    if x > 0.0:
        return out * math.log(x)
    return 0.0 if x == 0.0 else math.nan


def _as_float(data: object) -> float:
    if isinstance(data, Real) and not isinstance(data, Value):
        return float(data)
    raise TypeError(f"Value: data must be a real number, got {type(data).__name__}")


def _lift(x: object) -> Value | None:
    """A Value as is; a real number as a constant leaf Value; anything else None.

    (The operators test ``type(other) is not Value`` first, so the common case, two Values,
    makes no call.)"""
    if isinstance(x, Value):
        return x
    if type(x) is float or type(x) is int or isinstance(x, Real):  # the ABC check is slow
        return _node(float(x), (), "", ())  # a constant leaf
    return None


# --- the engine --------------------------------------------------------------------------------


class Value:
    """A scalar node of a computational graph: ``data``, ``grad`` and how it was made.

    ``_prev`` holds the inputs (children) and ``_local`` the local derivatives
    ``d self / d child``, one per input, in the same order; ``_op`` names the operation.
    """

    __slots__ = ("data", "grad", "label", "_prev", "_local", "_op")

    def __init__(
        self,
        data: float,
        _children: tuple[Value, ...] = (),
        _op: str = "",
        _local: tuple[float, ...] = (),
        label: str = "",
    ) -> None:
        self.data: float = data if type(data) is float else _as_float(data)
        self.grad: float = 0.0
        self.label = label
        self._prev = _children
        self._local = _local
        self._op = _op

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def _repr_svg_(self) -> str | None:
        """Jupyter: the graph behind this value, drawn by Graphviz (see chainrule.viz)."""
        from chainrule.viz.dot import repr_svg

        return repr_svg(self)

    def _repr_html_(self) -> str | None:
        """Jupyter without Graphviz: the graph behind this value as a table."""
        from chainrule.viz.dot import repr_html

        return repr_html(self)

    # --- binary operations: forward value, then local derivatives --------------------------

    def __add__(self, other: Value | float) -> Value:
        """x + y.      d/dx = 1,   d/dy = 1."""
        rhs = other if type(other) is Value else _lift(other)
        if rhs is None:
            return NotImplemented
        return _node(self.data + rhs.data, (self, rhs), "+", (1.0, 1.0))

    def __sub__(self, other: Value | float) -> Value:
        """x - y.      d/dx = 1,   d/dy = -1."""
        rhs = other if type(other) is Value else _lift(other)
        if rhs is None:
            return NotImplemented
        return _node(self.data - rhs.data, (self, rhs), "-", (1.0, -1.0))

    def __mul__(self, other: Value | float) -> Value:
        """x * y.      d/dx = y,   d/dy = x.

        For ``a * a`` both inputs are ``a``: backward adds ``a.data * g`` twice, i.e. ``2a g``.
        """
        rhs = other if type(other) is Value else _lift(other)
        if rhs is None:
            return NotImplemented
        return _node(self.data * rhs.data, (self, rhs), "*", (rhs.data, self.data))

    def __truediv__(self, other: Value | float) -> Value:
        """x / y.      d/dx = 1/y,   d/dy = -x/y**2 = -(x/y)/y."""
        rhs = other if type(other) is Value else _lift(other)
        if rhs is None:
            return NotImplemented
        y = rhs.data
        out = _div(self.data, y)
        return _node(out, (self, rhs), "/", (1.0 / y, -out / y))

    def __pow__(self, other: Value | float) -> Value:
        """x ** c (c a number):  d/dx = c x**(c-1).

        x ** y (y a Value):      d/dx = y x**(y-1),   d/dy = x**y log x   (x**y = e**(y log x)).
        """
        x = self.data
        if type(other) is int or type(other) is float:
            c = float(other)
            return _node(_pow(x, c), (self,), f"**{c:g}", (_pow_dbase(x, c),))
        if isinstance(other, Value):
            y = other.data
            out = _pow(x, y)
            return _node(out, (self, other), "**", (_pow_dbase(x, y), _pow_dexp(x, out)))
        if isinstance(other, Real):
            c = float(other)
            return _node(_pow(x, c), (self,), f"**{c:g}", (_pow_dbase(x, c),))
        return NotImplemented

    # reflected operators: ``2 * v``, ``1 - v``, ``2 / v``, ``2 ** v``
    __radd__ = __add__  # y + x == x + y, exactly, in floating point
    __rmul__ = __mul__  # y * x == x * y, exactly, in floating point

    def __rsub__(self, other: float) -> Value:
        lhs = _lift(other)
        if lhs is None:
            return NotImplemented
        return lhs - self

    def __rtruediv__(self, other: float) -> Value:
        lhs = _lift(other)
        if lhs is None:
            return NotImplemented
        return lhs / self

    def __rpow__(self, other: float) -> Value:
        lhs = _lift(other)
        if lhs is None:
            return NotImplemented
        return lhs**self

    # --- unary operations --------------------------------------------------------------------

    def __neg__(self) -> Value:
        """-x.         d/dx = -1."""
        return _node(-self.data, (self,), "neg", (-1.0,))

    def relu(self) -> Value:
        """max(x, 0).  d/dx = 1 if x > 0 else 0   (0 at the kink, as PyTorch)."""
        x = self.data
        if x > 0.0:
            return _node(x, (self,), "ReLU", (1.0,))
        return _node(0.0, (self,), "ReLU", (0.0,))

    def tanh(self) -> Value:
        """tanh x.     d/dx = 1 - tanh(x)**2."""
        t = math.tanh(self.data)
        return _node(t, (self,), "tanh", (1.0 - t * t,))

    def sigmoid(self) -> Value:
        """s(x) = 1 / (1 + e**-x).   d/dx = s(x) (1 - s(x)) = s(x) s(-x)   (stable form)."""
        x = self.data
        s = _sigmoid(x)
        return _node(s, (self,), "sigmoid", (s * _sigmoid(-x),))

    def exp(self) -> Value:
        """e**x.       d/dx = e**x   (inf where it overflows)."""
        out = _exp(self.data)
        return _node(out, (self,), "exp", (out,))

    def log(self) -> Value:
        """log x.      d/dx = 1/x   (x > 0)."""
        x = self.data
        return _node(_log(x), (self,), "log", (1.0 / x,))

    def sin(self) -> Value:
        """sin x.      d/dx = cos x."""
        x = self.data
        return _node(math.sin(x), (self,), "sin", (math.cos(x),))

    def cos(self) -> Value:
        """cos x.      d/dx = -sin x."""
        x = self.data
        return _node(math.cos(x), (self,), "cos", (-math.sin(x),))

    def sqrt(self) -> Value:
        """sqrt x.     d/dx = 1 / (2 sqrt x)   (x >= 0; inf at 0)."""
        r = _sqrt(self.data)
        return _node(r, (self,), "sqrt", (0.5 / r if r > 0.0 else _INF,))

    # --- reverse mode ------------------------------------------------------------------------

    def backward(self) -> None:
        """Add d self / d leaf to every leaf's ``.grad``; set every intermediate's ``.grad``.

        Reverse-mode chain rule: visit the nodes from ``self`` down, each after every node
        that uses it, and pass ``node.grad`` to each input times the local derivative.
        Leaves accumulate across calls; intermediate nodes hold this call's gradient only
        (see the module docstring).  Iterative: any depth works.
        """
        topo = topological_order(self)
        for node in topo:
            if node._prev:
                node.grad = 0.0  # intermediate: this call's gradient only
        self.grad += 1.0  # d self / d self
        for node in reversed(topo):
            children = node._prev
            if not children:
                continue  # a leaf
            g = node.grad
            local = node._local
            if len(children) == 2:  # a binary operation: x op y
                children[0].grad += local[0] * g
                children[1].grad += local[1] * g
            elif len(children) == 1:  # a unary one
                children[0].grad += local[0] * g
            else:  # a node built by hand with more inputs
                for child, d in zip(children, local, strict=True):
                    child.grad += d * g

    def zero_grad(self) -> None:
        """Set ``.grad = 0`` on this node and on every node below it (iteratively)."""
        seen = {self}
        stack = [self]
        while stack:
            node = stack.pop()
            node.grad = 0.0
            for child in node._prev:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)


_new = object.__new__


def _node(data: float, children: tuple[Value, ...], op: str, local: tuple[float, ...]) -> Value:
    """``Value(data, children, op, local)`` for a result the operations computed: the same
    node, made without the checks a user's number needs (the engine's hot path)."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v._prev = children
    v._local = local
    v._op = op
    return v


def topological_order(root: Value) -> list[Value]:
    """Every node below ``root`` (``root`` included), each one after all of its inputs.

    Depth-first search with an explicit stack instead of recursion: a node is pushed once to
    be expanded and once more, under a ``None`` marker and its inputs, to be emitted after
    them.
    """
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[Value | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # the marker: every input of the node under it is emitted
            order.append(stack.pop())  # type: ignore[arg-type]  # under a marker: a Value
        elif node not in visited:
            visited.add(node)
            stack.append(node)
            stack.append(None)
            for child in node._prev:
                if child not in visited:
                    stack.append(child)
    return order
