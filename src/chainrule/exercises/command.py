"""``chainrule exercises``: list, run one, run all, as text or JSON, with figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from chainrule.exercises.result import Result


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exercises", help="work the chapter's exercises (section 3.16)",
                       description="Without arguments, list the 35 exercises. With a number, "
                                   "run that one and print its results and checks.")
    p.add_argument("number", nargs="?", type=int, help="exercise number (1-35)")
    p.add_argument("--all", action="store_true", help="run every exercise, with a summary")
    p.add_argument("--json", action="store_true", help="print machine-readable results")
    p.add_argument("--figures", type=Path, metavar="DIR", help="write figures as PNG into DIR")
    p.add_argument("--fast", action="store_true", help="keep the heavy ones (16, 33, 35) short")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from chainrule.exercises import all_exercises

    EXERCISES = all_exercises()  # noqa: N806
    if args.number is None and not args.all:
        return _list(EXERCISES, args.json)
    if args.number is not None and args.number not in EXERCISES:
        raise ValueError(f"no exercise {args.number}: choose 1-{max(EXERCISES)}")
    numbers = sorted(EXERCISES) if args.all else [args.number]
    results = []
    for n in numbers:
        result = EXERCISES[n].run(fast=args.fast)
        if args.figures is not None and result.figures:
            written = result.write_figures(args.figures)
            result.notes.append("figures: " + ", ".join(str(p) for p in written))
        results.append(result)
        if not args.json:
            print(_format(result, EXERCISES[n]))
    if args.json:
        print(json.dumps({str(r.number): r.to_json() for r in results}, indent=2))
    elif args.all:
        print(_summary(results))
    return 1 if any(r.failed for r in results) else 0


def _stars(k: int) -> str:
    return "*" * k if k else ""


def _list(exercises: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps({n: {"group": e.group, "stars": e.stars, "title": e.title}
                          for n, e in sorted(exercises.items())}, indent=2))
        return 0
    group = None
    for n, e in sorted(exercises.items()):
        if e.group != group:
            group = e.group
            print(f"\n{group}")
        print(f"  {n:2d} {_stars(e.stars):2s} {e.title}")
    print("\nRun one with `chainrule exercises N`, all with `chainrule exercises --all`.")
    return 0


def _short(value: object, width: int = 60) -> str:
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, np.ndarray | np.generic):
        text = np.array2string(np.asarray(value), precision=6, separator=", ")
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _format(result: Result, ex) -> str:
    stars = f" {_stars(ex.stars)}" if ex.stars else ""
    lines = [f"\nExercise {result.number}{stars}: {result.title}  [{ex.group}]"]
    doc = (ex.solve.__doc__ or "").strip()
    if doc:
        lines += ["", *("  " + line.strip() for line in doc.splitlines())]
    if result.quantities:
        lines.append("\n  quantities:")
        lines += [f"    {k} = {_short(v, 90)}" for k, v in result.quantities.items()]
    if result.checks:
        lines.append("\n  checks:")
        for c in result.checks:
            if c.status == "skip":
                lines.append(f"    [skip] {c.name}: {c.reason}")
            else:
                lines.append(f"    [{c.status}] {c.name}: computed {_short(c.computed, 40)} vs "
                             f"{_short(c.reference, 40)} ({c.source}{', ' if c.tolerance else ''}"
                             f"{c.tolerance})")
    if result.notes:
        lines.append("\n  notes:")
        lines += [f"    - {note}" for note in result.notes]
    return "\n".join(lines)


def _summary(results: list[Result]) -> str:
    rows = ["\n  #  pass fail skip  title", "  -- ---- ---- ----  -----"]
    totals = {"pass": 0, "fail": 0, "skip": 0}
    for r in results:
        c = r.counts()
        for k in totals:
            totals[k] += c[k]
        rows.append(f"  {r.number:2d} {c['pass']:4d} {c['fail']:4d} {c['skip']:4d}  {r.title}")
    rows.append(f"\n  total: {totals['pass']} passed, {totals['fail']} failed, "
                f"{totals['skip']} skipped across {len(results)} exercises")
    skips = [f"    ex {r.number}: {c.name}: {c.reason}" for r in results for c in r.checks
             if c.status == "skip"]
    if skips:
        rows += ["  skipped checks:", *skips]
    return "\n".join(rows)

