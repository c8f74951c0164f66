"""Inverses and solves: inv, solve, det, slogdet, matrix_power, lstsq, pinv."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
