"""The cut log: where recent gradient paths were cut, for ``why_no_grad``.

A gradient path is cut *outside* the graph: ``t.detach()``, ``t.argmax()``, a
comparison ``t > 0`` (a boolean array), an integer cast ``t.astype(int)``, or
a primitive applied to a tensor that requires grad while recording is off
(``with no_grad():``). Nothing of that is in any graph, so the graph alone
can't say why a parameter got no gradient. This module keeps a small record
of such events: the operation, the line of user code that did it, and what
was cut: the graph node that made each input (or, for a leaf, a weak
reference to it), so a later diagnosis can ask "does this cut input depend
on parameter p?".

Cost: nothing on the fast paths. Tensor methods call :func:`cut` only when
an input requires grad; primitives call :func:`no_grad_call` only in the
branch where an input requires grad and recording is off. Each event costs a
short walk up the call stack and a deque append. The log is bounded
(:data:`MAXLEN` events); consecutive ``no_grad`` calls from the same line of
user code are merged into one event. It keeps the cut inputs' nodes alive
until the event falls off the log (a ``backward`` frees what nodes hold, so
this rarely matters).

:func:`capture` lets gradient checkpointing reuse the ``no_grad`` hook: while
it is active, tensors that require grad and meet a primitive under
``no_grad`` are collected instead of logged (they are the tensors a
checkpointed function reads from its closure).
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

MAXLEN = 32          # events kept
MAX_SOURCES = 256    # inputs kept per merged no_grad event
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_WORKBOOK = _PACKAGE + "exercises" + os.sep  # the exercises are user code: their cuts count


def _internal(filename: str) -> bool:
    return filename.startswith(_PACKAGE) and not filename.startswith(_WORKBOOK)


@dataclass
class Cut:
    """One cut: ``op`` (e.g. ``'detach'``, ``'argmax'``, ``'comparison >'``,
    ``'astype(int64)'``, ``'no_grad: matmul'``), the user code location
    ``(filename, lineno, function)``, the cut inputs (a graph node for a
    computed tensor, a weak reference for a leaf) and weak references to what
    the cut produced (to recognise it when it shows up in a loss)."""

    op: str
    where: tuple[str, int, str]
    sources: list[Any] = field(default_factory=list)
    outputs: deque[weakref.ref] = field(default_factory=lambda: deque(maxlen=MAX_SOURCES))

    @property
    def location(self) -> str:
        """``file:line`` and the source line, e.g. ``train.py:12 (pred = out.argmax(1))``."""
        filename, lineno, _ = self.where
        code = linecache.getline(filename, lineno).strip()
        return f"{filename}:{lineno}" + (f" ({code})" if code else "")

    def produced(self) -> Iterator[Any]:
        """The results of the cut still alive (Tensors or arrays)."""
        for ref in self.outputs:
            out = ref()
            if out is not None:
                yield out

    def inputs(self) -> Iterator[Any]:
        """The cut inputs still alive: Nodes and leaf Tensors."""
        for s in self.sources:
            if isinstance(s, weakref.ref):
                t = s()
                if t is not None:
                    yield t
            else:
                yield s


_log: deque[Cut] = deque(maxlen=MAXLEN)


class _Capture(threading.local):
    stack: list[dict[int, Any]]

    def __init__(self) -> None:
        self.stack = []


_capture = _Capture()


def _user_frame(depth: int) -> tuple[str, int, str]:
    """The innermost frame outside chainrule, starting ``depth`` frames up."""
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return ("<inside chainrule>", 0, "")
    return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def _source(t: Any) -> Any:
    return t._node if t._node is not None else weakref.ref(t)


def _weak(out: Any) -> list[weakref.ref]:
    try:
        return [weakref.ref(out)]
    except TypeError:  # a NumPy scalar (argmax without axis): nothing to recognise later
        return []


def cut(op: str, inputs: tuple, output: Any, depth: int = 1) -> None:
    """Log that ``op`` (a Tensor method, ``depth`` frames above this call) cut
    ``inputs`` from the graph, producing ``output``. Called only when an input
    requires grad; calls made from inside chainrule (the masks of vjp rules, for
    instance) are not user cuts and are skipped."""
    caller = sys._getframe(depth + 1).f_code.co_filename
    if _internal(caller):
        return
    sources = [_source(t) for t in inputs if getattr(t, "requires_grad", False)]
    _log.append(Cut(op, _user_frame(2), sources, deque(_weak(output), maxlen=MAX_SOURCES)))


def no_grad_call(op: str, args: tuple, output: Any) -> None:
    """A primitive ran on a tensor that requires grad with recording off."""
    if _capture.stack:
        found = _capture.stack[-1]
        for a in args:
            if getattr(a, "requires_grad", False):
                found.setdefault(id(a), a)
        return
    where = _user_frame(2)
    name = f"no_grad: {op}"
    last = _log[-1] if _log else None
    if last is None or last.where != where or not last.op.startswith("no_grad"):
        last = Cut(name, where)
        _log.append(last)
    elif name != last.op and not last.op.endswith("..."):
        last.op += ", ..."
    if len(last.sources) < MAX_SOURCES:
        last.sources.extend(_source(a) for a in args if getattr(a, "requires_grad", False))
    last.outputs.extend(_weak(output))  # the latest results


def events() -> list[Cut]:
    """The logged cuts, oldest first."""
    return list(_log)


def clear() -> None:
    """Forget all logged cuts."""
    _log.clear()


@contextmanager
def capture() -> Iterator[dict[int, Any]]:
    """Collect (by id) the tensors that require grad and are read by primitives
    under ``no_grad`` inside the block, instead of logging them."""
    found: dict[int, Any] = {}
    _capture.stack.append(found)
    try:
        yield found
    finally:
        _capture.stack.pop()
