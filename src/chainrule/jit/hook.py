"""What the core needs to know about ``chainrule.jit`` (no imports from chainrule here, so
that ``primitive.py`` and ``tensor.py`` can import it first):

* ``state.active``: the trace recording this thread's primitive calls, or None;
* :class:`Twin`: a primitive's recording twin (its calls are not hooked again);
* :class:`Traced`: a traced value, which a Tensor may hold as its data.
"""

from __future__ import annotations

import threading
from typing import Any


class _State(threading.local):
    active: Any = None  # the chainrule.jit.trace.Trace recording this thread's calls


state = _State()


class Twin:
    """Marker base of the recording twins of primitives (chainrule.jit.trace)."""


class Traced:
    """Marker base of traced values (chainrule.jit.tracer.Tracer)."""

    __slots__ = ()
