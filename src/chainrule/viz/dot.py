"""Computational graphs as Graphviz DOT text, SVG, and inline Jupyter pictures.

``to_dot(root)`` draws the graph behind a scalar :class:`~chainrule.scalar.Value`
or a :class:`~chainrule.tensor.Tensor`, written by chainrule itself (no Graphviz
Python package needed): one box per value (its label or name, its shape, its
value when small, its gradient when known) and one ellipse per operation, with
edges input -> operation -> output, as in the chapter's figures::

    digraph chainrule {
      rankdir=LR;
      v0 [shape=record, label="{ x1 | data 1 | grad 3 }"];
      v2 [shape=record, label="{ data 3 | grad 0 }"];
      op2 [shape=ellipse, label="+"];
      v0 -> op2;
      op2 -> v2;
      ...
    }

``to_svg`` draws the same boxes and ellipses as SVG, written by chainrule
(:mod:`chainrule.viz.svg`; Graphviz is not needed). ``repr_svg`` backs the
``_repr_svg_`` methods of ``Value`` and ``Tensor``, so Jupyter shows the picture
everywhere. A gradient that ``backward()`` has not computed yet shows as "grad not
computed yet". ``run_dot`` runs Graphviz's ``dot`` for ``to_png`` when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GraphvizMissing", "dot_available", "repr_html", "repr_svg", "run_dot", "to_dot",
           "to_svg"]

MAX_VALUES = 6       # tensors with at most this many elements show their values
INLINE_NODES = 60    # larger graphs are not drawn inline in Jupyter
NOT_COMPUTED = "grad not computed yet"   # before backward()
NOT_KEPT = "grad not kept"               # an intermediate Tensor after backward (as PyTorch)


class GraphvizMissing(RuntimeError):
    """The ``dot`` program of Graphviz is not installed."""


@dataclass
class _Box:
    key: str
    title: str
    fields: list[str]
    constant: bool = False


@dataclass
class _Graph:
    boxes: list[_Box] = field(default_factory=list)
    ops: list[tuple[str, str]] = field(default_factory=list)   # (key, label)
    edges: list[tuple[str, str]] = field(default_factory=list)


def _fmt(x: Any) -> str:
    arr = np.asarray(x)
    if arr.ndim == 0:
        return f"{arr.item():.4g}"
    return np.array2string(arr, precision=4, separator=", ", max_line_width=60)


def topological(root: Any, inputs: Callable[[Any], list], limit: int | None = None) -> list:
    """Every value behind ``root``, inputs before the values computed from them
    (iterative depth-first post-order); stops early past ``limit`` values."""
    order: list = []
    done: set[int] = set()
    stack = [(root, False)]
    while stack and (limit is None or len(order) <= limit):
        v, expanded = stack.pop()
        if id(v) in done:
            continue
        if expanded:
            done.add(id(v))
            order.append(v)
            continue
        stack.append((v, True))
        stack.extend((c, False) for c in reversed(inputs(v)) if id(c) not in done)
    return order


def _value_graph(root: Any, limit: int | None) -> _Graph | None:
    """Boxes and ops of a scalar Value graph (``_prev``, ``_op``, ``data``, ``grad``).

    backward() sets the output's own gradient to 1, so an output with inputs and gradient 0
    has not been through backward yet: every gradient then shows as not computed."""
    order = topological(root, lambda v: list(v._prev), limit)
    if limit is not None and len(order) > limit:
        return None
    keys = {id(v): f"v{k}" for k, v in enumerate(order)}
    computed = root.grad != 0.0 or not root._prev
    g = _Graph()
    for v in order:
        key = keys[id(v)]
        title = getattr(v, "label", "") or ""
        grad = f"grad {_fmt(v.grad)}" if computed else NOT_COMPUTED
        g.boxes.append(_Box(key, title, [f"data {_fmt(v.data)}", grad]))
        if v._prev:
            op = "op" + key[1:]
            g.ops.append((op, v._op or "?"))
            g.edges.extend((keys[id(c)], op) for c in v._prev)
            g.edges.append((op, key))
    return g


def _tensor_graph(root: Any, limit: int | None) -> _Graph | None:
    """Boxes and ops of a Tensor graph (``_node.prim.name``, ``_node.args``)."""
    from chainrule.tensor import Tensor

    def inputs(t: Tensor) -> list:
        node = t._node
        if node is None or node.args is None:
            return []
        return [a for a in node.args if isinstance(a, Tensor)]

    order = topological(root, inputs, limit)
    if limit is not None and len(order) > limit:
        return None
    keys = {id(t): f"v{k}" for k, t in enumerate(order)}
    missing = NOT_KEPT if any(t.grad is not None for t in order) else NOT_COMPUTED
    g = _Graph()
    for t in order:
        key = keys[id(t)]
        node = t._node
        fields = [f"shape {t.shape}" if t.ndim else "scalar"]
        if t.size <= MAX_VALUES:
            fields.append(f"data {_fmt(t._data)}")
        if t.grad is not None:
            grad = t.grad._data if isinstance(t.grad, Tensor) else t.grad
            fields.append(f"grad {_fmt(grad)}" if np.size(grad) <= MAX_VALUES else
                          f"grad norm {np.linalg.norm(grad):.4g}")
        elif t.requires_grad:
            fields.append(NOT_COMPUTED if node is None else missing)
        g.boxes.append(_Box(key, t.name or "", fields, constant=not t.requires_grad))
        if node is not None:
            op = "op" + key[1:]
            freed = node.args is None
            g.ops.append((op, node.prim.name + (" (graph freed by backward)" if freed else "")))
            if not freed:
                g.edges.extend((keys[id(a)], op) for a in node.args if isinstance(a, Tensor))
            g.edges.append((op, key))
    return g


def _graph(root: Any) -> _Graph:
    """The drawing of the whole graph behind ``root``."""
    g = _graph_within(root, None)
    assert g is not None  # without a limit there is always a drawing
    return g


def _graph_within(root: Any, limit: int | None) -> _Graph | None:
    """The drawing of the graph behind ``root``; None if it has more than ``limit`` values."""
    from chainrule.scalar import Value
    from chainrule.tensor import Tensor

    if isinstance(root, Value):
        return _value_graph(root, limit)
    if isinstance(root, Tensor):
        return _tensor_graph(root, limit)
    raise TypeError(f"to_dot: expected a Value or a Tensor, got {type(root).__name__}")


def _record(text: str) -> str:
    """Escape text for a Graphviz record label."""
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\n")


def to_dot(root: Any, rankdir: str = "LR") -> str:
    """The computational graph behind ``root`` (a Value or a Tensor) as DOT text."""
    g = _graph(root)
    lines = ["digraph chainrule {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];']
    for b in g.boxes:
        parts = ([_record(b.title)] if b.title else []) + [_record(f) for f in b.fields]
        style = ", style=dashed" if b.constant else ""
        lines.append(f'  {b.key} [shape=record{style}, label="{{ {" | ".join(parts)} }}"];')
    for key, label in g.ops:
        lines.append(f'  {key} [shape=ellipse, label="{_record(label)}"];')
    lines.extend(f"  {a} -> {b};" for a, b in g.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def run_dot(text: str, fmt: str, op: str) -> bytes:
    """Graphviz ``dot -T<fmt>`` on DOT ``text``. Raises :class:`GraphvizMissing` when
    ``dot`` is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            f"{op}: the Graphviz 'dot' program is not installed (apt-get install graphviz, "
            "brew install graphviz or conda install graphviz); to_dot(root) gives the DOT text "
            "without it, which any Graphviz viewer (or https://dreampuf.github.io/GraphvizOnline)"
            " can draw")
    done = subprocess.run([exe, f"-T{fmt}"], input=text.encode(), capture_output=True,
                          check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{op}: dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def to_svg(root: Any, path: str | Path | None = None) -> str:
    """The graph as SVG text, drawn by chainrule itself (:mod:`chainrule.viz.svg`, no
    Graphviz needed); also written to ``path`` if given."""
    from chainrule.viz.svg import draw_svg  # svg.py builds on this module's drawing

    svg = draw_svg(_graph(root))
    if path is not None:
        Path(path).write_text(svg)
    return svg


def _drawable(root: Any) -> _Graph | None:
    """The graph of ``root`` if it is worth drawing inline (has operations, not huge)."""
    g = _graph_within(root, INLINE_NODES // 2)
    return g if g is not None and g.ops else None


def repr_svg(root: Any) -> str | None:
    """Jupyter's ``_repr_svg_``: the picture, or None (a leaf, or too big to read inline)."""
    from chainrule.viz.svg import draw_svg

    g = _drawable(root)
    return None if g is None else draw_svg(g)


def repr_html(root: Any) -> str | None:
    """Jupyter's ``_repr_html_``: None, so that Jupyter shows the SVG (HTML would win)."""
    return None
