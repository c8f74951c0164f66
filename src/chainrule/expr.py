"""A safe parser for scalar expressions like ``(x1 + x2) * (x2 + x3) * (x1 + x3)``.

Used by ``chainrule graph``. The text is parsed by Python's ``ast`` module and
then *checked*, node by node, against a fixed grammar; it is never given to
``eval``. Allowed:

* numbers (``2``, ``0.5``, ``1e-3``) and the constants ``pi`` and ``e``;
* variables: any other plain name (``x1``, ``w``), given values when evaluated;
* ``+ - * / **`` and unary ``-`` / ``+``;
* calls of one argument to ``exp log sin cos tanh sigmoid relu sqrt``.

Refused, with a message naming the piece of text at fault: attribute access
(``x.__class__``), subscripts, calls of anything else, keyword arguments,
strings and other literals, comparisons, lambdas, comprehensions, and
exponents that are constant and larger than :data:`MAX_EXPONENT` in size
(``9 ** 9 ** 9``); also expressions over :data:`MAX_LENGTH` characters,
:data:`MAX_NODES` parts or :data:`MAX_DEPTH` levels of nesting.

An :class:`Expression` evaluates on anything with the operators and those
methods: ``Value`` (to draw the graph), ``Tensor``, or plain floats (where
the functions come from :mod:`math`).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_EXPONENT", "Expression", "ExpressionError", "parse"]

MAX_EXPONENT = 100.0
MAX_LENGTH = 2000
MAX_NODES = 500
MAX_DEPTH = 100

CONSTANTS = {"pi": math.pi, "e": math.e}


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


FUNCTIONS: dict[str, Callable[[float], float]] = {
    "exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
    "sigmoid": _sigmoid, "relu": lambda x: max(x, 0.0), "sqrt": math.sqrt,
}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: lambda a: a}


class ExpressionError(ValueError):
    """The expression is malformed or uses something outside the allowed grammar."""


class Expression:
    """A checked expression: ``variables`` in order of first use; call
    :meth:`evaluate` with a value for each."""

    def __init__(self, source: str, tree: ast.Expression) -> None:
        self.source = source
        self._tree = tree
        uses = sorted((n.col_offset, n.id) for n in _variable_names(tree))
        self.variables = tuple(dict.fromkeys(name for _, name in uses))

    def __repr__(self) -> str:
        return f"Expression({self.source!r}, variables={self.variables})"

    def evaluate(self, values: dict[str, Any],
                 trace: list[tuple[str, Any]] | None = None) -> Any:
        """The value of the expression. ``trace``, if given, receives ``(text, result)``
        for every operation, in evaluation order (inputs before results)."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ExpressionError(f"no value given for {', '.join(missing)} in {self.source!r}")
        return self._eval(self._tree.body, values, trace)

    def _eval(self, node: ast.AST, values: dict[str, Any], trace: list | None) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value)  # type: ignore[arg-type]  # a number: the grammar's check
        if isinstance(node, ast.Name):
            return CONSTANTS[node.id] if node.id in CONSTANTS else values[node.id]
        if isinstance(node, ast.UnaryOp):
            result = _UNARY[type(node.op)](self._eval(node.operand, values, trace))
        elif isinstance(node, ast.BinOp):
            left = self._eval(node.left, values, trace)
            right = self._eval(node.right, values, trace)
            result = _apply(_BINARY[type(node.op)], left, right, self._text(node))
        else:  # a checked call
            assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            name = node.func.id
            arg = self._eval(node.args[0], values, trace)
            method = getattr(arg, name, None)
            result = method() if callable(method) else _apply(FUNCTIONS[name], arg, None,
                                                               self._text(node))
        if trace is not None:
            trace.append((self._text(node), result))
        return result

    def _text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)


def _variable_names(tree: ast.AST) -> list[ast.Name]:
    """The Name nodes that are variables (not constants, not called functions)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in CONSTANTS
            and id(n) not in called]


def _apply(fn: Callable, a: Any, b: Any, text: str) -> Any:
    try:
        return fn(a) if b is None else fn(a, b)
    except (ZeroDivisionError, OverflowError, ValueError) as e:
        raise ExpressionError(f"{text}: {e}") from None


def parse(source: str) -> Expression:
    """Parse and check ``source``; raises :class:`ExpressionError` on anything outside
    the grammar (see the module docstring)."""
    if not isinstance(source, str):
        raise ExpressionError(f"expected the expression as a string, got {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression too long ({len(source)} characters, at most "
                              f"{MAX_LENGTH})")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"not a valid expression: {e.msg} at column {e.offset} in "
                              f"{_short(source)!r}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression too deeply nested") from None
    checker = _Checker(source.strip())
    checker.visit(tree.body)
    return Expression(source.strip(), tree)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _Checker:
    """Walks the tree and refuses every node outside the grammar."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0

    def _refuse(self, node: ast.AST, why: str) -> ExpressionError:
        text = ast.get_source_segment(self.source, node) or type(node).__name__
        return ExpressionError(f"{why}: {_short(text)!r}")

    def visit(self, node: ast.AST) -> None:
        stack = [(node, 1)]
        while stack:
            n, depth = stack.pop()
            self.count += 1
            if self.count > MAX_NODES:
                raise ExpressionError(f"expression too large (more than {MAX_NODES} parts)")
            if depth > MAX_DEPTH:
                raise ExpressionError(f"expression too deeply nested (more than {MAX_DEPTH} "
                                      "levels)")
            stack.extend((c, depth + 1) for c in self._children(n))

    def _children(self, n: ast.AST) -> list[ast.AST]:
        if isinstance(n, ast.Constant):
            self._number(n)
            return []
        if isinstance(n, ast.Name):
            return []
        if isinstance(n, ast.UnaryOp) and type(n.op) in _UNARY:
            return [n.operand]
        if isinstance(n, ast.BinOp) and type(n.op) in _BINARY:
            if isinstance(n.op, ast.Pow):
                self._exponent(n)
            return [n.left, n.right]
        if isinstance(n, ast.Call):
            return [self._call(n)]
        if isinstance(n, ast.Attribute):
            raise self._refuse(n, "attribute access is not allowed")
        if isinstance(n, ast.Subscript):
            raise self._refuse(n, "indexing is not allowed")
        if isinstance(n, ast.BinOp | ast.UnaryOp):
            raise self._refuse(n, f"operator {type(n.op).__name__} is not allowed "
                                  "(only + - * / ** and unary -)")
        raise self._refuse(n, f"{type(n).__name__} is not allowed in an expression")

    def _number(self, n: ast.Constant) -> None:
        if isinstance(n.value, bool) or not isinstance(n.value, int | float):
            raise self._refuse(n, "only real numbers are allowed as literals")
        try:
            float(n.value)
        except OverflowError:
            raise self._refuse(n, "number too large") from None

    def _call(self, n: ast.Call) -> ast.AST:
        if not isinstance(n.func, ast.Name):
            raise self._refuse(n, "only calls of the functions "
                                  f"{', '.join(FUNCTIONS)} are allowed")
        if n.func.id not in FUNCTIONS:
            raise self._refuse(n, f"function {n.func.id!r} is not allowed (allowed: "
                                  f"{', '.join(FUNCTIONS)})")
        if n.keywords or len(n.args) != 1 or isinstance(n.args[0], ast.Starred):
            raise self._refuse(n, f"{n.func.id} takes exactly one argument")
        return n.args[0]

    def _exponent(self, n: ast.BinOp) -> None:
        """A constant exponent must be small: 9 ** 9 ** 9 is refused before any work."""
        if _variable_names(n.right):
            return  # depends on a variable: evaluated on floats, it can only overflow to inf
        _Checker(self.source).visit(n.right)  # checked before it is evaluated (on floats)
        try:
            value = Expression(self.source, ast.Expression(n.right)).evaluate({})
        except ExpressionError:
            raise self._refuse(n, "exponent can't be evaluated") from None
        if abs(value) > MAX_EXPONENT:
            raise self._refuse(n, f"exponent {value:.4g} is too large (at most {MAX_EXPONENT:g}"
                                  " in size)")
