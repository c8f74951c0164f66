"""chainrule: automatic differentiation on NumPy.

Public API only: everything here is re-exported from the module that defines it.
"""

from chainrule.autograd import enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.creation import (
    arange,
    eye,
    full,
    full_like,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.ops import *  # noqa: F403  (the primitives: chainrule.exp, chainrule.sum, ...)
from chainrule.ops import __all__ as _ops_all
from chainrule.dual import Dual
from chainrule.primitive import Primitive, primitive
from chainrule.scalar import Value
from chainrule.tensor import Tensor

__version__ = "0.1.0"

from chainrule import data, nn, optim  # noqa: E402  (subpackages, as cr.nn.Linear)

__all__ = [
    *_ops_all, "Dual", "Primitive", "Tensor", "Value", "arange", "enable_grad", "eye", "full", "full_like",
    "grad", "is_grad_enabled", "manual_seed", "no_grad", "ones", "ones_like", "primitive",
    "rand", "rand_like", "randn", "randn_like", "set_grad_enabled", "tensor", "zeros",
    "zeros_like", "data", "nn", "optim",
]
