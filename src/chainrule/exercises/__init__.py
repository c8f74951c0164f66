"""The chapter's exercises (section 3.16) as runnable, checked solutions.

``all_exercises()`` imports the eight group modules (one per group of the
section), which register their exercises, and returns them by number.
``check(N, answers)`` judges a reader's own answers to exercise N (``chainrule check``
on the command line).
"""

from chainrule.exercises.checker import CheckResult, check
from chainrule.exercises.registry import EXERCISES, GROUPS, Exercise, all_exercises
from chainrule.exercises.result import Check, Result

__all__ = ["EXERCISES", "GROUPS", "Check", "CheckResult", "Exercise", "Result", "all_exercises",
           "check"]
