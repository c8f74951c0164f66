"""Shows an exercise's results in a documentation page (the workbook pages import it).

``show(n)`` runs exercise ``n`` of :mod:`chainrule.exercises` (``fast=True``, as
``chainrule exercises --fast``) and displays its quantities, its checks (each with the
computed value, the reference and where the reference comes from), its notes, and its
figures (written as ``chainrule exercises N --figures DIR`` writes them).
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

from IPython.display import HTML, Image, display

from chainrule.exercises import all_exercises
from chainrule.exercises.command import _short

COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "skip": "#9a6700"}
STYLE = ("<style>.cr-ex td, .cr-ex th {padding: 2px 8px; text-align: left; "
         "vertical-align: top; font-size: 0.85em} .cr-ex {border-collapse: collapse; "
         "margin-bottom: 0.8em}</style>")


def _cell(value: Any) -> str:
    return f"<td><code>{html.escape(_short(value, 70))}</code></td>"


def show(number: int) -> None:
    """Run exercise ``number`` and display its results and figures."""
    exercise = all_exercises()[number]
    result = exercise.run(fast=True)
    counts = result.counts()
    parts = [STYLE, f"<p><b>{counts['pass']} passed, {counts['fail']} failed, "
                    f"{counts['skip']} skipped</b></p>"]
    if result.quantities:
        rows = "".join(f"<tr><td>{html.escape(k)}</td>{_cell(v)}</tr>"
                       for k, v in result.quantities.items())
        parts.append(f"<table class='cr-ex'><tr><th>quantity</th><th>value</th></tr>{rows}"
                     "</table>")
    rows = []
    for c in result.checks:
        status = f"<td style='color:{COLOURS[c.status]}'><b>{c.status}</b></td>"
        detail = html.escape(c.reason or c.source)
        rows.append(f"<tr>{status}<td>{html.escape(c.name)}</td>{_cell(c.computed)}"
                    f"{_cell(c.reference)}<td>{detail}</td></tr>")
    if rows:
        parts.append("<table class='cr-ex'><tr><th></th><th>check</th><th>computed</th>"
                     f"<th>reference</th><th>reference from</th></tr>{''.join(rows)}</table>")
    if result.notes:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
        parts.append(f"<ul>{notes}</ul>")
    display(HTML("".join(parts)))
    if result.figures:
        with tempfile.TemporaryDirectory() as folder:
            for path in result.write_figures(Path(folder)):
                display(Image(filename=str(path), width=560))
