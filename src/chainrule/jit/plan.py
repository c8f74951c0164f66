"""The buffer plan: where each line of a program writes, decided once from liveness.

A value is *live* from the line that makes it to the last line that reads it, or reads a
view of it (a reshape, a transpose, a basic slice shares its memory: the trace notes which
inputs a result may share memory with, and the value's *root* is the array that owns the
memory). A line whose forward accepts ``out=`` writes into a planned buffer:

* an **elementwise** line (``add``, ``mul``, ``relu``, ``exp``, a NumPy ufunc...) writes
  in place over an input that dies at that line (same shape and dtype): in-place ReLU,
  bias add, update;
* otherwise into a buffer whose value has died, or a new one; buffers are allocated once
  per traced signature and reused on every call;
* a line that makes one of the program's **outputs** never writes into a planned buffer
  (outputs belong to the caller), but may write into a **donated** input that is dead by
  then (an SGD step's parameters, updated in place).

Lines without ``out=`` support allocate a fresh array per call, as NumPy does. A value
whose example was not C-contiguous keeps its own allocation (its views must behave as
they did while tracing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import ops
from chainrule.jit.program import Program

# Primitives whose forward takes out=: elementwise ones may write over an input.
ELEMENTWISE = frozenset({ops.add, ops.sub, ops.mul, ops.div, ops.neg, ops.exp, ops.log,
                         ops.sqrt, ops.tanh, ops.sin, ops.cos, ops.relu, ops.maximum,
                         ops.minimum})
SEPARATE = frozenset({ops.matmul, ops.linear, ops.sum})
# matmul's forward is one NumPy call inside a try that only names the operation in an
# error, which a replay with the traced shapes and dtypes cannot meet: the replay calls
# np.matmul itself, one Python call less per line. (The elementwise primitives' forwards
# are their ufuncs already: chainrule.ops.elementwise.ufunc_primitive.)
KERNELS: dict[Any, Callable[..., Any]] = {ops.matmul: np.matmul}
# Views whose forward is one NumPy function: the replay calls the ndarray method (NumPy's
# functions dispatch in Python first) when the traced argument is an ndarray.
METHODS: dict[Any, Callable[..., Any]] = {
    ops.reshape: np.ndarray.reshape, ops.transpose: np.ndarray.transpose,
    ops.swapaxes: np.ndarray.swapaxes}
# Below this size NumPy's allocation is cheaper than passing out=: no planned buffer.
MIN_PLANNED_BYTES = 4096


def capability(line: Any) -> str | None:
    """'elementwise', 'separate' or None: how the line's function takes ``out=``."""
    if line.prim is not None:
        if line.prim in ELEMENTWISE:
            return "elementwise"
        return "separate" if line.prim in SEPARATE else None
    if isinstance(line.fn, np.ufunc) and line.fn.nout == 1:
        return "elementwise"
    return None


@dataclass
class Plan:
    """``out[i]``: where line i writes: ``("buffer", k)`` a view of planned buffer k,
    ``("input", j)`` donated input j, or absent (a fresh array)."""

    out: dict[int, tuple[str, int]] = field(default_factory=dict)
    buffers: list[list] = field(default_factory=list)  # [dtype, capacity in elements]
    in_place: set[int] = field(default_factory=set)
    peak: int = 0
    fresh: int = 0  # bytes allocated per call by lines without a planned buffer

    def buffer_bytes(self) -> int:
        return sum(int(n) * np.dtype(dt).itemsize for dt, n in self.buffers)

    def note(self, i: int) -> str:
        where = self.out.get(i)
        if where is None:
            return ""
        if where[0] == "input":
            return f"into donated input {where[1]}"
        return f"in place, buffer {where[1]}" if i in self.in_place else f"buffer {where[1]}"

    def summary(self) -> str:
        donated = sum(1 for w in self.out.values() if w[0] == "input")
        return (f"{len(self.buffers)} planned ({_mb(self.buffer_bytes())}) serving "
                f"{len(self.out) - donated} lines ({len(self.in_place)} in place), {donated} "
                f"output(s) into donated inputs, {_mb(self.fresh)} fresh per call; peak "
                f"{_mb(self.peak)} of intermediates")


def _mb(n: int) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 1e5 else f"{n} B"


def make_plan(program: Program, donated: tuple[int, ...]) -> Plan:
    """Plan ``program``'s buffers; ``donated`` are the positions of donated inputs."""
    lines, values = program.lines, program.values
    end_of_time = len(lines) + 1
    last: dict[int, int] = {}
    for i, line in enumerate(lines):
        for s in line.reads():
            last[s] = i
    outputs = {o.slot for o in program.outputs if o.slot is not None}
    roots: dict[int, tuple[int, ...]] = {s: (s,) for s in program.inputs}
    born: dict[int, int] = {}
    for i, line in enumerate(lines):
        shared = tuple(sorted({r for v in line.views for r in roots[v]}))
        for o in line.outs:
            roots[o] = shared or (o,)
            born[o] = i
    end: dict[int, int] = {}
    for s, rs in roots.items():
        life = end_of_time if s in outputs else max(last.get(s, -1), born.get(s, -1))
        for r in rs:
            end[r] = max(end.get(r, -1), life)
    kept = {r for s in outputs for r in roots[s]} | set(program.inputs)

    plan = Plan()
    holder: dict[int, int] = {}  # root -> planned buffer
    free: list[int] = []
    donors = {program.inputs[j]: j for j in donated}
    fresh_live: dict[int, int] = {}  # root -> bytes, for roots in fresh arrays
    for i, line in enumerate(lines):
        kind = capability(line)
        o = line.outs[0] if line.outs else -1  # a check line writes nothing
        v: Any = values.get(o)
        fits = (kind is not None and len(line.outs) == 1 and not line.many and not line.views
                and isinstance(v, np.ndarray) and v.flags.c_contiguous
                and v.nbytes >= MIN_PLANNED_BYTES)
        if fits and kind is not None and o in outputs:
            j = _donor(line, kind, i, v, donors, values, end)
            if j is not None:
                plan.out[i] = ("input", j)
        elif fits and kind is not None and o not in kept:
            k = _in_place(line, kind, i, v, holder, values, roots, end)
            if k is not None:
                plan.in_place.add(i)
            else:
                k = _take(free, plan.buffers, v)
            holder[o] = k
            plan.out[i] = ("buffer", k)
        elif isinstance(v, np.ndarray) and not line.views:
            for out in line.outs:
                fresh_live[out] = values[out].nbytes
                plan.fresh += values[out].nbytes
        plan.peak = max(plan.peak, sum(fresh_live.values()))
        for r in [r for r in holder if end[r] <= i]:
            free.append(holder.pop(r))
        for r in [r for r in fresh_live if end[r] <= i]:
            del fresh_live[r]
    plan.peak += plan.buffer_bytes()
    return plan


def _donor(line: Any, kind: str, i: int, v: np.ndarray, donors: dict[int, int],
           values: dict[int, Any], end: dict[int, int]) -> int | None:
    """A donated input, dead by line i, with the shape and dtype of line i's result."""
    reads = line.reads()
    for slot, j in list(donors.items()):
        d = values[slot]
        if d.shape != v.shape or d.dtype != v.dtype or not d.flags.c_contiguous:
            continue
        if end[slot] < i or (end[slot] == i and kind == "elementwise" and slot in reads):
            del donors[slot]
            return j
    return None


def _in_place(line: Any, kind: str, i: int, v: np.ndarray, holder: dict[int, int],
              values: dict[int, Any], roots: dict[int, tuple], end: dict[int, int]
              ) -> int | None:
    """The buffer of an input that dies at line i, if the line may overwrite it."""
    if kind != "elementwise":
        return None
    for s in line.reads():
        r = roots[s]
        if r == (s,) and s in holder and end[s] == i:
            w = values[s]
            if w.shape == v.shape and w.dtype == v.dtype:
                return holder.pop(s)
    return None


def _take(free: list[int], buffers: list[list], v: np.ndarray) -> int:
    """A free buffer of v's dtype (the closest in size, grown if needed), or a new one."""
    same = [k for k in free if buffers[k][0] == v.dtype]
    if not same:
        buffers.append([v.dtype, v.size])
        return len(buffers) - 1
    k = min(same, key=lambda k: (buffers[k][1] < v.size, abs(buffers[k][1] - v.size)))
    free.remove(k)
    buffers[k][1] = max(buffers[k][1], v.size)
    return k
