"""The computational graph as a PNG: Graphviz when it is installed, matplotlib otherwise.

Both draw the same picture as :func:`~chainrule.viz.dot.to_dot`: a box per value (label,
value, gradient) and an ellipse per operation, inputs on the left. The matplotlib drawing
places each item in the column of its longest path from an input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chainrule.viz.dot import _Graph, _graph, dot_available, run_dot, to_dot

__all__ = ["to_png"]


def to_png(root: Any, path: str | Path, title: str = "") -> str:
    """Write the graph behind ``root`` (a Value or a Tensor) as a PNG; returns which
    program drew it ("Graphviz" or "matplotlib")."""
    if dot_available():
        Path(path).write_bytes(run_dot(to_dot(root), "png", "to_png"))
        return "Graphviz"
    _draw(_graph(root), Path(path), title)
    return "matplotlib"


def _columns(g: _Graph) -> dict[str, int]:
    """Column of every box and operation: 1 + the column of its furthest input."""
    inputs: dict[str, list[str]] = {}
    for a, b in g.edges:
        inputs.setdefault(b, []).append(a)
    column: dict[str, int] = {}
    for key in [b.key for b in g.boxes] + [k for k, _ in g.ops]:
        stack = [key]
        while stack:  # iterative: deep graphs are fine
            k = stack[-1]
            pending = [i for i in inputs.get(k, []) if i not in column]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            column[k] = 1 + max((column[i] for i in inputs.get(k, [])), default=-1)
    return column


def _draw(g: _Graph, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    column = _columns(g)
    labels = {b.key: "\n".join([b.title, *b.fields] if b.title else b.fields) for b in g.boxes}
    labels.update(dict(g.ops))
    by_column: dict[int, list[str]] = {}
    for key in labels:
        by_column.setdefault(column[key], []).append(key)
    pos = {key: (c, -(i - (len(keys) - 1) / 2))
           for c, keys in by_column.items() for i, key in enumerate(keys)}
    width, height = len(by_column), max(len(k) for k in by_column.values())
    fig, ax = plt.subplots(figsize=(1.6 * width + 1, 1.2 * height + 1))
    for a, b in g.edges:
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops={"arrowstyle": "->", "color": "0.4", "shrinkA": 22, "shrinkB": 22})
    ops = {k for k, _ in g.ops}
    for key, (x, y) in pos.items():
        style = {"boxstyle": "circle" if key in ops else "round",
                 "facecolor": "#fff4d6" if key in ops else "#e8f0fe"}
        ax.text(x, y, labels[key], ha="center", va="center", fontsize=8, bbox=style)
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-height / 2 - 0.2, height / 2 + 0.2)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
