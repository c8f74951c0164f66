"""Runtime checks that survive tracing: an error that depends on values, raised at replay.

A rule that refuses some inputs (a degenerate spectrum, weights summing to zero) cannot
``if np.any(bad): raise`` under ``chainrule.jit``: the condition is a traced value. With
:func:`check` the same test runs eagerly, and while tracing it becomes a program line
(``check eigh-degenerate v17``) that runs the test on the replayed values and raises the
same error. The line has no output: the program keeps it however its results are used.

::

    from chainrule.jit import check

    check("average-zero-weights", scale == 0,
          lambda: ZeroDivisionError("average: the weights sum to zero"))

:func:`known` answers a question whose answer decides a *shape* (``lstsq`` gives the
residuals only at full rank): the traced program keeps the example's answer, and a check
line raises at a replay whose answer differs.

This module imports only ``chainrule.jit.hook`` and the tensor, so that ``ops`` can
use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.jit.hook import Traced, state
from chainrule.tensor import Tensor

ErrorFactory = Callable[[], BaseException]


def check(name: str, condition: Any, make_error: ErrorFactory) -> None:
    """Raise ``make_error()`` where ``condition`` (a boolean array) is true anywhere; under
    ``chainrule.jit``, at every replay too (the line is shown as ``check <name>``)."""
    if state.active is not None:
        data = condition._data if isinstance(condition, Tensor) else condition
        if isinstance(data, Traced):
            state.active.check(name, data, make_error)
            return
    if condition.any() if type(condition) is np.ndarray else np.any(condition):  # (the method
        raise make_error()  # skips np.any's dispatch: these checks sit in backward rules)


def known(name: str, condition: Any, make_error: ErrorFactory) -> bool:
    """``bool(condition)`` (a 0-d boolean); while tracing, the traced example's answer, and
    a check line raising ``make_error()`` at a replay where the answer is not the same."""
    data: Any = condition._data if isinstance(condition, Tensor) else condition
    if not isinstance(data, Traced):
        return bool(condition)
    tracer: Any = data  # (its example value: .value)
    answer = bool(tracer.value)
    check(name, np.not_equal(tracer, answer), make_error)
    return answer


class Raise:
    """A check line's function: ``make_error()`` raised if any of its argument is true."""

    __slots__ = ("make_error",)

    def __init__(self, make_error: ErrorFactory) -> None:
        self.make_error = make_error

    def __call__(self, condition: Any) -> None:
        if condition.any():
            raise self.make_error()
