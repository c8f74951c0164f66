"""Cumulative and difference operations: cumsum, cumprod, diff."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
