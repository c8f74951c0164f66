"""Shared helpers for the benchmark scripts: best-of-N timing and a plain table."""

from __future__ import annotations

import gc
import os
import platform
import time
from collections.abc import Callable, Sequence


def best_of(fn: Callable[[], object], number: int = 10, repeat: int = 5,
            gc_enabled: bool = True, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call: the best of ``repeat`` runs of ``number`` calls each, timed by
    ``clock`` (wall-clock by default)."""
    fn()  # warm up
    was = gc.isenabled()
    if not gc_enabled:
        gc.disable()
    try:
        best = float("inf")
        for _ in range(repeat):
            start = clock()
            for _ in range(number):
                fn()
            best = min(best, (clock() - start) / number)
    finally:
        if was:
            gc.enable()
    return best


def best_cpu_of(fn: Callable[[], object], number: int = 10, repeat: int = 5) -> float:
    """CPU seconds of this process per call (``time.process_time``), the best of ``repeat``
    runs: on a shared, loaded machine it counts only the time the call itself ran, so
    ratios between engines measured this way are steadier than wall-clock ones."""
    return best_of(fn, number, repeat, clock=time.process_time)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line describing where the numbers were measured."""
    import numpy

    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (f"{_cpu_model()} ({platform.machine()}, {os.cpu_count()} cores), "
            f"Python {platform.python_version()}, NumPy {numpy.__version__}, "
            f"OPENBLAS_NUM_THREADS={threads}")
