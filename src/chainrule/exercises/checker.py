"""Judge a reader's own answers: ``chainrule check N FILE`` and ``chainrule.exercises.check``.

(This is the reader's checker. :mod:`chainrule.check` is something else: gradient checking
of chainrule's own derivatives against finite differences and PyTorch.)

The reader's file is compiled and run here with its own name as the file name, so a syntax
error or an exception in it is reported with the reader's file and line, and never with a
chainrule traceback. Each function is then called on the exercise's own point and on
random inputs (``seed``) and compared with chainrule's reference; the first input where it
differs is reported with the expected and the received value.
"""

from __future__ import annotations

import ast
import contextlib
import html
import inspect
import secrets
import sys
import traceback
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from chainrule.exercises.reader import NOT_CHECKABLE, SPECS, ReaderSpec, Task, fmt

__all__ = ["AUTODIFF_LIBRARIES", "CheckResult", "FunctionResult", "ReaderError", "check",
           "check_file", "load_file", "reader_specs"]

AUTODIFF_LIBRARIES = ("chainrule", "torch", "jax", "autograd")
_SPEC_MODULES = ("reader_calculus", "reader_graphs", "reader_identities", "reader_descent",
                 "reader_numerics")

Status = Literal["pass", "fail", "not done", "error", "missing"]


class ReaderError(Exception):
    """The reader's file cannot be used (a syntax error, an error while importing it, or an
    autodiff import refused by ``--strict``); the message points into the reader's file."""


def reader_specs() -> tuple[dict[int, ReaderSpec], dict[int, str]]:
    """Every checkable exercise's spec, and the reason for each one that is not."""
    import importlib

    for name in _SPEC_MODULES:
        importlib.import_module(f"chainrule.exercises.{name}")
    return dict(sorted(SPECS.items())), dict(sorted(NOT_CHECKABLE.items()))


def spec_for(number: int) -> ReaderSpec:
    """The spec of exercise ``number``; ValueError (a usage error) when there is none."""
    specs, reasons = reader_specs()
    if number in reasons:
        raise ValueError(f"exercise {number} cannot be checked: {reasons[number]}")
    if number not in specs:
        raise ValueError(f"no exercise {number}: choose 1-35 (`chainrule check` lists them)")
    return specs[number]


# --- the reader's code --------------------------------------------------------------------------


def _reader_frames(error: BaseException, files: Iterable[str]) -> str:
    """The traceback of ``error`` cut to the frames in the reader's files."""
    files = set(files)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in files]
    lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}' + (f"\n    {f.line}"
             if f.line else "") for f in frames]
    return "\n".join([*lines, f"{type(error).__name__}: {error}"])


def load_file(path: str | Path) -> types.ModuleType:
    """Run the reader's file as a module; ReaderError (with the reader's line) on failure."""
    path = Path(path)
    source = path.read_text()
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as e:
        line = f"\n    {e.text.rstrip()}" if e.text else ""
        raise ReaderError(f'  File "{path}", line {e.lineno}{line}\n'
                          f"{type(e).__name__}: {e.msg}") from None
    name = f"_chainrule_reader_{abs(hash(str(path.resolve())))}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module  # dataclasses and pickling in the reader's file need it
    try:
        exec(code, module.__dict__)
    except Exception as e:  # the reader's own error while importing their file
        raise ReaderError(_reader_frames(e, [str(path)])) from None
    finally:
        sys.path.remove(folder)
        sys.modules.pop(name, None)
    return module


def autodiff_imports(source: str, filename: str = "<reader>") -> list[tuple[int, str]]:
    """(line, library) for every import of an autodiff library in ``source`` (by ``ast``, the
    file is not run): ``import torch``, ``from jax import grad``, ``__import__("autograd")``,
    ``importlib.import_module("chainrule.functional")``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and (
                  (isinstance(node.func, ast.Name) and node.func.id == "__import__") or
                  (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            names = [node.args[0].value]
        line = getattr(node, "lineno", 0)
        found += [(line, n) for n in names if n.split(".")[0] in AUTODIFF_LIBRARIES]
    return found


def _refuse_autodiff(spec: ReaderSpec, sources: Mapping[str, str]) -> None:
    for filename, source in sources.items():
        found = autodiff_imports(source, filename)
        if found:
            where = ", ".join(f"{lib} (line {line})" for line, lib in found)
            raise ReaderError(f"--strict: exercise {spec.number} asks for your own derivation or "
                              f"code, but {filename} imports an autodiff library: {where}")


# --- results ------------------------------------------------------------------------------------


@dataclass
class FunctionResult:
    """The verdict on one function of the reader's file."""

    name: str
    status: Status
    cases: int = 0
    passed: int = 0
    message: str = ""
    input: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "cases": self.cases,
                "passed": self.passed, "input": self.input, "message": self.message}


_COLOURS = {"pass": ("#1a7f37", "#dafbe1"), "fail": ("#cf222e", "#ffebe9"),
            "error": ("#cf222e", "#ffebe9"), "missing": ("#cf222e", "#ffebe9"),
            "not done": ("#6e7781", "#f6f8fa")}


@dataclass
class CheckResult:
    """The verdicts on a reader's answers to one exercise; ``ok`` when every function passes.

    Prints as text, ``to_json()`` for machines, and shows as a coloured table in Jupyter.
    """

    number: int
    seed: int
    source: str
    functions: list[FunctionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.functions) and all(f.status == "pass" for f in self.functions)

    def to_json(self) -> dict[str, Any]:
        return {"exercise": self.number, "seed": self.seed, "file": self.source, "ok": self.ok,
                "functions": [f.to_json() for f in self.functions]}

    def __str__(self) -> str:
        lines = [f"exercise {self.number}: checking {self.source} (seed {self.seed}; rerun with "
                 f"--seed {self.seed})"]
        for f in self.functions:
            counted = f" ({f.passed}/{f.cases} inputs)" if f.cases else ""
            lines.append(f"  [{f.status}] {f.name}{counted}")
            if f.input:
                lines += [f"      {line}" for line in f"at {f.input}".splitlines()]
            lines += [f"      {line}" for line in f.message.splitlines()]
        done = sum(f.status == "pass" for f in self.functions)
        lines.append(f"{done} of {len(self.functions)} functions pass" +
                     (": all correct." if self.ok else "."))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for f in self.functions:
            colour, background = _COLOURS[f.status]
            detail = html.escape(f"at {f.input}: " if f.input else "") + html.escape(
                f.message).replace("\n", "<br>")
            rows.append(f'<tr style="background:{background}"><td><code>{html.escape(f.name)}'
                        f'</code></td><td style="color:{colour};font-weight:bold">{f.status}</td>'
                        f"<td>{f.passed}/{f.cases}</td><td style=\"text-align:left\">{detail}"
                        "</td></tr>")
        return (f"<p>Exercise {self.number}, seed {self.seed}: <b>"
                f"{'all correct' if self.ok else 'not yet'}</b></p>"
                "<table><tr><th>function</th><th>verdict</th><th>inputs passed</th>"
                "<th style=\"text-align:left\">where it differs</th></tr>" + "".join(rows)
                + "</table>")


# --- running ------------------------------------------------------------------------------------


def _copy(args: tuple) -> tuple:
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _describe(task: Task, args: tuple) -> str:
    names = [p.strip() for p in task.params.split(",") if p.strip()]
    return "".join(f"\n    {n} = {fmt(a)}" for n, a in zip(names, args))


def _run_task(task: Task, fn: Callable | None, rng: np.random.Generator,
              files: Iterable[str]) -> FunctionResult:
    if fn is None:
        return FunctionResult(task.name, "missing", message=f"no function {task.name}"
                              f"({task.params}) in the file")
    cases = task.cases(rng)
    for k, case in enumerate(cases):
        expected = task.reference(*_copy(case.args))
        try:
            received = (task.call or (lambda f, a: f(*a)))(fn, _copy(case.args))
        except NotImplementedError:
            return FunctionResult(task.name, "not done", len(cases), k,
                                  "still raises NotImplementedError")
        except Exception as e:  # the reader's code raised: show where, in their file
            return FunctionResult(task.name, "error", len(cases), k, _reader_frames(e, files),
                                  f"{case.label}{_describe(task, case.args)}")
        message = task.check(received, expected, case)
        if message:
            note = f"\n{case.note}" if case.note else ""
            return FunctionResult(task.name, "fail", len(cases), k,
                                  f"{message} (reference: {task.source}){note}",
                                  f"{case.label}{_describe(task, case.args)}")
    return FunctionResult(task.name, "pass", len(cases), len(cases))


def _functions(answers: types.ModuleType | Mapping[str, Any]) -> Mapping[str, Any]:
    return vars(answers) if isinstance(answers, types.ModuleType) else answers


def _files(answers: types.ModuleType | Mapping[str, Any]) -> dict[str, str]:
    """{file name: source} of the reader's code (a module's file, or each function's)."""
    if isinstance(answers, types.ModuleType):
        path = getattr(answers, "__file__", None)
        return {path: Path(path).read_text()} if path and Path(path).exists() else {}
    files = {}
    for fn in answers.values():
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_filename not in files:
            try:
                files[code.co_filename] = inspect.getsource(inspect.getmodule(fn) or fn)
            except (OSError, TypeError):
                files[code.co_filename] = ""
    return files


def check(number: int, answers: types.ModuleType | Mapping[str, Any], seed: int | None = None,
          strict: bool = False) -> CheckResult:
    """Judge the reader's answers to exercise ``number``.

    ``answers``: a module (``import ex08``) or a dict of functions (``{"grad": grad}``).
    ``seed``: the random inputs (default: fresh, reported in the result). ``strict``:
    refuse (ReaderError) code that imports an autodiff library where the exercise asks for
    the reader's own derivation. Returns a :class:`CheckResult` (``.ok``, ``to_json()``, a
    table in Jupyter).
    """
    spec = spec_for(number)
    files = _files(answers)
    if strict and spec.by_hand:
        _refuse_autodiff(spec, files)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    functions = _functions(answers)
    source = getattr(answers, "__file__", None) or "your functions"
    result = CheckResult(number, seed, str(source))
    for task in spec.tasks:
        fn = functions.get(task.name)
        result.functions.append(_run_task(task, fn if callable(fn) else None, rng, files))
    return result


def check_file(number: int, path: str | Path, seed: int | None = None,
               strict: bool = False) -> CheckResult:
    """``check`` on the reader's file; ReaderError when the file cannot be used."""
    spec = spec_for(number)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if strict and spec.by_hand:
        with contextlib.suppress(SyntaxError):  # load_file reports it with the reader's line
            _refuse_autodiff(spec, {str(path): path.read_text()})
    return check(number, load_file(path), seed, strict=False)
