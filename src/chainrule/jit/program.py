"""A traced program: straight-line calls of forward functions on raw arrays, printable.

::

    program step(params, x, y)
      inputs   v0:f32[784,256]  v1:f32[256]  v2:f32[32,784]  v3:i64[32]
      forward
        v4:f32[32,256] = linear v2 v0 v1
        v5:f32[32,256] = relu v4                          # in place of v4
      backward
        v9:f32[256,32] = swapaxes v2 -1 -2
        ...
      outputs  ([v20, v21], v8)
      buffers  3 planned (0.79 MB), 2 outputs in donated inputs, peak 1.1 MB live

Each :class:`Line` is one call: the function (a primitive's forward, or a NumPy function
on traced values), its arguments with :class:`Ref` where a traced value goes and
constants elsewhere, the slots it writes. ``phase`` says whether the call was made by the
function itself ("forward") or by a backward pass a transform ran ("backward").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.jit.tracer import short_dtype
from chainrule.tree import TreeDef, tree_unflatten


@dataclass(frozen=True)
class Ref:
    """A traced value in a line's arguments: the slot that holds it."""

    slot: int

    def __repr__(self) -> str:
        return f"v{self.slot}"


@dataclass
class Line:
    """``outs = fn(*args, **kwargs)`` with :class:`Ref` for the traced arguments."""

    fn: Callable
    name: str
    prim: Any  # the Primitive, or None for a NumPy function
    args: tuple
    kwargs: dict
    outs: tuple[int, ...]
    views: tuple[int, ...]  # input slots the result may share memory with
    phase: str  # "forward" or "backward"
    many: bool = False  # fn returns a tuple of arrays

    def reads(self) -> list[int]:
        found: list[int] = []
        _refs(self.args, found)
        _refs(self.kwargs, found)
        return found


def _refs(x: Any, found: list[int]) -> None:
    if isinstance(x, Ref):
        found.append(x.slot)
    elif isinstance(x, tuple | list):
        for i in x:
            _refs(i, found)
    elif isinstance(x, dict):
        for i in x.values():
            _refs(i, found)


@dataclass
class Output:
    """One leaf of the result: a slot, or a constant (copied out on every call)."""

    slot: int | None
    constant: Any = None


@dataclass
class Program:
    """What :func:`chainrule.jit` replays: inputs, lines, outputs, and the example values'
    shapes, dtypes and layouts (for the buffer plan)."""

    name: str
    inputs: list[int]
    lines: list[Line]
    outputs: list[Output]
    out_def: TreeDef
    values: dict[int, Any]  # slot -> example value
    donated: tuple[int, ...] = ()
    plan: Any = field(default=None, repr=False)

    def aval(self, slot: int) -> str:
        v = self.values[slot]
        return f"{short_dtype(np.result_type(v))}[{','.join(map(str, np.shape(v)))}]"

    def count(self, phase: str) -> int:
        """How many lines the function itself ("forward") or a backward pass made."""
        return sum(1 for line in self.lines if line.phase == phase)

    def __str__(self) -> str:
        plan = self.plan
        rows = [f"program {self.name}",
                "  inputs   " + "  ".join(f"v{s}:{self.aval(s)}" for s in self.inputs)]
        phase = None
        for i, line in enumerate(self.lines):
            if line.phase != phase:
                phase = line.phase
                rows.append(f"  {phase}")
            outs = ", ".join(f"v{s}:{self.aval(s)}" for s in line.outs)
            args = " ".join(_show(a) for a in line.args)
            kwargs = " ".join(f"{k}={_show(v)}" for k, v in line.kwargs.items())
            assign = f"{outs} = " if outs else ""  # a check line: no output
            text = f"    {assign}{line.name} {args} {kwargs}".rstrip()
            note = plan.note(i) if plan is not None else ""
            rows.append(f"{text:<60} # {note}" if note else text)
        shown = [Ref(o.slot) if o.slot is not None else _Shown(_show(o.constant))
                 for o in self.outputs]
        rows.append(f"  outputs  {tree_unflatten(self.out_def, shown)!r}")
        if plan is not None:
            rows.append(f"  buffers  {plan.summary()}")
        return "\n".join(rows)

    __repr__ = __str__


class _Shown(str):
    """A constant output, shown in the outputs' structure without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _show(x: Any) -> str:
    if isinstance(x, Ref):
        return repr(x)
    if isinstance(x, np.ndarray):
        if x.size <= 4:
            return np.array2string(x, separator=",").replace(" ", "")
        return f"const:{short_dtype(x.dtype)}[{','.join(map(str, x.shape))}]"
    if isinstance(x, tuple | list):
        inner = ",".join(_show(i) for i in x)
        return f"({inner}{',' if len(x) == 1 else ''})" if isinstance(x, tuple) else f"[{inner}]"
    if isinstance(x, np.dtype | type):
        return getattr(x, "__name__", str(x))
    return repr(x)
