"""The reader's starting file for an exercise: ``chainrule check N --template``.

One function per thing to write, each with its signature, a docstring restating the task
and the argument shapes, and a body that raises ``NotImplementedError`` (which the checker
reports as "not done").
"""

from __future__ import annotations

import textwrap

from chainrule.exercises.checker import spec_for
from chainrule.exercises.registry import all_exercises

__all__ = ["template"]


def _wrap(text: str, width: int = 88) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def template(number: int, filename: str | None = None) -> str:
    """The Python file a reader fills in for exercise ``number``."""
    spec = spec_for(number)
    exercise = all_exercises()[number]
    name = filename or f"ex{number:02d}.py"
    head = [f'"""Exercise {number} of section 3.16: {exercise.title}.', "",
            *_wrap(f"Write {spec.summary}.")]
    if spec.notes:
        head += ["", *_wrap(" ".join(line.strip() for line in spec.notes.splitlines()))]
    if spec.by_hand:
        head += ["", *_wrap("Work it out yourself: with --strict the checker refuses a file "
                            "that imports chainrule, torch, jax or autograd.")]
    head += ["", "Replace each `raise NotImplementedError` with your answer, then run:",
             f"    chainrule check {number} {name}", '"""', "", spec.imports]
    body = []
    for task in spec.tasks:
        lines = [w for line in task.doc.strip().splitlines() for w in _wrap(line, 84)]
        doc = textwrap.indent("\n".join(lines) + '\n"""', "    ")
        body += ["", "", f"def {task.name}({task.params}):", f'    """{doc.lstrip()}',
                 "    raise NotImplementedError"]
    return "\n".join(head + body) + "\n"
