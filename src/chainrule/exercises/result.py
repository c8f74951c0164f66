"""What an exercise returns: named quantities, honest checks, notes and figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Status = Literal["pass", "fail", "skip"]


@dataclass
class Check:
    """One comparison of a computed value with an independent reference.

    ``source`` says where the reference comes from ("solution sketch",
    "closed form", "finite differences", "PyTorch", ...). A skipped check
    carries its reason and never counts as passed.
    """

    name: str
    status: Status
    computed: Any = None
    reference: Any = None
    source: str = ""
    tolerance: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "computed": _plain(self.computed),
                "reference": _plain(self.reference), "source": self.source,
                "tolerance": self.tolerance, "reason": self.reason}


def close(name: str, computed: Any, reference: Any, source: str, rtol: float = 1e-6,
          atol: float = 0.0) -> Check:
    """Pass when ``|computed - reference| <= atol + rtol |reference|`` everywhere."""
    c = np.asarray(computed, dtype=float)
    r = np.asarray(reference, dtype=float)
    ok = c.shape == r.shape and bool(np.allclose(c, r, rtol=rtol, atol=atol))
    return Check(name, "pass" if ok else "fail", computed, reference, source,
                 f"rtol={rtol:g}, atol={atol:g}")


def holds(name: str, condition: bool, computed: Any = None, reference: Any = None,
          source: str = "statement") -> Check:
    """Pass when a stated property holds (e.g. a bound, an ordering)."""
    return Check(name, "pass" if condition else "fail", computed, reference, source)


def skipped(name: str, reason: str, source: str = "") -> Check:
    return Check(name, "skip", source=source, reason=reason)


def torch_or_skip(name: str) -> Any:
    """The torch module, or None (then the caller reports ``skipped(name, ...)``)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


Figure = Callable[[Path], object]  # draws into the file at the path (any return ignored)


@dataclass
class Result:
    """The outcome of one exercise."""

    number: int
    title: str
    quantities: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in ("pass", "fail", "skip")}

    def write_figures(self, folder: Path) -> list[Path]:
        """Write each figure as ``ex<NN>-<name>.png`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, draw in self.figures.items():
            path = folder / f"ex{self.number:02d}-{name}.png"
            draw(path)
            paths.append(path)
        return paths

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "title": self.title,
                "quantities": {k: _plain(v) for k, v in self.quantities.items()},
                "checks": [c.to_json() for c in self.checks], "notes": self.notes,
                "figures": sorted(self.figures)}


def _plain(value: Any) -> Any:
    """JSON-ready: arrays to lists, NumPy scalars to Python numbers."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return repr(value)
