"""Products of arrays: tensordot, inner, kron, cross."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
