"""chainrule: automatic differentiation on NumPy.

Public API only: everything here is re-exported from the module that defines it.
"""

# subpackages, reachable as chainrule.nn.Linear etc.
from chainrule import backend, check, data, diagnose, linalg, memory, nn, optim, viz  # noqa: E402
from chainrule._version import __version__ as __version__
from chainrule.anomaly import detect_anomaly
from chainrule.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.checkpoint import checkpoint, checkpoint_sequential
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
from chainrule.dual import Dual
from chainrule.functional import (
    JacobianChoice,
    functional_call,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    taylor,
    value_and_grad,
    vjp,
    vmap,
)
from chainrule.jit import jit, make_program
from chainrule.ops import *  # noqa: F403  (the primitives: chainrule.exp, chainrule.sum, ...)
from chainrule.ops import __all__ as _ops_all
from chainrule.primitive import Primitive, primitive
from chainrule.scalar import Value
from chainrule.tensor import Tensor
from chainrule.transfer import from_dlpack
from chainrule.tree import (
    TreeDef,
    tree_flatten,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_structure,
    tree_unflatten,
)

__all__ = [
    *_ops_all, "Dual", "JacobianChoice", "Primitive", "Tensor", "TreeDef", "Value", "arange",
    "backend",
    "check", "checkpoint", "checkpoint_sequential", "data", "detect_anomaly", "diagnose",
    "enable_grad", "eye", "from_dlpack", "full", "full_like", "functional_call", "grad",
    "hessian", "hvp", "is_grad_enabled", "jacfwd", "jacobian", "jacrev", "jit", "jvp", "linalg",
    "make_program", "manual_seed", "memory", "nn",
    "no_grad", "ones", "ones_like", "optim", "primitive", "rand", "rand_like", "randn",
    "randn_like", "set_grad_enabled", "taylor", "tensor", "tree_flatten", "tree_leaves",
    "tree_leaves_with_path", "tree_map", "tree_structure", "tree_unflatten", "value_and_grad",
    "viz", "vjp", "vmap", "zeros", "zeros_like",
]
