"""The computational graph as SVG, written directly: no Graphviz, no matplotlib.

The picture follows micrograd's ``draw_dot``: a record box per value (its label, its data,
its gradient: a grey "grad not computed yet" before ``backward()``), an ellipse per
operation, edges input -> operation -> output, left to right. The layout is layered: each
item sits in the column of its longest path from an input (as in the matplotlib drawing),
and the items of a column are ordered by the mean height of their inputs (a few sweeps of
the barycentre heuristic), which keeps edges short and mostly uncrossed.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from chainrule.viz.dot import NOT_COMPUTED, NOT_KEPT, _Graph
from chainrule.viz.graph_png import _columns

__all__ = ["draw_svg"]

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
SIZE = 12                 # font size (px)
CHAR = 0.6 * SIZE         # monospace advance width
PAD, HEIGHT = 8, 28       # cell padding, box height
COLUMN_GAP, ROW_GAP, MARGIN = 36, 18, 12
VALUE = ("#e8f0fe", "#3d5a8a")     # fill, stroke
OPERATION = ("#fff4d6", "#a8841a")
GREY = "#8a8f98"


@dataclass
class _Item:
    key: str
    cells: list[str]          # a value box: its cells; an operation: [label]
    op: bool
    constant: bool = False
    width: float = 0.0
    x: float = 0.0
    y: float = 0.0            # centre


def _cell_width(text: str) -> float:
    return len(text) * CHAR + 2 * PAD


def _items(g: _Graph) -> dict[str, _Item]:
    items = {}
    for b in g.boxes:
        cells = ([b.title] if b.title else []) + b.fields
        items[b.key] = _Item(b.key, cells, False, b.constant,
                             sum(_cell_width(c) for c in cells))
    for key, label in g.ops:
        items[key] = _Item(key, [label], True, width=max(_cell_width(label) + 8, HEIGHT + 8))
    return items


def _chains(g: _Graph, columns: dict[str, int]) -> list[list[str]]:
    """Each edge as the list of items it passes: an edge that spans several columns gets a
    point-sized dummy item in every column between, so the layout keeps it clear of the
    items there (the standard layered-drawing construction)."""
    chains = []
    for a, b in g.edges:
        chain = [a]
        for c in range(columns[a] + 1, columns[b]):
            key = f"_d{len(columns)}"
            columns[key] = c
            chain.append(key)
        chains.append([*chain, b])
    return chains


def _order(keys: list[str], columns: dict[str, int], chains: list[list[str]]
           ) -> list[list[str]]:
    """Items per column, ordered by the barycentre of their neighbours (down and up sweeps)."""
    by_column: list[list[str]] = [[] for _ in range(max(columns.values(), default=-1) + 1)]
    for key in keys:
        by_column[columns[key]].append(key)
    inputs: dict[str, list[str]] = {}
    outputs: dict[str, list[str]] = {}
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            inputs.setdefault(b, []).append(a)
            outputs.setdefault(a, []).append(b)
    for sweep in range(4):
        forward = sweep % 2 == 0
        neighbours = inputs if forward else outputs
        sequence = by_column[1:] if forward else by_column[-2::-1]
        for col in sequence:
            rank = {k: i for column in by_column for i, k in enumerate(column)}
            here = {k: i for i, k in enumerate(col)}

            def centre(k: str, rank=rank, here=here, neighbours=neighbours) -> float:
                near = [rank[n] for n in neighbours.get(k, [])]
                return sum(near) / len(near) if near else here[k]
            col.sort(key=centre)
    return by_column


def _layout(g: _Graph) -> tuple[dict[str, _Item], list[list[str]], float, float]:
    items = _items(g)
    columns = _columns(g)
    chains = _chains(g, columns)
    for key in columns:
        items.setdefault(key, _Item(key, [], False))  # the dummies: no size
    by_column = _order(list(items), columns, chains)
    heights = [len(c) * HEIGHT + (len(c) - 1) * ROW_GAP for c in by_column]
    total = max(heights, default=HEIGHT)
    x = float(MARGIN)
    for column, height in zip(by_column, heights):
        width = max(items[k].width for k in column)
        top = MARGIN + (total - height) / 2
        for i, key in enumerate(column):
            item = items[key]
            item.x = x + (width - item.width) / 2
            item.y = top + i * (HEIGHT + ROW_GAP) + HEIGHT / 2
        x += width + COLUMN_GAP
    return items, chains, x - COLUMN_GAP + MARGIN, total + 2 * MARGIN


def _text(x: float, y: float, text: str, style: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" dominant-baseline="central"'
            f'{style}>{escape(text)}</text>')


def _value(item: _Item) -> list[str]:
    fill, stroke = VALUE
    dash = ' stroke-dasharray="4 3"' if item.constant else ""
    top = item.y - HEIGHT / 2
    parts = [f'<g class="value" id="{item.key}"><title>{escape(" | ".join(item.cells))}</title>',
             f'<rect x="{item.x:.1f}" y="{top:.1f}" width="{item.width:.1f}" height="{HEIGHT}" '
             f'rx="3" fill="{fill}" stroke="{stroke}"{dash}/>']
    x = item.x
    for i, cell in enumerate(item.cells):
        w = _cell_width(cell)
        if i:
            parts.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + HEIGHT:.1f}" '
                         f'stroke="{stroke}"/>')
        pending = cell in (NOT_COMPUTED, NOT_KEPT)
        style = f' fill="{GREY}" font-style="italic" class="pending"' if pending else ""
        parts.append(_text(x + w / 2, item.y, cell, style))
        x += w
    return [*parts, "</g>"]


def _operation(item: _Item) -> list[str]:
    fill, stroke = OPERATION
    cx, rx = item.x + item.width / 2, item.width / 2
    return [f'<g class="op" id="{item.key}"><title>{escape(item.cells[0])}</title>',
            f'<ellipse cx="{cx:.1f}" cy="{item.y:.1f}" rx="{rx:.1f}" ry="{HEIGHT / 2 + 2}" '
            f'fill="{fill}" stroke="{stroke}"/>', _text(cx, item.y, item.cells[0]), "</g>"]


def _edge(chain: list[_Item]) -> str:
    """A smooth path from the first item's right side through the dummies to the last item's
    left side (horizontal at every point)."""
    points = [(chain[0].x + chain[0].width, chain[0].y), *((d.x, d.y) for d in chain[1:-1]),
              (chain[-1].x - 2, chain[-1].y)]
    path = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        bend = max((x2 - x1) / 2, 12.0)
        path.append(f"C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}")
    return (f'<path d="{" ".join(path)}" fill="none" stroke="#5f6672" '
            'marker-end="url(#arrow)"/>')


def draw_svg(g: _Graph) -> str:
    """The SVG document of a graph drawing (see :func:`chainrule.viz.to_svg`)."""
    items, chains, width, height = _layout(g)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="{SIZE}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5f6672"/>'
           "</marker></defs>",
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>']
    out += [_edge([items[k] for k in chain]) for chain in chains]
    for item in items.values():
        if item.cells:
            out += _operation(item) if item.op else _value(item)
    return "\n".join([*out, "</svg>"]) + "\n"
