"""Per-example gradient norms: how hard each training example pulls on the parameters.

The gradient of one example's loss, for every example of a batch, in one batched pass:
``vmap(grad(loss_fn), in_axes=(None, 0, 0))(params, x, y)`` (the parameters shared, the
inputs and labels mapped). Large norms flag outliers and mislabelled examples; clipping
them is the core of differentially private SGD.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.functional import grad, vmap
from chainrule.tensor import Tensor
from chainrule.tree import tree_leaves, tree_map


def per_example_gradients(loss_fn: Callable, params: Any, x: Any, y: Any) -> Any:
    """``d loss_fn(params, x[i], y[i]) / d params`` for every example i, in ``params``'s
    structure, each leaf with a leading batch axis: ``vmap(grad(loss_fn), (None, 0, 0))``.
    ``loss_fn`` takes one example (``x[i]``, ``y[i]``) and returns a scalar."""
    return vmap(grad(loss_fn), in_axes=(None, 0, 0))(params, x, y)


def per_example_gradient_norms(loss_fn: Callable, params: Any, x: Any, y: Any,
                               per_leaf: bool = False) -> Any:
    """The 2-norm of each example's gradient over all parameters: shape (batch,),
    sqrt(sum over leaves of ||d loss_i / d leaf||^2). With ``per_leaf=True``, the norms of
    each leaf separately, in ``params``'s structure (each of shape (batch,)).

    One batched pass (:func:`per_example_gradients`), not a loop over the examples."""
    grads = per_example_gradients(loss_fn, params, x, y)

    def norms(g: Any) -> np.ndarray:
        g = g.data if isinstance(g, Tensor) else np.asarray(g)
        return np.sqrt(np.sum(g.reshape(len(g), -1) ** 2, axis=1))

    if per_leaf:
        return tree_map(norms, grads)
    return np.sqrt(sum(norms(g) ** 2 for g in tree_leaves(grads)))
