"""Piecewise functions: fabs, fmax, fmin, remainders, rounding (zero derivative), nan_to_num."""

from __future__ import annotations

__all__: list[str] = []

NUMPY: dict = {}
