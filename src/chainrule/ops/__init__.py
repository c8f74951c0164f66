"""Every primitive, and the functions built from them, by kind.

Each module holds its primitives with their rules and a ``NUMPY`` table: the NumPy
functions and ufuncs it answers when they are called on Tensors (``np.exp(t)``);
:data:`MODULES` lists them for :mod:`chainrule.numpy_interop`.
"""

from chainrule.ops import (  # noqa: E402
    arrange,
    cumulative,
    elementwise,
    exponents,
    indexing,
    join,
    linalg,
    linalg_decompose,
    linalg_inverse,
    matrices,
    nn,
    piecewise,
    products,
    reduce,
    shape,
    trig,
)
from chainrule.ops.arrange import *  # noqa: E402, F403
from chainrule.ops.cumulative import *  # noqa: E402, F403
from chainrule.ops.elementwise import (  # and NumPy's names for them (absolute, ...)
    abs,
    absolute,
    add,
    astype,
    clip,
    cos,
    div,
    divide,
    exp,
    expm1,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    multiply,
    neg,
    negative,
    positive,
    pow,
    power,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    sub,
    subtract,
    tan,
    tanh,
    true_divide,
    where,
)
from chainrule.ops.exponents import *  # noqa: E402, F403
from chainrule.ops.indexing import (
    concatenate,
    getitem,
    index_update,
    pad,
    scatter_add,
    split,
    stack,
)
from chainrule.ops.join import *  # noqa: E402, F403
from chainrule.ops.linalg import diagonal, dot, einsum, matmul, norm, outer, trace
from chainrule.ops.matrices import *  # noqa: E402, F403
from chainrule.ops.nn import cross_entropy_logits, linear, log_softmax, softmax
from chainrule.ops.piecewise import *  # noqa: E402, F403
from chainrule.ops.products import *  # noqa: E402, F403
from chainrule.ops.reduce import logsumexp, max, mean, min, prod, std, sum, var
from chainrule.ops.shape import (
    broadcast_to,
    expand,
    expand_dims,
    flatten,
    permute,
    reshape,
    squeeze,
    sum_to_shape,
    swapaxes,
    transpose,
    unsqueeze,
)
from chainrule.ops.trig import *  # noqa: E402, F403

# np.linalg's functions (linalg_inverse, linalg_decompose) are chainrule.linalg.*, not top level.
MODULES = (elementwise, trig, exponents, piecewise, reduce, cumulative, shape, arrange, join,
           indexing, products, matrices, linalg, linalg_inverse, linalg_decompose, nn)

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos",
    "cross_entropy_logits", "diagonal", "div", "dot", "einsum", "exp", "expand", "expand_dims",
    "expm1", "flatten", "getitem", "index_update", "linear", "log", "log1p", "log_softmax",
    "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "norm", "outer", "pad", "permute", "pow",
    "prod", "relu", "reshape", "scatter_add", "sigmoid", "sign", "sin", "softmax", "softplus",
    "split", "sqrt", "squeeze", "stack", "std", "sub", "sum", "sum_to_shape", "swapaxes", "tan",
    "tanh", "trace", "transpose", "unsqueeze", "var", "where",
    "absolute", "divide", "multiply", "negative", "positive", "power", "subtract", "true_divide",
    *trig.__all__, *exponents.__all__, *piecewise.__all__, *arrange.__all__, *join.__all__,
    *cumulative.__all__, *products.__all__, *matrices.__all__,
]
