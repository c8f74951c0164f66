"""The replay: a program turned into one generated Python function on raw arrays.

No Tensor, no graph node, no dispatch per line: each line becomes one statement calling
its forward function (``v7 = f3(v5, v2, out=b3)``), constants and planned buffers are
bound as names of the generated function's globals, and the function returns the output
leaves. The planned buffers are allocated here, once per traced signature; a call writes
into them again (they never hold an output, see :mod:`chainrule.jit.plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.jit.plan import KERNELS, METHODS, Plan
from chainrule.jit.program import Program, Ref


class _Namer:
    """Names for the objects the generated code refers to (functions, constants, buffers)."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {"_own": _own}
        self.ids: dict[int, str] = {}

    def bind(self, obj: Any, prefix: str) -> str:
        name = self.ids.get(id(obj))
        if name is None:
            name = self.ids[id(obj)] = f"{prefix}{len(self.scope)}"
            self.scope[name] = obj
        return name

    def expr(self, x: Any) -> str:
        if isinstance(x, Ref):
            return f"v{x.slot}"
        if isinstance(x, tuple):
            return "(" + "".join(self.expr(i) + ", " for i in x) + ")"
        if isinstance(x, list):
            return "[" + ", ".join(self.expr(i) for i in x) + "]"
        if isinstance(x, dict):
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in x.items()) + "}"
        if x is None or isinstance(x, bool | int | str) and len(repr(x)) < 40:
            return repr(x)
        return self.bind(x, "k")


def _own(x: Any) -> np.ndarray:
    """A copy that belongs to the caller (an output that is an input, a constant, a scalar)."""
    return np.array(x, copy=True)


def generate(program: Program, plan: Plan) -> tuple[Callable[..., list], str]:
    """The replay function ``run(*inputs) -> list of output leaves`` and its source."""
    names = _Namer()
    buffers = [np.empty(int(n), dtype) for dtype, n in plan.buffers]
    args = [f"v{s}" for s in program.inputs]
    body = []
    for i, line in enumerate(program.lines):
        call = [names.expr(a) for a in line.args]
        call += [f"{k}={names.expr(v)}" for k, v in line.kwargs.items()]
        where = plan.out.get(i)
        if where is not None:
            if where[0] == "input":
                call.append(f"out={args[where[1]]}")
            else:
                v = program.values[line.outs[0]]
                view = buffers[where[1]][:v.size].reshape(v.shape)
                call.append(f"out={names.bind(view, 'b')}")
        outs = ", ".join(f"v{s}" for s in line.outs) + ("," if line.many else "")
        fn = _kernel(line, program)
        assign = f"{outs} = " if line.outs else ""  # a check line: a call for its effect
        body.append(f"    {assign}{names.bind(fn, 'f')}({', '.join(call)})")
    results = []
    seen: set[int] = set()
    fresh = {o for line in program.lines if not line.views for o in line.outs}
    for o in program.outputs:
        if o.slot is None:
            results.append(f"_own({names.bind(o.constant, 'k')})")
        elif o.slot in seen or o.slot not in fresh and not _view_of_fresh(program, o.slot) \
                or not isinstance(program.values[o.slot], np.ndarray):
            results.append(f"_own(v{o.slot})")  # an input, or returned twice, or a scalar
        else:
            results.append(f"v{o.slot}")
        if o.slot is not None:
            seen.add(o.slot)
    source = "\n".join([f"def run({', '.join(args)}):", *body,
                        f"    return [{', '.join(results)}]", ""])
    scope = names.scope
    exec(compile(source, f"<jit {program.name}>", "exec"), scope)
    return scope["run"], source


def _kernel(line: Any, program: Program) -> Callable:
    """What the replay calls for a line: the NumPy kernel of a primitive that is one NumPy
    call (see :mod:`chainrule.jit.plan`), else the line's own function."""
    kernel: Callable | None = KERNELS.get(line.prim)
    if kernel is None and line.prim in METHODS and isinstance(line.args[0], Ref) and \
            isinstance(program.values[line.args[0].slot], np.ndarray):
        kernel = METHODS[line.prim]
    return kernel or line.fn


def _view_of_fresh(program: Program, slot: int) -> bool:
    """True if ``slot`` is a view made by the program of an array the program allocated
    fresh (so it belongs to the caller); False for views of inputs or constants."""
    made = {o: line for line in program.lines for o in line.outs}
    inputs = set(program.inputs)
    stack, seen = [slot], set()
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        if s in inputs or s not in made:
            return False
        stack.extend(made[s].views)
    return True
