"""``chainrule graph "EXPR" --at x1=1 x2=2 x3=-1 -o graph.svg``: exercise 12 by machine.

Parses a scalar expression safely (:mod:`chainrule.expr`), evaluates it on
:class:`~chainrule.scalar.Value` inputs, runs the backward pass, prints every
node of the computational graph with its forward value and its adjoint
(d f / d node), checks the inputs' adjoints against central differences, and
writes the picture: SVG drawn by chainrule itself (no Graphviz needed), or the
DOT text for a ``.dot`` file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from chainrule.expr import ExpressionError, parse
from chainrule.scalar import Value
from chainrule.viz.dot import to_dot, to_svg, topological

__all__ = ["add_graph_parser", "graph_command"]


def add_graph_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``graph`` subcommand (its handler is ``args.run``)."""
    p = subparsers.add_parser(
        "graph", help="draw the computational graph of an expression, with its adjoints",
        description="Parse a scalar expression, print the forward value and the adjoint of "
                    "every node of its computational graph, and draw the graph.")
    p.add_argument("expr", help='the expression, e.g. "(x1 + x2) * (x2 + x3) * (x1 + x3)"; '
                                "+ - * / **, exp log sin cos tanh sigmoid relu sqrt, pi, e")
    p.add_argument("--at", nargs="*", default=[], metavar="NAME=VALUE",
                   help="the point, e.g. --at x1=1 x2=2 x3=-1")
    p.add_argument("-o", "--output", default=None,
                   help="write the graph: .svg (drawn by chainrule, no Graphviz needed) or .dot")
    p.set_defaults(run=graph_command)
    return p


def _point(items: list[str], variables: tuple[str, ...]) -> dict[str, float]:
    point: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--at: expected NAME=VALUE, got {item!r}")
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--at: {name.strip()} = {value!r} is not a number") from None
    missing = [v for v in variables if v not in point]
    unknown = [v for v in point if v not in variables]
    if missing:
        raise ValueError(f"--at: no value for {', '.join(missing)} (the expression uses "
                         f"{', '.join(variables)})")
    if unknown:
        raise ValueError(f"--at: the expression does not use {', '.join(unknown)}")
    return point


def _how(v: Value, names: dict[int, str]) -> str:
    """``v1 * v2``, ``v3 **2``, ``sigmoid(v2)``: a node in terms of its inputs' names."""
    args = [names[id(c)] for c in v._prev]
    if v._op in ("+", "-", "*", "/", "**") and len(args) == 2:
        return f"{args[0]} {v._op} {args[1]}"
    if v._op.startswith("**"):
        return f"{args[0]} ** {v._op[2:]}"
    return f"{v._op}({', '.join(args)})"


def _table(root: Value, texts: dict[int, str]) -> list[str]:
    """One row per node: name, how it is computed, the expression, value, adjoint."""
    order = topological(root, lambda v: v._prev)
    names: dict[int, str] = {}
    k = 0
    for v in order:
        if v.label:
            names[id(v)] = v.label
        elif not v._prev:
            names[id(v)] = f"{v.data:g}"
        else:
            k += 1
            names[id(v)] = "f" if v is root else f"v{k}"
            v.label = names[id(v)]
    head = ("node", "computed as", "expression", "value", "adjoint df/dnode")
    rows = []
    for v in order:
        if v._prev:
            how, text = _how(v, names), texts.get(id(v), "")
        else:
            how, text = ("input" if id(v) in texts else "constant"), ""
        rows.append((names[id(v)], how, text, f"{v.data:.6g}", f"{v.grad:.6g}"))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
    return lines


def _central(expr: Any, point: dict[str, float], name: str, h: float = 1e-6) -> float:
    step = h * max(1.0, abs(point[name]))
    up = expr.evaluate({**point, name: point[name] + step})
    down = expr.evaluate({**point, name: point[name] - step})
    return (up - down) / (2 * step)


def _write_picture(root: Value, output: str) -> str:
    path = Path(output)
    if path.suffix == ".dot":
        path.write_text(to_dot(root))
        return f"wrote {path}"
    if path.suffix != ".svg":
        raise ValueError(f"-o: write a .svg or a .dot file, got {path.name!r}")
    to_svg(root, path)
    return f"wrote {path}"


def graph_command(args: argparse.Namespace) -> int:
    """Run ``chainrule graph``; returns the exit status (raises ValueError on bad input)."""
    try:
        expr = parse(args.expr)
        point = _point(list(args.at), expr.variables)
        inputs = {name: Value(x, label=name) for name, x in point.items()}
        trace: list[tuple[str, Any]] = []
        f = expr.evaluate(inputs, trace)
    except ExpressionError as e:
        raise ValueError(str(e)) from None
    if not isinstance(f, Value):
        f = Value(f)
    f.backward()
    texts = {id(v): text for text, v in trace if isinstance(v, Value)}
    texts.update({id(v): "input" for v in inputs.values()})
    at = ", ".join(f"{n} = {x:g}" for n, x in point.items())
    print(f"f = {expr.source}" + (f"  at  {at}" if at else ""))
    print()
    print("\n".join(_table(f, texts)))
    if inputs:
        print()
        print("gradient, checked against central differences:")
        for name, v in inputs.items():
            try:
                fd = _central(expr, point, name)
            except ExpressionError as e:  # the function is not defined on both sides
                print(f"  df/d{name} = {v.grad:.6g}   central difference undefined ({e})")
                continue
            agree = math.isclose(v.grad, fd, rel_tol=1e-5, abs_tol=1e-6)
            print(f"  df/d{name} = {v.grad:.6g}   central difference {fd:.6g}   "
                  f"{'ok' if agree else 'DIFFERENT'}")
    if args.output:
        print()
        print(_write_picture(f, args.output))
    return 0
