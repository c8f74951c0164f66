"""``chainrule.jit``: trace a pure function once, replay it without the engine.

* :mod:`~chainrule.jit.tracer`: the traced value (refuses being read into Python);
* :mod:`~chainrule.jit.trace`: the hook that records every primitive call as a line;
* :mod:`~chainrule.jit.program`: the program, printable like a jaxpr;
* :mod:`~chainrule.jit.plan`: the buffer plan from liveness (reuse, in place, donation);
* :mod:`~chainrule.jit.replay`: the generated Python function that replays it;
* :mod:`~chainrule.jit.api`: ``jit`` and ``make_program`` (signatures, the cache);
* :mod:`~chainrule.jit.checks`: ``check`` and ``known``, value-dependent errors that a
  replay raises as eager code does.
"""


from __future__ import annotations

from typing import Any

__all__ = ["CACHE_SIZE", "Jitted", "Program", "TracingError", "check", "jit", "known",
           "make_program"]


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: the core imports ``chainrule.jit.hook``
    while it is itself being imported, before the rest of jit can be."""
    if name in ("CACHE_SIZE", "Jitted", "jit", "make_program"):
        from chainrule.jit import api

        return getattr(api, name)
    if name == "Program":
        from chainrule.jit.program import Program

        return Program
    if name in ("check", "known"):
        from chainrule.jit import checks

        return getattr(checks, name)
    if name == "TracingError":
        from chainrule.jit.tracer import TracingError

        return TracingError
    raise AttributeError(f"module 'chainrule.jit' has no attribute {name!r}")
