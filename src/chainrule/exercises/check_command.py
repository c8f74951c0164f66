"""``chainrule check``: list the checkable exercises, print a template, judge a reader's file."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

__all__ = ["add_parser"]

HELP = ("judge YOUR answers to the exercises (chainrule.check, the Python module, is something "
        "else: gradient checking of chainrule's own derivatives)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check", help=HELP,
        description="Judge the reader's own answers to the exercises of section 3.16: "
                    "without arguments, list what can be checked; with N --template, print a "
                    "file to fill in; with N FILE, test each function of FILE against "
                    "chainrule's reference on the exercise's point and random inputs. Exit "
                    "status: 0 all pass, 1 something fails or is not done, 2 usage error. "
                    "(Not the chainrule.check module, which does gradient checking of "
                    "chainrule's own derivatives.)")
    p.add_argument("number", nargs="?", type=int, help="exercise number (1-35)")
    p.add_argument("file", nargs="?", type=Path, help="your Python file with the functions")
    p.add_argument("--template", action="store_true", help="print the file to fill in")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="with --template: write it to FILE (never overwrites)")
    p.add_argument("--json", action="store_true", help="print machine-readable results")
    p.add_argument("--seed", type=int, help="random inputs (default: fresh each run, printed)")
    p.add_argument("--strict", action="store_true",
                   help="refuse a file that imports an autodiff library (chainrule, torch, jax, "
                        "autograd) where the exercise asks for a derivation by hand")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.number is None:
        if args.file or args.template or args.output or args.seed is not None or args.strict:
            raise ValueError("give an exercise number (`chainrule check` lists them)")
        return _list(args.json)
    if args.output is not None and not args.template:
        raise ValueError("-o goes with --template")
    if args.template:
        return _template(args)
    if args.file is None:
        raise ValueError(f"give your file (chainrule check {args.number} FILE) or ask for a "
                         f"template (chainrule check {args.number} --template)")
    return _check(args)


def _list(as_json: bool) -> int:
    from chainrule.exercises.checker import reader_specs
    from chainrule.exercises.registry import all_exercises

    specs, reasons = reader_specs()
    exercises = all_exercises()
    if as_json:
        print(json.dumps({n: {"title": ex.title, "checkable": n in specs,
                              "functions": [f"{t.name}({t.params})" for t in specs[n].tasks]
                              if n in specs else [], "reason": reasons.get(n, "")}
                          for n, ex in exercises.items()}, indent=2))
        return 0
    print(f"{len(specs)} of {len(exercises)} exercises can be checked. Write the functions, "
          "then `chainrule check N FILE`.\n")
    for n in exercises:
        if n in specs:
            names = ", ".join(f"{t.name}({t.params})" for t in specs[n].tasks)
            print(f"  {n:2d}  {names}")
            print(f"      {specs[n].summary}")
        else:
            print(f"  {n:2d}  not checkable: {reasons[n]}")
    print("\nStart from a template: chainrule check N --template -o exNN.py")
    return 0


def _template(args: argparse.Namespace) -> int:
    from chainrule.exercises.templates import template

    if args.file is not None:
        raise ValueError("--template takes no FILE; write it with -o FILE")
    if args.output is None:
        print(template(args.number), end="")
        return 0
    if args.output.exists():
        raise ValueError(f"{args.output} exists (it may hold your answers): remove it or "
                         "choose another name")
    args.output.write_text(template(args.number, args.output.name))
    print(f"wrote {args.output}; fill it in, then run: chainrule check {args.number} "
          f"{args.output}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from chainrule.exercises.checker import ReaderError, check_file

    try:  # the reader's prints must not mix into the JSON
        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            result = check_file(args.number, args.file, seed=args.seed, strict=args.strict)
    except ReaderError as e:
        if args.json:
            print(json.dumps({"exercise": args.number, "file": str(args.file), "ok": False,
                              "error": str(e)}, indent=2))
        else:
            print(f"exercise {args.number}: cannot use {args.file}:\n{e}")
        return 1
    print(json.dumps(result.to_json(), indent=2) if args.json else result)
    return 0 if result.ok else 1
