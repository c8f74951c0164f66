"""A shared autouse fixture of the jit tests."""

from __future__ import annotations

import pytest

from chainrule.jit import plan


@pytest.fixture(autouse=True)
def plan_small_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan buffers for the tests' small arrays too (the default leaves small ones to
    NumPy's allocator), so that reuse, in-place lines and donation are exercised."""
    monkeypatch.setattr(plan, "MIN_PLANNED_BYTES", 0)
