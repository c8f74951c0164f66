"""Trigonometric, hyperbolic and angle-conversion ufuncs (NumPy's names)."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
