"""Every primitive, and the functions built from them, by kind."""

from chainrule.ops.elementwise import (
    abs,
    add,
    astype,
    clip,
    cos,
    div,
    exp,
    expm1,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    sub,
    tan,
    tanh,
    where,
)
from chainrule.ops.indexing import (
    concatenate,
    getitem,
    index_update,
    pad,
    scatter_add,
    split,
    stack,
)
from chainrule.ops.linalg import diagonal, dot, einsum, matmul, norm, outer, trace
from chainrule.ops.nn import cross_entropy_logits, linear, log_softmax, softmax
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

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "cos",
    "cross_entropy_logits", "diagonal", "div", "dot", "einsum", "exp", "expand", "expand_dims",
    "expm1", "flatten", "getitem", "index_update", "linear", "log", "log1p", "log_softmax",
    "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "norm", "outer", "pad", "permute", "pow",
    "prod", "relu", "reshape", "scatter_add", "sigmoid", "sign", "sin", "softmax", "softplus",
    "split", "sqrt", "squeeze", "stack", "std", "sub", "sum", "sum_to_shape", "swapaxes", "tan",
    "tanh", "trace", "transpose", "unsqueeze", "var", "where",
]
