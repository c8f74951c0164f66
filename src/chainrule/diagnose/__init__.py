"""Diagnostics: why a parameter got no gradient, gradient health through depth,
per-example gradient norms, and what a backward pass costs.

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.diagnose.cost import CostProfile, cost_profile
from chainrule.diagnose.gradient_health import (
    DepthProfile,
    LayerNorm,
    NormReport,
    gradient_norms,
    tanh_depth_profile,
)
from chainrule.diagnose.per_example import per_example_gradient_norms, per_example_gradients
from chainrule.diagnose.why_no_grad import NoGradReport, named_parameters, why_no_grad

__all__ = [
    "CostProfile", "DepthProfile", "LayerNorm", "NoGradReport", "NormReport", "cost_profile",
    "gradient_norms", "named_parameters", "per_example_gradient_norms", "per_example_gradients",
    "tanh_depth_profile", "why_no_grad",
]
