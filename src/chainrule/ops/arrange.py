"""Reordering and reshaping arrays: sort, roll, flip, tile, repeat, moveaxis, ravel, atleast_nd."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
