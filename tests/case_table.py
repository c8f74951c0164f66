"""The primitive table's row type and the list every case module appends to (see cases.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from case_strategies import Arrays

import chainrule as cr


@dataclass(frozen=True)
class Case:
    """One primitive (or one keyword variant of it) and how to test it."""

    name: str
    fn: Callable[..., cr.Tensor]
    torch_fn: Callable[..., object]
    inputs: Arrays
    second_order: bool = True

    def __repr__(self) -> str:
        return f"Case({self.name})"



CASES: list[Case] = []


def case(name: str, fn: Callable, torch_fn: Callable, inputs: Arrays,
         second_order: bool = True) -> None:
    CASES.append(Case(name, fn, torch_fn, inputs, second_order))
