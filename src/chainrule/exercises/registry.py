"""The table of exercises: number -> group, stars, title and the function that works it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from chainrule.exercises.result import Result

GROUPS = (
    "Limits, derivatives, and Taylor",
    "Gradients, Jacobians, chain rule",
    "Computational graphs and reverse-mode AD",
    "Forward vs reverse mode",
    "Gradient identities",
    "Gradient descent and curvature",
    "Numerical pitfalls",
    "Bonus",
)


@dataclass(frozen=True)
class Exercise:
    number: int
    group: str
    stars: int
    title: str
    solve: Callable[..., Result]

    def run(self, fast: bool = False) -> Result:
        return self.solve(fast=fast)


EXERCISES: dict[int, Exercise] = {}

MODULES = ("limits_taylor", "gradients_jacobians", "graphs_reverse", "forward_reverse",
           "identities", "descent_curvature", "numerical_pitfalls", "bonus")


def all_exercises() -> dict[int, Exercise]:
    """Every exercise by number (importing the group modules registers them)."""
    for name in MODULES:
        importlib.import_module(f"chainrule.exercises.{name}")
    return dict(sorted(EXERCISES.items()))


def exercise(number: int, group: str, title: str, stars: int = 0
             ) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register ``solve(fast=False) -> Result`` as exercise ``number``."""
    if group not in GROUPS:
        raise ValueError(f"exercise {number}: unknown group {group!r}")

    def register(solve: Callable[..., Result]) -> Callable[..., Result]:
        if number in EXERCISES:
            raise ValueError(f"exercise {number} is registered twice")
        EXERCISES[number] = Exercise(number, group, stars, title, solve)
        return solve

    return register
