"""What the reader writes for an exercise, and how one answer is compared with the reference.

A :class:`ReaderSpec` lists the functions (:class:`Task`) a reader's file defines for one
exercise. Each task says how to build its inputs (the exercise's own point first, then
random ones of the documented shapes), how chainrule computes the expected answer (for a
derivation: chainrule's *autodiff* of the original function, never the closed form), and
how close the reader's answer must be. ``compare`` judges one answer and says where it
differs and, when it recognises the pattern, which typical mistake it looks like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["NOT_CHECKABLE", "SPECS", "Case", "Draw", "ReaderSpec", "Task", "compare", "fmt",
           "inputs", "reader", "same_word", "unavailable"]


@dataclass(frozen=True)
class Case:
    """One input of a task: the arguments, a label ("the exercise's point", "random 2"), and a
    note added to the message when the reader's answer fails here."""

    label: str
    args: tuple
    note: str = ""


Judge = Callable[[Any, Any, Case], "str | None"]


@dataclass(frozen=True)
class Task:
    """One function of the reader's file.

    ``cases(rng)`` gives the inputs; ``reference(*args)`` the expected answer;
    ``call(fn, args)`` how the reader's function is run (default ``fn(*args)``; engine
    exercises build a graph, call the reader's code and read the gradients back);
    ``judge(received, expected, case)`` a custom comparison returning a failure message
    or None (default :func:`compare` with ``rtol``, ``atol``, ``parts``, ``relative``).
    """

    name: str
    params: str
    doc: str
    cases: Callable[[np.random.Generator], list[Case]]
    reference: Callable[..., Any]
    source: str = "chainrule autodiff of the original function"
    call: Callable[[Callable, tuple], Any] | None = None
    judge: Judge | None = None
    rtol: float = 1e-7
    atol: float = 1e-10
    parts: tuple[str, ...] = ()
    relative: bool = False

    def check(self, received: Any, expected: Any, case: Case) -> str | None:
        if self.judge is not None:
            return self.judge(received, expected, case)
        return compare(received, expected, self.rtol, self.atol, self.parts, self.relative)


@dataclass(frozen=True)
class ReaderSpec:
    """The functions a reader writes for exercise ``number``.

    ``by_hand``: the exercise asks for the reader's own derivation or implementation, so
    ``--strict`` refuses a file that imports an autodiff library. ``notes``: the interface
    chosen where the exercise fixes none, printed at the top of the template.
    ``imports``: the template's import lines.
    """

    number: int
    summary: str
    tasks: tuple[Task, ...]
    by_hand: bool = False
    notes: str = ""
    imports: str = "import numpy as np"


SPECS: dict[int, ReaderSpec] = {}
NOT_CHECKABLE: dict[int, str] = {}


def reader(spec: ReaderSpec) -> ReaderSpec:
    """Register the reader's side of an exercise."""
    if spec.number in SPECS or spec.number in NOT_CHECKABLE:
        raise ValueError(f"exercise {spec.number}: reader's spec registered twice")
    SPECS[spec.number] = spec
    return spec


def unavailable(number: int, reason: str) -> None:
    """Record that exercise ``number`` cannot be checked, and why."""
    if number in SPECS or number in NOT_CHECKABLE:
        raise ValueError(f"exercise {number}: reader's spec registered twice")
    NOT_CHECKABLE[number] = reason


# --- comparison --------------------------------------------------------------------------------


def fmt(value: Any, width: int = 70) -> str:
    """A short one-line text of a value (arrays rounded, long ones cut)."""
    text: str
    if isinstance(value, np.ndarray | np.generic) or (
            isinstance(value, list | tuple) and value and
            all(isinstance(v, int | float | np.number) for v in value)):
        arr = np.asarray(value)
        if arr.size > 24:
            return f"array of shape {arr.shape}"
        text = np.array2string(arr, precision=6, separator=", ", suppress_small=False)
    elif isinstance(value, float):
        text = f"{value:.8g}"
    elif callable(value):
        text = str(getattr(value, "__name__", None) or getattr(value, "name", repr(value)))
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _as_array(value: Any) -> np.ndarray:
    """The reader's answer as a float64 array (Tensors and torch tensors included)."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().numpy()
    if hasattr(value, "numpy") and callable(value.numpy):  # a chainrule Tensor
        value = value.numpy()
    return np.asarray(value, dtype=np.float64)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-6) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-12 * max(
        1.0, float(np.abs(b).max(initial=0.0)))))


def hint(received: np.ndarray, expected: np.ndarray) -> str:
    """Which typical mistake the difference looks like, or ''."""
    if not np.all(np.isfinite(received)):
        return "the answer contains nan or inf (an overflow? a 0/0?)"
    if expected.ndim == 2 and received.shape == expected.shape[::-1] and _close(
            received.T, expected):
        return "the answer is the transpose of the expected one"
    if not np.any(expected):
        return ""
    for factor, what in ((-1.0, "the sign is flipped"), (2.0, "the answer is twice the expected "
                         "one (an extra factor 2?)"), (0.5, "the answer is half the expected "
                         "one (a missing factor 2?)")):
        if _close(received, factor * expected):
            return what
    return ""


def _difference(received: np.ndarray, expected: np.ndarray, rtol: float, atol: float,
                relative: bool) -> str | None:
    """None when the arrays agree; otherwise the expected, received values and where they
    differ most."""
    if received.shape != expected.shape and not (received.size == expected.size == 1):
        h = hint(received, expected) if received.size == expected.size else ""
        return (f"the answer has shape {received.shape}, expected {expected.shape}"
                + (f": {h}" if h else ""))
    received = received.reshape(expected.shape)
    diff = np.nan_to_num(np.abs(received - expected), nan=np.inf)
    if relative:
        scale = float(np.abs(expected).max(initial=0.0)) or 1.0
        bad = diff / scale > rtol
        allowed = f"allowed max|difference| / max|expected| <= {rtol:g}"
    else:
        bad = ~(diff <= atol + rtol * np.abs(expected))
        allowed = f"allowed {atol:g} + {rtol:g} |expected|"
    if not bad.any():
        return None
    worst = np.unravel_index(int(np.argmax(np.where(bad, diff, -1.0))), expected.shape)
    where = f" at index {tuple(int(i) for i in worst)}" if expected.ndim else ""
    values = (f"expected {fmt(expected)}, received {fmt(received)}" if expected.size <= 24 else
              f"expected {expected[worst]:.8g}, received {received[worst]:.8g}")
    h = hint(received, expected)
    return (f"{values}; largest |difference| {float(diff[worst]):.3g}{where} ({allowed})"
            + (f"; {h}" if h else ""))


def compare(received: Any, expected: Any, rtol: float = 1e-7, atol: float = 1e-10,
            parts: Sequence[str] = (), relative: bool = False) -> str | None:
    """None when ``received`` matches ``expected`` (``|r - e| <= atol + rtol |e|`` at every
    entry, or ``max|r - e| / max|e| <= rtol`` when ``relative``); otherwise a message naming
    the part, the values and the largest difference. With ``parts`` the answer is a sequence
    of that many arrays (e.g. several gradients), compared one by one."""
    if parts:
        if not isinstance(received, Sequence | np.ndarray) or len(received) != len(parts):
            return (f"expected {len(parts)} results ({', '.join(parts)}), received "
                    f"{fmt(received)}")
        for name, r, e in zip(parts, received, expected):
            message = compare(r, e, rtol, atol, (), relative)
            if message:
                return f"{name}: {message}"
        return None
    if received is None:
        return "the function returned None (a missing return?)"
    try:
        r = _as_array(received)
    except (TypeError, ValueError):
        return f"the answer {fmt(received)} is not a number or an array of numbers"
    return _difference(r, np.asarray(expected, dtype=np.float64), rtol, atol, relative)


def same_word(received: Any, expected: str, case: Case) -> str | None:
    """A judge for answers that are words ('forward', 'saddle'): case and spaces ignored."""
    if isinstance(received, str) and received.strip().lower() == expected:
        return None
    return f"expected {expected!r}, received {received!r}"


@dataclass
class Draw:
    """Random inputs of the documented shapes, from one generator (so ``--seed`` repeats)."""

    rng: np.random.Generator

    def vec(self, n: int, scale: float = 1.0) -> np.ndarray:
        return scale * self.rng.standard_normal(n)

    def mat(self, m: int, n: int) -> np.ndarray:
        return self.rng.standard_normal((m, n))

    def sym(self, n: int) -> np.ndarray:
        m = self.rng.standard_normal((n, n))
        return m + m.T

    def spd(self, n: int) -> np.ndarray:
        m = self.rng.standard_normal((n, n))
        return m @ m.T + n * np.eye(n)

    def size(self, low: int = 2, high: int = 5) -> int:
        return int(self.rng.integers(low, high + 1))

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))


def inputs(make: Callable[[Draw], tuple], *points: tuple, k: int = 4, note: str = ""
           ) -> Callable[[np.random.Generator], list[Case]]:
    """The cases of a task: the exercise's own ``points`` first (``note`` is added when the
    reader fails there), then ``k`` random ones made by ``make(Draw(rng))``."""
    def cases(rng: np.random.Generator) -> list[Case]:
        own = [Case("the exercise's point" if len(points) == 1 else f"the exercise's point "
                    f"{i + 1}", p, note) for i, p in enumerate(points)]
        draw = Draw(rng)
        return own + [Case(f"random input {i + 1}", make(draw)) for i in range(k)]

    return cases
