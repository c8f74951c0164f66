"""Primitive-table rows for chainrule.ops: linalg_inverse, linalg_decompose (chainrule.linalg)."""

from __future__ import annotations
