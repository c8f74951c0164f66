"""Exponentials, logarithms in other bases, logaddexp, reciprocal."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
