"""Matrix structure: tril, triu, diag, diagflat, select, linspace."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
