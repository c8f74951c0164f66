"""Decompositions: cholesky, eigh, svd, qr."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
