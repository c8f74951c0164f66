"""Joining and splitting: append, hstack, vstack, dstack, column_stack, array_split, hsplit."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
