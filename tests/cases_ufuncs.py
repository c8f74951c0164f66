"""Primitive-table rows for chainrule.ops: trig, exponents, piecewise."""

from __future__ import annotations
