"""Primitive-table rows for chainrule.ops: cumulative, products, matrices."""

from __future__ import annotations
