"""The chapter's exercises (section 3.16) as runnable, checked solutions.

Importing this package registers all 35 in :data:`EXERCISES`, one module per
group of the section.
"""

from chainrule.exercises import (  # noqa: F401  (imported to register the exercises)
    bonus,
    descent_curvature,
    forward_reverse,
    gradients_jacobians,
    graphs_reverse,
    identities,
    limits_taylor,
    numerical_pitfalls,
)
from chainrule.exercises.registry import EXERCISES, GROUPS, Exercise
from chainrule.exercises.result import Check, Result

__all__ = ["EXERCISES", "GROUPS", "Check", "Exercise", "Result"]
