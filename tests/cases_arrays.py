"""Primitive-table rows for chainrule.ops: arrange, join."""

from __future__ import annotations
